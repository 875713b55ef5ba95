//! LIME (Ribeiro, Singh & Guestrin 2016, "Why should I trust you?": Explaining the predictions
//! of any classifier", KDD): fit an interpretable linear model to the network's scores on random
//! coalitions of features near the input, weighted by how close each perturbed input is.
//!
//! For every example, `samples` coalitions `z ∈ {0, 1}^M` are drawn (each feature present with
//! probability ½, Captum's `default_perturb_func`), the perturbed input `x(z)` keeps the present
//! features and takes the baseline's values elsewhere, and the attribution is the coefficient
//! vector `β` of the weighted Lasso
//!
//! `min_{β, b}  ½ Σ_s π_s (v_s − b − z_s·β)² / Σ_s π_s  +  α ‖β‖₁`,
//! `π_s = exp(−d(x, x(z_s))² / (2 w²))`,
//!
//! with `v_s` the target score of `x(z_s)` and `d` the cosine (default) or Euclidean distance
//! between the flattened inputs. This is Captum 0.9's `Lime` with its defaults —
//! `get_exp_kernel_similarity_function("cosine", kernel_width = 1.0)` and `SkLearnLasso(alpha =
//! 0.01)` (scikit-learn's objective: sample weights rescaled to their mean, intercept unpenalised)
//! — solved here by coordinate descent in f64 to convergence. `α = 0` is plain weighted least
//! squares.
//!
//! The original `lime` package differs: it measures the cosine distance between the binary
//! coalition vectors (not the inputs), uses the kernel `√exp(−d²/w²)` with `w = 0.25`, always
//! includes the unperturbed input, and fits a ridge regression (`α = 1`).
//!
//! Unlike the Shapley estimators LIME promises no efficiency: `Σ β` need not equal
//! `s(x) − s(x̄)`, and the values depend on the kernel and `α`, which are choices, not axioms
//! (KernelSHAP is the kernel and loss that make the regression's answer the Shapley values).
//!
//! All examples of a batch share the same coalitions (their weights differ); Captum draws anew
//! for every example. [`Lime::feature_values_with`] takes given coalitions instead of random
//! ones (how the tests reproduce Captum's numbers).

use candle_core::{DType, Tensor};

use super::{positive, spread, Features, Game};
use crate::attribution::{Attribution, Target};
use crate::methods::Baseline;
use crate::{bail, Network, Result, Rng};

/// The distance between the input and a perturbed copy that LIME's kernel turns into a weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LimeDistance {
    /// `1 − cos(x, x(z))` of the flattened inputs (Captum's default; `x(z) = 0` counts as
    /// orthogonal).
    #[default]
    Cosine,
    /// `‖x − x(z)‖₂`.
    Euclidean,
}

/// LIME with a weighted-Lasso surrogate (Captum's defaults).
#[derive(Debug, Clone)]
pub struct Lime {
    pub features: Features,
    pub baseline: Baseline,
    /// Random coalitions per example (Captum's default is 50).
    pub samples: usize,
    pub distance: LimeDistance,
    /// Width `w` of the exponential kernel (1.0, Captum's default).
    pub kernel_width: f64,
    /// Lasso penalty `α` (0.01, Captum's default; 0 = weighted least squares). It is in the
    /// score's units (it thresholds weighted covariances with the score): on scores of order
    /// 0.01, an untrained network's, the default sets every value to 0.
    pub alpha: f64,
    pub seed: u64,
    /// Perturbed inputs per forward pass (at least one coalition of the whole batch).
    pub batch_size: usize,
}

impl Default for Lime {
    /// 7 × 7 patches, zero baseline, 200 coalitions, cosine kernel of width 1, `α = 0.01`.
    fn default() -> Self {
        Lime::new(7, 200)
    }
}

/// Coordinate-descent sweeps at most; far more than the problems here need.
const MAX_SWEEPS: usize = 100_000;

impl Lime {
    /// Patches of `patch × patch`, `samples` coalitions, zero baseline, seed 0, Captum's kernel
    /// and penalty.
    pub fn new(patch: usize, samples: usize) -> Lime {
        Lime {
            features: Features::Patches(patch, patch),
            baseline: Baseline::Zero,
            samples,
            distance: LimeDistance::Cosine,
            kernel_width: 1.0,
            alpha: 0.01,
            seed: 0,
            batch_size: 500,
        }
    }

