//! Array files for the command line: `.npy` (one array, see [`super::npy`]) and `.safetensors`
//! (named tensors plus string metadata), chosen by the file extension.
//!
//! Image batches are `N×C×H×W` `f32` in C order. A safetensors file may hold several tensors;
//! readers ask for a name (e.g. `input`, `attribution`) and also accept a file holding exactly
//! one tensor of any name. Integer tensors (`I64`, `I32`, `U8`, `U32`) are read as `i64`,
//! float tensors (`F32`, `F16`, `BF16`, `F64`) as `f32`; others are errors. Everything is
//! written atomically (temporary file, then rename).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use safetensors::{Dtype, SafeTensors};

use super::{atomic_write, npy};
use crate::{Error, Result};

/// The container format of an array file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.npy`
    Npy,
    /// `.safetensors`
    Safetensors,
}

impl Format {
    /// The format of `path` by extension (case-insensitive), or an error naming the file.
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("npy") => Ok(Format::Npy),
            Some("safetensors") => Ok(Format::Safetensors),
            _ => Err(Error::invalid(format!(
                "{}: unknown array file type; use a .npy or .safetensors file",
                path.display()
            ))),
        }
    }
}

/// The content of an array file: named tensors (in name order) and string metadata.
#[derive(Debug, Clone)]
pub struct ArrayFile {
    pub tensors: Vec<(String, Tensor)>,
    pub metadata: HashMap<String, String>,
}

fn bad_st(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::bad_file(path, format!("not a valid safetensors file: {what}"))
}

/// Parses safetensors bytes into named CPU tensors (floats as `f32`, integers as `i64`) and
/// the metadata. `path` only names the file in errors.
pub fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<ArrayFile> {
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad_st(path, e))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad_st(path, e))?;
    let mut names: Vec<String> = st.names().into_iter().map(|s| s.to_string()).collect();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let view = st.tensor(&name).map_err(|e| bad_st(path, e))?;
        let shape = view.shape().to_vec();
        let data = view.data();
        let t = match view.dtype() {
            Dtype::F32 => Tensor::from_raw_buffer(data, DType::F32, &shape, &Device::Cpu)?,
            Dtype::F16 | Dtype::BF16 | Dtype::F64 => {
                let dt = match view.dtype() {
                    Dtype::F16 => DType::F16,
                    Dtype::BF16 => DType::BF16,
                    _ => DType::F64,
                };
                Tensor::from_raw_buffer(data, dt, &shape, &Device::Cpu)?.to_dtype(DType::F32)?
            }
            Dtype::I64 => Tensor::from_raw_buffer(data, DType::I64, &shape, &Device::Cpu)?,
            Dtype::U8 | Dtype::U32 => {
                let dt = if view.dtype() == Dtype::U8 {
                    DType::U8
                } else {
                    DType::U32
                };
                Tensor::from_raw_buffer(data, dt, &shape, &Device::Cpu)?.to_dtype(DType::I64)?
            }
            Dtype::I32 => Tensor::from_vec(npy::i32_le_to_i64(data), shape, &Device::Cpu)?,
            other => {
                return Err(bad_st(
                    path,
                    format!(
                    "tensor {name:?} has dtype {other:?}; nnviz reads float and integer tensors"
                ),
                ))
            }
        };
        out.push((name, t));
    }
    Ok(ArrayFile {
        tensors: out,
        metadata,
    })
}

/// Every tensor of an array file with the file's metadata (none for `.npy`, whose one array is
/// named `array`).
pub fn read_all(path: &Path) -> Result<ArrayFile> {
    match Format::of(path)? {
        Format::Npy => Ok(ArrayFile {
            tensors: vec![("array".to_string(), npy::read_npy(path)?)],
            metadata: HashMap::new(),
        }),
        Format::Safetensors => {
            let bytes =
                std::fs::read(path).map_err(|e| Error::io("read safetensors file", path, e))?;
            parse_safetensors(&bytes, path)
        }
    }
}

/// The tensor called `name` in an array file — or its only tensor, whatever its name.
pub fn read_named(path: &Path, name: &str) -> Result<Tensor> {
    let mut tensors = read_all(path)?.tensors;
    if let Some(i) = tensors.iter().position(|(n, _)| n == name) {
        return Ok(tensors.swap_remove(i).1);
    }
    if tensors.len() == 1 {
        return Ok(tensors.swap_remove(0).1);
    }
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    Err(Error::bad_file(
        path,
        format!(
            "no tensor named {name:?} and not exactly one tensor (it holds {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ),
    ))
}

/// A batch of images `N×C×H×W` (`f32`, on the CPU) from an array file: the tensor called
/// `name` (or the only one). Other ranks and integer arrays are errors naming the file.
pub fn read_images(path: &Path, name: &str) -> Result<Tensor> {
    let t = read_named(path, name)?;
    if t.dtype() != DType::F32 {
        return Err(Error::bad_file(
            path,
            format!(
                "the array has dtype {:?}; images must be float32",
                t.dtype()
            ),
        ));
    }
    if t.rank() != 4 {
        return Err(Error::bad_file(
            path,
            format!(
                "the array has shape {:?}; images must be N×C×H×W (4 dimensions)",
                t.dims()
            ),
        ));
    }
    Ok(t)
}

/// Writes named tensors and metadata to a `.safetensors` file atomically.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(&str, &Tensor)],
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let cpu: Vec<(&str, Tensor)> = tensors
        .iter()
        .map(|(n, t)| Ok((*n, t.to_device(&Device::Cpu)?.contiguous()?)))
        .collect::<Result<_>>()?;
    let meta = if metadata.is_empty() {
        None
    } else {
        Some(metadata.clone())
    };
    let bytes = safetensors::serialize(cpu.iter().map(|(n, t)| (*n, t)), meta)
        .map_err(|e| Error::invalid(format!("write {}: {e}", path.display())))?;
    atomic_write(path, &bytes)
}

#[cfg(test)]
mod tests;
