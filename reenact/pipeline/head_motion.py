"""The actor's head motion relative to the calibrated neutral, bounded and smoothed.

`HeadMotion.observe(source, source_neutral, alignment, t_s)` splits the actor's aligned landmarks
into a rigid head motion and the expression:

- pitch, yaw and roll from a rigid 3-D fit of the actor's neutral onto the current landmarks
  (`reenact.landmarks.head_pose.RigidReference`, MediaPipe z); the expression is the current
  landmarks with that fit undone, so a turned head does not read as a distorted expression.
  The crop is levelled by the eye line, so the image's roll is the eye line's turn plus the
  fit's roll left in the crop (a 2-D eye line alone tilts with a nod of a turned head, and
  misses a roll about an axis that is not the camera's, so it follows the actor's 3-D roll
  poorly);
- shift and scale in the actor's image, from the frame's alignment (eye midpoint, and the 3-D
  fit's scale over the crop's scale, so that a turn does not read as a shrink); the eye line
  angle, eye midpoint and scale are relative to their median over the first `reference_frames`
  observed frames.

The face mesh reads an opening jaw as the head tilting back, so every syllable would nod the
head: `reenact.pipeline.jaw_pitch.JawPitch` learns that share of the pitch per actor and
takes it out (`jaw_decouple=True`; `head.jaw_decouple`).

Each quantity is then limited with a soft knee (linear to 70 % of its limit, then easing into
it, never beyond) and smoothed with a One Euro filter, so the head neither flies off nor wobbles;
no frame-to-frame step is larger than the actor's own step plus `CATCH_UP` (the One Euro filter
alone can overshoot a step while it catches up after a fast move).
Modes: "off" (nothing moves; the expression is still read with the pose undone), "rotate"
(pitch, yaw, roll), "full" (also shift and scale). `HeadPose.turn(fused,
turn_centre(neutral))` turns the fused mesh by pitch and yaw about a point behind the face
(`TURN_DEPTH`), so its eyes move as a turning head's do; in "full" the frame's shift is then
what the actor's eyes moved beyond that (`eyes_moved`); `HeadPose.frame_matrix(...)` is the
roll / shift / scale as a 2-D similarity of the target frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from reenact.errors import ConfigError
from reenact.landmarks.align import (
    CANONICAL_EYE_X,
    IMAGE_LEFT_EYE_CORNERS,
    IMAGE_RIGHT_EYE_CORNERS,
    Alignment,
    canonical_eye_centres,
    eye_centres,
)
from reenact.fusion.memo import NeutralMemo
from reenact.fusion.mouth_rest import inner_gap
from reenact.landmarks.head_pose import (
    RIGID_POINTS,
    RigidReference,
    euler_deg,
    rotate_mesh,
    rotation_matrix,
)
from reenact.landmarks.smoothing import OneEuroFilter
from reenact.pipeline.jaw_pitch import JawPitch
from reenact.ramps import smoothstep

HEAD_MODES = ("off", "rotate", "full")
# The face turns (pitch, yaw) about a point behind it: the rigid points' centre in x and y, and
# in depth this far from their centre's depth towards the depth of the outline beside the
# cheeks (0 = the rigid points' centre, near the eyes' depth; 1 = the outline's). A head turns
# about the neck, behind the face, so turned about the rigid points' own centre the outline
# swung into the hair beside it, while at 1 the interior slides so far that the near temple
# drags the hairline in.
TURN_DEPTH = 0.5
_EYE_CORNERS = [*IMAGE_LEFT_EYE_CORNERS, *IMAGE_RIGHT_EYE_CORNERS]  # as `eye_centres` reads them
# the outline beside the cheeks, left and right (MediaPipe face mesh)
OUTLINE_SIDES = np.array([234, 454, 93, 323, 127, 356, 132, 361], dtype=np.int64)
# the most the output may step beyond the actor's own step, per frame: pitch, yaw, roll (deg),
# shift x, y (IODs), log scale
CATCH_UP = np.array([0.5, 0.5, 0.5, 0.01, 0.01, 0.005])
# seconds over which a live switch of mode (the `m` key, the panel) eases the head from the pose
# it had to the new mode's: switched at once, the head jumped in one frame to where the actor's
# head is (off -> rotate / full) or back to the picture's (-> off), a snap on the stream
SWITCH_S = 0.4


def check_mode(mode: str) -> str:
    """`mode` if it is one of HEAD_MODES, else ConfigError naming head.motion."""
    if mode not in HEAD_MODES:
        raise ConfigError(f"head.motion: '{mode}' is not one of {', '.join(HEAD_MODES)}")
    return mode


def soft_limit(value: float, limit: float, knee: float = 0.7) -> float:
    """`value` unchanged up to knee * limit in size, then easing (tanh) towards +-limit."""
    k = knee * limit
    size = abs(value)
    if size <= k or limit <= 0:
        return value if limit > 0 else 0.0
    return math.copysign(k + (limit - k) * math.tanh((size - k) / (limit - k)), value)


@dataclass(frozen=True)
class HeadPose:
    """The output head's motion relative to the target's neutral.

    pitch, yaw, roll: degrees (see `reenact.landmarks.head_pose`); shift: (2,) image x, y in
    units of the face's inter-ocular distance; scale: size ratio (1 = neutral).
    """

    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0

    def turn(self, fused: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """fused (478,3) crop pixels turned by pitch and yaw about `centre` (3,): (478,3)."""
        if abs(self.pitch) < 1e-3 and abs(self.yaw) < 1e-3:
            return fused
        return rotate_mesh(fused, self.turning, centre)

    @cached_property
    def turning(self) -> np.ndarray:
        """(3,3) the rotation `turn` turns by (made once: J_gen and the drawing share it)."""
        return rotation_matrix(self.pitch, self.yaw, 0.0)

    def shifted(self, by: np.ndarray) -> HeadPose:
        """This pose with `by` (2,) image x, y in inter-ocular distances added to its shift."""
        return replace(self, shift=(self.shift[0] + float(by[0]), self.shift[1] + float(by[1])))

    def is_still(self) -> bool:
        """True when roll, shift and scale would move no pixel of the frame."""
        return (
            abs(self.roll) < 0.02
            and abs(self.shift[0]) < 1e-4
            and abs(self.shift[1]) < 1e-4
            and abs(self.scale - 1.0) < 1e-4
        )

    def frame_matrix(self, pivot: np.ndarray, iod: float) -> np.ndarray:
        """(2,3) float64 forward similarity of the target frame: roll and scale about `pivot`
        (2,) frame pixels, then the shift (times `iod`, the target's inter-ocular distance in
        frame pixels)."""
        a = math.radians(self.roll)
        rs = self.scale * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        p = np.asarray(pivot, np.float64)
        t = p - rs @ p + iod * np.asarray(self.shift, np.float64)
        return np.concatenate([rs, t[:, None]], axis=1)


def turn_centre(neutral: np.ndarray) -> np.ndarray:
    """(3,) the point the face in `neutral` (478,3 crop pixels) turns about (`TURN_DEPTH`)."""
    lm = np.asarray(neutral, np.float64)
    centre = lm[RIGID_POINTS, :3].mean(axis=0)
    centre[2] += TURN_DEPTH * (lm[OUTLINE_SIDES, 2].mean() - centre[2])
    return centre


def eyes_moved(before: np.ndarray, after: np.ndarray, alignment: Alignment) -> np.ndarray:
    """(2,) how far the eye midpoint moved from `before` to `after` ((478,2|3) crop pixels of
    the face `alignment` crops), in the image's x, y and the face's inter-ocular distances: the
    units of `HeadPose.shift`."""
    step = _eye_midpoint(after) - _eye_midpoint(before)
    axes = alignment.inverse[:, :2] * alignment.scale  # crop -> image axes, unscaled
    return axes @ step / _crop_iod(alignment.size)


def _eye_midpoint(landmarks: np.ndarray) -> np.ndarray:
    """`eye_centres(landmarks).mean(axis=0)` bit for bit (a mean of two adds them, then halves;
    the centres are float32), with four points read instead of the whole mesh's calls."""
    p = np.asarray(landmarks)[_EYE_CORNERS, :2]
    if p.dtype not in (np.float32, np.float64):
        return eye_centres(landmarks).mean(axis=0)
    centres = ((p[[0, 2]] + p[[1, 3]]) / 2).astype(np.float32)
    return (centres[0] + centres[1]) / 2


