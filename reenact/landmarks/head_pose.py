"""Head pose from the face mesh: rigid 3-D fits, Euler angles, gaze and eye openness.

Coordinates are MediaPipe's: x to the image right, y down, z away from the camera, all in the
same pixels (a right-handed frame). Angles are in degrees: pitch about x (positive = the face
tilts down, the nose moves down), yaw about y (positive = the nose moves towards the image
left), roll about z (positive = clockwise in the image, the image-right eye goes down).

`RigidReference(reference).fit(current)` finds the similarity (scale s, rotation R, translation
t) with current ~ s R reference + t over points of the mesh that move little with expression
(forehead, nose bridge, eye corners, cheekbones, temples); `euler_deg(R)` splits R into the three
angles.
`gaze(landmarks)` is each iris's place in its eye opening and `eye_openness(landmarks)` each
eye's lid gap, both in eye widths.
"""

from __future__ import annotations

import math

import numpy as np

from reenact.landmarks.regions import REGIONS

# Points that keep their place on the skull whatever the expression (no jaw, lips or brows).
RIGID_POINTS = np.array(
    [
        10,
        151,
        9,
        8,
        168,
        6,
        197,
        195,
        5,
        4,  # forehead, nose bridge and tip
        33,
        133,
        362,
        263,  # eye corners
        234,
        454,
        93,
        323,
        127,
        356,
        116,
        345,
        123,
        352,  # cheekbones
        21,
        251,
        54,
        284,
        103,
        332,
        67,
        297,
        109,
        338,  # temples, upper forehead
    ],
    dtype=np.int64,
)

EYE_RINGS = (REGIONS["right_eye"], REGIONS["left_eye"])  # image-left eye first; corners 0, 8
IRIS_CENTRES = (REGIONS["right_iris"][0], REGIONS["left_iris"][0])
UPPER_LIDS = tuple(ring[1:8] for ring in EYE_RINGS)
LOWER_LIDS = tuple(ring[15:8:-1] for ring in EYE_RINGS)


