//! Adding a per-channel bias to an NCHW tensor, and its gradient (see [`super::add_channel_bias`]).
//!
//! candle's `broadcast_add` of a `[1, C, 1, 1]` bias is fine forwards, but its backward sums the
//! gradient over axes 0, 2 and 3 with a strided reduction that cost more than the convolution's
//! kernel gradient (model D1: 45 ms of a 130 ms training step). Here the bias gradient is a sum
//! over contiguous planes.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{cpu_f32, dims4, op_err};

const ADD: &str = "nnviz-channel-bias";
const SUM: &str = "nnviz-channel-sum";

/// `y[N, C, H, W] + b[C]` broadcast over the batch and the plane.
pub(super) struct ChannelBias;

impl CustomOp2 for ChannelBias {
    fn name(&self) -> &'static str {
        ADD
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let [n, c, h, w] = dims4(ADD, "input", l1)?;
        if l2.dims() != [c] {
            return Err(op_err(format!(
                "{ADD}: the bias must have shape [{c}] for the input {:?}, got {:?}",
                l1.dims(),
                l2.dims()
            )));
        }
        let y = cpu_f32(ADD, "input", s1, l1)?;
        let b = cpu_f32(ADD, "bias", s2, l2)?;
        let hw = h * w;
        let mut out = y.to_vec();
        if hw > 0 && n * c > 0 {
            out.par_chunks_mut(hw).enumerate().for_each(|(plane, p)| {
                let bc = b[plane % c];
                p.iter_mut().for_each(|v| *v += bc);
            });
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let d_input = arg1.track_op().then(|| grad.clone());
        let d_bias = if arg2.track_op() {
            Some(grad.contiguous()?.apply_op1(ChannelSum)?)
        } else {
            None
        };
        Ok((d_input, d_bias))
    }
}

/// `g[N, C, H, W] → [C]`: the sum of each channel over the batch and the plane, accumulated in
/// `f64` in a fixed order (independent of the thread count). Not differentiable.
pub(super) struct ChannelSum;

impl CustomOp1 for ChannelSum {
    fn name(&self) -> &'static str {
        SUM
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let [n, c, h, w] = dims4(SUM, "gradient", l)?;
        let g = cpu_f32(SUM, "gradient", s, l)?;
        let hw = h * w;
        let plane_sums: Vec<f64> = if hw == 0 {
            vec![0.0; n * c]
        } else {
            g.par_chunks(hw)
                .map(|p| p.iter().map(|&v| v as f64).sum::<f64>())
                .collect()
        };
        let mut sums = vec![0f64; c];
        for (plane, s) in plane_sums.iter().enumerate() {
            sums[plane % c] += s;
        }
        let out: Vec<f32> = sums.into_iter().map(|v| v as f32).collect();
        Ok((CpuStorage::F32(out), Shape::from(c)))
    }
}
