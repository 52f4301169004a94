"""The generator's colour anchor through the live path, on a real turn of the head: hdtf_aoc
turns away in its first two seconds while driving sadtalker_people_0 (a pale, made-up face the
network was not trained on). Without the anchor the compositor matched the network's colours to
the picture at rest, which the moved face fooled into a white glow over one cheek; with it the
output's broad colours stay on the warp's (the target's own pixels, where the face is now).
And a black-and-white photo driven by a laughing, turning actor stays grey in the file `reenact
run` writes: the network alone paints rosy lips and blue patches on it."""

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


def test_a_black_and_white_photo_stays_grey_in_the_written_file(
    tmp_path: Path, clips_dir: Path, portraits_dir: Path
):
    from reenact.cli.main import main
    from tests.helpers import decode_rgb

    worst = {}
    for chroma in ("network", "auto"):
        out = tmp_path / f"{chroma}.mp4"
        args = ["run", "--source", f"video:{clips_dir / 'lp_d12.mp4'}", "--sink", f"file:{out}"]
        target = ["--target", str(portraits_dir / "lp_s2.jpg"), "--max-frames", "30", "-q"]
        assert main([*args, *target, "--set", f"renderer.chroma={chroma}"]) == 0
        frames = decode_rgb(out)
        assert len(frames) == 30
        ycc = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2YCrCb) for f in frames]).astype(np.float32)
        worst[chroma] = float(np.hypot(ycc[..., 1] - 128, ycc[..., 2] - 128).max())
    assert worst["network"] > 6.0  # the tint is there to take out
    assert worst["auto"] <= 1.0
