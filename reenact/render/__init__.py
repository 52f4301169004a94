"""Renderers (Omega): turn fused landmarks into an image of the target face.

Every renderer is registered by name, StyleGAN3-style, with a builder that takes the config:

    @register_renderer("warp")
    def build_warp(config: Config) -> Renderer: ...

    renderer = build_renderer(config)                      # picks `renderer.kind`
    renderer.set_target(target_crop, target_landmarks)     # (S,S,3) uint8, (478,3) crop pixels
    crop = renderer.render(fused_landmarks)                # (478,3) -> (S,S,3) uint8

Built-in renderers: "warp" (`render.warp`, training-free) and "generator" (`render.generator`:
the U-net on torch / ONNX Runtime, or the whole frame on CUDA in `render.generator_cuda`).
Their modules are imported on the first `build_renderer` / `renderer_names` call, never when this
package is imported. `renderer.kind=auto` takes the generator when its weights exist, else the warp.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

from reenact.errors import ConfigError

if TYPE_CHECKING:
    from reenact.config import Config

# Modules whose import registers built-in renderers (imported lazily).
_BUILTIN_MODULES: tuple[str, ...] = (
    "reenact.render.warp",
    "reenact.render.generator",
    "reenact.render.pixel_rr",
)
log = logging.getLogger(__name__)

AUTO = "auto"

RendererBuilder = Callable[["Config"], "Renderer"]
# which parts of a personal avatar's face bank the renderer a config builds draws
BankParts = Callable[["Config"], tuple]
_REGISTRY: dict[str, RendererBuilder] = {}
_BANK_PARTS: dict[str, BankParts] = {}


class Renderer(Protocol):
    """What the pipeline needs from a renderer.

    shifts_colours: True when the output's colours may drift from the target's (a network not
    anchored to the warp, `renderer.anchor_px=0`), so the compositor matches them around the
    face's edge; a class attribute, or set per instance where the configuration decides.
    moves_face (optional, True when absent): False for a renderer whose output does not follow
    the landmarks it is given (a fixed expression, the unchanged target): the compositor then
    moves no detail of the picture with them (`reenact.pipeline.detail`).
    draws_shading (optional, True when absent): False for a renderer that only moves the
    target's pixels (the warp): it draws no fold or shade with a move, so the landmark boost
    draws more of a brow's raise for it (`reenact.render.boost`).
    """

    name: ClassVar[str]
    shifts_colours: bool
    size: int

    def set_target(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        """target_crop: (S,S,3) uint8 RGB aligned crop; target_landmarks: (478,3) crop pixels."""

    def render(self, fused_landmarks: np.ndarray) -> np.ndarray:
        """fused_landmarks: (478,2|3) crop pixels -> (S,S,3) uint8 RGB."""


def moves_face(renderer: Renderer) -> bool:
    """Whether `renderer`'s output follows the landmarks it is given (`Renderer.moves_face`,
    True when the renderer does not say)."""
    return bool(getattr(renderer, "moves_face", True))


def register_renderer(
    name: str, *, bank_parts: BankParts | None = None
) -> Callable[[RendererBuilder], RendererBuilder]:
    """Decorator: `builder(config) -> Renderer` becomes `renderer.kind=<name>`.

    bank_parts: for a renderer that draws a personal avatar's own mouths and eyes
    (`reenact.render.face_bank`), `bank_parts(config)` -> the parts it draws with that config,
    so that targets can prepare them up front (`avatar_bank_parts`)."""

    def decorate(builder: RendererBuilder) -> RendererBuilder:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not builder:
            raise ValueError(f"renderer name '{name}' is already registered by {existing!r}")
        _REGISTRY[name] = builder
        if bank_parts is not None:
            _BANK_PARTS[name] = bank_parts
        return builder

    return decorate


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def renderer_names() -> list[str]:
    """Sorted names of every registered renderer (built-ins included)."""
    _load_builtins()
    return sorted(_REGISTRY)


def resolve_renderer_kind(config: Config) -> str:
    """`renderer.kind`, with "auto" resolved: the generator when its weights exist, else the warp."""
    kind = config.renderer.kind
    if kind != AUTO:
        return kind
    from reenact.engine.shipped import find_generator

    return "generator" if find_generator(config) is not None else "warp"


def avatar_bank_parts(config: Config) -> tuple:
    """The parts (`reenact.render.face_bank.Part`) of an avatar's face bank that the renderer
    `config` builds draws: none for a renderer that declared none."""
    _load_builtins()
    parts = _BANK_PARTS.get(resolve_renderer_kind(config))
    return tuple(parts(config)) if parts is not None else ()


def build_renderer(config: Config) -> Renderer:
    """The renderer `renderer.kind` names; an unknown name raises ConfigError listing valid ones."""
    _load_builtins()
    kind = resolve_renderer_kind(config)
    builder = _REGISTRY.get(kind)
    if builder is None:
        valid = ", ".join([AUTO, *sorted(_REGISTRY)])
        raise ConfigError(f"renderer.kind: unknown renderer '{kind}'; valid renderers: {valid}")
    if config.renderer.kind == AUTO and kind == "warp":
        from reenact.engine.shipped import shipped_weights

        if shipped_weights("generator") is not None:  # shipped, but not for this size
            log.warning(
                "renderer.size=%d: no generator weights for this size (set "
                "renderer.weights=PATH); using the training-free warp",
                config.renderer.size,
            )
    return builder(config)
