"""The frame's two chains: their order is the documented one, and the Reenactor walking them gives
exactly what the steps called one by one in that order give (real clip, real tracker, the warp).

The reference walk below calls each step's object directly, in the order docs/ARCHITECTURE.md
lists; the chains must match it to the bit, and a chain with two parts swapped must not (so the
pin fails when the order changes)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from reenact.config import load_config
from reenact.pipeline import compose, expression
from reenact.pipeline.chains import build_chains
from reenact.pipeline.head_motion import eyes_moved, turn_centre

from tests.helpers import reenactor, tracked_clip

ROOT = Path(__file__).resolve().parents[2]
FRAMES = 14
SETTINGS = [
    "renderer.kind=warp",
    "fusion.kind=training_free",
    "calibration.neutral_frames=4",
    "calibration.neutral_window=4",
    "compose.creases=1.0",
    "head.motion=full",
    "smoothing.crop_blend=0.3",
    "fusion.gains.eyes=1.4",
    "fusion.gains.mouth=1.3",
]


def _doc_chain(title: str) -> list[tuple[str, str]]:
    """(name, stage) of each numbered part under `title` in ARCHITECTURE.md's diagram."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    section = text.split(f" {title} (", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\s+\d+ (\w+)\s+(\w+|-)\s", section, flags=re.M)


def _docstring_chain(module) -> list[str]:
    """The arrow list at the top of a chain module's docstring."""
    block = module.__doc__.split("\n\n")[1]
    return [name.strip() for name in block.replace("\n", " ").split("->")]


def test_the_docs_list_the_chains_the_builders_build():
    parts = build_chains(load_config(None, []), fuser=None, renderer=None)
    for title, chain, module in (
        ("expression chain", parts.expression, expression),
        ("compose chain", parts.compose, compose),
    ):
        built = [(p.name, p.stage if getattr(p, "counted", True) else "-") for p in chain.parts]
        assert _doc_chain(title) == built, title
        assert _docstring_chain(module) == chain.names, module.__name__
        for part in chain.parts:  # one contract
            assert callable(part.apply) and callable(part.reset) and hasattr(part, "options")


@pytest.fixture(scope="module")
def actor(clips_dir):
    """The first FRAMES frames of a real clip and their tracking (tracked once, shared)."""
    config = load_config(None, SETTINGS)
    images, tracked = tracked_clip(clips_dir / "lp_d13.mp4", config, FRAMES)
    return config, images, tracked


def _reference(r, image, t_s, tracked):
    """One frame through the steps' own objects in the documented order: (output, J_gen)."""
    if tracked.source is None:
        r.landmark_filter.reset()
        r.motion.lost()
        return None
    source = r.landmark_filter.filter(tracked.source, t_s)
    if not r.calibrator.complete:
        r.calibrator.add(source)
        r.motion.calibrate(tracked.alignment)
    ratio = None
    if not (r.creases.held and not r.creases.active):
        crop = tracked.alignment.crop_image(image)
        if not r.creases.held:
            r.creases.observe(crop, tracked.source, r.calibrator.neutral, r.calibrator.complete)
        ratio = r.creases.ratio(crop, tracked.source)
    n = r.calibrator.neutral
    if n is None:
        return None
    expr, pose = r.motion.head.observe(source, n, tracked.alignment, t_s, tracked.source)
    expr = r.motion.mouth.apply(r.motion.brows.apply(expr, n), n)
    neutral = r.target.neutral(r.motion.estimated_neutral)
    fused = r.motion.eyes.apply(r.fuser.fuse(expr, n, neutral, r.intensity), expr, n, neutral)
    fused = r.gains.apply(fused, neutral)
    if r.presets.active:
        fused = r.presets.apply(fused, neutral, t_s)
    drawn = r.boost.apply(fused, neutral)
    centre = turn_centre(neutral)
    turned = pose.turn(fused, centre)
    pose = pose.shifted(-eyes_moved(fused, turned, r.target.alignment))  # head_motion "full"
    drawn = turned if drawn is fused else pose.turn(drawn, centre)
    crop = r.creases.apply(r.renderer.render(drawn), ratio, drawn)
    if r.presets.active:
        crop = r.presets.blend_crop(crop, r.target.crop, r.target.landmarks_crop)
    output = r.target.compositor.paste(r.crop_blender.blend(crop), drawn)
    return r.motion.move_head(r.target, output, pose).copy(), turned


def _walk(config, images, tracked, *, reference=False, swap=None):
    """Each frame's (output, J_gen) or None, a smile preset pressed half way."""
    r = reenactor(config, "")
    if swap is not None:
        chain, (a, b) = getattr(r, swap[0]), swap[1:]
        i, j = chain.names.index(a), chain.names.index(b)
        parts = list(chain.parts)
        parts[i], parts[j] = parts[j], parts[i]
        chain.parts = parts
    out = []
    for i, (image, seen) in enumerate(zip(images, tracked)):
        if i == FRAMES // 2:
            r.presets.press("smile")
        t_s = i / 25.0
        if reference:
            out.append(_reference(r, image, t_s, seen))
        else:
            result = r.process(image, t_s, seen)
            out.append(None if result.fused is None else (result.output.copy(), result.fused))
    r.close()
    return out


def _same(a, b) -> bool:
    return all(
        (x is None and y is None)
        or (
            x is not None
            and y is not None
            and np.array_equal(x[0], y[0])
            and np.array_equal(x[1], y[1])
        )
        for x, y in zip(a, b)
    )


def test_the_reenactor_walks_the_documented_order(actor):
    config, images, tracked = actor
    reference = _walk(config, images, tracked, reference=True)
    assert sum(x is not None for x in reference) >= 6  # calibrated, then rendered
    assert _same(_walk(config, images, tracked), reference)
    # two parts swapped: the pin sees it, in either chain
    assert not _same(
        _walk(config, images, tracked, swap=("expression", "eyes", "gains")), reference
    )
    assert not _same(
        _walk(config, images, tracked, swap=("compose", "detail", "head_region")), reference
    )
