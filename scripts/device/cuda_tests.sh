#!/usr/bin/env bash
# One device call: the CUDA tests on the lent GPU machine against this checkout.
#   REPLAY=path/to/replay.npz bash scripts/device/cuda_tests.sh
# The machine has no MediaPipe and no clips, so the tests play a replay recorded where both are
# (here: `reenact bench --source video:../shared/media/clips/lp_d0.mp4 --sizes 256 --frames 40
# --save-replay DIR/replay.npz --set fusion.target_neutral=picture --set fusion.kind=training_free`,
# the recipe of tests/unit/test_generator_cuda.py's own fixture), carried in an ignored folder.
# Only the package's entry points are installed (its sources and sinks: a config names them);
# the tests check their configs with `sink.kind=null`, so PyAV and pyvirtualcam are not needed.
# 2026-11-26, NVIDIA H100: these tests, 12 passed (run by hand, with PyAV and pyvirtualcam carried
# as the tests then needed); this script, on the 2-core CPU: 7 passed, the 5 CUDA-only skipped.
set -u
REPLAY=${REPLAY:?REPLAY=path/to/replay.npz}
[ -f "$REPLAY" ] || { echo "cuda_tests.sh: no replay at $REPLAY" >&2; exit 2; }
PYTHON=${PYTHON:-python3}
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
"$PYTHON" -m pip install -q --no-deps --no-build-isolation --no-index --no-cache-dir \
  --target "$site" . ./reenact-lab >/dev/null || exit 1
PYTHONPATH=".:reenact-lab:$site" REENACT_TEST_REPLAY="$REPLAY" "$PYTHON" -m pytest -q -p no:cacheprovider -rs \
  tests/unit/test_generator_cuda.py tests/unit/test_shipped_widths.py
