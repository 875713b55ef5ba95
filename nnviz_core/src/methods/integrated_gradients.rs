//! Integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic Attribution for Deep
//! Networks").
//!
//! `IG_i(x) = (x_i − x̄_i) ∫₀¹ ∂s/∂x_i (x̄ + α (x − x̄)) dα`, approximated by a quadrature
//! `Σ_j w_j ∂s/∂x (x̄ + α_j (x − x̄))`. *Completeness*: `Σ_i IG_i = s(x) − s(x̄)` exactly for the
//! integral; [`IntegratedGradients::attribute_with_delta`] returns the quadrature's error
//! `δ_n = Σ_i IG_i − (s(x_n) − s(x̄_n))`, which shrinks as `steps` grows (Riemann sums O(1/n) or
//! O(1/n²); Gauss–Legendre much faster on smooth paths — on piecewise-linear ReLU paths all
//! rules converge at the rate of the kinks).
//!
//! The interpolation points of all examples are evaluated together, `batch_size` points per
//! forward/backward pass, so memory stays bounded whatever `steps`.
//!
//! Notebook: `3.4 Integrated Gradients`.

use candle_core::{DType, Tensor};

use crate::attribution::{check_input, Attribution, Target};
use crate::grad::vjp;
use crate::{bail, Network, Result};

/// The reference input `x̄`.
#[derive(Debug, Clone, Default)]
pub enum Baseline {
    /// All zeros (a black image for MNIST).
    #[default]
    Zero,
    /// Every value equal to this constant.
    Constant(f32),
    /// One tensor: `[C, H, W]` or `[1, C, H, W]` broadcast to the batch (e.g. the dataset
    /// mean), or `[N, C, H, W]` per example.
    Tensor(Tensor),
}

impl Baseline {
    /// The baseline for the batch `x`, shaped like it.
    pub fn for_input(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Baseline::Zero => x.zeros_like()?,
            Baseline::Constant(v) => (x.zeros_like()? + *v as f64)?,
            Baseline::Tensor(b) => {
                let b = b.to_device(x.device())?.to_dtype(x.dtype())?;
                let b = if b.rank() + 1 == x.rank() {
                    b.unsqueeze(0)?
                } else {
                    b
                };
                if b.rank() != x.rank()
                    || (b.dim(0)? != 1 && b.dim(0)? != x.dim(0)?)
                    || b.dims()[1..] != x.dims()[1..]
                {
                    bail!(
                        "integrated_gradients: baseline of shape {:?} does not fit input {:?}",
                        b.dims(),
                        x.dims()
                    );
                }
                b.broadcast_as(x.shape())?.contiguous()?
            }
        })
    }
}

/// The quadrature rule on `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quadrature {
    /// `α_j = j/n`, `j = 0..n−1`.
    RiemannLeft,
    /// `α_j = j/n`, `j = 1..n` (the original tutorial's rule).
    RiemannRight,
    /// `α_j = (j + ½)/n`.
    RiemannMiddle,
    /// `α_j = j/(n−1)`, `j = 0..n−1`, end points weighted ½ (weights sum to 1; Captum's
    /// `riemann_trapezoid` weights sum to (n−1)/n).
    RiemannTrapezoid,
    /// `n`-point Gauss–Legendre (Captum's default).
    #[default]
    GaussLegendre,
}

impl Quadrature {
    /// Nodes `α_j ∈ [0, 1]` and weights `w_j` (summing to 1) for `n` points.
    pub fn nodes(&self, n: usize) -> Result<Vec<(f64, f64)>> {
        if n == 0 {
            bail!("integrated_gradients: steps must be at least 1");
        }
        let nf = n as f64;
        Ok(match self {
            Quadrature::RiemannLeft => (0..n).map(|j| (j as f64 / nf, 1.0 / nf)).collect(),
            Quadrature::RiemannRight => (1..=n).map(|j| (j as f64 / nf, 1.0 / nf)).collect(),
            Quadrature::RiemannMiddle => {
                (0..n).map(|j| ((j as f64 + 0.5) / nf, 1.0 / nf)).collect()
            }
            Quadrature::RiemannTrapezoid => {
                if n == 1 {
                    vec![(1.0, 1.0)]
                } else {
                    let h = 1.0 / (nf - 1.0);
                    (0..n)
                        .map(|j| (j as f64 * h, if j == 0 || j == n - 1 { h / 2.0 } else { h }))
                        .collect()
                }
            }
            Quadrature::GaussLegendre => gauss_legendre(n)
                .into_iter()
                .map(|(t, w)| ((t + 1.0) / 2.0, w / 2.0))
                .collect(),
        })
    }
}

