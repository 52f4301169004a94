"""A personal avatar's own mouths: the drive's mouth drawn from a real frame of its video.

The renderers draw an open mouth as a painted cavity; the avatar's video holds the person's
real open mouths, teeth and tongue. `reenact avatar train` keeps BANK_SIZE of its frames, their
mouths' shapes spread apart (`pick`), each cut to the region around the lips (`cut_to_mouth`):
the avatar file's `mouth_bank.npy` and `mouth_bank_landmarks.npy`.

Each frame (`MouthBank.patch`): the kept frame whose lips are shaped most like the drive's
(`mouth_shape`), warped to the drive's landmarks with no painted cavity, moved to the rendered
face's colour in a ring around the lips, and feathered in over the outer lips; the generator
pastes it over its output. Measured in docs/experiments/2026-11-28-mouth-bank.md.
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS
from reenact.render.corrections.apply import Patch
from reenact.render.warp import WarpRenderer

OUTER = np.array(REGIONS["lips_outer"])
MOUTH = np.concatenate([OUTER, np.array(REGIONS["lips_inner"])])
BANK_SIZE = 48  # frames kept: a spread of mouth shapes, a megabyte or two in the avatar file
GROW, FEATHER = 3, 2.0  # px at 256: the kept mouth reaches just past the outer lips
RING = (4, 12)  # px at 256: the band around the lips whose colour the kept mouth is moved to
KEEP = 24  # px at 256 around the lips kept of each frame; the warp reads no farther for a mouth
# another frame takes over only when its shape is this much nearer: no flicker between two alike
SWITCH = 0.8


def mouth_shape(xy: np.ndarray) -> np.ndarray:
    """(478,2|3) crop px -> the lips' points about their centre, flattened: the mouth's shape and
    size, not where it is."""
    points = xy[MOUTH, :2].astype(np.float64)
    return (points - points.mean(axis=0)).ravel()


def pick(landmarks: np.ndarray, count: int = BANK_SIZE) -> np.ndarray:
    """Rows of (N,478,2|3) `landmarks`, `count` at most, whose mouths are far apart
    (farthest-point sampling from the most ordinary mouth): the bank covers the shapes the
    video shows, not only its most frequent one."""
    shapes = np.stack([mouth_shape(xy) for xy in landmarks])
    chosen = [int(np.argmin(np.linalg.norm(shapes - shapes.mean(axis=0), axis=1)))]
    distance = np.linalg.norm(shapes - shapes[chosen[0]], axis=1)
    while len(chosen) < min(count, len(shapes)):
        far = int(np.argmax(distance))
        chosen.append(far)
        distance = np.minimum(distance, np.linalg.norm(shapes - shapes[far], axis=1))
    return np.array(chosen)


def lips_mask(
    xy: np.ndarray, size: int | tuple[int, int], grow: float, feather: float = 0.0
) -> np.ndarray:
    """(S,S) (or size (h,w)) float32 in [0,1]: the outer lips' polygon, grown by `grow` px,
    feathered."""
    shape = (size, size) if isinstance(size, int) else size
    polygon = np.zeros(shape, np.uint8)
    cv2.fillPoly(polygon, [np.round(xy[OUTER, :2]).astype(np.int32)], (255,))
    radius = int(round(grow))
    if radius > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        out = cv2.dilate(polygon, kernel).astype(np.float32) / 255.0
    else:
        out = polygon.astype(np.float32) / 255.0
    return cv2.GaussianBlur(out, (0, 0), feather) if feather else out


def cut_to_mouth(crop: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """The (S,S,3) crop with everything farther than KEEP px (at 256) from its lips black: what
    a mouth's warp reads, and little else to store."""
    size = crop.shape[0]
    keep = lips_mask(xy, size, KEEP * size / 256.0) > 0.5
    return np.where(keep[..., None], crop, 0).astype(np.uint8)


