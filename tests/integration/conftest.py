"""Fixtures for the tracking tests: every lp_* clip as a parameter, real portraits as RGB arrays."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

_REPO = Path(__file__).resolve().parents[2]


def _clips_root() -> Path:
    # same rule as tests/conftest.py::media_root (needed at collection time, before fixtures)
    return Path(os.environ.get("REENACT_MEDIA", _REPO.parent / "shared" / "media")) / "clips"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize `lp_clip_name` over every clips/lp_*.mp4 (sorted)."""
    if "lp_clip_name" in metafunc.fixturenames:
        names = sorted(p.name for p in _clips_root().glob("lp_*.mp4"))
        metafunc.parametrize("lp_clip_name", names or ["<no lp_*.mp4 clips found>"])


@pytest.fixture
def lp_clip(clips_dir: Path, lp_clip_name: str) -> Path:
    path = clips_dir / lp_clip_name
    if not path.is_file():
        pytest.fail(f"clip not found: {path}")
    return path


def read_rgb(path: Path) -> np.ndarray:
    """An image file -> (H,W,3) uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        pytest.fail(f"cannot read {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="session")
def photo_portrait(portraits_dir: Path) -> np.ndarray:
    """A real frontal photo, 512x512, face ~250 px wide."""
    return read_rgb(portraits_dir / "lp_s42.jpg")


@pytest.fixture(scope="session")
def second_portrait(portraits_dir: Path) -> np.ndarray:
    """Another real frontal photo (another person), 474x474, face ~170 px wide."""
    return read_rgb(portraits_dir / "sadtalker_people_0.png")


@pytest.fixture(scope="module")
def make_panel():
    """A function making a fresh panel (warp, training-free fuser, the built-in target) for a
    real ControlServer; the reenactor behind it is built once per module."""
    from reenact.config import load_config
    from reenact.pipeline.factory import build_fuser, build_renderer
    from reenact.pipeline.reenactor import Reenactor
    from reenact.pipeline.target import prepare_target
    from reenact.pipeline.timing import StageTimer
    from reenact.stream.controls import Controls
    from reenact.stream.gallery import Gallery
    from reenact.stream.panel import Panel

    config = load_config(None, ["renderer.kind=warp", "fusion.kind=training_free"])
    target = prepare_target("", config)
    reenactor = Reenactor(
        config=config,
        target=target,
        fuser=build_fuser(config),
        renderer=build_renderer(config),
        timer=StageTimer(),
    )
    return lambda: Panel(
        Controls(reenactor), Gallery(target, config), preview_fps=15, output_fps=30
    )
