"""Bench, soak, replay and other measuring tools."""
