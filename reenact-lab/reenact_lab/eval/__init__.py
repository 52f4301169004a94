"""Evaluation: the papers' quality measures (`metrics`), identity descriptors (`identity`).

Importing this package loads neither dlib nor any model; `IdentityEmbedder()` does.
"""

from reenact_lab.eval.identity import (
    SAME_PERSON_THRESHOLD,
    IdentityEmbedder,
    face_box_from_eye_centres,
    identity_distance,
)
from reenact_lab.metrics.image import l1, psnr, ssim, ssim_map, temporal_ssim
from reenact_lab.metrics.landmarks import (
    eye_centres,
    head_motion,
    inter_ocular_distance,
    landmark_error,
    landmark_jitter,
    stillest_stretch,
)

__all__ = [
    "SAME_PERSON_THRESHOLD",
    "IdentityEmbedder",
    "eye_centres",
    "face_box_from_eye_centres",
    "head_motion",
    "identity_distance",
    "inter_ocular_distance",
    "l1",
    "landmark_error",
    "landmark_jitter",
    "psnr",
    "ssim",
    "ssim_map",
    "stillest_stretch",
    "temporal_ssim",
]
