"""What the landmark smoothing costs and buys: `python -m lab.smoothing_sweep CLIP ...`.

The live loop smooths the actor's tracked landmarks (aligned-crop pixels) before anything is
fused or drawn (`reenact.landmarks.smoothing.LandmarkSmoother`: a One Euro filter whose cut-off
also opens with the face's own moves; `smoothing.min_cutoff`, `beta`, `d_cutoff`,
`expression_beta`, `head_beta`). A lower cut-off removes more of the tracker's jitter while the
face is still, and also damps and delays what the face does: a syllable's opening, a blink. This
tool measures both sides on real clips, for any settings:

- `jitter`: on each clip's stillest `STILL_FRAMES` frames (`reenact_lab.metrics.landmarks
  .stillest_stretch`), the smoothed landmarks' mean frame-to-frame step over the inter-ocular
  distance (`landmark_jitter`), as a share of the unsmoothed track's: what is left of the
  tracker's jitter where the face holds still (lower is steadier);
- `flicker`: the same with each frame's head pose undone first (`reenact_lab.metrics.expression
  .pose_undone`): the jitter of the face's shape alone, which is what reaches the rendered face
  (the fusion takes the actor's deviation with the pose undone, and the head's own motion has
  its own filter, `reenact.pipeline.head_motion`);
- `kept`: the slope of the smoothed expression features (`reenact_lab.metrics.expression
  .relative_features`, head pose undone, against the clip's neutral as the live loop calibrates
  it) on the unsmoothed ones, the mean over the six features: how much of the expression's
  amplitude passes (1 = all);
- `lag`: the delay, in milliseconds, at which the smoothed features best match the unsmoothed
  ones (their cross-correlation's peak, refined between frames), the mean over the features;
- `head kept`, `head lag`: the same for the head's turn and nod as the crop's landmarks carry
  them (the nose tip against the eyes' outer corners), which the fusion's pose fit reads.

A talking clip's stillest second is rarely still everywhere (the mouth may be moving), so
`--still PORTRAIT ...` measures the jitter at rest where nothing moves at all: each picture is
tracked as a video of `STILL_TRACK` frames of itself, each with fresh Gaussian noise of
`STILL_NOISE` grey levels (a webcam's sensor noise), and per part of the face (the mouth and
jaw, the lids, the irises, the brows, all points) the smoothed landmarks' mean frame-to-frame
step, head pose undone, in pixels of a 256 crop, is printed after the first `STILL_WARMUP`
frames.

Each clip is tracked once, as the live loop tracks it (video mode, each frame aligned), for its
first `--frames` frames; frames without a face split the clip into runs, and only runs of at
least `MIN_RUN` frames are used. The settings are a grid (`--min-cutoff`, `--beta`,
`--d-cutoff`, `--expression-beta`, `--head-beta`, each a list); per setting the medians over the
clips are printed, and with `--per-clip` every clip's own figures. `--tracks FILE.npz` keeps the
tracked clips: read from it when it exists (the clips named are then ignored), written to it
otherwise, so that another grid needs no tracking. A setting not given is the config's.

What it has shown (the figures are in docs/experiments/2026-11-27-constants-provenance-lab.md):
against the plain One Euro filter at its old default (`--min-cutoff 1.5 --beta 0.3
--expression-beta 0 --head-beta 0`), the new defaults jitter and flicker less, keep more of the
motion and lag less, at rest and on the clips the eval holds out alike.
"""

from __future__ import annotations

import argparse
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reenact.atomic import write_atomic
from reenact.config import load_config
from reenact.errors import InputError
from reenact_lab.eval.temporal import longest_run
from reenact.imageio import load_image
from reenact.landmarks.align import compute_alignment
from reenact.landmarks.neutral import least_expressive_median
from reenact.landmarks.regions import REGIONS
from reenact.landmarks.smoothing import MOUTH_POINTS, LandmarkSmoother, nose_offset
from reenact.landmarks.tracker import FaceTracker
from reenact_lab.metrics.expression import pose_undone, relative_features
from reenact_lab.metrics.landmarks import landmark_jitter, stillest_stretch

