//! Explanation sensitivity: how much does the explanation change when the input moves by an
//! amount too small to matter?
//!
//! Yeh et al. (2019, "On the (In)fidelity and Sensitivity of Explanations", NeurIPS) define the
//! max-sensitivity of an explanation `Φ` at `x` within radius `r`,
//!
//! `SENS_MAX(x) = max_{‖δ‖∞ ≤ r} ‖Φ(x + δ) − Φ(x)‖₂ / ‖Φ(x)‖₂`,
//!
//! and estimate the maximum by Monte Carlo: `δ₁ … δ_S` drawn uniformly from the L∞ ball (every
//! pixel independently in `[−r, r]`). The mean over the same samples is the *average
//! sensitivity* of Bhatt, Weller & Moura (2020, "Evaluating and Aggregating Feature-based Model
//! Explanations", IJCAI). Both are lower for a more robust explanation; a constant explanation
//! scores 0 (Yeh et al. show it is the optimum, which is why sensitivity is read next to a
//! faithfulness measure such as [`super::infidelity`]).
//!
//! * Dividing by `‖Φ(x)‖₂` makes the score unit-free, so squared gradients and logits compare;
//!   it is what Captum's `sensitivity_max` and Quantus' `MaxSensitivity` do. An all-zero `Φ(x)`
//!   is divided by 1 (Captum's convention). [`Sensitivity::normalise`]` = false` gives the
//!   absolute change of the paper's formula.
//! * The explained class is fixed on the clean input, so every perturbed copy explains the same
//!   class (Captum passes the same `target`).
//! * The same `δ` give the same numbers as Captum 0.9's `sensitivity_max` with the Frobenius norm
//!   (tested against values Captum computed). Captum's defaults are `r = 0.02`, `S = 10`, ours
//!   too. Quantus 0.6's `MaxSensitivity` defaults to `r = 0.2` and 200 samples and, like us,
//!   keeps the samples that change the predicted class (with `return_nan_when_prediction_changes`
//!   set, such an image scores NaN instead); a class flip inside a tiny ball is part of what
//!   sensitivity measures.
//! * **Stochastic methods.** The clean input and the perturbed copies are explained in separate
//!   calls of different batch sizes, so a method that draws noise per example in batch order
//!   (SmoothGrad, GradientSHAP) explains them with different draws, and its score includes its
//!   own Monte Carlo error: at `r = 0` a deterministic method scores 0, SmoothGrad does not.
//!   Score such a method at `r = 0` too and read the difference (notebook 5.1 does). Shapley
//!   value sampling, KernelSHAP and LIME draw from their seed alone, shared by the whole batch,
//!   so they see the same draws.
//!
//! Perturbed copies are explained `batch_size` inputs per call; the noise is seeded. For a
//! deterministic method the scores do not depend on `batch_size`.
//!
//! Notebook: `5.1 Explanation Continuity`.

use candle_core::Tensor;

use super::{check_finite, classes, finite_mean, host};
use crate::attribution::{check_input, Attribution, Class, Target};
use crate::{bail, Network, Result, Rng};

/// Settings of the max- and average-sensitivity estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensitivity {
    /// Radius `r` of the L∞ ball the perturbations are drawn from.
    pub radius: f32,
    /// Number of perturbations `S` per image.
    pub samples: usize,
    /// Divide by `‖Φ(x)‖₂` (Captum, Quantus); `false` = the absolute change.
    pub normalise: bool,
    /// Seed of the perturbations.
    pub seed: u64,
    /// Perturbed inputs per `attribute` call, at most (whole samples: at least one copy of every
    /// image per call).
    pub batch_size: usize,
}

impl Default for Sensitivity {
    /// Captum's defaults: `r = 0.02`, 10 samples, normalised.
    fn default() -> Self {
        Sensitivity {
            radius: 0.02,
            samples: 10,
            normalise: true,
            seed: 0,
            batch_size: 500,
        }
    }
}

/// Max- and average-sensitivity of every image.
#[derive(Debug, Clone, PartialEq)]
pub struct SensitivityScore {
    /// `max_s ‖Φ(x_n + δ_s) − Φ(x_n)‖ / ‖Φ(x_n)‖` per image.
    pub max: Vec<f32>,
    /// The mean over the same samples, per image.
    pub average: Vec<f32>,
}

impl SensitivityScore {
    /// The mean of the per-image max-sensitivities.
    pub fn mean_max(&self) -> f32 {
        finite_mean(&self.max)
    }

