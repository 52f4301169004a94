"""Build a MediaPipe Tasks `FaceLandmarker` bundle from the face models of a mediapipe 0.10 wheel.

    python scripts/build_face_task.py [--wheel mediapipe-0.10.21-....whl] [--out PATH]

Current MediaPipe wheels carry no face model, and Google's `face_landmarker.task` is a download,
so this rebuilds an equivalent bundle offline from the Apache-2.0 models that the legacy
`mediapipe.solutions.face_mesh` wheels carry: the short-range BlazeFace detector and the
attention face mesh (478 points with irises). The Tasks graph expects a landmark model with two
outputs (478x3 landmarks, face presence), while the attention mesh has seven (mesh, lips, eyes,
irises, presence) that the legacy graph merged in C++; this script appends that merge to the
model as five TFLite ops (concatenate, a 2-row fully-connected layer for the iris depth,
reshape, concatenate, gather), so the Tasks graph sees the same 478 points the legacy solution
produced.

Without --wheel the models are read from the installed `mediapipe` package (0.10.x).
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import flatbuffers
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "reenact" / "assets" / "face_mesh" / "face_mesh_attention.task"
DETECTOR = "mediapipe/modules/face_detection/face_detection_short_range.tflite"
MESH = "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite"
ALIGN = 4  # the Tasks runtime maps stored bundle members in place; keep them 4-byte aligned
ZIPALIGN_ID = 0xD935  # the extra-field record that pads a zip member to alignment

# Where the attention mesh's lips and eye outputs land in the 468-point mesh (the layout of the
# model's outputs, as MediaPipe's landmarks refinement maps them).
LIPS = [
    61,
    146,
    91,
    181,
    84,
    17,
    314,
    405,
    321,
    375,
    291,
    185,
    40,
    39,
    37,
    0,
    267,
    269,
    270,
    409,
    78,
    95,
    88,
    178,
    87,
    14,
    317,
    402,
    318,
    324,
    308,
    191,
    80,
    81,
    82,
    13,
    312,
    311,
    310,
    415,
    76,
    77,
    90,
    180,
    85,
    16,
    315,
    404,
    320,
    307,
    306,
    184,
    74,
    73,
    72,
    11,
    302,
    303,
    304,
    408,
    62,
    96,
    89,
    179,
    86,
    15,
    316,
    403,
    319,
    325,
    292,
    183,
    42,
    41,
    38,
    12,
    268,
    271,
    272,
    407,
]
LEFT_EYE = [
    33,
    7,
    163,
    144,
    145,
    153,
    154,
    155,
    133,
    246,
    161,
    160,
    159,
    158,
    157,
    173,
    130,
    25,
    110,
    24,
    23,
    22,
    26,
    112,
    243,
    247,
    30,
    29,
    27,
    28,
    56,
    190,
    226,
    31,
    228,
    229,
    230,
    231,
    232,
    233,
    244,
    113,
    225,
    224,
    223,
    222,
    221,
    189,
    35,
    124,
    46,
    53,
    52,
    65,
    143,
    111,
    117,
    118,
    119,
    120,
    121,
    128,
    245,
    156,
    70,
    63,
    105,
    66,
    107,
    55,
    193,
]
RIGHT_EYE = [
    263,
    249,
    390,
    373,
    374,
    380,
    381,
    382,
    362,
    466,
    388,
    387,
    386,
    385,
    384,
    398,
    359,
    255,
    339,
    254,
    253,
    252,
    256,
    341,
    463,
    467,
    260,
    259,
    257,
    258,
    286,
    414,
    446,
    261,
    448,
    449,
    450,
    451,
    452,
    453,
    464,
    342,
    445,
    444,
    443,
    442,
    441,
    413,
    265,
    353,
    276,
    283,
    282,
    295,
    372,
    340,
    346,
    347,
    348,
    349,
    350,
    357,
    465,
    383,
    300,
    293,
    334,
    296,
    336,
    285,
    417,
]
EYE_CONTOUR = 16  # an iris's depth is the mean depth of the first 16 points of its eye contour
MESH_POINTS, IRIS_POINTS = 468, 5


def _schema():
    from mediapipe.tasks.metadata import metadata_schema_py_generated as meta
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    return tfl, meta


def gather_plan() -> tuple[np.ndarray, np.ndarray]:
    """Indices into [mesh 1404, lips 160, left eye 142, right eye 142, left iris 10, right iris
    10, iris depths 2] that give the 478x3 landmarks, and the (2, 1868) weights of the iris
    depths (the mean z of each eye's contour in the mesh)."""
    starts = np.cumsum([0, 1404, 160, 142, 142, 10, 10])  # mesh, lips, eyes, irises, depths
    index = np.zeros((MESH_POINTS + 2 * IRIS_POINTS, 3), dtype=np.int32)
    index[:MESH_POINTS] = np.arange(MESH_POINTS * 3).reshape(MESH_POINTS, 3)
    for start, points in ((starts[1], LIPS), (starts[2], LEFT_EYE), (starts[3], RIGHT_EYE)):
        for j, point in enumerate(points):
            index[point, :2] = (start + 2 * j, start + 2 * j + 1)
    depth = np.zeros((2, starts[6]), dtype=np.float32)
    for side, (start, eye) in enumerate(((starts[4], LEFT_EYE), (starts[5], RIGHT_EYE))):
        rows = slice(MESH_POINTS + side * IRIS_POINTS, MESH_POINTS + (side + 1) * IRIS_POINTS)
        index[rows, :2] = start + np.arange(2 * IRIS_POINTS).reshape(IRIS_POINTS, 2)
        index[rows, 2] = starts[6] + side
        depth[side, [3 * p + 2 for p in eye[:EYE_CONTOUR]]] = 1.0 / EYE_CONTOUR
    return index.reshape(-1), depth


class _Editor:
    """Appends tensors, constant buffers and builtin ops to subgraph 0 of a TFLite model."""

    def __init__(self, tfl, model) -> None:
        self.tfl, self.model, self.graph = tfl, model, model.subgraphs[0]

    def tensor(self, name: str, shape: list[int], data: np.ndarray | None = None) -> int:
        tensor = self.tfl.TensorT()
        tensor.name, tensor.shape = name.encode(), list(shape)
        tensor.type = self.tfl.TensorType.FLOAT32
        tensor.buffer = 0  # buffer 0 is the empty one every activation shares
        if data is not None:
            tensor.type = {
                np.dtype(np.float32): self.tfl.TensorType.FLOAT32,
                np.dtype(np.int32): self.tfl.TensorType.INT32,
            }[data.dtype]
            buffer = self.tfl.BufferT()
            buffer.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
            self.model.buffers.append(buffer)
            tensor.buffer = len(self.model.buffers) - 1
        self.graph.tensors.append(tensor)
        return len(self.graph.tensors) - 1

    def op(self, code: int, inputs: list[int], outputs: list[int], kind: int, options) -> None:
        codes = self.model.operatorCodes
        found = [
            i for i, c in enumerate(codes) if max(c.builtinCode, c.deprecatedBuiltinCode) == code
        ]
        if not found:
            opcode = self.tfl.OperatorCodeT()
            opcode.builtinCode, opcode.deprecatedBuiltinCode, opcode.version = (
                code,
                min(code, 127),
                1,
            )
            codes.append(opcode)
            found = [len(codes) - 1]
        operator = self.tfl.OperatorT()
        operator.opcodeIndex, operator.inputs, operator.outputs = found[0], inputs, outputs
        operator.builtinOptionsType, operator.builtinOptions = kind, options
        self.graph.operators.append(operator)


def _options(cls, **fields):
    options = cls()
    for key, value in fields.items():
        setattr(options, key, value)
    return options


def merge_outputs(mesh_model: bytes) -> bytes:
    """The attention mesh with its seven outputs merged into (landmarks 1x1x1x1434, presence)."""
    tfl, meta = _schema()
    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAsModel(mesh_model, 0))
    edit, graph = _Editor(tfl, model), model.subgraphs[0]
    if len(graph.outputs) != 7:
        raise ValueError(
            f"{MESH}: expected the attention mesh's 7 outputs, got {len(graph.outputs)}"
        )
    parts, presence = list(graph.outputs[:6]), graph.outputs[6]
    index, depth = gather_plan()
    ops, opts = tfl.BuiltinOperator, tfl.BuiltinOptions
    flat = edit.tensor("merge/parts", [1, 1, 1, depth.shape[1]])
    edit.op(
        ops.CONCATENATION,
        parts,
        [flat],
        opts.ConcatenationOptions,
        _options(tfl.ConcatenationOptionsT, axis=3),
    )
    z2 = edit.tensor("merge/iris_depth", [1, 2])
    edit.op(
        ops.FULLY_CONNECTED,
        [flat, edit.tensor("merge/iris_weights", depth.shape, depth), -1],
        [z2],
        opts.FullyConnectedOptions,
        _options(tfl.FullyConnectedOptionsT),
    )
    z4 = edit.tensor("merge/iris_depth4", [1, 1, 1, 2])
    shape = edit.tensor("merge/shape", [4], np.array([1, 1, 1, 2], dtype=np.int32))
    edit.op(
        ops.RESHAPE,
        [z2, shape],
        [z4],
        opts.ReshapeOptions,
        _options(tfl.ReshapeOptionsT, newShape=[1, 1, 1, 2]),
    )
    full = edit.tensor("merge/all", [1, 1, 1, depth.shape[1] + 2])
    edit.op(
        ops.CONCATENATION,
        [flat, z4],
        [full],
        opts.ConcatenationOptions,
        _options(tfl.ConcatenationOptionsT, axis=3),
    )
    landmarks = edit.tensor("landmarks", [1, 1, 1, index.size])
    edit.op(
        ops.GATHER,
        [full, edit.tensor("merge/index", [index.size], index)],
        [landmarks],
        opts.GatherOptions,
        _options(tfl.GatherOptionsT, axis=3),
    )
    graph.outputs = [landmarks, presence]
    model.signatureDefs = None  # the signature named the seven old outputs
    _trim_metadata(model, meta)
    builder = flatbuffers.Builder(len(mesh_model) + (1 << 16))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _trim_metadata(model, meta) -> None:
    """Keep the input's normalisation; describe the two outputs that remain."""
    for entry in model.metadata or []:
        if entry.name != b"TFLITE_METADATA":
            continue
        buffer = model.buffers[entry.buffer]
        data = bytes(buffer.data)
        info = meta.ModelMetadataT.InitFromObj(meta.ModelMetadata.GetRootAsModelMetadata(data, 0))
        outs = info.subgraphMetadata[0].outputTensorMetadata
        outs[0].name = b"landmarks"
        info.subgraphMetadata[0].outputTensorMetadata = [outs[0], outs[-1]]
        builder = flatbuffers.Builder(1024)
        builder.Finish(info.Pack(builder), file_identifier=b"M001")
        buffer.data = np.frombuffer(bytes(builder.Output()), dtype=np.uint8)


