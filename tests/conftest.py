"""Shared fixtures: where the real media lives, and small real inputs made from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def media_root() -> Path:
    """`REENACT_MEDIA`, else `<repo>/../shared/media` (CI puts shared/ beside the clone)."""
    return Path(os.environ.get("REENACT_MEDIA", REPO.parent / "shared" / "media"))


@pytest.fixture(scope="session")
def media_dir() -> Path:
    root = media_root()
    if not (root / "clips").is_dir():
        pytest.fail(f"real test media not found at {root}; set REENACT_MEDIA")
    return root


@pytest.fixture(scope="session")
def clips_dir(media_dir: Path) -> Path:
    return media_dir / "clips"


@pytest.fixture(scope="session")
def portraits_dir(media_dir: Path) -> Path:
    return media_dir / "portraits"
