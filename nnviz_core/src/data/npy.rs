//! NumPy `.npy` files: the array format `numpy.save` writes, read and written without numpy.
//!
//! A file is the magic `\x93NUMPY`, a version (1.0, 2.0 or 3.0), a little-endian header length
//! (`u16` in 1.0, `u32` in 2.0/3.0), an ASCII header that is a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 28, 28), }`, and the raw values.
//! nnviz reads C-order (row-major) arrays of little-endian `f32` (`<f4`), `i64` (`<i8`) and `i32`
//! (`<i4`, returned as `i64`), and writes `f32` and `i64` arrays with a version 1.0 header padded
//! to a multiple of 64 bytes, as numpy does. Anything else — a bad magic, a truncated file, another
//! dtype, Fortran order — is an error naming the file and the problem.
//!
//! Format reference: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.

use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::atomic_write;
use crate::{Error, Result};

const MAGIC: &[u8] = b"\x93NUMPY";

fn bad(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::bad_file(path, format!("not a valid .npy file: {what}"))
}

/// Element types nnviz reads from `.npy` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    F32,
    I64,
    I32,
}

impl Elem {
    fn size(self) -> usize {
        match self {
            Elem::F32 | Elem::I32 => 4,
            Elem::I64 => 8,
        }
    }
}

/// The parsed header: dtype, order and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// The text after `'key':` in the header dict, whitespace-trimmed at the start.
fn value_of<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    for quote in ['\'', '"'] {
        let k = format!("{quote}{key}{quote}");
        if let Some(i) = header.find(&k) {
            let rest = header[i + k.len()..].trim_start();
            return rest.strip_prefix(':').map(str::trim_start);
        }
    }
    None
}

fn parse_header(text: &str, path: &Path) -> Result<Header> {
    let text = text.trim();
    if !(text.starts_with('{') && text.ends_with('}')) {
        return Err(bad(path, format!("header {text:?} is not a dict")));
    }
    let descr = value_of(text, "descr").ok_or_else(|| bad(path, "header has no 'descr'"))?;
    let descr = {
        let q = descr
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
            .ok_or_else(|| bad(path, "header 'descr' is not a string"))?;
        let body = &descr[1..];
        let end = body
            .find(q)
            .ok_or_else(|| bad(path, "header 'descr' string is not closed"))?;
        body[..end].to_string()
    };
    let fortran = value_of(text, "fortran_order")
        .ok_or_else(|| bad(path, "header has no 'fortran_order'"))?;
    let fortran_order = if fortran.starts_with("True") {
        true
    } else if fortran.starts_with("False") {
        false
    } else {
        return Err(bad(
            path,
            "header 'fortran_order' is neither True nor False",
        ));
    };
    let shape = value_of(text, "shape").ok_or_else(|| bad(path, "header has no 'shape'"))?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|s| s.find(')').map(|e| &s[..e]))
        .ok_or_else(|| bad(path, "header 'shape' is not a tuple"))?;
    let shape = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| bad(path, format!("header 'shape' has a bad dimension {s:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Header {
        descr,
        fortran_order,
        shape,
    })
}

/// Parses the bytes of a `.npy` file into a CPU tensor (`f32`, or `i64` for integer arrays).
/// `path` only names the file in errors.
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<Tensor> {
    if bytes.len() < 8 || &bytes[..6] != MAGIC {
        return Err(bad(path, "no \\x93NUMPY magic at the start"));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len, start): (usize, usize) = match major {
        1 => {
            if bytes.len() < 10 {
                return Err(bad(path, "truncated before the header length"));
            }
            (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
        }
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad(path, "truncated before the header length"));
            }
            let l = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (l as usize, 12)
        }
        _ => {
            return Err(bad(
                path,
                format!("format version {major}.{minor} is not 1.0, 2.0 or 3.0"),
            ))
        }
    };
    let end = start
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            bad(
                path,
                format!(
                    "truncated: header of {len} bytes, file of {} bytes",
                    bytes.len()
                ),
            )
        })?;
    let text = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| bad(path, "header is not ASCII/UTF-8 text"))?;
    let header = parse_header(text, path)?;
    let elem = match header.descr.as_str() {
        "<f4" => Elem::F32,
        "<i8" => Elem::I64,
        "<i4" => Elem::I32,
        other => {
            return Err(bad(
                path,
                format!(
                    "dtype {other:?} is not supported (nnviz reads '<f4' float32, '<i8' int64 and '<i4' int32; convert with arr.astype(np.float32))"
                ),
            ))
        }
    };
    if header.fortran_order && header.shape.len() > 1 {
        return Err(bad(
            path,
            "the array is in Fortran order; save a C-order array (np.ascontiguousarray)",
        ));
    }
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad(path, format!("shape {:?} is too large", header.shape)))?;
    let data = &bytes[end..];
    let need = count
        .checked_mul(elem.size())
        .ok_or_else(|| bad(path, format!("shape {:?} is too large", header.shape)))?;
    if data.len() != need {
        return Err(bad(
            path,
            format!(
                "shape {:?} of {:?} needs {need} data bytes, the file has {}{}",
                header.shape,
                header.descr,
                data.len(),
                if data.len() < need {
                    " (truncated)"
                } else {
                    ""
                }
            ),
        ));
    }
    let shape = header.shape.clone();
    let t = match elem {
        Elem::F32 => {
            let v: Vec<f32> = data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Tensor::from_vec(v, shape, &Device::Cpu)?
        }
        Elem::I64 => {
            let v: Vec<i64> = data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect();
            Tensor::from_vec(v, shape, &Device::Cpu)?
        }
        Elem::I32 => Tensor::from_vec(i32_le_to_i64(data), shape, &Device::Cpu)?,
    };
    Ok(t)
}

/// Little-endian `i32` values, widened to `i64` (candle has no `i32` dtype); a trailing partial
/// value is ignored (callers check the length).
pub(crate) fn i32_le_to_i64(data: &[u8]) -> Vec<i64> {
    data.chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
        .collect()
}

/// Reads a `.npy` file into a CPU tensor (`f32`, or `i64` for integer arrays).
pub fn read_npy(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io("read .npy file", path, e))?;
    parse_npy(&bytes, path)
}

/// The bytes of a `.npy` file (version 1.0, C order) holding `t` as `<f4` (f32, and any float
/// dtype, converted) or `<i8` (integer dtypes).
pub fn npy_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let t = t.to_device(&Device::Cpu)?;
    let (descr, data): (&str, Vec<u8>) = match t.dtype() {
        DType::U8 | DType::U32 | DType::I64 => (
            "<i8",
            t.to_dtype(DType::I64)?
                .flatten_all()?
                .to_vec1::<i64>()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        _ => (
            "<f4",
            t.to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
    };
    let dims = t.dims();
    let shape = match dims.len() {
        0 => "()".to_string(),
        1 => format!("({},)", dims[0]),
        _ => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let len = u16::try_from(header.len())
        .map_err(|_| Error::invalid(format!("npy: shape {dims:?} makes too long a header")))?;
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    Ok(out)
}

/// Writes `t` to a `.npy` file atomically (temporary file, then rename); see [`npy_bytes`].
pub fn write_npy(path: impl AsRef<Path>, t: &Tensor) -> Result<()> {
    atomic_write(path.as_ref(), &npy_bytes(t)?)
}

#[cfg(test)]
mod tests;
