"""The renderers compared by `reenact eval`, all behind the renderer interface.

- "identity": the unchanged target crop (the baseline every renderer must beat);
- "warp": the training-free warp (`reenact.render.warp`);
- "generator:<stem>": each trained U-net given (`--generator`, `renderer.weights`), and
  "generator:shipped" for `reenact/models/generator_<size>.safetensors` when it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reenact.config import Config
from reenact.engine.shipped import shipped_weights
from reenact.errors import InputError
from reenact_lab.eval.files import resolve_input, unique_names
from reenact.render.warp import WarpRenderer, build_warp


class IdentityRenderer:
    """Renders nothing: `render` returns the target crop as it was given (S,S,3) uint8."""

    name = "identity"
    shifts_colours = False
    moves_face = False

    def __init__(self, *, size: int) -> None:
        self.size = int(size)
        self._crop: np.ndarray | None = None

    def set_target(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        self._crop = np.ascontiguousarray(target_crop).copy()

    def render(self, fused_landmarks: np.ndarray) -> np.ndarray:
        if self._crop is None:
            raise RuntimeError("IdentityRenderer.render called before set_target")
        return self._crop


@dataclass
class EvalRenderer:
    """A named renderer; `weights` is the generator file ('' for identity and warp)."""

    name: str
    kind: str  # "identity", "warp" or "generator"
    renderer: object
    weights: str = ""


def generator_paths(config: Config, extra: tuple[str, ...] | list[str] = ()) -> list[Path]:
    """Generator weights to compare: `extra`, eval.generators, renderer.weights; de-duplicated.

    Raises InputError naming a file that does not exist.
    """
    wanted = [*extra, *config.eval.generators]
    if config.renderer.weights:
        wanted.append(config.renderer.weights)
    paths: list[Path] = []
    for item in wanted:
        path = resolve_input(item, "generator weights")
        if all(path.resolve() != p.resolve() for p in paths):
            paths.append(path)
    return paths


def build_eval_renderers(config: Config, generators: list[Path]) -> list[EvalRenderer]:
    """identity, warp, every generator in `generators`, then the shipped one if present."""
    from reenact.render.generator import load_generator_renderer

    size = config.renderer.size
    out = [
        EvalRenderer("identity", "identity", IdentityRenderer(size=size)),
        EvalRenderer(
            WarpRenderer.name,
            WarpRenderer.name,
            build_warp(config),
        ),
    ]
    paths = list(generators)
    names = [f"generator:{n}" for n in unique_names(paths)]
    shipped = shipped_weights("generator", size)
    if shipped is not None and all(shipped.resolve() != p.resolve() for p in paths):
        paths.append(shipped)
        names.append("generator:shipped")
    for name, path in zip(names, paths):
        renderer = load_generator_renderer(path, config)
        out.append(EvalRenderer(name, "generator", renderer, weights=str(path)))
    return out


def chosen_renderers(found: dict, names: list[str]) -> dict:
    """Those of `found` ({name: renderer}) named in `names` (a tool's `--renderers`), in
    `found`'s order; all of them when `names` is empty. InputError naming any unknown name."""
    unknown = [n for n in names if n not in found]
    if unknown:
        raise InputError(
            f"--renderers: unknown {', '.join(unknown)}; one of {', '.join(sorted(found))}"
        )
    return {n: r for n, r in found.items() if not names or n in names}
