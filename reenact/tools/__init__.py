"""Tools beside the live loop: bench, soak, replay, panel_load."""
