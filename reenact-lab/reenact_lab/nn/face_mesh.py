"""MediaPipe's face-mesh network as a frozen torch module, for a face-specific perceptual loss.

No VGG or LPIPS weights can be downloaded here, but MediaPipe's wheel ships its face-mesh model
(`mediapipe/modules/face_landmark/face_landmark.tflite`, Apache-2.0): a MobileNet-like stack of
convolutions, depthwise convolutions, PReLUs, residual adds, max pools and channel pads, with
fp16 weights. `FaceMesh` reads that file with the TF Lite schema bindings MediaPipe ships and
runs the same graph in torch (checked against TF Lite's own interpreter:
docs/experiments/2026-11-30-mouth-probes.md), so a training loss can compare what this face
network sees in an output and in the real frame (`mesh_feature_loss`). The PyPI route,
tflite2onnx then onnx2torch, stops at the model's fp16 DEQUANTIZE ops, which is why the graph
is read here.

Input: (N,3,192,192) RGB in [0,1], a face filling about two thirds of the square. Outputs: the
468 landmarks (N,468,3) in input pixels and the face logit (N,). The early PReLU stages see a
few pixels each, so `features` of a mouth or eye box alone are meaningful too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MESH_INPUT = 192
# the PReLU stages the feature loss reads: the first blocks (1/2 and 1/4 of the input's side),
# local texture and edges that a patch alone shows, before the stages that need the whole face
FEATURE_STAGES = (0, 2, 4, 7)


def mediapipe_model(name: str = "face_landmark.tflite") -> Path:
    """The face-mesh model inside the installed MediaPipe wheel (a one-line error without it)."""
    import mediapipe

    path = Path(mediapipe.__file__).parent / "modules" / "face_landmark" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not in this MediaPipe install (0.10.x ships it)")
    return path


def _schema() -> Any:
    """The TF Lite flatbuffer schema MediaPipe's wheel ships (scripts/build_face_task.py reads
    models with it too)."""
    from mediapipe.tasks.metadata import schema_py_generated

    return schema_py_generated


def _constant(tfl: Any, model: Any, tensor: Any) -> np.ndarray | None:
    """A tensor's stored values as float32 (int64 for int32 ones); None when it has none."""
    data = model.buffers[tensor.buffer].data
    if data is None or len(data) == 0:
        return None
    kinds = {
        tfl.TensorType.FLOAT16: np.float16,
        tfl.TensorType.FLOAT32: np.float32,
        tfl.TensorType.INT32: np.int32,
    }
    if tensor.type not in kinds:
        raise ValueError(f"face mesh: tensor type {tensor.type} is not handled")
    values = np.frombuffer(np.asarray(data, np.uint8).tobytes(), kinds[tensor.type])
    values = values.reshape(tensor.shape)
    return values.astype(np.int64 if tensor.type == tfl.TensorType.INT32 else np.float32)


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF's SAME padding (before, after) of one axis: the extra pixel goes after."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class FaceMesh(nn.Module):
    """The face-mesh graph of a `.tflite` file (default: MediaPipe's), frozen."""

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__()
        tfl = self._tfl = _schema()
        data = Path(path or mediapipe_model()).read_bytes()
        model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAsModel(data, 0))
        graph = model.subgraphs[0]
        self.input = int(graph.inputs[0])
        self.outputs = [int(j) for j in graph.outputs]
        self.steps: list[tuple] = []
        self.weights = nn.ParameterList()
        consts: dict[int, np.ndarray] = {}
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            kind = max(code.builtinCode, code.deprecatedBuiltinCode)
            ins, outs = [int(j) for j in op.inputs], [int(j) for j in op.outputs]
            if kind == tfl.BuiltinOperator.DEQUANTIZE:  # fp16 weights to fp32, once, here
                weights = _constant(tfl, model, graph.tensors[ins[0]])
                if weights is None:
                    raise ValueError("face mesh: a DEQUANTIZE op without weights")
                consts[outs[0]] = weights
                continue
            for j in ins:
                if j >= 0 and j not in consts:
                    value = _constant(tfl, model, graph.tensors[j])
                    if value is not None:
                        consts[j] = value
            self.steps.append(self._step(kind, op, ins, outs, consts))
        self.requires_grad_(False)

    def _keep(self, array: np.ndarray) -> int:
        self.weights.append(nn.Parameter(torch.from_numpy(np.ascontiguousarray(array))))
        return len(self.weights) - 1

    def _step(self, kind: int, op: Any, ins: list[int], outs: list[int], consts: dict) -> tuple:
        tfl, ops = self._tfl, self._tfl.BuiltinOperator
        opts = op.builtinOptions
        if kind in (ops.CONV_2D, ops.DEPTHWISE_CONV_2D):
            if opts.fusedActivationFunction != tfl.ActivationFunctionType.NONE:
                raise ValueError("face mesh: a fused activation is not handled")
            depthwise = kind == ops.DEPTHWISE_CONV_2D
            # TF Lite (O,kh,kw,I) and depthwise (1,kh,kw,C) -> torch (O,I,kh,kw) / (C,1,kh,kw)
            order = (3, 0, 1, 2) if depthwise else (0, 3, 1, 2)
            w = self._keep(consts[ins[1]].transpose(order))
            b = self._keep(consts[ins[2]])
            groups = consts[ins[1]].shape[3] if depthwise else 1
            same = opts.padding == tfl.Padding.SAME
            return ("conv", ins[0], outs[0], w, b, groups, opts.strideH, same)
        if kind == ops.PRELU:
            return ("prelu", ins[0], outs[0], self._keep(consts[ins[1]].reshape(-1)))
        if kind == ops.ADD:
            return ("add", ins[0], ins[1], outs[0])
        if kind == ops.MAX_POOL_2D:
            return ("maxpool", ins[0], outs[0], opts.filterHeight, opts.strideH)
        if kind == ops.PAD:  # only the channels are padded (NHWC paddings' last row)
            before, after = (int(v) for v in consts[ins[1]][3])
            return ("pad", ins[0], outs[0], before, after)
        raise ValueError(f"face mesh: builtin op {kind} is not handled")

    def forward(
        self, x: torch.Tensor, features: list[torch.Tensor] | None = None, stages: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """x: (N,3,H,W) RGB in [0,1] (H = W = 192 for the landmarks; any size for `features`,
        which collects each PReLU stage's output (N,C,h,w) in order). stages > 0: stop once
        that many are collected and return None (a patch too small for the deeper stages)."""
        values = {self.input: x}
        for step in self.steps:
            kind = step[0]
            if kind == "conv":
                _, src, dst, w, b, groups, stride, same = step
                h, weight = values[src], self.weights[w]
                if same:
                    k = weight.shape[-1]
                    top, bottom = _same_pad(h.shape[2], k, stride)
                    left, right = _same_pad(h.shape[3], k, stride)
                    h = F.pad(h, (left, right, top, bottom))
                values[dst] = F.conv2d(h, weight, self.weights[b], stride=stride, groups=groups)
            elif kind == "prelu":
                values[step[2]] = F.prelu(values[step[1]], self.weights[step[3]])
                if features is not None:
                    features.append(values[step[2]])
                    if len(features) == stages:
                        return None
            elif kind == "add":
                values[step[3]] = values[step[1]] + values[step[2]]
            elif kind == "maxpool":
                values[step[2]] = F.max_pool2d(values[step[1]], step[3], step[4])
            else:  # pad
                values[step[2]] = F.pad(values[step[1]], (0, 0, 0, 0, step[3], step[4]))
        n = x.shape[0]
        return values[self.outputs[0]].reshape(n, -1, 3), values[self.outputs[1]].reshape(n)


def mesh_features(
    mesh: FaceMesh, image: torch.Tensor, stages: tuple[int, ...] = FEATURE_STAGES
) -> list[torch.Tensor]:
    """The chosen PReLU stages of `image` (N,3,H,W) in [-1,1], as the mesh sees it."""
    collected: list[torch.Tensor] = []
    mesh((image + 1.0) * 0.5, features=collected, stages=max(stages) + 1)
    return [collected[i] for i in stages]


def mesh_feature_loss(mesh: FaceMesh, out: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean over `FEATURE_STAGES` of the L1 between the face network's features of `out` and of
    `real` (both (N,3,H,W) in [-1,1]), each stage over its own mean magnitude in `real`, so
    that every stage weighs alike. A scalar; 0 for identical images."""
    with torch.no_grad():
        target = mesh_features(mesh, real)
    total = out.new_zeros(())
    for mine, theirs in zip(mesh_features(mesh, out), target):
        total = total + (mine - theirs).abs().mean() / (theirs.abs().mean() + 1e-6)
    return total / len(target)
