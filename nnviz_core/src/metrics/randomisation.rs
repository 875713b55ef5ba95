//! The model-parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency
//! maps", §3.1): an explanation method that explains the *model* must give different maps when
//! the learned weights are replaced by random ones.
//!
//! Layers with parameters are re-initialised (Glorot-uniform weights, zero biases — the zoo's
//! initialisation) from a random stream derived from the test's seed, never the stream that
//! `Network::init` draws for that same seed: otherwise a zoo model, trained from `init(0)`, would
//! be "randomised" back to its own starting weights, and an untrained `init(0)` network would
//! not change at all (Spearman 1). Either
//!
//! * [`RandomisationMode::Cascading`]: from the top, cumulatively — step `k` has the `k` layers
//!   nearest the output randomised (Adebayo et al.'s cascading randomisation); or
//! * [`RandomisationMode::Independent`]: one layer at a time, the others trained.
//!
//! Similarity between the trained model's map `R` and the randomised model's map `R'`, per image:
//! the Spearman rank correlation of `|R|` and `|R'|` (Adebayo et al.'s "absolute value" rank
//! correlation; ties get their mean rank) and the Pearson correlation of `R` and `R'`. Lower means
//! the method passes the check. A constant map has no correlation: the value is `NaN` for that
//! image, and means skip it. The class explained by both models is the one `target` resolves to
//! on the *trained* model.
//!
//! Notebook: `5.2 Explanation Selectivity`.

use candle_core::Tensor;

use super::{classes, finite_mean, host};
use crate::attribution::{check_input, Attribution, Class, Target};
use crate::{bail, Network, Result};

/// Which layers are randomised at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RandomisationMode {
    /// Top-down and cumulative.
    #[default]
    Cascading,
    /// One layer at a time.
    Independent,
}

/// The randomisation test's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelRandomisation {
    pub mode: RandomisationMode,
    /// Seed of the random weights.
    pub seed: u64,
}

/// One step of the test.
#[derive(Debug, Clone)]
pub struct RandomisationStep {
    /// The layer randomised at this step (cascading: the lowest randomised so far).
    pub layer: String,
    /// The randomised model's explanations, shaped like the input.
    pub maps: Tensor,
    /// Spearman rank correlation of `|R|` and `|R'|` per image.
    pub spearman: Vec<f32>,
    /// Pearson correlation of `R` and `R'` per image.
    pub pearson: Vec<f32>,
}

impl RandomisationStep {
    /// Mean Spearman rank correlation over the images (finite values).
    pub fn mean_spearman(&self) -> f32 {
        finite_mean(&self.spearman)
    }

    /// Mean Pearson correlation over the images (finite values).
    pub fn mean_pearson(&self) -> f32 {
        finite_mean(&self.pearson)
    }
}

/// Mixed into the seed of [`randomise_layers`], so that its weights are never those
/// `Network::init` draws for the same seed.
const RANDOMISE_STREAM: u64 = 0x005E_ED0F_ADEB_A701;

/// A copy of `net` with the layers at `layers` (indices) re-initialised with random weights
/// drawn from `seed` (a stream of its own: not the weights `Network::init(spec, seed)` draws).
pub fn randomise_layers(net: &Network, layers: &[usize], seed: u64) -> Result<Network> {
    if let Some(&i) = layers.iter().find(|&&i| i >= net.layers.len()) {
        bail!(
            "randomise_layers: layer index {i} is out of range: network {} has {} layers",
            net.name,
            net.layers.len()
        );
    }
    let fresh = Network::init(&net.spec()?, seed ^ RANDOMISE_STREAM, &net.device())?;
    let mut out = net.clone();
    for &i in layers {
        out.layers[i].layer = fresh.layers[i].layer.clone();
    }
    Ok(out)
}

/// Average ranks (1-based) of `v`, ties sharing their mean rank.
fn ranks(v: &[f32]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0f64; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = mean;
        }
        i = j + 1;
    }
    r
}

