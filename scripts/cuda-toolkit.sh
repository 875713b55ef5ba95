#!/usr/bin/env bash
# Sets up a CUDA 13.0 build toolkit from PyPI wheels, with no system CUDA and no GPU needed,
# into the git-ignored folder .cuda/ (idempotent: a second run only checks it).
#
#   scripts/cuda-toolkit.sh            # set up (about 0.65 GB download, 1.2 GB on disk)
#   source .cuda/env.sh                # then build: cargo build --release --features cuda
#
# What it makes (see the README's CUDA section for why each piece is needed):
#   .cuda/venv/       the wheels: nvcc, nvvm, crt, runtime, cccl, nvrtc, cublas, curand (13.0.x)
#   .cuda/root/       a toolkit root of symlinks (bin, include, nvvm, lib64 with dev names), because
#                     cudaforge and cudarc look for $CUDA_HOME/{bin,include,lib64}
#   .cuda/root/lib64/stubs/libcuda.so   a link stub for the driver API (no wheel ships one),
#                     SONAME libcuda.so.1, one dummy function per entry point cudarc declares
#   .cuda/fake-driver/libcuda.so.1      the same stub, to *start* a cuda binary on a machine with no
#                     NVIDIA driver: every driver call fails and nnviz falls back to the CPU
#   .cuda/env.sh      the build variables (CUDA_HOME, PATH, CUDA_COMPUTE_CAP=90 → sm_90a for
#                     H100/H200, CUDARC_CUDA_VERSION=13000)
#
# The wheels are pinned to 13.0: a newer nvcc emits a PTX ISA that a CUDA 13.0 driver (580) refuses.
# Other GPU families: CUDA_COMPUTE_CAP=80 (A100), 89 (L4/RTX 40) ... before sourcing env.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
C="$ROOT/.cuda"
WHEELS=(nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88
        nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88
        nvidia-cublas==13.0.2.14 nvidia-curand==10.4.0.35)
STAMP="$C/.done-$(echo "${WHEELS[*]}" | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ -x "$C/root/bin/nvcc" ] && [ -f "$C/root/lib64/stubs/libcuda.so" ]; then
  echo "cuda-toolkit: $C is ready"; exit 0
fi
mkdir -p "$C"
if [ ! -x "$C/venv/bin/pip" ]; then python3 -m venv "$C/venv"; fi
"$C/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "${WHEELS[@]}"
W="$("$C/venv/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')"
[ -x "$W/bin/nvcc" ] || { echo "cuda-toolkit: nvcc missing under $W after install" >&2; exit 1; }

# A fresh root each time, built under a temporary name and renamed (never half-made).
rm -rf "$C/root.tmp" "$C/fake-driver.tmp"
mkdir -p "$C/root.tmp/lib64/stubs" "$C/fake-driver.tmp"
ln -s "$W/bin" "$C/root.tmp/bin"; ln -s "$W/include" "$C/root.tmp/include"; ln -s "$W/nvvm" "$C/root.tmp/nvvm"
for f in "$W"/lib/*.so.*; do ln -s "$f" "$C/root.tmp/lib64/"; done
for l in cudart cublas cublasLt nvrtc; do ln -s "lib$l.so.13" "$C/root.tmp/lib64/lib$l.so"; done
ln -s libcurand.so.10 "$C/root.tmp/lib64/libcurand.so"

# The libcuda link stub: every driver entry point cudarc declares.
cd "$ROOT"
cargo fetch --quiet
SYS="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.10/src/driver/sys/mod.rs | head -n1)"
[ -f "$SYS" ] || { echo "cuda-toolkit: cudarc 0.19.10 sources not found after cargo fetch" >&2; exit 1; }
grep -oE '^ +fn cu[A-Za-z0-9_]+\(' "$SYS" | sed -E 's/ +fn //; s/\(//' | sort -u \
  | awk '{print "int "$1"(void){return 999;}"}' > "$C/libcuda_stub.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$C/root.tmp/lib64/stubs/libcuda.so" "$C/libcuda_stub.c"
cp "$C/root.tmp/lib64/stubs/libcuda.so" "$C/fake-driver.tmp/libcuda.so.1"
rm -rf "$C/root" "$C/fake-driver"
mv "$C/root.tmp" "$C/root"; mv "$C/fake-driver.tmp" "$C/fake-driver"

cat > "$C/env.sh.tmp" <<ENV
# Source this to build nnviz with --features cuda (made by scripts/cuda-toolkit.sh).
export CUDA_HOME="$C/root"
export PATH="$C/root/bin:\$PATH"
export NVCC="$C/root/bin/nvcc"
export CUDA_COMPUTE_CAP="\${CUDA_COMPUTE_CAP:-90}"
export CUDARC_CUDA_VERSION=13000
export CUDAFORGE_THREADS="\${CUDAFORGE_THREADS:-\$(nproc)}"
# To run a cuda binary here without a GPU (it falls back to the CPU):
#   LD_LIBRARY_PATH=$C/fake-driver:$W/lib ./binary
export NNVIZ_CUDA_LIBS="$W/lib"
export NNVIZ_FAKE_DRIVER="$C/fake-driver"
ENV
mv "$C/env.sh.tmp" "$C/env.sh"
rm -f "$C"/.done-*; touch "$STAMP"
echo "cuda-toolkit: ready in $C (source $C/env.sh)"