STILL_FRAMES = 30  # the still stretch jitter is read on (1 s at 30 fps)
MIN_RUN = 90  # frames: a shorter run of tracked frames is not used
MAX_LAG = 8  # frames searched for the cross-correlation's peak
NEUTRAL_WINDOW, NEUTRAL_FRAMES = 45, 10  # the live loop's calibration (stream.neutral_*)
# the smoothing's settings (`smoothing.<name>`, LandmarkSmoother's arguments), swept as a grid
SETTINGS = ("min_cutoff", "beta", "d_cutoff", "expression_beta", "head_beta")
STILL_TRACK, STILL_WARMUP = 150, 30  # frames a still picture is tracked for; frames skipped
STILL_NOISE = 4.0  # grey levels of noise on each frame of a still picture
STILL_SIDE = 640  # a still picture is tracked at most this large (a webcam frame's size)
STILL_PARTS = {"mouth": MOUTH_POINTS,
               "lids": np.r_[REGIONS["right_eye"], REGIONS["left_eye"]],
               "irises": np.r_[REGIONS["right_iris"], REGIONS["left_iris"]],
               "brows": np.r_[REGIONS["right_brow"], REGIONS["left_brow"]],
               "all": np.arange(478)}


@dataclass(frozen=True)
class Track:
    """One clip's longest run of tracked frames: (T,478,3) aligned-crop pixels, and its rate."""

    name: str
    landmarks: np.ndarray
    fps: float


def smoothed(landmarks: np.ndarray, fps: float, **settings) -> np.ndarray:
    """(T,478,3) landmarks filtered as the live loop filters them (`LandmarkSmoother` with
    `settings`: min_cutoff, beta, d_cutoff, expression_beta, head_beta), at `fps`."""
    smoother = LandmarkSmoother(**settings)
    return np.stack([smoother.filter(frame, index / fps) for index, frame in enumerate(landmarks)])


def lag_frames(raw: np.ndarray, smooth: np.ndarray) -> float:
    """The delay (frames, between frames by a parabola through the peak) at which `smooth`
    (T,) best matches `raw` (T,): the peak of their cross-correlation over -MAX_LAG..MAX_LAG.
    NaN for a series that does not move."""
    a, b = raw - raw.mean(), smooth - smooth.mean()
    if float(a.std()) < 1e-9 or float(b.std()) < 1e-9:
        return float("nan")
    n = len(a)
    shifts = range(-MAX_LAG, MAX_LAG + 1)
    corr = np.array([float(np.dot(a[:n - k], b[k:]) / (n - k)) if k >= 0
                     else float(np.dot(a[-k:], b[:n + k]) / (n + k)) for k in shifts])
    peak = int(np.argmax(corr))
    if 0 < peak < len(corr) - 1:
        left, mid, right = corr[peak - 1], corr[peak], corr[peak + 1]
        bend = left - 2.0 * mid + right
        if bend < 0:
            return peak - MAX_LAG + 0.5 * float(left - right) / float(bend)
    return float(peak - MAX_LAG)


def _kept_and_lag(raw: np.ndarray, smooth: np.ndarray, fps: float) -> tuple[float, float]:
    """The mean over (T,K) series' columns that move of the slope of `smooth` on `raw`, and of
    their lag in ms."""
    kept, lags = [], []
    for x, y in zip(raw.T, smooth.T):
        if float(x.std()) < 1e-6:
            continue
        kept.append(float(np.polyfit(x, y, 1)[0]))
        lags.append(lag_frames(x, y))
    if not kept:
        return float("nan"), float("nan")
    return float(np.mean(kept)), 1000.0 * float(np.nanmean(lags)) / fps


