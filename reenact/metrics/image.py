"""Quality measures of the papers (docs PAPERS.md): SSIM, PSNR, L1, inter-frame SSIM, landmarks.

Pure functions on numpy arrays, no I/O and no state.

- Images are `(H, W, 3)` RGB or `(H, W)` grayscale `uint8` in [0, 255]; both images of a pair have
  the same shape.
- Landmarks are MediaPipe face-mesh points `(478, 2)` or `(478, 3)` in pixels. Only x and y are
  used: MediaPipe's z is a relative depth, far noisier than x and y, and leaving it out lets
  2-D and 3-D sets be compared.
- Landmark distances are normalised by the inter-ocular distance (IOD): the distance between the
  two eye centres, each the mean of its two eye corners (33, 133 and 362, 263).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import cv2
import numpy as np

from reenact.errors import InputError

__all__ = [
    "ssim",
    "ssim_map",
    "psnr",
    "l1",
    "temporal_ssim",
    "eye_centres",
    "inter_ocular_distance",
    "landmark_error",
    "landmark_jitter",
    "head_motion",
    "stillest_stretch",
]

# Wang et al. 2004: Gaussian window of 11 taps, sigma 1.5, K1 0.01, K2 0.03, data range 255.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
DATA_RANGE = 255.0
_C1 = (0.01 * DATA_RANGE) ** 2
_C2 = (0.03 * DATA_RANGE) ** 2
_PAD = (SSIM_WINDOW - 1) // 2

# MediaPipe face mesh indices.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
NOSE_TIP = 1
NUM_LANDMARKS = 478


# ----------------------------------------------------------------------------- images


def _check_pair(a: np.ndarray, b: np.ndarray, name: str) -> None:
    """Raise InputError unless `a` and `b` are uint8 images of one shape, (H,W) or (H,W,3)."""
    for image in (a, b):
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            got = getattr(image, "dtype", type(image).__name__)
            raise InputError(f"{name}: images must be uint8 numpy arrays, got {got}; convert first")
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise InputError(f"{name}: images must be (H,W) or (H,W,3), got shape {image.shape}")
    if a.shape != b.shape:
        raise InputError(f"{name}: image shapes differ, {a.shape} vs {b.shape}; resize one first")


def _blur(x: np.ndarray) -> np.ndarray:
    """Gaussian window (11 taps, sigma 1.5) over the first two axes; float32 in, float32 out."""
    return cv2.GaussianBlur(
        x, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, sigmaY=SSIM_SIGMA, borderType=cv2.BORDER_REFLECT
    )


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two images, averaged over colour channels.

    Args:
        a, b: (H, W, 3) or (H, W) uint8 in [0, 255], same shape; H and W at least 11.

    Returns:
        (H, W) float64 in [-1, 1] (computed in float32). The outer 5-pixel strip, where the
        window leaves the image, uses reflected borders; `ssim` leaves it out of the mean.
    """
    _check_pair(a, b, "ssim")
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise InputError(f"ssim: images must be at least {SSIM_WINDOW} px a side, got {a.shape}")
    # float32 halves the time of float64; the cancellation in E[x^2] - mu^2 stays below 0.01
    # (values up to 255^2), far under C2 = 58.5, so SSIM moves by ~1e-6.
    x = a.astype(np.float32)
    y = b.astype(np.float32)
    mu_x, mu_y = _blur(x), _blur(y)
    # Population (biased) variances, as in Wang et al. (skimage's use_sample_covariance=False).
    var_x = _blur(x * x) - mu_x * mu_x
    var_y = _blur(y * y) - mu_y * mu_y
    cov_xy = _blur(x * y) - mu_x * mu_y
    numerator = (2.0 * mu_x * mu_y + _C1) * (2.0 * cov_xy + _C2)
    denominator = (mu_x * mu_x + mu_y * mu_y + _C1) * (var_x + var_y + _C2)
    s = (numerator / denominator).astype(np.float64)
    return s.mean(axis=2) if s.ndim == 3 else s


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Structural similarity (Wang et al. 2004) of two images; 1.0 for identical images.

    Gaussian window 11 taps, sigma 1.5, K1 0.01, K2 0.03, data range 255, population covariances.
    RGB images: SSIM of each channel, averaged over the three channels (the convention of
    `skimage.metrics.structural_similarity(channel_axis=-1, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255)`, which this matches to ~1e-6). No conversion to
    luma.

    Args:
        a, b: (H, W, 3) or (H, W) uint8 in [0, 255], same shape.
        mask: optional (H, W) bool (or 0/1) array; the mean is then taken over the masked pixels
            only (e.g. the face region). Without a mask, over all pixels at least 5 from the border.

    Returns:
        float in [-1, 1].
    """
    s = ssim_map(a, b)
    valid = np.zeros(s.shape, dtype=bool)
    valid[_PAD:-_PAD, _PAD:-_PAD] = True
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != s.shape:
            raise InputError(f"ssim: mask shape {mask.shape} differs from image shape {s.shape}")
        valid &= mask.astype(bool)
        if not valid.any():
            raise InputError("ssim: the mask selects no pixel (at least 5 px inside the border)")
    return float(s[valid].mean(dtype=np.float64))


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, data range 255; `math.inf` for identical images.

    Args:
        a, b: (H, W, 3) or (H, W) uint8 in [0, 255], same shape. The MSE is over all channels.
    """
    _check_pair(a, b, "psnr")
    mse = _mse(a, b)
    if mse == 0.0:
        return math.inf
    return float(10.0 * math.log10(DATA_RANGE * DATA_RANGE / mse))


