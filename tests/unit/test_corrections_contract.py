"""The corrections' one contract (`reenact.render.corrections`): declared once, kept by each.

`Layer` and `MapOverride` are defined once and pixels are made from them in one module; every
correction the warp runs subclasses `Correction`, declares what it returns, and returns exactly
that on a real portrait driven by a move that makes every one of them draw.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from reenact.render.corrections import Correction, Layer, MapOverride
from reenact.render.eye_keep import EyeKeep
from reenact.render.warp import WarpRenderer
from tests.golden.corrections import HERE, SIZE, frames_of, load

ROOT = Path(__file__).resolve().parents[2]
RENDER = ROOT / "reenact" / "render"
CORRECTIONS_DOC = ROOT / "docs" / "CORRECTIONS.md"


def _defined(name: str) -> list[str]:
    """The render modules that define a class or function called `name`."""
    found = []
    for path in sorted(RENDER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_def = isinstance(node, ast.FunctionDef | ast.ClassDef)
            if is_def and node.name == name:
                found.append(str(path.relative_to(RENDER)))
    return found


def test_layer_override_and_paint_are_defined_once():
    assert _defined("Layer") == ["corrections/base.py"]
    assert _defined("MapOverride") == ["corrections/base.py"]
    assert _defined("paint") == ["corrections/apply.py"]


def test_every_correction_returns_what_it_declares():
    inputs, _, _ = load(HERE / "yawn.npz")
    warp = WarpRenderer(size=SIZE)
    warp.set_target(inputs["crop"], inputs["landmarks"])
    names = [c.name for c in warp.corrections]
    assert names == ["lip_bands", "eyes", "irises", "lids", "mouth"]  # the order they apply in
    drawn = dict.fromkeys(names, 0)
    for fused in frames_of(inputs).values():
        xy = warp.follow(fused)
        for correction in [*warp.corrections, EyeKeep(size=SIZE)]:
            assert isinstance(correction, Correction)
            overrides, layers = correction.geometry(xy), correction.overlay(xy)
            assert correction.reshapes or overrides == []
            assert correction.paints or layers == []
            for box, alpha, shift in overrides:
                assert isinstance(overrides[0], MapOverride)
                assert alpha.shape == (box[3] - box[1], box[2] - box[0])
                assert alpha.dtype == np.float32 and shift.dtype == np.float32
                assert shift.shape in ((2,), (*alpha.shape, 2))
            for box, rgb, alpha in layers:
                assert isinstance(layers[0], Layer)
                assert alpha.shape == (box[3] - box[1], box[2] - box[0])
                assert rgb is None or (rgb.shape == (*alpha.shape, 3) and rgb.dtype == np.uint8)
            drawn[correction.name] = drawn.get(correction.name, 0) + len(overrides) + len(layers)
    assert min(drawn.values()) > 0, drawn  # each correction drew on some move
    assert [c.name for c in warp.corrections if c.kept] == ["mouth"]


def template_correction() -> type[Correction]:
    """`TemplateCorrection`, defined by docs/CORRECTIONS.md's one Python block ("Adding one")."""
    text = CORRECTIONS_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, f"{CORRECTIONS_DOC.name}: {len(blocks)} Python blocks, expected 1"
    namespace: dict = {}
    exec(compile(blocks[0], str(CORRECTIONS_DOC), "exec"), namespace)
    return namespace["TemplateCorrection"]


def test_the_template_correction_changes_nothing():
    """The template in docs/CORRECTIONS.md, the starting point for a new correction, is a
    `Correction` that plugs into the warp's list and draws nothing."""
    TemplateCorrection = template_correction()
    assert issubclass(TemplateCorrection, Correction)
    inputs, _, _ = load(HERE / "teeth.npz")
    plain, extended = WarpRenderer(size=SIZE), WarpRenderer(size=SIZE)
    extended.corrections.append(TemplateCorrection(size=SIZE))
    for warp in (plain, extended):
        warp.set_target(inputs["crop"], inputs["landmarks"])
    fused = frames_of(inputs)["smile"]
    np.testing.assert_array_equal(plain.render(fused), extended.render(fused))
