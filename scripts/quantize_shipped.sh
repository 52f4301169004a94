#!/usr/bin/env bash
# The shipped generator's INT8 model (reenact/models/generator_256.int8.onnx), calibrated on
# training clips that no eval config uses; the same clips give the same file, byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
clips=${CLIPS:-../shared/media/clips}
for c in lp_d0 lp_d2 lp_d5 lp_d11 hdtf_katiehill pcavs_00015; do
    [[ -f "$clips/$c.mp4" ]] || { echo "quantize_shipped: $clips/$c.mp4: no such clip" >&2; exit 2; }
done
.venv/bin/reenact quantize --set renderer.onnx_path=reenact/models/generator_256.onnx \
    --clips "$clips/lp_d0.mp4" "$clips/lp_d2.mp4" "$clips/lp_d5.mp4" "$clips/lp_d11.mp4" \
    "$clips/hdtf_katiehill.mp4" "$clips/pcavs_00015.mp4"
