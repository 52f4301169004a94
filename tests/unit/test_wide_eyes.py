"""An eye opened wider than the target's shows white eyeball above the iris, not a grey band.

The iris painter fits the target's "sclera plate" between the fused lids. Stretched whole, the
shadow under the picture's upper lid, and the iris disc filled with the median of the visible
white (mostly shadowed in a small eye), became a grey band above the iris that looks like lid
skin, not eyeball. On real portraits tracked by the
real face mesh, with both upper lids raised by 0.4 of the eye's width, the eyeball shown
between the raised lid's shadow and the iris must be about as bright as the bright half of the
picture's own visible white. Measured when written (mean luminance shown / the picture's white,
per eye): sadtalker_people_0 132 / 193 and 127 / 204 before, 192 / 193 and 203 / 204 after;
lp_s12 74 / 153 and 110 / 168 before, 152 / 153 and 168 / 168 after. Since stop 66 the painted
iris reaches as far as the picture's visibly does (`iris_reach`), up to 2 px past the tracked ring
on Yale 03: the rows measured stop IRIS_EDGE px above the tracked ring, not 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reenact.landmarks.head_pose import EYE_RINGS, UPPER_LIDS
from reenact.render.irises import LID_BANDS, OPEN_WHITE, IrisPainter, plate_rows
from reenact.render.paint import fill_aa
from reenact.render.warp import WarpRenderer
from tests.helpers import luma, tracked_iris

SIZE = 256
RAISE = 0.4  # eye widths the upper lids go up (wide-eyed surprise)
SHADOW = 2  # px under the raised lid left out (the painted lid shadow)
DARKER = 8.0  # grey levels the shown eyeball may be darker than the picture's bright white
IRIS_EDGE = 2  # px above the tracked iris radius left out (the limbus the painted iris reaches)


def _bright_white(crop: np.ndarray, xy: np.ndarray, eye: int) -> float:
    """Mean luminance of the bright half of the visible white of the target's eye."""
    mask = np.zeros(crop.shape[:2], np.uint8)
    fill_aa(mask, xy[EYE_RINGS[eye], :2], (0, 0))
    centre, radius = tracked_iris(xy, eye)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    white = (mask > 127) & (np.hypot(xs - centre[0], ys - centre[1]) > radius + 1.0)
    lum = luma(crop)[white]
    return float(lum[lum >= np.median(lum)].mean())


def _shown_above_iris(image: np.ndarray, fused: np.ndarray, eye: int) -> float:
    """Mean luminance between the raised lid (its shadow left out) and the iris's top, over the
    iris's middle columns."""
    centre, radius = tracked_iris(fused, eye)
    lid = fused[UPPER_LIDS[eye], :2]
    lum = luma(image)
    values = []
    for x in range(int(round(centre[0] - 0.5 * radius)), int(round(centre[0] + 0.5 * radius)) + 1):
        top = np.interp(x, *lid[np.argsort(lid[:, 0])].T) + SHADOW
        bottom = centre[1] - radius - IRIS_EDGE
        values.extend(lum[int(np.ceil(top)) : int(np.floor(bottom)) + 1, x])
    assert len(values) >= 6, "the raised lid left too little eyeball above the iris to measure"
    return float(np.mean(values))


def _widened(landmarks: np.ndarray, raise_by: float) -> np.ndarray:
    """(478,2) the landmarks with both upper lids raised by `raise_by` eye widths (an arc)."""
    xy = np.asarray(landmarks, np.float32)[:, :2]
    fused = xy.copy()
    arc = np.sin(np.linspace(0.125, 0.875, 7) * np.pi)
    for eye in (0, 1):
        ring = EYE_RINGS[eye]
        width = float(np.hypot(*(xy[ring[8]] - xy[ring[0]])))
        fused[UPPER_LIDS[eye], 1] -= raise_by * width * arc
    return fused


@pytest.fixture(scope="module", params=["sadtalker_people_0.png", "lp_s12.jpg"])
def target(request, portraits_dir: Path, aligned_still):
    return aligned_still(portraits_dir / request.param, SIZE)


