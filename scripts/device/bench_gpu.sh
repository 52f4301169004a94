#!/usr/bin/env bash
# The GPU loop in one prepared command (issue 91): `reenact bench --profile` end to end on the
# lent GPU machine (decode, tracking and compositing included), written as one JSON.
#   here, once:   bash scripts/device/fetch_wheels.sh        (wheels and the clip, in .device/)
#   here, first:  bash scripts/device/bench_gpu.sh --dry-run  (the whole command on this CPU)
#   device call:  carry [".device"], command: bash scripts/device/bench_gpu.sh, timeout_s 540
# Options: --dry-run; a wheels folder (default $WHEELS, else .device/wheels). Variables: OUT
# (default $OUT, else out/device): where bench_gpu.json goes; CLIP (default .device/clips/
# lp_d13.mp4, else ../shared/media/clips/lp_d13.mp4); FRAMES (300 a row); BUDGET_S (420: the
# runs stop starting after it; the install takes about 30 s on top); GPU_WEIGHTS: a generator to
# time as the shipped GPU model (default: the one in reenact/models); ONLY: some runs by label
# (gpu256_30,cpu2_256). The runs, their order and what a dry run changes: bench_gpu.py beside it.
# Installs into a temporary folder: the carried wheels (MediaPipe 0.10.21, protobuf 4.25,
# platformdirs) in front of the machine's packages, and this checkout with the cvclip source
# (the machine has no PyAV); the carried protobuf hides the machine's newer one from the `onnx`
# package, which the runs do not need (the shipped generator's ONNX file is in the tree).
set -u
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
DRY=0
WHEELS=${WHEELS:-.device/wheels}
for arg in "$@"; do
  case $arg in
    --dry-run) DRY=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "bench_gpu.sh: unknown option $arg (--dry-run, or a wheels folder)" >&2; exit 2 ;;
    *) WHEELS=$arg ;;
  esac
done
OUT=${OUT:-out/device}
if [ -z "${CLIP:-}" ]; then
  CLIP=.device/clips/lp_d13.mp4
  [ -f "$CLIP" ] || CLIP=../shared/media/clips/lp_d13.mp4
fi
[ -f "$CLIP" ] || { echo "bench_gpu.sh: no clip at $CLIP (run scripts/device/fetch_wheels.sh)" >&2; exit 2; }
if [ -z "${PYTHON:-}" ]; then  # the device's python3 holds torch; here, the project's venv
  PYTHON=python3
  [ $DRY = 1 ] && [ -x .venv/bin/python ] && PYTHON=.venv/bin/python
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
site=$work/site pkg=$work/reenact
mkdir -p "$OUT" "$site"
# the user's folders stay out of it: no saved settings change the runs, no cache is written
export REENACT_CONFIG_DIR=$work/config REENACT_DATA_DIR=$work/data REENACT_CACHE_DIR=$work/cache \
  REENACT_LOG_DIR=$work/logs PYTHONUNBUFFERED=1
started=$(date +%s)

carried=$(ls "$WHEELS"/*.whl 2>/dev/null | grep -v '/numpy-')
if [ -z "$carried" ]; then
  [ $DRY = 1 ] || { echo "bench_gpu.sh: no wheels in $WHEELS (run scripts/device/fetch_wheels.sh)" >&2; exit 2; }
  echo "no wheels in $WHEELS: the install of carried wheels is not checked"
elif [ $DRY = 1 ]; then  # installed for the device's Python, to check them, but not used here
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" \
    --python-version 3.12 --only-binary=:all: $carried || exit 1
  echo "carried wheels install for Python 3.12: $(ls "$site" | grep -c dist-info) packages"
else
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" $carried || exit 1
  export PYTHONPATH=$site
fi
"$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir \
  --target "$pkg" . scripts/device/cvclip >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
export PYTHONPATH=$pkg${PYTHONPATH:+:$PYTHONPATH}
probe='import numpy
from reenact.landmarks.tracker import mediapipe_solutions
mediapipe_solutions().face_mesh.FaceMesh(max_num_faces=1, refine_landmarks=True).close()
print("mediapipe ok, numpy", numpy.__version__)'
if ! "$PYTHON" -c "$probe"; then
  numpy_wheel=$(ls "$WHEELS"/numpy-*.whl 2>/dev/null | head -1)
  [ -n "$numpy_wheel" ] || { echo "bench_gpu.sh: MediaPipe fails to start (above); if numpy's fault, carry numpy 1.26 (NUMPY=1 fetch_wheels.sh)" >&2; exit 1; }
  echo "MediaPipe fails with the machine's numpy: numpy 1.26 in front"
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$numpy_wheel" || exit 1
  "$PYTHON" -c "$probe" || exit 1
fi
if ! "$PYTHON" -c "import cv2; cv2.ximgproc" 2>/dev/null; then  # see the shim's docstring
  echo "OpenCV without contrib: the guided filter from scripts/device/cv2_shim"
  export PYTHONPATH=$PYTHONPATH:$PWD/scripts/device/cv2_shim
fi
if [ -n "${GPU_WEIGHTS:-}" ]; then
  cp "$GPU_WEIGHTS" "$pkg/reenact/models/generator_256_gpu.safetensors" || exit 1
fi
"$PYTHON" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA')"
echo "$(nproc) cores; installed in $(( $(date +%s) - started )) s"
more=(); [ $DRY = 1 ] && more+=(--dry-run)
[ -n "${ONLY:-}" ] && more+=(--only "$ONLY")
"$PYTHON" scripts/device/bench_gpu.py --clip "$CLIP" --out "$OUT" --frames "${FRAMES:-300}" \
  --budget-s "${BUDGET_S:-420}" "${more[@]}"
