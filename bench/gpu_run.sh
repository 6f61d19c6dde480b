#!/usr/bin/env bash
# The GPU session's one script: the throughput table, each paper's model with its
# augmentation, old path (augmentation on the CPU, tf.data) beside new (in the step).
#
#   bench/gpu_run.sh small        # bedi_cnn, mondal_shallow, mondal_deep, fer_kd, reference
#   bench/gpu_run.sh transfer     # vgg16, vgg19, resnet18, efficientnet_b0, resnet50
#   bench/gpu_run.sh all          # both groups in one command
#   bench/gpu_run.sh --dry-run    # on the CPU, tiny: one model per augmentation recipe
#
# One Python process per call. It starts no model once BUDGET seconds have passed
# (default 420) and the whole call stops after LIMIT seconds (default 560), so a call
# fits in a 10-minute command; rows are printed and written to CSV as they come, so a
# call cut short keeps its table. CSV: $OUT/gpu_<group>.csv (default $TMPDIR/ferkit-bench/).
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
OUT_DIR=${OUT:-${TMPDIR:-/tmp}/ferkit-bench}
mkdir -p "$OUT_DIR"
export TF_CPP_MIN_LOG_LEVEL=2

group=${1:-small}
batch=${BATCH:-256}
steps=${STEPS:-40}
budget=${BUDGET:-420}
limit=${LIMIT:-560}
case "$group" in
    small|transfer) models=("$group"); extra=(--spe 8) ;;
    all) models=(small transfer); extra=() ;;
    --dry-run) group=dry_run; models=(bedi_cnn fer_kd reference resnet18); extra=(--allow-cpu --spe 2)
               batch=8; steps=2 ;;
    *) echo "usage: $0 small|transfer|all|--dry-run" >&2; exit 2 ;;
esac

started=$(date +%s)
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
echo "== $group: ${models[*]} (batch $batch, $steps steps per epoch; budget $budget s, limit $limit s)"
timeout "$limit" "$PYTHON" bench/bench_gpu.py --models "${models[@]}" --batch "$batch" --steps "$steps" \
    --budget "$budget" "${extra[@]}" --csv "$OUT_DIR/gpu_${group}.csv" 2>&1 \
    | grep --line-buffered -v -E '^(WARNING|I0000|E0000|W0000)|oneDNN|cpu_feature_guard|rebuild TensorFlow|__array__|cuda_(dnn|fft|blas)|absl::InitializeLog'
code=${PIPESTATUS[0]}
[ "$code" = 124 ] && echo "stopped after $limit s (LIMIT): the rows above are what was measured"
echo "== done in $(( $(date +%s) - started )) s; table in $OUT_DIR/gpu_${group}.csv"
exit "$code"
