"""The One Euro filter on real landmarks (jitter cut when still, lag when moving) and its edge
cases; the crop blender.

The filter runs, as in the live loop, on the aligned landmarks of the 256 crop, with the config's
default min_cutoff / beta.

Jitter is each landmark coordinate's deviation from the straight line through its neighbours in
time, r[t] = x[t] - (x[t-1] + x[t+1]) / 2, as an RMS scaled to a noise sigma (/ sqrt(1.5)); it
is measured on the stillest 15-frame stretch (least eye/nose/chin motion in the frame) of a
real clip. Lag is
the sub-frame shift that best aligns the filtered signal to the raw one (least squares over
shifts in steps of 0.05 frame, i.e. a cross-correlation) on the 40 frames with the most motion.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from reenact.config.schema import SmoothingConfig
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.regions import mouth_open_ratio
from reenact.landmarks.smoothing import CropBlender, OneEuroFilter
from reenact.landmarks.tracker import FaceTracker

CLIPS = ("lp_d19.mp4", "lp_d5.mp4")  # 30 fps, 480x480, still stretches and strong expressions
MAX_FRAMES = 150
WARMUP = 20  # frames skipped before measuring, while the filter settles
STILL = 15  # frames in the still stretch (as EvalConfig.still_frames)
MOVING = 40


@pytest.fixture(scope="session")
def tracked_clips(clips_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """name -> (landmarks (T,478,3) float32 image pixels, the same in 256-crop pixels, fps):
    the first 150 frames, tracked once."""
    out = {}
    for name in CLIPS:
        landmarks = []
        with av.open(str(clips_dir / name)) as container, FaceTracker() as tracker:
            stream = container.streams.video[0]
            fps = float(stream.average_rate)
            for frame in container.decode(stream):
                face = tracker.track_one(frame.to_ndarray(format="rgb24"))
                assert face is not None, f"{name}: face lost at frame {len(landmarks)}"
                landmarks.append(face)
                if len(landmarks) == MAX_FRAMES:
                    break
        aligned = [compute_alignment(lm, 256).landmarks_to_crop(lm) for lm in landmarks]
        out[name] = (np.stack(landmarks), np.stack(aligned), fps)
    return out


def smooth(landmarks: np.ndarray, fps: float, *, min_cutoff: float, beta: float) -> np.ndarray:
    one_euro = OneEuroFilter(min_cutoff=min_cutoff, beta=beta)
    return np.stack([one_euro.filter(lm, i / fps) for i, lm in enumerate(landmarks)])


def jitter(track: np.ndarray) -> float:
    """Noise sigma of a (T,...) track: RMS deviation from the line through the neighbours."""
    deviation = track[1:-1] - (track[:-2] + track[2:]) / 2
    return float(np.sqrt(np.mean(deviation**2) / 1.5))


def stillest_start(landmarks: np.ndarray) -> int:
    motion = np.linalg.norm(np.diff(landmarks[:, [1, 33, 263, 152], :2], axis=0), axis=2).mean(1)
    window = np.convolve(motion, np.ones(STILL - 1), "valid")
    window[:WARMUP] = np.inf
    return int(np.argmin(window))


def lag_frames(raw: np.ndarray, filtered: np.ndarray) -> float:
    """Shift s (frames) minimising |filtered(t) - raw(t - s)|^2, linear interpolation."""
    t = np.arange(len(raw), dtype=np.float64)
    inner = slice(5, len(raw) - 5)
    shifts = np.arange(-1.0, 4.0, 0.05)
    errors = [np.mean((filtered[inner] - np.interp(t - s, t, raw)[inner]) ** 2) for s in shifts]
    return float(shifts[int(np.argmin(errors))])


def most_moving_start(signal: np.ndarray) -> int:
    window = np.convolve(np.abs(np.diff(signal)), np.ones(MOVING), "valid")
    window[:WARMUP] = -1
    return int(np.argmax(window))


@pytest.mark.parametrize("name", CLIPS)
def test_one_euro_halves_jitter_when_still(tracked_clips, name: str) -> None:
    in_frame, landmarks, fps = tracked_clips[name]
    defaults = SmoothingConfig()
    filtered = smooth(landmarks, fps, min_cutoff=defaults.min_cutoff, beta=defaults.beta)
    start = stillest_start(in_frame)
    still = slice(start, start + STILL)
    raw_jitter = jitter(landmarks[still, :, :2])
    filtered_jitter = jitter(filtered[still, :, :2])
    print(f"{name}: still frames {start}-{start + STILL}: jitter raw {raw_jitter:.3f} px, "
          f"filtered {filtered_jitter:.3f} px ({filtered_jitter / raw_jitter:.2f}x)")
    assert filtered_jitter <= 0.5 * raw_jitter


@pytest.mark.parametrize("name", CLIPS)
def test_one_euro_lags_at_most_one_frame_when_moving(tracked_clips, name: str) -> None:
    _, landmarks, fps = tracked_clips[name]
    defaults = SmoothingConfig()
    filtered = smooth(landmarks, fps, min_cutoff=defaults.min_cutoff, beta=defaults.beta)
    signals = {
        "mouth open": (np.array([mouth_open_ratio(lm) for lm in landmarks]),
                       np.array([mouth_open_ratio(lm) for lm in filtered])),
        "lower lip y": (landmarks[:, 17, 1].astype(np.float64),
                        filtered[:, 17, 1].astype(np.float64)),
    }
    for label, (raw, smoothed) in signals.items():
        start = most_moving_start(raw)
        part = slice(start, start + MOVING)
        lag = lag_frames(raw[part], smoothed[part])
        print(f"{name}: {label}, frames {start}-{start + MOVING}: lag {lag:.2f} frames")
        assert lag <= 1.0, f"{label}: lag {lag:.2f} frames"


def test_first_sample_passes_and_shape_dtype_kept() -> None:
    one_euro = OneEuroFilter()
    x = np.random.default_rng(0).normal(size=(478, 3)).astype(np.float32)
    out = one_euro.filter(x, 0.0)
    assert out.shape == (478, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, x)
    assert one_euro.filter(np.zeros((2, 2)), 0.1).dtype == np.float64  # new shape restarts


def test_constant_input_stays_and_step_converges() -> None:
    one_euro = OneEuroFilter()
    for i in range(5):
        np.testing.assert_allclose(one_euro.filter(np.full(4, 3.0), i / 30), 3.0)
    outputs = [one_euro.filter(np.full(4, 10.0), (5 + i) / 30)[0] for i in range(60)]
    assert 3.0 < outputs[0] < 10.0  # smoothed, not jumped
    assert np.all(np.diff(outputs) >= -1e-9) and abs(outputs[-1] - 10.0) < 0.05


@pytest.mark.parametrize("times", [(0.0, 0.0, 0.0), (1.0, 0.5, 0.2), (0.0, float("nan"), 0.1)])
def test_non_increasing_timestamps_are_safe(times: tuple[float, ...]) -> None:
    one_euro = OneEuroFilter()
    values = [np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([2.0, 0.0])]
    previous = None
    for value, t in zip(values, times):
        out = one_euro.filter(value, t)
        assert np.isfinite(out).all()
        if previous is not None:  # a proper low-pass step: between the last output and the input
            low, high = np.minimum(previous, value), np.maximum(previous, value)
            assert np.all(out >= low - 1e-9) and np.all(out <= high + 1e-9)
        previous = out


def test_reset_passes_next_sample() -> None:
    one_euro = OneEuroFilter()
    one_euro.filter(np.zeros(3), 0.0)
    one_euro.filter(np.ones(3), 0.033)
    one_euro.reset()
    np.testing.assert_array_equal(one_euro.filter(np.full(3, 7.0), 0.066), 7.0)


def test_bad_parameters_raise() -> None:
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0.0)


def test_crop_blender() -> None:
    frame = np.zeros((4, 4, 3), np.uint8)
    assert CropBlender(0.0).blend(frame) is frame  # off: passes through
    blender = CropBlender(0.5)
    first = blender.blend(np.full((4, 4, 3), 100, np.uint8)).copy()
    second = blender.blend(np.full((4, 4, 3), 200, np.uint8))
    values = second.copy()
    third = blender.blend(np.full((4, 4, 3), 200, np.uint8))
    assert third is second  # one output buffer, reused: no per-frame allocation
    assert (first == 100).all() and (values == 150).all() and (third == 175).all()
    blender.reset()
    assert (blender.blend(np.full((4, 4, 3), 9, np.uint8)) == 9).all()
