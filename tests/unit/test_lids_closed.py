"""A shut eye reads as a lid, not as an empty almond; an open eye is left exactly as warped.

On real portraits (a photograph and a cartoon with big, outlined eyes) tracked by the real face
mesh, with the fused upper lids brought down onto the lower ones, the band where the target's own
upper lash line was must be no darker than the lid skin below it (by more than a few grey levels):
the old painter left that line showing around the painted skin (a "ghost" of the open eye).

A shut lid covers the fold above it: with the fused lid fold (the face mesh's ring above the
upper lid) and everything above it up to the brows raised by 3 px, as a driver's brows lift while
the eyes close, the band between the fused fold and the target's lid line must be no darker than
with nothing raised. The warp stretches the open eye's fold and its shadow over that band; the
painter before stop 73 left it there, 7-18 grey levels darker (a reddish-brown band under the brow
on a hooded eye, lp_drv_d19); now it is within 2.

A lid moves with its eye: the face moves in the crop as the head turns and nods, and a shut or
half-shut eye moved as a whole must be painted as the unmoved one, moved (mean difference over
the eye boxes under 1 grey level; the painter before stop 73 painted the target's eye where it
was, 1.8-14.3 grey levels off, mean 7.4; now 0.1-0.4).

And the lid is the colour of a real shut lid: each Yale subject's neutral still, driven by the
landmarks of the same subject's wink, must show a painted lid about as bright as the real one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reenact.landmarks.regions import REGIONS
from reenact_lab.metrics.sharpness import eye_boxes
from reenact.render.warp import WarpRenderer

SIZE = 256
EYES = (REGIONS["right_eye"], REGIONS["left_eye"])  # 16-point rings, corners at 0 and 8
MARGIN = 4.0  # grey levels the old lash band may stay darker than the lid skin (old: 9-11)
# grey levels a painted shut lid may be off the real one, mean over the Yale winks; measured: lid
# colour from the skin above the crease lifted halfway to the lit cheek 26.8 (too bright), the
# painter before that (with the ghost) 27.3, the skin around the eye without its thin dark lines
# (then) 17.6; 13.0 at stop 73, before its lid changes and after them (12.0 too bright on average;
# read at the upper lid line rather than midway it is 8.6, but the held-out clips' shut frames
# score lower: `lab.shut_eyes` 0.748 -> 0.745)
WINK_ERROR = 23.0
FOLDS = ((247, 30, 29, 27, 28, 56, 190), (467, 260, 259, 257, 258, 286, 414))  # above 1..7
RISE = 3.0  # px the fused fold and all above it rise in the fold test
FOLD_DARKER = 3.0  # grey levels the band under a raised fold may darken (old painter: 7.4-17.7)
PICTURES = ["lp_drv_d19.jpg", "lp_s12.jpg", "lp_s7.jpg", "sadtalker_people_0.png"]
MOVED = 1.0  # grey levels a moved eye's drawing may be off the unmoved one's, moved


def _closed(landmarks: np.ndarray, fraction: float) -> np.ndarray:
    """(478,2) float32: the upper lids moved `fraction` of the way down onto the lower ones."""
    fused = np.asarray(landmarks, np.float32)[:, :2].copy()
    for ring in EYES:
        upper, lower = fused[ring[1:8], 1].copy(), fused[ring[15:8:-1], 1]
        fused[ring[1:8], 1] = upper + fraction * (lower - upper)
    return fused


def _band_and_skin(image: np.ndarray, target_xy: np.ndarray, ring: np.ndarray):
    """Mean luminance of the old lash band (target upper lid, 1 px either side) and of the lid
    skin between it and the lower lid (the middle third), over the middle five lid points."""
    lum = image.astype(np.float32).mean(axis=2)
    band, skin = [], []
    for up_i, low_i in zip(ring[2:7], ring[14:9:-1]):
        x = int(round(target_xy[up_i, 0]))
        top, bottom = target_xy[up_i, 1], target_xy[low_i, 1]
        band.append(lum[int(round(top)) - 1 : int(round(top)) + 2, x].mean())
        third = (bottom - top) / 3.0
        skin.append(lum[int(round(top + third)) : int(round(bottom - third)) + 1, x].mean())
    return float(np.mean(band)), float(np.mean(skin))


@pytest.fixture(scope="module", params=["lp_s12.jpg", "lp_s7.jpg"])
def target(request, portraits_dir: Path, aligned_still) -> tuple[np.ndarray, np.ndarray]:
    return aligned_still(portraits_dir / request.param, SIZE)


def test_a_shut_eye_shows_no_upper_lash_line_of_the_open_one(target):
    crop, landmarks = target
    warp = WarpRenderer(size=SIZE)
    warp.set_target(crop, landmarks)
    shut = warp.render(_closed(landmarks, 1.0))
    xy = np.asarray(landmarks, np.float32)
    for ring in EYES:
        band, skin = _band_and_skin(shut, xy, ring)
        assert band >= skin - MARGIN, (band, skin)
        # the target's open eye has its lash line there: the check looks at the right place
        open_band, open_skin = _band_and_skin(crop, xy, ring)
        assert open_band < open_skin - MARGIN, (open_band, open_skin)


@pytest.mark.parametrize("fraction", [0.0, 0.05])
def test_an_open_eye_is_left_exactly_as_warped(target, fraction):
    crop, landmarks = target
    warp = WarpRenderer(size=SIZE)
    warp.set_target(crop, landmarks)
    fused = _closed(landmarks, fraction)
    painted = warp.render(fused).copy()
    warp.corrections = [c for c in warp.corrections if c.name != "lids"]
    np.testing.assert_array_equal(painted, warp.render(fused))


def _under_the_fold(image: np.ndarray, target_xy: np.ndarray, fused: np.ndarray) -> list[float]:
    """Per eye, the mean luminance between the fused fold (1.5 px below it) and the target's
    upper lid line, over the middle five lid points."""
    lum = image.astype(np.float32).mean(axis=2)
    found = []
    for ring, fold in zip(EYES, FOLDS):
        band = []
        for lid, above in zip(ring[2:7], fold[1:6]):
            x = int(round(target_xy[lid, 0]))
            band.append(
                lum[int(round(fused[above, 1] + 1.5)) : int(round(target_xy[lid, 1])) + 1, x].mean()
            )
        found.append(float(np.mean(band)))
    return found


@pytest.mark.parametrize("picture", PICTURES)
def test_a_shut_lid_covers_the_stretched_fold(portraits_dir: Path, aligned_still, picture):
    crop, landmarks = aligned_still(portraits_dir / picture, SIZE)
    xy = np.asarray(landmarks, np.float32)[:, :2]
    warp = WarpRenderer(size=SIZE)
    warp.set_target(crop, landmarks)
    shut = _closed(landmarks, 1.0)
    raised = shut.copy()
    lids = xy[[ring[4] for ring in EYES], 1]
    above = (xy[:, 1] < lids.min() - 0.5) & (xy[:, 1] > xy[[105, 334], 1].min() - 40)
    raised[above, 1] -= RISE  # the folds, the skin above them and the brows
    level = _under_the_fold(warp.render(shut), xy, shut)
    lifted = _under_the_fold(warp.render(raised), xy, raised)
    for flat, up in zip(level, lifted):
        assert up >= flat - FOLD_DARKER, (level, lifted)


@pytest.mark.parametrize("picture", PICTURES)
def test_a_lid_moves_with_its_eye(portraits_dir: Path, aligned_still, picture):
    crop, landmarks = aligned_still(portraits_dir / picture, SIZE)
    warp = WarpRenderer(size=SIZE)
    warp.set_target(crop, landmarks)
    for fraction in (1.0, 0.5):
        closed = _closed(landmarks, fraction)
        still = warp.render(closed).astype(np.float32)
        for dx, dy in ((0, -5), (4, 3)):
            moved = closed + np.float32([dx, dy])
            drawn = warp.render(moved).astype(np.float32)
            expected = np.roll(still, (dy, dx), axis=(0, 1))
            for x0, y0, x1, y1 in eye_boxes(moved, SIZE):
                off = np.abs(drawn[y0:y1, x0:x1] - expected[y0:y1, x0:x1]).mean()
                assert off < MOVED, (fraction, dx, dy, off)


def test_a_shut_lid_is_as_bright_as_the_real_one(painted_against_real):
    """|painted lid - real shut lid| in mean grey level, over the lids painted for Yale's winks
    (each subject's neutral driven by the landmarks of their own wink)."""
    errors = painted_against_real(
        WarpRenderer(size=SIZE),
        "wink",
        lambda warp, wink: warp.correction("lids").overlay(warp.follow(wink)),
    )
    assert len(errors) >= 15, errors  # every wink painted a lid
    assert np.mean(np.abs(errors)) <= WINK_ERROR, errors
