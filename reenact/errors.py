"""User-facing errors: one line that names the file, device or key, and what to do next."""

from __future__ import annotations


class ReenactError(Exception):
    """An error meant for a person. The CLI prints `reenact: <message>` and exits non-zero."""

    exit_code = 2


class ConfigError(ReenactError):
    """A config file or override names an unknown key or has a value of the wrong type."""


class InputError(ReenactError):
    """An input file, image or video cannot be used (missing, unreadable, no face, ...)."""


class DeviceError(ReenactError):
    """A camera, virtual camera or other device cannot be opened."""


class WeightsError(ReenactError):
    """A weights file is missing, truncated, pickled, or from another architecture."""
