"""Class-driven renderers for `reenact eval --stills`: what a preset can do without the truth.

The protocol's own rows drive each renderer with the expression still's landmarks (an oracle: a
live preset never knows them). These rows know only the *condition*:

    pixel-rr                   the condition's pixel-regression model on the neutral crop
    warp + preset              the warp driven by the condition's mean deviation over the
    generator:shipped + preset subjects not scored (exactly what firing that preset does)

Outputs are blended into the target crop with the compositor's feathered face mask, as the live
loop composites. A condition without a model or preset (e.g. `sleepy`) is left out of these
rows (NaN, shown as "-"). The stills protocol calls `select(condition)` before each render.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reenact.engine.shipped import shipped_weights
from reenact_lab import get_logger
from reenact_lab.eval.files import resolve_input
from reenact_lab.eval.plots import sample_strip
from reenact_lab.eval.renderers import EvalRenderer
from reenact.fusion.preset_record import from_numbered
from reenact.fusion.presets import make_preset
from reenact.pipeline.composite import face_mask
from reenact.render.pixel_rr import load_pixel_rr, model_paths
from reenact.render.warp import build_warp
from reenact.landmarks.flip import flip_landmarks

log = get_logger(__name__)

# a still's condition -> preset / pixel-rr class
CLASS_OF = {"happy": "smile", "surprised": "surprise", "sad": "sad", "wink": "wink"}


class ClassDriven:
    """A renderer whose output depends on the condition chosen by `select`, not the landmarks.

    render_fn(cls, target_crop, target_landmarks) -> (S,S,3) uint8 raw render; `classes`: those
    it can render."""

    shifts_colours = False

    def __init__(self, name: str, size: int, classes: set[str], render_fn) -> None:
        self.name = name
        self.size = size
        self.classes = classes
        self.render_fn = render_fn
        self._cls = ""
        self._target: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def set_target(self, target_crop: np.ndarray, target_landmarks: np.ndarray) -> None:
        mask = face_mask(target_landmarks, self.size)[..., None]
        self._target = (np.ascontiguousarray(target_crop), np.asarray(target_landmarks), mask)

    def select(self, condition: str) -> bool:
        """Render `condition` next; False when this renderer has nothing for it."""
        self._cls = CLASS_OF.get(condition, "")
        return self._cls in self.classes

    def render(self, fused_landmarks: np.ndarray) -> np.ndarray:
        """(478,3) landmarks (unused) -> (S,S,3) uint8, face-mask blended into the target."""
        crop, landmarks, mask = self._target
        raw = self.render_fn(self._cls, crop, landmarks).astype(np.float32)
        return (raw * mask + crop * (1.0 - mask) + 0.5).astype(np.uint8)


def _presets(folder: Path, config, exclude: tuple[str, ...]) -> dict:
    size = config.renderer.size
    out = {}
    for condition, cls in CLASS_OF.items():
        rec = from_numbered(folder, condition, config, size, exclude=exclude, mirror=flip_landmarks)
        out[cls] = make_preset(cls, rec.neutral, rec.expression, size, source=rec.source)
    return out


def stills_renderers(config, folder: Path) -> list[EvalRenderer]:
    """pixel-rr (eval.stills_pixel_rr models), warp + preset, generator + preset."""
    size = config.renderer.size
    out = []
    if config.eval.stills_pixel_rr:
        models = {
            c: load_pixel_rr(p) for c, p in model_paths(config.eval.stills_pixel_rr, size).items()
        }
        if models:
            kind = next(iter(models.values())).kind
            out.append(
                EvalRenderer(
                    f"pixel-rr {kind}",
                    "pixel-rr",
                    ClassDriven(
                        "pixel-rr", size, set(models), lambda c, crop, lm: models[c].apply(crop)
                    ),
                )
            )
    exclude = tuple(sorted(set(config.pixel_rr.holdout) | set(config.eval.stills_subjects)))
    if not {p.name.split("_", 1)[0] for p in folder.glob("*_normal.*")} - set(exclude):
        log.warning(
            "%s: every subject is scored or held out (eval.stills_subjects, "
            "pixel_rr.holdout), none is left to make presets from: no '+ preset' rows",
            folder,
        )
        return out
    presets = _presets(folder, config, exclude)
    engines = {"warp": build_warp(config)}
    weights = shipped_weights("generator", size)
    if weights is not None:
        from reenact.render.generator import load_generator_renderer

        engines["generator:shipped"] = load_generator_renderer(weights, config)
    for name, engine in engines.items():

        def run(cls, crop, lm, engine=engine):
            engine.set_target(crop, lm)
            return np.array(engine.render(lm + presets[cls].delta_for(lm, size)), copy=True)

        driven = ClassDriven(f"{name} + preset", size, set(presets), run)
        driven.shifts_colours = engine.shifts_colours  # an unanchored generator's: matched
        out.append(EvalRenderer(f"{name} + preset", "preset", driven))
    return out


def portraits_strip(config, renderers: list[EvalRenderer], path: Path, cls: str = "happy"):
    """One row per `eval.stills_portraits` (a painting, a cartoon, an animal): the portrait's
    aligned crop, then each class-driven renderer's `cls` composited into the picture."""
    from reenact.pipeline.target import prepare_target

    columns: dict[str, list[np.ndarray]] = {"portrait": []}
    labels = []
    for item in config.eval.stills_portraits:
        target = prepare_target(str(resolve_input(item, "portrait")), config)
        labels.append(Path(item).stem)
        columns["portrait"].append(target.crop)
        for r in renderers:
            r.renderer.set_target(target.crop, target.landmarks_crop)
            r.renderer.select(cls)
            target.compositor.colour_match = r.renderer.shifts_colours
            frame = target.compositor.paste(r.renderer.render(target.landmarks_crop))
            columns.setdefault(f"{r.name} ({CLASS_OF[cls]})", []).append(
                target.alignment.crop_image(frame)
            )
    return sample_strip(columns, path, row_labels=labels)
