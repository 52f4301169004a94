"""Fusion: the Fuser protocol, the training-free transfer and the network Phi."""
