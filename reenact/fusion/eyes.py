"""The actor's gaze and eye openness carried onto the fused landmarks, whatever the fuser.

A fuser moves the target's points by the actor's deviation; for the eyes that is not enough: an
iris moves inside its eye by the eye's own size, and a blink must close the target's eye whether
it is twice or half the actor's. `EyeTransfer.apply` therefore rewrites, after fusion:

- **openness** (`openness=True`): each eye's lid gap is the target's neutral gap times the
  actor's openness relative to the actor's neutral, remapped so that the actor's tracked closed
  eye (about a quarter of its neutral gap; MediaPipe rarely brings the lids together) is a
  closed eye, and opened wider than neutral by `wide_gain` times as much (a tracked wide-open
  eye is only a little wider than neutral). The upper lid moves; the lower lid stays as fused.
  A closing is a share of the target's gap (a blink shuts any eye), but a widening is the
  actor's lid rise in eye widths, the same rise on the target: the openness over 1 is scaled
  by the actor's typical open gap over the target's neutral one (eye widths; the target's read
  as at least `MIN_WIDE_GAP`). As a share of the gap, a hooded or downcast actor's small lift
  was carried onto an open-eyed target many times over, and the target stared while the actor
  looked down; in eye widths, a narrow-eyed target widens with the actor's lift rather than by
  its own small gap.
- **the actor's open eye** (`adapt_frames`): the neutral is calibrated in the first second or two,
  and an actor who laughs or squints then has every later, ordinary open eye read as wide open:
  the target stares, its irises ringed with white, for the whole session (and an actor calibrated
  wide-eyed has the target's eyes droop). So the openness is read against the actor's *typical*
  open eye: per eye, of the first `adapt_frames` frames' gaps, those at least `OPEN_SHARE` of the
  window's wide end (its `OPEN_TOP`th percentile: blinks, squeezes and the narrowed eyes of a
  laugh left out, however many of them), and of those the `TYPICAL_PERCENTILE`th percentile (a
  little above the median: a half-narrowed eye is more common than a stare), once `MIN_SEEN` of
  them are in (half a second at 30 fps). Within `KEEP_WITHIN` of the neutral's gap that is the
  neutral's gap itself (a neutral taken with ordinary eyes stays exactly as it was); further off
  it is followed, shrunk towards the neutral's as the non-negative garrote does (nearly whole far
  out), at `ADAPT_RATE` a frame (a third of a second's lag). Once the window is full it is held,
  as the neutral is: a later, lasting change of the actor's eyes is carried, not absorbed. The
  window starts with the first frame (the neutral's refinement during calibration does not restart
  it); a new calibration or a new actor starts it again (`forget_open_eye`). adapt_frames 0 reads
  the calibrated neutral's gap throughout.
- **the two eyes together** (`linked=True`): a person opens and closes both eyes at once; what
  differs between the two readings is mostly the tracker, not the face. An eye looked at from the
  side, or half-lidded by a look down, is read far smaller than its twin, and every later glance
  up read it as many times its neutral, so the target stared with that eye and winked with it by
  turns. So each eye's openness (relative to what it is read against) is replaced by the two eyes'
  weighted mean: an eye whose typical open gap is under `TRUST_FROM` of its twin's counts for
  nothing, over `TRUST_FULL` fully; but in a head turned from the camera (the calibrated neutral's
  yaw past `NEAR_FROM` degrees, fully at `NEAR_FULL`) the near eye counts fully whatever its gap:
  the far eye's width is foreshortened and its gap reads the larger, while the near eye is the
  better seen. A wink is kept: with both eyes trusted, one reading shut (under `WINK_SHUT`) while
  the other is open (over `WINK_OPEN`), each eye keeps its own reading, even a wink of a third of
  a second. `linked=False` reads each eye on its own.
- **gaze** (`gaze=True`): the actor's iris position inside the eye opening, relative to the
  actor's neutral, in eye widths (both axes; the two eyes averaged, each weighted by how open it
  is), times `gaze_gain` (a rendered iris, re-tracked, shows only part of an asked offset:
  about 0.36 of it through the warp and the generator at gain 1, 0.52 at the default 1.5; see
  `eyes.gaze_gain`), the vertical part times `gaze_vertical` as well (the lids hide much of
  an up or down look; `eyes.gaze_vertical`), put on the target's eyes scaled by the target's eye
  width; held while the eyes close (a closing lid drags the tracked iris with it). The iris
  ring moves rigidly with its centre.
  Two eyes look together, so when their changes disagree by more than `AGREE_WITHIN` (eye
  widths, along / across) one of them is misread: a glasses rim over an eye, or the far eye of
  a turned head, read as a look up that the other eye does not share. From twice that on, that
  axis takes the smaller of the two changes (none when they point opposite ways) instead of
  their mean, so the target does not roll its eyes on one eye's word; in between, a blend. A
  closing eye is left out of that as it is out of the mean (a wink is not a disagreement).
  With `gaze=False` the irises keep the target's neutral place in the eye.
- **lids follow the gaze** (`lid_follow`, 0 to 1): both lids of an open eye move up or down by
  `lid_follow` times the iris's vertical move (most in the middle of the lid, none at the
  corners), as a person's lids ride with the eyeball; the gap between them stays what the
  openness says. Without it, a look up pushes the iris under a still upper lid: on a
  narrow-eyed target little of the move stays visible. A shut eye's lids stay where they shut.

All in aligned-crop pixels: (478,3) float32 in, (478,3) float32 out (a new array).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reenact.fusion.memo import NeutralMemo
from reenact.landmarks.head_pose import (
    IRIS_CENTRES,
    LOWER_LIDS,
    UPPER_LIDS,
    eye_corners,
    eye_openness,
    gaze,
    gaze_and_openness,
)
from reenact.landmarks.regions import REGIONS
from reenact.landmarks.tracker import head_yaw_deg
from reenact.ramps import smoothstep

_IRISES = (REGIONS["right_iris"], REGIONS["left_iris"])
CLOSED_BELOW = 0.3  # actor openness (x its neutral) at or below which the target's eye is shut
HOLD_BELOW = 0.45  # gaze is held while an eye is less open than this (x its neutral) ...
HOLD_RAMP = 0.25  # ... and followed fully from HOLD_BELOW + HOLD_RAMP on
# (along, across) eye widths: the two eyes' gaze changes further apart than this are in doubt
# (frontal clips stay within about 0.05 across; a turned head's far eye reads glances larger
# along, so that axis allows more)
AGREE_WITHIN = np.array([0.15, 0.06])
OPEN_SHARE = 0.6  # a lid gap below this share of the window's wide end: not an open eye
OPEN_TOP = 90  # the window's wide end: this percentile of its gaps
MIN_SEEN = 15  # open-eye frames (per eye) before the typical open eye leaves the neutral's
ADAPT_RATE = 0.1  # share of the way to the window's percentile moved each frame
TYPICAL_PERCENTILE = 60  # the typical open eye: this percentile of the window's open-eye gaps
KEEP_WITHIN = 0.15  # a typical open eye within this share of the neutral's gap: the neutral's
TRUST_FROM = 0.4  # an eye whose typical open gap is under this share of its twin's: not read
TRUST_FULL = 0.7  # ... and from this share on, read fully (linked eyes)
NEAR_FROM, NEAR_FULL = 10.0, 20.0  # degrees of the neutral's head turn: the near eye trusted
WINK_SHUT = 0.35  # linked eyes: one eye under this (x what it is read against) ...
WINK_OPEN = 0.75  # ... while the other is over this: a wink, each eye on its own
WINK_RAMP = 0.15  # both thresholds are ramps this wide


# a target eye's neutral gap (eye widths) is read as at least this when a widening is carried in
# eye widths: a nearly shut neutral eye is not opened many times its gap by a small lid rise
MIN_WIDE_GAP = 0.1


@dataclass(frozen=True)
class _TargetEyes:
    """What `EyeTransfer.apply` reads off the target's neutral, per eye (image-left first):
    its lid gaps (7,) pixels, widening gap (eye widths, at least MIN_WIDE_GAP), iris place
    (`gaze`), eye width (pixels) and iris ring around its centre (5,2) pixels."""

    gaps: tuple[np.ndarray, ...]
    wide: np.ndarray
    place: np.ndarray
    widths: tuple[float, ...]
    rings: tuple[np.ndarray, ...]


def _target_eyes(target: np.ndarray) -> _TargetEyes:
    widths, gaps, rings = [], [], []
    for eye in (0, 1):
        upper, lower = UPPER_LIDS[eye], LOWER_LIDS[eye]
        gaps.append(np.clip(target[lower, 1] - target[upper, 1], 0.0, None))
        left, right = eye_corners(eye)
        widths.append(max(float(np.hypot(*(target[right, :2] - target[left, :2]))), 1e-6))
        rings.append(target[_IRISES[eye], :2] - target[IRIS_CENTRES[eye], :2])
    wide = np.maximum(eye_openness(target), MIN_WIDE_GAP)
    return _TargetEyes(tuple(gaps), wide, gaze(target), tuple(widths), tuple(rings))


def _rank(ordered: np.ndarray, percent: float) -> float:
    """The `percent`th percentile of ascending, finite `ordered` (linear between ranks, as
    np.percentile; a few microseconds, without np.percentile's overhead)."""
    at = (len(ordered) - 1) * percent / 100.0
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (at - low) * (ordered[high] - ordered[low]))


