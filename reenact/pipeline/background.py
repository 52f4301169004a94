"""The output's background: the whole picture, cleared to transparency, or a chroma colour.

`compose.background`: "picture" (the frame as it is: nothing here runs), "transparent" (the
avatar kept, the rest cleared: a sink that declares `alpha` gets (H, W, 4) uint8 RGBA, straight
alpha; any other sink the frame flattened onto `compose.background_colour`) or "colour" (every
sink gets the frame with the background replaced by that colour).

The avatar's coverage of a target frame, `avatar_mask`, is made once per target: the picture's
own alpha where it has one, else the person segmentation the head motion uses (with the face's
own outline always in). `MovingMask` moves it with the head exactly as `HeadRegion.move` moves
the pixels: a premultiplied head layer over a plate, both through the same maps. `Background`
then turns each output frame and its mask into what the sinks and the panel get.
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.config.fields import parse_colour
from reenact.pipeline.head_region import inpaint_quarter

OPAQUE = 255


def face_hull(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """(H, W) uint8: 255 inside the convex hull of `landmarks` (N, 2+) frame pixels, else 0."""
    hull = np.zeros(shape, np.uint8)
    points = np.round(np.asarray(landmarks)[:, :2]).astype(np.int32)
    cv2.fillConvexPoly(hull, cv2.convexHull(points), OPAQUE)
    return hull


def avatar_mask(
    frame: np.ndarray, landmarks: np.ndarray, alpha: np.ndarray | None = None
) -> np.ndarray | None:
    """(H, W) uint8, 255 where the avatar is: `alpha` (H, W) uint8, the picture's own, when it
    has one; else the person segmentation of `frame` (H, W, 3) uint8 RGB with the face's hull
    (`landmarks` (478, 2+) frame pixels) always in. None when neither finds anyone."""
    if alpha is not None:
        return np.ascontiguousarray(alpha, np.uint8)
    from reenact.pipeline.head_region import person_mask

    person = person_mask(frame)
    if person is None:
        return None
    mask = np.round(person * OPAQUE).astype(np.uint8)
    return cv2.max(mask, face_hull(mask.shape, landmarks))


class MovingMask:
    """A target's avatar mask split as `HeadRegion` splits its frame, ready to move with it.

    mask: (H, W) uint8 the target's `avatar_mask`; region: its `HeadRegion`. In the region's
    box, mask = head (premultiplied by the region's alpha a) + (1 - a) plate, the plate being
    the mask with the head's hole filled from around it; `moved(region)`, after the region's
    `move`, gives head' + (1 - a') plate through the same maps: (H, W) uint8, a buffer owned
    here and overwritten by the next call."""

    def __init__(self, mask: np.ndarray, region) -> None:
        self._out = mask.copy()
        self.box = region.box
        if self.box is None:
            return
        x0, y0, x1, y1 = self.box
        box = mask[y0:y1, x0:x1]
        self._alpha8 = np.round(region.alpha * OPAQUE).astype(np.uint8)
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
        hole = cv2.dilate((self._alpha8 > 5).astype(np.uint8) * OPAQUE, disk)
        plate = box.copy()
        filled = inpaint_quarter(box, hole)
        plate[hole > 0] = filled[hole > 0]
        self._plate = plate
        back = cv2.multiply(plate, cv2.bitwise_not(self._alpha8), scale=1.0 / OPAQUE)
        self._head = cv2.subtract(box, back, dtype=cv2.CV_16S)

    def moved(self, region) -> np.ndarray:
        if self.box is None:
            return self._out
        x0, y0, x1, y1 = self.box
        head = region.follow(self._head)
        behind = cv2.bitwise_not(region.follow(self._alpha8))
        behind = cv2.multiply(self._plate, behind, scale=1.0 / OPAQUE)
        cv2.add(head, behind, dst=self._out[y0:y1, x0:x1], dtype=cv2.CV_8U)
        return self._out


class AvatarAlpha:
    """The avatar's mask of each output frame, for one stream: the target's own while its head
    is still, moved with it when it moves (`MovingMask`, one per head region), and while the
    face is lost the last good one joined with the target's (the output holds, then fades)."""

    def __init__(self) -> None:
        self._moving: list[tuple[object, MovingMask]] = []  # newest first
        self._last: np.ndarray | None = None

    def moved(self, target, region) -> np.ndarray | None:
        """The mask after `region.move` moved `target`'s head."""
        if target.mask is None:
            return None
        moving = next((m for r, m in self._moving if r is region), None)
        if moving is None:
            moving = MovingMask(target.mask, region)
            self._moving = [(region, moving), *self._moving][:8]
        return moving.moved(region)

    def good(self, alpha: np.ndarray | None) -> None:
        """A frame with a face was shown with `alpha`: kept for the frames while it is lost."""
        if alpha is None:
            self._last = None
        elif self._last is None or self._last.shape != alpha.shape:
            self._last = alpha.copy()
        else:
            np.copyto(self._last, alpha)

    def lost(self, target) -> np.ndarray | None:
        if self._last is None or target.mask is None or self._last.shape != target.mask.shape:
            return target.mask
        return cv2.max(self._last, target.mask)


