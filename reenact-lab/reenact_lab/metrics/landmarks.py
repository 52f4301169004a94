"""Landmark measures of the papers (docs PAPERS.md): error, jitter, head motion and angles.

Pure functions on numpy arrays, no I/O and no state.

- Landmarks are MediaPipe face-mesh points `(478, 2)` or `(478, 3)` in pixels. Only x and y are
  used: MediaPipe's z is a relative depth, far noisier than x and y, and leaving it out lets
  2-D and 3-D sets be compared.
- Landmark distances are normalised by the inter-ocular distance (IOD): the distance between the
  two eye centres, each the mean of its two eye corners (33, 133 and 362, 263).
"""

from __future__ import annotations

import numpy as np

from reenact.errors import InputError
from reenact.landmarks import head_pose
from reenact.landmarks.head_pose import RigidReference, euler_deg
from reenact.landmarks.tracker import NUM_LANDMARKS

__all__ = [
    "rigid_fit",
    "head_angles",
    "eye_centres",
    "inter_ocular_distance",
    "landmark_error",
    "pose_free_error",
    "landmark_jitter",
    "head_motion",
    "stillest_stretch",
]

# MediaPipe face mesh indices.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
NOSE_TIP = 1
# points that expressions hardly move: forehead, nose bridge and tip, eye corners, temples
RIGID_POINTS = (
    10,
    151,
    9,
    8,
    168,
    6,
    197,
    195,
    5,
    4,
    1,
    33,
    133,
    362,
    263,
    127,
    356,
    234,
    454,
    21,
    251,
    162,
    389,
)


def rigid_fit(
    reference: np.ndarray, current: np.ndarray, points: np.ndarray = head_pose.RIGID_POINTS
) -> tuple[float, np.ndarray, np.ndarray]:
    """The similarity mapping `reference` onto `current` (least squares, Umeyama).

    reference, current: (478,3) pixels, or (478,2) for a fit in the image plane. Returns
    (s, R (D,D), t (D,)), D = 3 or 2, with current[points] ~ s * reference[points] @ R.T + t;
    R is a proper rotation (det +1). A reference fitted to many faces: `RigidReference`.
    """
    return RigidReference(reference, points).fit(current)


