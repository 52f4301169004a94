"""The drawn expression boost through the live path, read back by the real tracker.

lp_d13 (a talker who smiles, purses and raises his brows) drives sadtalker_people_0 through the
warp. Read back by the static face mesh, the plain drawing carries clearly less of J_gen's mouth
widening and brow raise than J_gen has (the deficit the boost exists for: no folds, no shading);
with the shipped boost it carries more of both, while J_gen itself (the frame's `fused`, the
eval's "before rendering" row) is the same landmark for landmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers import reenactor

FRAMES = 330
EVERY = 6  # re-track every 6th frame from the first rendered one: ~50 frames


def _run(clip: Path, portrait: Path, *overrides: str):
    from reenact.config import load_config
    from reenact.landmarks.tracker import FaceTracker
    from reenact.pipeline.target import prepare_target
    from reenact.video import read_frames

    config = load_config(None, ["renderer.kind=warp", *overrides])
    target = prepare_target(str(portrait), config)
    r = reenactor(config, target)
    fused, read = [], []
    try:
        with FaceTracker(config.tracker, static=True) as tracker:
            for index, image in enumerate(read_frames(clip, FRAMES)):
                frame = r.process(image, index / 25.0, None)
                if frame.fused is None or index % EVERY:
                    continue
                found = tracker.track_one(frame.output)
                if found is None:
                    continue
                fused.append(np.array(frame.fused))
                read.append(target.alignment.landmarks_to_crop(found))
    finally:
        r.close()
    return np.stack(fused), np.stack(read), target.neutral(True)


def _carried(fused, read, neutral) -> dict[str, float]:
    from reenact_lab.metrics.expression import expression_carried

    features = expression_carried(fused, neutral, read, neutral)["features"]
    return {
        "mouth_width": features["mouth_width"]["gain"],
        "brows": (features["brow_left"]["gain"] + features["brow_right"]["gain"]) / 2,
    }


def test_the_boost_makes_the_drawing_carry_more_of_j_gen(clips_dir: Path, portraits_dir: Path):
    clip, portrait = clips_dir / "lp_d13.mp4", portraits_dir / "sadtalker_people_0.png"
    fused_off, read_off, neutral = _run(
        clip, portrait, "renderer.boost.mouth_width=1", "renderer.boost.brows=1"
    )
    fused_on, read_on, _ = _run(clip, portrait)  # the shipped boost
    assert len(fused_on) >= 40
    np.testing.assert_array_equal(fused_on, fused_off)  # J_gen stays Phi's
    plain, boosted = _carried(fused_off, read_off, neutral), _carried(fused_on, read_on, neutral)
    # the plain drawing falls short of what J_gen says...
    assert plain["mouth_width"] < 0.92 and plain["brows"] < 0.92
    # ...and the boosted one carries more of both
    assert boosted["mouth_width"] > plain["mouth_width"] + 0.06
    assert boosted["brows"] > plain["brows"] + 0.08
