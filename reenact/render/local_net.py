"""A learned correction's small network on ONNX Runtime, so `renderer.corrections: learned` runs
on the CPU runtime, which has no torch.

Shipped weights run from the `.onnx` file shipped beside them (`python scripts/export_onnx.py`
writes it; `tests/unit/test_local_net.py` checks that the two agree), or from its INT8 model
(`<stem>.int8.onnx`, `python -m lab.quantize_local`) unless `renderer.quantize` is "off". Other
weights (a lab run's) are exported once into the ONNX cache, keyed by their content: that needs
torch, and without it is one line naming the file.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from reenact.engine.shipped import MODELS_DIR
from reenact.engine.backends import cpu_session
from reenact.engine.device import torch_available
from reenact.engine.quantize import check_quantize, int8_path
from reenact.errors import WeightsError
from reenact.landmarks.head_pose import RigidReference, redo_pose
from reenact.paths import onnx_cache_dir
from reenact.render.corrections.base import Box, Layer

log = logging.getLogger(__name__)


def onnx_for(weights: Path) -> Path:
    """The ONNX file a local network's `weights` run from: the shipped one beside shipped
    weights, else the cache's copy for this content."""
    beside = weights.with_suffix(".onnx")
    if weights.resolve().parent == MODELS_DIR.resolve() and beside.is_file():
        return beside
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    # "-n": exported with a free batch axis; an older cached export (batch 1) is not reused
    return onnx_cache_dir() / f"{weights.stem}-{digest}-n.onnx"


def export_local(model: Any, path: Path, *, channels: int, hw: tuple[int, int]) -> Path:
    """Export a local network (x (N,C,h,w) -> rgb, mask, any batch N) to ONNX at `path`,
    atomically."""
    import torch  # the export only: running the file needs ONNX Runtime alone

    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, channels, *hw)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        torch.onnx.export(
            model.eval().float().cpu(),
            (example,),
            tmp,
            input_names=["x"],
            output_names=["rgb", "mask"],
            # both eyes go through the eye network as one batch of 2 (one call a frame)
            dynamic_axes={name: {0: "n"} for name in ("x", "rgb", "mask")},
            opset_version=17,
            dynamo=False,
        )
        os.replace(tmp, path)
        path.chmod(0o644)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


# a target whose region at rest has channels this close (mean grey levels) is a grey picture: a
# network's colour is drawn as grey there (it learnt from colour faces and would tint it)
GREY_SPREAD = 3.0


