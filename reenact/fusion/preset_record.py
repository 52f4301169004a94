"""Recording presets from real faces: a clip frame, a camera, a still pair, or numbered stills.

Every recording ends as (neutral, expression) aligned landmarks of one face (or a class mean
over several faces) at crop side `size`, turned into a `Preset` by `make_preset`.

Sources (`reenact preset record NAME --source SPEC`):

    video:CLIP[:FRAME]   that frame of the clip; without FRAME the frame that shows the preset's
                         class best (`reenact.landmarks.expression.class_scores`). The neutral is
                         the clip's least expressive frames (median of the 10 lowest-scoring)
                         among those tracked (up to FRAME, or at least 30, when FRAME is given).
    webcam[:INDEX]       look neutral while `calibration.neutral_frames` frames calibrate, then hold
                         the expression; the strongest frame of the next `seconds` is kept.
    image:PATH           an expression still, with `--neutral image:PATH` for its neutral.
    stills:DIR:CONDITION numbered stills (NN_<condition>.png with NN_normal.png): the mean deviation
                         of that condition over every subject not excluded; winks are mirrored
                         to one eye before averaging.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reenact.errors import InputError
from reenact.landmarks.expression import CLASSES, class_scores, feature_deltas

log = logging.getLogger(__name__)
NEUTRAL_POOL = 10  # a clip's neutral: median of its this many least expressive frames
MAX_POSE_SHIFT = 0.08  # nose points may move this much (inter-ocular units) from the neutral
_NOSE = (1, 4, 5, 195, 197, 6, 168, 2, 98, 327)


@dataclass
class Recording:
    """What a source gave: neutral and expression (478,3) aligned crop pixels, and provenance."""

    neutral: np.ndarray
    expression: np.ndarray
    source: str
    extra: dict


def _tracker(config, *, static: bool):
    from reenact.landmarks.tracker import FaceTracker

    return FaceTracker(config.tracker, static=static)


def _aligned(landmarks: np.ndarray, size: int) -> np.ndarray:
    from reenact.landmarks.align import compute_alignment

    return compute_alignment(landmarks, size).landmarks_to_crop(landmarks)


def track_clip(path: Path, config, size: int, *, stride: int = 1, max_frames: int = 0):
    """(frame indices (V,), aligned landmarks (V,478,3)) of the clip's frames with a face."""
    import av

    from reenact.landmarks.tracker import head_yaw_deg

    indices, faces = [], []
    try:
        with av.open(str(path)) as container, _tracker(config, static=False) as tracker:
            for index, frame in enumerate(container.decode(video=0)):
                if max_frames and index >= max_frames:
                    break
                lm = tracker.track_one(frame.to_ndarray(format="rgb24"))
                if index % stride or lm is None or abs(head_yaw_deg(lm)) > 25.0:
                    continue
                indices.append(index)
                faces.append(_aligned(lm, size))
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: cannot decode video ({exc}); check the file") from None
    if not faces:
        raise InputError(f"{path}: no usable face in the clip")
    return np.asarray(indices), np.stack(faces)


def _total_score(face: np.ndarray, neutral: np.ndarray) -> float:
    return sum(max(v, 0.0) for v in class_scores(feature_deltas(face, neutral)).values())


def least_expressive_neutral(faces: np.ndarray) -> np.ndarray:
    """faces (V,478,3) -> (478,3): median of the NEUTRAL_POOL frames closest to no expression
    (scored against a first guess, the median of the first NEUTRAL_POOL frames)."""
    guess = np.median(faces[:NEUTRAL_POOL], axis=0)
    totals = np.array([_total_score(f, guess) for f in faces])
    calm = np.argsort(totals)[:NEUTRAL_POOL]
    return np.median(faces[calm], axis=0).astype(np.float32)


def pose_shift(face: np.ndarray, neutral: np.ndarray, size: int) -> float:
    """Mean nose-point movement from the neutral, inter-ocular units: a head turn or nod."""
    moved = np.linalg.norm(face[list(_NOSE), :2] - neutral[list(_NOSE), :2], axis=1).mean()
    return float(moved / (0.25 * size))


def rank_frames(faces: np.ndarray, neutral: np.ndarray, cls: str, size: int) -> np.ndarray:
    """(V,) class score per frame; frames with a head pose shift get -inf."""
    if cls not in CLASSES:
        raise InputError(f"expression class '{cls}': use one of {', '.join(CLASSES)}")
    scores = np.array([class_scores(feature_deltas(f, neutral))[cls] for f in faces])
    shifted = np.array([pose_shift(f, neutral, size) > MAX_POSE_SHIFT for f in faces])
    scores[shifted] = -np.inf
    return scores


