"""Keeping a warp-guided generator's colours on the warp's: a low-frequency gain per frame.

The warp takes every pixel from the target, so its colour and brightness are the target's,
moved with the face. The network repaints the crop, and off its training data (a large head
turn, a pale made-up face) it can wash the face out or tint it: a white glow that the
compositor's colour match cannot undo, since that compares the render with the target crop at
rest, not with the face where it is now. The warp is in the same place as the render, so the
render is brought to it over broad areas only:

    gain = (G*W + e) / (G*R + e)     per channel, at ANCHOR_SIDE, clamped to [1/LIMIT, LIMIT]
    R'   = R * upsample(gain)

W and R are the warp and the render shrunk to ANCHOR_SIDE (area average), G a Gaussian of
`sigma_px` (given at a 256 px crop, so the same share of the face at 512). Detail, edges and
whatever the network draws finer than that (teeth, lids, creases) are kept; its overall colour
cast is not.

Finer than that, the network can still tint: a rosy cheek or blue lips on a black-and-white
photo, a grey-blue patch on a turned cheek. `chroma_numpy` keeps the network's brightness at
each pixel (its shading, teeth, lids and creases) under the warp's colour there:

    out = W + (Y(R) - Y(W))     on each channel, Y the BT.601 luma (as OpenCV's YCrCb)

which is the render's luma with the warp's chroma, since YCrCb is linear in RGB. On real video
of colour faces the network's own chroma is the better one (lips redden as they stretch, the
light changes), so by default (`renderer.chroma: auto`) the step runs only for a picture with no
colour (`colourless`), where every colour the network draws is wrong.

`anchor_numpy` and `chroma_numpy` serve the CPU backends, `TorchAnchor` the device path
(`reenact.render.generator_cuda`); they agree to rounding.
"""

from __future__ import annotations

import cv2
import numpy as np

ANCHOR_SIDE = 32  # the gain is measured and smoothed at this side
EPS = 4.0  # levels added to both sides: dark regions get a gain near 1, not noise
LIMIT = 2.0  # the gain stays in [1/2, 2]
LUMA = np.float32([0.299, 0.587, 0.114])  # BT.601 weights of R, G, B
# Cr, Cb levels from grey within which a face counts as colourless: the rounding that 8-bit
# RGB and JPEG's chroma leave on a black-and-white picture
GREY_LEVELS = 2.0


def _sigma_small(sigma_px: float) -> float:
    """`sigma_px` (given at a 256 px crop) in pixels of the ANCHOR_SIDE image, whatever the
    crop's side: the crop is shrunk to ANCHOR_SIDE either way."""
    return float(sigma_px) * ANCHOR_SIDE / 256.0


