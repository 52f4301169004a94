"""The canonical aligned crop: eyes level, at fixed places, fixed scale.

Every network and the warp renderer work on a square crop of side `size` (256 default, 512
supported) in which the two eye centres land exactly on `canonical_eye_centres(size)`:

    image-left eye  at (0.375 * size, 0.39 * size)
    image-right eye at (0.625 * size, 0.39 * size)

so the inter-ocular distance is 0.25 * size (64 px at 256). Chosen by measuring the aligned mesh
over the shared frontal clips, so that brows, cheeks and a wide-open jaw stay inside with a
margin, and hair / neck give the compositor context to feather into. Strongly turned heads
(yaw > ~30 deg) shrink the 2-D eye distance and so are scaled up; their cheek or chin may then
leave the crop.

The eye centre is the mean of the eye's two corner points (MediaPipe 33 & 133 for the image-left
eye, 362 & 263 for the image-right eye), not the iris, which moves with gaze.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Canonical placement of the eye centres, as fractions of the crop side.
CANONICAL_EYE_Y = 0.39
CANONICAL_EYE_X = (0.375, 0.625)

# Eye corner indices in the 478-point MediaPipe mesh (image-left eye first, for a non-mirrored
# image of a person facing the camera: MediaPipe's "right eye" is the subject's right).
IMAGE_LEFT_EYE_CORNERS = (33, 133)
IMAGE_RIGHT_EYE_CORNERS = (362, 263)


def canonical_eye_centres(size: int) -> np.ndarray:
    """Where the eye centres go in the aligned crop.

    Returns (2,2) float32: row 0 = image-left eye (x,y), row 1 = image-right eye, in crop pixels.
    """
    y = CANONICAL_EYE_Y * size
    return np.array(
        [[CANONICAL_EYE_X[0] * size, y], [CANONICAL_EYE_X[1] * size, y]], dtype=np.float32
    )


def eye_centres(landmarks: np.ndarray) -> np.ndarray:
    """Eye centres of a face: mean of each eye's two corners.

    landmarks: (478,2|3) pixels. Returns (2,2) float32 (image-left eye first), same pixels.
    """
    lm = np.asarray(landmarks)
    left = lm[list(IMAGE_LEFT_EYE_CORNERS), :2].mean(axis=0)
    right = lm[list(IMAGE_RIGHT_EYE_CORNERS), :2].mean(axis=0)
    return np.stack([left, right]).astype(np.float32)


def inter_ocular_distance(landmarks: np.ndarray) -> float:
    """Distance between the two eye centres, in the landmarks' pixels."""
    e = eye_centres(landmarks)
    return float(np.hypot(*(e[1] - e[0])))


def _similarity_from_pairs(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The similarity (rotation, uniform scale, translation) mapping src[0]->dst[0], src[1]->dst[1].

    src, dst: (2,2). Returns (2,3) float64. Written with complex numbers: z' = a (z - s0) + d0.
    """
    s = src.astype(np.float64)
    d = dst.astype(np.float64)
    zs = complex(*(s[1] - s[0]))
    if abs(zs) < 1e-9:
        raise ValueError("eye centres coincide; cannot align a degenerate face")
    a = complex(*(d[1] - d[0])) / zs
    t = complex(*d[0]) - a * complex(*s[0])
    return np.array([[a.real, -a.imag, t.real], [a.imag, a.real, t.imag]], dtype=np.float64)


def _apply(matrix: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return xy @ matrix[:, :2].T + matrix[:, 2]


@dataclass(frozen=True)
class Alignment:
    """An image <-> canonical crop similarity transform.

    matrix:  (2,3) float64, image pixels -> crop pixels.
    inverse: (2,3) float64, crop pixels -> image pixels (cv2.warpAffine pastes a crop back).
    size:    crop side in pixels.
    scale:   crop pixels per image pixel (z of landmarks is scaled by it too).
    """

    matrix: np.ndarray
    inverse: np.ndarray
    size: int
    scale: float

    def landmarks_to_crop(self, landmarks: np.ndarray) -> np.ndarray:
        """(N,2|3) image pixels -> (N,2|3) float32 crop pixels (z scaled by `scale`)."""
        return self._map(landmarks, self.matrix, self.scale)

    def landmarks_to_image(self, landmarks_crop: np.ndarray) -> np.ndarray:
        """(N,2|3) crop pixels -> (N,2|3) float32 image pixels (z divided by `scale`)."""
        return self._map(landmarks_crop, self.inverse, 1.0 / self.scale)

    @staticmethod
    def _map(lm: np.ndarray, matrix: np.ndarray, z_scale: float) -> np.ndarray:
        lm = np.asarray(lm, dtype=np.float64)
        out = np.empty(lm.shape, dtype=np.float32)
        out[:, :2] = _apply(matrix, lm[:, :2])
        if lm.shape[1] > 2:
            out[:, 2:] = lm[:, 2:] * z_scale
        return out

    def crop_image(
        self,
        image: np.ndarray,
        *,
        border: int = cv2.BORDER_REFLECT,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """The aligned crop of `image`: (H,W,3) uint8 -> (size,size,3) uint8 (bilinear).

        `out`, if given, is a C-contiguous (size,size,3) uint8 buffer written in place.
        """
        dsize = (self.size, self.size)
        if out is None:
            return cv2.warpAffine(
                image, self.matrix, dsize, flags=cv2.INTER_LINEAR, borderMode=border
            )
        cv2.warpAffine(
            image, self.matrix, dsize, dst=out, flags=cv2.INTER_LINEAR, borderMode=border
        )
        return out


def compute_alignment(landmarks: np.ndarray, size: int) -> Alignment:
    """The alignment putting the eye centres of `landmarks` exactly on the canonical ones.

    landmarks: (478,2|3) image pixels; size: crop side (256 or 512). Raises ValueError for a
    degenerate face (both eye centres at one point).
    """
    matrix = _similarity_from_pairs(eye_centres(landmarks), canonical_eye_centres(size))
    inverse = cv2.invertAffineTransform(matrix)
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    return Alignment(matrix=matrix, inverse=inverse, size=int(size), scale=scale)
