"""A personal avatar's own mouths and eyes, drawn from real frames of its video.

The renderers draw an open mouth as a painted cavity and a shut eye as a painted lid; the
avatar's video holds the person's real ones. `reenact avatar train` keeps some of its frames,
their mouths' shapes spread apart and their eyes', each cut to the regions around its lips and
eyes (the lab's `reenact_lab.train.avatar_write.keep`): the avatar file's `face_bank.npy` and
`face_bank_landmarks.npy`.

Each frame (`FaceBank.patches`), for the mouth and for the eyes (`PARTS`): the kept frame whose
part is shaped most like the drive's (`Part.shape`), warped to the drive's landmarks with
nothing painted, moved to the rendered face's colour in a ring around the part, and feathered
in over it; the generator pastes it over its output. Measured in
docs/experiments/2026-11-28-mouth-bank.md and 2026-11-28-eye-bank.md.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS
from reenact.render.corrections.apply import Patch
from reenact.render.eyes import uncross_lids
from reenact.render.field import MeshField, face_field, identity_map
from reenact.render.warp import GRID, ITERATIONS, field_map, validate_landmarks, with_depth

OUTER = np.array(REGIONS["lips_outer"])
LIPS = np.concatenate([OUTER, np.array(REGIONS["lips_inner"])])
EYE_ROWS = tuple(np.array(REGIONS[f"{side}_eye"]) for side in ("left", "right"))
IRIS_ROWS = tuple(np.array(REGIONS[f"{side}_iris"]) for side in ("left", "right"))
# another frame takes over only when its shape is this much nearer: no flicker between two alike
SWITCH = 0.8


@dataclass(frozen=True)
class Part:
    """A region drawn from the bank. outlines: landmark rows, each filled as a polygon (`convex`:
    its hull, for an eye's ring of points); shapes: rows whose points about their own centre
    are the part's shape (an eye's with its iris: the gaze); count: frames kept for it; grow,
    feather, ring (inner, outer): px at 256 of the pasted mask and of the colour's band."""

    name: str
    outlines: tuple[np.ndarray, ...]
    convex: bool
    shapes: tuple[np.ndarray, ...]
    count: int
    grow: float
    feather: float
    ring: tuple[float, float]

    def shape(self, xy: np.ndarray) -> np.ndarray:
        """(478,2|3) crop px -> the part's points about their centres, flattened: its shape and
        size, not where it is."""
        out = []
        for rows in self.shapes:
            points = xy[rows, :2].astype(np.float64)
            out.append((points - points.mean(axis=0)).ravel())
        return np.concatenate(out)

    def distance(self, xy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """(h,w) float32: each pixel's distance in px to the part's outlines (0 inside)."""
        outside = np.full(size, 255, np.uint8)
        for rows in self.outlines:
            points = np.round(xy[rows, :2]).astype(np.int32)
            cv2.fillPoly(outside, [cv2.convexHull(points) if self.convex else points], (0,))
        return cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)

    def mask(
        self, xy: np.ndarray, size: int | tuple[int, int], grow: float, feather: float = 0.0
    ) -> np.ndarray:
        """(S,S) (or size (h,w)) float32 in [0,1]: the part's outlines, grown by `grow` px,
        feathered."""
        shape = (size, size) if isinstance(size, int) else size
        out = (self.distance(xy, shape) <= grow).astype(np.float32)
        return cv2.GaussianBlur(out, (0, 0), feather) if feather else out


MOUTH = Part("mouth", (OUTER,), False, (LIPS,), 48, 3, 2.0, (4, 12))
EYES = Part(
    "eyes",
    EYE_ROWS,
    True,
    tuple(np.concatenate([e, i]) for e, i in zip(EYE_ROWS, IRIS_ROWS)),
    24,
    5,
    2.5,
    (6, 12),
)
PARTS = (MOUTH, EYES)


def kept_fields(landmarks: np.ndarray, size: int) -> list[MeshField]:
    """The warp's field of each of the kept frames' (K,478,3) crop-px `landmarks`."""
    return [
        face_field(with_depth(validate_landmarks(xy, "face bank landmarks"), xy), size, grid=GRID)
        for xy in landmarks
    ]


