"""Creases: the actor's own expression lines carried onto the target. A raised brow folds the
forehead, a frown lines the skin between the brows, a smile deepens the folds beside the nose
and mouth.

Why. A renderer that moves the target's pixels draws an expression's shape, not the folds that
come with it on a real face, and a viewer, like the eval's face tracker, reads an expression
from those folds as well (`reenact eval --stills`, read back: the warp puts the brows within
0.4 px of the asked landmarks, and they read 0.7 of the real stills' raise;
`reenact.render.boost` makes up for it by drawing the brows higher). The actor's frame has
the folds; this stage copies them.

How: the expression ratio image (Liu, Shan and Zhang, SIGGRAPH 2001). The actor's *reference*
is their least expressive calibration frame's aligned crop N (the frame nearest the
calibrated neutral). Per frame, in aligned crops of side S:

1. the frame's crop A is moved onto N's geometry, along the face mesh's field from N's
   landmarks to the frame's (`reenact.render.field`);
2. R = blur(A) / blur(N) in brightness, divided by its own blur at BAND. Lighting and shading
   that change with a turn of the head are broad; a crease is narrow. R is limited to LIMIT,
   anything within DEAD of 1 (sensor noise, compression) is taken as 1, a change deeper than
   a fold (OCCLUDER: a strand of hair across the forehead, a hand) or on a hard edge of the
   frame (FRAME_EDGE) or darker than skin in either picture (DARK: hair) is left out,
   lightening is damped (LIGHTER), and R is kept only where the skin creases
   (`crease_weight`): the forehead and between the brows, and the cheeks below the eyes.
   The eyes' band (where glasses sit), the lips and the skin just above them (a moustache),
   the face's outline (where hair, ears and the background meet it) are left out, and so is
   wherever N has a strong edge of its own (a glasses' rim, hair, the brows' outline: edges
   that do not follow the mesh exactly and would print as false lines);
3. R is moved from N's geometry onto the drawn face along the same mesh (N's landmarks to the
   drawn ones; both crops are aligned the same way) and multiplies the rendered crop's colours
   by 1 + strength (R - 1).

A frame the same as the reference gives R = 1: the render is left exactly as it is. Nothing is
carried before a reference is chosen.

`compose.creases` is 0 (off) by default: each rule above was added after it printed a false line
on a real clip (a moustache, a jaw's edge against the background, a fringe), and so made safe
the creases move `reenact eval`'s measures by about their noise (docs/experiments/2026-11-27-readme-eyes-and-head-motion.md).
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS
from reenact.ramps import smoothstep
from reenact.render.field import NUM_MESH, MeshField, face_field

GRID = 48  # field samples per side of the face box
ITERATIONS = 3  # Newton steps inverting the field onto the drawn face
SMOOTH = 1.0  # x S/256 px: the Gaussian both brightnesses are blurred by (finer is noise)
BAND = 6.0  # x S/256 px: R over its own blur at this scale keeps the creases, not the lighting
LIMIT = (0.65, 1.35)  # R is limited to this
DEAD = 0.02  # |R - 1| below this is noise: taken as 1 (and the rest moved towards 1 by it)
# a crease is a shadow; what a fold makes lighter (a cheek raised into the light) is the actor's
# lighting as much as their face, and printed whole it blotches the target: this share of it
LIGHTER = 0.3
EDGE = (8.0, 20.0)  # N's gradient (grey levels per px at 256) over which R fades out
# ... and the frame's own (moved onto N): a fold's edge is soft, a hair's or a rim's hard
FRAME_EDGE = (12.0, 30.0)
OCCLUDER = (0.15, 0.3)  # |R - 1| over which R fades out: deeper than a fold
# hair over the forehead (a fringe that moves with the head, not with the skin): where the frame
# or the reference is darker than this share of the reference's skin level, grown by DARK_GROW
# px at 256, nothing is carried (a fold darkens skin by a tenth or so)
DARK = 0.6
DARK_GROW = 4
REGION_FADE = 3.0  # x S/256 px: the Gaussian softening the crease regions' edges
EYE_BAND = 0.35  # the band left out runs from the brows' lower edge to this x IOD below the eyes
OVAL_SHRINK = 0.8  # the face's outline shrunk by this about its centre bounds the regions
LIP_GROW = 1.35  # the lips' outline grown by this about its centre is left out

_BROW_LOWER = {"right": [46, 53, 52, 65, 55], "left": [285, 295, 282, 283, 276]}
_NOSE_BASE = 2  # under the nose, above the upper lip's middle
_EYES = (REGIONS["right_eye"], REGIONS["left_eye"])
_LIPS = REGIONS["lips_outer"]
_OVAL = REGIONS["face_oval"]


def _grey(crop: np.ndarray) -> np.ndarray:
    """(S,S) uint8 brightness of an RGB crop."""
    return cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)


def crease_weight(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(S,S) float32 in [0, 1]: where a crease is carried, in the reference's geometry.

    reference: (S,S) float32 grey crop N; landmarks: (478,2|3) its crop pixels."""
    size = reference.shape[0]
    k = size / 256.0
    xy = np.asarray(landmarks, np.float32)[:, :2]
    regions = np.zeros((size, size), np.uint8)
    # inside the face's outline, shrunk: at the outline the face meets hair, ears and the
    # background, which do not follow the mesh (a jaw's edge printed as a line down the cheek)
    oval = xy[_OVAL]
    inner = oval.mean(0) + OVAL_SHRINK * (oval - oval.mean(0))
    cv2.fillPoly(
        regions, [np.round(inner * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4
    )
    eyes = np.concatenate([xy[list(e)] for e in _EYES])
    iod = float(np.linalg.norm(xy[list(_EYES[0])].mean(0) - xy[list(_EYES[1])].mean(0)))
    # the eyes' band: from the brows' lower edge (straight across between them: a glasses'
    # bridge sits lower) to EYE_BAND IOD below the eyes' lowest point, across the face
    upper = np.concatenate([xy[_BROW_LOWER["right"]], xy[_BROW_LOWER["left"]]])
    bottom = float(eyes[:, 1].max()) + EYE_BAND * iod
    band = np.concatenate(
        [
            [[0.0, upper[0, 1]]],
            upper,
            [[size - 1.0, upper[-1, 1]]],
            [[size - 1.0, bottom], [0.0, bottom]],
        ]
    )
    cv2.fillPoly(regions, [np.round(band * 16).astype(np.int32)], 0, lineType=cv2.LINE_AA, shift=4)
    # the lips grown, and up to the nose's base above them (where a moustache grows)
    lips = xy[list(_LIPS)]
    centre = lips.mean(0)
    grown = centre + LIP_GROW * (lips - centre)
    above = grown[:, 1] < centre[1]
    grown[above, 1] = np.minimum(grown[above, 1], xy[_NOSE_BASE, 1])
    cv2.fillPoly(
        regions,
        [np.round(cv2.convexHull(grown) * 16).astype(np.int32)],
        0,
        lineType=cv2.LINE_AA,
        shift=4,
    )
    weight = cv2.GaussianBlur(regions.astype(np.float32) / 255.0, (0, 0), REGION_FADE * k)
    smooth = cv2.GaussianBlur(reference, (0, 0), SMOOTH * k)
    return (weight * _flat(smooth, EDGE, k)).astype(np.float32)


def _flat(grey: np.ndarray, edge: tuple[float, float], k: float) -> np.ndarray:
    """(h,w) float32 in [0, 1]: 0 on and beside an edge of `grey` (already smoothed) steeper
    than edge[1] grey levels per pixel at 256, 1 where it is flatter than edge[0]."""
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    edges = cv2.dilate(np.hypot(gx, gy) * k, np.ones((3, 3), np.uint8))
    flat = 1.0 - smoothstep((edges - edge[0]) / (edge[1] - edge[0]))
    return cv2.GaussianBlur(flat.astype(np.float32), (0, 0), SMOOTH * k)


class Creases:
    """The actor's creases onto the rendered crop (module docstring).

    size: crop side S; strength: how much of R is applied (0 = none, 1 = as the actor's, up to
    2); frames: how many calibration frames the reference is picked from at least (the
    calibrator's window when calibrating, else this many first frames)."""

    def __init__(self, *, size: int, strength: float = 1.0, frames: int = 10) -> None:
        self.size = int(size)
        self.strength = float(strength)
        self.frames = max(1, int(frames))
        self._k = self.size / 256.0
        self.reset()

    @property
    def active(self) -> bool:
        return self.strength > 0.0

    @property
    def held(self) -> bool:
        """Whether the reference is chosen for good (until `reset`)."""
        return self._held

    @property
    def ready(self) -> bool:
        """Whether a reference has been chosen (before: nothing is carried)."""
        return self._pick is not None

    def reset(self) -> None:
        """Pick a reference again (the actor recalibrates)."""
        self._candidates: list[tuple[np.ndarray, np.ndarray]] = []
        self._held = False
        self._chosen = -1
        # the chosen candidate (grey crop, landmarks), and the one the reference's weight and
        # field were last worked out from (`_use`, ~12 ms at 256: done when a ratio is first
        # asked of a new pick, not per pick, so that calibrating with creases off costs nothing)
        self._pick: tuple[np.ndarray, np.ndarray] | None = None
        self._used: tuple[np.ndarray, np.ndarray] | None = None
        self._field: MeshField | None = None
        self._reference = self._weight = self._ref_xy = None

    def observe(
        self, crop: np.ndarray, landmarks: np.ndarray, neutral: np.ndarray | None, complete: bool
    ) -> None:
        """One tracked frame while the reference is not held: its aligned crop (S,S,3) uint8
        and landmarks (478,3) crop pixels; neutral: the calibrator's (None while it has none);
        complete: whether calibration is done. The reference is the candidate nearest the
        neutral, held once calibration is complete and `frames` candidates were seen."""
        if self._held:
            return
        self._candidates.append((_grey(crop), np.asarray(landmarks, np.float32).copy()))
        if neutral is None:
            return
        ref = np.asarray(neutral, np.float32)[:, :2]
        far = [float(np.linalg.norm(lm[:, :2] - ref, axis=1).mean()) for _, lm in self._candidates]
        best = int(np.argmin(far))
        if best != self._chosen:
            self._chosen = best
            self._pick = self._candidates[best]
        if complete and len(self._candidates) >= self.frames:
            self._held = True
            self._candidates = []

    def _use(self, grey: np.ndarray, landmarks: np.ndarray) -> None:
        grey = grey.astype(np.float32)
        self._reference = cv2.GaussianBlur(grey, (0, 0), SMOOTH * self._k)
        self._ref_xy = np.ascontiguousarray(landmarks[:NUM_MESH, :2], np.float32)
        self._weight = crease_weight(grey, landmarks)
        skin = self._reference[self._weight > 0.5]  # the reference's skin level over its regions
        self._dark = DARK * float(np.median(skin)) if skin.size else 0.0
        self._field = face_field(landmarks, self.size, grid=GRID)
        x0, y0, x1, y1 = self._field.roi
        ident = np.mgrid[y0:y1, x0:x1][::-1].transpose(1, 2, 0)
        self._identity = np.ascontiguousarray(ident, np.float32)

    def _not(self, dark: np.ndarray) -> np.ndarray:
        """1 - `dark` (bool) grown by DARK_GROW px at 256 and softened: 0 on and near it."""
        grow = max(1, int(round(DARK_GROW * self._k)))
        near = cv2.dilate(dark.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        return 1.0 - cv2.GaussianBlur(near.astype(np.float32), (0, 0), grow / 2.0)

    def _upsampled(self, grid_field: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self._field.roi
        return self._identity + cv2.resize(
            grid_field, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR
        )

    def ratio(self, crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
        """(S,S) float32 R - 1 in the reference's geometry (0 = no crease) from the frame's
        aligned crop (S,S,3) uint8 and its landmarks (478,3); None before a reference."""
        if not self.ready or not self.active:
            return None
        if self._used is not self._pick:
            self._use(*self._pick)
            self._used = self._pick
        x0, y0, x1, y1 = self._field.roi
        moved = np.asarray(landmarks, np.float32)[:NUM_MESH, :2] - self._ref_xy
        where = self._upsampled(self._field.forward(moved))
        grey = cv2.GaussianBlur(_grey(crop).astype(np.float32), (0, 0), SMOOTH * self._k)
        onto = cv2.remap(
            grey, where[..., 0], where[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        r = np.ones((self.size, self.size), np.float32)
        r[y0:y1, x0:x1] = (onto + 8.0) / (self._reference[y0:y1, x0:x1] + 8.0)
        # 0 where the frame has a hard edge, or where it or the reference is darker than skin
        sharp = np.ones((self.size, self.size), np.float32)
        dark = (onto < self._dark) | (self._reference[y0:y1, x0:x1] < self._dark)
        sharp[y0:y1, x0:x1] = _flat(onto, FRAME_EDGE, self._k) * self._not(dark)
        small = max(8, self.size // 4)  # the broad part, blurred at a quarter of the size
        broad = cv2.resize(
            cv2.GaussianBlur(
                cv2.resize(r, (small, small), interpolation=cv2.INTER_AREA),
                (0, 0),
                BAND * self._k * small / self.size,
            ),
            (self.size, self.size),
            interpolation=cv2.INTER_LINEAR,
        )
        d = np.clip(r / broad, *LIMIT) - 1.0
        size = np.abs(d)
        # a fold is shallow: deeper than OCCLUDER (a strand of hair, a hand) is left out
        keep = 1.0 - smoothstep((size - OCCLUDER[0]) / (OCCLUDER[1] - OCCLUDER[0]))
        d = np.sign(d) * np.maximum(size - DEAD, 0.0) * keep
        d = np.where(d > 0.0, LIGHTER * d, d)
        return (d * self._weight * sharp).astype(np.float32)

    def apply(self, crop: np.ndarray, ratio: np.ndarray | None, drawn: np.ndarray) -> np.ndarray:
        """The rendered crop (S,S,3) uint8 with the creases `ratio` (from `ratio`) moved onto
        the drawn landmarks (478,2|3) target-crop pixels; `crop` itself when there is none."""
        if ratio is None or not isinstance(crop, np.ndarray):
            return crop
        x0, y0, x1, y1 = self._field.roi
        moved = np.asarray(drawn, np.float32)[:NUM_MESH, :2] - self._ref_xy
        field = self._field.forward(moved)
        where = self._upsampled(self._field.backward(field, ITERATIONS))
        d = cv2.remap(
            ratio,
            where[..., 0],
            where[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )
        if not np.any(d):
            return crop
        out = np.array(crop, copy=True)
        box = out[y0:y1, x0:x1].astype(np.float32)
        box *= 1.0 + self.strength * d[..., None]
        out[y0:y1, x0:x1] = np.clip(box + 0.5, 0, 255).astype(np.uint8)
        return out
