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

/// `max(x, 0)`, with NaN mapped to 0 as candle's `relu` does.
pub(super) struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        RELU
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = cpu_f32(RELU, "input", s, l)?;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(y, x)| {
                for (o, &v) in y.iter_mut().zip(x) {
                    *o = if v > 0.0 { v } else { 0.0 };
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
        let mut dx = vec![0f32; g.len()];
        dx.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
            .for_each(|(dx, (g, y))| {
                for ((o, &g), &y) in dx.iter_mut().zip(g).zip(y) {
                    *o = if y > 0.0 { g } else { 0.0 };
                }
            });
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}