# the fields of each avatar's bank, prepared once (a second or so): `prepare` is called where
# targets are prepared, up front, so that switching to an avatar live does not stall a frame
_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def prepare(avatar) -> list[MeshField] | None:
    """The fields of `avatar`'s (a `reenact.avatar.Avatar`) face bank, or None without one."""
    if avatar is None or avatar.face_bank is None:
        return None
    found = _PREPARED.get(avatar)
    if found is None:
        crops, landmarks = avatar.face_bank
        found = _PREPARED[avatar] = kept_fields(landmarks, int(crops.shape[1]))
    return found


class FaceBank:
    """Frames of one person, (K,S,S,3) uint8 aligned crops and their (K,478,3) landmarks, each
    with its warp's field prepared up front (no hitch the first time a frame is drawn);
    `patches` keeps each part's last frame (call it in frame order)."""

    def __init__(
        self, crops: np.ndarray, landmarks: np.ndarray, fields: list[MeshField] | None = None
    ) -> None:
        self.size = int(crops.shape[1])
        self.crops, self.landmarks = crops, landmarks
        self.shapes = {p.name: np.stack([p.shape(xy) for xy in landmarks]) for p in PARTS}
        self.scale = self.size / 256.0
        self.xy = [validate_landmarks(xy, "face bank landmarks") for xy in landmarks]
        self.fields = fields if fields is not None else kept_fields(landmarks, self.size)
        self.identity = identity_map(self.size)
        self._map = self.identity.copy()  # the last frame's warp, over its field's box
        self.current: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def reset(self) -> None:
        self.current = {}

    def nearest(self, part: Part, xy: np.ndarray) -> int:
        """The kept frame whose `part` is shaped most like `xy`'s, or the last one used for it
        while none is SWITCH times nearer."""
        distance = np.linalg.norm(self.shapes[part.name] - part.shape(xy), axis=1)
        best, last = int(np.argmin(distance)), self.current.get(part.name)
        if last is None or distance[best] < SWITCH * distance[last]:
            self.current[part.name] = best
        return self.current[part.name]

    def patches(
        self, xy: np.ndarray, rendered: np.ndarray, parts: tuple[Part, ...] = PARTS
    ) -> list[Patch]:
        """Each of `parts` of its `nearest` frame warped to `xy` (478,2|3 crop px), moved to the
        colour of `rendered` (S,S,3 uint8, the face being drawn) around the part, as `Patch`es
        to paste over the face."""
        # the landmarks as the warp follows them; nothing is painted: the frame has its own lips
        fused = validate_landmarks(xy, "fused landmarks").copy()
        uncross_lids(fused)
        boxes = [(part, self._box(part, xy)) for part in parts]
        chosen = [(part, box, self.nearest(part, xy)) for part, box in boxes if box is not None]
        out = []
        for k in dict.fromkeys(k for _, _, k in chosen):  # a frame nearest for both: once
            drawn = [(part, box) for part, box, j in chosen if j == k]
            # inverted over the parts' boxes only (the same values there)
            corners = np.array([box for _, box in drawn])
            (x0, y0), (x1, y1) = corners[:, :2].min(axis=0), corners[:, 2:].max(axis=0)
            _, roi = field_map(
                self.fields[k],
                self.xy[k],
                fused,
                ITERATIONS,
                self.identity,
                self._map,
                shared=False,
                box=(int(x0), int(y0), int(x1), int(y1)),
            )
            for part, box in drawn:
                out.append(self._patch(part, xy, rendered, self._warped(k, box, roi), box))
        return out

    def _box(self, part: Part, xy: np.ndarray) -> tuple[int, int, int, int] | None:
        """The crop box (x0,y0,x1,y1) a part's patch covers: its outlines, the colour's ring and
        the feather; None when off the crop."""
        margin = int(np.ceil((part.ring[1] + 3 * part.feather) * self.scale)) + 2
        points = xy[np.concatenate(part.outlines), :2]
        x0, y0 = np.floor(points.min(axis=0)).astype(int) - margin
        x1, y1 = np.ceil(points.max(axis=0)).astype(int) + margin + 1
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        x1, y1 = min(int(x1), self.size), min(int(y1), self.size)
        return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)

    def _warped(self, k, box, roi):
        """(h,w,3) float32: kept frame k warped (the map over `roi` `patches` made) in `box`
        only; the frame as it is outside the map's box, as the warp draws it."""
        x0, y0, x1, y1 = box
        crop = self.crops[k]
        own = crop[y0:y1, x0:x1].copy()
        ix0, iy0 = max(x0, roi[0]), max(y0, roi[1])
        ix1, iy1 = min(x1, roi[2]), min(y1, roi[3])
        if ix1 > ix0 and iy1 > iy0:
            cv2.remap(
                crop,
                np.ascontiguousarray(self._map[iy0:iy1, ix0:ix1]),
                None,
                cv2.INTER_LINEAR,
                dst=own[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0],
                borderMode=cv2.BORDER_REFLECT,
            )
        return own.astype(np.float32)

    def _patch(
        self, part: Part, xy: np.ndarray, rendered: np.ndarray, own: np.ndarray, box
    ) -> Patch:
        s = self.scale
        x0, y0, x1, y1 = box
        # one distance map gives the colour's ring and the pasted mask (grown, then feathered)
        far = part.distance(xy[:, :2] - (x0, y0), (y1 - y0, x1 - x0))
        ring = (far > part.ring[0] * s) & (far <= part.ring[1] * s)
        if ring.any():
            # means of whole levels: OpenCV's double sums are exact, as numpy's float32 ones are
            ring8 = ring.view(np.uint8)
            here = np.array(cv2.mean(rendered[y0:y1, x0:x1], mask=ring8)[:3], np.float32)
            own += here - np.array(cv2.mean(own, mask=ring8)[:3], np.float32)
        alpha = cv2.GaussianBlur(
            (far <= part.grow * s).astype(np.float32), (0, 0), part.feather * s
        )
        return Patch(box, alpha[..., None], np.clip(own, 0, 255, out=own))


