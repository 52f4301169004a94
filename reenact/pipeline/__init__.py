"""The per-frame pipeline."""
