"""Frame times that a source gets wrong: NaN (a damaged file's last frames) or going back (a
network stream that reconnects and starts its clock again). The live path must show what it
shows with well-timed frames, not a black or garbled cross-fade."""

from __future__ import annotations

from itertools import islice

import av
import numpy as np
import pytest

from reenact.config import load_config
from reenact.pipeline.factory import build_reenactor
from reenact.pipeline.target import prepare_target
from reenact.pipeline.timing import StageTimer

FPS = 25.0
SWITCH = 12  # the frame at which the target changes, with a cross-fade
FRAMES = 36


@pytest.fixture(scope="module")
def actor(clips_dir) -> list[np.ndarray]:
    with av.open(str(clips_dir / "lp_d0.mp4")) as container:
        return [f.to_ndarray(format="rgb24") for f in islice(container.decode(video=0), FRAMES)]


def drive(actor, portraits_dir, times: list[float]) -> list[np.ndarray]:
    """The outputs of `actor` driving lp_s2, switched to lp_s42 with a 0.4 s cross-fade at
    frame SWITCH, the frames given `times`."""
    config = load_config(
        None,
        [
            f"stream.target={portraits_dir / 'lp_s2.jpg'}",
            "renderer.kind=warp",
            "calibration.neutral_frames=4",
        ],
    )
    r = build_reenactor(config, timer=StageTimer())
    other = prepare_target(
        str(portraits_dir / "lp_s42.jpg"), config, frame_size=r.target.frame.shape[1::-1]
    )
    outputs = []
    try:
        for i, (image, t_s) in enumerate(zip(actor, times)):
            if i == SWITCH:
                r.set_target(other, crossfade_s=0.4)
            outputs.append(r.process(image, t_s, None).output.copy())
    finally:
        r.close()
    return outputs


@pytest.fixture(scope="module")
def well_timed(actor, portraits_dir) -> list[np.ndarray]:
    return drive(actor, portraits_dir, [i / FPS for i in range(FRAMES)])


def worst_difference(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.abs(x.astype(np.int16) - y.astype(np.int16)).mean()) for x, y in zip(a, b))


def test_missing_times_during_a_cross_fade(actor, portraits_dir, well_timed):
    """Three frames without a time just after the switch. Without the stream clock the fade's
    start is NaN and every later frame is mixed to black."""
    times = [i / FPS for i in range(FRAMES)]
    times[SWITCH : SWITCH + 3] = [float("nan")] * 3
    outputs = drive(actor, portraits_dir, times)
    assert min(float(o.mean()) for o in outputs) > 0.5 * float(well_timed[-1].mean())
    assert worst_difference(outputs, well_timed) < 0.5


def test_a_clock_that_starts_again_during_a_cross_fade(actor, portraits_dir, well_timed):
    """Three frames into the fade the source's clock starts again from 0 (a reconnecting
    stream). Without the stream clock the fade's weights go negative for the next half second
    and the mix overflows."""
    restart = SWITCH + 3
    times = [i / FPS for i in range(restart)] + [i / FPS for i in range(FRAMES - restart)]
    outputs = drive(actor, portraits_dir, times)
    assert worst_difference(outputs, well_timed) < 0.5
