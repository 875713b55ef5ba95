//! Faithfulness correlation: do the map's sums over random pixel subsets rank the score drops
//! that removing those subsets causes?
//!
//! Bhatt, Weller & Moura (2020, "Evaluating and Aggregating Feature-based Model Explanations",
//! IJCAI) call a map `Φ` faithful when the relevance it gives a set of pixels `S` tracks what
//! setting those pixels to a baseline `x̄` costs the score:
//!
//! `μ_F(Φ, x) = corr_{S ⊂ pixels, |S| = k} ( Σ_{i ∈ S} Φ_i , s(x) − s(x_{S ← x̄}) )`,
//!
//! Pearson's correlation over `runs` random subsets of `k` pixels each. It lies in `[−1, 1]`;
//! higher is more faithful. On a linear model `s(x) = wᵀx` with the baseline 0, input × gradient
//! `Φ = w ⊙ x` predicts every drop exactly and scores 1, its negation −1. Unlike
//! [`super::infidelity`] the correlation ignores the map's scale and offset; unlike pixel
//! flipping ([`super::selectivity`]) the subsets are random, so the map's whole ranking is
//! tested, not only its top pixels.
//!
//! The conventions are Quantus 0.6's `FaithfulnessCorrelation` (same numbers on the same subsets,
//! tested against values Quantus computed): its defaults `k = 224` pixels and 100 runs, an
//! independent subset for each image in each run, the features are the input's values (a
//! one-channel map of a multi-channel input is broadcast over the channels first), and a map
//! constant over the drawn subsets, or a model whose score never moves, has no correlation:
//! `NaN` for that image ([`FaithfulnessScore::mean`] skips it). Quantus's default baseline
//! `"black"` is each image's minimum, 0 on MNIST; here the baseline is a constant, 0 by default.
//! The explained class is fixed on the clean input; the score is the target's (logit by
//! default; `Target::with_score` for probabilities, Quantus's `softmax=True`).
//!
//! Only forward passes are needed, `batch_size` perturbed inputs at a time; the subsets are
//! seeded.
//!
//! Notebook: `5.2 Explanation Selectivity` (its evaluation table's neighbours: pixel flipping and
//! infidelity).

use candle_core::Tensor;

use super::randomisation::pearson64;
use super::{classes, finite_mean, host, host_map, scores};
use crate::attribution::{check_input, Attribution, Target};
use crate::{bail, Network, Result, Rng};

/// Settings of the faithfulness correlation.
#[derive(Debug, Clone, PartialEq)]
pub struct FaithfulnessCorrelation {
    /// `k`, the input values set to the baseline in each run.
    pub subset_size: usize,
    /// Random subsets per image (at least 2: a correlation needs two points).
    pub runs: usize,
    /// The value a removed pixel takes.
    pub baseline: f32,
    /// Seed of the subsets.
    pub seed: u64,
    /// Perturbed inputs per forward pass, at most.
    pub batch_size: usize,
}

impl Default for FaithfulnessCorrelation {
    /// Quantus's defaults: subsets of 224 values, 100 runs; baseline 0, seed 0.
    fn default() -> Self {
        FaithfulnessCorrelation {
            subset_size: 224,
            runs: 100,
            baseline: 0.0,
            seed: 0,
            batch_size: 500,
        }
    }
}

/// Faithfulness correlation of every image.
#[derive(Debug, Clone, PartialEq)]
pub struct FaithfulnessScore {
    /// `μ_F` per image, in `[−1, 1]`; `NaN` where the correlation is undefined.
    pub per_image: Vec<f32>,
}

impl FaithfulnessScore {
    /// The mean over the images with a defined correlation (`NaN` if none has one).
    pub fn mean(&self) -> f32 {
        finite_mean(&self.per_image)
    }
}

impl FaithfulnessCorrelation {
    /// Faithfulness correlation of the map `attributions` (`[N, ...]` like `x`, or with one
    /// channel) of the score `target` at `x`, over `runs` random subsets per image.
    pub fn score(
        &self,
        net: &Network,
        x: &Tensor,
        attributions: &Tensor,
        target: &Target,
    ) -> Result<FaithfulnessScore> {
        const OP: &str = "faithfulness_correlation";
        check_input(OP, net, x)?;
        let (n, c, h, w) = x.dims4()?;
        let d = c * h * w;
        self.check_subset_size(OP, d)?;
        let mut rng = Rng::new(self.seed);
        let subsets: Vec<Vec<Vec<usize>>> = (0..self.runs)
            .map(|_| {
                (0..n)
                    .map(|_| rng.permutation(d)[..self.subset_size].to_vec())
                    .collect()
            })
            .collect();
        self.score_with(net, x, attributions, target, &subsets)
    }

