"""A target whose own mouth is open, opened further: each part of its interior follows its lip.

Real portraits, tracked by the real face mesh, their jaw dropped 0.2 mouth widths by
`lab.drawn_moves.moved` and drawn by the warp:

- lp_drv_d19 yawns (tongue and throat, no teeth in the middle of its mouth): the rows over its
  lower inner lip (the tongue's tip and the lip's inner rim) are drawn over the dropped lower
  lip, as in the picture. Before, the whole interior moved with the upper lip and a painted dark
  band filled the rest, so the lip's inner rim stayed where it was and read as a second lower
  lip;
- tpsmm_source grins (upper teeth in the middle of its mouth): the teeth stay under the upper
  lip at their own size and the mouth parts under them into the painted dark cavity, with
  neither stretched teeth nor the lower lip's inner rim left hanging under the teeth.

Measured when written: lp_drv_d19's band over the lower lip is 3.0 grey levels off the
picture's own on average (24.7 before); tpsmm_source's teeth 0.2 (0.2 before), and the
brightest row under them 56, against teeth of 129 (95 before: the lower lip's inner rim hanging
under the teeth).
"""

from __future__ import annotations

import numpy as np
import pytest

from reenact.config import load_config
from reenact.render.mouth import (
    FLESH_BANDS,
    LEFT_CORNER,
    LOWER_INNER,
    RIGHT_CORNER,
    UPPER_INNER,
    MouthFiller,
    lip_curve,
)
from reenact.render.warp import WarpRenderer
from reenact_lab.eval.move_sweep import moved

DROP = 0.2  # mouth widths
BAND_OFF = 10.0  # grey levels a band may differ from the picture's own on average


def _target(portraits_dir, name: str):
    from reenact.pipeline.target import prepare_target

    target = prepare_target(str(portraits_dir / name), load_config(None))
    return target.crop, np.asarray(target.landmarks_crop, np.float32)


def _band(image: np.ndarray, xy: np.ndarray, lip: str, depth: float) -> np.ndarray:
    """Grey levels (rows, columns) of the `depth` px under the upper inner lip (lip="upper") or
    over the lower one, per column, over the middle half of the mouth's width."""
    centre = 0.5 * (xy[LEFT_CORNER, 0] + xy[RIGHT_CORNER, 0])
    half = 0.5 * (xy[RIGHT_CORNER, 0] - xy[LEFT_CORNER, 0])
    xs = np.arange(int(round(centre - 0.5 * half)), int(round(centre + 0.5 * half)) + 1)
    edge = lip_curve(xy, UPPER_INNER if lip == "upper" else LOWER_INNER, xs.astype(np.float32))
    steps = np.arange(1.0, depth + 1.0) * (1.0 if lip == "upper" else -1.0)
    ys = np.round(edge[None, :] + steps[:, None]).astype(int)
    grey = image.astype(np.float32).mean(axis=2)
    return grey[ys, xs[None, :]]


def _drawn(crop: np.ndarray, neutral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    warp = WarpRenderer(size=crop.shape[0])
    warp.set_target(crop, neutral)
    opened = moved(neutral, "jaw", DROP)
    return np.asarray(warp.render(opened)), opened[:, :2]


def _gap(xy: np.ndarray) -> float:
    return float(xy[14, 1] - xy[13, 1])


def test_a_yawning_targets_tongue_follows_its_dropped_jaw(portraits_dir):
    crop, neutral = _target(portraits_dir, "lp_drv_d19.jpg")
    out, opened = _drawn(crop, neutral)
    depth = FLESH_BANDS[1] * _gap(neutral[:, :2]) - 1.0
    lower = np.abs(_band(out, opened, "lower", depth) - _band(crop, neutral[:, :2], "lower", depth))
    upper = np.abs(_band(out, opened, "upper", depth) - _band(crop, neutral[:, :2], "upper", depth))
    assert lower.mean() < BAND_OFF, lower.mean()
    assert upper.mean() < BAND_OFF, upper.mean()
    filler = MouthFiller(size=crop.shape[0])
    filler.prepare(crop, neutral)
    assert not filler._interior.parts and filler._interior.bands == FLESH_BANDS  # a yawn: flesh


def test_a_grins_teeth_stay_up_and_its_mouth_parts_below_them(portraits_dir):
    crop, neutral = _target(portraits_dir, "tpsmm_source.png")
    out, opened = _drawn(crop, neutral)
    xy = neutral[:, :2]
    teeth = 0.6 * _gap(xy)
    picture_teeth = _band(crop, xy, "upper", teeth)
    upper = np.abs(_band(out, opened, "upper", teeth) - picture_teeth)
    assert upper.mean() < BAND_OFF, upper.mean()  # the teeth, where the picture has them
    # under them, the dark cavity, down to the lower lip's own edge (its last 6 px): no row of
    # it as bright as a lip's inner rim or stretched teeth (each row's mean over the middle of
    # the mouth)
    below = _band(out, opened, "upper", _gap(opened) - 6.0)[int(np.ceil(teeth)) + 2 :]
    brightest = float(below.mean(axis=1).max())
    assert brightest < 0.6 * float(np.median(picture_teeth)), (brightest, np.median(picture_teeth))
    filler = MouthFiller(size=crop.shape[0])
    filler.prepare(crop, neutral)
    inside = filler._interior
    assert inside.parts and inside.bands[0] > 0.5, inside.bands  # teeth: it parts under them


@pytest.mark.parametrize("amount", [0.0, -0.05])
def test_a_mouth_no_wider_open_than_the_pictures_is_left_as_warped(portraits_dir, amount):
    """The filler paints nothing until the mouth opens wider than the picture's."""
    crop, neutral = _target(portraits_dir, "lp_drv_d19.jpg")
    filler = MouthFiller(size=crop.shape[0])
    filler.prepare(crop, neutral)
    layers = filler.overlay(moved(neutral, "jaw", amount))
    assert layers == [] or all(alpha.max() < 1e-3 for _, _, alpha in layers)


@pytest.mark.parametrize("light", [1.0, 0.5])
def test_teeth_are_told_from_a_tongue_in_a_dim_picture_too(portraits_dir, monkeypatch, light):
    """Open wide (the gap test off), tpsmm_source's teeth part and lp_drv_d19's throat
    stretches, at the picture's own light and at half of it: teeth are pale against the face's
    own brightness, not against a fixed grey level (half-lit teeth are 82 of 255)."""
    import reenact.render.mouth as mouth

    monkeypatch.setattr(mouth, "FLESH_GAP", 0.0)
    found = {}
    for name in ("tpsmm_source.png", "lp_drv_d19.jpg"):
        crop, neutral = _target(portraits_dir, name)
        filler = MouthFiller(size=crop.shape[0])
        filler.prepare((crop.astype(np.float32) * light).astype(np.uint8), neutral)
        found[name] = filler._interior.parts
    assert found == {"tpsmm_source.png": True, "lp_drv_d19.jpg": False}, found
