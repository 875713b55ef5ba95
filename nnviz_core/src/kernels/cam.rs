//! The per-channel weights of Grad-CAM and Grad-CAM++ and the weighted channel sums of a class
//! activation map (per channel, and per location for HiResCAM and LayerCAM), each in one pass
//! over the feature maps (see [`super::cam_weights`], [`super::weighted_channel_sum`] and
//! [`super::location_weighted_sum`]). Through candle's operations Grad-CAM++'s weights take a
//! dozen single-threaded passes over `[N, K, h, w]`, which cost as much as the backward pass
//! itself on the reference CNN.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape};
use rayon::prelude::*;

use super::{cpu_f32, op_err};

const WEIGHTS: &str = "nnviz-cam-weights";
const SUM: &str = "nnviz-weighted-channel-sum";
const LOCATION_SUM: &str = "nnviz-location-weighted-sum";

/// How the channel weights `w_k` come from activations `a` and gradients `g` of one map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CamWeighting {
    /// Grad-CAM: `w_k = (1/Z) Σ_ij g_k(i,j)`.
    GradCam,
    /// Grad-CAM++, stabilised: `w_k = Σ_ij [g > 0, d > 0] g / d` with `d = 2 + S_k g`,
    /// `S_k = Σ_ab a_k(a,b)` (the module docs of `methods::cam`).
    GradCamPlusPlus,
}

/// `(a[N, K, h, w], g[N, K, h, w]) → w[N, K]`. Not differentiable.
pub(super) struct CamWeights(pub CamWeighting);

/// `(n·k, h·w)` of two `[N, K, h, w]` layouts of one shape.
fn planes(op: &str, l1: &Layout, l2: &Layout) -> candle_core::Result<(usize, usize, usize)> {
    let d = l1.dims();
    if d.len() != 4 || l2.dims() != d {
        return Err(op_err(format!(
            "{op}: activations {:?} and gradients {:?} must both be [N, K, h, w]",
            d,
            l2.dims()
        )));
    }
    Ok((d[0], d[1], d[2] * d[3]))
}

impl CustomOp2 for CamWeights {
    fn name(&self) -> &'static str {
        WEIGHTS
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, k, p) = planes(WEIGHTS, l1, l2)?;
        let a = cpu_f32(WEIGHTS, "activations", s1, l1)?;
        let g = cpu_f32(WEIGHTS, "gradients", s2, l2)?;
        let mut w = vec![0f32; n * k];
        if p > 0 {
            let mode = self.0;
            w.par_iter_mut()
                .zip(a.par_chunks(p).zip(g.par_chunks(p)))
                .for_each(|(w, (a, g))| {
                    *w = match mode {
                        CamWeighting::GradCam => g.iter().sum::<f32>() / p as f32,
                        CamWeighting::GradCamPlusPlus => {
                            let s: f32 = a.iter().sum();
                            g.iter()
                                .map(|&g| {
                                    let d = 2.0 + s * g;
                                    if g > 0.0 && d > 0.0 {
                                        g / d
                                    } else {
                                        0.0
                                    }
                                })
                                .sum()
                        }
                    };
                });
        }
        Ok((CpuStorage::F32(w), Shape::from((n, k))))
    }
}

/// `(a[N, K, h, w], w[N, K]) → m[N, 1, h, w]`, `m_n = Σ_k w_nk a_nk`. Not differentiable.
pub(super) struct WeightedChannelSum;

impl CustomOp2 for WeightedChannelSum {
    fn name(&self) -> &'static str {
        SUM
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = l1.dims();
        if d.len() != 4 || l2.dims() != [d[0], d[1]] {
            return Err(op_err(format!(
                "{SUM}: activations {:?} must be [N, K, h, w] and weights {:?} [N, K]",
                d,
                l2.dims()
            )));
        }
        let (n, k, h, wd) = (d[0], d[1], d[2], d[3]);
        let p = h * wd;
        let a = cpu_f32(SUM, "activations", s1, l1)?;
        let w = cpu_f32(SUM, "weights", s2, l2)?;
        let mut m = vec![0f32; n * p];
        if p > 0 && k > 0 {
            m.par_chunks_mut(p)
                .zip(a.par_chunks(k * p).zip(w.par_chunks(k)))
                .for_each(|(m, (a, w))| {
                    for (plane, &wk) in a.chunks(p).zip(w) {
                        for (o, &v) in m.iter_mut().zip(plane) {
                            *o += wk * v;
                        }
                    }
                });
        }
        Ok((CpuStorage::F32(m), Shape::from((n, 1, h, wd))))
    }
}

/// `(a[N, K, h, w], w[N, K, h, w]) → m[N, 1, h, w]`, `m_n = Σ_k w_nk ⊙ a_nk`. Not differentiable.
pub(super) struct LocationWeightedSum;

impl CustomOp2 for LocationWeightedSum {
    fn name(&self) -> &'static str {
        LOCATION_SUM
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, k, p) = planes(LOCATION_SUM, l1, l2)?;
        let d = l1.dims();
        let a = cpu_f32(LOCATION_SUM, "activations", s1, l1)?;
        let w = cpu_f32(LOCATION_SUM, "weights", s2, l2)?;
        let mut m = vec![0f32; n * p];
        if p > 0 && k > 0 {
            m.par_chunks_mut(p)
                .zip(a.par_chunks(k * p).zip(w.par_chunks(k * p)))
                .for_each(|(m, (a, w))| {
                    for (plane, weights) in a.chunks(p).zip(w.chunks(p)) {
                        for ((o, &v), &wv) in m.iter_mut().zip(plane).zip(weights) {
                            *o += wv * v;
                        }
                    }
                });
        }
        Ok((CpuStorage::F32(m), Shape::from((n, 1, d[2], d[3]))))
    }
}
