"""A registry of the networks, StyleGAN3 style: `@register("unet")` on a class, then
`build("unet", ngf=32, ...)`.

Every registered module exposes `arch_meta() -> dict[str, str | int]`, the settings that fix its
weights' shapes (name, variant, width, size, channels, ...). `reenact.engine.weights` stores it
next to the weights and checks it when they are loaded again.
"""

from __future__ import annotations

import importlib
from typing import TypeVar
from collections.abc import Callable

from torch import nn

from reenact.errors import ReenactError

_REGISTRY: dict[str, type[nn.Module]] = {}
# The modules whose import registers the built-in networks; imported lazily by `build`. The
# training-only ones (`reenact_lab.nn.patchgan`, `reenact_lab.nn.fusion`, ...) register themselves
# when the lab imports them.
_BUILTIN_MODULES = ("reenact.nn.unet",)

M = TypeVar("M", bound=type[nn.Module])


class UnknownNetworkError(ReenactError, KeyError):
    """`build` was asked for a network name that nobody registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def register(name: str) -> Callable[[M], M]:
    """Class decorator: make `cls` buildable as `build(name, **kwargs)`.

    The class must define `arch_meta()`. Registering a second class under a taken name is an
    error (it would silently change what old configs build).
    """

    def decorator(cls: M) -> M:
        if not callable(getattr(cls, "arch_meta", None)):
            raise TypeError(f"network {cls.__name__} registered as {name!r} has no arch_meta()")
        existing = _REGISTRY.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"network name {name!r} is already registered by {existing.__name__}")
        _REGISTRY[name] = cls
        return cls

    return decorator


def _load_builtins() -> None:
    for module_name in _BUILTIN_MODULES:
        importlib.import_module(module_name)


def names() -> list[str]:
    """The registered network names, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get(name: str) -> type[nn.Module]:
    """The class registered as `name`; UnknownNetworkError (listing the valid names) if none."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(_REGISTRY))
        raise UnknownNetworkError(f"unknown network {name!r}; valid names: {valid}") from None


def build(name: str, **kwargs: object) -> nn.Module:
    """Construct the network registered as `name` with keyword arguments `kwargs`."""
    return get(name)(**kwargs)
