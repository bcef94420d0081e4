#!/usr/bin/env bash
# One lent-GPU session, in stages chosen by STAGES (run in the order given):
#   tta       time to 90%/95% test accuracy of the MNIST preset, fp32 (issue 3)          ~2 min
#   sweep     the default preset over seeds 0-4, five runs at once (issue 4)             ~4 min
#   dsprites  benchmarks/dsprites_gpu.py: InfoGAN vs InfoGAN-CR, five metrics (issue 6)  ~5 min
#   bench     the benchmark table (issue 3)                                             ~1.5 min
#   compile   fp32 against fp32+compile at batch 128                                     ~1 min
# The default, STAGES="tta sweep", leaves time for a second call with STAGES=dsprites on the warm
# machine. Installs nothing: the GPU image has torch, numpy, scipy, scikit-learn, safetensors,
# tensorboard, tqdm and matplotlib. MNIST comes gzipped in .gpudata/ (carried); results go to $OUT.
#   bash benchmarks/gpu_session.sh
#   STAGES=dsprites bash benchmarks/gpu_session.sh
set -u
OUT=${OUT:-/tmp/gpu_out}
STAGES=${STAGES:-tta sweep}
mkdir -p "$OUT" /tmp/data/MNIST/raw
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD INFOGAN_DATA_ROOT=/tmp/data
PY=${PYTHON:-python3}
for f in .gpudata/*.gz; do gunzip -c "$f" > /tmp/data/MNIST/raw/"$(basename "$f" .gz)"; done
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY -c "import torch, sklearn, scipy, safetensors, tensorboard, tqdm, matplotlib; print('torch', torch.__version__, torch.cuda.get_device_name())"
DEVICE=${DEVICE:-cuda}
T0=$(date +%s)
stamp() { echo "== $1 at +$(( $(date +%s) - T0 )) s"; }

tta() {
  # fp32 only by default: bf16 autocast was no faster on the H200 at these sizes (docs/speed.md, "On a GPU").
  timeout "${TTA_TIMEOUT:-150}" $PY benchmarks/time_to_accuracy.py --device "$DEVICE" --settings ${TTA_SETTINGS:-fp32} \
    --steps "${TTA_STEPS:-5000}" --eval-every 100 --runs /tmp/tta --out "$OUT/tta_gpu.json"
}

sweep() {
  # The default preset only: the remedies and the earlier default were swept on an H200 before
  # (benchmarks/results/gpu_h200/); the default's consistency weight changed since.
  local variants=(--variant "default=")
  timeout "${SWEEP_TIMEOUT:-260}" $PY benchmarks/seed_sweep.py --device "$DEVICE" --out /tmp/sweep \
    --jobs 5 --threads 1 --seeds 0-4 --deadline "${SWEEP_DEADLINE:-60}" "${variants[@]}" \
    --train-args "--checkpoint-every 100000 --sample-every 100000 ${SWEEP_TRAIN_ARGS:-}"
  # Runs cut off by the timeout are left out; every finished run's logs come back for re-collection.
  $PY benchmarks/seed_sweep.py --out /tmp/sweep --collect-only --seeds 0-4 --device "$DEVICE" "${variants[@]}" \
    > "$OUT/sweep_table.md" 2>&1
  cat "$OUT/sweep_table.md"
  cp /tmp/sweep/sweep.json "$OUT/" 2>/dev/null
  tar czf "$OUT/sweep_runs.tgz" -C /tmp/sweep --exclude='*.safetensors' --exclude='events.*' --exclude='samples' . \
    2>/dev/null
}

dsprites() {
  OUT="$OUT/dsprites" DEVICE="$DEVICE" $PY benchmarks/dsprites_gpu.py
}

bench() {
  timeout "${BENCH_TIMEOUT:-90}" $PY benchmarks/bench.py --device "$DEVICE" --windows 5 --steps "${BENCH_STEPS:-25}" \
    --warmup 10 --out "$OUT/bench_gpu.json"
}

compile() {
  timeout "${COMPILE_TIMEOUT:-50}" $PY benchmarks/bench.py --device "$DEVICE" --batches 128 \
    --settings fp32 fp32+compile --windows 5 --steps 25 --warmup 10 --out "$OUT/bench_gpu_compile.json"
}

for stage in $STAGES; do
  case $stage in
    tta | sweep | dsprites | bench | compile) stamp "$stage"; $stage ;;
    *) echo "unknown stage $stage (tta, sweep, dsprites, bench, compile)" >&2; exit 2 ;;
  esac
done
stamp "done"
