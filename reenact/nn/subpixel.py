"""Transposed convolutions rewritten as four 2x2 convolutions, for INT8 inference on the CPU.

A transposed convolution with kernel 4, stride 2 and padding 1 (every up-sampling layer of the
U-net) computes each output phase (row 2i+a, column 2j+b; a, b in {0,1}) from a 2x2 window of the
input: rows i-1, i for a = 0 and i, i+1 for a = 1 (columns alike), through kernel taps
_TAPS[a] x _TAPS[b] of the transposed kernel. So it equals one 2x2 convolution (padding 1, the
four phases' kernels stacked as 4x the output channels) whose phases are cropped and interleaved.
ONNX Runtime quantises a Conv (QLinearConv) but runs ConvTranspose in float, so the INT8 export
(`reenact.engine.quantize`) uses this form; in fp32 it is not faster there (the interleave costs
what the ConvTranspose saves), so the fp32 export keeps ConvTranspose. A BatchNorm right after the
transposed convolution (inference statistics) is folded in. Same function up to float rounding
(`tests/unit/test_subpixel.py`).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

# kernel taps (rows or columns) of the transposed kernel for phase a: window offset 0, 1
_TAPS = ((3, 1), (2, 0))


def is_up2(module: nn.Module) -> bool:
    """A ConvTranspose2d with kernel 4, stride 2, padding 1 (and nothing unusual)."""
    return (
        isinstance(module, nn.ConvTranspose2d)
        and module.kernel_size == (4, 4)
        and module.stride == (2, 2)
        and module.padding == (1, 1)
        and module.output_padding == (0, 0)
        and module.dilation == (1, 1)
        and module.groups == 1
    )


def _folded(tconv: nn.ConvTranspose2d, norm: nn.BatchNorm2d | None):
    """The transposed kernel (C_in,C_out,4,4) and bias (C_out,) with `norm` folded in."""
    weight = tconv.weight.detach().float()
    bias = tconv.bias.detach().float() if tconv.bias is not None else torch.zeros(weight.shape[1])
    if norm is not None:  # y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel
        scale = norm.weight.detach().float() / torch.sqrt(norm.running_var.float() + norm.eps)
        weight = weight * scale.view(1, -1, 1, 1)
        bias = (bias - norm.running_mean.float()) * scale + norm.bias.detach().float()
    return weight, bias


class SubPixelUp(nn.Module):
    """(B,C_in,H,W) -> (B,C_out,2H,2W), as `tconv` (then `norm`) would give."""

    def __init__(self, tconv: nn.ConvTranspose2d, norm: nn.BatchNorm2d | None = None) -> None:
        super().__init__()
        weight, bias = _folded(tconv, norm)
        c_in, c_out = weight.shape[:2]
        kernel = torch.zeros(2, 2, c_out, c_in, 2, 2)  # phase a, phase b, out, in, 2x2
        for a in range(2):
            for b in range(2):
                rows, cols = _TAPS[a], _TAPS[b]
                for u in range(2):
                    for v in range(2):
                        kernel[a, b, :, :, u, v] = weight[:, :, rows[u], cols[v]].t()
        self.c_out = c_out
        self.conv = nn.Conv2d(c_in, 4 * c_out, 2, padding=1, bias=True)
        with torch.no_grad():
            self.conv.weight.copy_(kernel.reshape(4 * c_out, c_in, 2, 2))
            self.conv.bias.copy_(bias.repeat(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        y = self.conv(x)  # (B, 4*C_out, H+1, W+1): phase (a, b) at channels (2a+b)*C_out...
        c = self.c_out

        def phase(a: int, b: int) -> torch.Tensor:
            return y[:, (2 * a + b) * c : (2 * a + b + 1) * c, a : a + height, b : b + width]

        rows = [
            torch.stack([phase(a, 0), phase(a, 1)], -1).reshape(batch, c, height, 2 * width)
            for a in range(2)
        ]  # columns interleaved, then rows
        return torch.stack(rows, 3).reshape(batch, c, 2 * height, 2 * width)


def _rewrite(seq: nn.Sequential) -> None:
    items = list(seq)
    for i, module in enumerate(items):
        if not is_up2(module):
            continue
        norm = items[i + 1] if i + 1 < len(items) else None
        if isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats and norm.affine:
            seq[i] = SubPixelUp(module, norm)
            seq[i + 1] = nn.Identity()
        else:
            seq[i] = SubPixelUp(module)


def subpixel_model(model: nn.Module) -> nn.Module:
    """A copy of `model` in eval mode with every kernel-4 / stride-2 / padding-1 transposed conv
    inside an nn.Sequential replaced by `SubPixelUp` (a BatchNorm right after it folded in).
    Every other module is kept; `model` itself is not changed."""
    model = copy.deepcopy(model).eval()
    for module in list(model.modules()):
        if isinstance(module, nn.Sequential):
            _rewrite(module)
    return model