class MouthBank:
    """Frames of one person, (K,S,S,3) uint8 aligned crops and their (K,478,3) landmarks, each
    warped to a drive when first used; `patch` keeps the last frame it used (call it in frame
    order)."""

    def __init__(self, crops: np.ndarray, landmarks: np.ndarray) -> None:
        self.size = int(crops.shape[1])
        self.crops, self.landmarks = crops, landmarks
        self.shapes = np.stack([mouth_shape(xy) for xy in landmarks])
        scale = self.size / 256.0
        self.grow, self.feather = GROW * scale, FEATHER * scale
        self.ring = (RING[0] * scale, RING[1] * scale)
        self.margin = int(np.ceil(self.ring[1] + 3 * self.feather)) + 2  # px the patch's box adds
        self.warps: list[WarpRenderer | None] = [None] * len(crops)
        self.current: int | None = None

    def __len__(self) -> int:
        return len(self.warps)

    def reset(self) -> None:
        self.current = None

    def nearest(self, xy: np.ndarray) -> int:
        """The kept frame whose lips are shaped most like `xy`'s, or the last one used while
        none is SWITCH times nearer."""
        distance = np.linalg.norm(self.shapes - mouth_shape(xy), axis=1)
        best = int(np.argmin(distance))
        if self.current is None or distance[best] < SWITCH * distance[self.current]:
            self.current = best
        return self.current

    def _warp(self, k: int) -> WarpRenderer:
        warp = self.warps[k]
        if warp is None:  # prepared on first use: a bank's frames are not all needed at once
            # the frame's own mouth, and nothing painted: the kept frame has real lips and eyes
            warp = WarpRenderer(size=self.size, fill_mouth=False, keep_eyes=False, lip_bands=False)
            warp.set_target(self.crops[k], self.landmarks[k])
            self.warps[k] = warp
        return warp

    def patch(self, xy: np.ndarray, rendered: np.ndarray) -> Patch:
        """The mouth of the frame `nearest(xy)` warped to `xy` (478,2|3 crop px), moved to the
        colour of `rendered` (S,S,3 uint8, the face being drawn) around the lips, as a `Patch`
        to paste over the face."""
        lips = xy[OUTER, :2]
        x0, y0 = np.floor(lips.min(axis=0)).astype(int) - self.margin
        x1, y1 = np.ceil(lips.max(axis=0)).astype(int) + self.margin + 1
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        x1, y1 = min(int(x1), self.size), min(int(y1), self.size)
        if x1 <= x0 or y1 <= y0:
            return Patch((0, 0, 0, 0), np.zeros((0, 0, 1), np.float32), np.zeros((0, 0, 3)))
        box = (x0, y0, x1, y1)
        mouth = self._warp(self.nearest(xy)).render(xy[:, :2])[y0:y1, x0:x1].astype(np.float32)
        local = xy[:, :2] - (x0, y0)
        ring = (_mask(local, box, self.ring[1]) > 0.5) & (_mask(local, box, self.ring[0]) < 0.5)
        if ring.any():
            here = rendered[y0:y1, x0:x1][ring].astype(np.float32)
            mouth += here.mean(axis=0) - mouth[ring].mean(axis=0)
        alpha = _mask(local, box, self.grow, self.feather)
        return Patch(box, alpha[..., None], np.clip(mouth, 0, 255, out=mouth))


def _mask(local: np.ndarray, box: tuple[int, int, int, int], grow: float, feather: float = 0.0):
    """`lips_mask` in the box (landmarks `local` given in the box's pixels)."""
    x0, y0, x1, y1 = box
    return lips_mask(local, (y1 - y0, x1 - x0), grow, feather)


class AvatarMouths:
    """A renderer's share of the banks: the avatar set last, whether the target is its own
    picture, and one `MouthBank` per avatar kept for switching back. The renderer calls
    `target_set` from its `set_target`, `avatar_set` from its `set_avatar` (after the target,
    which it then takes for the avatar's own picture), and `patch` per frame."""

    def __init__(self) -> None:
        self.bank: MouthBank | None = None
        self.own_picture = False
        self._banks: dict[str, MouthBank] = {}

    def target_set(self) -> None:
        self.own_picture = False  # another picture, until `avatar_set` says it is the avatar's

    def avatar_set(self, avatar) -> None:
        """`avatar` (a `reenact.avatar.Avatar`, or None) is the target set last."""
        self.own_picture = True
        self.bank = None
        if avatar is not None and avatar.mouth_bank is not None:
            self.bank = self._banks.get(avatar.key)
            if self.bank is None:
                self.bank = self._banks[avatar.key] = MouthBank(*avatar.mouth_bank)
            self.bank.reset()

    def patch(self, xy: np.ndarray, rendered: np.ndarray) -> Patch | None:
        """The bank's `patch` on the avatar's own picture, else None."""
        if self.bank is None or not self.own_picture:
            return None
        return self.bank.patch(xy, rendered)