def head_angles(reference: np.ndarray, current: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) degrees of `current`'s head relative to `reference`'s, both (478,3)
    pixels of one image frame (image pixels, or crop pixels of one alignment)."""
    _, rotation, _ = rigid_fit(reference, current)
    return euler_deg(rotation)


def _check_landmarks(points: np.ndarray, name: str, sequence: bool = False) -> np.ndarray:
    """Return the x, y of (478, 2|3) landmarks (or (T, 478, 2|3) when `sequence`) as float64."""
    points = np.asarray(points)
    lead = 1 if sequence else 0
    expected = "(T, 478, 2|3)" if sequence else "(478, 2|3)"
    if (
        points.ndim != 2 + lead
        or points.shape[lead] != NUM_LANDMARKS
        or points.shape[lead + 1] not in (2, 3)
    ):
        raise InputError(f"{name}: landmarks must be {expected} points, got {points.shape}")
    return points[..., :2].astype(np.float64)


def eye_centres(landmarks: np.ndarray) -> np.ndarray:
    """Eye centres, each the mean of its two corners (33, 133) and (362, 263).

    Args:
        landmarks: (..., 478, 2|3) MediaPipe points in pixels.

    Returns:
        (..., 2, 2) float64: [right-eye (x, y), left-eye (x, y)] (the subject's right eye first).
    """
    points = np.asarray(landmarks, dtype=np.float64)[..., :2]
    right = points[..., RIGHT_EYE_CORNERS, :].mean(axis=-2)
    left = points[..., LEFT_EYE_CORNERS, :].mean(axis=-2)
    return np.stack([right, left], axis=-2)


def inter_ocular_distance(landmarks: np.ndarray) -> np.ndarray | float:
    """Distance between the eye centres, in pixels: float for (478, 2|3), (T,) for (T, 478, 2|3)."""
    centres = eye_centres(landmarks)
    iod = np.linalg.norm(centres[..., 1, :] - centres[..., 0, :], axis=-1)
    return float(iod) if iod.ndim == 0 else iod


def _positive_iod(landmarks: np.ndarray, name: str) -> np.ndarray | float:
    iod = inter_ocular_distance(landmarks)
    if np.any(~np.isfinite(iod)) or np.any(np.asarray(iod) <= 1e-6):
        raise InputError(f"{name}: eye centres coincide (inter-ocular distance 0); bad landmarks")
    return iod


def landmark_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean point-to-point distance between two landmark sets, in units of ref's IOD.

    Args:
        pred, ref: (478, 2|3) MediaPipe points in pixels of one image (x, y used).

    Returns:
        float >= 0: mean over the 478 points of ||pred - ref|| / IOD(ref). 0 for identical sets;
        a uniform shift of d pixels gives d / IOD(ref).
    """
    p = _check_landmarks(pred, "landmark_error")
    r = _check_landmarks(ref, "landmark_error")
    iod = _positive_iod(r, "landmark_error")
    return float(np.linalg.norm(p - r, axis=-1).mean() / iod)


def pose_free_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """`landmark_error` after moving pred onto ref by the least-squares similarity (rotation,
    scale, shift) of their `RIGID_POINTS`: the expression's error without the head's pose.

    A head turned, shifted or scaled by head motion (or a tracker's drift) costs nothing; a mouth
    or eyes in another shape still do. Args and return as `landmark_error`.
    """
    p = _check_landmarks(pred, "pose_free_error")[:, :2]
    r = _check_landmarks(ref, "pose_free_error")[:, :2]
    scale, rotation, shift = rigid_fit(p, r, points=np.asarray(RIGID_POINTS))
    moved = scale * np.asarray(p, np.float64) @ rotation.T + shift
    return landmark_error(moved, r)


def landmark_jitter(seq: np.ndarray) -> float:
    """Mean frame-to-frame landmark displacement, in units of inter-ocular distance.

    Measures all motion: on a still stretch (see `stillest_stretch`) it is the tracker's or the
    smoother's jitter.

    Args:
        seq: (T, 478, 2|3) MediaPipe points in pixels, T >= 2 (x, y used).

    Returns:
        float >= 0: mean over the T-1 pairs and 478 points of ||seq[t+1] - seq[t]||, each pair
        divided by the mean IOD of its two frames. 0 for a constant sequence.
    """
    points = _check_landmarks(seq, "landmark_jitter", sequence=True)
    if points.shape[0] < 2:
        raise InputError("landmark_jitter: needs at least 2 frames of landmarks")
    iod = _positive_iod(points, "landmark_jitter")
    pair_iod = 0.5 * (iod[1:] + iod[:-1])
    step = np.linalg.norm(np.diff(points, axis=0), axis=-1).mean(axis=1)  # (T-1,)
    return float((step / pair_iod).mean())


def head_motion(seq: np.ndarray) -> np.ndarray:
    """Per-pair head motion: mean displacement of the two eye centres and the nose tip, over IOD.

    These three points move with the head and hardly with the expression (brows, lids and mouth
    are left out), so they separate head motion from expression change.

    Args:
        seq: (T, 478, 2|3) MediaPipe points in pixels, T >= 2.

    Returns:
        (T-1,) float64 >= 0, entry t for the frames t -> t+1.
    """
    points = _check_landmarks(seq, "head_motion", sequence=True)
    if points.shape[0] < 2:
        raise InputError("head_motion: needs at least 2 frames of landmarks")
    iod = _positive_iod(points, "head_motion")
    anchors = np.concatenate([eye_centres(points), points[:, NOSE_TIP : NOSE_TIP + 1]], axis=1)
    step = np.linalg.norm(np.diff(anchors, axis=0), axis=-1).mean(axis=1)  # (T-1,)
    return step / (0.5 * (iod[1:] + iod[:-1]))


def stillest_stretch(seq: np.ndarray, length: int) -> tuple[int, int]:
    """The `length` consecutive frames with the least head motion (see `head_motion`).

    Args:
        seq: (T, 478, 2|3) MediaPipe points in pixels.
        length: frames in the stretch, 2 <= length <= T.

    Returns:
        (start, end), end exclusive: `seq[start:end]` is the stretch; the earliest on ties.
    """
    points = _check_landmarks(seq, "stillest_stretch", sequence=True)
    total = points.shape[0]
    if not 2 <= length <= total:
        raise InputError(f"stillest_stretch: length must be in [2, {total}] frames, got {length}")
    motion = head_motion(points)
    window = np.convolve(motion, np.ones(length - 1), mode="valid")  # (T-length+1,)
    start = int(np.argmin(window))
    return start, start + length
