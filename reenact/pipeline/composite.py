"""Compositing a rendered face crop back into the full target frame, with no seam.

`Compositor` precomputes, once per target:

- a feathered mask in crop space: the face's convex hull (all mesh points) grown a little, fading
  smoothly to 0 at its edge and forced to 0 near the crop border;
- the same mask warped into the frame (only over the box the crop covers there);
- the crop -> frame affine for that box, and a preallocated copy of the target frame.

`paste(crop)` then warps the crop into the box with `cv2.warpAffine` and alpha-blends it into the
copy. Before that, in crop space (`reenact.pipeline.blend`):

- with `colour_match=True` (for generators that shift colours; the warp renderer's crop already
  comes from the target, so it is off by default) the crop's colour and brightness are brought
  to the target's: `colour="lowfreq"` (default) by a smooth gain field measured on the feather
  ring and spread over the face; `colour="stats"` by per-channel mean/std in the ring (older);
- with `blend="multiband"` (default) the crop is blended into the target's own crop by a
  Laplacian pyramid over the mask's core, so that fine detail switches over a few pixels and
  brightness over tens; `blend="feather"` pastes it as it is (the alpha feather only);
  `blend="auto"` is multiband when `colour_match` is on (a renderer that repaints the face) and
  feather otherwise (the warp, whose crop is the target's own pixels moved).

`paste(crop, drawn)` given the drawn landmarks also puts back the picture's detail that the crop
does not hold, moved with the face (`reenact.pipeline.detail`; `detail=False` leaves it out).
"""

from __future__ import annotations

import cv2
import numpy as np

from reenact.errors import InputError
from reenact.landmarks.align import Alignment
from reenact.landmarks.tracker import NUM_LANDMARKS
from reenact.pipeline.blend import BLENDS, COLOURS, LowFrequencyMatch, MultiBandBlend, match_weight
from reenact.pipeline.detail import DetailLayer
from reenact.profiling import laps

GROW = 0.04  # the hull grows by this x crop side ...
FEATHER = 0.06  # ... and fades to 0 over this x crop side, ending at the grown edge
BORDER = 0.02  # the mask is 0 this close (x crop side) to the crop border
CORE = 0.8  # multiband: the render is blended in where the paste mask is above this (ramped)


def face_mask(landmarks_crop: np.ndarray, size: int) -> np.ndarray:
    """(S,S) float32 in [0,1]: 1 on the face, feathered to 0 just outside its hull.

    landmarks_crop: (478,2|3) crop pixels. The fade runs from FEATHER*S inside the grown hull's
    edge to the edge itself; the mask is 0 within BORDER*S of the crop border.
    """
    points = np.ascontiguousarray(np.asarray(landmarks_crop, np.float32)[:, :2])
    hull = cv2.convexHull(points.reshape(-1, 1, 2))
    binary = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(
        binary,
        np.round(hull.reshape(-1, 2) * 16).astype(np.int32),
        255,
        lineType=cv2.LINE_AA,
        shift=4,
    )
    grow = max(1, int(round(GROW * size)))
    binary = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    # distance to the grown edge, ramped over the feather width, then smoothed: C1 at both ends
    inside = cv2.distanceTransform((binary > 127).astype(np.uint8), cv2.DIST_L2, 5)
    ramp = np.clip(inside / max(FEATHER * size, 1.0), 0.0, 1.0)
    mask = ramp * ramp * (3.0 - 2.0 * ramp)
    to_border = np.minimum(np.arange(size), np.arange(size)[::-1])
    edge = np.minimum.outer(to_border, to_border)
    border = np.clip((edge - BORDER * size) / max(BORDER * size, 1.0), 0.0, 1.0)
    return (mask * border).astype(np.float32)


def _paste_box(mask_crop: np.ndarray, inverse: np.ndarray, shape: tuple[int, ...]):
    """Frame-pixel box (x0, y0, x1, y1) holding the warped nonzero part of the crop mask."""
    ys, xs = np.nonzero(mask_crop > 0)
    if len(xs) == 0:
        return None
    corners = np.array(
        [
            [xs.min(), ys.min()],
            [xs.max() + 1, ys.min()],
            [xs.min(), ys.max() + 1],
            [xs.max() + 1, ys.max() + 1],
        ],
        np.float64,
    )
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]
    h, w = shape[:2]
    x0, y0 = np.clip(np.floor(mapped.min(axis=0)).astype(int) - 1, 0, [w, h])
    x1, y1 = np.clip(np.ceil(mapped.max(axis=0)).astype(int) + 2, 0, [w, h])
    if x1 <= x0 or y1 <= y0:
        return None
    return int(x0), int(y0), int(x1), int(y1)