    /// Errs (named `op`) unless `subset_size` is between 1 and the `d` values of an image.
    pub(crate) fn check_subset_size(&self, op: &str, d: usize) -> Result<()> {
        if self.subset_size == 0 || self.subset_size > d {
            bail!(
                "{op}: the subset size must be between 1 and the {d} values of an image, got {}",
                self.subset_size
            );
        }
        Ok(())
    }

    /// The same with the given subsets instead of random ones: `subsets[s][i]` lists the
    /// (flattened `C × H × W`) values of image `i` set to the baseline in run `s`, e.g. exactly
    /// the subsets another library drew. `subset_size`, `runs` and `seed` are not used.
    pub fn score_with(
        &self,
        net: &Network,
        x: &Tensor,
        attributions: &Tensor,
        target: &Target,
        subsets: &[Vec<Vec<usize>>],
    ) -> Result<FaithfulnessScore> {
        const OP: &str = "faithfulness_correlation";
        check_input(OP, net, x)?;
        let (n, c, h, w) = x.dims4()?;
        let d = c * h * w;
        if subsets.len() < 2 {
            bail!(
                "{OP}: a correlation needs at least 2 runs, got {}",
                subsets.len()
            );
        }
        if !self.baseline.is_finite() {
            bail!("{OP}: the baseline must be finite, got {}", self.baseline);
        }
        for (s, run) in subsets.iter().enumerate() {
            if run.len() != n {
                bail!(
                    "{OP}: run {s} has subsets for {} images, the input has {n}",
                    run.len()
                );
            }
            for (i, subset) in run.iter().enumerate() {
                if let Some(&j) = subset.iter().find(|&&j| j >= d) {
                    bail!("{OP}: run {s}, image {i}: value {j} is outside the image's {d} values");
                }
            }
        }
        let (map_d, phi) = host_map(OP, attributions, x)?;
        let xs = host(x)?;
        let cls = classes(target, net, x)?;
        let clean = scores(net, x, &cls, target.score, self.batch_size)?;
        let per_pass = (crate::alloc::inputs_per_pass(net, self.batch_size)? / n).max(1);
        // Predicted (Σ_S Φ) and observed (Δs) per run and image: [s * n + i].
        let (mut predicted, mut observed) = (vec![], vec![]);
        for chunk in subsets.chunks(per_pass) {
            let mut perturbed = Vec::with_capacity(chunk.len() * n * d);
            for run in chunk {
                for (i, subset) in run.iter().enumerate() {
                    let a = &phi[i * map_d..(i + 1) * map_d];
                    predicted.push(subset.iter().map(|&j| a[j % map_d] as f64).sum::<f64>());
                    let start = perturbed.len();
                    perturbed.extend_from_slice(&xs[i * d..(i + 1) * d]);
                    for &j in subset {
                        perturbed[start + j] = self.baseline;
                    }
                }
            }
            let batch = Tensor::from_vec(perturbed, (chunk.len() * n, c, h, w), x.device())?
                .to_dtype(x.dtype())?;
            let classes_k: Vec<usize> = (0..chunk.len()).flat_map(|_| cls.clone()).collect();
            let s_pert = scores(net, &batch, &classes_k, target.score, self.batch_size)?;
            observed.extend(
                s_pert
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| clean[j % n] as f64 - v as f64),
            );
        }
        let runs = subsets.len();
        let per_image = (0..n)
            .map(|i| {
                let p: Vec<f64> = (0..runs).map(|s| predicted[s * n + i]).collect();
                let o: Vec<f64> = (0..runs).map(|s| observed[s * n + i]).collect();
                pearson64(&p, &o)
            })
            .collect();
        Ok(FaithfulnessScore { per_image })
    }

    /// Explains `x` with `method`, then scores the map ([`FaithfulnessCorrelation::score`]).
    pub fn of<A: Attribution + ?Sized>(
        &self,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
    ) -> Result<FaithfulnessScore> {
        let fixed = target.fixed_at(net, x)?;
        self.score(net, x, &method.attribute(net, x, &fixed)?, &fixed)
    }
}
