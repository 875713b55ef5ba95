//! Keeps glibc's `malloc` from handing large tensor buffers back to the kernel after every use.
//!
//! candle allocates a fresh buffer for every tensor an operation produces. A training step of a
//! small CNN at batch 100 makes hundreds of buffers of 0.1–10 MB. glibc serves blocks above its
//! `M_MMAP_THRESHOLD` (128 KiB, rising dynamically) with `mmap` and returns them with `munmap` on
//! free, and trims the heap top above `M_TRIM_THRESHOLD`; either way the next buffer of that size
//! arrives as fresh pages, and the kernel zeroes every one of them on first touch. Measured with
//! `perf` on the 2-core development machine, those page faults were about a third of a training
//! step and doubled the backward pass (model D0: 103 → 43 ms per backward + Adam step of 100).
//!
//! [`tune`] raises the mmap threshold to glibc's maximum (32 MiB on 64-bit) and stops heap
//! trimming, so freed buffers are reused. It also limits malloc to one arena (`M_ARENA_MAX = 1`):
//! a thread other than the main one otherwise gets an arena of its own, made of 64 MiB heaps
//! that glibc unmaps as soon as they are empty, so a few tensors of 10 MB coming and going map
//! fresh pages every time. Measured in a `cargo test` thread (its arena predates `tune`): a
//! training step of the reference CNN took 85 ms of backward pass and 72 ms of candle's Adam
//! there, against 67 and 20 ms with one arena. Threads that have already allocated keep their
//! arena, so `tune` runs as early as nnviz can: from the first [`crate::Network`] built and the
//! first dataset loaded; a program that starts threads before either can set
//! `MALLOC_ARENA_MAX=1` itself. It runs once per process, and only on Linux with glibc. It
//! changes nothing when `NNVIZ_SYSTEM_MALLOC=1` is set, or when the process already configures
//! malloc itself through `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `MALLOC_ARENA_MAX`
//! or `GLIBC_TUNABLES` (those settings win).
//! The cost is memory: the heap keeps its high-water mark instead of shrinking after a peak.
//!
//! Buffers above 32 MiB still come from `mmap`, fresh each time. So the methods that evaluate
//! many inputs in internal passes — integrated gradients' interpolation points, SmoothGrad's
//! noisy copies, the metrics' perturbed and translated images — size their passes on the CPU
//! with [`inputs_per_pass`], keeping the network's largest activation of a pass under
//! [`CPU_PASS_BYTES`]. Measured on the reference CNN (first activation 100 KB per image),
//! integrated gradients of 100 images with 50 steps at 2 threads: 500 points per pass took
//! 3.2 s with 3.5 million page faults (10 s of kernel time), 100 points per pass 1.45 s with 0.1
//! million.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use candle_core::{DType, Device};

use crate::{Network, Result};

/// The most bytes the largest activation of one internal pass takes on the CPU: half of glibc's
/// largest mmap threshold, so that buffers are reused from the heap rather than mapped afresh.
pub const CPU_PASS_BYTES: usize = 16 * 1024 * 1024;

/// How many inputs of `net` one internal pass should evaluate: `requested` (at least 1) and, on
/// the CPU, no more than keeps the network's largest activation (input included) within
/// [`CPU_PASS_BYTES`]. On other devices larger passes are cheaper, and `requested` stands.
/// Found from the architecture's layer shapes, without running the network.
pub fn inputs_per_pass(net: &Network, requested: usize) -> Result<usize> {
    let requested = requested.max(1);
    if !matches!(net.device(), Device::Cpu) {
        return Ok(requested);
    }
    let elem = net
        .parameters()
        .first()
        .map_or(DType::F32, |(_, t)| t.dtype())
        .size_in_bytes();
    let largest = net
        .spec()?
        .shapes()?
        .iter()
        .map(|s| s.iter().product::<usize>())
        .chain([net.input.iter().product()])
        .max()
        .unwrap_or(1)
        .max(1)
        * elem;
    Ok(requested.min((CPU_PASS_BYTES / largest).max(1)))
}

static TUNE: Once = Once::new();
static APPLIED: AtomicBool = AtomicBool::new(false);

/// glibc's largest accepted `M_MMAP_THRESHOLD` on 64-bit targets (`HEAP_MAX_SIZE / 2`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 * 1024 * 1024;

/// Applies the allocator settings described in the module docs, once per process; later calls
/// do nothing. Returns whether this process's settings were changed by nnviz (by this or an
/// earlier call).
pub fn tune() -> bool {
    TUNE.call_once(|| {
        APPLIED.store(!user_configured() && apply(), Ordering::Release);
    });
    APPLIED.load(Ordering::Acquire)
}

/// Whether the user asked to keep or set malloc's behaviour themselves.
fn user_configured() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    std::env::var("NNVIZ_SYSTEM_MALLOC").is_ok_and(|v| v != "0")
        || set("MALLOC_MMAP_THRESHOLD_")
        || set("MALLOC_TRIM_THRESHOLD_")
        || set("MALLOC_ARENA_MAX")
        || set("GLIBC_TUNABLES")
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    // SAFETY: mallopt only sets allocator parameters; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX) == 1
            && libc::mallopt(libc::M_ARENA_MAX, 1) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}
