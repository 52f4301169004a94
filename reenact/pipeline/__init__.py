"""The per-frame pipeline and what a run checks before it starts."""
