#!/usr/bin/env bash
# Installs everything nnviz needs, then opens JupyterLab on notebooks/.
#   notebooks/setup.sh                 install (idempotent) and start JupyterLab
#   notebooks/setup.sh --install-only  install only (used by tests/run.sh and CI)
# Installs: evcxr_jupyter (cargo install --locked, ~10 min once, skipped when present),
# a Python venv in .venv with jupyterlab, nbclient, pytest and pytest-xdist, and the Rust kernel registered
# inside that venv (nothing is written to your global Jupyter config).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
install_only=0
[[ ${1:-} == "--install-only" ]] && install_only=1

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust from https://rustup.rs first" >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v evcxr_jupyter >/dev/null; then
  echo "setup: installing evcxr_jupyter (one time, ~10 minutes on 2 cores)"
  cargo install evcxr_jupyter --locked --version 0.22.0
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import jupyterlab, nbclient, pytest, xdist" 2>/dev/null; then
  echo "setup: installing jupyterlab, nbclient, pytest, pytest-xdist into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "jupyterlab>=4,<5" "nbclient>=0.10" "nbformat>=5" "pytest>=8" "pytest-xdist>=3.6"
fi
# Register the Rust kernel inside the venv (evcxr rewrites kernel.json when its version changes).
JUPYTER_PATH="$root/.venv/share/jupyter" evcxr_jupyter --install >/dev/null
if ! .venv/bin/jupyter kernelspec list 2>/dev/null | grep -q '^ *rust '; then
  echo "setup: the Rust kernel is not visible to .venv/bin/jupyter" >&2
  exit 1
fi
echo "setup: ready (evcxr_jupyter on PATH, kernel rust registered in .venv)"
[[ $install_only == 1 ]] && exit 0

cd notebooks
if [[ -z ${DISPLAY:-} && -z ${WAYLAND_DISPLAY:-} && $(uname) != Darwin ]]; then
  echo "setup: no display; open the URL printed below in a browser"
  exec ../.venv/bin/jupyter lab --no-browser --ip=127.0.0.1
fi
exec ../.venv/bin/jupyter lab