    /// The mean of the per-image average sensitivities.
    pub fn mean_average(&self) -> f32 {
        finite_mean(&self.average)
    }
}

impl Sensitivity {
    /// Max- and average-sensitivity of `method` at every image of `x`, with `samples`
    /// perturbations drawn uniformly from the L∞ ball of radius `radius`.
    pub fn score<A: Attribution + ?Sized>(
        &self,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
    ) -> Result<SensitivityScore> {
        const OP: &str = "sensitivity";
        if !(self.radius >= 0.0 && self.radius.is_finite()) {
            bail!(
                "{OP}: the radius must be a finite r ≥ 0, got {}",
                self.radius
            );
        }
        let mut rng = Rng::new(self.seed);
        let r = self.radius;
        self.run(OP, method, net, x, target, self.samples, &mut |_| {
            let v: Vec<f32> = (0..x.elem_count())
                .map(|_| rng.uniform_range(-r, r))
                .collect();
            Ok(Tensor::from_vec(v, x.dims(), x.device())?.to_dtype(x.dtype())?)
        })
    }

    /// The same with the given perturbations `δ_s` (each shaped like `x`) instead of random ones:
    /// any distribution, or exactly the noise another library drew. `radius`, `samples` and
    /// `seed` are not used.
    pub fn score_with<A: Attribution + ?Sized>(
        &self,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
        deltas: &[Tensor],
    ) -> Result<SensitivityScore> {
        const OP: &str = "sensitivity";
        if let Some((s, d)) = deltas
            .iter()
            .enumerate()
            .find(|(_, d)| d.dims() != x.dims())
        {
            bail!(
                "{OP}: perturbation {s} has shape {:?}, the input {:?}",
                d.dims(),
                x.dims()
            );
        }
        self.run(OP, method, net, x, target, deltas.len(), &mut |s| {
            Ok(deltas[s].to_device(x.device())?.to_dtype(x.dtype())?)
        })
    }

    /// Explains `x` and `samples` perturbed copies `x + delta(s)` and reduces the differences.
    #[allow(clippy::too_many_arguments)]
    fn run<A: Attribution + ?Sized>(
        &self,
        op: &str,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
        samples: usize,
        delta: &mut dyn FnMut(usize) -> Result<Tensor>,
    ) -> Result<SensitivityScore> {
        check_input(op, net, x)?;
        if samples == 0 {
            bail!("{op}: at least one perturbation is needed, got 0");
        }
        let n = x.dim(0)?;
        let fixed = Target {
            class: Class::PerExample(classes(target, net, x)?),
            score: target.score,
        };
        let base = host(&method.attribute(net, x, &fixed)?)?;
        let d = base.len() / n;
        if d == 0 || base.len() != n * d {
            bail!(
                "{op}: the method returned {} values for {n} inputs, expected a whole, non-empty map per input",
                base.len()
            );
        }
        let norms: Vec<f64> = base
            .chunks_exact(d)
            .enumerate()
            .map(|(i, a)| {
                check_finite(op, i, a)?;
                let l2 = a.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
                Ok(if self.normalise && l2 > 0.0 { l2 } else { 1.0 })
            })
            .collect::<Result<_>>()?;
        let per_call = (crate::alloc::inputs_per_pass(net, self.batch_size)? / n).max(1);
        let mut max = vec![f32::NEG_INFINITY; n];
        let mut sum = vec![0f64; n];
        let mut done = 0;
        while done < samples {
            let k = per_call.min(samples - done);
            let copies = (done..done + k)
                .map(|s| Ok((x + delta(s)?)?))
                .collect::<Result<Vec<_>>>()?;
            let maps = host(&method.attribute(net, &Tensor::cat(&copies, 0)?, &fixed.tiled(k))?)?;
            if maps.len() != k * n * d {
                bail!(
                    "{op}: the method returned {} values for {} perturbed inputs, expected {d} per input as for the clean input",
                    maps.len(),
                    k * n
                );
            }
            for (j, m) in maps.chunks_exact(d).enumerate() {
                let i = j % n;
                check_finite(op, i, m)?;
                let change = m
                    .iter()
                    .zip(&base[i * d..(i + 1) * d])
                    .map(|(p, q)| ((p - q) as f64).powi(2))
                    .sum::<f64>()
                    .sqrt()
                    / norms[i];
                max[i] = max[i].max(change as f32);
                sum[i] += change;
            }
            done += k;
        }
        Ok(SensitivityScore {
            max,
            average: sum.iter().map(|s| (s / samples as f64) as f32).collect(),
        })
    }
}
