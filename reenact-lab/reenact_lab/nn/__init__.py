"""The networks and losses only training uses: Phi and D_J in torch (`fusion`, `fusion_residual`;
the runtime runs their weights in numpy, `reenact.fusion.mlp`), the PatchGAN and its multi-scale
and local forms, the paper's losses and the detail losses. The runtime's networks stay in
`reenact.nn`."""
