"""Tools beside the live loop that `reenact` runs for a user: bench, soak, replay, quantize and
the preset preview. Developer diagnostics live in the top-level `lab/` of a checkout."""