def from_video(path: Path, config, size: int, *, frame: int | None, cls: str) -> Recording:
    """A clip frame (or the clip's best frame for `cls`) against the clip's calm neutral."""
    # with a frame given, the clip is tracked up to it (the neutral comes from those frames)
    limit = 0 if frame is None else max(frame + 1, 3 * NEUTRAL_POOL)
    indices, faces = track_clip(path, config, size, max_frames=limit)
    neutral = least_expressive_neutral(faces)
    if frame is None:
        if not cls:
            raise InputError(f"{path}: give a frame (video:CLIP:FRAME) or --class to search by")
        scores = rank_frames(faces, neutral, cls, size)
        best = int(np.argmax(scores))
        extra = {"frame": int(indices[best]), "score": round(float(scores[best]), 4)}
    else:
        hits = np.flatnonzero(indices == frame)
        if not len(hits):
            raise InputError(f"{path}: frame {frame} has no usable face (or is past the end)")
        best, extra = int(hits[0]), {"frame": int(frame)}
    return Recording(neutral, faces[best], f"{path.name} frame {extra['frame']}", extra)


def from_stills(expression: Path, neutral: Path, config, size: int) -> Recording:
    """An expression still and a neutral still of the same person."""
    from reenact.imageio import load_image

    out = []
    with _tracker(config, static=True) as tracker:
        for path in (neutral, expression):
            lm = tracker.track_one(load_image(path))
            if lm is None:
                raise InputError(f"{path}: no face found")
            out.append(_aligned(lm, size))
    return Recording(out[0], out[1], f"{expression.name} (neutral {neutral.name})", {})


_NUMBERED = re.compile(r"^(\d+)_([a-z]+)\.(png|gif|jpg)$", re.IGNORECASE)


def numbered_pairs(
    folder: Path, condition: str, exclude: tuple[str, ...]
) -> list[tuple[str, Path, Path]]:
    """(subject, neutral still, condition still) for every subject not in `exclude`."""
    by_subject: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        m = _NUMBERED.match(path.name)
        if m:
            by_subject.setdefault(m.group(1), {})[m.group(2).lower()] = path
    pairs = [
        (s, f["normal"], f[condition])
        for s, f in sorted(by_subject.items())
        if s not in exclude and "normal" in f and condition in f
    ]
    if not pairs:
        raise InputError(f"{folder}: no NN_normal + NN_{condition} stills found")
    return pairs


def from_numbered(
    folder: Path, condition: str, config, size: int, *, exclude: tuple[str, ...], mirror=None
) -> Recording:
    """The mean deviation of `condition` over the subjects' pairs, on their mean neutral.

    mirror: `mirror(landmarks (478,3), size) -> landmarks` of the left-right mirrored face
    (`reenact.landmarks.flip.flip_landmarks`, passed in by the caller: training sits above fusion);
    with it, winks are mirrored so that the same eye closes in every pair before averaging."""
    neutrals, deviations, used = [], [], []
    for subject, neutral_path, expr_path in numbered_pairs(folder, condition, exclude):
        try:
            rec = from_stills(expr_path, neutral_path, config, size)
        except InputError as exc:
            log.warning("%s; subject %s left out", exc, subject)
            continue
        n, e = rec.neutral, rec.expression
        d = feature_deltas(e, n)
        if mirror and condition == "wink" and d["eye_right"] < d["eye_left"]:  # left eye closes
            n, e = mirror(n, size), mirror(e, size)
        neutrals.append(n)
        deviations.append(e - n)
        used.append(subject)
    if not used:
        raise InputError(f"{folder}: no {condition} pair had faces on both stills")
    neutral = np.mean(neutrals, axis=0).astype(np.float32)
    expression = neutral + np.mean(deviations, axis=0).astype(np.float32)
    source = f"stills {condition}, mean of subjects {','.join(used)}"
    return Recording(neutral, expression, source, {"subjects": used})


def from_camera(source, config, size: int, *, seconds: float, cls: str) -> Recording:
    """Calibrate the neutral on the first `calibration.neutral_frames` faces a live source gives,
    then keep the strongest frame of the next `seconds` (by class score, or total expression)."""
    import sys
    import time

    neutral_faces: list[np.ndarray] = []
    best, best_score, deadline = None, -np.inf, None
    wanted = max(1, config.calibration.neutral_frames)
    print(f"reenact: look neutral ({wanted} frames)...", file=sys.stderr)
    with _tracker(config, static=False) as tracker:
        while deadline is None or time.monotonic() < deadline:
            frame = source.read()
            if frame is None:
                break
            lm = tracker.track_one(frame.image)
            if lm is None:
                continue
            face = _aligned(lm, size)
            if len(neutral_faces) < wanted:
                neutral_faces.append(face)
                if len(neutral_faces) == wanted:
                    print(f"reenact: now hold the expression for {seconds:g} s", file=sys.stderr)
                    deadline = time.monotonic() + seconds
                continue
            neutral = np.median(neutral_faces, axis=0)
            deltas = feature_deltas(face, neutral)
            score = class_scores(deltas)[cls] if cls else _total_score(face, neutral)
            if score > best_score:
                best, best_score = face, score
    if best is None:
        raise InputError("camera: no face held after calibration; record again facing the camera")
    neutral = np.median(neutral_faces, axis=0).astype(np.float32)
    return Recording(neutral, best, "camera", {"score": round(float(best_score), 4)})
