#!/usr/bin/env bash
# One device call (docs/TRAINING_ON_GPU.md): several generator runs side by side on the one GPU,
# each for MINUTES of training, then its validation, fp16 weight shards and metrics into $OUT.
#   MINUTES=7 bash scripts/device/train_arms.sh "NAME [--set K=V ...]" "NAME2 ..." ...
# Each arm trains `-c train_generator_gpu` into runs/NAME (resuming runs/NAME when it holds a
# checkpoint, e.g. on a machine still warm from the previous call).
#   PRE="NAME --set train.steps=0 ..."  one arm run to its end before the others start (it builds
#                          the shared warp cache once; steps=0 only validates its init weights)
#   BUDGET=540             seconds the whole call may take: MINUTES shrinks to fit what is left
#                          after the install (and PRE)
#   VAL_EVERY=1000         validate every N steps and keep the best weights (generator_best)
#   SHARDS="NAME ..."      fp16 shards of these arms' best weights (else their last) in $OUT/NAME,
#                          renewed while the arms run each time a validation improves them: a
#                          call that runs into its limit still brings back the best so far
# The warps (~13 GB) go to runs/warps, not beside the cache: a later call on the still-warm machine
# may carry cache/carry again (which replaces that folder there) without rebuilding them (~6 min).
set -u
MINUTES=${MINUTES:-7}
WORKERS=${WORKERS:-2}
VAL_EVERY=${VAL_EVERY:-0}
BUDGET=${BUDGET:-540}
called=$(date +%s)
OUT=${OUT:-out/device}
mkdir -p "$OUT" runs
# the entry points of the package (its sources and sinks) and of the lab (its commands: `reenact
# train`) without touching the machine's site-packages
python3 -m pip install -q --no-deps --no-build-isolation --no-index --no-cache-dir \
  --target /tmp/reenact-site . ./reenact-lab >/dev/null || exit 1
export PYTHONPATH=.:reenact-lab:/tmp/reenact-site
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"
nproc; free -g | head -2
launch() {  # launch "NAME [args]": one arm in the background, its pid in $!
  local name args resume=""
  read -r name args <<<"$1"
  [ -d "runs/$name/checkpoints" ] && resume="--set train.resume=latest"
  # shellcheck disable=SC2086
  PYTHONUNBUFFERED=1 python3 -m reenact.cli.main train generator \
    -c train_generator_gpu --set sink.kind=null --set train.out_dir="runs/$name" \
    --set train.steps=1000000 \
    --set train.max_minutes="$MINUTES" --set train.num_workers="$WORKERS" \
    --set train.val_every="$VAL_EVERY" --set train.ckpt_every=0 --set train.image_every=0 \
    --set train.log_every=100 --set train.val_frames=24 --set train.progress=false \
    --set train.warp_dir=runs/warps \
    $resume $args >"runs/$name.log" 2>&1 &
}
if [ -n "${PRE:-}" ]; then
  start=$(date +%s); launch "$PRE"; wait $!
  echo "PRE ($PRE) took $(( $(date +%s) - start )) s"; tail -3 "runs/${PRE%% *}.log"
fi
# what is left of BUDGET (after the install and any PRE), less ~100 s for start-up, the last
# validation and the shards
MINUTES=$(python3 -c "print(round(max(0.5, min($MINUTES, ($BUDGET - ($(date +%s) - $called) - 100) / 60)), 2))")
echo "training $MINUTES min per arm"
keep_shards() {  # keep_shards [last]: $OUT/NAME = shards of runs/NAME's best weights, renewed
  # when they change (with "last": the last weights where no best was kept), swapped in whole
  local name weights stamp
  for name in ${SHARDS:-}; do
    weights="runs/$name/generator_best.safetensors"
    [ -f "$weights" ] || { [ -n "${1:-}" ] && weights="runs/$name/generator.safetensors"; }
    [ -f "$weights" ] || continue
    stamp="$weights $(stat -c %Y "$weights")"
    [ -d "$OUT/$name" ] && [ "$stamp" = "$(cat "runs/$name.kept" 2>/dev/null)" ] && continue
    rm -rf "$OUT/$name.partial"
    python3 -m reenact_lab.train.shards split "$weights" "$OUT/$name.partial" --max-mib 15 \
      >/dev/null && rm -rf "$OUT/$name" && mv "$OUT/$name.partial" "$OUT/$name" \
      && echo "$stamp" >"runs/$name.kept" && echo "shards of $stamp in $OUT/$name"
  done
}
pids=()
for spec in "$@"; do
  launch "$spec"; pids+=($!)
done
( while sleep 20; do keep_shards; done ) & keeper=$!
sleep 60; nvidia-smi --query-gpu=name,utilization.gpu,memory.used --format=csv
for pid in "${pids[@]}"; do wait "$pid"; done
kill "$keeper" 2>/dev/null; wait "$keeper" 2>/dev/null
mkdir -p "$OUT/report"
for spec in ${PRE:+"$PRE"} "$@"; do
  read -r name _ <<<"$spec"
  echo "== $name"; grep -v "^\s*$" "runs/$name.log" | tail -4
  cp "runs/$name/validation.json" "$OUT/report/$name.validation.json" 2>/dev/null
  cp "runs/$name/metrics.jsonl" "$OUT/report/$name.metrics.jsonl" 2>/dev/null
  cp "runs/$name.log" "$OUT/report/$name.log"
  python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1])))[:700])" \
    "runs/$name/validation.json" 2>/dev/null || echo "$name: no validation"
done
tar -C "$OUT" -czf "$OUT/report.tar.gz" report && rm -rf "$OUT/report"
# fp16 shards of the arms named in SHARDS (8 files come back at most, 16 MiB each)
keep_shards last
ls -la "$OUT" "$OUT"/*
