"""Phi as a correction on top of the training-free transfer (the shipped landmark fusion).

    J_gen = L_t + Phi(L_s, L_t) = L_t + s * (L_s - N_s) + C(L_s - N_s, N_s, L_t)

s * (L_s - N_s) is the training-free transfer (`reenact.fusion.transfer`): the actor's
deviation d = L_s - N_s from their neutral N_s, resized per facial region to the target. C is
what the network adds, with the paper's two encoders and a decoder:

    Enc1(d) = V d                     k expression coefficients of the actor's deviation
    Enc2(G)                           a code of a face's geometry G (an MLP)
    Dec(Enc2(G)) = U(G)               (k, P*dims): how face G shows each of the k expressions
                                      beyond what the linear transfer does
    C = sum_k (V d)_k * (U(L_t) - U(N_s))_k

C swaps the actor's own way of showing an expression for the target's. It is linear in d, so
C = 0 for a neutral actor and grows with the expression as the transfer does (the amplitude and
its timing are kept), and C = 0 when the actor drives their own face (L_t = N_s), where the
transfer is exact. The decoder's last layer starts at zero: an untrained network is the
training-free transfer. Landmarks are unit crop coordinates (`reenact_lab.nn.fusion.crop_to_unit`).
"""

from __future__ import annotations

import torch
from torch import nn

from reenact.nn.common import check_shape
from reenact_lab.nn.fusion import DEFAULT_POINTS, mlp
from reenact.nn.registry import register

INPUT_GAIN = 10.0  # unit-coordinate offsets are ~0.05: scale them to ~0.5 for the MLPs


@register("fusion_residual")
class ResidualFusion(nn.Module):
    """C(d, N_s, L_t): a correction of the training-free transfer, zero where it is exact.

    Args:
        num_points: landmarks per face (478 for MediaPipe with irises).
        dims: coordinates per landmark (3: x, y, z).
        hidden: width of the geometry encoder's and decoder's hidden layers.
        code: size of the geometry code; basis: k, the number of expression coefficients.
    """

    def __init__(
        self,
        *,
        num_points: int = DEFAULT_POINTS,
        dims: int = 3,
        hidden: int = 128,
        code: int = 32,
        basis: int = 8,
    ) -> None:
        super().__init__()
        self.num_points, self.dims, self.hidden, self.code = num_points, dims, hidden, code
        self.basis = basis
        flat = num_points * dims
        self.register_buffer("mean_face", torch.zeros(num_points, dims))
        self.enc_source = nn.Linear(flat, basis, bias=False)  # Enc1: V
        self.enc_target = mlp([flat, hidden, code])  # Enc2
        self.decoder = mlp([code, hidden, basis * flat])  # Dec -> U(G)
        last = self.decoder[-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.zero_()

    def arch_meta(self) -> dict[str, str | int]:
        """What fixes the weights' shapes; stored with the weights and checked on load."""
        return {
            "arch": "fusion_residual",
            "num_points": self.num_points,
            "dims": self.dims,
            "hidden": self.hidden,
            "code": self.code,
            "basis": self.basis,
        }

    def realisation(self, geometry: torch.Tensor) -> torch.Tensor:
        """U(G): (B, P, dims) a face's neutral, unit coordinates -> (B, k, P*dims)."""
        code = self.enc_target((geometry - self.mean_face).flatten(1) * INPUT_GAIN)
        return self.decoder(code).view(-1, self.basis, self.num_points * self.dims)

    def forward(
        self, deviation: torch.Tensor, source_neutral: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        """deviation L_s - N_s, source_neutral N_s, target L_t: (B, P, dims) unit coordinates.

        Returns the correction C, (B, P, dims) unit coordinates, added to the transfer.
        """
        expected = (None, self.num_points, self.dims)
        for name, t in (
            ("deviation", deviation),
            ("source_neutral", source_neutral),
            ("target", target),
        ):
            check_shape(t, expected, f"ResidualFusion {name}")
        batch = deviation.shape[0]
        coefficients = self.enc_source(deviation.flatten(1) * INPUT_GAIN)  # (B, k)
        both = self.realisation(torch.cat([target, source_neutral]))
        swap = both[:batch] - both[batch:]  # (B, k, P*dims)
        correction = torch.einsum("bk,bkf->bf", coefficients, swap) / INPUT_GAIN
        return correction.view(batch, self.num_points, self.dims)
