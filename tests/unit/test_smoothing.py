"""The live loop's landmark smoothing on real landmarks (jitter cut when still, lag when moving,
the expression's amplitude kept, a still face steadier than the plain One Euro filter left it),
the One Euro filter's edge cases; the crop blender.

The smoother runs, as in the live loop, on the aligned landmarks of the 256 crop, with the
config's default settings (`LandmarkSmoother`).

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
from reenact.landmarks.smoothing import LandmarkSmoother, OneEuroFilter
from reenact.pipeline.compose import CropBlender
from reenact.landmarks.tracker import FaceTracker
from lab import smoothing_sweep as sweep
from tests.helpers import mouth_open_ratio

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


def _defaults() -> dict:
    """The config's smoothing settings, as `LandmarkSmoother`'s arguments."""
    d = SmoothingConfig()
    return {name: getattr(d, name) for name in sweep.SETTINGS}


def smooth(landmarks: np.ndarray, fps: float, **settings) -> np.ndarray:
    """The landmarks through a `LandmarkSmoother` with `settings` (default: the config's)."""
    smoother = LandmarkSmoother(**{**_defaults(), **settings})
    return np.stack([smoother.filter(lm, i / fps) for i, lm in enumerate(landmarks)])


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
def test_smoothing_halves_jitter_when_still(tracked_clips, name: str) -> None:
    in_frame, landmarks, fps = tracked_clips[name]
    filtered = smooth(landmarks, fps)
    start = stillest_start(in_frame)
    still = slice(start, start + STILL)
    raw_jitter = jitter(landmarks[still, :, :2])
    filtered_jitter = jitter(filtered[still, :, :2])
    print(
        f"{name}: still frames {start}-{start + STILL}: jitter raw {raw_jitter:.3f} px, "
        f"filtered {filtered_jitter:.3f} px ({filtered_jitter / raw_jitter:.2f}x)"
    )
    assert filtered_jitter <= 0.5 * raw_jitter


@pytest.mark.parametrize("name", CLIPS)
def test_smoothing_lags_at_most_one_frame_when_moving(tracked_clips, name: str) -> None:
    _, landmarks, fps = tracked_clips[name]
    filtered = smooth(landmarks, fps)
    signals = {
        "mouth open": (
            np.array([mouth_open_ratio(lm) for lm in landmarks]),
            np.array([mouth_open_ratio(lm) for lm in filtered]),
        ),
        "lower lip y": (
            landmarks[:, 17, 1].astype(np.float64),
            filtered[:, 17, 1].astype(np.float64),
        ),
    }
    for label, (raw, smoothed) in signals.items():
        start = most_moving_start(raw)
        part = slice(start, start + MOVING)
        lag = lag_frames(raw[part], smoothed[part])
        print(f"{name}: {label}, frames {start}-{start + MOVING}: lag {lag:.2f} frames")
        assert lag <= 1.0, f"{label}: lag {lag:.2f} frames"


# the plain One Euro filter at the defaults it had until 2026-11-26
PLAIN = {"min_cutoff": 1.5, "beta": 0.3, "d_cutoff": 1.0, "expression_beta": 0.0, "head_beta": 0.0}


@pytest.mark.parametrize("name", CLIPS)
def test_the_expression_keeps_its_amplitude_and_comes_sooner(tracked_clips, name: str) -> None:
    """What `lab.smoothing_sweep` reads on a real talking clip: the live loop's
    smoother passes more of the expression's amplitude, and sooner, than the plain One Euro
    filter that keeps a still face as steady (lp_d19: 0.966 / 19 ms against 0.948 / 27 ms;
    lp_d5: 0.977 / 16 ms against 0.958 / 22 ms)."""
    _, landmarks, fps = tracked_clips[name]
    track = sweep.Track(name, landmarks.astype(np.float64), fps)
    now, plain = sweep.measure(track, **_defaults()), sweep.measure(track, **PLAIN)
    print(
        f"{name}: kept {now['kept']:.3f} (plain {plain['kept']:.3f}), lag {now['lag_ms']:.1f} "
        f"ms (plain {plain['lag_ms']:.1f}), head lag {now['head_lag_ms']:.1f} "
        f"(plain {plain['head_lag_ms']:.1f})"
    )
    assert now["kept"] >= max(plain["kept"] + 0.01, 0.955)
    assert now["lag_ms"] <= plain["lag_ms"] - 5.0


@pytest.mark.parametrize("portrait", ["lp_s12.jpg", "sadtalker_people_0.png"])
def test_a_still_face_under_camera_noise_is_steadier(portraits_dir, portrait: str) -> None:
    """A picture tracked as a still video with a webcam's noise on every frame (nothing moves):
    every part of the face jitters less through the live loop's smoother than through the plain
    One Euro filter, though the smoother opens faster for a moving face (lp_s12: mouth 0.090
    against 0.117 px a frame, lids 0.036 against 0.056)."""
    from reenact.config import load_config

    track = sweep.track_still(portraits_dir / portrait, load_config(), np.random.default_rng(0))
    assert track is not None, f"{portrait}: the face was lost in its still video"
    now, plain = sweep.still_jitter(track, _defaults()), sweep.still_jitter(track, PLAIN)
    print(f"{portrait}: px a frame now {now}, plain {plain}")
    for part in sweep.STILL_PARTS:
        assert now[part] <= 0.9 * plain[part], (part, now[part], plain[part])


@pytest.mark.parametrize("delay", [0.0, 1.0, 2.5])
def test_the_sweep_reads_a_known_delay(delay: float) -> None:
    """`smoothing_sweep.lag_frames` finds a delay it is given, between frames too."""
    rng = np.random.default_rng(1)
    signal = np.convolve(rng.normal(size=300), np.ones(6) / 6, "same")
    t = np.arange(len(signal), dtype=np.float64)
    late = np.interp(t - delay, t, signal)
    assert sweep.lag_frames(signal, late) == pytest.approx(delay, abs=0.1)


def test_without_the_face_s_moves_it_is_the_one_euro_filter(tracked_clips) -> None:
    """expression_beta = head_beta = 0: exactly the plain filter with the same settings."""
    _, landmarks, fps = tracked_clips[CLIPS[0]]
    smoother = LandmarkSmoother(min_cutoff=1.5, beta=0.3, expression_beta=0.0, head_beta=0.0)
    plain = OneEuroFilter(min_cutoff=1.5, beta=0.3)
    for i, lm in enumerate(landmarks[:60]):
        np.testing.assert_array_equal(smoother.filter(lm, i / fps), plain.filter(lm, i / fps))


def test_a_moving_mouth_opens_its_own_points_not_the_brows(tracked_clips) -> None:
    """A real face held still, then its jaw dropped by a syllable's opening (a twentieth of the
    mouth's width, 2.7 px, over three frames): the lower lip follows sooner than with the plain
    filter at the same settings (three frames in: 0.77 of the way against 0.50), and the brows,
    which did not move, are filtered exactly as before."""
    from reenact.landmarks.jaw import drop_jaw
    from reenact.landmarks.regions import REGIONS

    _, landmarks, fps = tracked_clips[CLIPS[1]]
    face = landmarks[0].astype(np.float64)
    width = float(np.linalg.norm(face[291, :2] - face[61, :2]))
    frames = [face] * 30 + [
        drop_jaw(face, width * 0.05 * min(k, 3) / 3).astype(np.float64) for k in range(1, 16)
    ]
    settings = {"min_cutoff": 0.5, "beta": 0.1}
    moving = LandmarkSmoother(**settings, expression_beta=0.6, head_beta=0.0)
    plain = LandmarkSmoother(**settings, expression_beta=0.0, head_beta=0.0)
    out = [(moving.filter(f, i / fps), plain.filter(f, i / fps)) for i, f in enumerate(frames)]
    lip = 14
    target = frames[-1][lip, 1] - face[lip, 1]
    moved = [(m[lip, 1] - face[lip, 1]) / target for m, _ in out[30:]]
    plain_moved = [(p[lip, 1] - face[lip, 1]) / target for _, p in out[30:]]
    assert moved[2] >= plain_moved[2] + 0.15, (moved[2], plain_moved[2])
    assert moved[-1] == pytest.approx(1.0, abs=0.02)  # and gets there
    brows = np.r_[REGIONS["left_brow"], REGIONS["right_brow"]]
    for m, p in out:
        np.testing.assert_allclose(m[brows], p[brows], atol=1e-4)


def test_the_smoother_s_defaults_are_the_config_s_and_reset_starts_again(tracked_clips) -> None:
    smoother = LandmarkSmoother()
    assert {name: getattr(smoother, name) for name in sweep.SETTINGS} == _defaults()
    _, landmarks, fps = tracked_clips[CLIPS[0]]
    for i, lm in enumerate(landmarks[:20]):
        smoother.filter(lm, i / fps)
    smoother.reset()
    np.testing.assert_array_equal(smoother.filter(landmarks[40], 2.0), landmarks[40])
    fresh = LandmarkSmoother()
    fresh.filter(landmarks[40], 0.0)
    for i, lm in enumerate(landmarks[41:60], start=1):  # as a new smoother would: speeds forgotten
        np.testing.assert_allclose(
            smoother.filter(lm, 2.0 + i / fps), fresh.filter(lm, i / fps), atol=1e-4
        )


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