class AvatarParts:
    """A renderer's share of the banks: the avatar set last, whether the target is its own
    picture, and one `FaceBank` per avatar kept for switching back. The renderer calls
    `target_set` from its `set_target`, `avatar_set` from its `set_avatar` (after the target,
    which it then takes for the avatar's own picture), and `patches` per frame. parts: those
    drawn (`renderer.eyes` / `renderer.mouth`: "auto")."""

    def __init__(self, parts: tuple[Part, ...] = PARTS) -> None:
        self.parts = parts
        self.bank: FaceBank | None = None
        self.own_picture = False
        self._banks: dict[str, FaceBank] = {}

    def target_set(self) -> None:
        self.own_picture = False  # another picture, until `avatar_set` says it is the avatar's

    def avatar_set(self, avatar) -> None:
        """`avatar` (a `reenact.avatar.Avatar`, or None) is the target set last."""
        self.own_picture = True
        self.bank = None
        if avatar is not None and avatar.face_bank is not None and self.parts:
            self.bank = self._banks.get(avatar.key)
            if self.bank is None:
                crops, landmarks = avatar.face_bank
                self.bank = FaceBank(crops, landmarks, prepare(avatar))
                self._banks[avatar.key] = self.bank
            self.bank.reset()

    def drawing(self) -> FaceBank | None:
        """The bank that draws on the target set now: the avatar's, on its own picture."""
        return self.bank if self.own_picture else None

    def patches(self, xy: np.ndarray, rendered: np.ndarray) -> list[Patch]:
        """The bank's `patches` on the avatar's own picture, else none."""
        bank = self.drawing()
        return [] if bank is None else bank.patches(xy, rendered, self.parts)


def chosen_parts(eyes: str, mouth: str) -> tuple[Part, ...]:
    """The parts an avatar draws from its bank: those whose setting is "auto"."""
    return tuple(p for p, s in ((MOUTH, mouth), (EYES, eyes)) if s == "auto")
