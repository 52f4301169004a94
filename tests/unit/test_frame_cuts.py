"""The frame's exact cuts (docs/experiments/2026-11-28-frame-cuts.md): each faster form gives the
bits of the plain one it replaced (written out here as the reference), and what a cut keeps
between frames follows a change of what it was made from."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reenact.config import load_config
from reenact.landmarks.regions import REGIONS
from reenact.pipeline.target import prepare_target


@pytest.fixture(scope="module")
def target():
    """The built-in target (its frame, alignment and MediaPipe's landmarks)."""
    return prepare_target("", load_config())


def test_the_lip_bands_shift_is_the_pixels_own_place_less_the_source(target):
    from reenact.render.lip_bands import LipBands

    lm = target.landmarks_crop
    bands = LipBands(size=256)
    bands.prepare(None, lm)
    xy = lm[:, :2].astype(np.float32).copy()
    xy[REGIONS["lips_inner"], 1] += np.where(xy[REGIONS["lips_inner"], 1] > xy[13, 1], 4.0, -2.0)
    xy[REGIONS["lips_outer"], 1] += 1.0
    ((box, alpha, source),) = bands.sources(xy, bands._bounds)
    (override,) = bands.geometry(xy)
    x0, y0, x1, y1 = box
    ys, xs = np.mgrid[y0:y1, x0:x1]
    assert override.box == box and np.array_equal(override.alpha, alpha)
    assert np.array_equal(override.shift, np.stack([xs, ys], -1).astype(np.float32) - source)


def test_the_lip_columns_gather_what_fancy_indexing_gathers():
    from reenact.render.lip_bands import _interp_columns

    rng = np.random.default_rng(1)
    knots = np.sort(rng.uniform(90, 140, (6, 37)), axis=0).astype(np.float32)
    values = np.sort(rng.uniform(90, 140, (6, 37)), axis=0).astype(np.float32)
    ys = np.arange(85, 146, dtype=np.float64)
    k = np.clip((ys[:, None, None] >= knots[None, 1:-1, :]).sum(axis=1), 0, 4)
    cols = np.arange(37)[None, :]
    y0, y1, v0, v1 = knots[k, cols], knots[k + 1, cols], values[k, cols], values[k + 1, cols]
    want = v0 + (ys[:, None] - y0) / np.maximum(y1 - y0, 1e-6) * (v1 - v0)
    assert np.array_equal(_interp_columns(ys, knots, values), want)


def test_the_eye_keep_dilates_around_the_eye_as_over_its_whole_box(target):
    """The eye keep's alpha, dilated only around the eye, is the whole box's dilation: eyes in
    place, near the crop's edge and cut by it."""
    from reenact.render.eye_keep import FEATHER, GROW, _eye_alphas

    def whole_box(fused, size):
        xy = np.asarray(fused, np.float32)[:, :2]
        for eye in ("left_eye", "right_eye"):
            contour = xy[REGIONS[eye]]
            width = float(np.linalg.norm(contour[0] - contour[8]))
            margin = GROW * width + 3.0 * FEATHER * width
            x0, y0 = np.floor(contour.min(axis=0) - margin).astype(int)
            x1, y1 = np.ceil(contour.max(axis=0) + margin).astype(int)
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, size), min(y1, size)
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
            hull = cv2.convexHull(np.round((contour - (x0, y0)) * 16).astype(np.int32))
            cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA, shift=4)
            grow = max(1, int(round(GROW * width)))
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)
            mask = cv2.dilate(mask, kernel)
            yield (
                (x0, y0, x1, y1),
                cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), FEATHER * width),
            )

    lm = target.landmarks_crop
    eyes = np.r_[REGIONS["left_eye"], REGIONS["right_eye"]]
    for shift in ((0.0, 0.0), (-95.0, -80.0), (-110.0, -100.0), (110.0, 0.0)):
        fused = lm.copy()
        fused[:, :2] += shift
        assert fused[eyes, :2].min() < 0 or shift == (0.0, 0.0) or fused[eyes, 0].max() > 200
        got, want = list(_eye_alphas(fused, 256)), list(whole_box(fused, 256))
        assert len(got) == len(want) > 0
        for (box, alpha), (want_box, want_alpha) in zip(got, want):
            assert box == want_box and np.array_equal(alpha, want_alpha)


def test_the_paste_over_is_the_mix_it_replaced():
    from reenact.render.corrections.apply import Patch, paste

    rng = np.random.default_rng(3)
    output = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    kept = [
        Patch(
            (5, 7, 40, 30),
            rng.random((23, 35, 1), dtype=np.float32),
            rng.uniform(0, 255, (23, 35, 3)).astype(np.float32),
        ),
        Patch(
            (20, 20, 60, 64),
            rng.random((44, 40, 1), dtype=np.float32),
            rng.uniform(0, 255, (44, 40, 3)).astype(np.float32),
        ),
    ]
    want = output.copy()
    for patch in kept:
        x0, y0, x1, y1 = patch.box
        region = want[y0:y1, x0:x1]
        np.copyto(region, region + patch.alpha * (patch.warped - region) + 0.5, casting="unsafe")
    assert np.array_equal(paste(output, kept), want)


def test_the_smoothings_brow_moves_are_np_means(target):
    from reenact.landmarks import smoothing

    rng = np.random.default_rng(4)
    for lm in (target.landmarks_crop, target.landmarks_crop + rng.normal(0, 2, (478, 3))):
        xy = np.asarray(lm, np.float64)[:, :2]
        brows = xy[smoothing._BROW_LINES].mean(axis=1) - xy[smoothing._BROW_EYES].mean(axis=1)
        assert np.array_equal(smoothing._moves(lm)[4:6], np.hypot(brows[:, 0], brows[:, 1]))
