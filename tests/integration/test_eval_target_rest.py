"""`reenact eval` measures a target's carried expression from the face it shows at rest.

tpsmm_source grins in its picture. The fuser rests on its estimated neutral
(`fusion.target_neutral`, the grin taken out) and adds the actor's deviation over *that* face's
region sizes, so the eval's output neutral (`carried_rows.output_neutral`) is the estimate. Read
against the picture's grin, 1.31 times the estimate's mouth width, the same J_gen's mouth read
about 0.76 of what it carries. A portrait that wears no expression (sadtalker_people_0) is its
own landmarks either way. Real faces: lp_d13 tracked by the real face mesh, fused by the default
fuser through the live path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers import aligned_actor, reenactor

SIZE = 256
MOUTH = ("mouth_open", "mouth_width")


def _reenactor(path: Path, neutral: np.ndarray):
    from reenact.config import load_config

    config = load_config(
        "eval", ["renderer.kind=warp", "smoothing.enabled=false", "head.motion=off"]
    )
    return reenactor(config, path, source_neutral=neutral)


def _mouth_gains(actor, neutral, fused, rest) -> dict[str, float]:
    from reenact_lab.metrics.expression import expression_carried

    found = expression_carried(np.stack(actor), neutral, np.stack(fused), rest)["features"]
    return {name: found[name]["gain"] for name in MOUTH}


def test_a_grinning_targets_mouth_is_measured_from_its_rest(portraits_dir: Path, clips_dir: Path):
    from reenact_lab.eval.carried_rows import output_neutral
    from reenact.pipeline.reenactor import Tracked

    frames, neutral = aligned_actor(
        clips_dir / "lp_d13.mp4", frames=90, step=2, size=SIZE, neutral_frames=10
    )
    grin = _reenactor(portraits_dir / "tpsmm_source.png", neutral)
    rest = output_neutral(grin.target)
    assert grin.target.expression_removed > 0.02
    assert not np.allclose(rest, grin.target.landmarks_crop)
    fused = [grin.process(grin.target.frame, 0.0, Tracked(f)).fused for f in frames]
    assert all(f is not None for f in fused)

    measured = _mouth_gains(frames, neutral, fused, rest)
    from_picture = _mouth_gains(frames, neutral, fused, grin.target.landmarks_crop)
    for name in MOUTH:
        # J_gen carries the actor's mouth whole over the rest's size; the picture's grin read
        # it short by the ratio of the two mouths' widths
        assert 0.85 < measured[name] < 1.2, (name, measured, from_picture)
        assert from_picture[name] < 0.85 * measured[name], (name, measured, from_picture)

    plain = _reenactor(portraits_dir / "sadtalker_people_0.png", neutral)
    assert plain.target.expression_removed == 0.0
    assert output_neutral(plain.target) is plain.target.landmarks_crop
