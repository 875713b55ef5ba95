#!/usr/bin/env bash
# The GPU check of the `cuda` feature: the integration tests on the GPU (tests/gpu.rs) and every
# method on GPU and CPU side by side (`nnviz gpu-check`: agreement within 1e-4 relative L2, and
# the time ratios).
#
#   scripts/gpu-check.sh                 # a machine with Rust and an NVIDIA GPU: build, then run
#   scripts/gpu-check.sh --bundle        # here, without a GPU: build the two binaries into
#                                        #   gpu-bundle/ (git-ignored, ~2×45 MB, xz-compressed)
#   scripts/gpu-check.sh --run-bundle    # on a GPU machine without Rust: run gpu-bundle/
#
# A cuda binary needs the NVIDIA driver (libcuda.so.1) and the CUDA 13 runtime, cuBLAS and cuRAND
# libraries. Without a toolkit, PyTorch's CUDA 13 wheels carry them: LD_LIBRARY_PATH is set to
# site-packages/nvidia/cu13/lib when that exists. Output also goes to $OUT/gpu-check.md when
# $OUT is set.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BUNDLE="$ROOT/gpu-bundle"
mode="${1:-local}"

build() {  # builds both binaries and records their paths
  scripts/cuda-toolkit.sh
  # shellcheck disable=SC1091
  source .cuda/env.sh
  local exe='import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("executable"): print(m["executable"])'
  # Copied at once: another build in a shared target dir may re-link release/nnviz.
  local built
  built="$(cargo build --release -p nnviz_core --features cuda,cli --bin nnviz \
    --message-format=json | python3 -c "$exe" | tail -n1)"
  mkdir -p "$ROOT/artifacts"
  NNVIZ_BIN="$ROOT/artifacts/nnviz-cuda"
  cp "$built" "$NNVIZ_BIN.tmp" && mv "$NNVIZ_BIN.tmp" "$NNVIZ_BIN"
  TEST_BIN="$(cargo test --release -p nnviz_core --features cuda --test gpu --no-run \
    --message-format=json | python3 -c "$exe" | tail -n1)"
  [ -x "$NNVIZ_BIN" ] && [ -x "$TEST_BIN" ] || { echo "gpu-check: build failed" >&2; exit 1; }
}

cuda_libs() {  # PyTorch's CUDA 13 libraries, if PyTorch is installed
  python3 - <<'PY' 2>/dev/null || true
import os, importlib.util
spec = importlib.util.find_spec("nvidia")
if spec and spec.submodule_search_locations:
    for p in spec.submodule_search_locations:
        d = os.path.join(p, "cu13", "lib")
        if os.path.isdir(d):
            print(d); break
PY
}

run_checks() {  # $1 = nnviz binary, $2 = test binary
  local libs; libs="$(cuda_libs)"
  if [ -n "$libs" ]; then export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
  export NNVIZ_DATA="${NNVIZ_DATA:-$ROOT/data}"
  local out="${OUT:-$ROOT/artifacts}/gpu-check.md"
  mkdir -p "$(dirname "$out")"
  {
    echo "# nnviz GPU check, $(date -u +%F)"
    echo; echo '```'
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
    echo "CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo '```'
    echo; echo "## Integration tests on the GPU (tests/gpu.rs)"; echo; echo '```'
    # (the side-by-side test is skipped here: nnviz gpu-check below does the same, with more repeats)
    "$2" --test-threads=1 --nocapture --skip every_method_agrees_with_the_cpu 2>&1 | grep -v '^$' \
      || echo "INTEGRATION TESTS FAILED"
    echo '```'
    echo; echo "## Every method, GPU against CPU (nnviz gpu-check)"; echo
    "$1" gpu-check --batch 100 --repeats 5 --train-steps 50 2>&1 || echo "GPU CHECK FAILED"
  } | tee "$out"
  ! grep -q "FAILED" "$out"
}

case "$mode" in
  local)
    build
    run_checks "$NNVIZ_BIN" "$TEST_BIN" ;;
  --bundle)
    build
    rm -rf "$BUNDLE.tmp"; mkdir -p "$BUNDLE.tmp"
    strip -o "$BUNDLE.tmp/nnviz" "$NNVIZ_BIN"
    strip -o "$BUNDLE.tmp/gpu-tests" "$TEST_BIN"
    xz -T0 -6 "$BUNDLE.tmp/nnviz" "$BUNDLE.tmp/gpu-tests"
    rm -rf "$BUNDLE"; mv "$BUNDLE.tmp" "$BUNDLE"
    du -sh "$BUNDLE"/* ;;
  --run-bundle)
    work="$(mktemp -d)"
    xz -dc "$BUNDLE/nnviz.xz" > "$work/nnviz"; xz -dc "$BUNDLE/gpu-tests.xz" > "$work/gpu-tests"
    chmod +x "$work/nnviz" "$work/gpu-tests"
    run_checks "$work/nnviz" "$work/gpu-tests" ;;
  *) echo "usage: $0 [--bundle | --run-bundle]" >&2; exit 2 ;;
esac
