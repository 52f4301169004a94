"""The learned corrections' INT8 models (reenact/models/local_{mouth,eyes}.int8.onnx), calibrated
on the training clips `scripts/quantize_shipped.sh` uses for the generator (no eval config uses
them); the same clips give the same files, byte for byte.

    python -m lab.quantize_local [--clips ../shared/media/clips] [--out reenact/models]

Calibration inputs are those the learned mouth and eyes give their networks while the warp
draws each clip from its first frame with a face (self-reenactment, every `STRIDE`-th frame).
The last convolution, which writes the colour and the mask, stays fp32: quantised, it more than
doubled the colour's difference from fp32 for no speed.
Prints, per network, the inputs, and INT8 against fp32: the mean difference of the colour (0..255
levels) and of the mask, and ms per call on one thread (median of 3 passes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import onnx

from reenact.config import load_config
from reenact.engine.backends import cpu_session
from reenact.engine.quantize import int8_path, quantize_onnx
from reenact.landmarks.clips import track_clip
from reenact.render.learned_eyes import LearnedEyes
from reenact.render.learned_mouth import LearnedMouth
from reenact.render.local_net import LocalNet
from reenact.render.warp import WarpRenderer

CLIPS = ("lp_d0", "lp_d2", "lp_d5", "lp_d11", "hdtf_katiehill", "pcavs_00015")
NETWORKS = {"mouth": "local_mouth", "learned_eyes": "local_eyes"}  # correction -> file stem
FRAMES, STRIDE = 20, 8  # driven frames per clip, every STRIDE-th tracked one


class Recording:
    """A local network that keeps each input (1,C,h,w) it is given."""

    def __init__(self, net: LocalNet, inputs: list[np.ndarray]) -> None:
        self.net, self.inputs = net, inputs

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.inputs.append(np.array(x[None]))
        return self.net.run(x)

    def run_batch(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.inputs.extend(np.array(one[None]) for one in x)
        return self.net.run_batch(x)


def calibration(clips: Path) -> dict[str, list[np.ndarray]]:
    """Per correction name, its network's inputs (1,C,h,w) float32, one crop each."""
    config = load_config(None, [])
    found: dict[str, list[np.ndarray]] = {name: [] for name in NETWORKS}
    for stem in CLIPS:
        clip = track_clip(clips / f"{stem}.mp4", stem, config, max_frames=FRAMES * STRIDE)
        ref = clip.reference_index(0)
        warp = WarpRenderer(size=256, drawn="learned", quantize="off")
        warp.set_target(clip.crops[ref], clip.landmarks_crop[ref])
        for name, inputs in found.items():
            drawing = warp.correction(name)
            assert isinstance(drawing, LearnedEyes | LearnedMouth), name
            drawing.net = Recording(drawing.net, inputs)  # type: ignore[assignment]
        for i in np.flatnonzero(clip.valid)[::STRIDE][:FRAMES]:
            warp.render(clip.landmarks_crop[i])
        print(stem, {name: len(x) for name, x in found.items()}, flush=True)
    return found


def compare(fp32: Path, int8: Path, inputs: list[np.ndarray]) -> str:
    """INT8 against fp32 on `inputs`: mean colour and mask differences, ms per call."""
    a, b = cpu_session(fp32, threads=1), cpu_session(int8, threads=1)
    rgb, mask = [], []
    for x in inputs[1::5]:
        (ra, ma), (rb, mb) = a.run(None, {"x": x}), b.run(None, {"x": x})
        rgb.append(float(np.abs(ra - rb).mean()) * 127.5)
        mask.append(float(np.abs(ma - mb).mean()))
    ms = {}
    for key, session in (("fp32", a), ("int8", b)):
        passes = []
        for _ in range(3):
            start = time.perf_counter()
            for x in inputs[::3]:
                session.run(None, {"x": x})
            passes.append((time.perf_counter() - start) / len(inputs[::3]) * 1e3)
        ms[key] = float(np.median(passes))
    return (
        f"colour {np.mean(rgb):.2f} levels, mask {np.mean(mask):.4f}; "
        f"{ms['fp32']:.2f} -> {ms['int8']:.2f} ms a crop"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=Path("../shared/media/clips"))
    ap.add_argument("--out", type=Path, default=Path("reenact/models"))
    args = ap.parse_args()
    for stem in CLIPS:
        if not (args.clips / f"{stem}.mp4").is_file():
            sys.exit(f"quantize_local: {args.clips / stem}.mp4: no such clip")
    found = calibration(args.clips)
    for name, stem in NETWORKS.items():
        fp32 = args.out / f"{stem}.onnx"
        head = [node.name for node in onnx.load(fp32).graph.node if node.op_type == "Conv"][-1:]
        out = quantize_onnx(fp32, found[name], int8_path(fp32), keep=head)
        print(f"{out}: {len(found[name])} inputs; {compare(fp32, out, found[name])}", flush=True)


if __name__ == "__main__":
    main()
