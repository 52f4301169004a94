"""Export shipped generator weights to the ONNX file that ships beside them (needs torch).

    python scripts/export_onnx.py                      # every shipped generator and local network
    python scripts/export_onnx.py WEIGHTS.safetensors [--output OUT.onnx]

The CPU runtime runs the generator with ONNX Runtime from `<stem>.onnx` beside its weights, so a
CPU install needs no torch. The export is the one the runtime's cache makes (fp32, opset 17,
`reenact.engine.backends.export_onnx`), so speed and pixels are the same;
`tests/unit/test_shipped_onnx.py` checks that the two files agree. Rerun this after refitting a
shipped generator. The learned corrections' local networks (`local_*.safetensors`) are exported
the same way (`reenact.render.local_net`, checked by `tests/unit/test_local_net.py`); then
`python -m lab.quantize_local` writes their INT8 models again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reenact.engine.backends import export_onnx  # noqa: E402
from reenact.engine.shipped import MODELS_DIR  # noqa: E402
from reenact.errors import ReenactError  # noqa: E402
from reenact.render.generator import load_generator  # noqa: E402
from reenact.render import learned_eyes, learned_mouth  # noqa: E402
from reenact.render.local_net import export_local  # noqa: E402

# a shipped local network's stem -> (its loader, input channels, box (h, w))
LOCAL = {
    "local_mouth": (learned_mouth.load_mouth_model, 7, learned_mouth.BOX_HW),
    "local_eyes": (learned_eyes.load_eye_model, 7, learned_eyes.BOX_HW),
}


def export(weights: Path, output: Path) -> Path:
    """`weights` (a U-net generator's or a local network's safetensors) as fp32 ONNX at
    `output`."""
    if weights.stem in LOCAL:
        load, channels, hw = LOCAL[weights.stem]
        return export_local(load(weights), output, channels=channels, hw=hw)
    model, _ = load_generator(weights)
    out = export_onnx(model, output, channels=model.in_channels, size=model.size)
    out.chmod(0o644)  # the temporary file it was written as is private; a shipped file is not
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "weights",
        nargs="*",
        type=Path,
        help="generator or local network safetensors (default: every shipped one)",
    )
    parser.add_argument("--output", type=Path, help="the ONNX file (one weights file only)")
    args = parser.parse_args(argv)
    weights = args.weights or sorted(MODELS_DIR.glob("generator_*.safetensors")) + [
        MODELS_DIR / f"{stem}.safetensors"
        for stem in LOCAL
        if (MODELS_DIR / f"{stem}.safetensors").is_file()
    ]
    if args.output and len(weights) != 1:
        parser.error("--output takes one weights file")
    try:
        for path in weights:
            out = export(path, args.output or path.with_suffix(".onnx"))
            print(f"{path} -> {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    except ReenactError as exc:
        print(f"export_onnx: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
