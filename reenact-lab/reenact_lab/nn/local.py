"""Local discriminators on the eye and mouth crops (LGP-GAN, PAPERS.md section 4).

Expressions live in the eyes and mouth, and a whole-face PatchGAN lets them go soft. The crops
are cut from the aligned crop by the ground truth's landmarks (the same box for the real and the
generated image, and for the target P_t that conditions them), resampled to fixed sizes by
`grid_sample` (differentiable, so the generator gets the local gradients):

    eyes   both eyes: centred between the eye centres, EYE_WIDTH x inter-ocular distance wide,
           out (EYES_HW) = 64 x 128 at a 256 crop (LGP-GAN: 48 x 96 at 128)
    mouth  centred on the lips, MOUTH_WIDTH x mouth width wide, out (MOUTH_HW) = 64 x 96

Each region has its own conditional PatchGAN (3-level, 6 channels: P_t's region + the image's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reenact_lab.nn.patchgan import PatchDiscriminator
from reenact.nn.registry import register

# MediaPipe mesh indices (the subject's right / left eye corners, mouth corners, lips)
_RIGHT_EYE_CORNERS, _LEFT_EYE_CORNERS = (33, 133), (362, 263)
_MOUTH_CORNERS = (61, 291)
_LIPS_MID = (13, 14, 0, 17)
EYE_WIDTH = 2.2  # x inter-ocular distance
MOUTH_WIDTH = 1.8  # x mouth-corner distance
EYES_HW = (64, 128)
MOUTH_HW = (64, 96)
REGIONS = ("eyes", "mouth")


def region_boxes(landmarks: torch.Tensor) -> dict[str, torch.Tensor]:
    """landmarks: (B,478,2) crop pixels -> {region: (B,4) boxes (cx, cy, width, height) in crop
    pixels}; the box's aspect is that of the region's output size."""
    lm = landmarks.float()
    right = lm[:, list(_RIGHT_EYE_CORNERS)].mean(1)
    left = lm[:, list(_LEFT_EYE_CORNERS)].mean(1)
    eyes_c = (right + left) / 2
    eyes_w = EYE_WIDTH * (left - right).norm(dim=1).clamp(min=4.0)
    corners = lm[:, list(_MOUTH_CORNERS)]
    mouth_c = lm[:, list(_LIPS_MID)].mean(1)
    mouth_w = MOUTH_WIDTH * (corners[:, 1] - corners[:, 0]).norm(dim=1).clamp(min=4.0)
    return {
        "eyes": torch.cat(
            [eyes_c, eyes_w[:, None], (eyes_w * EYES_HW[0] / EYES_HW[1])[:, None]], 1
        ),
        "mouth": torch.cat(
            [mouth_c, mouth_w[:, None], (mouth_w * MOUTH_HW[0] / MOUTH_HW[1])[:, None]], 1
        ),
    }


def cut_regions(images: torch.Tensor, boxes: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """images: (B,C,S,S); boxes: (B,4) (cx, cy, w, h) crop pixels -> (B,C,*out_hw), bilinear,
    zeros outside the image. Differentiable in `images`."""
    b, _, h, w = images.shape
    scale = images.new_tensor([w, h])
    centre = boxes[:, :2] / scale * 2 - 1  # align_corners=False: pixel edges at -1, 1
    half = boxes[:, 2:] / scale
    theta = torch.zeros(b, 2, 3, device=images.device, dtype=images.dtype)
    theta[:, 0, 0], theta[:, 1, 1] = half[:, 0], half[:, 1]
    theta[:, :, 2] = centre
    grid = F.affine_grid(theta, [b, images.shape[1], *out_hw], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@register("local_patchgan")
class LocalDiscriminators(nn.Module):
    """D_eyes and D_mouth: conditional PatchGANs on the regions of (P_t, image).

    Args: ndf width, n_layers of each PatchGAN (3: 6x14 map for the eyes, 6x10 for the mouth).
    """

    def __init__(self, *, ndf: int = 64, n_layers: int = 3, in_channels: int = 6) -> None:
        super().__init__()
        self.ndf, self.n_layers, self.in_channels = ndf, n_layers, in_channels
        self.discs = nn.ModuleDict(
            {
                name: PatchDiscriminator(in_channels=in_channels, ndf=ndf, n_layers=n_layers)
                for name in REGIONS
            }
        )

    def arch_meta(self) -> dict[str, str | int]:
        return {
            "arch": "local_patchgan",
            "ndf": self.ndf,
            "n_layers": self.n_layers,
            "in_channels": self.in_channels,
        }

    @staticmethod
    def regions(pair: torch.Tensor, landmarks: torch.Tensor) -> dict[str, torch.Tensor]:
        """pair: (B,C,S,S); landmarks (B,478,2) -> {region: (B,C,h,w) crops}."""
        boxes = region_boxes(landmarks)
        sizes = {"eyes": EYES_HW, "mouth": MOUTH_HW}
        return {name: cut_regions(pair, boxes[name], sizes[name]) for name in REGIONS}

    def forward(self, pair: torch.Tensor, landmarks: torch.Tensor) -> dict[str, torch.Tensor]:
        """pair: (B, in_channels, S, S) = cat(P_t, image) in [-1,1]; landmarks: (B,478,2) crop
        pixels -> {"eyes": (B,1,6,14), "mouth": (B,1,6,10)} logits."""
        return {
            name: self.discs[name](crop) for name, crop in self.regions(pair, landmarks).items()
        }