def measure(track: Track, **settings) -> dict:
    """{"jitter", "flicker", "kept", "lag_ms", "head_kept", "head_lag_ms"} of one setting
    (`smoothed`'s) on one track (module docstring)."""
    raw = track.landmarks
    smooth = smoothed(raw, track.fps, **settings)
    start, end = stillest_stretch(raw, min(STILL_FRAMES, len(raw)))
    jitter = landmark_jitter(smooth[start:end]) / max(landmark_jitter(raw[start:end]), 1e-9)
    neutral = least_expressive_median(raw[:NEUTRAL_WINDOW], NEUTRAL_FRAMES)
    still_raw = pose_undone(raw[start:end], neutral)
    flicker = (landmark_jitter(pose_undone(smooth[start:end], neutral))
               / max(landmark_jitter(still_raw), 1e-9))
    kept, lag = _kept_and_lag(relative_features(raw, neutral),
                              relative_features(smooth, neutral), track.fps)
    head_kept, head_lag = _kept_and_lag(nose_offset(raw), nose_offset(smooth), track.fps)
    return {"jitter": float(jitter), "flicker": float(flicker), "kept": kept, "lag_ms": lag,
            "head_kept": head_kept, "head_lag_ms": head_lag}


def still_jitter(track: Track, settings: dict | None) -> dict[str, float]:
    """{part: mean frame-to-frame step (256-crop px, head pose undone)} of a still face's track
    smoothed with `settings` (None: as tracked), past STILL_WARMUP frames (module docstring)."""
    landmarks = track.landmarks if settings is None else smoothed(track.landmarks, track.fps,
                                                                  **settings)
    shape = pose_undone(landmarks[STILL_WARMUP:], np.median(track.landmarks, axis=0))
    return {part: float(np.linalg.norm(np.diff(shape[:, points, :2], axis=0), axis=-1).mean())
            for part, points in STILL_PARTS.items()}


def track_still(path: Path, config, rng: np.random.Generator) -> Track | None:
    """A picture tracked as a still video (module docstring): None when a frame has no face."""
    image = load_image(path, max_side=STILL_SIDE).astype(np.float32)
    frames = []
    with FaceTracker(config.tracker, static=False) as tracker:
        for _ in range(STILL_TRACK):
            noisy = np.clip(image + rng.normal(0.0, STILL_NOISE, image.shape), 0, 255)
            found = tracker.track_one(noisy.astype(np.uint8))
            if found is None:
                return None
            frames.append(compute_alignment(found, 256).landmarks_to_crop(found))
    return Track(path.stem, np.stack(frames).astype(np.float64), 30.0)


def track_clip(path: Path, frames: int, config) -> Track | None:
    """`path`'s longest run of tracked frames among its first `frames` (None: shorter than
    MIN_RUN), tracked and aligned as the live loop does."""
    from reenact.landmarks.clips import track_clip as eval_track
    from reenact.video import clip_fps

    clip = eval_track(path, path.stem, config, max_frames=1, whole_frames=frames)
    landmarks = clip.whole_landmarks_crop
    first, end = longest_run(np.flatnonzero(np.isfinite(landmarks).all(axis=(1, 2))).tolist())
    if end - first < MIN_RUN:
        return None
    return Track(path.stem, landmarks[first:end].astype(np.float64), clip_fps(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path, help="video clips of a face")
    parser.add_argument("--still", nargs="*", type=Path, default=[],
                        help="pictures of a face, tracked as still videos with camera noise")
    parser.add_argument("--frames", type=int, default=300, help="frames tracked per clip")
    for name in SETTINGS:  # each defaults to the config's value
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, nargs="+", default=None,
                            help=f"smoothing.{name} values to try")
    parser.add_argument("--per-clip", action="store_true", help="print every clip's figures")
    parser.add_argument("--tracks", type=Path, default=None,
                        help="keep the tracked clips in this .npz (read if it exists)")
    args = parser.parse_args(argv)
    config = load_config()
    grid = [getattr(args, name) or [getattr(config.smoothing, name)] for name in SETTINGS]
    if args.tracks is not None and args.tracks.is_file():
        tracks = load_tracks(args.tracks)
    else:
        tracks = track_all(args.clips, args.frames, config)
        if args.tracks is not None and tracks:
            save_tracks(args.tracks, tracks)
    rng = np.random.default_rng(0)
    stills = []
    for path in args.still:
        still = track_still(path, config, rng)
        if still is None:
            print(f"{path.name}: the face is lost in its still video; left out")
        else:
            stills.append(still)
    if not tracks and not stills:
        raise SystemExit("reenact: error: no clip has a long enough tracked run")
    report(tracks, stills, grid, args.per_clip)
    return 0