def openness_curve(ratio: float, *, wide_gain: float = 1.5, max_ratio: float = 1.8) -> float:
    """The target's openness (x its neutral) for the actor's (x its neutral): 0 at or below
    CLOSED_BELOW, linear to 1 at 1, then 1 + wide_gain (ratio - 1), capped at max_ratio."""
    if ratio >= 1.0:
        return min(1.0 + wide_gain * (ratio - 1.0), max_ratio)
    return max((ratio - CLOSED_BELOW) / (1.0 - CLOSED_BELOW), 0.0)


def eye_trust(typical: np.ndarray, yaw: float = 0.0) -> np.ndarray:
    """(2,) in 0-1: how far each eye's reading is trusted next to its twin's, from the (2,)
    typical open gaps (0 under TRUST_FROM of the twin's, 1 from TRUST_FULL); the near eye of a
    head turned `yaw` degrees (`head_yaw_deg`: positive = the face points image-right, and its
    image-left eye, 0, is the nearer) is trusted from NEAR_FROM to NEAR_FULL whatever its gap."""
    typical = np.asarray(typical, np.float64)
    trust = smoothstep(
        (typical / max(float(typical.max()), 1e-9) - TRUST_FROM) / (TRUST_FULL - TRUST_FROM)
    )
    near = 0 if yaw > 0 else 1
    trust[near] = max(
        float(trust[near]), float(smoothstep((abs(yaw) - NEAR_FROM) / (NEAR_FULL - NEAR_FROM)))
    )
    return trust


