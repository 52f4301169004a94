"""Fusion (Phi): the target's neutral landmarks with the actor's expression.

    J_gen = L_t + Phi(L_s, L_t)

Every fuser is registered by name with a builder that takes the config:

    fuser = build_fuser(config)                                         # picks `fusion.kind`
    fused = fuser.fuse(source, source_neutral, target_neutral, intensity)  # (478,3) crop pixels

Built-in fusers: "network" (`fusion.network`, Phi from its weights: the shipped one is the
expression-code autoencoder of `fusion.coded`; the default) and "training_free"
(`fusion.transfer`). `fusion.kind=auto` takes the network when its weights exist.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

from reenact.errors import ConfigError

if TYPE_CHECKING:
    from reenact.config import Config

_BUILTIN_MODULES: tuple[str, ...] = ("reenact.fusion.transfer", "reenact.fusion.network")
AUTO = "auto"

FuserBuilder = Callable[["Config"], "Fuser"]
_REGISTRY: dict[str, FuserBuilder] = {}


class Fuser(Protocol):
    """What the pipeline needs from a fuser."""

    name: ClassVar[str]

    def fuse(
        self,
        source: np.ndarray,
        source_neutral: np.ndarray,
        target_neutral: np.ndarray,
        intensity: float = 1.0,
    ) -> np.ndarray:
        """source, source_neutral, target_neutral: (478,3) aligned-crop pixels; intensity in
        [0, 1.5] (0 = the target's neutral, 1 = as performed). Returns J_gen, (478,3) float32."""


def register_fuser(name: str) -> Callable[[FuserBuilder], FuserBuilder]:
    """Decorator: `builder(config) -> Fuser` becomes `fusion.kind=<name>`."""

    def decorate(builder: FuserBuilder) -> FuserBuilder:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not builder:
            raise ValueError(f"fuser name '{name}' is already registered by {existing!r}")
        _REGISTRY[name] = builder
        return builder

    return decorate


def fuser_names() -> list[str]:
    """Sorted names of every registered fuser (built-ins included)."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    return sorted(_REGISTRY)


def resolve_fuser_kind(config: Config) -> str:
    """`fusion.kind`, with "auto" resolved: the network when its weights exist."""
    kind = config.fusion.kind
    if kind != AUTO:
        return kind
    from reenact.engine.shipped import find_weights

    return (
        "network" if find_weights(config.fusion.weights, "fusion") is not None else "training_free"
    )


def build_fuser(config: Config) -> Fuser:
    """The fuser `fusion.kind` names; an unknown name raises ConfigError listing valid ones."""
    valid = fuser_names()
    kind = resolve_fuser_kind(config)
    if kind not in _REGISTRY:
        raise ConfigError(
            f"fusion.kind: unknown fuser '{kind}'; valid fusers: {', '.join([AUTO, *valid])}"
        )
    return _REGISTRY[kind](config)
