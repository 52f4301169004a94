"""The generator's colour anchor (`reenact.render.anchor`): a broad colour cast against the warp
is taken out, detail finer than the anchor's scale is kept, and the device version agrees with
the CPU one. The pictures are a real portrait's crop."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from reenact.render.anchor import TorchAnchor, anchor_numpy
from tests.conftest import media_root


@pytest.fixture(scope="module")
def warped() -> np.ndarray:
    image = cv2.imread(str(media_root() / "portraits" / "sadtalker_people_0.png"))
    return cv2.cvtColor(
        cv2.resize(image, (256, 256), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
    )


def glow(image: np.ndarray) -> np.ndarray:
    """A washed-out face: brighter and bluer towards the right, over tens of pixels."""
    ramp = np.linspace(1.0, 1.35, 256, dtype=np.float32)[None, :, None]
    tint = np.array([0.95, 1.0, 1.1], np.float32)
    return np.clip(image * ramp * tint, 0, 255).astype(np.uint8)


def detail(seed: int = 0) -> np.ndarray:
    """Fine texture a network might draw (a 2 px pattern, +-12 levels)."""
    rng = np.random.default_rng(seed)
    return cv2.resize(
        rng.uniform(-12, 12, (128, 128, 1)).astype(np.float32),
        (256, 256),
        interpolation=cv2.INTER_NEAREST,
    )[..., None]


def test_a_broad_colour_cast_is_taken_out(warped):
    render = glow(warped)
    before = np.abs(render.astype(np.float32) - warped).mean()
    after = np.abs(anchor_numpy(render, warped, 8.0).astype(np.float32) - warped).mean()
    assert before > 10  # the cast is there to take out
    assert after < 0.25 * before


def test_detail_finer_than_the_anchor_is_kept(warped):
    texture = detail()
    render = np.clip(glow(warped) + texture, 0, 255).astype(np.uint8)
    out = anchor_numpy(render, warped, 8.0).astype(np.float32)
    kept = out - warped
    high = kept - cv2.GaussianBlur(kept, (0, 0), 3.0)
    ref = texture[..., 0] - cv2.GaussianBlur(texture[..., 0], (0, 0), 3.0)
    r = np.corrcoef(high[..., 1].ravel(), ref.ravel())[0, 1]
    assert r > 0.85


def test_off_the_warp_a_render_that_matches_is_left_alone(warped):
    out = anchor_numpy(warped, warped, 8.0)
    assert np.abs(out.astype(int) - warped).max() <= 1


@pytest.mark.parametrize("sigma_px", [8.0, 16.0])
def test_the_device_anchor_matches_the_cpu_one(warped, sigma_px):
    render = np.clip(glow(warped) + detail(1), 0, 255).astype(np.uint8)
    expected = anchor_numpy(render, warped, sigma_px).astype(np.float32)
    anchor = TorchAnchor(256, sigma_px, "cpu")
    as_t = lambda a: torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)
    got = anchor.apply(as_t(render), as_t(warped)).clamp(0, 255).permute(1, 2, 0).numpy()
    assert np.abs(got - expected).max() < 1.5


def test_the_shipped_generator_is_anchored_unless_switched_off():
    from reenact.config import load_config
    from reenact.render.generator import build_generator

    anchored = build_generator(load_config(None, ["renderer.backend=torch"]))
    assert anchored.anchor_px > 0 and not anchored.shifts_colours  # no compositor match on top
    plain = build_generator(load_config(None, ["renderer.backend=torch", "renderer.anchor_px=0"]))
    assert plain.anchor_px == 0 and plain.shifts_colours  # the compositor's match, as before
