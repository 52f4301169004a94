"""Renderers (Omega): turn fused landmarks into an image of the target face.

A renderer is built by name from a small registry, StyleGAN3-style:

    @register_renderer("warp")
    class WarpRenderer: ...

    renderer = build_renderer("warp", size=256)
    renderer.set_target(target_crop, target_landmarks)   # (S,S,3) uint8, (478,3) crop pixels
    crop = renderer.render(fused_landmarks)               # (478,3) -> (S,S,3) uint8

Built-in renderers live in the modules named in `_BUILTIN_MODULES`; they are imported on the first
`build_renderer` / `renderer_names` call, never when this package is imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol, TypeVar

import numpy as np

from reenact.errors import ConfigError

# Modules whose import registers built-in renderers (imported lazily).
_BUILTIN_MODULES: tuple[str, ...] = ("reenact.render.warp", "reenact.render.pixel_rr")

_REGISTRY: dict[str, Callable[..., "Renderer"]] = {}

T = TypeVar("T")


class Renderer(Protocol):
    """What the live loop needs from a renderer."""

    size: int

    def set_target(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        """target_crop: (S,S,3) uint8 RGB aligned crop; target_landmarks: (478,3) crop pixels."""

    def render(self, fused_landmarks: np.ndarray) -> np.ndarray:
        """fused_landmarks: (478,2|3) crop pixels -> (S,S,3) uint8 RGB."""


def register_renderer(name: str) -> Callable[[T], T]:
    """Class decorator: make a renderer buildable as `build_renderer(name, **kwargs)`."""

    def decorate(factory: T) -> T:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not factory:
            raise ValueError(f"renderer name '{name}' is already registered by {existing!r}")
        _REGISTRY[name] = factory  # type: ignore[assignment]
        return factory

    return decorate


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def renderer_names() -> list[str]:
    """Sorted names of every registered renderer (built-ins included)."""
    _load_builtins()
    return sorted(_REGISTRY)


def build_renderer(name: str, **kwargs: object) -> Renderer:
    """A new renderer by registered name; an unknown name raises ConfigError listing valid ones."""
    _load_builtins()
    factory = _REGISTRY.get(name)
    if factory is None:
        valid = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise ConfigError(f"renderer.kind: unknown renderer '{name}'; valid renderers: {valid}")
    return factory(**kwargs)