def l1(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference in [0, 1] units (|a - b| / 255 averaged over pixels and channels).

    Args:
        a, b: (H, W, 3) or (H, W) uint8 in [0, 255], same shape.
    """
    _check_pair(a, b, "l1")
    diff = cv2.absdiff(a, b)
    return float(diff.mean(dtype=np.float64) / DATA_RANGE)


def temporal_ssim(frames: Iterable[np.ndarray]) -> tuple[float, list[float]]:
    """Inter-frame SSIM (PAPERS.md section 2: smooth video scores above 0.92).

    Args:
        frames: iterable of (H, W, 3) uint8 RGB frames of one size, at least two. Consumed once,
            holding only two frames at a time, so a generator over a long video is fine.

    Returns:
        (mean, per_pair): the mean SSIM of consecutive pairs and the list of the T-1 pair SSIMs.
    """
    per_pair: list[float] = []
    previous: np.ndarray | None = None
    for frame in frames:
        if previous is not None:
            per_pair.append(ssim(previous, frame))
        previous = frame
    if not per_pair:
        raise InputError("temporal_ssim: needs at least 2 frames; pass a longer clip")
    return float(np.mean(per_pair)), per_pair


# ----------------------------------------------------------------------------- landmarks


def _check_landmarks(points: np.ndarray, name: str, sequence: bool = False) -> np.ndarray:
    """Return the x, y of (478, 2|3) landmarks (or (T, 478, 2|3) when `sequence`) as float64."""
    points = np.asarray(points)
    lead = 1 if sequence else 0
    expected = "(T, 478, 2|3)" if sequence else "(478, 2|3)"
    if (
        points.ndim != 2 + lead
        or points.shape[lead] != NUM_LANDMARKS
        or points.shape[lead + 1] not in (2, 3)
    ):
        raise InputError(f"{name}: landmarks must be {expected} points, got {points.shape}")
    return points[..., :2].astype(np.float64)


def eye_centres(landmarks: np.ndarray) -> np.ndarray:
    """Eye centres, each the mean of its two corners (33, 133) and (362, 263).

    Args:
        landmarks: (..., 478, 2|3) MediaPipe points in pixels.

    Returns:
        (..., 2, 2) float64: [right-eye (x, y), left-eye (x, y)] (the subject's right eye first).
    """
    points = np.asarray(landmarks, dtype=np.float64)[..., :2]
    right = points[..., RIGHT_EYE_CORNERS, :].mean(axis=-2)
    left = points[..., LEFT_EYE_CORNERS, :].mean(axis=-2)
    return np.stack([right, left], axis=-2)


def inter_ocular_distance(landmarks: np.ndarray) -> np.ndarray | float:
    """Distance between the eye centres, in pixels: float for (478, 2|3), (T,) for (T, 478, 2|3)."""
    centres = eye_centres(landmarks)
    iod = np.linalg.norm(centres[..., 1, :] - centres[..., 0, :], axis=-1)
    return float(iod) if iod.ndim == 0 else iod


def _positive_iod(landmarks: np.ndarray, name: str) -> np.ndarray | float:
    iod = inter_ocular_distance(landmarks)
    if np.any(~np.isfinite(iod)) or np.any(np.asarray(iod) <= 1e-6):
        raise InputError(f"{name}: eye centres coincide (inter-ocular distance 0); bad landmarks")
    return iod


def landmark_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean point-to-point distance between two landmark sets, in units of ref's IOD.

    Args:
        pred, ref: (478, 2|3) MediaPipe points in pixels of one image (x, y used).

    Returns:
        float >= 0: mean over the 478 points of ||pred - ref|| / IOD(ref). 0 for identical sets;
        a uniform shift of d pixels gives d / IOD(ref).
    """
    p = _check_landmarks(pred, "landmark_error")
    r = _check_landmarks(ref, "landmark_error")
    iod = _positive_iod(r, "landmark_error")
    return float(np.linalg.norm(p - r, axis=-1).mean() / iod)


def landmark_jitter(seq: np.ndarray) -> float:
    """Mean frame-to-frame landmark displacement, in units of inter-ocular distance.

    Measures all motion: on a still stretch (see `stillest_stretch`) it is the tracker's or the
    smoother's jitter.

    Args:
        seq: (T, 478, 2|3) MediaPipe points in pixels, T >= 2 (x, y used).

    Returns:
        float >= 0: mean over the T-1 pairs and 478 points of ||seq[t+1] - seq[t]||, each pair
        divided by the mean IOD of its two frames. 0 for a constant sequence.
    """
    points = _check_landmarks(seq, "landmark_jitter", sequence=True)
    if points.shape[0] < 2:
        raise InputError("landmark_jitter: needs at least 2 frames of landmarks")
    iod = _positive_iod(points, "landmark_jitter")
    pair_iod = 0.5 * (iod[1:] + iod[:-1])
    step = np.linalg.norm(np.diff(points, axis=0), axis=-1).mean(axis=1)  # (T-1,)
    return float((step / pair_iod).mean())


def head_motion(seq: np.ndarray) -> np.ndarray:
    """Per-pair head motion: mean displacement of the two eye centres and the nose tip, over IOD.

    These three points move with the head and hardly with the expression (brows, lids and mouth
    are left out), so they separate head motion from expression change.

    Args:
        seq: (T, 478, 2|3) MediaPipe points in pixels, T >= 2.

    Returns:
        (T-1,) float64 >= 0, entry t for the frames t -> t+1.
    """
    points = _check_landmarks(seq, "head_motion", sequence=True)
    if points.shape[0] < 2:
        raise InputError("head_motion: needs at least 2 frames of landmarks")
    iod = _positive_iod(points, "head_motion")
    anchors = np.concatenate([eye_centres(points), points[:, NOSE_TIP : NOSE_TIP + 1]], axis=1)
    step = np.linalg.norm(np.diff(anchors, axis=0), axis=-1).mean(axis=1)  # (T-1,)
    return step / (0.5 * (iod[1:] + iod[:-1]))


def stillest_stretch(seq: np.ndarray, length: int) -> tuple[int, int]:
    """The `length` consecutive frames with the least head motion (see `head_motion`).

    Args:
        seq: (T, 478, 2|3) MediaPipe points in pixels.
        length: frames in the stretch, 2 <= length <= T.

    Returns:
        (start, end), end exclusive: `seq[start:end]` is the stretch; the earliest on ties.
    """
    points = _check_landmarks(seq, "stillest_stretch", sequence=True)
    total = points.shape[0]
    if not 2 <= length <= total:
        raise InputError(f"stillest_stretch: length must be in [2, {total}] frames, got {length}")
    motion = head_motion(points)
    window = np.convolve(motion, np.ones(length - 1), mode="valid")  # (T-length+1,)
    start = int(np.argmin(window))
    return start, start + length
