"""Pixel regression vs the warp and the generator on posed stills, and a strip on non-photos.

The posed-expression protocol on Yale-layout stills (the paper's, CK+ / RaFD style): for every
held-out subject (`pixel_rr.holdout`, never trained on) and class, the neutral still is the
target and the subject's own expression still is the truth. Renderers:

    identity               the neutral, unchanged (the floor)
    pixel-rr <kind>        the class's pixel-regression model on the target crop
    warp / generator       driven by the class's *mean deviation* over the training subjects
                           (what a preset fires), and, for reference, by the truth's own
                           landmarks (an oracle no preset can know)

Every output is blended into the target crop with the compositor's feathered face mask, as the
live loop composites, and scored against the truth's aligned crop: SSIM and PSNR on the crop
(`reenact.eval.metrics`), and `sharpness`: Laplacian energy inside the face mask over the
truth's (1.0 = as sharp; blur < 1). Winks are mirrored so that the left eye closes, as in the
presets and models. Only the subjects held out are scored: two in the Yale set, so a table row
is a mean of 2 faces per class; read differences under ~0.01 SSIM as noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reenact.eval.metrics import psnr, ssim
from reenact.stream.composite import face_mask

CONDITIONS = {"smile": "happy", "surprise": "surprised", "sad": "sad", "wink": "wink"}


@dataclass
class Case:
    """One held-out (subject, class): crops (S,S,3) uint8 and landmarks (478,3) crop pixels."""

    subject: str
    cls: str
    target: np.ndarray
    target_lm: np.ndarray
    truth: np.ndarray
    truth_lm: np.ndarray


def sharpness(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared Laplacian of the luma inside `mask` (S,S float in [0,1])."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    return float((lap * lap * mask).sum() / max(mask.sum(), 1e-6))


def blend_face(render: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The rendered crop inside the feathered face mask, the target's crop outside."""
    m = mask[..., None]
    return (render * m + target * (1.0 - m) + 0.5).astype(np.uint8)


def _tracked(path: Path, tracker, size: int):
    from reenact.imageio import load_image
    from reenact.landmarks.align import compute_alignment

    image = load_image(path)
    lm = tracker.track_one(image)
    if lm is None:
        return None
    align = compute_alignment(lm, size)
    return align.crop_image(image), align.landmarks_to_crop(lm)


def held_out_cases(folder: Path, config, size: int) -> list[Case]:
    """Every held-out subject's (neutral, condition) pair for the classes the stills carry."""
    from reenact.fusion.preset_record import yale_pairs
    from reenact.landmarks.expression import feature_deltas
    from reenact.landmarks.tracker import FaceTracker
    from reenact.train.flip import flip_image, flip_landmarks

    holdout = config.pixel_rr.holdout
    cases = []
    with FaceTracker(config.tracker, static=True) as tracker:
        for cls, condition in CONDITIONS.items():
            pairs = yale_pairs(folder, condition, exclude=())
            for subject, neutral_path, expr_path in pairs:
                if subject not in holdout:
                    continue
                n, e = _tracked(neutral_path, tracker, size), _tracked(expr_path, tracker, size)
                if n is None or e is None:
                    continue
                if cls == "wink" and feature_deltas(e[1], n[1])["eye_right"] < \
                        feature_deltas(e[1], n[1])["eye_left"]:
                    n = (flip_image(n[0]), flip_landmarks(n[1], size))
                    e = (flip_image(e[0]), flip_landmarks(e[1], size))
                cases.append(Case(subject, cls, n[0], n[1], e[0], e[1]))
    return cases


def class_presets(folder: Path, config, size: int) -> dict:
    """Each class's mean deviation over the training subjects, as a Preset (what fires live)."""
    from reenact.fusion.preset_record import from_yale
    from reenact.fusion.presets import make_preset

    out = {}
    for cls, condition in CONDITIONS.items():
        rec = from_yale(folder, condition, config, size, exclude=config.pixel_rr.holdout)
        out[cls] = make_preset(cls, rec.neutral, rec.expression, size, source=rec.source)
    return out


def renderers(config, models: dict[str, dict], size: int) -> dict:
    """name -> fn(case, preset) -> (S,S,3) uint8 raw render (before the face blend)."""
    from reenact.engine.factory import shipped_weights
    from reenact.render import build_renderer

    warp = build_renderer("warp", size=size)
    out = {"identity": lambda case, preset: case.target}
    for kind, by_class in models.items():
        out[f"pixel-rr {kind}"] = (lambda m: lambda case, preset: m[case.cls].apply(case.target))(
            by_class)
    drivers = {"preset": lambda case, preset: case.target_lm + preset.delta_for(case.target_lm,
                                                                              size),
               "true landmarks": lambda case, preset: case.truth_lm}
    engines = {"warp": warp}
    weights = shipped_weights("generator", size)
    if weights is not None:
        from reenact.engine.generator_runner import GeneratorRenderer

        engines["generator"] = GeneratorRenderer.from_weights(weights, config)
    for engine_name, engine in engines.items():
        for driver_name, driver in drivers.items():
            def run(case, preset, engine=engine, driver=driver):
                engine.set_target(case.target, case.target_lm)
                return engine.render(driver(case, preset))

            out[f"{engine_name} + {driver_name}"] = run
    return out