def read_models(wheel: Path | None) -> tuple[bytes, bytes]:
    """(detector, attention mesh) .tflite bytes from a wheel file or the installed package."""
    if wheel is not None:
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            missing = [n for n in (DETECTOR, MESH) if n not in names]
            if missing:
                raise ValueError(f"{wheel}: no {missing[0]} (a mediapipe 0.10.x wheel carries it)")
            return archive.read(DETECTOR), archive.read(MESH)
    import mediapipe

    root = Path(mediapipe.__file__).resolve().parents[1]
    paths = [root / DETECTOR, root / MESH]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ValueError(
            f"{missing[0]}: not found; this mediapipe carries no face models, "
            "pass --wheel with a mediapipe 0.10.x wheel"
        )
    return paths[0].read_bytes(), paths[1].read_bytes()


def write_bundle(members: dict[str, bytes], out: Path) -> None:
    """A stored (uncompressed) zip with each member's data 4-byte aligned, as the Tasks expect."""
    out.parent.mkdir(parents=True, exist_ok=True)
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible bytes
            data_at = stream.tell() + 30 + len(name.encode()) + 4  # local header + one record
            pad = (-data_at) % ALIGN
            info.extra = ZIPALIGN_ID.to_bytes(2, "little") + pad.to_bytes(2, "little") + b"\0" * pad
            archive.writestr(info, data)
    out.write_bytes(stream.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a mediapipe 0.10.x wheel (default: installed)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        detector, mesh = read_models(args.wheel)
        bundle = {
            "face_detector.tflite": detector,
            "face_landmarks_detector.tflite": merge_outputs(mesh),
        }
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        print(f"build_face_task: {exc}", file=sys.stderr)
        return 1
    write_bundle(bundle, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
