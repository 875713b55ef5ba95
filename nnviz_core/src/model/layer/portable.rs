//! The device-generic layer implementations: candle's own operations only, so they run on any
//! device and dtype. The layer functions of [`super`] use them wherever the fast CPU kernels of
//! [`crate::kernels`] do not apply — on a GPU, for other dtypes, or with the kernels switched off
//! ([`crate::kernels::Switches::OFF`]) — and `tests/kernels.rs` checks them against the same
//! direct loops as the kernels, forward and backward, so the GPU computes what the CPU computes.
//!
//! They deliberately avoid three of candle 0.11.1's backward passes, which are wrong or missing:
//!
//! - **Max-pooling** backward multiplies the gradient by the window mean of the winner mask
//!   (`1/k²` for a single winner, a share for each tied cell). Here each window's gradient goes
//!   to its *first* maximal cell in row-major order, as the CPU kernel and PyTorch route it.
//!   Ties are common — a blank background makes whole windows equal — so sharing them would make
//!   the GPU disagree with the CPU (a first run on an H200 found gradients 77 % apart).
//! - **Pooling backward** needs `kernel == stride` and, for a VALID window that leaves trailing
//!   rows or columns unread, spreads the gradient by nearest-neighbour upsampling over the whole
//!   input (so cells get the gradient of the wrong window). Here pooling reads its windows
//!   explicitly (reshapes when the windows tile the input, `index_select` otherwise), so any
//!   kernel and stride differentiates exactly.
//! - **Convolution** backward returns an input gradient of the wrong size when the convolution
//!   is padded and its stride leaves trailing rows or columns that no window reads (3×3, stride
//!   3, padding 1 on a width of 9: a gradient 7 wide). Here those cells are cropped before the
//!   convolution (they get a zero gradient, as they should).

use candle_core::{Tensor, D};

use super::{window_geometry, Padding};
use crate::Result;

/// `max(x, 0)` with the gradient `g · [x > 0]`: `where(x > 0, x, 0)`.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    Ok(x.gt(0.0)?.where_cond(x, &x.zeros_like()?)?)
}

/// `g ⊙ 1[a > 0]`, the gradient of [`relu`] at `a` for the output gradient `g`.
pub fn relu_grad(g: &Tensor, a: &Tensor) -> Result<Tensor> {
    Ok((g * a.gt(0.0)?.to_dtype(g.dtype())?)?)
}

/// 2-D cross-correlation of `x[N, C, H, W]` with `w[O, C, kh, kw]` plus an optional bias `b[O]`,
/// with TensorFlow-style (possibly asymmetric) padding.
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: Padding,
) -> Result<Tensor> {
    let (_, _, kh, kw) = w.dims4()?;
    let (_, _, h, wd) = x.dims4()?;
    let (top, bottom, left, right, oh, ow) = window_geometry(x, [kh, kw], stride, padding)?;
    // The rows and columns of the padded input that some window reads.
    let (hp, wp) = ((oh - 1) * stride + kh, (ow - 1) * stride + kw);
    let trailing = h + top + bottom > hp || wd + left + right > wp;
    let y = if !trailing && top == bottom && left == right && top == left {
        x.conv2d(w, top, stride, 1, 1)?
    } else {
        x.pad_with_zeros(2, top, bottom)?
            .pad_with_zeros(3, left, right)?
            .narrow(2, 0, hp)?
            .narrow(3, 0, wp)?
            .conv2d(w, 0, stride, 1, 1)?
    };
    Ok(match b {
        Some(b) => y.broadcast_add(&b.reshape((1, (), 1, 1))?)?,
        None => y,
    })
}

