#!/usr/bin/env bash
# Avatar fine-tunes on the lent GPU machine in one prepared command (issue 87): a 1-minute run
# (the goal: an avatar in <= 60 s on a GPU) and a longer one, from a folder prepared here.
#   here, first:  reenact avatar train CLIP ... --prepare-only .gpu_avatar/NAME   (MediaPipe)
#   here, then:   bash scripts/device/avatar_gpu.sh --dry-run   (the same path on this CPU, 3 steps)
#   device call:  carry [".gpu_avatar"], command: bash scripts/device/avatar_gpu.sh, timeout_s 420
# Variables: PREP (default .gpu_avatar/obama), OUT (default $OUT, else out/avatar_gpu), SHORT and
# LONG (minutes: 1 and 3). Writes to OUT: NAME_short.avatar, NAME_long.avatar (about 15 MiB each),
# their reports NAME_short.json / NAME_long.json and avatar_gpu.json (timings and held-out scores
# of both, and the machine). The from-prepared path needs torch, numpy, OpenCV, safetensors, yaml
# and tqdm only: no MediaPipe, no PyAV (the device has neither).
set -u
DRY=0
for arg in "$@"; do
  case $arg in
    --dry-run) DRY=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "avatar_gpu.sh: unknown option $arg (--dry-run)" >&2; exit 2 ;;
  esac
done
PREP=${PREP:-.gpu_avatar/obama}
OUT=${OUT:-out/avatar_gpu}
SHORT=${SHORT:-1}
LONG=${LONG:-3}
DEVICE=cuda
EXTRA=()
PY=python3
if [ "$DRY" = 1 ]; then
  DEVICE=cpu; EXTRA=(--max-steps 3); OUT=${DRY_OUT:-/tmp/avatar_gpu_dry}
  [ -x .venv/bin/python ] && PY=.venv/bin/python
fi
[ -f "$PREP/avatar_data.npz" ] || { echo "avatar_gpu.sh: no prepared data in $PREP" >&2; exit 2; }
mkdir -p "$OUT"
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
# `reenact avatar train` is the lab's: its entry points (no dependencies) into a folder of its own
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
$PY -m pip install -q --no-deps --no-build-isolation --no-index --no-cache-dir --target "$site" \
  ./reenact-lab >/dev/null || exit 1
PYTHONPATH=$PYTHONPATH:reenact-lab:$site
# the device lacks platformdirs (reenact.paths): its pure-Python wheel, carried, imports as a zip
if ! $PY -c "import platformdirs" 2>/dev/null; then
  for wheel in "$(dirname "$PREP")"/wheels/platformdirs-*.whl; do PYTHONPATH=$PYTHONPATH:$wheel; done
fi
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"
name=$(basename "$PREP")
status=0
for run in "short $SHORT" "long $LONG"; do
  read -r label minutes <<<"$run"
  start=$(date +%s.%N)
  $PY -m reenact.cli.main avatar train --from-prepared "$PREP" --out "$OUT/${name}_$label.avatar" \
    --device "$DEVICE" --minutes "$minutes" --report "$OUT/${name}_$label.json" "${EXTRA[@]}" \
    2>&1 | tr '\r' '\n' | grep -v '^avatar .*%|' || status=1
  echo "$label: $(python3 -c "import time; print(round(time.time() - $start, 1))") s wall, command included"
done
$PY - "$OUT" "$name" <<'PY'
import json, platform, sys
from pathlib import Path

out, name = Path(sys.argv[1]), sys.argv[2]
runs = {}
for label in ("short", "long"):
    path = out / f"{name}_{label}.json"
    if path.is_file():
        report = json.loads(path.read_text())
        runs[label] = {k: report.get(k) for k in ("device", "steps", "best_step", "steps_per_s",
                                                  "prepare_s", "train_s", "total_s", "stopped",
                                                  "validation", "validation_start", "history")}
(out / "avatar_gpu.json").write_text(json.dumps({"host": platform.node(), "runs": runs}, indent=1))
for label, r in runs.items():
    v = r["validation"]
    print(label, r["device"], f"{r['steps']} steps, {r['total_s']} s;",
          ", ".join(f"{k} {v[k]['ssim']:.4f}/{v[k]['psnr']:.2f}" for k in ("warp", "shipped", "personal")))
PY
exit $status
