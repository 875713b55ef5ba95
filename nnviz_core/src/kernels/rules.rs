//! The elementwise steps of the relevance rules, each in one pass (see [`super::lrp_ratio`],
//! [`super::rescale_relu`] and [`super::rescale_select`]), and the product that applies
//! training's dropout masks ([`super::mul`]).
//!
//! Written with candle's operations, LRP's stabilised ratio `r ⊘ (z + ε·sign(z))` is seven full
//! passes over the layer (a comparison, a dtype cast, three affine maps, an addition, a division)
//! and DeepLIFT's rescale multiplier at a ReLU ten, each allocating its result. Here each is one
//! pass with the same `f32` operations in the same order, so the results are the same bit for bit
//! (`tests/kernels.rs` checks it against the candle versions, which other devices keep using).

use candle_core::{Device, Storage, Tensor};
use rayon::prelude::*;

use super::cpu_f32;
use crate::{bail, Result};

/// Elements per parallel chunk.
const CHUNK: usize = 1 << 14;

/// One elementwise operation of `N` inputs: `out[i]` from `ins[k][i]` (every slice one length).
pub(super) trait Elementwise<const N: usize>: Sync {
    fn run(&self, out: &mut [f32], ins: [&[f32]; N]);
}

/// Runs `op` on one chunk compiled for the CPU's vector instructions (pulp's run-time dispatch).
struct Dispatch<'a, K, const N: usize> {
    op: &'a K,
    out: &'a mut [f32],
    ins: [&'a [f32]; N],
}

impl<K: Elementwise<N>, const N: usize> pulp::WithSimd for Dispatch<'_, K, N> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        self.op.run(self.out, self.ins)
    }
}

/// `op` over the `N` tensors `ts` (of one shape, `f32` on the CPU; `names` for the errors): a new
/// tensor of their shape.
pub(super) fn map<K: Elementwise<N>, const N: usize>(
    name: &str,
    names: [&str; N],
    ts: [&Tensor; N],
    op: &K,
) -> Result<Tensor> {
    let shape = ts[0].shape().clone();
    for (what, t) in names.iter().zip(&ts) {
        if t.shape() != &shape {
            bail!(
                "{name}: the {what} {:?} and the {} {:?} differ in shape",
                t.dims(),
                names[0],
                shape.dims()
            );
        }
    }
    super::check_supported(name, &std::array::from_fn::<_, N, _>(|k| (names[k], ts[k])))?;
    let ts: Vec<Tensor> = ts
        .iter()
        .map(|t| t.contiguous())
        .collect::<candle_core::Result<_>>()?;
    let guards: Vec<_> = ts.iter().map(|t| t.storage_and_layout()).collect();
    let mut ins: [&[f32]; N] = [&[]; N];
    for (k, (storage, layout)) in guards.iter().enumerate() {
        let Storage::Cpu(s) = &**storage else {
            bail!("{name}: the {} is not on the CPU", names[k]);
        };
        ins[k] = cpu_f32(name, names[k], s, layout)?;
    }
    let mut out = vec![0f32; shape.elem_count()];
    let arch = pulp::Arch::new();
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
        let start = c * CHUNK;
        let ins = ins.map(|s| &s[start..start + out.len()]);
        arch.dispatch(Dispatch { op, out, ins })
    });
    Ok(Tensor::from_vec(out, shape, &Device::Cpu)?)
}

/// `r / (z + ε·sign(z))`, sign(0) = +1, NaN → −1 (candle's `ge(0)`).
pub(super) struct LrpRatio {
    pub(super) eps: f32,
}

impl Elementwise<2> for LrpRatio {
    #[inline(always)]
    fn run(&self, out: &mut [f32], [r, z]: [&[f32]; 2]) {
        let (pos, neg) = (self.eps, -self.eps);
        for ((o, &r), &z) in out.iter_mut().zip(r).zip(z) {
            *o = r / (z + if z >= 0.0 { pos } else { neg });
        }
    }
}

/// DeepLIFT's Rescale multiplier at a ReLU applied to `r`: `r · Δy/Δa` where `|Δa| ≥ tol`, else
/// `r · 1[a > 0]` (`Δa = a − a₀`, `Δy = y − y₀`).
pub(super) struct RescaleRelu {
    pub(super) tol: f32,
}

impl Elementwise<5> for RescaleRelu {
    #[inline(always)]
    fn run(&self, out: &mut [f32], [r, a, a0, y, y0]: [&[f32]; 5]) {
        let n = out.len();
        let (r, a, a0, y, y0) = (&r[..n], &a[..n], &a0[..n], &y[..n], &y0[..n]);
        for i in 0..n {
            let da = a[i] - a0[i];
            let dy = y[i] - y0[i];
            let step = if a[i] > 0.0 { 1.0 } else { 0.0 };
            let m = if da.abs() >= self.tol { dy / da } else { step };
            out[i] = r[i] * m;
        }
    }
}

/// `routed / Δa` where `|Δa| ≥ tol`, else `grad` (`Δa = a − a₀`): DeepLIFT's multiplier at a
/// max-pooling layer's input.
pub(super) struct RescaleSelect {
    pub(super) tol: f32,
}

impl Elementwise<4> for RescaleSelect {
    #[inline(always)]
    fn run(&self, out: &mut [f32], [routed, grad, a, a0]: [&[f32]; 4]) {
        let n = out.len();
        let (routed, grad, a, a0) = (&routed[..n], &grad[..n], &a[..n], &a0[..n]);
        for i in 0..n {
            let da = a[i] - a0[i];
            out[i] = if da.abs() >= self.tol {
                routed[i] / da
            } else {
                grad[i]
            };
        }
    }
}

/// `a · b`.
pub(super) struct Mul;

impl Elementwise<2> for Mul {
    #[inline(always)]
    fn run(&self, out: &mut [f32], [a, b]: [&[f32]; 2]) {
        for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
            *o = a * b;
        }
    }
}