pub(crate) fn pearson64(a: &[f64], b: &[f64]) -> f32 {
    let n = a.len().min(b.len());
    if n == 0 {
        return f32::NAN;
    }
    let ma = a.iter().sum::<f64>() / n as f64;
    let mb = b.iter().sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        return f32::NAN;
    }
    (sab / (saa * sbb).sqrt()) as f32
}

/// Pearson correlation of two equally long vectors; `NaN` if either is constant or empty.
pub fn pearson(a: &[f32], b: &[f32]) -> f32 {
    let a: Vec<f64> = a.iter().map(|&v| v as f64).collect();
    let b: Vec<f64> = b.iter().map(|&v| v as f64).collect();
    pearson64(&a, &b)
}

/// Spearman rank correlation (Pearson of the average ranks); `NaN` if either is constant.
pub fn spearman(a: &[f32], b: &[f32]) -> f32 {
    pearson64(&ranks(a), &ranks(b))
}

/// Per-image `(Spearman of |R|, |R'|; Pearson of R, R')` of two batches of maps.
pub(crate) fn similarities(r: &Tensor, r2: &Tensor) -> Result<(Vec<f32>, Vec<f32>)> {
    if r.dims() != r2.dims() {
        bail!(
            "randomisation: maps {:?} and {:?} differ in shape",
            r.dims(),
            r2.dims()
        );
    }
    let n = r.dim(0)?;
    let d = r.elem_count() / n.max(1);
    let (a, b) = (host(r)?, host(r2)?);
    let mut sp = Vec::with_capacity(n);
    let mut pe = Vec::with_capacity(n);
    for i in 0..n {
        let (x, y) = (&a[i * d..(i + 1) * d], &b[i * d..(i + 1) * d]);
        let ax: Vec<f32> = x.iter().map(|v| v.abs()).collect();
        let ay: Vec<f32> = y.iter().map(|v| v.abs()).collect();
        sp.push(spearman(&ax, &ay));
        pe.push(pearson(x, y));
    }
    Ok((sp, pe))
}

impl ModelRandomisation {
    /// The test for `method` on the images `x`: one step per layer with parameters (from the
    /// output down for the cascading mode). The trained model's maps come first in the tuple.
    pub fn run<A: Attribution + ?Sized>(
        &self,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
    ) -> Result<(Tensor, Vec<RandomisationStep>)> {
        check_input("randomisation", net, x)?;
        let t = Target {
            class: Class::PerExample(classes(target, net, x)?),
            score: target.score,
        };
        let trained = method.attribute(net, x, &t)?;
        let mut with_params: Vec<usize> = (0..net.layers.len())
            .filter(|&i| !net.layers[i].layer.params().is_empty())
            .collect();
        with_params.reverse();
        let mut steps = Vec::with_capacity(with_params.len());
        for (k, &i) in with_params.iter().enumerate() {
            let layers = match self.mode {
                RandomisationMode::Cascading => with_params[..=k].to_vec(),
                RandomisationMode::Independent => vec![i],
            };
            let random = randomise_layers(net, &layers, self.seed)?;
            let maps = method.attribute(&random, x, &t)?;
            let (spearman, pearson) = similarities(&trained, &maps)?;
            steps.push(RandomisationStep {
                layer: net.layers[i].name.clone(),
                maps,
                spearman,
                pearson,
            });
        }
        Ok((trained, steps))
    }

    /// The similarity between the explanations of `net` and of `net` with *every* layer
    /// randomised (the end of the cascade), per image: `(Spearman of |R|, Pearson of R)`.
    pub fn fully_randomised<A: Attribution + ?Sized>(
        &self,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
        trained_maps: Option<&Tensor>,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        check_input("randomisation", net, x)?;
        let t = Target {
            class: Class::PerExample(classes(target, net, x)?),
            score: target.score,
        };
        let trained = match trained_maps {
            Some(m) => m.clone(),
            None => method.attribute(net, x, &t)?,
        };
        let all: Vec<usize> = (0..net.layers.len()).collect();
        let random = randomise_layers(net, &all, self.seed)?;
        similarities(&trained, &method.attribute(&random, x, &t)?)
    }
}
