"""The user's own folders: where reenact keeps what must survive a restart (the control token,
the panel's settings).

`config_dir()` is `platformdirs.user_config_dir("reenact")` (~/.config/reenact on Linux,
~/Library/Application Support/reenact on macOS, %LOCALAPPDATA%\\reenact on Windows), or the
folder named by the environment variable REENACT_CONFIG_DIR (tests, portable setups).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

CONFIG_DIR_ENV = "REENACT_CONFIG_DIR"


def config_dir() -> Path:
    """The user's config folder (not created here: the first writer makes it)."""
    override = os.environ.get(CONFIG_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir("reenact", appauthor=False))