def flatten(
    rgb: np.ndarray,
    alpha: np.ndarray,
    colour: np.ndarray,
    out: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """(H, W, 3) uint8: `rgb` (H, W, 3) over `colour` (H, W, 3) uint8 with coverage `alpha`
    (H, W) uint8; exact where alpha is 0 or 255. out, work: (H, W, 3) uint8 buffers to reuse
    (fresh frame-sized arrays cost more than the arithmetic)."""
    a3 = cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB, dst=work)
    out = cv2.multiply(rgb, a3, dst=out, scale=1.0 / OPAQUE)
    back = cv2.multiply(colour, cv2.bitwise_not(a3, dst=a3), dst=a3, scale=1.0 / OPAQUE)
    return cv2.add(out, back, dst=out)


def rgba(rgb: np.ndarray, alpha: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 4) uint8 straight RGBA of `rgb` (H, W, 3) and `alpha` (H, W) (None: opaque)."""
    out = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA, dst=out)
    if alpha is not None:
        out[:, :, 3] = alpha
    return out


class Background:
    """What each sink and the panel get from an output frame and its avatar mask.

    `frames(rgb, alpha, sink_alpha)` -> (the sink's frame, the panel's `on_frame` frame): with
    "transparent", RGBA for a sink that declares `alpha` and for the panel, the frame flattened
    onto the colour for any other sink; with "colour", flattened for both. alpha None: the frame
    is all avatar (paused: the actor's own camera). Buffers are reused: copy to keep a frame."""

    def __init__(self, mode: str, colour: tuple[int, int, int]) -> None:
        self.mode, self.colour = mode, colour
        self._colour: np.ndarray | None = None
        self._flat: np.ndarray | None = None
        self._work: np.ndarray | None = None
        self._rgba: np.ndarray | None = None

    @classmethod
    def from_config(cls, config) -> Background | None:
        """None for "picture" (the frame goes out as it is)."""
        s = config.compose
        if s.background == "picture":
            return None
        return cls(s.background, parse_colour(s.background_colour))

    def flat(self, rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        """(H, W, 3) uint8 `rgb` over the colour (`rgb` itself when alpha is None)."""
        if alpha is None:
            return rgb
        if self._colour is None or self._colour.shape != rgb.shape:
            self._colour = np.empty_like(rgb)
            self._colour[:] = self.colour
            self._flat, self._work = np.empty_like(rgb), np.empty_like(rgb)
        return flatten(rgb, alpha, self._colour, out=self._flat, work=self._work)

    def frames(
        self, rgb: np.ndarray, alpha: np.ndarray | None, sink_alpha: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.mode != "transparent":
            flat = self.flat(rgb, alpha)
            return flat, flat
        if self._rgba is None or self._rgba.shape[:2] != rgb.shape[:2]:
            self._rgba = np.empty((*rgb.shape[:2], 4), np.uint8)
        full = rgba(rgb, alpha, out=self._rgba)
        return (full if sink_alpha else self.flat(rgb, alpha)), full


def to_rgb(frame: np.ndarray, colour: str) -> np.ndarray:
    """`frame` (H, W, 3) as it is, or (H, W, 4) RGBA flattened onto `colour` (#rrggbb, a name):
    for what shows an output that may carry alpha but cannot (a preview window)."""
    if frame.shape[2] == 3:
        return frame
    background = np.empty(frame.shape[:2] + (3,), np.uint8)
    background[:] = parse_colour(colour)
    return flatten(
        np.ascontiguousarray(frame[:, :, :3]), np.ascontiguousarray(frame[:, :, 3]), background
    )
