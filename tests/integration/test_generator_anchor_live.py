"""The generator's colour anchor through the live path, on a real turn of the head: hdtf_aoc
turns away in its first two seconds while driving sadtalker_people_0 (a pale, made-up face the
network was not trained on). Without the anchor the compositor matched the network's colours to
the picture at rest, which the moved face fooled into a white glow over one cheek; with it the
output's broad colours stay on the warp's (the target's own pixels, where the face is now)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.helpers import reenactor

FRAMES = 60


def _outputs(clip: Path, portrait: Path, *overrides: str) -> list[np.ndarray]:
    from reenact.config import load_config
    from reenact.video import read_frames

    config = load_config(None, ["renderer.backend=torch", *overrides])
    r = reenactor(config, portrait)
    out = []
    try:
        for index, image in enumerate(read_frames(clip, FRAMES)):
            frame = r.process(image, index / 25.0, None)
            out.append(cv2.GaussianBlur(frame.output.astype(np.float32), (0, 0), 6.0))
    finally:
        r.close()
    return out


def test_a_turned_head_keeps_the_targets_colours(clips_dir: Path, portraits_dir: Path):
    clip, portrait = clips_dir / "hdtf_aoc.mp4", portraits_dir / "sadtalker_people_0.png"
    warp = _outputs(clip, portrait, "renderer.kind=warp")
    departure = {}
    for px in ("0", "32"):
        gen = _outputs(clip, portrait, "renderer.kind=generator", f"renderer.anchor_px={px}")
        departure[px] = [float(np.abs(g - w).mean()) for g, w in zip(gen[40:], warp[40:])]
    glow, anchored = (np.array(departure[k]) for k in ("0", "32"))
    assert glow.max() > 1.2  # the old path's glow is there to take out
    assert anchored.mean() < 0.65 * glow.mean() and anchored.max() < 0.65 * glow.max()
