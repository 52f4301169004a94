"""The user's own folders: where reenact keeps what must survive a restart, whatever folder it
was started from.

Each is platformdirs' folder for the app "reenact", or the folder an environment variable names
(tests, portable setups):

    config   REENACT_CONFIG_DIR  the user config `reenact.yaml`, the control token
             (~/.config/reenact on Linux, ~/Library/Application Support/reenact on macOS,
             %LOCALAPPDATA%\\reenact on Windows)
    data     REENACT_DATA_DIR    targets/ (the panel's gallery and its uploads), avatars/,
             presets/ (`reenact preset record`)
    cache    REENACT_CACHE_DIR   onnx/ (the generator's ONNX builds); REENACT_CACHE, its older
             name, is still read
    logs     REENACT_LOG_DIR     each command's last resolved config and timings when its output
             is no file the user named

No folder is created here: the first writer makes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import platformdirs

APP = "reenact"
CONFIG_DIR_ENV = "REENACT_CONFIG_DIR"
DATA_DIR_ENV = "REENACT_DATA_DIR"
CACHE_DIR_ENV = "REENACT_CACHE_DIR"
LOG_DIR_ENV = "REENACT_LOG_DIR"
OLD_CACHE_ENV = "REENACT_CACHE"  # the name scripts and CI used before the cache had a folder
USER_CONFIG_FILE = "reenact.yaml"


def _folder(names: tuple[str, ...], default: Callable[..., str]) -> Path:
    for name in names:
        override = os.environ.get(name, "").strip()
        if override:
            return Path(override).expanduser()
    return Path(default(APP, appauthor=False))


def config_dir() -> Path:
    """The user's config folder: `reenact.yaml`, the control token."""
    return _folder((CONFIG_DIR_ENV,), platformdirs.user_config_dir)


def data_dir() -> Path:
    """The user's data folder: the targets and avatars gallery, presets."""
    return _folder((DATA_DIR_ENV,), platformdirs.user_data_dir)


def cache_dir() -> Path:
    """What reenact can build again (the generator's ONNX exports)."""
    return _folder((CACHE_DIR_ENV, OLD_CACHE_ENV), platformdirs.user_cache_dir)


def log_dir() -> Path:
    """Run records (resolved config, timings) of runs whose output is not a file."""
    return _folder((LOG_DIR_ENV,), platformdirs.user_log_dir)


def user_config_file() -> Path:
    """`<config>/reenact.yaml`: the user's own settings, the panel's changes kept there too."""
    return config_dir() / USER_CONFIG_FILE


def targets_dir() -> Path:
    """The panel's gallery (`stream.targets_dir` empty): pictures, uploads land here."""
    return data_dir() / "targets"


def avatars_dir() -> Path:
    return data_dir() / "avatars"


def presets_dir() -> Path:
    """The user's expression presets (`presets.folder` empty)."""
    return data_dir() / "presets"


def onnx_cache_dir() -> Path:
    return cache_dir() / "onnx"


def folders() -> dict[str, Path]:
    """Every folder by name, in the order `reenact paths` prints them."""
    return {
        "config": config_dir(),
        "data": data_dir(),
        "targets": targets_dir(),
        "avatars": avatars_dir(),
        "presets": presets_dir(),
        "cache": cache_dir(),
        "logs": log_dir(),
    }


def chosen_folder(configured: str, default: Path) -> Path:
    """A folder the config names, else `default` (one of the folders above)."""
    return Path(configured).expanduser() if configured.strip() else default
