"""Fusion: J_gen from the actor's and the target's landmarks."""
