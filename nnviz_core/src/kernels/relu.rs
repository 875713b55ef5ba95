//! ReLU and its gradient in one pass each (see [`super::relu`]).
//!
//! candle's own ReLU backward builds `zeros_like`, a `ge` mask, its `f32` copy and a product —
//! four passes and four buffers — and it passes the gradient where the input is exactly 0
//! (`x ≥ 0`). Here the gradient is `g · [x > 0]`, PyTorch's and TensorFlow's convention, in one
//! pass.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{cpu_f32, op_err};

const RELU: &str = "nnviz-relu";
const RELU_GRAD: &str = "nnviz-relu-grad";

/// Elements per parallel chunk.
const CHUNK: usize = 1 << 14;

/// `op(a[i], b[i])` for every `i` of two slices of one length, in parallel, written straight
/// into a fresh vector instead of zeroing it first: an elementwise pass over a 10 MB activation
/// spent a third of its time in the `memset` of `vec![0.0; len]`.
fn map2(a: &[f32], b: &[f32], op: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    let len = a.len().min(b.len());
    let mut out = Vec::with_capacity(len);
    out.spare_capacity_mut()[..len]
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(i, chunk)| {
            let s = i * CHUNK..i * CHUNK + chunk.len();
            for ((o, &a), &b) in chunk.iter_mut().zip(&a[s.clone()]).zip(&b[s]) {
                o.write(op(a, b));
            }
        });
    // SAFETY: `out` has capacity `len`, and each chunk of its first `len` elements was zipped
    // with input slices of exactly the chunk's length (the slicing panics otherwise), so every
    // element was written.
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
        // (the second input is unused: one helper serves both passes)
        let y = map2(x, x, |v, _| if v > 0.0 { v } else { 0.0 });
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
        let dx = map2(g, y, |g, y| if y > 0.0 { g } else { 0.0 });
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}
