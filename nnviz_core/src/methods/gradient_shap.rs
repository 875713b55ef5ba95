//! GradientSHAP (Lundberg & Lee 2017, "A Unified Approach to Interpreting Model Predictions";
//! the `shap` library's `GradientExplainer`, Captum's `GradientShap`), also called *expected
//! gradients* (Erion et al. 2021, "Improving performance of deep learning models with axiomatic
//! attribution priors and expected gradients"): integrated gradients averaged over a
//! distribution `D` of baselines instead of one black image,
//!
//! `φ(x) = E_{x̄ ~ D, α ~ U(0,1), ε ~ N(0, σ²)} [ (x̃ − x̄) ⊙ ∂s/∂x (x̄ + α (x̃ − x̄)) ]`,
//! `x̃ = x + ε`,
//!
//! estimated by Monte Carlo with one random point `α` on each path: each of the `samples` draws
//! picks a baseline uniformly from the given reference inputs, an `α`, and (if `σ > 0`) noise, for
//! every example. With `σ = 0` the integrand's expectation over `α` is integrated gradients along
//! the drawn path, so **in expectation** `Σ_i φ_i = s(x) − E_D[s(x̄)]` (completeness against the
//! mean baseline score, which no single draw satisfies); on a linear model every draw gives
//! `w ⊙ (x − x̄)` and `φ = w ⊙ (x − mean of the drawn x̄)`.
//!
//! Why a distribution: a single baseline is a choice the explanation inherits (a black pixel of a
//! digit gets no attribution against a black baseline, §3.4); averaging over real images asks
//! "what in this image makes the score differ from typical inputs".
//!
//! Differences from Captum 0.9's `GradientShap`, which draws the same quantities (a baseline index,
//! one `α` and the noise per example and sample): its default is 5 samples (ours 50), and it
//! draws the baseline index and `α` with NumPy and the noise with torch, ours all from the seeded
//! [`crate::Rng`] — so the two agree in expectation, not draw by draw. `scripts/compare_pytorch.py`
//! still compares them exactly: on its bias-free reference CNN every draw against the black
//! image gives `x ⊙ ∂s/∂x` (positive homogeneity), whatever the random numbers; the tests here
//! check the draws where they matter (completeness in expectation, convergence to integrated
//! gradients).
//!
//! Notebook: `3.4 Integrated Gradients`.

use candle_core::Tensor;

use crate::attribution::{check_input, Attribution, Target};
use crate::grad::vjp;
use crate::{bail, Network, Result, Rng};

/// The reference inputs GradientSHAP draws its baselines from.
#[derive(Debug, Clone)]
pub enum References {
    /// One reference with every value equal to this constant (`0`: a black image; then
    /// GradientSHAP is integrated gradients with random instead of quadrature points).
    Constant(f32),
    /// `[B, C, H, W]` reference inputs, e.g. a sample of training images; each draw picks one
    /// uniformly.
    Images(Tensor),
}

impl Default for References {
    fn default() -> Self {
        References::Constant(0.0)
    }
}

/// GradientSHAP / expected gradients.
#[derive(Debug, Clone)]
pub struct GradientShap {
    /// What the baselines are drawn from.
    pub baselines: References,
    /// Draws per example.
    pub samples: usize,
    /// Standard deviation `σ` of the Gaussian noise added to the input (Captum's `stdevs`; 0 by
    /// default).
    pub stdev: f32,
    pub seed: u64,
    /// Path points per backward pass, at most (whole draws: at least one point per example).
    pub batch_size: usize,
}

impl Default for GradientShap {
    /// One all-zero reference, 50 draws, no noise, seed 0, 500 points per pass.
    fn default() -> Self {
        GradientShap {
            baselines: References::default(),
            samples: 50,
            stdev: 0.0,
            seed: 0,
            batch_size: 500,
        }
    }
}

impl GradientShap {
    /// GradientSHAP against the reference inputs `baselines` (`[B, C, H, W]`), 50 draws.
    pub fn with_baselines(baselines: Tensor) -> GradientShap {
        GradientShap {
            baselines: References::Images(baselines),
            ..GradientShap::default()
        }
    }

    /// The reference inputs on `x`'s device and dtype, checked against `x`'s shape.
    fn references(&self, x: &Tensor) -> Result<Tensor> {
        let b = match &self.baselines {
            References::Constant(c) => {
                if !c.is_finite() {
                    bail!("gradient_shap: the constant baseline must be finite, got {c}");
                }
                let mut shape = x.dims().to_vec();
                shape[0] = 1;
                return Ok((Tensor::zeros(shape, x.dtype(), x.device())? + *c as f64)?);
            }
            References::Images(b) => b,
        };
        if b.rank() != x.rank() || b.dim(0)? == 0 || b.dims()[1..] != x.dims()[1..] {
            bail!(
                "gradient_shap: the baselines must be [B, {}] with B ≥ 1 for inputs {:?}, found {:?}",
                x.dims()[1..]
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                x.dims(),
                b.dims()
            );
        }
        Ok(b.to_device(x.device())?.to_dtype(x.dtype())?)
    }
}

impl Attribution for GradientShap {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        const OP: &str = "gradient_shap";
        check_input(OP, net, x)?;
        if self.samples == 0 {
            bail!("{OP}: samples must be at least 1");
        }
        if !(self.stdev >= 0.0 && self.stdev.is_finite()) {
            bail!("{OP}: the noise must be a finite σ ≥ 0, got {}", self.stdev);
        }
        let refs = self.references(x)?;
        let b = refs.dim(0)?;
        let n = x.dim(0)?;
        let per_example = x.elem_count() / n;
        let target = target.fixed_at(net, x)?;
        let mut rng = Rng::new(self.seed);
        let per_pass = (crate::alloc::inputs_per_pass(net, self.batch_size)? / n).max(1);
        let mut sum = x.zeros_like()?;
        let mut done = 0;
        while done < self.samples {
            let k = per_pass.min(self.samples - done);
            // Per draw and example, in this order: the baseline, α, then the noise.
            let (mut index, mut alpha, mut noise) = (vec![], vec![], vec![]);
            for _ in 0..k * n {
                index.push(rng.below(b) as u32);
                alpha.push(rng.uniform());
                if self.stdev > 0.0 {
                    noise.extend((0..per_example).map(|_| self.stdev * rng.normal()));
                }
            }
            let xs = Tensor::cat(&vec![x.clone(); k], 0)?;
            let xs = if self.stdev > 0.0 {
                let eps = Tensor::from_vec(noise, xs.shape(), x.device())?.to_dtype(x.dtype())?;
                (xs + eps)?
            } else {
                xs
            };
            let index = Tensor::from_vec(index, k * n, x.device())?;
            let bases = refs.index_select(&index, 0)?;
            let mut ashape = vec![1usize; x.rank()];
            ashape[0] = k * n;
            let alpha = Tensor::from_vec(alpha, ashape, x.device())?.to_dtype(x.dtype())?;
            let delta = (&xs - &bases)?;
            let points = (&bases + delta.broadcast_mul(&alpha)?)?;
            let g = vjp(net, &points, &target.tiled(k))?.grad;
            let terms = (g * delta)?;
            for j in 0..k {
                sum = (sum + terms.narrow(0, j * n, n)?)?;
            }
            done += k;
        }
        Ok((sum / self.samples as f64)?)
    }
}
