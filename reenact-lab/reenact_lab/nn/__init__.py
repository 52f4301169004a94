"""The networks and losses only training uses: the PatchGAN and its multi-scale and local forms,
the paper's losses and the detail losses. The runtime's networks stay in `reenact.nn`."""
