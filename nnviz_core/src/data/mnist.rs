//! MNIST from the repository's gzipped IDX files, verified against `SHA256SUMS`.
//!
//! We read the IDX format ourselves (it is a 4-byte magic, big-endian dimensions and raw
//! bytes) instead of depending on a downloader, so loading is offline, fast and strict: a
//! truncated, corrupt or substituted file is an error that names the file and what is wrong,
//! never a silently different data set.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};

use crate::data::Dataset;
use crate::{Error, Result};

#[cfg(test)]
mod tests;

/// The four MNIST files as (training images, training labels, test images, test labels).
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

const NOT_FOUND_HINT: &str =
    "not found (run from the nnviz repository, or set NNVIZ_DATA to the directory holding mnist/)";

/// A parsed IDX file of unsigned bytes: its dimensions and row-major data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parse the bytes of an (uncompressed) IDX file of data type `0x08` (unsigned byte) with 1 to
/// 4 dimensions; `path` is only used in error messages. The length must match exactly.
pub fn parse_idx(bytes: &[u8], path: &Path) -> Result<Idx> {
    let bad = |reason: String| Error::bad_file(path, reason);
    if bytes.len() < 4 {
        return Err(bad(format!(
            "truncated IDX header: expected at least 4 bytes, found {}",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        return Err(bad(format!(
            "bad IDX magic 0x{magic:08x}: not an IDX file (expected 0x000008NN)"
        )));
    }
    if bytes[2] != 0x08 {
        return Err(bad(format!(
            "unsupported IDX data type code 0x{:02x} (only 0x08, unsigned byte, is supported)",
            bytes[2]
        )));
    }
    let ndims = bytes[3] as usize;
    if !(1..=4).contains(&ndims) {
        return Err(bad(format!(
            "unsupported IDX dimension count {ndims} (expected 1 to 4)"
        )));
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(bad(format!(
            "truncated IDX header: expected {header} bytes for {ndims} dimensions, found {}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_add(header))
        .ok_or_else(|| {
            bad(format!(
                "IDX dimensions {dims:?} overflow the address space"
            ))
        })?;
    if bytes.len() < expected {
        return Err(bad(format!(
            "truncated IDX data: dimensions {dims:?} need {expected} bytes, found {}",
            bytes.len()
        )));
    }
    if bytes.len() > expected {
        return Err(bad(format!(
            "trailing data after IDX contents: dimensions {dims:?} need {expected} bytes, \
             found {} ({} extra)",
            bytes.len(),
            bytes.len() - expected
        )));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Read a file, naming it (and how to fix the data directory) when it is missing.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::io(
            "reading",
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, NOT_FOUND_HINT),
        ),
        _ => Error::io("reading", path, e),
    })
}

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Read an IDX file, gunzipping it if it starts with the gzip magic `1f 8b`, verify the SHA-256
/// of the decompressed bytes when `expected_sha256` is given, and parse it.
pub fn read_idx_gz(path: &Path, expected_sha256: Option<&str>) -> Result<Idx> {
    read_idx_hashed(path, expected_sha256).map(|(idx, _)| idx)
}

/// [`read_idx_gz`], also returning the SHA-256 of the decompressed bytes.
fn read_idx_hashed(path: &Path, expected_sha256: Option<&str>) -> Result<(Idx, String)> {
    let raw = read_file(path)?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| Error::bad_file(path, format!("corrupt gzip data: {e}")))?;
        out
    } else {
        raw
    };
    let actual = sha256_hex(&bytes);
    if let Some(expected) = expected_sha256 {
        if !expected.eq_ignore_ascii_case(&actual) {
            return Err(Error::bad_file(
                path,
                format!(
                    "SHA-256 mismatch of the decompressed contents: expected {expected}, \
                     found {actual} (the file is corrupt or not the original)"
                ),
            ));
        }
    }
    Ok((parse_idx(&bytes, path)?, actual))
}

/// Parse `dir/SHA256SUMS` (`sha256sum` format: `<hex>  <name>`) into name → lower-case hex.
pub fn read_checksums(dir: &Path) -> Result<HashMap<String, String>> {
    let path = dir.join("SHA256SUMS");
    let bytes = read_file(&path)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| Error::bad_file(&path, format!("not UTF-8 text: {e}")))?;
    let mut sums = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(hex), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::bad_file(
                &path,
                format!(
                    "line {}: expected `<sha256>  <file name>`, found {line:?}",
                    i + 1
                ),
            ));
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::bad_file(
                &path,
                format!("line {}: {hex:?} is not a 64-digit hex SHA-256", i + 1),
            ));
        }
        sums.insert(
            name.trim_start_matches('*').to_string(),
            hex.to_ascii_lowercase(),
        );
    }
    Ok(sums)
}

/// The expected checksum of `file` (listed in `SHA256SUMS` without its `.gz`).
fn checksum_for<'a>(sums: &'a HashMap<String, String>, dir: &Path, file: &str) -> Result<&'a str> {
    let key = file.strip_suffix(".gz").unwrap_or(file);
    sums.get(key).map(String::as_str).ok_or_else(|| {
        Error::bad_file(
            dir.join("SHA256SUMS"),
            format!("no checksum listed for {key}"),
        )
    })
}

