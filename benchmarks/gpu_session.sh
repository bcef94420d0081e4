#!/usr/bin/env bash
# One lent-GPU session, prepared to fit about nine minutes: the benchmark table (issue 3), the
# time to 90%/95% accuracy (issue 3), and a seed sweep of the MNIST remedies (issue 4).
# Installs nothing: the GPU image has torch, numpy, scipy, scikit-learn, safetensors,
# tensorboard, tqdm and matplotlib. MNIST comes gzipped in .gpudata/ (carried), results go to $OUT.
#   bash benchmarks/gpu_session.sh            (SWEEP_DEADLINE=170 seconds by default)
set -u
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT" /tmp/data/MNIST/raw
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD INFOGAN_DATA_ROOT=/tmp/data
PY=${PYTHON:-python3}
for f in .gpudata/*.gz; do gunzip -c "$f" > /tmp/data/MNIST/raw/"$(basename "$f" .gz)"; done
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY -c "import torch, sklearn, scipy, safetensors, tensorboard, tqdm, matplotlib; print('torch', torch.__version__, torch.cuda.get_device_name())"
DEVICE=${DEVICE:-cuda}
T0=$(date +%s)
stamp() { echo "== $1 at +$(( $(date +%s) - T0 )) s"; }

stamp "bench"
timeout "${BENCH_TIMEOUT:-90}" $PY benchmarks/bench.py --device "$DEVICE" --windows 5 --steps "${BENCH_STEPS:-25}" \
  --warmup 10 --out "$OUT/bench_gpu.json"

stamp "time to accuracy"
timeout "${TTA_TIMEOUT:-100}" $PY benchmarks/time_to_accuracy.py --device "$DEVICE" --settings fp32 bf16 \
  --steps "${TTA_STEPS:-5000}" --eval-every 100 --runs /tmp/tta --out "$OUT/tta_gpu.json"

stamp "sweep"
# Variant names as in the README's table: "paper" is the paper's objective alone.
P="--consistency 0 --info-reaches head"
VARIANTS=(--variant "default=" --variant "paper=$P" --variant "consistency-head=--info-reaches head"
  --variant "noise16=$P --noise-dim 16" --variant "spectral-norm=$P --spectral-norm"
  --variant "instance-noise=$P --instance-noise 0.1 --label-smoothing 0.1" --variant "lambda-cat-2=$P --lambda-cat 2"
  --variant "plain-gan=$P --plain-gan")
timeout "${SWEEP_TIMEOUT:-330}" $PY benchmarks/seed_sweep.py --device "$DEVICE" --out /tmp/sweep \
  --jobs "${SWEEP_JOBS:-10}" --threads 1 --seeds 0-4 --deadline "${SWEEP_DEADLINE:-170}" "${VARIANTS[@]}" \
  --train-args "--checkpoint-every 100000 --sample-every 100000 ${SWEEP_TRAIN_ARGS:-}"
# Runs cut off by the timeout are left out; every finished run's logs come back for re-collection.
$PY benchmarks/seed_sweep.py --out /tmp/sweep --collect-only --seeds 0-4 "${VARIANTS[@]}" > "$OUT/sweep_table.md" 2>&1
cat "$OUT/sweep_table.md"
cp /tmp/sweep/figure1.png "$OUT/" 2>/dev/null
tar czf "$OUT/sweep_runs.tgz" -C /tmp/sweep --exclude='*.safetensors' --exclude='events.*' --exclude='samples' . 2>/dev/null

stamp "compile"
timeout "${COMPILE_TIMEOUT:-50}" $PY benchmarks/bench.py --device "$DEVICE" --batches 128 --settings fp32 fp32+compile \
  --windows 5 --steps 25 --warmup 10 --out "$OUT/bench_gpu_compile.json"
stamp "done"
