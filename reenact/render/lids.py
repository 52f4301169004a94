"""Closing eyelids for the warp renderer: paint lid skin where the lids cover the eyeball.

A warp cannot show the skin of an upper lid that the target's open eye keeps folded away; it can
only stretch the lash line and crease over the eye, which reads as a dark smear. Where the fused
lids cover part of the target's eye opening, `LidPainter.overlay` draws instead:

- lid skin in the target's own colours: per column, the skin around the eye carried smoothly
  over it (a normalised Gaussian blur of the crop with the eye and its thin dark lines, the
  lashes, liner and lid creases, left out; `_lid_fill`) read on the eye's centre line, so the lid
  is as bright and as tinted as the skin around that eye, above and below it, and a shadowed
  socket stays shadowed; a little darker towards the lid margin;
- a soft lash line along the fused upper lid,

through a feathered mask (target eye opening minus fused eye opening), so an open eye is left
exactly as warped and a closed one shows smooth skin with a lash line. The target's opening is
widened past its own eye's lines, measured once per target along each lid (`edge_band`): the
upper lid always past its lash line, and as the eye shuts the lower lid and the corners past
theirs, so a shut eye shows no outline of the open one around the lid (no "ghost" almond).

The target's opening, and the lid skin's colours, move with the fused eye's corners, as the eye
keeper moves the eyeball (`reenact.render.eyes`). The face moves in the crop as the head turns
and nods, so the fused eye corners sit pixels off the target's: a lid painted where the target's
eye was left part of the moved eye showing beside it and painted lid skin over the skin on its
other side.

As the eye shuts, the lid skin also reaches up to the lid's fold: the face mesh's ring of points
above the upper lid (`_FOLDS`), where the fused landmarks put it, less `FOLD_GAP`. Between that
ring and the lid the warp can only stretch what the target's open eye shows there, the fold and
its shadow; on a hooded or deep-set eye that became a reddish-brown band under the
brow, over the painted lid, wherever the fused fold rose above the target's (a driver's brows
lifting as the eyes close). A real shut lid is unfolded skin there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from reenact.landmarks.regions import REGIONS
from reenact.ramps import smoothstep
from reenact.render.corrections.base import Correction, Layer
from reenact.render.eyes import eye_centre
from reenact.render.paint import SHIFT as _SHIFT
from reenact.render.paint import clip01, edge_band, fill_aa, mean32, pad_box, soft_rgb

_EYES = (REGIONS["right_eye"], REGIONS["left_eye"])  # 16-point rings, corners at 0 and 8
# the face mesh's ring above each upper lid (its fold), point for point with the ring's 1..7
_FOLDS = (np.array([247, 30, 29, 27, 28, 56, 190]), np.array([467, 260, 259, 257, 258, 286, 414]))
# px at 256: a shut lid's skin stops this far below the fused fold. Self-reenactment's shut
# frames (the lab's `lab/shut_eyes.py` on the clips): eye-box SSIM 0.746 ->
# 0.748 (warp), 0.751 -> 0.753 (generator), half-shut frames unchanged. Over each eye and the
# mesh's second ring above it (padded 10 %, the fold's whole height; warp): 0.746 with no reach
# to the fold, 0.749 at 0 or 1 px, 0.747 at 2.5 px; reaching up as the eye starts to close
# (`_closing`) rather than as it shuts cost the half-shut frames 0.002 (eye boxes)
FOLD_GAP = 1.0
_ARC = np.sin(np.linspace(0.125, 0.875, 7) * np.pi)  # how far each lid point is raised / lowered
# the lash line of a shut eye, at 256 px: drawn 2 px wide and softened by a 1 px Gaussian. The
# upper lashes folded down over the lower ones make a heavier line than the open eye's: on the
# shut-eye frames of the training clips (self-reenactment, eye boxes) SSIM 0.593 -> 0.677 against
# 1 px and 0.5 px; on the held-out clips 0.619 -> 0.683
LASH_WIDTH, LASH_SOFT = 2.0, 1.0


@dataclass(frozen=True)
class _TargetEye:
    """One target eye's per-frame constants: mean lid gap (px, >= 1e-3); the 16-point ring
    with the lids pushed apart (`covered` polygon), the upper lid past the target's own dark lash
    line; `spread` (16,2) float32: how far the lower lid and the corners move out, past their dark
    lines, as the eye shuts (scaled by `_shut`)."""

    gap: float
    raised: np.ndarray
    spread: np.ndarray


class LidPainter(Correction):
    """Paints lid skin and a lash line where fused eyelids cover the target's eyeball.

    size: crop side; lengths scale with size / 256.
    """

    name = "lids"
    paints = True

    def __init__(self, *, size: int) -> None:
        self.size = int(size)
        self.unit = self.size / 256.0
        self.feather = 1.2 * self.unit
        self._target_xy: np.ndarray | None = None
        self._colours: list[np.ndarray] = []  # per eye, per crop column: lid skin (S,3) RGB
        self._lash = np.zeros(3, np.float32)
        self._eyes: list[_TargetEye] = []

    def prepare(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        """target_crop: (S,S,3) uint8; target_landmarks: (478,2|3) crop pixels of the neutral
        face."""
        t = np.asarray(target_landmarks, np.float32)[:, :2].copy()
        self._target_xy = t
        darks = []
        for ring in _EYES:
            mask = np.zeros(target_crop.shape[:2], np.uint8)
            fill_aa(mask, t[ring], (0, 0))
            inside = target_crop[mask > 127].reshape(-1, 3).astype(np.float32)
            if len(inside):
                lum = inside.mean(axis=1)
                darks.append(inside[lum <= np.percentile(lum, 10)].mean(axis=0))
        self._lash = (0.85 * np.mean(darks, axis=0)) if darks else np.full(3, 40.0, np.float32)
        soft = soft_rgb(target_crop)
        self._eyes = [self._target_eye(soft, t, eye) for eye in (0, 1)]
        rows = [self._centre_rows(t, eye) for eye in (0, 1)]
        top = min(int(r.min()) for r in rows)
        fill = self._lid_fill(target_crop, top, max(int(r.max()) for r in rows) + 1)
        self._colours = [self._centre_colours(fill, rows[eye] - top) for eye in (0, 1)]

    def _lid_fill(self, crop: np.ndarray, top: int, bottom: int) -> np.ndarray:
        """(bottom - top,S,3) float32, crop rows top to bottom: the target's skin carried over
        its eyes, for the lid skin.

        A normalised Gaussian blur (sigma 6 px x size/256) of the crop that leaves out each eye
        as it is covered when shut (dilated by 2 px) and every thin dark line (a black top-hat of
        the luminance with a 9 px disc above 8 % of the closing: lashes, liner, lid creases,
        brow hairs), so neither the eye nor its outline bleeds into the lid; broad shading, a
        shadowed socket, is kept. Lengths are at 256 px and scale with the crop.
        """
        eyes = np.zeros(crop.shape[:2], np.uint8)
        for eye in self._eyes:
            fill_aa(eyes, eye.raised + eye.spread, (0, 0))
        grow = 2 * int(2 * self.unit) + 1
        keep = cv2.dilate(eyes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow))) == 0
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        side = 2 * int(4 * self.unit) + 1
        closed = cv2.morphologyEx(
            grey, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        )
        thin = (closed.astype(np.float32) - grey) > 0.08 * closed.astype(np.float32)
        weight = (keep & ~thin).astype(np.float32)
        sigma = 6.0 * self.unit
        # blurred over the rows asked for and the kernel's reach only: the same pixels there
        a, b = max(top - int(4 * sigma) - 2, 0), min(bottom + int(4 * sigma) + 2, len(crop))
        weight = weight[a:b]
        num = cv2.GaussianBlur(crop[a:b].astype(np.float32) * weight[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(weight, (0, 0), sigma)
        return (num / np.maximum(den, 1e-4)[..., None])[top - a : bottom - a]

    def _centre_rows(self, t: np.ndarray, eye: int) -> np.ndarray:
        """(S,) int: per crop column, the crop row of the eye's centre line (midway between the
        target's lids; held at the corners beyond them)."""
        ring = _EYES[eye]
        mid = 0.5 * (t[ring[:9]] + t[ring[[0, *range(15, 8, -1), 8]]])
        mid = mid[np.argsort(mid[:, 0])]
        xs = np.arange(self.size, dtype=np.float32)
        ys = np.clip(np.round(np.interp(xs, mid[:, 0], mid[:, 1])), 0, self.size - 1)
        return ys.astype(int)

    def _centre_colours(self, fill: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(S,3) float32: per crop column, `fill` at that column's row `rows` (S,) (its rows
        counted from fill's first), lightly smoothed along the line."""
        colours = fill[rows, np.arange(self.size)]
        return cv2.GaussianBlur(colours[:, None, :], (1, 0), sigmaX=1e-3, sigmaY=2.0 * self.unit)[
            :, 0, :
        ]

    def _target_eye(self, rgb: np.ndarray, t: np.ndarray, eye: int) -> _TargetEye:
        """What a frame needs of the target's eye, worked out once (see `_TargetEye`); rgb:
        `soft_rgb` of the target crop."""
        ring = _EYES[eye]
        gap = np.maximum(t[ring[15:8:-1], 1] - t[ring[1:8], 1], 0)
        reach = 2.0 * self.feather  # past the band, so the feathered edge hides it too
        most = 4.0 * self.unit  # how far a lid's dark lines are looked for
        raised = t[ring].copy()  # raise the upper lid past the target's own lash line,
        up = np.minimum(edge_band(rgb, t[ring[1:8]], (0.0, -1.0), most) + reach, 6.0 * self.unit)
        raised[1:8, 1] -= np.maximum(up, 2.5 * self.unit * _ARC)
        low = np.minimum(edge_band(rgb, t[ring[9:16]], (0.0, 1.0), most), 3.0 * self.unit)
        axis = t[ring[8]] - t[ring[0]]
        axis = axis / max(float(np.hypot(*axis)), 1e-3)
        corners = [
            min(float(edge_band(rgb, t[ring[[i]]], d, most)[0]), 3.0 * self.unit) + self.feather
            for i, d in ((0, -axis), (8, axis))
        ]
        spread = np.zeros((16, 2), np.float32)  # where the lower lid and corners go when shut
        spread[9:16, 1] = low + self.feather * np.sqrt(_ARC)  # the lids meet on the lower lid
        spread[0], spread[8] = -axis * corners[0], axis * corners[1]
        raised[9:16, 1] += 1.0 * self.unit * _ARC
        return _TargetEye(max(float(gap.mean()), 1e-3), raised, spread)

    def overlay(self, fused_xy: np.ndarray) -> list[Layer]:
        """Per closing eye, its lid skin as a `Layer`; fused_xy: (478,2) crop pixels."""
        xy = np.asarray(fused_xy, np.float32)
        found = []
        for eye in (0, 1):
            layer = self._eye_layer(xy, eye)
            if layer is not None:
                found.append(layer)
        return found

    def _eye_layer(self, xy: np.ndarray, eye: int):
        closed = self._closed(xy, eye)
        closing = self._closing(closed)
        if closing <= 0.0:
            return None
        ring, target = _EYES[eye], self._eyes[eye]
        f_poly = xy[ring]
        shut = self._shut(closed)
        moved = self._moved(xy, eye)
        raised = target.raised + shut * target.spread + moved
        if shut > 0.0:
            raised[1:8, 1] += shut * self._to_fold(xy, eye, raised)
        pad = int(math.ceil(3 * self.feather)) + 3
        both = np.concatenate([raised, f_poly])
        x0, y0, x1, y1 = pad_box(both, pad, pad + 1, self.size)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return None
        covered = np.zeros((y1 - y0, x1 - x0), np.uint8)
        fill_aa(covered, raised, (x0, y0))
        opening = self._opening(f_poly, x0, y0, covered.shape)
        if opening is not None:
            covered = cv2.subtract(covered, opening)
        if int(covered.max()) < 32:
            return None
        alpha = cv2.GaussianBlur(covered, (0, 0), self.feather).astype(np.float32)
        alpha *= closing / 255.0
        layer = self._lid_layer(xy, eye, raised, moved, x0, y0, x1, y1)
        lash = 0.75 * self._lash_mask(xy, eye, x0, y0, x1, y1)
        layer += lash[..., None] * (self._lash - layer)
        alpha = np.maximum(alpha, lash * closing)
        return Layer((x0, y0, x1, y1), cv2.convertScaleAbs(layer), alpha)

    def _moved(self, xy: np.ndarray, eye: int) -> np.ndarray:
        """(2,) float32 px: how far the fused eye moved as a whole (`eye_centre`); the eye keeper
        moves the eyeball by it, and the covered polygon goes with it."""
        return (eye_centre(xy, eye) - eye_centre(self._target_xy, eye)).astype(np.float32)

    def _to_fold(self, xy: np.ndarray, eye: int, raised: np.ndarray) -> np.ndarray:
        """(7,) px, <= 0: how far each point of the covered polygon's upper edge (`raised`'s 1..7)
        moves up to reach `FOLD_GAP` below the fused fold above it (0 where it is already
        there or above)."""
        fold = xy[_FOLDS[eye], 1] + FOLD_GAP * self.unit
        return np.minimum(fold - raised[1:8, 1], 0.0)

    def _opening(self, f_poly: np.ndarray, x0: int, y0: int, shape) -> np.ndarray | None:
        """The fused opening's mask, its lids pulled in by 0.7 px (x size/256) each so that a
        shut eye (a polygon of no area, which would still rasterise as a line) subtracts
        nothing; None when it is shut."""
        gap = f_poly[15:8:-1, 1] - f_poly[1:8, 1]
        inset = 0.7 * self.unit
        if float(gap.max()) <= 2.0 * inset:
            return None
        poly = f_poly.copy()
        pull = np.minimum(inset, 0.5 * np.maximum(gap, 0.0))
        poly[1:8, 1] += pull
        poly[15:8:-1, 1] -= pull
        opening = np.zeros(shape, np.uint8)
        fill_aa(opening, poly, (x0, y0))
        return opening

    def _closed(self, xy: np.ndarray, eye: int) -> float:
        """How closed the fused eye is: 1 - its mean lid gap / the target's (<= 1)."""
        ring = _EYES[eye]
        gap_f = np.maximum(xy[ring[15:8:-1], 1] - xy[ring[1:8], 1], 0)
        return 1.0 - mean32(gap_f) / self._eyes[eye].gap

    @staticmethod
    def _shut(closed: float) -> float:
        """0 for an eye at most 60 % closed, rising to 1 at 90 % closed: then the lids meet near
        the lower lid, whose own line (and the corners') the lid skin hides."""
        return min(max((closed - 0.6) / 0.3, 0.0), 1.0)

    @staticmethod
    def _closing(closed: float) -> float:
        """0 for an eye at least 88 % as open as the target's, rising to 1 at 40 % closed."""
        return float(smoothstep((closed - 0.12) / 0.28))

    def _lid_layer(
        self,
        xy,
        eye: int,
        raised: np.ndarray,
        moved: np.ndarray,
        x0: int,
        y0: int,
        x1: int,
        y1: int,
    ) -> np.ndarray:
        """Lid skin (h,w,3) float32 in the target's colours, shaded like a lid over an eyeball
        from the fused lid margin up to the top of what it covers (`raised`'s upper edge);
        moved: (2,) how far the eye moved (`_moved`)."""
        upper_f = xy[_EYES[eye][:9]]
        xs = np.arange(x0, x1, dtype=np.float32)
        upper_t = raised[:9].copy()  # the lid skin brightens up to the top of what it covers,
        upper_t[[0, 8]] = self._eyes[eye].raised[[0, 8]] + moved  # the eye's corners, moved
        top = np.interp(xs, *upper_t[np.argsort(upper_t[:, 0])].T)
        margin = np.interp(xs, *upper_f[np.argsort(upper_f[:, 0])].T)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        depth = clip01((margin - ys) / np.maximum(margin - top, 1.0))
        shade = 0.86 + 0.12 * np.sin(0.5 * np.pi * depth)  # no dark rim on top
        # the target's column colours, moved with the eye (to the pixel)
        columns = np.clip(np.arange(x0, x1) - int(round(float(moved[0]))), 0, self.size - 1)
        return shade[..., None] * self._colours[eye][None, columns, :]

    def _lash_mask(self, xy, eye: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """(h,w) float32 in [0,1]: a soft line along the fused upper lid, heavier at the outside."""
        upper = xy[_EYES[eye][:9]]
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        pts = np.round((upper - (x0, y0)) * (1 << _SHIFT)).astype(np.int32)
        thickness = max(1, int(round(LASH_WIDTH * self.unit)))
        cv2.polylines(mask, [pts], False, 230, thickness, lineType=cv2.LINE_AA, shift=_SHIFT)
        return cv2.GaussianBlur(mask, (0, 0), LASH_SOFT * self.unit).astype(np.float32) / 255.0
