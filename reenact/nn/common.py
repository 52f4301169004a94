"""Shape checks at module boundaries (StyleGAN3's `assert_shape`, with messages for people)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from reenact.errors import ReenactError


class ShapeError(ReenactError, ValueError):
    """A tensor reached a network with the wrong shape (e.g. a 512 crop fed to a 256 model)."""


def check_shape(x: torch.Tensor, expected: Sequence[int | None], what: str) -> None:
    """Raise ShapeError unless `x.shape` matches `expected` (None matches any size).

    Skipped under the TorchScript tracer (legacy ONNX export), which records the example's
    sizes as constants anyway; under torch.export the static sizes are still checked.
    """
    if torch.jit.is_tracing():
        return
    shape = tuple(x.shape)
    ok = len(shape) == len(expected) and all(
        want is None or int(have) == want for have, want in zip(shape, expected)
    )
    if not ok:
        want_str = "(" + ", ".join("*" if w is None else str(w) for w in expected) + ")"
        raise ShapeError(f"{what}: expected shape {want_str}, got {shape}")


def check_size(size: int, *, minimum: int = 8) -> int:
    """Validate an image side: a power of two >= `minimum`. Returns log2(size)."""
    if size < minimum or size & (size - 1):
        raise ValueError(f"size must be a power of two >= {minimum}, got {size}")
    return size.bit_length() - 1


def init_gan_weights(module: torch.nn.Module, *, std: float = 0.02) -> None:
    """pix2pix initialisation: conv / linear weights ~ N(0, std), BatchNorm scales ~ N(1, std),
    biases 0.

    Spectral-normalised convs are initialised through their `original` weight.
    """
    for m in module.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
            weight = m.parametrizations.weight.original if _is_parametrized(m) else m.weight
            torch.nn.init.normal_(weight, 0.0, std)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, torch.nn.BatchNorm2d):
            torch.nn.init.normal_(m.weight, 1.0, std)
            torch.nn.init.zeros_(m.bias)


def _is_parametrized(m: torch.nn.Module) -> bool:
    return hasattr(m, "parametrizations") and "weight" in m.parametrizations


def num_parameters(module: torch.nn.Module) -> int:
    """The number of trainable parameters (each shared tensor counted once)."""
    seen: set[int] = set()
    total = 0
    for p in module.parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total
