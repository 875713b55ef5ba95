//! Bilinear resizing of class activation maps to the input's size, with a documented corner
//! convention (see the parent module's docs).

use candle_core::{DType, Device, Tensor};

use crate::{bail, Result};

/// Where bilinear upsampling places the source grid on the output grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Corners {
    /// Output pixel `i` samples source coordinate `i·(h−1)/(H−1)`: first and last pixels of
    /// both grids coincide (TensorFlow `align_corners=True`, the original's choice).
    #[default]
    Aligned,
    /// Pixels are areas: output pixel `i` samples `(i+½)·h/H − ½`, clamped to `[0, h−1]`
    /// (PyTorch `align_corners=False`, OpenCV `resize`, pytorch-grad-cam).
    HalfPixel,
}

/// The `[n_out, n_in]` matrix of 1-D linear interpolation weights (each row sums to 1).
fn interpolation_matrix(
    n_in: usize,
    n_out: usize,
    corners: Corners,
    device: &Device,
    dtype: DType,
) -> Result<Tensor> {
    let mut r = vec![0f32; n_out * n_in];
    let last = (n_in - 1) as f64;
    for (i, row) in r.chunks_exact_mut(n_in).enumerate() {
        let pos = match corners {
            Corners::Aligned if n_out > 1 => i as f64 * last / (n_out - 1) as f64,
            Corners::Aligned => 0.0,
            Corners::HalfPixel => {
                ((i as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5).clamp(0.0, last)
            }
        };
        let i0 = (pos.floor() as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        let t = (pos - i0 as f64) as f32;
        row[i0] += 1.0 - t;
        row[i1] += t;
    }
    Ok(Tensor::from_vec(r, (n_out, n_in), device)?.to_dtype(dtype)?)
}

/// Bilinear upsampling (or downsampling) of `[N, C, h, w]` maps to `[N, C, H, W]`,
/// `(H, W) = size`, with the corner convention `corners`.
///
/// Separable form `L' = R_y · L · R_xᵀ` with the interpolation matrices `R_y` (`H × h`) and
/// `R_x` (`W × w`): device-generic and differentiable.
pub fn upsample_bilinear(map: &Tensor, size: (usize, usize), corners: Corners) -> Result<Tensor> {
    let (n, c, h, w) = map.dims4()?;
    let (oh, ow) = size;
    if h == 0 || w == 0 || oh == 0 || ow == 0 {
        bail!("upsample_bilinear: cannot resize a {h}×{w} map to {oh}×{ow}");
    }
    let ry = interpolation_matrix(h, oh, corners, map.device(), map.dtype())?;
    let rxt = interpolation_matrix(w, ow, corners, map.device(), map.dtype())?
        .t()?
        .contiguous()?;
    let m = map.contiguous()?.reshape((n * c, h, w))?;
    let y = ry.broadcast_matmul(&m)?.broadcast_matmul(&rxt)?;
    Ok(y.reshape((n, c, oh, ow))?)
}
