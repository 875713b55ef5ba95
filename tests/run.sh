#!/usr/bin/env bash
# Runs every test: formatting, clippy, the docs' links, the workspace's tests (release: candle is
# ~40x slower in debug), the CLI end-to-end tests, and every notebook executed headless with the
# Rust kernel.
# Executed notebooks are kept in artifacts/notebooks/. The `cuda` feature is built too (toolkit from
# PyPI wheels, scripts/cuda-toolkit.sh; no GPU needed) and its binaries are started with a stub
# driver, which makes them fall back to the CPU; the GPU itself is checked by scripts/gpu-check.sh.
#   tests/run.sh                  everything
#   tests/run.sh --no-notebooks   skip the notebooks (the CLI tests still run)
#   tests/run.sh --no-cuda        skip the cuda build (both flags may be given)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
notebooks=1
cuda=1
for arg in "$@"; do
  case "$arg" in
    --no-notebooks) notebooks=0 ;;
    --no-cuda) cuda=0 ;;
    *) echo "usage: tests/run.sh [--no-notebooks] [--no-cuda]" >&2; exit 2 ;;
  esac
done
start=$SECONDS
stamp() { echo "== $1 ($(( SECONDS - start )) s)"; }

stamp "install (idempotent)"
notebooks/setup.sh --install-only
stamp "cargo fmt --check"
cargo fmt --all -- --check
if [[ $cuda == 1 ]]; then
  # Before the CPU build: both link target/release/nnviz, and the CPU one must win.
  stamp "cuda build (scripts/cuda-toolkit.sh, --features cuda)"
  scripts/cuda-toolkit.sh
  (
    # shellcheck disable=SC1091
    source .cuda/env.sh
    # One invocation with one feature set: the library is compiled once for both targets.
    cargo build --release -p nnviz_core --features cuda,cli --bin nnviz --test gpu
    # No GPU here: the stub driver makes device() fall back to the CPU; the cuda binary must
    # start, say so, and compute.
    LD_LIBRARY_PATH="$NNVIZ_FAKE_DRIVER:$NNVIZ_CUDA_LIBS" "${CARGO_TARGET_DIR:-target}"/release/nnviz bench --device cpu --batch 2 --repeats 1
    if LD_LIBRARY_PATH="$NNVIZ_FAKE_DRIVER:$NNVIZ_CUDA_LIBS" "${CARGO_TARGET_DIR:-target}"/release/nnviz gpu-check --batch 2 2>/dev/null; then
      echo "gpu-check must fail without a GPU" >&2; exit 1
    fi
  )
fi
stamp "cargo clippy"
cargo clippy --release --workspace --all-targets --features cli -- -D warnings
stamp "cargo doc (broken intra-doc links fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --release -p nnviz_core --no-deps
stamp "cargo test --release"
cargo test --release --workspace --features cli
if [[ $notebooks == 1 ]]; then
  # The first notebook runs alone: on a new machine it fills evcxr's compile cache with candle
  # (minutes), which two kernels compiling at once would both do. The others then run
  # NNVIZ_NOTEBOOK_JOBS at a time (default 2): a kernel compiling a cell leaves the cores to
  # another one computing.
  stamp "CLI end-to-end tests, notebook checks and the first notebook"
  .venv/bin/python -m pytest -v --durations=0 --durations-min=5 tests/ \
    -k "not test_notebook_runs or Getting"
  stamp "the other notebooks, ${NNVIZ_NOTEBOOK_JOBS:-2} at a time"
  .venv/bin/python -m pytest -v --durations=0 --durations-min=5 tests/test_notebooks.py \
    -k "test_notebook_runs and not Getting" -n "${NNVIZ_NOTEBOOK_JOBS:-2}" --dist worksteal
else
  stamp "CLI end-to-end tests"
  .venv/bin/python -m pytest -v tests/test_cli.py
fi
stamp "all tests passed"