/// Gauss–Legendre nodes and weights on `[−1, 1]` (Newton iteration on `P_n`).
fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // Chebyshev-like initial guess for the i-th root, refined by Newton's method.
        let mut t = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, t);
            for k in 2..=n {
                let kf = k as f64;
                let p2 = ((2.0 * kf - 1.0) * t * p1 - (kf - 1.0) * p0) / kf;
                p0 = p1;
                p1 = p2;
            }
            // p1 = P_n(t), p0 = P_{n−1}(t); P_n'(t) = n (t P_n − P_{n−1}) / (t² − 1)
            dp = n as f64 * (t * p1 - p0) / (t * t - 1.0);
            let dt = p1 / dp;
            t -= dt;
            if dt.abs() < 1e-15 {
                break;
            }
        }
        out.push((t, 2.0 / ((1.0 - t * t) * dp * dp)));
    }
    out.reverse();
    out
}

/// Integrated gradients along the straight path from a baseline to the input.
#[derive(Debug, Clone)]
pub struct IntegratedGradients {
    pub baseline: Baseline,
    pub steps: usize,
    pub quadrature: Quadrature,
    /// Interpolation points per forward/backward pass, at most (bounds memory; on the CPU
    /// passes are also kept small enough for the allocator to reuse their buffers, see
    /// [`crate::alloc::inputs_per_pass`]). Whole steps: at least one step of every example.
    pub batch_size: usize,
}

impl Default for IntegratedGradients {
    fn default() -> Self {
        IntegratedGradients {
            baseline: Baseline::Zero,
            steps: 50,
            quadrature: Quadrature::GaussLegendre,
            batch_size: 500,
        }
    }
}

impl IntegratedGradients {
    /// The attributions and the completeness error `δ_n = Σ_i IG_i − (s(x_n) − s(x̄_n))`, `[N]`.
    pub fn attribute_with_delta(
        &self,
        net: &Network,
        x: &Tensor,
        target: &Target,
    ) -> Result<(Tensor, Tensor)> {
        check_input("integrated_gradients", net, x)?;
        let n = x.dim(0)?;
        let target = target.fixed_at(net, x)?;
        let base = self.baseline.for_input(x)?;
        let diff = (x - &base)?;
        let nodes = self.quadrature.nodes(self.steps)?;
        let per_pass = (crate::alloc::inputs_per_pass(net, self.batch_size)? / n.max(1)).max(1);
        let mut total = x.zeros_like()?;
        for chunk in nodes.chunks(per_pass) {
            let points: Vec<Tensor> = chunk
                .iter()
                .map(|&(a, _)| &base + (&diff * a)?)
                .collect::<candle_core::Result<_>>()?;
            let xs = Tensor::cat(&points, 0)?;
            let g = vjp(net, &xs, &target.tiled(chunk.len()))?.grad;
            for (j, &(_, w)) in chunk.iter().enumerate() {
                total = (total + (g.narrow(0, j * n, n)? * w)?)?;
            }
        }
        let attr = (total * diff)?;
        let s_x = target.score(&net.forward(x)?)?;
        let s_b = target.score(&net.forward(&base)?)?;
        let sum = attr.flatten_from(1)?.sum(1)?;
        let delta = (sum - (s_x - s_b)?)?.to_dtype(DType::F32)?;
        Ok((attr, delta))
    }
}

impl Attribution for IntegratedGradients {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        Ok(self.attribute_with_delta(net, x, target)?.0)
    }
}