class RigidReference:
    """The reference side of a rigid fit, worked out once for a face fitted to many others (the
    actor's neutral, every frame): `fit(current)` is the similarity (s, R, t) mapping the
    reference onto `current` over `points` (least squares, Umeyama), and `undo(face)` gives
    `undo_pose(face, reference)` bit for bit.

    reference: (478,3) pixels, or (478,2) for a fit in the image plane.
    """

    def __init__(self, reference: np.ndarray, points: np.ndarray = RIGID_POINTS) -> None:
        self.points = points
        # the points alone to float64: the same values as converting the whole mesh first
        a = np.asarray(np.asarray(reference)[points, :3], np.float64)
        self.dims = a.shape[1]
        self.centre = a.mean(axis=0)
        self.centred = a - self.centre
        self.spread = max((self.centred * self.centred).sum(), 1e-12)

    def fit(self, current: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(s, R (D,D), t (D,)) with current[points] ~ s * reference[points] @ R.T + t (least
        squares, Umeyama), D = 3 or 2; R is a proper rotation (det +1)."""
        b = np.asarray(np.asarray(current)[self.points, :3], np.float64)
        cb = b.mean(axis=0)
        b0 = b - cb
        u, sig, vt = np.linalg.svd(b0.T @ self.centred)
        d = np.sign(np.linalg.det(u @ vt)) or 1.0
        fix = np.diag([1.0] * (self.dims - 1) + [d])
        rotation = u @ fix @ vt
        scale = float((sig * np.diag(fix)).sum() / self.spread)
        return scale, rotation, cb - scale * rotation @ self.centre

    def undo(self, face: np.ndarray) -> tuple[np.ndarray, tuple]:
        """(478,3) `face` with its rigid motion relative to the reference undone, float64, and
        the fit (s, R, t) that puts it back (`redo_pose`)."""
        s, rotation, t = self.fit(face)
        return ((np.asarray(face, np.float64) - t) @ rotation) / s, (s, rotation, t)


def undo_pose(face: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, tuple]:
    """(478,3) `face` with its rigid motion relative to `reference` undone (`RigidReference.fit`
    on the rigid points), float64, and the fit (s, R, t) that puts it back (`redo_pose`)."""
    return RigidReference(reference).undo(face)


def redo_pose(face: np.ndarray, fit: tuple) -> np.ndarray:
    """The inverse of `undo_pose`: (478,3) float64 `face` moved by its fit (s, R, t)."""
    s, rotation, t = fit
    return s * np.asarray(face, np.float64) @ rotation.T + t


def rotation_matrix(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """(3,3) float64 rotation R = Rz(roll) Ry(yaw) Rx(pitch), angles in degrees."""
    p, y, r = (math.radians(v) for v in (pitch, yaw, roll))
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def euler_deg(rotation: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in degrees of R = Rz(roll) Ry(yaw) Rx(pitch) (the inverse of
    `rotation_matrix`, for |yaw| < 90)."""
    r = np.asarray(rotation, np.float64)
    yaw = math.asin(float(np.clip(-r[2, 0], -1.0, 1.0)))
    pitch = math.atan2(r[2, 1], r[2, 2])
    roll = math.atan2(r[1, 0], r[0, 0])
    return math.degrees(pitch), math.degrees(yaw), math.degrees(roll)


def rotate_mesh(landmarks: np.ndarray, rotation: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(N,3) points turned by `rotation` (3,3) about `centre` (3,); a new float32 array."""
    lm = np.asarray(landmarks, np.float64)
    c = np.asarray(centre, np.float64)
    return ((lm - c) @ np.asarray(rotation).T + c).astype(np.float32)


def eye_corners(eye: int) -> tuple[int, int]:
    """The (image-left, image-right) corner indices of eye 0 (image-left eye) or 1."""
    ring = EYE_RINGS[eye]
    return (int(ring[0]), int(ring[8])) if eye == 0 else (int(ring[8]), int(ring[0]))


def _eye_frame(xy: np.ndarray, eye: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(corners' midpoint (2,), unit axis from the image-left to the image-right corner (2,),
    eye width)."""
    left, right = eye_corners(eye)
    c0, c1 = xy[left, :2], xy[right, :2]
    width = float(np.hypot(*(c1 - c0)))
    axis = (c1 - c0) / max(width, 1e-6)
    return 0.5 * (c0 + c1), axis, width


def _iris_place(xy: np.ndarray, eye: int, frame: tuple) -> tuple[float, float]:
    """`gaze`'s (along, across) of one eye, from its `_eye_frame`."""
    mid, axis, width = frame
    normal = np.array([-axis[1], axis[0]])
    rel = xy[IRIS_CENTRES[eye], :2] - mid
    return rel @ axis / max(width, 1e-6), rel @ normal / max(width, 1e-6)


def _lid_gap(xy: np.ndarray, eye: int, frame: tuple) -> float:
    """`eye_openness` of one eye, from its `_eye_frame`."""
    _, axis, width = frame
    normal = np.array([-axis[1], axis[0]])
    gap = (xy[LOWER_LIDS[eye], :2] - xy[UPPER_LIDS[eye], :2]) @ normal
    return float(np.clip(gap, 0.0, None).mean()) / max(width, 1e-6)


def gaze(landmarks: np.ndarray) -> np.ndarray:
    """(2,2) float64: per eye (image-left first), the iris centre's place in the eye opening,
    (along the axis from the image-left to the image-right corner, across it), relative to the
    corners' midpoint, in eye widths; positive = towards the image right / down."""
    xy = np.asarray(landmarks, np.float64)
    out = np.zeros((2, 2))
    for eye in (0, 1):
        out[eye] = _iris_place(xy, eye, _eye_frame(xy, eye))
    return out


def eye_openness(landmarks: np.ndarray) -> np.ndarray:
    """(2,) float64: per eye (image-left first), the mean lid gap over 7 point pairs in eye
    widths (>= 0; about 0.25-0.35 open, < 0.08 closed)."""
    xy = np.asarray(landmarks, np.float64)
    out = np.zeros(2)
    for eye in (0, 1):
        out[eye] = _lid_gap(xy, eye, _eye_frame(xy, eye))
    return out


def gaze_and_openness(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(`gaze`, `eye_openness`) of one face, bit for bit, each eye's corners read once."""
    xy = np.asarray(landmarks, np.float64)
    place, opening = np.zeros((2, 2)), np.zeros(2)
    for eye in (0, 1):
        frame = _eye_frame(xy, eye)
        place[eye] = _iris_place(xy, eye, frame)
        opening[eye] = _lid_gap(xy, eye, frame)
    return place, opening