    /// The `[N, M]` feature values fitted on the given coalitions (each a presence vector of
    /// length `M`) instead of random ones: `samples` and `seed` are not used.
    pub fn feature_values_with(
        &self,
        net: &Network,
        x: &Tensor,
        target: &Target,
        coalitions: &[Vec<bool>],
    ) -> Result<Tensor> {
        let game = Game::new(
            "lime",
            net,
            x,
            target,
            &self.features,
            &self.baseline,
            self.batch_size,
        )?;
        let phi = self.fit(&game, coalitions)?;
        game.tensor(&phi)
    }

    fn solve(&self, game: &Game) -> Result<Vec<Vec<f64>>> {
        positive("lime", "samples", self.samples)?;
        let m = game.m();
        let mut rng = Rng::new(self.seed);
        let coalitions: Vec<Vec<bool>> = (0..self.samples)
            .map(|_| (0..m).map(|_| rng.uniform() < 0.5).collect())
            .collect();
        self.fit(game, &coalitions)
    }

    fn fit(&self, game: &Game, coalitions: &[Vec<bool>]) -> Result<Vec<Vec<f64>>> {
        const OP: &str = "lime";
        let m = game.m();
        if coalitions.is_empty() {
            bail!("{OP}: at least one coalition is needed, got 0");
        }
        if let Some((s, z)) = coalitions.iter().enumerate().find(|(_, z)| z.len() != m) {
            bail!(
                "{OP}: coalition {s} has {} entries, the mask {m} features",
                z.len()
            );
        }
        if !(self.kernel_width > 0.0 && self.kernel_width.is_finite()) {
            bail!(
                "{OP}: the kernel width must be finite and positive, got {}",
                self.kernel_width
            );
        }
        if !(self.alpha >= 0.0 && self.alpha.is_finite()) {
            bail!(
                "{OP}: the Lasso penalty α must be finite and ≥ 0, got {}",
                self.alpha
            );
        }
        let v = game.values(coalitions)?;
        let parts = self.feature_sums(game)?;
        let design: Vec<Vec<f64>> = coalitions
            .iter()
            .map(|z| z.iter().map(|&p| if p { 1.0 } else { 0.0 }).collect())
            .collect();
        (0..game.n)
            .map(|i| {
                let weights: Vec<f64> = coalitions
                    .iter()
                    .map(|z| self.kernel(parts[i].distance(z, self.distance)))
                    .collect();
                let y: Vec<f64> = v.iter().map(|vs| vs[i]).collect();
                weighted_lasso(&design, &y, &weights, self.alpha).ok_or_else(|| {
                    crate::Error::invalid(format!(
                        "{OP}: every coalition of example {i} has kernel weight 0 (the kernel \
                         width {} is too small for these distances)",
                        self.kernel_width
                    ))
                })
            })
            .collect()
    }

    fn kernel(&self, d: f64) -> f64 {
        (-(d * d) / (2.0 * self.kernel_width * self.kernel_width)).exp()
    }

    /// Per example and feature, the sums over the feature's pixels (all channels) that the
    /// distance between `x` and any `x(z)` is made of.
    fn feature_sums(&self, game: &Game) -> Result<Vec<FeatureSums>> {
        let (_, n, c, h, w) = game.x.dims5()?;
        let host = |t: &Tensor| -> Result<Vec<f64>> {
            Ok(t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?)
        };
        let (xs, bs) = (host(&game.x)?, host(&game.baseline)?);
        let m = game.m();
        Ok((0..n)
            .map(|i| {
                let mut f = FeatureSums {
                    xx_total: 0.0,
                    xx: vec![0.0; m],
                    bb: vec![0.0; m],
                    xb: vec![0.0; m],
                };
                for ch in 0..c {
                    let base = (i * c + ch) * h * w;
                    for (p, &j) in game.mask.ids.iter().enumerate() {
                        let (a, b) = (xs[base + p], bs[base + p]);
                        f.xx[j] += a * a;
                        f.bb[j] += b * b;
                        f.xb[j] += a * b;
                    }
                }
                f.xx_total = f.xx.iter().sum();
                f
            })
            .collect())
    }
}
feature_method!(Lime, "lime");

