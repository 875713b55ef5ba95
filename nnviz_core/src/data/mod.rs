//! Data sets: MNIST read from the repository's committed IDX files, and cluttered MNIST
//! generated from it by our own seeded code.
//!
//! Nothing here downloads anything: the four MNIST files live in `data/mnist/` next to a
//! `SHA256SUMS` file, and every load verifies them, so a notebook either sees exactly the
//! canonical data or gets an error naming the file that is wrong. Cluttered MNIST is derived
//! deterministically from MNIST and a seed, and cached under `data/cluttered/`.
//!
//! * [`mnist`]: the IDX reader, checksum verification, [`mnist::load_mnist`] and
//!   [`mnist::check`] (behind `nnviz data check`).
//! * [`dataset`]: [`Dataset`], the tensors of one data set plus helpers to pick examples.
//! * [`cluttered`]: [`ClutteredConfig`], the cluttered-MNIST generator and its cache.
//! * [`npy`], [`arrays`]: `.npy` and `.safetensors` array files (the command line's inputs and
//!   outputs), read with errors naming the file and the problem, written atomically.

pub mod arrays;
pub mod cluttered;
pub mod dataset;
pub mod mnist;
pub mod npy;

pub use cluttered::{ClutteredConfig, ClutteredLocations, DigitLocations};
pub use dataset::Dataset;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The directory holding nnviz's data: `$NNVIZ_DATA` if set, else the repository's `data/`.
///
/// The fallback is fixed at compile time from this crate's location, so it works from any
/// working directory (notebooks run from `notebooks/`) as long as the checkout is not moved.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("NNVIZ_DATA") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data"));
            // Without the `..` when the folder exists, so messages show a clean path.
            dir.canonicalize().unwrap_or(dir)
        }
    }
}

/// Write `bytes` to `path` atomically: readers see either the old file or the complete new one.
///
/// Creates missing parent directories, writes a uniquely named temporary file in the target's
/// directory (`.{name}.tmp-{pid}-{nanos}-{counter}`), fsyncs it and renames it over `path`.
/// The temporary file is removed if anything fails.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("atomic_write: {}: no file name", path.display())))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating directory", &dir, e))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // The counter keeps two writes from one process in the same nanosecond apart.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        nanos,
        n
    ));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io("creating temporary file", &tmp, e))?;
        file.write_all(bytes)
            .map_err(|e| Error::io("writing temporary file", &tmp, e))?;
        file.sync_all()
            .map_err(|e| Error::io("syncing temporary file", &tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| Error::io("renaming temporary file to", path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests;
