"""Phi, the landmark-fusion autoencoder, and D_J, its landmark discriminator (Fan et al. 2023).

    J_gen = L_t + Phi(L_s, L_t) = L_t + Dec(Enc1(L_s), Enc2(L_t))

L_s: the source's landmarks (the expression to transfer); L_t: the target's (the identity to
keep). Both are aligned landmarks in *unit crop coordinates*: x, y of the canonical crop of side
`size` mapped to [-1, 1] (`x_unit = 2 * x_px / size - 1`), and z, which MediaPipe centres on the
face, scaled by the same factor without the shift (`z_unit = 2 * z_px / size`).
`crop_to_unit` / `unit_to_crop` do the conversion. The paper used dlib's 68 points; this uses
MediaPipe's 478 (x, y, z), or (x, y) with `dims=2`.
"""

from __future__ import annotations

import torch
from torch import nn

from reenact.nn.common import check_shape
from reenact.nn.registry import register

DEFAULT_POINTS = 478
_DECODER_INIT_SCALE = 1e-3  # the decoder's last layer starts near zero: untrained Phi ~ identity


def crop_to_unit(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """(..., P, 2|3) crop pixels -> unit crop coordinates (x, y in [-1,1]; z scaled alike)."""
    scaled = landmarks * (2.0 / size)
    shift = torch.zeros(landmarks.shape[-1], dtype=landmarks.dtype, device=landmarks.device)
    shift[:2] = 1.0
    return scaled - shift


def unit_to_crop(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """Inverse of `crop_to_unit`: unit crop coordinates -> crop pixels."""
    shift = torch.zeros(landmarks.shape[-1], dtype=landmarks.dtype, device=landmarks.device)
    shift[:2] = 1.0
    return (landmarks + shift) * (size / 2.0)


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with LeakyReLU(0.2) between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


@register("fusion")
class LandmarkFusionAE(nn.Module):
    """Phi: two MLP encoders on the flattened source / target landmarks, one MLP decoder.

    Args:
        num_points: landmarks per face (478 for MediaPipe with irises).
        dims: coordinates per landmark used (3: x, y, z; 2: x, y).
        hidden: width of the hidden layers.
        code: size of each encoder's code (the decoder sees 2 * code).
    """

    def __init__(
        self, *, num_points: int = DEFAULT_POINTS, dims: int = 3, hidden: int = 512, code: int = 128
    ) -> None:
        super().__init__()
        if dims not in (2, 3):
            raise ValueError(f"dims must be 2 (x, y) or 3 (x, y, z), got {dims}")
        self.num_points, self.dims, self.hidden, self.code = num_points, dims, hidden, code
        flat = num_points * dims
        self.enc_source = mlp([flat, hidden, hidden, code])  # Enc1(L_s)
        self.enc_target = mlp([flat, hidden, hidden, code])  # Enc2(L_t)
        self.decoder = mlp([2 * code, hidden, hidden, flat])  # Dec
        last = self.decoder[-1]
        with torch.no_grad():
            last.weight.mul_(_DECODER_INIT_SCALE)
            last.bias.zero_()

    def arch_meta(self) -> dict[str, str | int]:
        """What fixes the weights' shapes; stored with the weights and checked on load."""
        return {
            "arch": "fusion",
            "num_points": self.num_points,
            "dims": self.dims,
            "hidden": self.hidden,
            "code": self.code,
        }

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Phi(L_s, L_t): the deviation to add to the target.

        source, target: (B, num_points, dims) unit crop coordinates (x, y in [-1,1]).
        Returns (B, num_points, dims), so that J_gen = target + deviation.
        """
        expected = (None, self.num_points, self.dims)
        check_shape(source, expected, "LandmarkFusionAE source landmarks")
        check_shape(target, expected, "LandmarkFusionAE target landmarks")
        codes = torch.cat(
            [self.enc_source(source.flatten(1)), self.enc_target(target.flatten(1))], dim=1
        )
        return self.decoder(codes).view(-1, self.num_points, self.dims)

    def fuse(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """J_gen = L_t + Phi(L_s, L_t): the target's landmarks with the source's expression.

        source, target: (B, num_points, dims) unit crop coordinates -> (B, num_points, dims).
        """
        return target + self(source, target)


@register("landmark_disc")
class LandmarkDiscriminator(nn.Module):
    """D_J: an MLP scoring a landmark set as real (a tracked face) or generated (J_gen).

    Args:
        num_points, dims: as in LandmarkFusionAE.
        hidden: width of the two hidden layers.
    """

    def __init__(
        self, *, num_points: int = DEFAULT_POINTS, dims: int = 3, hidden: int = 512
    ) -> None:
        super().__init__()
        if dims not in (2, 3):
            raise ValueError(f"dims must be 2 (x, y) or 3 (x, y, z), got {dims}")
        self.num_points, self.dims, self.hidden = num_points, dims, hidden
        self.net = mlp([num_points * dims, hidden, hidden, 1])

    def arch_meta(self) -> dict[str, str | int]:
        """What fixes the weights' shapes; stored with the weights and checked on load."""
        return {
            "arch": "landmark_disc",
            "num_points": self.num_points,
            "dims": self.dims,
            "hidden": self.hidden,
        }

    def forward(self, landmarks: torch.Tensor) -> torch.Tensor:
        """landmarks: (B, num_points, dims) unit crop coordinates -> (B, 1) logits (real > 0)."""
        check_shape(landmarks, (None, self.num_points, self.dims), "LandmarkDiscriminator input")
        return self.net(landmarks.flatten(1))
