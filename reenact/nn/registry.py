"""A registry of the networks, StyleGAN3 style: `@register("unet")` on a class.

Every registered module exposes `arch_meta() -> dict[str, str | int]`, the settings that fix its
weights' shapes (name, variant, width, size, channels, ...). `reenact.engine.weights` stores it
next to the weights and checks it when they are loaded again. `NETWORKS` holds the registered
classes by name: the runtime's (`reenact.nn.unet`, `reenact.nn.local_gen`) once imported, the
training-only ones (`reenact_lab.nn.patchgan`, `reenact_lab.nn.fusion`, ...) when the lab imports
them.
"""

from __future__ import annotations

from typing import TypeVar
from collections.abc import Callable

from torch import nn

NETWORKS: dict[str, type[nn.Module]] = {}

M = TypeVar("M", bound=type[nn.Module])


def register(name: str) -> Callable[[M], M]:
    """Class decorator: register `cls` in NETWORKS as `name`.

    The class must define `arch_meta()`. Registering a second class under a taken name is an
    error (it would silently change what old configs build).
    """

    def decorator(cls: M) -> M:
        if not callable(getattr(cls, "arch_meta", None)):
            raise TypeError(f"network {cls.__name__} registered as {name!r} has no arch_meta()")
        existing = NETWORKS.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"network name {name!r} is already registered by {existing.__name__}")
        NETWORKS[name] = cls
        return cls

    return decorator