class Compositor:
    """Pastes rendered crops of one target face back into its frame.

    target_frame: (H,W,3) uint8 RGB; alignment: the target face's frame <-> crop transform;
    target_landmarks_crop: (478,2|3) the target's landmarks in crop pixels;
    colour_match: match the crop's colour to the target's (`colour`: "lowfreq" or "stats");
    blend: "multiband" (Laplacian-pyramid blend into the target crop), "feather", or "auto"
    (multiband with colour_match, else feather); detail: put back the picture's detail that the
    crop does not hold (made on the first paste that gives the drawn landmarks).
    """

    def __init__(
        self,
        *,
        target_frame: np.ndarray,
        alignment: Alignment,
        target_landmarks_crop: np.ndarray,
        colour_match: bool = False,
        colour: str = "lowfreq",
        blend: str = "multiband",
        detail: bool = True,
    ) -> None:
        if blend not in BLENDS or colour not in COLOURS:
            raise InputError(
                f"compositor: blend '{blend}' / colour '{colour}': expected one of "
                f"{', '.join(BLENDS)} / {', '.join(COLOURS)}"
            )
        frame = np.asarray(target_frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InputError(
                f"target frame: expected (H,W,3) uint8 RGB, got {frame.shape} {frame.dtype}"
            )
        lm = np.asarray(target_landmarks_crop)
        if lm.ndim != 2 or lm.shape[0] != NUM_LANDMARKS or lm.shape[1] not in (2, 3):
            raise InputError(f"target landmarks: expected (478,3) crop pixels, got {lm.shape}")
        self.size = int(alignment.size)
        self.alignment = alignment
        self.colour_match = bool(colour_match)
        self.colour, self.blend = colour, blend
        self._frame = np.ascontiguousarray(frame).copy()
        self._frame.setflags(write=False)
        self._out = self._frame.copy()
        self.mask_crop = face_mask(lm, self.size)
        self._landmarks = lm
        self.detail = bool(detail)
        self._detail: DetailLayer | None = None
        self.box = _paste_box(self.mask_crop, alignment.inverse, frame.shape)
        if self.box is not None:
            self._prepare_box(self.box)
        self._prepare_colour(frame, alignment)
        target_crop = alignment.crop_image(frame)
        weights = match_weight(self.mask_crop, lm)
        self._lowfreq = LowFrequencyMatch(target_crop=target_crop, ring=weights)
        core = np.clip((self.mask_crop - CORE) / (1.0 - CORE), 0.0, 1.0)
        self._multiband = MultiBandBlend(target_crop=target_crop, mask=core)

    def _prepare_box(self, box: tuple[int, int, int, int]) -> None:
        x0, y0, x1, y1 = box
        matrix = self.alignment.inverse.copy()
        matrix[:, 2] -= (x0, y0)  # crop -> box pixels
        self._box_matrix = matrix
        alpha = cv2.warpAffine(
            self.mask_crop,
            matrix,
            (x1 - x0, y1 - y0),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        self.mask_frame = alpha  # (h,w) float32 in [0,1] over the box
        # blend in 8-bit fixed point: out = warped * a/255 + (frame * (255-a)/255, fixed per target)
        alpha8 = np.round(alpha * 255.0).astype(np.uint8)
        self._alpha8 = cv2.merge([alpha8] * 3)
        self._background = cv2.multiply(
            self._frame[y0:y1, x0:x1], cv2.bitwise_not(self._alpha8), scale=1.0 / 255.0
        )
        self._warped = np.empty((y1 - y0, x1 - x0, 3), np.uint8)

    def _prepare_colour(self, frame: np.ndarray, alignment: Alignment) -> None:
        """Reference statistics: the target's own crop in the feather ring (0.05 < mask < 0.95)."""
        ring = (self.mask_crop > 0.05) & (self.mask_crop < 0.95)
        self._ring = np.flatnonzero(ring.reshape(-1))
        if len(self._ring) > 4096:  # statistics need no more than a few thousand pixels
            self._ring = self._ring[:: len(self._ring) // 4096]
        self._lut = np.empty((1, 256, 3), np.uint8)
        self._levels = np.arange(256, dtype=np.float32)[:, None]
        reference = alignment.crop_image(frame).reshape(-1, 3)[self._ring].astype(np.float32)
        self._ref_mean = reference.mean(axis=0)
        self._ref_std = reference.std(axis=0) + 1e-3

    def match_colours(self, crop: np.ndarray) -> np.ndarray:
        """(S,S,3) uint8 -> (S,S,3) uint8 whose per-channel mean/std in the feather ring are the
        target's (gain clamped to [0.5, 2])."""
        pixels = crop.reshape(-1, 3)[self._ring].astype(np.float32)
        gain = np.clip(self._ref_std / (pixels.std(axis=0) + 1e-3), 0.5, 2.0)
        offset = self._ref_mean - pixels.mean(axis=0) * gain
        self._lut[0] = np.clip(self._levels * gain + offset + 0.5, 0, 255).astype(np.uint8)
        return cv2.LUT(np.ascontiguousarray(crop), self._lut)

    def detail_layer(self) -> DetailLayer | None:
        """The picture's detail layer (made on first use); None when `detail` is off."""
        if not self.detail or self.box is None:
            return None
        if self._detail is None:
            self._detail = DetailLayer(
                frame=self._frame,
                alignment=self.alignment,
                landmarks_crop=self._landmarks,
                box=self.box,
                box_matrix=self._box_matrix,
                mask_crop=self.mask_crop,
            )
        return self._detail

    def paste(self, crop: np.ndarray, drawn: np.ndarray | None = None) -> np.ndarray:
        """Blend a rendered (S,S,3) uint8 crop into the target frame.

        drawn: (478,2|3) the landmarks the crop was rendered from, in crop pixels: the
        picture's fine detail is moved with them and added (`detail`); None = the crop alone.
        Returns (H,W,3) uint8: a preallocated buffer owned by the compositor, overwritten by the
        next `paste`; copy it to keep it. The same steps as the compose chain's colour, blend,
        paste and detail parts (`reenact.pipeline.compose`), one after the other.
        """
        lap = laps("composite")
        crop = self.match(crop)
        lap("colour")
        crop = self.blended(crop)
        lap("blend")
        output, box = self.place(crop)
        lap("paste")
        self.add_detail(box, drawn, crop)
        lap("detail")
        return output

    def check(self, crop: np.ndarray) -> None:
        """InputError unless `crop` is a rendered (S,S,3) uint8 crop."""
        s = self.size
        if crop.shape != (s, s, 3) or crop.dtype != np.uint8:
            raise InputError(
                f"rendered crop: expected ({s},{s},3) uint8, got {crop.shape} {crop.dtype}"
            )

    def match(self, crop: np.ndarray) -> np.ndarray:
        """The crop (S,S,3) uint8 with its colours matched to the target's (`colour_match`;
        else as it is)."""
        self.check(crop)
        if self.box is None or not self.colour_match:
            return crop
        return self.match_colours(crop) if self.colour == "stats" else self._lowfreq.apply(crop)

    def blended(self, crop: np.ndarray) -> np.ndarray:
        """The crop (S,S,3) blended into the target's own crop (`blend`), as uint8."""
        if self.box is None:
            return crop
        if self.blend == "multiband" or (self.blend == "auto" and self.colour_match):
            return self._multiband.apply(crop)
        if crop.dtype != np.uint8:
            return crop.round().clip(0, 255).astype(np.uint8)
        return crop

    def place(self, crop: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The crop (S,S,3) uint8 pasted into the frame: (the output (H,W,3) uint8, a buffer
        owned by the compositor; the view of its pasted box, None when the face has none)."""
        if self.box is None:
            np.copyto(self._out, self._frame)
            return self._out, None
        x0, y0, x1, y1 = self.box
        cv2.warpAffine(
            crop,
            self._box_matrix,
            (x1 - x0, y1 - y0),
            dst=self._warped,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        cv2.multiply(self._warped, self._alpha8, dst=self._warped, scale=1.0 / 255.0)
        box = self._out[y0:y1, x0:x1]
        cv2.add(self._warped, self._background, dst=box)
        return self._out, box

    def add_detail(
        self, box: np.ndarray | None, drawn: np.ndarray | None, crop: np.ndarray
    ) -> None:
        """The picture's detail moved with `drawn` (478,2|3) crop pixels added into `box` (the
        output's pasted box; nothing when either is None or `detail` is off). crop: the
        pasted (S,S,3) uint8 crop."""
        layer = self.detail_layer() if drawn is not None and box is not None else None
        if layer is not None:
            layer.add(box, drawn, crop)


def letterbox(
    image: np.ndarray, shape: tuple[int, ...], out: np.ndarray | None = None
) -> np.ndarray:
    """`image` (H,W,3) uint8 scaled to fit inside `shape` (h,w,...), centred on black: (h,w,3).

    out: a (h,w,3) uint8 buffer to reuse; a new one when None or of another shape."""
    h, w = shape[:2]
    if out is None or out.shape != (h, w, 3):
        out = np.zeros((h, w, 3), np.uint8)
    ih, iw = image.shape[:2]
    s = min(w / iw, h / ih)
    nw, nh = max(1, round(iw * s)), max(1, round(ih * s))
    out[:] = 0
    y, x = (h - nh) // 2, (w - nw) // 2
    out[y : y + nh, x : x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return out


class CrossFade:
    """Mixes outputs from a frame held at `start` into the new ones over `duration_s` seconds."""

    def __init__(self) -> None:
        self._from: np.ndarray | None = None
        self._duration_s = 0.0
        self._start_s: float | None = None

    def start(self, previous: np.ndarray, duration_s: float) -> None:
        """previous: (h,w,3) uint8, the last frame shown; the fade starts at the next `apply`."""
        self._from = previous.copy()
        self._duration_s = duration_s
        self._start_s = None

    def apply(self, output: np.ndarray, t_s: float) -> np.ndarray:
        """`output` itself when no fade runs, else a new (h,w,3) uint8 mix at time `t_s`."""
        if self._from is None:
            return output
        if self._start_s is None:
            self._start_s = t_s
        a = (t_s - self._start_s) / self._duration_s
        if a >= 1.0:
            self._from = None
            return output
        return (self._from * np.float32(1.0 - a) + output * np.float32(a)).astype(np.uint8)