def _crop_iod(size: int) -> float:
    """The inter-ocular distance of every aligned crop of side `size`, in its pixels."""
    return (CANONICAL_EYE_X[1] - CANONICAL_EYE_X[0]) * size


def _image_pose(alignment: Alignment) -> np.ndarray:
    """(5,) the actor's eye line angle (deg), eye midpoint x, y (image px), crop scale (crop px
    per image px), inter-ocular distance (image px)."""
    m = alignment.matrix
    angle = -math.degrees(math.atan2(m[1, 0], m[0, 0]))
    mid = canonical_eye_centres(alignment.size).mean(axis=0)
    centre = alignment.inverse[:, :2] @ mid + alignment.inverse[:, 2]
    iod = _crop_iod(alignment.size) / alignment.scale
    return np.array([angle, centre[0], centre[1], alignment.scale, iod])


def _vector(pose: HeadPose) -> np.ndarray:
    """(6,) float64 pitch, yaw, roll (deg), shift x, y (IODs), log scale of a HeadPose."""
    return np.array([pose.pitch, pose.yaw, pose.roll, *pose.shift, math.log(pose.scale)])


def _pose(vector: np.ndarray) -> HeadPose:
    """The HeadPose of a (6,) `_vector`."""
    pitch, yaw, roll, dx, dy, log_scale = (float(v) for v in vector)
    return HeadPose(pitch, yaw, roll, (dx, dy), math.exp(log_scale))


