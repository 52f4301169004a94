"""Choose and build the fuser (Phi or the training-free transfer) and the renderer (Omega or warp).

"auto" takes the trained network when its weights exist (the path in the config, else the weights
shipped in `reenact/models/`), and the training-free fallback otherwise.
"""

from __future__ import annotations

import logging
from pathlib import Path

from reenact.config import Config
from reenact.errors import ConfigError, WeightsError

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
FUSION_KINDS = ("auto", "network", "training_free")
RENDERER_KINDS = ("auto", "generator", "warp")


def shipped_weights(kind: str, size: int = 256) -> Path | None:
    """The weights shipped with the package for 'fusion' or 'generator', if present."""
    name = "fusion.safetensors" if kind == "fusion" else f"generator_{size}.safetensors"
    path = MODELS_DIR / name
    return path if path.is_file() else None


def _weights_path(explicit: str, kind: str, size: int) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise WeightsError(f"{explicit}: {kind} weights not found")
        return path
    return shipped_weights(kind, size)


def build_fuser(config: Config):
    """The landmark fuser named by `fusion.kind`."""
    kind = config.fusion.kind
    if kind not in FUSION_KINDS:
        raise ConfigError(f"fusion.kind: '{kind}' is not one of {', '.join(FUSION_KINDS)}")
    weights = None if kind == "training_free" else _weights_path(config.fusion.weights, "fusion", 0)
    if weights is None:
        if kind == "network":
            raise WeightsError("fusion.kind=network needs weights: set fusion.weights=PATH")
        from reenact.fusion.transfer import TrainingFreeFusion

        return TrainingFreeFusion()
    from reenact.fusion.network import NetworkFusion

    return NetworkFusion.from_weights(weights, config)


def build_renderer(config: Config):
    """The renderer named by `renderer.kind`."""
    kind = config.renderer.kind
    if kind not in RENDERER_KINDS:
        raise ConfigError(f"renderer.kind: '{kind}' is not one of {', '.join(RENDERER_KINDS)}")
    size = config.renderer.size
    weights = None if kind == "warp" else _weights_path(config.renderer.weights, "generator", size)
    if weights is None:
        if kind == "generator":
            raise WeightsError(
                f"renderer.kind=generator needs weights for size {size}: set renderer.weights=PATH"
            )
        from reenact.render import build_renderer as build_named

        return build_named("warp", size=size)
    from reenact.render.generator import GeneratorRenderer

    return GeneratorRenderer.from_weights(weights, config)


def describe(part: object) -> str:
    """One line naming a built fuser or renderer, with its weights file and backend if any."""
    words = [type(part).__name__]
    weights = getattr(part, "weights", None)
    if weights:
        words.append(f"({Path(weights).name})")
    backend = getattr(part, "backend_name", None)
    if backend:
        words.append(f"on {backend}")
    return " ".join(words)