def test_a_wider_open_eye_shows_white_above_the_iris(target):
    crop, landmarks = target
    xy = np.asarray(landmarks, np.float32)[:, :2]
    fused = _widened(landmarks, RAISE)
    warp = WarpRenderer(size=SIZE)
    warp.set_target(crop, landmarks)
    image = warp.render(fused)
    for eye in (0, 1):
        white, shown = _bright_white(crop, xy, eye), _shown_above_iris(image, fused, eye)
        assert shown >= white - DARKER, f"eye {eye}: shown {shown:.1f}, picture's white {white:.1f}"


def test_plate_rows_squash_a_closing_eye_and_keep_the_lid_bands_of_a_wider_one():
    up_t, lo_t = np.float32([10.0]), np.float32([20.0])
    ys = np.arange(0, 41, dtype=np.float32)[:, None]
    # closing: the target's 10 px gap squashed linearly into 5 px
    closing = plate_rows(ys, np.float32([12.0]), np.float32([17.0]), up_t, lo_t)[:, 0]
    assert np.allclose(closing[12:18], 10.0 + 2.0 * np.arange(6))
    # wider: 10 px into 30 px; the top and bottom bands keep their own scale, lids meet lids
    wide = plate_rows(ys, np.float32([5.0]), np.float32([35.0]), up_t, lo_t)[:, 0]
    top, bottom = LID_BANDS[0] * 10.0, LID_BANDS[1] * 10.0
    assert wide[5] == pytest.approx(10.0) and wide[35] == pytest.approx(20.0)
    assert np.allclose(wide[5 : 5 + int(top)], 10.0 + np.arange(int(top)))
    assert np.allclose(wide[35 - int(bottom) + 1 : 36], 20.0 - np.arange(int(bottom))[::-1])
    assert np.all(np.diff(wide[5:36]) > 0)  # in order, no fold


def _drawn(crop, landmarks, fused, open_white: float) -> np.ndarray:
    warp = WarpRenderer(size=SIZE)
    warp.corrections = [
        IrisPainter(size=SIZE, open_white=open_white) if c.name == "irises" else c
        for c in warp.corrections
    ]
    warp.set_target(crop, landmarks)
    return warp.render(fused)


@pytest.fixture(scope="module", params=["03", "15"])
def shadowed(request, media_dir: Path, aligned_still):
    """A Yale subject whose visible white lies in the lid's shadow (grey, well under the skin)."""
    return aligned_still(media_dir / "expressions" / f"{request.param}_normal.png", SIZE)


def test_the_white_a_widening_uncovers_is_lit(shadowed):
    """Widened, a shadowed eye shows white well above the grey it shows at rest (the Yale
    subjects' own wide-eyed stills are 1.1 to 1.9 times brighter in the eye), where the plain
    stretch (open_white 0) shows that grey: 84 / 79 and 45 / 39 shown; 117 / 106 and 72 / 64
    with the default."""
    crop, landmarks = shadowed
    xy = np.asarray(landmarks, np.float32)[:, :2]
    fused = _widened(landmarks, RAISE)
    lit, plain = _drawn(crop, landmarks, fused, OPEN_WHITE), _drawn(crop, landmarks, fused, 0.0)
    for eye in (0, 1):
        white = _bright_white(crop, xy, eye)
        assert _shown_above_iris(plain, fused, eye) < 1.1 * white
        assert _shown_above_iris(lit, fused, eye) > 1.25 * white, eye


def test_only_a_widening_is_lit(shadowed, target):
    """At rest and closing, a shadowed eye is drawn exactly as without the lighting; and a
    target whose white is already lit (sadtalker_people_0, lp_s12) is drawn exactly so widened."""
    for crop, landmarks in (shadowed, target):
        xy = np.asarray(landmarks, np.float32)[:, :2]
        for fused in (xy, _widened(landmarks, -0.05)):
            assert np.array_equal(
                _drawn(crop, landmarks, fused, OPEN_WHITE), _drawn(crop, landmarks, fused, 0.0)
            )
    crop, landmarks = target
    fused = _widened(landmarks, RAISE)
    assert np.array_equal(
        _drawn(crop, landmarks, fused, OPEN_WHITE), _drawn(crop, landmarks, fused, 0.0)
    )