def cut(image: np.ndarray, box: Box, hw: tuple[int, int], flip: bool = False) -> np.ndarray:
    """image's (x0, y0, x1, y1) box as a network's (hw) uint8 RGB (resized when the box, scaled
    with the crop, is another size), mirrored left-right when `flip`."""
    x0, y0, x1, y1 = box
    region = image[y0:y1, x0:x1]
    if region.shape[:2] != hw:
        region = cv2.resize(region, hw[::-1], interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(region[:, ::-1] if flip else region)


def network_input(rest: np.ndarray, warp: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """(7,h,w) float32 in [-1,1]: rest (h,w,3) uint8, warp (h,w,3) uint8, lines (h,w) in [0,1]."""
    images = np.concatenate([rest, warp], 2).transpose(2, 0, 1).astype(np.float32) / 127.5 - 1
    return np.concatenate([images, lines[None] * 2 - 1], 0)


@functools.lru_cache(maxsize=8)
def feather(hw: tuple[int, int], band: float) -> np.ndarray:
    """(h,w) float32: 1 inside, ramping to 0 over `band` pixels at the edges (shared: read only)."""
    ys = np.minimum(np.arange(hw[0]), np.arange(hw[0])[::-1]) + 0.5
    xs = np.minimum(np.arange(hw[1]), np.arange(hw[1])[::-1]) + 0.5
    ramp = np.minimum(ys[:, None], xs[None, :]) / max(band, 1.0)
    return np.clip(ramp, 0.0, 1.0).astype(np.float32)


# a region's change of shape (`shape_change`) at which a network's drawing is taken whole; a
# smaller change fades it into the warp, which draws the picture itself where nothing moved
FULL_CHANGE = 0.04


def shape_change(xy: np.ndarray, rest: RigidReference) -> float:
    """How far a region of (478,2) landmarks `xy` changed shape from `rest` (its points at the
    target's own face): the RMS of what is left after the best similarity (a move, turn or zoom
    draws no new pixels), in the rest points' widths (0: the same shape)."""
    scale, rotation, shift = rest.fit(xy)
    width = float(np.ptp(rest.centred[:, 0]))
    if scale < 1e-9 or width < 1e-6:
        return 1.0
    fitted = redo_pose(rest.centred + rest.centre, (scale, rotation, shift))
    left = np.asarray(xy, np.float64)[rest.points, :2] - fitted
    return float(np.sqrt((left * left).sum(axis=1).mean()) / (scale * width))


def change_weight(xy: np.ndarray, rest: RigidReference) -> float:
    """A network's share of its region, in [0, 1]: `shape_change` over FULL_CHANGE, 0 below
    1/255 (a share that moves no pixel by a whole level: the network need not run)."""
    share = min(1.0, shape_change(xy, rest) / FULL_CHANGE)
    return share if share >= 1.0 / 255.0 else 0.0


def drawn_layer(box: Box, rgb: np.ndarray, alpha: np.ndarray, *, grey: bool, band: float) -> Layer:
    """A network's drawing as the Layer of `box`: rgb (3,h,w) in [-1,1] and alpha (h,w) in
    [0,1] at the network's box size, drawn grey on a grey picture, resized to the box and
    feathered over `band` pixels at its edge."""
    colour = ((rgb.transpose(1, 2, 0) + 1) * 127.5 + 0.5).clip(0, 255)
    if grey:
        colour = np.repeat(colour.mean(axis=2, keepdims=True), 3, axis=2)
    h, w = box[3] - box[1], box[2] - box[0]
    if colour.shape[:2] != (h, w):
        colour = cv2.resize(colour, (w, h), interpolation=cv2.INTER_LINEAR)
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    return Layer(
        box,
        np.ascontiguousarray(colour.astype(np.uint8)),
        np.ascontiguousarray(alpha * feather((h, w), band), dtype=np.float32),
    )


def grey_picture(rest: np.ndarray) -> bool:
    """Whether (...,3) uint8 pixels of a target at rest are grey (see GREY_SPREAD)."""
    pixels = rest.astype(np.float32)
    return float((pixels.max(axis=-1) - pixels.min(axis=-1)).mean()) < GREY_SPREAD


def load_local_model(path: str | Path, what: str) -> Any:
    """A local network (`reenact.nn.local_gen.LocalGenerator`) from fp16 safetensors as a torch
    module in float32 eval mode (the lab's, and the ONNX export's); a missing or damaged file
    raises WeightsError in one line naming `what` ("learned-mouth")."""
    from reenact.engine.weights import load_into
    from reenact.nn.local_gen import LocalGenerator

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no {what} weights; set renderer.corrections: painted")
    model = LocalGenerator()
    load_into(model, path)
    return model.float().eval()


class LocalNet:
    """One local network on ONNX Runtime (one thread: it runs between the warp's steps).

    weights: its safetensors; load: builds the torch module from them, called only when the
    ONNX file must be exported; channels, hw: its input's channels and box (h, w); quantize:
    `renderer.quantize`, where "off" runs fp32 and the others the INT8 model beside the ONNX
    file when there is one (else fp32)."""

    def __init__(
        self,
        weights: str | Path,
        *,
        load: Callable[[Path], Any],
        channels: int,
        hw: tuple[int, int],
        quantize: str = "auto",
    ) -> None:
        check_quantize(quantize)
        weights = Path(weights)
        if not weights.is_file():
            raise WeightsError(
                f"{weights}: no learned-correction weights; set renderer.corrections: painted"
            )
        onnx = onnx_for(weights)
        if not onnx.is_file():
            if not torch_available():
                raise WeightsError(
                    f"{weights}: not shipped weights, and exporting them to ONNX needs torch "
                    "(pip install 'reenact[train]')"
                )
            export_local(load(weights), onnx, channels=channels, hw=hw)
        if quantize != "off" and int8_path(onnx).is_file():
            onnx = int8_path(onnx)
        self.session = cpu_session(onnx, threads=1)
        self.path = onnx
        log.info("learned correction: %s on ONNX Runtime", onnx.name)
        self.input_name = self.session.get_inputs()[0].name

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x: (C,h,w) float32 in [-1,1] -> rgb (3,h,w) in [-1,1], mask (h,w) in [0,1]."""
        rgb, mask = self.run_batch(x[None])
        return rgb[0], mask[0]

    def run_batch(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x: (N,C,h,w) float32 in [-1,1] -> rgb (N,3,h,w) in [-1,1], mask (N,h,w) in [0,1],
        in one ONNX Runtime call (the files are exported with a free batch axis)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        rgb, mask = self.session.run(None, {self.input_name: x})
        return rgb, mask[:, 0]