class HeadMotion:
    """Follows the actor's head (see the module docstring).

    mode: off / rotate / full. max_turn_deg: pitch and yaw limit; max_roll_deg: roll limit;
    max_shift: shift limit in inter-ocular distances; max_scale: scale limit (1/x .. x).
    pitch_gain, yaw_gain: the actor's nod and turn times these, before the limit (a 2-D turn of
    the target shows only part of the angle it is given).
    min_cutoff, beta: the One Euro filter on the pose (Hz; per degree).
    reference_frames: frames whose median image pose is the neutral one.
    jaw_decouple: learn the jaw's share of the pitch and take it out (`JawPitch`).
    """

    def __init__(
        self,
        mode: str = "rotate",
        *,
        max_turn_deg: float = 18.0,
        max_roll_deg: float = 20.0,
        max_shift: float = 0.5,
        max_scale: float = 1.2,
        min_cutoff: float = 3.0,
        beta: float = 0.3,
        reference_frames: int = 10,
        pitch_gain: float = 1.0,
        yaw_gain: float = 1.0,
        jaw_decouple: bool = True,
    ) -> None:
        self.mode = check_mode(mode)
        self.jaw = JawPitch() if jaw_decouple else None
        # read off the actor's neutral once while it stays: the fits' reference, its lip gap
        self._rigid = NeutralMemo(RigidReference)
        self._neutral_gap = NeutralMemo(inner_gap)
        self.pitch_gain, self.yaw_gain = float(pitch_gain), float(yaw_gain)
        self.max_turn_deg, self.max_roll_deg = float(max_turn_deg), float(max_roll_deg)
        self.max_shift, self.max_scale = float(max_shift), float(max_scale)
        self.filter = OneEuroFilter(min_cutoff=min_cutoff, beta=beta, d_cutoff=1.0)
        self.reference_frames = max(1, int(reference_frames))
        self._seen: list[np.ndarray] = []
        self._reference: np.ndarray | None = None
        self._steps: tuple[np.ndarray, np.ndarray] | None = None  # last (limited, output)
        self.last: HeadPose = HeadPose()
        # a live mode switch easing: (the pose it started from as `_vector`, its start time or
        # None until the first frame after the switch)
        self._switch: tuple[np.ndarray, float | None] | None = None

    def switch(self, mode: str) -> None:
        """Change the mode live: the smoothing restarts and, over SWITCH_S from the next frame,
        the head eases from the pose it had to the new mode's (the reference pose is kept)."""
        self.mode = check_mode(mode)
        self.filter.reset()
        self._steps = None
        self._switch = (_vector(self.last), None)

    def reset(self) -> None:
        """A new neutral: take the reference image pose again, restart the smoothing."""
        self._seen, self._reference = [], None
        self.filter.reset()
        self._steps = None
        self._switch = None
        self.last = HeadPose()
        if self.jaw is not None:
            self.jaw.reset()

    def lost(self) -> None:
        """The face was lost: restart the smoothing (the reference stays)."""
        self.filter.reset()
        self._steps = None
        if self.jaw is not None:
            self.jaw.lost()

    def add_reference(self, alignment: Alignment | None) -> None:
        """One frame of the actor's neutral (while calibrating): its image pose joins the
        reference until `reference_frames` are in."""
        if alignment is not None and self._reference is None:
            self._image_motion(_image_pose(alignment), 1.0)

    def observe(
        self,
        source: np.ndarray,
        source_neutral: np.ndarray,
        alignment: Alignment | None,
        t_s: float,
        raw: np.ndarray | None = None,
    ) -> tuple[np.ndarray, HeadPose]:
        """source, source_neutral: (478,3) aligned-crop pixels; alignment: the frame's (None =
        unknown: no roll, shift or scale); raw: the frame's landmarks before the landmark
        filter (the pose then lags only by its own filter), else `source` is used. Returns
        (the expression: source with its own rigid motion undone, (478,3) float32; the
        bounded, smoothed HeadPose). In mode "off", (the expression, HeadPose()): the pose is
        undone all the same, or the fusion would carry it on as part of the expression and turn
        the target's inner face (unbounded, unsmoothed) within its still outline."""
        reference = self._rigid(source_neutral)
        undone, (s, rotation, _) = reference.undo(source)
        expression = undone.astype(np.float32)
        if self.mode == "off":
            self.last = self._eased(HeadPose(), t_s)
            return expression, self.last
        if raw is not None and raw is not source:  # the same array: that fit is made
            s, rotation, _ = reference.fit(raw)
        pitch, yaw, crop_roll = euler_deg(rotation)
        if self.jaw is not None:
            gap = inner_gap(source if raw is None else raw) - self._neutral_gap(source_neutral)
            pitch = self.jaw.correct(pitch, float(gap), t_s)
        raw = np.array([pitch * self.pitch_gain, yaw * self.yaw_gain, crop_roll, 0.0, 0.0, 0.0])
        if alignment is not None:
            # the 3-D roll in the image: the crop's eye-line turn plus the fit's roll in the crop
            # (R_image = Rz(eye line) R_crop; Rz on the left changes only the Euler roll)
            raw[2:] = self._image_motion(_image_pose(alignment), s)
            raw[2] += crop_roll
        raw = self._limit(raw)
        if self.mode == "rotate":
            raw[3:] = 0.0
        smooth = self._no_jumps(raw, self.filter.filter(raw, t_s))
        self.last = self._eased(_pose(smooth), t_s)
        return expression, self.last

    def _eased(self, pose: HeadPose, t_s: float) -> HeadPose:
        """`pose`, or while a mode switch eases (SWITCH_S from its first frame), the blend from
        the pose the head had then to `pose` (smoothstep: no step in speed at either end)."""
        if self._switch is None:
            return pose
        start_pose, start = self._switch
        if start is None:
            self._switch = (start_pose, t_s)
            start = t_s
        weight = float(smoothstep((t_s - start) / SWITCH_S))
        if not weight < 1.0:  # eased in (or a time that is not a number: no easing to do)
            self._switch = None
            return pose
        return _pose(start_pose + weight * (_vector(pose) - start_pose))

    def _no_jumps(self, raw: np.ndarray, smooth: np.ndarray) -> np.ndarray:
        """`smooth` with each step no larger than the raw step plus CATCH_UP."""
        if self._steps is not None:
            last_raw, last_out = self._steps
            room = np.abs(raw - last_raw) + CATCH_UP
            smooth = last_out + np.clip(smooth - last_out, -room, room)
        self._steps = (raw.copy(), np.array(smooth, np.float64))
        return smooth

    def _image_motion(self, pose: np.ndarray, fit_scale: float) -> np.ndarray:
        """(4,) roll (deg), shift x, y (neutral IODs), log scale, relative to the reference."""
        if self._reference is None:
            self._seen.append(pose)
            if len(self._seen) >= self.reference_frames:
                self._reference = np.median(np.stack(self._seen), axis=0)
            return np.zeros(4)
        ref = self._reference
        roll = (pose[0] - ref[0] + 180.0) % 360.0 - 180.0
        shift = (pose[1:3] - ref[1:3]) / max(ref[4], 1e-9)
        return np.array([roll, shift[0], shift[1], math.log(fit_scale * ref[3] / pose[3])])

    def _limit(self, raw: np.ndarray) -> np.ndarray:
        out = raw.copy()
        out[0] = soft_limit(raw[0], self.max_turn_deg)
        out[1] = soft_limit(raw[1], self.max_turn_deg)
        out[2] = soft_limit(raw[2], self.max_roll_deg)
        size = float(np.hypot(raw[3], raw[4]))
        if size > 1e-9:
            out[3:5] = raw[3:5] * soft_limit(size, self.max_shift) / size
        out[5] = soft_limit(raw[5], math.log(self.max_scale))
        return out