/// Max-pooling; padded cells never win. Each window's gradient goes to its first maximal cell
/// (row-major), held as a constant one-hot mask `m`: `y = Σ_window x ⊙ m`, so `∂y/∂x = m`.
pub fn max_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: Padding) -> Result<Tensor> {
    let (top, bottom, left, right, oh, ow) = window_geometry(x, [kernel, kernel], stride, padding)?;
    let pad = [top, bottom, left, right];
    // The winners, from the input padded with −∞ (padding never wins) and without a graph.
    let scores = windows(
        &pad_const(&x.detach(), pad, f32::NEG_INFINITY)?,
        kernel,
        stride,
        (oh, ow),
    )?;
    let best = scores.max_keepdim(D::Minus1)?;
    let winners = scores.broadcast_eq(&best)?.to_dtype(x.dtype())?;
    // Of a window's winners keep the first: the one where the running count of winners is 1.
    let first = (&winners * winners.cumsum(D::Minus1)?.eq(1.0)?.to_dtype(x.dtype())?)?;
    // The values, from the input padded with 0 (−∞ × 0 would be NaN).
    let values = windows(&pad_const(x, pad, 0.0)?, kernel, stride, (oh, ow))?;
    let y = (values * first)?.sum(D::Minus1)?;
    if pad.iter().all(|&p| p < kernel) {
        return Ok(y);
    }
    // Padding at least as wide as the window: a window may hold padding only, and yields −∞.
    let best = best.squeeze(D::Minus1)?;
    Ok(best.eq(f64::NEG_INFINITY)?.where_cond(&best, &y)?)
}

/// Average pooling over the valid (unpadded) cells of each window, as TensorFlow's `SAME`.
pub fn avg_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: Padding) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let (top, bottom, left, right, oh, ow) = window_geometry(x, [kernel, kernel], stride, padding)?;
    let values = windows(
        &pad_const(x, [top, bottom, left, right], 0.0)?,
        kernel,
        stride,
        (oh, ow),
    )?;
    // 1 / (number of valid cells) of each window.
    let count = |o: usize, before: usize, n: usize| -> usize {
        let start = (o * stride) as isize - before as isize;
        let lo = start.max(0) as usize;
        let hi = ((start + kernel as isize).max(0) as usize).min(n);
        hi.saturating_sub(lo)
    };
    let mut scale = Vec::with_capacity(oh * ow);
    for i in 0..oh {
        for j in 0..ow {
            let valid = count(i, top, h) * count(j, left, w);
            scale.push(1.0 / valid.max(1) as f32);
        }
    }
    let scale = Tensor::from_vec(scale, (1, 1, oh, ow), x.device())?.to_dtype(x.dtype())?;
    Ok(values.sum(D::Minus1)?.broadcast_mul(&scale)?)
}

/// The `k × k` windows with stride `s` of a padded `[N, C, H, W]` input, as
/// `[N, C, OH, OW, k·k]` with each window in row-major order. Differentiable: reshapes when the
/// windows tile the input (`k = s`), one `index_select` per window offset otherwise.
fn windows(xp: &Tensor, k: usize, s: usize, (oh, ow): (usize, usize)) -> Result<Tensor> {
    let (n, c, _, _) = xp.dims4()?;
    if k == s {
        // Rows and columns past the last window (VALID) are never read.
        return Ok(xp
            .narrow(2, 0, oh * k)?
            .narrow(3, 0, ow * k)?
            .reshape((n, c, oh, k, ow, k))?
            .permute((0, 1, 2, 4, 3, 5))?
            .reshape((n, c, oh, ow, k * k))?);
    }
    let index = |count: usize, offset: usize| {
        let v: Vec<u32> = (0..count).map(|i| (i * s + offset) as u32).collect();
        Tensor::from_vec(v, count, xp.device())
    };
    let mut parts = Vec::with_capacity(k * k);
    for ki in 0..k {
        let rows = xp.index_select(&index(oh, ki)?, 2)?;
        for kj in 0..k {
            parts.push(rows.index_select(&index(ow, kj)?, 3)?.unsqueeze(4)?);
        }
    }
    Ok(Tensor::cat(&parts, 4)?)
}

/// Pads the two spatial axes (`[top, bottom, left, right]` cells) with the constant `v`.
fn pad_const(x: &Tensor, [top, bottom, left, right]: [usize; 4], v: f32) -> Result<Tensor> {
    let mut x = x.clone();
    for (dim, before, after) in [(2, top, bottom), (3, left, right)] {
        if before + after == 0 {
            continue;
        }
        let mut parts = Vec::with_capacity(3);
        let mut shape = x.dims().to_vec();
        if before > 0 {
            shape[dim] = before;
            parts.push(Tensor::full(v, shape.as_slice(), x.device())?.to_dtype(x.dtype())?);
        }
        parts.push(x.clone());
        if after > 0 {
            shape[dim] = after;
            parts.push(Tensor::full(v, shape.as_slice(), x.device())?.to_dtype(x.dtype())?);
        }
        x = Tensor::cat(&parts, dim)?;
    }
    Ok(x)
}