/// `Σ x²`, `Σ x̄²` and `Σ x x̄` over each feature's pixels, for one example.
struct FeatureSums {
    /// `‖x‖²`.
    xx_total: f64,
    xx: Vec<f64>,
    bb: Vec<f64>,
    xb: Vec<f64>,
}

impl FeatureSums {
    /// `d(x, x(z))`: `x(z)` is `x` on the present features and `x̄` on the absent ones.
    fn distance(&self, z: &[bool], kind: LimeDistance) -> f64 {
        match kind {
            LimeDistance::Euclidean => z
                .iter()
                .enumerate()
                .filter(|(_, &p)| !p)
                .map(|(j, _)| self.xx[j] - 2.0 * self.xb[j] + self.bb[j])
                .sum::<f64>()
                .max(0.0)
                .sqrt(),
            LimeDistance::Cosine => {
                let (mut dot, mut zz) = (0.0, 0.0);
                for (j, &p) in z.iter().enumerate() {
                    if p {
                        dot += self.xx[j];
                        zz += self.xx[j];
                    } else {
                        dot += self.xb[j];
                        zz += self.bb[j];
                    }
                }
                let norms = self.xx_total.sqrt() * zz.sqrt();
                1.0 - if norms > 0.0 { dot / norms } else { 0.0 }
            }
        }
    }
}

/// The weighted Lasso with an unpenalised intercept, scikit-learn's `Lasso(alpha)` with
/// `sample_weight`: minimises `½ Σ W_s (y_s − b − X_s·β)² + α ‖β‖₁` with `W = weights / Σ
/// weights`, by cyclic coordinate descent on the weighted-centred problem until no coefficient
/// moves by more than `1e-13` of the largest (or `MAX_SWEEPS`). Returns `β` (the intercept is
/// not needed), or `None` when every weight is 0.
fn weighted_lasso(x: &[Vec<f64>], y: &[f64], weights: &[f64], alpha: f64) -> Option<Vec<f64>> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return None;
    }
    let wn: Vec<f64> = weights.iter().map(|w| w / total).collect();
    let d = x.first().map_or(0, Vec::len);
    let xm: Vec<f64> = (0..d)
        .map(|j| x.iter().zip(&wn).map(|(r, w)| w * r[j]).sum())
        .collect();
    let ym: f64 = y.iter().zip(&wn).map(|(v, w)| w * v).sum();
    // columns of the centred design, and their weighted squared norms
    let cols: Vec<Vec<f64>> = (0..d)
        .map(|j| x.iter().map(|r| r[j] - xm[j]).collect())
        .collect();
    let norm: Vec<f64> = cols
        .iter()
        .map(|c| c.iter().zip(&wn).map(|(v, w)| w * v * v).sum())
        .collect();
    let mut beta = vec![0f64; d];
    let mut resid: Vec<f64> = y.iter().map(|v| v - ym).collect();
    for _ in 0..MAX_SWEEPS {
        let (mut moved, mut largest) = (0f64, 0f64);
        for j in 0..d {
            if norm[j] <= 0.0 {
                continue; // a feature present (or absent) in every coalition: β_j = 0
            }
            let rho: f64 = cols[j]
                .iter()
                .zip(&resid)
                .zip(&wn)
                .map(|((c, r), w)| w * c * r)
                .sum::<f64>()
                + norm[j] * beta[j];
            let new = rho.signum() * (rho.abs() - alpha).max(0.0) / norm[j];
            let step = new - beta[j];
            if step != 0.0 {
                resid
                    .iter_mut()
                    .zip(&cols[j])
                    .for_each(|(r, c)| *r -= c * step);
                beta[j] = new;
            }
            moved = moved.max(step.abs());
            largest = largest.max(new.abs());
        }
        if moved <= 1e-13 * largest.max(f64::MIN_POSITIVE) {
            break;
        }
    }
    Some(beta)
}
