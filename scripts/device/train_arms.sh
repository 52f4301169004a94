#!/usr/bin/env bash
# One device call (docs/TRAINING_ON_GPU.md): several generator runs side by side on the one GPU,
# each for MINUTES of training, then its validation, fp16 weight shards and metrics into $OUT.
#   MINUTES=7 bash scripts/device/train_arms.sh "NAME [--set K=V ...]" "NAME2 ..." ...
# Each arm trains `-c train_generator_gpu` into runs/NAME (resuming runs/NAME when it holds a
# checkpoint, e.g. on a machine still warm from the previous call).
set -u
MINUTES=${MINUTES:-7}
WORKERS=${WORKERS:-2}
OUT=${OUT:-out/device}
mkdir -p "$OUT" runs
# the package's entry points (its sources and sinks) without touching the machine's site-packages
python3 -m pip install -q --no-deps --no-build-isolation --no-index --no-cache-dir \
  --target /tmp/reenact-site . >/dev/null || exit 1
export PYTHONPATH=.:/tmp/reenact-site
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"
nproc; free -g | head -2
pids=()
for spec in "$@"; do
  read -r name args <<<"$spec"
  resume=""
  [ -d "runs/$name/checkpoints" ] && resume="--set train.resume=latest"
  # shellcheck disable=SC2086
  PYTHONUNBUFFERED=1 python3 -m reenact.cli.main train generator \
    -c train_generator_gpu --set sink.kind=null --set train.out_dir="runs/$name" \
    --set train.steps=1000000 \
    --set train.max_minutes="$MINUTES" --set train.num_workers="$WORKERS" \
    --set train.val_every=0 --set train.ckpt_every=0 --set train.image_every=0 \
    --set train.log_every=100 --set train.val_frames=24 --set train.progress=false \
    $resume $args >"runs/$name.log" 2>&1 &
  pids+=($!)
done
sleep 60; nvidia-smi --query-gpu=name,utilization.gpu,memory.used --format=csv
for pid in "${pids[@]}"; do wait "$pid"; done
mkdir -p "$OUT/report"
for spec in "$@"; do
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
for name in ${SHARDS:-}; do
  python3 -m reenact.engine.shards split "runs/$name/generator.safetensors" \
    "$OUT/$name" --max-mib 15
done
ls -la "$OUT" "$OUT"/*