def score(cases: list[Case], presets: dict, render_fns: dict, size: int):
    """(rows: name -> class -> {ssim, psnr, sharpness}, outputs: (name, subject, class) -> crop)."""
    rows: dict[str, dict[str, dict[str, list[float]]]] = {}
    outputs = {}
    for case in cases:
        mask = face_mask(case.target_lm, size)
        truth_sharp = sharpness(case.truth, mask)
        for name, fn in render_fns.items():
            out = blend_face(fn(case, presets[case.cls]), case.target, mask)
            outputs[(name, case.subject, case.cls)] = out
            cell = rows.setdefault(name, {}).setdefault(case.cls, {"ssim": [], "psnr": [],
                                                                   "sharpness": []})
            cell["ssim"].append(ssim(out, case.truth))
            cell["psnr"].append(psnr(out, case.truth))
            cell["sharpness"].append(sharpness(out, mask) / max(truth_sharp, 1e-6))
    means = {name: {cls: {k: float(np.mean(v)) for k, v in cell.items()}
                    for cls, cell in by_cls.items()} for name, by_cls in rows.items()}
    return means, outputs


def table_markdown(means: dict, classes: list[str]) -> str:
    """One row per renderer; per class 'SSIM / PSNR / sharpness'; then the mean over classes."""
    head = "| renderer | " + " | ".join(f"{c} SSIM / PSNR / sharp" for c in classes)
    lines = [head + " | mean SSIM / PSNR / sharp |",
             "|---" * (len(classes) + 2) + "|"]
    for name, by_cls in means.items():
        cells = [by_cls.get(c) for c in classes]
        fmt = [f"{v['ssim']:.3f} / {v['psnr']:.2f} / {v['sharpness']:.2f}" if v else "-"
               for v in cells]
        got = [v for v in cells if v]
        mean = {k: np.mean([v[k] for v in got]) for k in ("ssim", "psnr", "sharpness")}
        lines.append(f"| {name} | " + " | ".join(fmt) +
                     f" | {mean['ssim']:.3f} / {mean['psnr']:.2f} / {mean['sharpness']:.2f} |")
    return "\n".join(lines) + "\n"


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    for colour, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, colour, width,
                    cv2.LINE_AA)
    return out


def stills_strip(cases: list[Case], outputs: dict, names: list[str]) -> np.ndarray:
    """Rows: held-out cases; columns: target, truth, then each renderer (labelled)."""
    rows = []
    for case in cases:
        tiles = [_label(case.target, f"{case.subject} neutral"),
                 _label(case.truth, f"truth {case.cls}")]
        tiles += [_label(outputs[(n, case.subject, case.cls)], n) for n in names]
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def portrait_strip(paths: list[str], config, models: dict[str, dict], presets: dict,
                   render_fns: dict, cls: str = "smile") -> np.ndarray:
    """Rows: portraits; columns: the portrait's crop, then each renderer's `cls`, composited
    into the full picture as the live loop does and shown in the aligned crop."""
    from reenact.stream.target import prepare_target

    size = config.renderer.size
    rows = []
    for path in paths:
        target = prepare_target(path, config)
        case = Case(Path(path).stem, cls, target.crop, target.landmarks_crop, target.crop,
                    target.landmarks_crop)
        tiles = [_label(target.crop, Path(path).name)]
        for name, fn in render_fns.items():
            if name == "identity" or name.endswith("true landmarks"):
                continue
            target.compositor.colour_match = name.startswith("generator")
            frame = target.compositor.paste(fn(case, presets[cls]))
            tiles.append(_label(target.alignment.crop_image(frame), f"{name} {cls}"))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def run_comparison(stills: Path, portraits: list[str], model_dirs: dict[str, str], config,
                   out_dir: Path) -> dict:
    """Score every renderer on the held-out stills, write report.md / report.json and the two
    strips into `out_dir`; returns the means."""
    from reenact.atomic import write_atomic, write_json
    from reenact.imageio import save_image
    from reenact.render.pixel_rr import load_pixel_rr, model_paths

    size = config.renderer.size
    models = {kind: {c: load_pixel_rr(p) for c, p in model_paths(folder, size).items()}
              for kind, folder in model_dirs.items()}
    cases = held_out_cases(stills, config, size)
    presets = class_presets(stills, config, size)
    fns = renderers(config, models, size)
    means, outputs = score(cases, presets, fns, size)
    classes = [c for c in CONDITIONS if any(case.cls == c for case in cases)]
    table = table_markdown(means, classes)
    names = [n for n in fns if n != "identity"]
    save_image(out_dir / "stills_strip.png", stills_strip(cases, outputs, names))
    if portraits:
        save_image(out_dir / "portraits_strip.png",
                   portrait_strip(portraits, config, models, presets, fns))
    subjects = sorted({c.subject for c in cases})
    intro = (f"# Posed stills: pixel regression vs warp vs generator\n\nHeld-out subjects "
             f"{', '.join(subjects)} of {stills} ({len(cases)} pairs); each cell is "
             "SSIM / PSNR dB / sharpness ratio against the true expression still.\n\n")
    write_atomic(out_dir / "report.md", intro + table)
    write_json(out_dir / "report.json", {"subjects": subjects, "classes": classes,
                                         "models": model_dirs, "renderers": means})
    return means
