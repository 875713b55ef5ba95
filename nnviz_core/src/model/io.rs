//! Self-describing model files: safetensors with PyTorch names and layouts, and the
//! architecture as JSON in the file's metadata, so the file alone rebuilds the network.
//!
//! Metadata keys:
//! * `nnviz.format` = `"nnviz-network/1"`
//! * `nnviz.architecture` = the [`NetworkSpec`] as JSON, e.g.
//!   `{"name":"A","input":[1,28,28],"layers":[{"name":"flatten","kind":"flatten"},
//!   {"name":"fc1","kind":"linear","in_features":784,"out_features":512,"bias":true}, …]}`
//! * optionally `nnviz.training` (the training configuration, JSON) and `nnviz.test_accuracy`.
//!
//! Tensors: `"<layer>.weight"` (`[out, in]` for linear, `[out, in, kh, kw]` for conv2d) and
//! `"<layer>.bias"`, f32, as PyTorch's `state_dict()` names them.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device};
use safetensors::SafeTensors;

use super::network::{Network, NetworkSpec};
use crate::{data::atomic_write, Error, Result};

/// Metadata key of the format marker.
pub const FORMAT_KEY: &str = "nnviz.format";
/// Format marker value.
pub const FORMAT: &str = "nnviz-network/1";
/// Metadata key of the architecture JSON.
pub const ARCHITECTURE_KEY: &str = "nnviz.architecture";
/// Metadata key of the training configuration JSON.
pub const TRAINING_KEY: &str = "nnviz.training";
/// Metadata key of the test accuracy.
pub const ACCURACY_KEY: &str = "nnviz.test_accuracy";

/// A loaded model file: the network and every metadata entry.
#[derive(Debug, Clone)]
pub struct ModelFile {
    pub network: Network,
    pub metadata: HashMap<String, String>,
}

impl ModelFile {
    /// The stored test accuracy, if any.
    pub fn test_accuracy(&self) -> Option<f32> {
        self.metadata.get(ACCURACY_KEY).and_then(|s| s.parse().ok())
    }
}

fn bad(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::bad_file(path, format!("not a valid nnviz model file: {what}"))
}

/// Reads only the metadata of a model file.
pub fn read_metadata(path: &Path) -> Result<HashMap<String, String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read model file", path, e))?;
    metadata_of(&bytes, path)
}

pub(crate) fn metadata_of(bytes: &[u8], path: &Path) -> Result<HashMap<String, String>> {
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(path, e))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// Loads a model file onto `device`, rebuilding the network from its metadata.
pub fn load_file(path: impl AsRef<Path>, device: &Device) -> Result<ModelFile> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io("read model file", path, e))?;
    parse_model(&bytes, path, device)
}

/// Rebuilds a model file from its bytes (what [`load_file`] does after reading the file); `path`
/// only names the file in errors.
pub fn parse_model(bytes: &[u8], path: &Path, device: &Device) -> Result<ModelFile> {
    let metadata = metadata_of(bytes, path)?;
    if metadata.get(FORMAT_KEY).map(String::as_str) != Some(FORMAT) {
        return Err(bad(
            path,
            format!("metadata {FORMAT_KEY:?} is not {FORMAT:?}"),
        ));
    }
    let arch = metadata
        .get(ARCHITECTURE_KEY)
        .ok_or_else(|| bad(path, format!("no {ARCHITECTURE_KEY:?} in the metadata")))?;
    let spec: NetworkSpec =
        serde_json::from_str(arch).map_err(|e| bad(path, format!("architecture JSON: {e}")))?;
    let tensors = candle_core::safetensors::load_buffer(bytes, device).map_err(|e| bad(path, e))?;
    let mut params = HashMap::new();
    for (name, t) in tensors {
        let t = if t.dtype() == DType::F32 {
            t
        } else {
            t.to_dtype(DType::F32)?
        };
        params.insert(name, t);
    }
    let network =
        Network::from_parts(&spec, params).map_err(|e| Error::bad_file(path, e.to_string()))?;
    Ok(ModelFile { network, metadata })
}

impl Network {
    /// Saves the network (atomically: temp file, then rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_with(path, &HashMap::new())
    }

    /// Saves the network with extra metadata entries (e.g. [`TRAINING_KEY`], [`ACCURACY_KEY`]).
    pub fn save_with(&self, path: impl AsRef<Path>, extra: &HashMap<String, String>) -> Result<()> {
        let path = path.as_ref();
        let spec = self.spec()?;
        let mut meta = extra.clone();
        meta.insert(FORMAT_KEY.into(), FORMAT.into());
        meta.insert(
            ARCHITECTURE_KEY.into(),
            serde_json::to_string(&spec)
                .map_err(|e| Error::invalid(format!("save: architecture JSON: {e}")))?,
        );
        let params: Vec<(String, candle_core::Tensor)> = self
            .parameters()
            .into_iter()
            .map(|(n, t)| Ok((n, t.to_device(&Device::Cpu)?.contiguous()?)))
            .collect::<Result<_>>()?;
        let bytes = safetensors::serialize(params.iter().map(|(n, t)| (n.as_str(), t)), Some(meta))
            .map_err(|e| Error::invalid(format!("save {}: {e}", path.display())))?;
        atomic_write(path, &bytes)
    }

    /// Loads a model file onto the CPU.
    pub fn load(path: impl AsRef<Path>) -> Result<Network> {
        Ok(load_file(path, &Device::Cpu)?.network)
    }
}
