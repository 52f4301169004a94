"""The PNG grids a training run writes every `train.image_every` steps (a row per sample).

Generator: target P_t | landmark image | [training-free warp |] generated I_gen | real I_o.
Fusion:    landmark images of L_s | L_t | J_gen | J_o (black when the pair is unpaired).
"""

from __future__ import annotations

import numpy as np
import torch

from reenact.landmarks.landmark_image import draw_landmark_image
from reenact_lab.train.datasets import tensor_to_image
from reenact_lab.train.runlog import image_grid

GRID_ROWS = 4


def generator_grid(batch: dict[str, torch.Tensor], generated: torch.Tensor) -> np.ndarray:
    """batch: a GeneratorDataset batch; generated: (B,3,S,S) in [-1,1] -> (H,W,3) uint8."""
    rows = []
    for i in range(min(GRID_ROWS, generated.shape[0])):
        row = [tensor_to_image(batch["target"][i]), tensor_to_image(batch["condition"][i])]
        if "warped" in batch:
            row.append(tensor_to_image(batch["warped"][i]))
        row += [tensor_to_image(generated[i]), tensor_to_image(batch["real"][i])]
        rows.append(row)
    return image_grid(rows)


def _landmark_tile(unit: torch.Tensor, size: int, blank: bool = False) -> np.ndarray:
    if blank:
        return np.zeros((size, size, 3), np.uint8)
    pixels = (unit.detach().float().cpu().numpy() + np.array([1, 1, 0], np.float32)) * (size / 2)
    return np.repeat(draw_landmark_image(pixels, size)[..., None], 3, axis=2)


def fusion_grid(batch: dict[str, torch.Tensor], fused: torch.Tensor, *, size: int) -> np.ndarray:
    """batch: a FusionDataset batch; fused: J_gen (B,478,3) unit -> (H,W,3) uint8."""
    rows = []
    for i in range(min(GRID_ROWS, fused.shape[0])):
        rows.append(
            [
                _landmark_tile(batch["source"][i], size),
                _landmark_tile(batch["target"][i], size),
                _landmark_tile(fused[i], size),
                _landmark_tile(batch["real"][i], size, blank=float(batch["paired"][i]) == 0),
            ]
        )
    return image_grid(rows)
