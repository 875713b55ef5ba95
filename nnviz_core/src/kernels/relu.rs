//! ReLU and its gradient in one pass each (see [`super::relu`]).
//!
//! candle's own ReLU backward builds `zeros_like`, a `ge` mask, its `f32` copy and a product —
//! four passes and four buffers — and it passes the gradient where the input is exactly 0
//! (`x ≥ 0`). Here the gradient is `g · [x > 0]`, PyTorch's and TensorFlow's convention, in one
//! pass.

use std::mem::MaybeUninit;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{cpu_f32, op_err};

const RELU: &str = "nnviz-relu";
const RELU_GRAD: &str = "nnviz-relu-grad";

/// Elements per parallel chunk.
const CHUNK: usize = 1 << 14;

/// A vector of `len` elements written by `f(chunk, start)` for every chunk of up to [`CHUNK`]
/// elements (`start` its first index), in parallel, without zeroing it first: an elementwise
/// pass over a 10 MB activation spent a third of its time in the `memset` of `vec![0.0; len]`.
/// `f` must write every element of its chunk.
fn fill(len: usize, f: impl Fn(&mut [MaybeUninit<f32>], usize) + Sync) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    out.spare_capacity_mut()[..len]
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(i, chunk)| f(chunk, i * CHUNK));
    // SAFETY: `out` has capacity `len`, and every one of the first `len` elements was written
    // by `f`, which writes each element of the chunk it is given (its two callers here zip the
    // chunk with input slices at least as long as the remaining elements, so none is skipped).
    unsafe { out.set_len(len) };
    out
}

/// `max(x, 0)`, with NaN mapped to 0 as candle's `relu` does.
pub(super) struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        RELU
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = cpu_f32(RELU, "input", s, l)?;
        let y = fill(x.len(), |y, start| {
            for (o, &v) in y.iter_mut().zip(&x[start..]) {
                o.write(if v > 0.0 { v } else { 0.0 });
            }
        });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        if !arg.track_op() {
            return Ok(None);
        }
        // y > 0 exactly where x > 0.
        Ok(Some(
            grad.contiguous()?.apply_op2(&res.contiguous()?, ReluGrad)?,
        ))
    }
}

/// `(g, y) → g · [y > 0]` (`y` the ReLU's input or output: both are positive at the same
/// cells). Not differentiable.
pub(super) struct ReluGrad;

impl CustomOp2 for ReluGrad {
    fn name(&self) -> &'static str {
        RELU_GRAD
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        if l1.dims() != l2.dims() {
            return Err(op_err(format!(
                "{RELU_GRAD}: the gradient {:?} and the output {:?} differ in shape",
                l1.dims(),
                l2.dims()
            )));
        }
        let g = cpu_f32(RELU_GRAD, "gradient", s1, l1)?;
        let y = cpu_f32(RELU_GRAD, "output", s2, l2)?;
        let dx = fill(g.len(), |dx, start| {
            for ((o, &g), &y) in dx.iter_mut().zip(&g[start..]).zip(&y[start..]) {
                o.write(if y > 0.0 { g } else { 0.0 });
            }
        });
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}
