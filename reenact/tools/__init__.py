"""Tools beside the live loop: bench, soak, replay."""
