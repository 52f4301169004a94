#!/usr/bin/env bash
# Prepares, here, what `bash scripts/device/bench_gpu.sh` carries to the lent GPU machine
# (issue 91), in the ignored folder .device/: the wheels that machine lacks, for its Python 3.12,
# and the clip (../shared/media does not travel).
#   bash scripts/device/fetch_wheels.sh [WHEELS_DIR]     (default: .device/wheels)
#   CLIP=../shared/media/clips/lp_d9.mp4 bash scripts/device/fetch_wheels.sh
# The machine has torch, numpy 2, OpenCV (headless), ONNX Runtime, safetensors, yaml, tqdm,
# matplotlib, absl-py, attrs and flatbuffers; MediaPipe 0.10.21, the protobuf 4.x it needs and
# platformdirs are carried. MediaPipe's wheel is rewritten without the models reenact never loads
# (pose, hands, iris, holistic): the tree and the carried folder must fit in 64 MiB.
# PyAV does not fit beside them: the clip is read through OpenCV (scripts/device/cvclip).
# NUMPY=1 also fetches numpy 1.26 (18 MB), which bench_gpu.sh puts in front only when MediaPipe
# fails with the machine's numpy 2.
set -eu
DIR=${1:-${WHEELS:-.device/wheels}}
PY=${DEVICE_PYTHON:-3.12}
CLIP=${CLIP:-../shared/media/clips/lp_d13.mp4}
mkdir -p "$DIR" .device/clips
wheels=("mediapipe==0.10.21" "protobuf>=4.25.3,<5" "platformdirs>=3")
[ "${NUMPY:-0}" = 1 ] && wheels+=("numpy==1.26.4")
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PY" \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform any -d "$DIR" "${wheels[@]}"
python3 - "$DIR" <<'PY'
import sys
import zipfile
from pathlib import Path

DROP = ("pose_landmark", "pose_detection", "hand_landmark", "palm_detection", "iris_landmark",
        "holistic_landmark")


def dropped(name: str) -> bool:
    """A model file of a solution reenact never starts (their Python modules stay: imported)."""
    return name.endswith(".tflite") and any(f"/modules/{d}/" in name for d in DROP)


for wheel in Path(sys.argv[1]).glob("mediapipe-*.whl"):
    with zipfile.ZipFile(wheel) as src:
        names = src.namelist()
        keep = [n for n in names if not dropped(n)]
        if len(keep) == len(names):
            continue  # slimmed already
        slim = wheel.with_suffix(".slim")
        with zipfile.ZipFile(slim, "w", zipfile.ZIP_DEFLATED) as dst:
            for name in keep:
                data = src.read(name)
                if name.endswith(".dist-info/RECORD"):  # the dropped files leave the record too
                    lines = data.decode().splitlines(keepends=True)
                    data = "".join(x for x in lines if not dropped(x.split(",")[0])).encode()
                dst.writestr(src.getinfo(name), data)
    slim.replace(wheel)
    print(f"{wheel.name}: {len(names) - len(keep)} unused model files left out")
PY
cp -n "$CLIP" .device/clips/ 2>/dev/null || true
du -sh "$DIR" .device/clips
ls "$DIR"
