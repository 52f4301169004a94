"""Colour and scale augmentation of Omega's samples, and the left-right flip of an image
(`flip_image`; its landmarks' flip is `reenact.landmarks.flip`).

One draw (`draw_augment`) is applied alike to every image of a sample (P_t, I_o and, for the
warp-guided variant, the warp) and to I_o's landmarks, so the pair still says "this face, with
that expression": only the camera changed.

- colour: per-channel gain 1 + U(-c, c), a brightness offset U(-c, c) x 64 levels, and a
  saturation factor 1 + U(-c, c) (a mix with the grey image);
- scale: a zoom 1 + U(-s, s) about the crop centre and a shift U(-s, s) x S / 2 in x and y
  (images: `cv2.warpAffine`, borders reflected; landmarks: the same affine, z scaled alike).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def flip_image(image: np.ndarray) -> np.ndarray:
    """(H, W, C) or (H, W) image -> its left-right mirror, C-contiguous, same dtype."""
    return np.ascontiguousarray(image[:, ::-1])


@dataclass(frozen=True)
class Augment:
    """One sample's draw: gain (3,), offset (levels), saturation, zoom, shift (2,) in pixels."""

    gain: np.ndarray
    offset: float
    saturation: float
    zoom: float
    shift: np.ndarray

    @property
    def identity(self) -> bool:
        return (
            self.zoom == 1.0
            and not self.shift.any()
            and self.saturation == 1.0
            and self.offset == 0.0
            and bool((self.gain == 1.0).all())
        )

    def matrix(self, size: int) -> np.ndarray:
        """(2,3) float32 crop -> augmented crop: zoom about the centre, then shift."""
        centre = size / 2.0
        t = (1.0 - self.zoom) * centre + self.shift
        return np.array([[self.zoom, 0.0, t[0]], [0.0, self.zoom, t[1]]], np.float32)


NO_AUGMENT = Augment(np.ones(3, np.float32), 0.0, 1.0, 1.0, np.zeros(2, np.float32))


def draw_augment(rng: np.random.Generator, *, colour: float, scale: float, size: int) -> Augment:
    """A random `Augment` of strengths colour, scale in [0, 0.5] (0 = off)."""
    if colour <= 0 and scale <= 0:
        return NO_AUGMENT
    u = rng.uniform(-1.0, 1.0, 8).astype(np.float32)
    return Augment(
        gain=1.0 + colour * u[:3],
        offset=float(colour * u[3] * 64.0),
        saturation=float(1.0 + colour * u[4]),
        zoom=float(1.0 + scale * u[5]),
        shift=scale * u[6:8] * np.float32(size / 2.0),
    )


def augment_image(image: np.ndarray, aug: Augment) -> np.ndarray:
    """(S,S,3) uint8 -> (S,S,3) uint8 with the draw's geometry and colour."""
    if aug.identity:
        return image
    size = image.shape[0]
    out = image
    if aug.zoom != 1.0 or aug.shift.any():
        out = cv2.warpAffine(
            image,
            aug.matrix(size),
            (size, size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT101,
        )
    x = out.astype(np.float32)
    if aug.saturation != 1.0:
        grey = x.mean(axis=2, keepdims=True)
        x = grey + (x - grey) * np.float32(aug.saturation)
    x = x * aug.gain + np.float32(aug.offset)
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def augment_landmarks(landmarks: np.ndarray, aug: Augment, size: int) -> np.ndarray:
    """(478,3) crop pixels -> the same points in the augmented crop (z scaled by the zoom)."""
    if aug.zoom == 1.0 and not aug.shift.any():
        return landmarks
    m = aug.matrix(size)
    out = np.array(landmarks, np.float32, copy=True)
    out[:, :2] = out[:, :2] @ m[:, :2].T + m[:, 2]
    out[:, 2] *= np.float32(aug.zoom)
    return out
