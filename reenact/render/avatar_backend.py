"""A personal avatar's generator on the CPU, on the same kind of backend as the shipped one.

ONNX Runtime runs the avatar's own ONNX (written once into the ONNX cache, keyed by its bytes,
as other weights' exports are): its INT8 one where the shipped generator runs in INT8 and the
avatar carries one, else its fp32 one, so an avatar runs at the shipped generator's speed and
without torch; the torch backend loads the avatar's tensors into a fresh U-net.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from reenact.avatar import Avatar
from reenact.engine.backends import OnnxBackend, TorchCPUBackend
from reenact.errors import InputError
from reenact.paths import onnx_cache_dir

log = logging.getLogger(__name__)


def check_fits(avatar: Avatar, *, size: int, variant: str, channels: int) -> None:
    """InputError naming the avatar when its generator is not shaped as the renderer's."""
    meta = avatar.generator_meta
    got = (int(meta["size"]), meta["variant"], int(meta["in_channels"]))
    if got != (size, variant, channels):
        raise InputError(
            f"{avatar.path}: its generator ({got[1]}, {got[2]} channels, size {got[0]}) does not "
            f"fit the renderer's ({variant}, {channels} channels, size {size}); run it with the "
            "shipped generator (leave renderer.weights unset) at its renderer.size"
        )


def avatar_onnx_path(avatar: Avatar, *, int8: bool = False) -> Path:
    """The avatar's ONNX (its INT8 one when `int8`) in the cache, written there first,
    atomically, if missing."""
    from reenact.atomic import write_atomic

    data = avatar.generator_int8 if int8 else avatar.generator_onnx
    if data is None:
        raise InputError(f"{avatar.path}: it holds no INT8 model of its generator")
    path = onnx_cache_dir() / f"avatar-{avatar.key}{'.int8' if int8 else ''}.onnx"
    if not path.is_file() or path.stat().st_size != len(data):
        write_atomic(path, data)
    return path


def avatar_backend(avatar: Avatar, *, size: int, variant: str, channels: int, like):
    """The backend that runs `avatar`'s generator in a renderer of this size, variant and input
    channels, of the same kind as `like` (the shipped generator's backend): ONNX Runtime from
    the avatar's ONNX, or torch."""
    check_fits(avatar, size=size, variant=variant, channels=channels)
    shipped = like
    threads = int(getattr(shipped, "threads", 0)) or None
    if isinstance(shipped, TorchCPUBackend):
        return TorchCPUBackend(torch_generator(avatar), threads=threads or 1)
    # INT8 where the shipped generator runs in INT8 and the avatar carries its own
    int8 = getattr(shipped, "name", "") == "onnx-cpu-int8"
    if int8 and avatar.generator_int8 is None:
        log.info("%s: no INT8 model of its generator; it runs in fp32", avatar.name)
        int8 = False
    member = "generator.int8.onnx" if int8 else "generator.onnx"
    try:
        return OnnxBackend(avatar_onnx_path(avatar, int8=int8), threads=threads or 1, int8=int8)
    except Exception as exc:  # onnxruntime's own errors, already one line
        raise InputError(f"{avatar.path}: its {member} cannot run ({exc})") from None


def torch_generator(avatar: Avatar):
    """A UNetGenerator holding the avatar's weights (fp32, eval mode); needs torch."""
    import torch

    from reenact.render.generator_meta import build_generator_from_meta

    model = build_generator_from_meta(avatar.path, avatar.generator_meta)
    state = {
        k: torch.from_numpy(np.array(v, dtype=np.float32 if v.dtype == np.float16 else v.dtype))
        for k, v in avatar.generator_weights.items()
    }
    model.load_state_dict(state, strict=True)
    return model.eval().float()
