//! Tensors to 2-D maps of `f32` on the CPU.
//!
//! A single map may be `[H, W]`, `[C, H, W]` or `[1, C, H, W]`, on any device and of any dtype.
//! Several channels are summed for heatmaps (relevance adds up over channels) and averaged for
//! images. A batch ([`TensorBatch`]) is a tensor `[N, H, W]` / `[N, C, H, W]` or a list of
//! single-map tensors.

use candle_core::{DType, Device, Tensor};

use crate::{bail, Result};

/// How several channels become one map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channels {
    /// Sum over channels (heatmaps).
    Sum,
    /// Mean over channels (images).
    Mean,
}

/// A row-major `h × w` map.
#[derive(Clone, PartialEq)]
pub(crate) struct Map {
    pub h: usize,
    pub w: usize,
    pub data: Vec<f32>,
}

impl Map {
    /// Converts one map tensor; `op` names the caller in errors.
    pub fn from_tensor(op: &str, t: &Tensor, ch: Channels) -> Result<Map> {
        let dims = t.dims();
        let (c, h, w) = match *dims {
            [h, w] => (1, h, w),
            [c, h, w] => (c, h, w),
            [1, c, h, w] => (c, h, w),
            _ => bail!("{op}: expected a 2-D map [H,W], [C,H,W] or [1,C,H,W], got {dims:?}"),
        };
        if c == 0 || h == 0 || w == 0 {
            bail!("{op}: the map is empty, shape {dims:?}");
        }
        let flat = t
            .to_device(&Device::Cpu)?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let n = h * w;
        let mut data = flat[..n].to_vec();
        for plane in flat[n..].chunks_exact(n) {
            for (d, v) in data.iter_mut().zip(plane) {
                *d += v;
            }
        }
        if ch == Channels::Mean && c > 1 {
            data.iter_mut().for_each(|d| *d /= c as f32);
        }
        Ok(Map { h, w, data })
    }

    /// The value at row `y`, column `x`.
    pub fn at(&self, y: usize, x: usize) -> f32 {
        self.data[y * self.w + x]
    }
}

/// Short form: a figure that evcxr shows as text must not dump every value.
impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (lo, hi) = self
            .data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        write!(f, "Map {}×{} [{lo}, {hi}]", self.h, self.w)
    }
}

/// Several maps: a batched tensor `[N, H, W]` or `[N, C, H, W]` (split along the first
/// dimension), or a slice, array or `Vec` of single-map tensors.
pub trait TensorBatch {
    /// The individual map tensors.
    fn tensors(&self) -> Result<Vec<Tensor>>;
}

impl TensorBatch for Tensor {
    fn tensors(&self) -> Result<Vec<Tensor>> {
        let dims = self.dims();
        if !matches!(dims.len(), 3 | 4) {
            bail!("batch: expected [N,H,W] or [N,C,H,W] maps, got {dims:?}");
        }
        let cpu = self.to_device(&Device::Cpu)?;
        (0..dims[0]).map(|i| Ok(cpu.get(i)?)).collect()
    }
}

impl TensorBatch for [Tensor] {
    fn tensors(&self) -> Result<Vec<Tensor>> {
        Ok(self.to_vec())
    }
}

impl TensorBatch for Vec<Tensor> {
    fn tensors(&self) -> Result<Vec<Tensor>> {
        Ok(self.clone())
    }
}

impl<const N: usize> TensorBatch for [Tensor; N] {
    fn tensors(&self) -> Result<Vec<Tensor>> {
        Ok(self.to_vec())
    }
}

impl<T: TensorBatch + ?Sized> TensorBatch for &T {
    fn tensors(&self) -> Result<Vec<Tensor>> {
        (**self).tensors()
    }
}

#[cfg(test)]
mod tests;