def anchor_numpy(
    render: np.ndarray, warped: np.ndarray, sigma_px: float, out: np.ndarray | None = None
) -> np.ndarray:
    """render, warped: (S,S,3) uint8 -> (S,S,3) uint8, the render with the warp's low
    frequencies (module docstring); written into `out` when given (may be `render`)."""
    size = render.shape[0]
    side = (ANCHOR_SIDE, ANCHOR_SIDE)
    small_r = cv2.resize(render, side, interpolation=cv2.INTER_AREA).astype(np.float32)
    small_w = cv2.resize(warped, side, interpolation=cv2.INTER_AREA).astype(np.float32)
    sigma = _sigma_small(sigma_px)
    small_r = cv2.GaussianBlur(small_r, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    small_w = cv2.GaussianBlur(small_w, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    gain = np.clip((small_w + EPS) / (small_r + EPS), 1.0 / LIMIT, LIMIT)
    gain = cv2.resize(gain, (size, size), interpolation=cv2.INTER_LINEAR)
    if out is None:
        out = np.empty_like(render)
    cv2.multiply(render, gain, dst=out, dtype=cv2.CV_8U)
    return out


def chroma_numpy(
    render: np.ndarray, warped: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """render, warped: (S,S,3) uint8 RGB -> (S,S,3) uint8, the render's luma with the warp's
    chroma (module docstring); written into `out` when given (may be `render`)."""
    delta = cv2.transform(cv2.subtract(render, warped, dtype=cv2.CV_32F), LUMA[None])
    if out is None:
        out = np.empty_like(render)
    return cv2.add(warped, cv2.merge((delta, delta, delta)), dst=out, dtype=cv2.CV_8U)


def colourless(crop: np.ndarray, landmarks: np.ndarray) -> bool:
    """Whether the face in `crop` (S,S,3) uint8 RGB, inside the hull of `landmarks` (N,2|3)
    crop pixels, is grey: 99 % of its pixels (every other row and column: a moving target asks
    once a frame) within GREY_LEVELS of grey in Cr, Cb."""
    hull = cv2.convexHull(np.round(np.asarray(landmarks)[:, :2] / 2).astype(np.int32))
    half = np.ascontiguousarray(crop[::2, ::2])
    inside = np.zeros(half.shape[:2], np.uint8)
    cv2.fillConvexPoly(inside, hull, 1)
    ycc = cv2.cvtColor(half, cv2.COLOR_RGB2YCrCb)[inside > 0]
    if len(ycc) == 0:
        return False
    chroma = ycc[:, 1:].astype(np.float32) - 128.0
    away = np.count_nonzero((chroma * chroma).sum(axis=1) > GREY_LEVELS**2)
    return bool(away <= 0.01 * len(ycc))


class ChromaChoice:
    """Whether a warp-guided generator takes the warp's chroma (`renderer.chroma`): `on` for the
    current target. "warp" always, "network" never, "auto" where the target's face is
    colourless; a personal avatar keeps its own colours unless the config set "warp"."""

    def __init__(self, mode: str) -> None:
        self.configured = self.mode = mode
        self.on = False
        self._grey: bool | None = None  # the current target's face colourless; None: no target

    def target(self, crop: np.ndarray, landmarks: np.ndarray) -> None:
        # tested once a target, and only where an avatar's switch can make it matter
        self._grey = self.configured == "auto" and colourless(crop, landmarks)
        self._decide()

    def avatar(self, avatar) -> None:
        """Follow `set_avatar(avatar)` (None: the shipped generator)."""
        own = avatar is not None and self.configured != "warp"
        self.mode = "network" if own else self.configured
        self._decide()

    def _decide(self) -> None:
        mode = self.mode
        self.on = self._grey is not None and (mode == "warp" or (mode == "auto" and self._grey))


def luma_weights(device):
    """LUMA as a (3,1,1) float tensor on `device`, for `chroma_torch` (made once: a CUDA graph
    cannot copy it up while it captures)."""
    import torch

    return torch.from_numpy(LUMA.copy()).to(device).view(3, 1, 1)


def chroma_torch(render, warped, luma):
    """`chroma_numpy` on (3,S,S) float tensors in 0..255 (unclamped); luma: `luma_weights`."""
    return warped + ((render - warped) * luma).sum(0, keepdim=True)


def gaussian_taps(sigma: float) -> np.ndarray:
    """The 1-D taps OpenCV's GaussianBlur uses for `sigma` on float32 images (odd length)."""
    ksize = int(round(sigma * 4 * 2 + 1)) | 1  # cv2's rule for float32 images
    return cv2.getGaussianKernel(ksize, sigma, cv2.CV_32F)[:, 0]


class TorchAnchor:
    """`anchor_numpy` on a torch device, for crops of side `size`: `apply(render, warped)` with
    (3,S,S) float tensors in 0..255 returns the anchored render (float, unclamped).

    Everything it needs per frame (the blur taps) is made here, once, on `device`; a frame's
    work is an average pool, two separable convolutions, a bilinear upsample and a multiply,
    so it can be captured in a CUDA graph."""

    def __init__(self, size: int, sigma_px: float, device) -> None:
        import torch  # the CPU path never needs torch for this

        self.size = int(size)
        taps = torch.from_numpy(gaussian_taps(_sigma_small(sigma_px))).to(device)
        self.pad = (len(taps) - 1) // 2
        self.row = taps.view(1, 1, 1, -1).repeat(6, 1, 1, 1)  # render and warp, 3 channels each
        self.col = taps.view(1, 1, -1, 1).repeat(6, 1, 1, 1)

    def apply(self, render, warped):
        import torch
        import torch.nn.functional as F

        both = torch.cat((render, warped))[None]  # (1,6,S,S)
        small = F.avg_pool2d(both, self.size // ANCHOR_SIDE)
        p = self.pad
        small = F.conv2d(F.pad(small, (p, p, 0, 0), mode="reflect"), self.row, groups=6)
        small = F.conv2d(F.pad(small, (0, 0, p, p), mode="reflect"), self.col, groups=6)
        gain = ((small[:, 3:] + EPS) / (small[:, :3] + EPS)).clamp(1.0 / LIMIT, LIMIT)
        gain = F.interpolate(
            gain, size=(self.size, self.size), mode="bilinear", align_corners=False
        )
        return render * gain[0]
