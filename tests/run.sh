#!/usr/bin/env bash
# Runs every test: formatting, clippy, the workspace's tests (release: candle is ~40x slower in
# debug), the CLI end-to-end tests, and every notebook executed headless with the Rust kernel.
# Executed notebooks are kept in artifacts/notebooks/.
#   tests/run.sh              everything
#   tests/run.sh --no-notebooks
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
notebooks=1
[[ ${1:-} == "--no-notebooks" ]] && notebooks=0
start=$SECONDS
stamp() { echo "== $1 ($(( SECONDS - start )) s)"; }

stamp "install (idempotent)"
notebooks/setup.sh --install-only
stamp "cargo fmt --check"
cargo fmt --all -- --check
stamp "cargo clippy"
cargo clippy --release --workspace --all-targets --features cli -- -D warnings
stamp "cargo test --release"
cargo test --release --workspace --features cli
if [[ $notebooks == 1 ]]; then
  stamp "notebooks"
  .venv/bin/python -m pytest -v tests/
fi
stamp "all tests passed"
