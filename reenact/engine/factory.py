"""Choose and build the fuser (Phi or the training-free transfer) and the renderer (Omega or warp).

"auto" takes the trained network when its weights exist (the path in the config, else the weights
shipped in `reenact/models/`), and the training-free fallback otherwise.

Two generator widths may ship, picked by backend: `generator_<size>_gpu.safetensors` (the wide
model) where the generator runs on CUDA, `generator_<size>_cpu.safetensors` (the narrow one)
elsewhere; when the one for the backend is absent, `generator_<size>.safetensors` is used.
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


def shipped_weights(kind: str, size: int = 256, *, backend: str = "cpu") -> Path | None:
    """The weights shipped with the package for 'fusion' or 'generator', if present; for the
    generator, the model for `backend` ("cuda": the GPU model; any other: the CPU model), else
    the single shipped one."""
    if kind == "fusion":
        names = ["fusion.safetensors"]
    else:
        device = "gpu" if backend == "cuda" else "cpu"
        names = [f"generator_{size}_{device}.safetensors", f"generator_{size}.safetensors"]
    for name in names:
        if (MODELS_DIR / name).is_file():
            return MODELS_DIR / name
    return None


def _weights_path(explicit: str, kind: str, size: int, backend: str = "cpu") -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise WeightsError(f"{explicit}: {kind} weights not found")
        return path
    return shipped_weights(kind, size, backend=backend)


def build_fuser(config: Config):
    """The landmark fuser named by `fusion.kind`."""
    kind = config.fusion.kind
    if kind not in FUSION_KINDS:
        raise ConfigError(f"fusion.kind: '{kind}' is not one of {', '.join(FUSION_KINDS)}")
    weights = None if kind == "training_free" else _weights_path(config.fusion.weights, "fusion", 0)
    if weights is None:
        if kind == "network":
            raise WeightsError("fusion.kind=network needs weights: set fusion.weights=PATH")
        from reenact.landmarks.transfer import TrainingFreeFusion

        return TrainingFreeFusion()
    from reenact.engine.fusion_runner import NetworkFusion

    return NetworkFusion.from_weights(weights, config)


def build_renderer(config: Config):
    """The renderer named by `renderer.kind`."""
    kind = config.renderer.kind
    if kind not in RENDERER_KINDS:
        raise ConfigError(f"renderer.kind: '{kind}' is not one of {', '.join(RENDERER_KINDS)}")
    size = config.renderer.size
    weights = None
    if kind != "warp":
        from reenact.engine.device import resolve_backend

        backend = resolve_backend(config.renderer.backend)
        weights = _weights_path(config.renderer.weights, "generator", size, backend)
    if weights is None:
        if kind == "generator":
            raise WeightsError(
                f"renderer.kind=generator needs weights for size {size}: set renderer.weights=PATH"
            )
        from reenact.render import build_renderer as build_named

        return build_named("warp", size=size)
    from reenact.engine.generator_runner import GeneratorRenderer

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