/// One verified split: images `[N,28,28]` and labels `[N]` (all < 10), counts matching.
fn read_split(dir: &Path, sums: &HashMap<String, String>, files: [&str; 2]) -> Result<(Idx, Idx)> {
    let [img_file, lbl_file] = files;
    let (img_path, lbl_path) = (dir.join(img_file), dir.join(lbl_file));
    let images = read_idx_gz(&img_path, Some(checksum_for(sums, dir, img_file)?))?;
    let labels = read_idx_gz(&lbl_path, Some(checksum_for(sums, dir, lbl_file)?))?;
    if images.dims.len() != 3 || images.dims[1..] != [28, 28] {
        return Err(Error::bad_file(
            &img_path,
            format!(
                "expected N×28×28 images, found dimensions {:?}",
                images.dims
            ),
        ));
    }
    if labels.dims.len() != 1 || labels.dims[0] != images.dims[0] {
        return Err(Error::bad_file(
            &lbl_path,
            format!(
                "expected {} labels to match {img_file}, found dimensions {:?}",
                images.dims[0], labels.dims
            ),
        ));
    }
    if let Some((i, l)) = labels.data.iter().enumerate().find(|(_, &l)| l >= 10) {
        return Err(Error::bad_file(
            &lbl_path,
            format!("label {l} at index {i} is not a digit 0-9"),
        ));
    }
    Ok((images, labels))
}

/// Load MNIST from `dir` (the four gzipped IDX files plus `SHA256SUMS`), verifying checksums,
/// shapes and labels. Images are `[N,1,28,28]` f32 in `[0, 1]` (byte / 255), labels `[N]` u32.
pub fn load_mnist(dir: &Path) -> Result<Dataset> {
    crate::alloc::tune();
    let sums = read_checksums(dir)?;
    let (train_x, train_y) = read_split(dir, &sums, [FILES[0], FILES[1]])?;
    let (test_x, test_y) = read_split(dir, &sums, [FILES[2], FILES[3]])?;
    let images = |idx: Idx| {
        Tensor::from_vec(
            bytes_to_unit(&idx.data),
            (idx.dims[0], 1, 28, 28),
            &Device::Cpu,
        )
    };
    let labels = |idx: Idx| {
        let n = idx.data.len();
        Tensor::from_vec(
            idx.data.into_iter().map(u32::from).collect::<Vec<_>>(),
            n,
            &Device::Cpu,
        )
    };
    Ok(Dataset {
        name: "mnist".to_string(),
        train_x: images(train_x)?,
        train_y: labels(train_y)?,
        valid: None,
        test_x: images(test_x)?,
        test_y: labels(test_y)?,
    })
}

/// Bytes to f32 in `[0, 1]`, exactly `b / 255`.
pub(crate) fn bytes_to_unit(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| f32::from(b) / 255.0).collect()
}

/// Verify every MNIST file in `dir` (checksum, IDX structure, shapes, labels) and describe
/// each in one line, e.g. `train-images-idx3-ubyte.gz: ok, 60000×28×28, sha256 ba891046…`.
/// If anything is wrong, the error lists every file's line, failures included.
pub fn check(dir: &Path) -> Result<Vec<String>> {
    let sums = read_checksums(dir)?;
    let mut lines = Vec::new();
    let mut failures = 0;
    for file in FILES {
        let path = dir.join(file);
        let result =
            checksum_for(&sums, dir, file).and_then(|sum| read_idx_hashed(&path, Some(sum)));
        match result {
            Ok((idx, hash)) => {
                let dims: Vec<String> = idx.dims.iter().map(usize::to_string).collect();
                lines.push(format!(
                    "{file}: ok, {}, sha256 {}…",
                    dims.join("×"),
                    &hash[..8]
                ));
            }
            Err(e) => {
                failures += 1;
                lines.push(format!("{file}: FAILED: {e}"));
            }
        }
    }
    if failures == 0 {
        for (name, files) in [
            ("train", [FILES[0], FILES[1]]),
            ("test", [FILES[2], FILES[3]]),
        ] {
            match read_split(dir, &sums, files) {
                Ok((images, _)) => lines.push(format!(
                    "{name} split: ok, {} images with labels 0-9",
                    images.dims[0]
                )),
                Err(e) => {
                    failures += 1;
                    lines.push(format!("{name} split: FAILED: {e}"));
                }
            }
        }
    }
    if failures > 0 {
        // One line (the CLI's error line): only the failures, each naming its file.
        let failed: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| l.contains(": FAILED: "))
            .collect();
        return Err(Error::bad_file(
            dir,
            format!(
                "MNIST verification failed ({failures} of {} checks): {}",
                lines.len(),
                failed.join("; ").replace('\n', " ")
            ),
        ));
    }
    Ok(lines)
}
