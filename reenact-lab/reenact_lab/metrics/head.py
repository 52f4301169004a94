"""Head rotation from the 478-point mesh's own 3-D coordinates, and how an output follows it.

MediaPipe gives x, y in pixels and z (relative depth) in the same units as x, so the mesh is a
3-D shape up to the camera's perspective. `head_angles` fits, for each frame, the rotation that
best maps the rigid points of the series' first usable frame onto the frame's (Kabsch, after
removing centroid and scale) and reads roll / pitch / yaw from it (`cv2.RQDecomp3x3`), in degrees
relative to that first frame. Rigid points: forehead, nose bridge and tip, eye corners, temples
(not the jaw, lids, brows or lips, which move with the expression).

`head_carried`: Pearson r of actor vs output angle series per axis, mean over the axes the actor
moves by more than MIN_ANGLE_STD degrees.
Pearson r needs no consecutive frames: evenly spaced frames of a long clip estimate it.
`head_step_excess`: the output's largest frame-to-frame step minus the actor's (degrees), which
does need consecutive frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact_lab.metrics.series import nanmean, pearson_r

RIGID = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 362, 263, 127, 356, 234, 454)
AXES = ("roll", "pitch", "yaw")
MIN_ANGLE_STD = 1.0  # degrees


def _normalised(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    return centred / max(float(np.sqrt((centred**2).sum(axis=1).mean())), 1e-9)


def rotation_between(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The (3,3) rotation R with R @ ref_i ~ cur_i (both (N,3), centred and scaled here)."""
    ref, cur = _normalised(reference), _normalised(current)
    u, _, vt = np.linalg.svd(cur.T @ ref)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def head_angles(landmarks) -> np.ndarray:
    """(T, 478, 3) pixels (x, y, z; NaN rows for missing faces) -> (T, 3) degrees
    (roll, pitch, yaw) relative to the first frame with a face; NaN rows where none."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (478, 3):
        raise ValueError(f"head_angles: landmarks must be (T, 478, 3), got {points.shape}")
    rigid = points[:, RIGID, :]
    found = np.isfinite(rigid).all(axis=(1, 2))
    out = np.full((len(points), 3), np.nan)
    if not found.any():
        return out
    reference = rigid[int(np.argmax(found))]
    for t in np.flatnonzero(found):
        angles = cv2.RQDecomp3x3(rotation_between(reference, rigid[t]))[0]  # (x, y, z) deg
        out[t] = (angles[2], angles[0], angles[1])
    return out


def head_carried(actor, output) -> dict:
    """actor, output: (T, 478, 3) full-frame landmarks of the same frames.
    {"r": mean over moving axes, "roll", "pitch", "yaw"} (NaN where the actor kept still)."""
    a, o = head_angles(actor), head_angles(output)
    axes = {
        name: pearson_r(a[:, i], o[:, i], min_actor_std=MIN_ANGLE_STD)
        for i, name in enumerate(AXES)
    }
    return {"r": nanmean(axes.values()), **axes}


def largest_step(landmarks, frames) -> float:
    """The largest frame-to-frame head angle change, degrees: max over roll / pitch / yaw of
    |angle[t+1] - angle[t]|, over the pairs of *consecutive* frames (frame indices differing by
    one, both with a face). landmarks: (T,478,3) pixels, NaN rows where no face; frames: (T,)
    ascending frame indices. NaN when there is no such pair. Needs consecutive frames: a step
    over a gap would add the motion of the frames in between."""
    angles = head_angles(landmarks)
    index = np.asarray(frames)
    pairs = np.flatnonzero(np.diff(index) == 1)
    steps = np.abs(angles[pairs + 1] - angles[pairs])
    steps = steps[np.isfinite(steps).all(axis=1)]
    return float(steps.max()) if len(steps) else float("nan")


def head_step_excess(actor, output, frames) -> float:
    """How much larger the output's largest frame-to-frame head step is than the actor's,
    degrees (`largest_step` of each, over the same consecutive frames: pairs where either face
    is missing count for neither). actor, output: (T,478,3) frame pixels of the same frames,
    tracked the same way (the noise of the tracker is then in both); frames: (T,) indices.
    <= 0: the output's head never jumps more than the actor's; NaN: no consecutive pair."""
    a = np.array(actor, dtype=np.float64)
    o = np.array(output, dtype=np.float64)
    missing = ~(np.isfinite(a).all(axis=(1, 2)) & np.isfinite(o).all(axis=(1, 2)))
    a[missing] = np.nan
    o[missing] = np.nan
    return largest_step(o, frames) - largest_step(a, frames)
