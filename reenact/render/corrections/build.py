"""The warp's corrections, built in one place and in the order they apply."""

from __future__ import annotations

from reenact.render.corrections.base import Correction
from reenact.render.eyes import EyeKeeper
from reenact.render.irises import IrisPainter
from reenact.render.lids import LidPainter
from reenact.render.lip_bands import LipBands
from reenact.render.mouth import MouthFiller


def learned_eyes_shipped() -> bool:
    """Whether the learned eyes' weights ship: they are wired in only where they beat the painted
    eyes on held-out people (docs/experiments/2026-11-28-learned-eyes.md)."""
    from reenact.render.learned_eyes import WEIGHTS

    return WEIGHTS.is_file()


def warp_corrections(
    size: int,
    *,
    fill_mouth: bool = True,
    keep_eyes: bool = True,
    lip_bands: bool = True,
    drawn: str = "painted",
    quantize: str = "auto",
) -> list[Correction]:
    """The corrections a `WarpRenderer` of crop side `size` runs, in order: the map's (the lips
    band by band, then the eyeballs over them) and then the layers, each painted over the last
    (irises, lid skin over them, the mouth). fill_mouth, keep_eyes, lip_bands: as the warp's;
    drawn: "painted", or "learned" for the mouth (and, where their weights ship, the irises and
    lids) drawn by a network (`renderer.corrections`), run as `renderer.quantize` says."""
    chosen: list[Correction] = []
    if lip_bands:
        chosen.append(LipBands(size=size))
    if keep_eyes:
        # the iris painter moves the irises: the eyeballs under the lids only follow the eye
        chosen.append(EyeKeeper(size=size, gaze_limit=0.0))
        if drawn == "learned" and learned_eyes_shipped():
            from reenact.render.learned_eyes import LearnedEyes

            chosen.append(LearnedEyes(size=size, quantize=quantize))
        else:
            chosen += [IrisPainter(size=size), LidPainter(size=size)]
    if fill_mouth and drawn == "learned":
        # imported here: the painted default never loads ONNX Runtime for the warp
        from reenact.render.learned_mouth import LearnedMouth

        chosen.append(LearnedMouth(size=size, quantize=quantize))
    elif fill_mouth:
        chosen.append(MouthFiller(size=size))
    return chosen
