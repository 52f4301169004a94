"""A generator's shape from its weights' metadata, and an untrained network of that shape."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reenact.engine.device import torch_available
from reenact.errors import WeightsError


@dataclass(frozen=True)
class GeneratorShape:
    """What the renderer needs of a generator without building it: its input and crop size."""

    size: int
    variant: str
    in_channels: int
    out_channels: int


def generator_shape(path: Path, meta: dict[str, str]) -> GeneratorShape:
    """The shape the weights' metadata gives (a WeightsError naming the file when it is not a
    U-net generator's or is incomplete)."""
    if meta.get("arch") != "unet":
        raise WeightsError(
            f"{path}: holds '{meta.get('arch', '?')}' weights, expected a unet generator"
        )
    try:
        return GeneratorShape(
            size=int(meta["size"]),
            variant=meta["variant"],
            in_channels=int(meta["in_channels"]),
            out_channels=int(meta["out_channels"]),
        )
    except (KeyError, ValueError) as exc:
        raise WeightsError(f"{path}: incomplete generator metadata ({exc})") from None


def build_generator_from_meta(path: Path, meta: dict[str, str]):
    """An untrained UNetGenerator shaped as the weights' metadata says."""
    shape = generator_shape(path, meta)
    if "ngf" not in meta:
        raise WeightsError(f"{path}: incomplete generator metadata ('ngf')")
    need_torch(path)
    from reenact.nn.unet import UNetGenerator

    try:
        return UNetGenerator(
            ngf=int(meta["ngf"]),
            size=shape.size,
            variant=shape.variant,
            in_channels=shape.in_channels,
            out_channels=shape.out_channels,
        )
    except ValueError as exc:
        raise WeightsError(f"{path}: incomplete generator metadata ({exc})") from None


def need_torch(path: Path) -> None:
    if not torch_available():
        raise WeightsError(
            f"{path}: running these weights needs torch (install the [train] "
            "extra: pip install 'reenact[train]'), or pass their ONNX export as "
            "renderer.onnx_path"
        )
