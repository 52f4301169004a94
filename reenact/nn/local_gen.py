"""A local generator for one face region (LGP-GAN's stage I, `../shared/PAPERS.md` section 4).

It sees a small box cut by landmarks (the mouth: 64 x 96 at a 256 crop) as 7 channels: the
target's region at rest (3, its own lips and teeth), the warp's drawing of the region (3) and
the driving landmarks' contours as one image (1). It draws colour `rgb` and an attention mask
`M`, and the output keeps the warp wherever the mask is low:

    out = M * rgb + (1 - M) * warp

A 4-level U-net of plain convolutions (one per level at the top and on the way up) (no normalisation: a frame's output depends on that frame
only), a few hundred thousand parameters, a few ms on one CPU core at 64 x 96.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reenact.nn.registry import register

IN_CHANNELS = 7  # rest (3) + warp (3) + contours (1)


def _block(cin: int, cout: int, stride: int = 1, convs: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [
            nn.Conv2d(cin if i == 0 else cout, cout, 3, stride=stride if i == 0 else 1, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
    return nn.Sequential(*layers)


@register("local_gen")
class LocalGenerator(nn.Module):
    """7 channels in [-1,1] (rest, warp, contours) -> (rgb in [-1,1], M in [0,1]).

    widths: channels at each of the 4 scales (the box side halves at each); its sides must be
    divisible by 8.
    """

    def __init__(self, *, widths: tuple[int, ...] = (12, 24, 48, 64)) -> None:
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        w = self.widths
        self.down = nn.ModuleList(
            [_block(IN_CHANNELS, w[0], convs=1)]
            + [_block(w[i - 1], w[i], 2) for i in range(1, len(w))]
        )
        # one convolution per decoder level: the full-size levels cost most of a frame's time
        self.up = nn.ModuleList(
            [_block(w[i] + w[i - 1], w[i - 1], convs=1) for i in range(len(w) - 1, 0, -1)]
        )
        self.head = nn.Conv2d(w[0], 4, 3, padding=1)
        with torch.no_grad():
            # start near the warp (M about 0.27) so the first steps do not wash it out
            self.head.bias[3:] = -1.0  # type: ignore[index]

    def arch_meta(self) -> dict[str, str]:
        return {"arch": "local_gen", "widths": ",".join(str(v) for v in self.widths)}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B,7,h,w) -> rgb (B,3,h,w) in [-1,1], mask (B,1,h,w) in [0,1]."""
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], 1))
        y = self.head(x)
        return torch.tanh(y[:, :3]), torch.sigmoid(y[:, 3:])

    @staticmethod
    def blend(rgb: torch.Tensor, mask: torch.Tensor, warp: torch.Tensor) -> torch.Tensor:
        """out = M rgb + (1 - M) warp (all in [-1,1])."""
        return warp + mask * (rgb - warp)
