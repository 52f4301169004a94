"""A target drawn at its own landmarks keeps its own eyes: no pale ring round the iris, no
second lid shadow.

The iris painter fills the iris disc of its "sclera plate" a little past the tracked iris radius
(`IRIS_RIM`) and pastes the iris back over it. Drawn only to the tracked radius, the iris left
that rim in the white's colour: a pale ring round every iris even at rest, and two grey bars
beside a dark-eyed dog's pupil. Its lid shadow, laid over the plate as well, darkened the rows
the plate keeps from the picture, already in the lid's shadow, a second time.

On real portraits tracked by the real face mesh, the warp draws each at its own landmarks; per
eye, inside its opening: the ring from half a pixel inside the tracked iris radius to 1.5 px
outside it must be within RING grey levels of the picture on average, and the whole opening
within EYE on average (absolute), over both eyes. Measured when written (ring per eye; opening),
before / after: sadtalker_people_0 +13.7, +23.5; 12.1 / +4.2, +3.4; 6.9. lp_s32 (a dog) +15.1,
+31.3; 9.5 / -5.9, +7.6; 5.2. lp_s3 +13.5, +21.2; 9.1 / +3.0, +4.2; 4.3.
"""

from __future__ import annotations

import numpy as np
import pytest

from reenact.landmarks.head_pose import EYE_RINGS
from reenact.render.paint import fill_aa
from reenact.render.warp import WarpRenderer
from tests.helpers import luma, tracked_iris

SIZE = 256
RING = 10.0  # grey levels: the iris's rim, drawn minus the picture, mean per eye
EYE = 8.0  # grey levels: |drawn - picture| inside the opening, mean over both eyes


def _eye_differences(picture: np.ndarray, drawn: np.ndarray, xy: np.ndarray, eye: int):
    """(mean drawn - picture on the iris's rim, |drawn - picture| per pixel of the opening)."""
    mask = np.zeros(picture.shape[:2], np.uint8)
    fill_aa(mask, xy[EYE_RINGS[eye], :2], (0, 0))
    inside = mask > 127
    centre, radius = tracked_iris(xy, eye)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    dist = np.hypot(xs - centre[0], ys - centre[1])
    rim = inside & (dist >= radius - 0.5) & (dist <= radius + 1.5)
    diff = luma(drawn) - luma(picture)
    assert rim.sum() >= 20, "the iris's rim is hardly visible: pick another portrait"
    return float(diff[rim].mean()), np.abs(diff[inside])


@pytest.mark.parametrize("name", ["sadtalker_people_0.png", "lp_s32.jpg", "lp_s3.jpg"])
def test_a_target_at_rest_keeps_its_eyes(aligned_still, portraits_dir, name):
    crop, xy = aligned_still(portraits_dir / name, SIZE)
    warp = WarpRenderer(size=SIZE)
    warp.set_target(crop, xy)
    drawn = warp.render(xy)
    rims, opening = [], []
    for eye in (0, 1):
        rim, absolute = _eye_differences(crop, drawn, xy, eye)
        rims.append(rim)
        opening.append(absolute)
    assert max(rims) < RING, f"{name}: a pale ring round the iris, {rims} grey levels"
    mean = float(np.concatenate(opening).mean())
    assert mean < EYE, f"{name}: the eyes at rest are {mean:.1f} grey levels off the picture"
