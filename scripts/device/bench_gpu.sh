#!/usr/bin/env bash
# One device call (issue 19): `reenact bench` end to end on the lent GPU machine, tracking,
# decoding and compositing included. Carry `.whl` (mediapipe 0.10.21, protobuf 4.25, numpy
# 1.26 for cp312; docs/TRAINING_ON_GPU.md). PyAV does not fit beside them, so the clip is read
# through OpenCV (scripts/device/cvclip). GPU_WEIGHTS: a trained generator to time as the
# shipped GPU model (default: the one in reenact/models).
# Seen on the H100 (2026-11-23): MediaPipe runs with the machine's numpy 2.5, but the carried
# protobuf 4.25 hides the machine's newer one from the `onnx` package, so ONNX export fails in
# the bench process: the CPU model is exported first, in a process without the carried wheels
# (untested on the device since: check the "onnx export" line of the output).
set -u
OUT=${OUT:-out/device}
CLIP=${CLIP:-../shared/media/clips/lp_d13.mp4}
FRAMES=${FRAMES:-300}
mkdir -p "$OUT"
site=/tmp/site pkg=/tmp/site-reenact
export REENACT_CACHE=/tmp/reenact-cache
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target $site $(ls .whl/*.whl | grep -v numpy) || exit 1
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir \
  --target $pkg . scripts/device/cvclip || exit 1
PYTHONPATH=$pkg python3 - <<'PY' && echo "onnx export: ok" || echo "onnx export: failed"
from reenact.config import load_config
from reenact.engine.shipped import shipped_weights
from reenact.render.generator import load_generator_renderer

config = load_config(None, ["renderer.backend=onnx", "sink.kind=null"])
load_generator_renderer(shipped_weights("generator", 256, backend="cpu"), config)
PY
export PYTHONPATH=$site:$pkg
probe='import numpy, mediapipe.python.solutions.face_mesh as fm; fm.FaceMesh(max_num_faces=1).close(); print("mediapipe ok, numpy", numpy.__version__)'
if ! python3 -c "$probe"; then
  echo "mediapipe fails with the machine's numpy: numpy 1.26 in front"
  python3 -m pip install -q --no-index --no-deps --no-compile --target $site .whl/numpy-*.whl
  python3 -c "$probe" || exit 1
fi
if [ -n "${GPU_WEIGHTS:-}" ]; then
  cp "$GPU_WEIGHTS" $pkg/reenact/models/generator_256_gpu.safetensors
fi
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"
nproc
bench() {  # label, then bench arguments (PREFIX: e.g. taskset for fewer cores)
  local label=$1; shift
  echo "=== $label"
  ${PREFIX:-} python3 -m reenact.cli.main bench --source "cvclip:$CLIP" --frames "$FRAMES" \
    --json "$OUT/$label.json" --set sink.kind=null "$@" 2>&1 | grep -v "^W0000\|^I0000\|inference_feedback" | tail -12
}
bench gpu256_30 --sizes 256 --widths shipped --backends cuda
bench gpu256_60 --sizes 256 --widths shipped --backends cuda --set source.fps=60
bench gpu256_60_ahead --sizes 256 --widths shipped --backends cuda --set source.fps=60 \
  --set stream.track_ahead=true
bench gpu512_30 --sizes 512 --widths 32 --backends cuda
bench gpu512_60 --sizes 512 --widths 32 --backends cuda --set source.fps=60 \
  --set stream.track_ahead=true
# the same machine's CPU alone, cut to 8 cores (a desktop) and to 2 (a laptop)
PREFIX="taskset -c 0-7" bench cpu8_256 --sizes 256 --widths shipped --backends onnx --set renderer.threads=8
PREFIX="taskset -c 0-1" bench cpu2_256 --sizes 256 --widths shipped --backends onnx --set renderer.threads=2
tar -C "$OUT" -czf "$OUT/../bench_gpu.tar.gz" . && mv "$OUT/../bench_gpu.tar.gz" "$OUT/"
