//! The cluttered-MNIST cache file: magic `NNVIZCLT`, format version (u32 LE), JSON config
//! length (u32 LE) and JSON config, then the train, validation and test splits' image bytes
//! and label bytes, then a SHA-256 of everything before it.
//!
//! A file is only used when all of that checks out and its config equals the requested one,
//! so a stale, truncated or corrupted cache can never stand in for the real data set.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{ClutteredConfig, Split};
use crate::data::{atomic_write, Dataset};
use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"NNVIZCLT";
const VERSION: u32 = 1;
/// Bytes before the JSON config: magic, version, JSON length.
const HEADER: usize = 16;

impl ClutteredConfig {
    pub(super) fn cache_path_in(&self, data_dir: &Path) -> PathBuf {
        let c = self;
        data_dir.join("cluttered").join(format!(
            "cluttered-seed{}-n{}-{}-{}-size{}-d{}-p{}.bin",
            c.seed, c.n_train, c.n_valid, c.n_test, c.size, c.distortions, c.patch
        ))
    }

    pub(super) fn load_or_generate_in(
        &self,
        data_dir: &Path,
        mnist: impl FnOnce() -> Result<Dataset>,
    ) -> Result<(Dataset, CacheStatus)> {
        self.validate()?;
        let path = self.cache_path_in(data_dir);
        let status = match std::fs::read(&path) {
            Ok(bytes) => match self.decode(&bytes) {
                Ok(splits) => return Ok((self.to_dataset(splits)?, CacheStatus::Loaded)),
                Err(reason) => CacheStatus::Regenerated(reason),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CacheStatus::Generated,
            Err(e) => CacheStatus::Regenerated(format!("unreadable: {e}")),
        };
        if let CacheStatus::Regenerated(reason) = &status {
            eprintln!(
                "nnviz: ignoring cache {}: {reason}; regenerating",
                path.display()
            );
        }
        let splits = self.generate_splits(&mnist()?)?;
        if let Err(e) = atomic_write(&path, &self.encode(&splits)?) {
            eprintln!("nnviz: could not cache cluttered MNIST: {e}");
        }
        Ok((self.to_dataset(splits)?, status))
    }

    /// Total cache file length for a JSON config of `json_len` bytes (`None` on overflow).
    pub(super) fn cache_len(&self, json_len: usize) -> Option<usize> {
        let per_image = self.size.checked_mul(self.size)?.checked_add(1)?;
        let n = self
            .n_train
            .checked_add(self.n_valid)?
            .checked_add(self.n_test)?;
        n.checked_mul(per_image)?
            .checked_add(HEADER + json_len + 32)
    }

    pub(super) fn encode(&self, splits: &[Split; 3]) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(self)
            .map_err(|e| Error::invalid(format!("cluttered MNIST config: {e}")))?;
        let mut out = Vec::with_capacity(self.cache_len(json.len()).unwrap_or(0));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for split in splits {
            out.extend_from_slice(&split.images);
            out.extend_from_slice(&split.labels);
        }
        let hash = Sha256::digest(&out);
        out.extend_from_slice(&hash);
        Ok(out)
    }

    /// The splits stored in a cache file, or why the file is not a valid cache for `self`.
    pub(super) fn decode(&self, bytes: &[u8]) -> std::result::Result<[Split; 3], String> {
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err("bad magic: not an nnviz cluttered-MNIST cache".to_string());
        }
        let word =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        if word(8) != VERSION {
            return Err(format!(
                "cache format version {}, expected {VERSION}",
                word(8)
            ));
        }
        let json_len = word(12) as usize;
        let json = bytes
            .get(HEADER..HEADER + json_len)
            .ok_or("truncated header")?;
        let config: ClutteredConfig =
            serde_json::from_slice(json).map_err(|e| format!("bad config: {e}"))?;
        if &config != self {
            return Err(format!("made for a different configuration {config:?}"));
        }
        let expected = self.cache_len(json_len).ok_or("impossible size")?;
        if bytes.len() != expected {
            return Err(format!(
                "truncated or oversized: expected {expected} bytes, found {}",
                bytes.len()
            ));
        }
        let (body, hash) = bytes.split_at(expected - 32);
        if Sha256::digest(body).as_slice() != hash {
            return Err("SHA-256 mismatch: the file is corrupt".to_string());
        }
        let mut rest = &body[HEADER + json_len..];
        let mut take = |len: usize| {
            let (head, tail) = rest.split_at(len);
            rest = tail;
            head.to_vec()
        };
        let pixels = self.size * self.size;
        let splits = [self.n_train, self.n_valid, self.n_test].map(|n| Split {
            images: take(n * pixels),
            labels: take(n),
        });
        if splits.iter().any(|s| s.labels.iter().any(|&l| l >= 10)) {
            return Err("a label is not a digit 0-9".to_string());
        }
        Ok(splits)
    }
}

/// What [`ClutteredConfig::load_or_generate_in`] did with the cache.
#[derive(Debug, PartialEq)]
pub(super) enum CacheStatus {
    Loaded,
    Generated,
    Regenerated(String),
}