def save_tracks(path: Path, tracks: list[Track]) -> None:
    """The tracks as one .npz (written whole or not at all)."""
    arrays = {}
    for i, t in enumerate(tracks):
        arrays[f"landmarks_{i}"] = t.landmarks.astype(np.float32)
        arrays[f"name_{i}"] = np.array(t.name)
        arrays[f"fps_{i}"] = np.array(t.fps)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_atomic(path, buffer.getvalue())


def load_tracks(path: Path) -> list[Track]:
    """Tracks written by `save_tracks`; a clear error for a file that is not one."""
    try:
        with np.load(path, allow_pickle=False) as data:
            count = sum(1 for key in data.files if key.startswith("landmarks_"))
            return [Track(str(data[f"name_{i}"]), data[f"landmarks_{i}"].astype(np.float64),
                          float(data[f"fps_{i}"])) for i in range(count)]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"reenact: error: {path}: not a tracks file of this tool "
                         f"({exc})") from None


def track_all(clips: list[Path], frames: int, config) -> list[Track]:
    """Each clip's longest tracked run; a clip with none long enough is named and left out."""
    tracks = []
    for path in clips:
        if not path.is_file():
            raise SystemExit(f"reenact: error: {path}: clip not found")
        try:
            track = track_clip(path, frames, config)
        except InputError as exc:  # no face in it at all: one clip of many, left out
            print(f"{path.name}: left out ({exc})")
            continue
        if track is None:
            print(f"{path.name}: fewer than {MIN_RUN} consecutive tracked frames; left out")
        else:
            tracks.append(track)
    return tracks


def report(tracks: list[Track], stills: list[Track], grid: list[list[float]],
           per_clip: bool) -> None:
    """Every setting of the grid (one list of values per SETTINGS name): the medians over the
    clips' tracks (and each track's figures with `per_clip`), then over the still pictures',
    printed."""
    names = " ".join(f"{name:>15}" for name in SETTINGS)
    settings = [dict(zip(SETTINGS, values)) for values in itertools.product(*grid)]
    if tracks:
        print(f"{len(tracks)} clips; medians over them (jitter, flicker: share of the tracker's "
              "left on the stillest second, all of it and the face's shape alone; kept: "
              "expression amplitude passed; lag: ms; head: the turn and nod)")
        print(f"{names} {'jitter':>7} {'flicker':>7} {'kept':>6} {'lag_ms':>7} "
              f"{'head_kept':>9} {'head_lag':>8}")
        for setting in settings:
            rows = [measure(t, **setting) for t in tracks]
            med = {k: float(np.nanmedian([r[k] for r in rows])) for k in rows[0]}
            print(" ".join(f"{v:15.2f}" for v in setting.values())
                  + f" {med['jitter']:7.3f} {med['flicker']:7.3f} {med['kept']:6.3f} "
                    f"{med['lag_ms']:7.1f} {med['head_kept']:9.3f} {med['head_lag_ms']:8.1f}")
            if per_clip:
                for track, row in zip(tracks, rows):
                    print(f"    {track.name[:30]:30s} {row['jitter']:7.3f} {row['flicker']:7.3f} "
                          f"{row['kept']:6.3f} {row['lag_ms']:7.1f} {row['head_kept']:9.3f} "
                          f"{row['head_lag_ms']:8.1f}")
    if stills:
        print(f"\n{len(stills)} still pictures, {STILL_NOISE:g} grey levels of noise a frame; "
              "median step a frame at rest (256-crop px, head pose undone)")
        print(names + " " + " ".join(f"{part:>7}" for part in STILL_PARTS))
        for setting in [None, *settings]:
            rows = [still_jitter(t, setting) for t in stills]
            label = ("unsmoothed".rjust(len(names)) if setting is None
                     else " ".join(f"{v:15.2f}" for v in setting.values()))
            print(label + " " + " ".join(f"{np.median([r[p] for r in rows]):7.3f}"
                                         for p in STILL_PARTS))


if __name__ == "__main__":
    raise SystemExit(main())
