"""Static INT8 quantisation for ONNX Runtime on the CPU (`renderer.quantize`): the generator,
and the learned corrections' networks.

The generator is exported in its sub-pixel form (`reenact.nn.subpixel`: every transposed conv as
a 2x2 conv, which ONNX Runtime can run as QLinearConv), then quantised with
`onnxruntime.quantization.quantize_static` in the QDQ format: uint8 activations with ranges from
calibration inputs (real aligned crops, `reenact.tools.quantize`), int8 weights per output
channel with 7-bit range (`reduce_range`: this CPU class, AVX2 without VNNI, multiplies u8 x s8
pairs into saturating int16). The result is written atomically beside the fp32 ONNX cache as
`<stem>.int8.onnx`; `int8_path` names it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from reenact.errors import ConfigError, ReenactError

QUANTIZE_CHOICES = ("auto", "off", "int8")


def int8_path(onnx_path: Path) -> Path:
    """Where the INT8 model of an fp32 ONNX export lives: beside it, `<stem>.int8.onnx`."""
    return onnx_path.with_name(f"{onnx_path.stem}.int8.onnx")


def check_quantize(quantize: str) -> None:
    """A ConfigError in one line when `quantize` is not one of QUANTIZE_CHOICES."""
    if quantize not in QUANTIZE_CHOICES:
        raise ConfigError(
            f"renderer.quantize: '{quantize}' is not one of {', '.join(QUANTIZE_CHOICES)}"
        )


def _reader(inputs: Iterable[np.ndarray], name: str):
    """A CalibrationDataReader over float32 inputs (N,C,h,w), fed as input `name`."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.inputs: Iterator[np.ndarray] = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self.inputs, None)
            return None if x is None else {name: np.ascontiguousarray(x, np.float32)}

    return Reader()


def quantize_generator(
    model, calibration: Iterable[np.ndarray], out: Path, *, per_channel: bool = True
) -> Path:
    """Export `model` (a UNetGenerator) in sub-pixel form and quantise it to INT8 at `out`.

    calibration: inputs (1, in_channels, S, S) float32 in [-1,1], as the renderer builds them.
    Returns `out`; nothing is left at `out` when calibration or quantisation fails.
    """
    from reenact.engine.backends import export_onnx
    from reenact.nn.subpixel import subpixel_model

    with tempfile.TemporaryDirectory(prefix="reenact-quantize-") as tmp:
        fp32 = export_onnx(
            subpixel_model(model),
            Path(tmp) / "subpixel.onnx",
            channels=model.in_channels,
            size=model.size,
        )
        return quantize_onnx(fp32, calibration, out, per_channel=per_channel)


def quantize_onnx(
    fp32: Path,
    calibration: Iterable[np.ndarray],
    out: Path,
    *,
    per_channel: bool = True,
    keep: Sequence[str] = (),
) -> Path:
    """Quantise the ONNX model `fp32` (one input, "x") to INT8 at `out`, written atomically.

    calibration: its inputs, float32, as the renderer gives them; keep: names of nodes left in
    fp32. Returns `out`; nothing is left at `out` when calibration or quantisation fails.
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    reader = _reader(calibration, "x")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reenact-quantize-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared))
        fd, partial = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
        os.close(fd)
        try:
            quantize_static(
                str(prepared),
                partial,
                reader,
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=per_channel,
                reduce_range=True,
                nodes_to_exclude=list(keep),
            )
            os.replace(partial, out)
            out.chmod(0o644)
        except Exception as exc:  # onnxruntime.quantization raises assorted types
            raise ReenactError(f"{out}: INT8 quantisation failed ({exc})") from None
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    return out


def quantized_model(onnx_path: Path, quantize: str, *, shipped: Path | None = None) -> Path:
    """The ONNX file to run for `renderer.quantize`: `onnx_path` for "off", its INT8 model for
    "int8" (a ReenactError naming the key and the command to run when it does not exist), and
    for "auto" the INT8 model when it exists, else `onnx_path`. The INT8 model is the one beside
    `onnx_path` (a user's own calibration), else the one beside `shipped` (the ONNX file shipped
    with these weights, if any)."""
    check_quantize(quantize)
    path = int8_path(onnx_path)
    if not path.is_file() and shipped is not None and int8_path(shipped).is_file():
        return onnx_path if quantize == "off" else int8_path(shipped)
    if quantize == "off" or (quantize == "auto" and not path.is_file()):
        return onnx_path
    if not path.is_file():
        raise ReenactError(
            f"renderer.quantize=int8: no INT8 model at {path}; run `reenact "
            "quantize --clips CLIP...` first (same weights and renderer.size)"
        )
    return path