def linked_openness(
    ratio: np.ndarray, typical: np.ndarray, yaw: float = 0.0, *, trust: np.ndarray | None = None
) -> np.ndarray:
    """(2,) the two eyes' openness `ratio` (each x what it is read against) made one: their
    mean, each weighted by how far it is trusted (`eye_trust` of the (2,) `typical` open gaps
    and the actor's neutral head turn `yaw`, unless the caller has it as `trust`), except in a
    wink (WINK_SHUT, WINK_OPEN, both eyes trusted), where each keeps its own."""
    ratio = np.asarray(ratio, np.float64)
    trust = eye_trust(typical, yaw) if trust is None else trust
    mean = float((trust * ratio).sum() / max(float(trust.sum()), 1e-9))
    wink = (
        smoothstep((ratio.max() - WINK_OPEN) / WINK_RAMP)
        * smoothstep((WINK_SHUT - ratio.min()) / WINK_RAMP)
        * float(trust.min())
    )
    return mean + wink * (ratio - mean)


def agreed_gaze(change: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(2,) one gaze change from the two eyes' (2,2) changes (eye, [along, across]), weighted
    by `weight` (2,) in 0-1 (how open each eye is): their weighted mean where they agree, the
    smaller of the two per axis (0 when their signs differ) where they disagree by twice
    AGREE_WITHIN or more, a blend in between; doubt counts only as far as both eyes are open."""
    change = np.asarray(change, np.float64)
    mean = (change * weight[:, None]).sum(axis=0) / max(float(weight.sum()), 1e-9)
    a, b = change
    smaller = np.where(np.sign(a) == np.sign(b), np.where(np.abs(a) <= np.abs(b), a, b), 0.0)
    doubt = np.clip(np.abs(a - b) / AGREE_WITHIN - 1.0, 0.0, 1.0) * float(weight.min())
    return mean + doubt * (smaller - mean)


class EyeTransfer:
    """Rewrites the fused eyes from the actor's gaze and openness (see the module docstring).

    gaze, openness: which of the two to carry (either may be switched live).
    gaze_gain: the actor's iris offset is multiplied by this (>= 0; settable live).
    gaze_vertical: its vertical part by this as well (>= 0; settable live).
    gaze_limit: (along, across) the largest iris offset from the target's neutral, in eye widths
    (after the gain).
    lid_follow: the lids' share of the iris's vertical move (0 to 1; settable live).
    wide_gain: how much wider than neutral a wider-than-neutral eye opens (`openness_curve`).
    adapt_frames: the window of the actor's typical open eye (module docstring; 0 = the
    calibrated neutral's gap throughout).
    linked: the two eyes open and close together, but for a wink (settable live).
    """

    def __init__(
        self,
        *,
        gaze: bool = True,
        openness: bool = True,
        gaze_gain: float = 1.0,
        gaze_vertical: float = 1.0,
        gaze_limit: tuple[float, float] = (0.2, 0.16),
        lid_follow: float = 0.0,
        wide_gain: float = 1.5,
        adapt_frames: int = 0,
        linked: bool = False,
    ) -> None:
        self.gaze = bool(gaze)
        self.linked = bool(linked)
        self.openness = bool(openness)
        self.gaze_gain = float(gaze_gain)
        self.gaze_vertical = float(gaze_vertical)
        self.gaze_limit = np.asarray(gaze_limit, np.float64)
        self.lid_follow = float(lid_follow)
        self.wide_gain = float(wide_gain)
        self._held = np.zeros(2)
        self._neutral_key: bytes | None = None
        self._neutral = (np.zeros((2, 2)), np.ones(2))
        self._yaw = 0.0  # the actor's neutral head turn (degrees)
        self.adapt_frames = int(adapt_frames)
        self._seen = np.empty((max(self.adapt_frames, 1), 2))  # the window's lid gaps ...
        self._next = 0  # ... in its first _next rows
        self._typical = np.ones(2)  # set from the neutral on first use
        self._target = NeutralMemo(_target_eyes)  # read once per target neutral

    def reset(self) -> None:
        """Forget the held gaze (a new neutral, or the face was lost)."""
        self._held = np.zeros(2)

    def _source_neutral(self, source_neutral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = np.asarray(source_neutral, np.float32).tobytes()
        if key != self._neutral_key:
            self._neutral = (gaze(source_neutral), np.maximum(eye_openness(source_neutral), 1e-3))
            self._yaw = head_yaw_deg(source_neutral) if np.shape(source_neutral)[-1] >= 3 else 0.0
            self._neutral_key = key
            self.reset()
        return self._neutral

    def forget_open_eye(self) -> None:
        """Start the typical open eye again (a new actor, or a new calibration)."""
        self._next = 0

    def _typical_open(self, openness: np.ndarray, neutral: np.ndarray) -> np.ndarray:
        """Add this frame's (2,) lid gaps to the window and return the typical open eye: the
        (2,) `neutral` gaps for an eye with fewer than MIN_SEEN open frames in the window."""
        if self.adapt_frames <= 0:
            self._typical = np.array(neutral, np.float64)
            return self._typical.copy()
        if self._next >= self.adapt_frames:  # the window is full: held
            return self._typical.copy()
        self._seen[self._next] = openness
        self._next += 1
        ordered = np.sort(self._seen[: self._next], axis=0)  # a NaN gap (none expected) last
        typical = self._typical.copy()
        for eye, count in enumerate(np.isfinite(ordered).sum(axis=0)):
            values = ordered[:count, eye]
            if count:  # open: at least OPEN_SHARE of the window's wide end
                values = values[np.searchsorted(values, OPEN_SHARE * _rank(values, OPEN_TOP)) :]
            if len(values) < MIN_SEEN:
                typical[eye] = neutral[eye]
            else:  # from the neutral's gap the first time (set on the frames before)
                off = _rank(values, TYPICAL_PERCENTILE) / max(float(neutral[eye]), 1e-6) - 1.0
                off *= max(1.0 - (KEEP_WITHIN / max(abs(off), 1e-9)) ** 2, 0.0)
                typical[eye] += ADAPT_RATE * (neutral[eye] * (1.0 + off) - typical[eye])
        self._typical = typical
        return typical.copy()

    def apply(
        self,
        fused: np.ndarray,
        source: np.ndarray,
        source_neutral: np.ndarray,
        target_neutral: np.ndarray,
    ) -> np.ndarray:
        """fused, source, source_neutral, target_neutral: (478,3) aligned-crop pixels (source
        and its neutral in the actor's pose-free frame when head motion is on)."""
        out = np.array(fused, np.float32, copy=True)
        gaze_n, open_n = self._source_neutral(source_neutral)
        target = self._target(target_neutral)
        place, openness = gaze_and_openness(source)
        typical = self._typical_open(openness, open_n)
        ratio = openness / np.maximum(typical, 1e-3)
        trust = eye_trust(typical, self._yaw) if self.linked else None
        lids = ratio if trust is None else linked_openness(ratio, typical, trust=trust)
        if self.openness:
            # a widening is carried as the same lid rise in eye widths (module docstring)
            rise = self._seen_gaps(typical, trust) / target.wide
            for eye in (0, 1):
                self._set_openness(out, target.gaps[eye], eye, float(lids[eye]), float(rise[eye]))
        if self.gaze:
            change = self._gaze_change(place - gaze_n, ratio)
        else:
            change = np.zeros(2)
        for eye in (0, 1):
            if self.lid_follow > 0.0 and change[1] != 0.0:
                self._follow_lids(out, eye, float(change[1]), float(lids[eye]))
            self._place_iris(out, target, eye, change)
        return out

    @staticmethod
    def _seen_gaps(typical: np.ndarray, trust: np.ndarray | None) -> np.ndarray:
        """(2,) the actor's open-eye gap (eye widths) each target eye's widening is read in: the
        typical gap of the eye itself, or with linked eyes (their `eye_trust` given) the trusted
        eyes'."""
        if trust is None:
            return np.asarray(typical, np.float64)
        return np.full(2, float((trust * typical).sum() / max(float(trust.sum()), 1e-9)))

    def _set_openness(
        self, out: np.ndarray, target_gap: np.ndarray, eye: int, ratio: float, rise: float
    ) -> None:
        """The upper lid of `eye` set for the actor's openness `ratio` (x its typical open gap):
        closing as a share of the target's gap (`target_gap`, its lids' (7,) pixels); widening by
        `rise` (the actor's typical gap over the target's, eye widths) times as much, the same
        lid rise in eye widths."""
        upper, lower = UPPER_LIDS[eye], LOWER_LIDS[eye]
        if ratio > 1.0:
            ratio = 1.0 + (ratio - 1.0) * rise
        wanted = openness_curve(ratio, wide_gain=self.wide_gain) * target_gap
        out[upper, 1] = out[lower, 1] - wanted

    def _gaze_change(self, change: np.ndarray, ratio: np.ndarray) -> np.ndarray:
        """(2,) the actor's gaze change (eye widths), both eyes weighted by openness (and in
        doubt where they disagree: `agreed_gaze`), held while they close, times gaze_gain (the
        vertical part times gaze_vertical too), within gaze_limit."""
        weight = np.clip((ratio - HOLD_BELOW) / HOLD_RAMP, 0.0, 1.0)
        if weight.sum() > 1e-3:
            seen = agreed_gaze(change, weight)
            follow = float(min(weight.max(), 1.0))
            self._held = self._held + follow * (seen - self._held)
        gain = self.gaze_gain * np.array([1.0, self.gaze_vertical])
        return np.clip(gain * self._held, -self.gaze_limit, self.gaze_limit)

    def _follow_lids(self, out: np.ndarray, eye: int, across: float, ratio: float) -> None:
        """Move both lids of `eye` across the eye by lid_follow x `across` (eye widths), tapered
        to nothing at the corners, and by less as the eye shuts (none when shut)."""
        left, right = eye_corners(eye)
        f0, f1 = out[left, :2], out[right, :2]
        width = max(float(np.hypot(*(f1 - f0))), 1e-6)
        axis = (f1 - f0) / width
        normal = np.array([-axis[1], axis[0]], np.float32)
        shift = self.lid_follow * across * width * min(openness_curve(ratio), 1.0)
        upper, lower = UPPER_LIDS[eye], LOWER_LIDS[eye]  # pairs facing each other
        along = np.clip(((0.5 * (out[upper, :2] + out[lower, :2]) - f0) @ axis) / width, 0, 1)
        step = (shift * np.sin(np.pi * along))[:, None].astype(np.float32) * normal
        out[upper, :2] += step  # a pair moves together: its gap is kept
        out[lower, :2] += step

    @staticmethod
    def _place_iris(out: np.ndarray, target: _TargetEyes, eye: int, change: np.ndarray) -> None:
        """Put the iris at the target's neutral place in the fused eye, plus `change` (eye
        widths along / across the eye); the ring keeps its shape, scaled with the eye."""
        left, right = eye_corners(eye)
        f0, f1 = out[left, :2], out[right, :2]
        width_f = float(np.hypot(*(f1 - f0)))
        axis = (f1 - f0) / max(width_f, 1e-6)
        normal = np.array([-axis[1], axis[0]])
        place = target.place[eye] + change
        centre = 0.5 * (f0 + f1) + width_f * (place[0] * axis + place[1] * normal)
        scale = width_f / target.widths[eye]
        out[_IRISES[eye], :2] = centre + scale * target.rings[eye]
