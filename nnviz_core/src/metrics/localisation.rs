//! Does an explanation point at the object? Localisation metrics against a ground-truth mask.
//!
//! Where the evidence for a class lies is sometimes known: in cluttered MNIST it is the labelled
//! digit, not the clutter ([`crate::data::DigitLocations`] gives its ink and its box). Then one can
//! measure how much of an explanation `R` (one map per image) falls on the mask `M`:
//!
//! * **pointing game** (Zhang et al. 2018, "Top-down neural attention by excitation backprop"):
//!   1 if the map's largest value lies in `M`, else 0 (the paper also accepts a peak within 15
//!   pixels of the object on ImageNet-sized images; here, as in Quantus, the mask is taken as it
//!   is — widen it for a tolerance);
//! * **relevance mass accuracy** (Arras, Osman & Samek 2022, "CLEVR-XAI"): the share of the
//!   map's positive relevance inside `M`, `Σ_{i∈M} R_i⁺ / Σ_i R_i⁺`;
//! * **relevance rank accuracy** (same paper): with `K = |M|`, the share of the `K` highest
//!   values that lie in `M`;
//! * **ROC AUC** (as Quantus' `AUC`): the probability that a pixel of `M` gets a higher value than
//!   a pixel outside it, ties counting ½ (the Mann–Whitney statistic, equal to the area under the
//!   ROC curve of `R` as a detector of `M`).
//!
//! A map of independent random values scores, in expectation, the mask's share of the image on
//! the first three and ½ on the AUC ([`LocalisationMean::chance`]).
//!
//! Conventions, where the papers leave a choice (differences from Quantus 0.6 noted):
//!
//! * mass accuracy counts positive relevance only, as Arras et al. do (Quantus sums the raw
//!   values by default; on a non-negative map, such as Grad-CAM's, the two agree); a map with no
//!   positive value scores 0;
//! * the pointing game scores a hit when any of the tied maxima lies in `M` (as Quantus); a map
//!   whose maximum is not positive (an all-zero map) points nowhere and misses (Quantus: a hit);
//! * rank accuracy splits a tie at the `K`-th value in proportion, the expected score over random
//!   tie-breaking (Quantus: the order of `argsort`; without ties the two agree);
//! * an empty mask, a mask covering the whole image and a non-finite map value are errors that
//!   name the image (Quantus: NaN).
//!
//! Maps and masks have the same shape `[N, ...]`, and every value counts as one pixel: for maps
//! with several channels, reduce them first (e.g. sum `R` over the channels) and pass one-channel
//! masks, or the counts (`K`, the chance level) are in channel-pixels.
//!
//! Everything is computed on the host in `f64`. Notebook: `4.3 Grad-CAM++`, §6.

use candle_core::Tensor;

use super::complexity::gini;
use super::evaluate::num;
use super::{check_finite, host, per_image};
use crate::{bail, Result};

/// Per-image localisation scores of a batch of maps ([`localisation`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalisationScores {
    /// Pointing game: 1 for a hit, 0 for a miss.
    pub pointing: Vec<f32>,
    /// Relevance mass accuracy, in `[0, 1]`.
    pub mass: Vec<f32>,
    /// Relevance rank accuracy, in `[0, 1]`.
    pub rank: Vec<f32>,
    /// ROC AUC, in `[0, 1]`.
    pub auc: Vec<f32>,
}

/// The four scores averaged over images.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalisationMean {
    /// Share of hits of the pointing game.
    pub pointing: f32,
    /// Mean relevance mass accuracy.
    pub mass: f32,
    /// Mean relevance rank accuracy.
    pub rank: f32,
    /// Mean ROC AUC.
    pub auc: f32,
}

fn mean(v: &[f32]) -> f32 {
    (v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64) as f32
}

impl LocalisationScores {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.pointing.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.pointing.is_empty()
    }

    /// The mean of each score over the images.
    pub fn mean(&self) -> LocalisationMean {
        LocalisationMean {
            pointing: mean(&self.pointing),
            mass: mean(&self.mass),
            rank: mean(&self.rank),
            auc: mean(&self.auc),
        }
    }
}

impl LocalisationMean {
    /// What a map of independent random values scores in expectation on `masks`: the mean share
    /// of the image that the mask covers for the pointing game, mass and rank accuracy, ½ for
    /// the AUC.
    pub fn chance(masks: &Tensor) -> Result<LocalisationMean> {
        Ok(Masks::new(masks)?.chance())
    }
}

/// A `[N, ...]` mask tensor on the host (non-zero = inside), checked once, scored against many
/// maps.
#[derive(Debug, Clone)]
struct Masks {
    dims: Vec<usize>,
    /// Images and pixels per image.
    n: usize,
    m: usize,
    bits: Vec<bool>,
}

impl Masks {
    fn new(masks: &Tensor) -> Result<Masks> {
        let (n, values) = per_image("localisation", "masks", masks)?;
        let bits: Vec<bool> = values.into_iter().map(|v| v != 0.0).collect();
        Ok(Masks {
            dims: masks.dims().to_vec(),
            n,
            m: bits.len() / n,
            bits,
        })
    }

    fn chance(&self) -> LocalisationMean {
        let covered = self.bits.iter().filter(|&&b| b).count() as f64;
        let share = (covered / (self.n * self.m) as f64) as f32;
        LocalisationMean {
            pointing: share,
            mass: share,
            rank: share,
            auc: 0.5,
        }
    }

    /// The values of `maps`, which must have the masks' shape, on the host.
    fn values_of(&self, maps: &Tensor) -> Result<Vec<f32>> {
        if maps.dims() != self.dims.as_slice() {
            bail!(
                "localisation: maps {:?} and masks {:?} must have the same shape",
                maps.dims(),
                self.dims
            );
        }
        host(maps)
    }

    /// The scores of the maps `values` (as [`values_of`](Self::values_of) returns them).
    fn score(&self, values: &[f32]) -> Result<LocalisationScores> {
        let (n, m) = (self.n, self.m);
        let mut out = LocalisationScores {
            pointing: Vec::with_capacity(n),
            mass: Vec::with_capacity(n),
            rank: Vec::with_capacity(n),
            auc: Vec::with_capacity(n),
        };
        for i in 0..n {
            let (a, mask) = (&values[i * m..(i + 1) * m], &self.bits[i * m..(i + 1) * m]);
            let k = mask.iter().filter(|&&b| b).count();
            if k == 0 {
                bail!("localisation: the mask of image {i} is empty");
            }
            if k == m {
                bail!(
                    "localisation: the mask of image {i} covers the whole image; nothing is left \
                     to tell it from"
                );
            }
            check_finite("localisation", i, a)?;
            out.pointing.push(pointing_game(a, mask));
            out.mass.push(mass_accuracy(a, mask));
            out.rank.push(rank_accuracy(a, mask, k));
            out.auc.push(roc_auc(a, mask, k));
        }
        Ok(out)
    }
}

/// The localisation scores of `maps` (`[N, ...]`, one map per image) against `masks` of the
/// same shape (non-zero = the object).
pub fn localisation(maps: &Tensor, masks: &Tensor) -> Result<LocalisationScores> {
    let masks = Masks::new(masks)?;
    masks.score(&masks.values_of(maps)?)
}

/// 1 if a maximum of `a` lies in the mask and is positive, else 0.
fn pointing_game(a: &[f32], mask: &[bool]) -> f32 {
    let max = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let hit = max > 0.0 && a.iter().zip(mask).any(|(&v, &inside)| inside && v == max);
    hit as u8 as f32
}

/// `Σ_{mask} a⁺ / Σ a⁺`, 0 without positive values.
fn mass_accuracy(a: &[f32], mask: &[bool]) -> f32 {
    let (mut inside, mut total) = (0f64, 0f64);
    for (&v, &b) in a.iter().zip(mask) {
        let v = (v as f64).max(0.0);
        total += v;
        if b {
            inside += v;
        }
    }
    if total > 0.0 {
        (inside / total) as f32
    } else {
        0.0
    }
}

/// The share of the `k` highest values in the mask, a tie at the `k`-th value split in
/// proportion.
fn rank_accuracy(a: &[f32], mask: &[bool], k: usize) -> f32 {
    let mut sorted = a.to_vec();
    let (_, &mut kth, _) = sorted.select_nth_unstable_by(k - 1, |x, y| y.total_cmp(x));
    let (mut above, mut above_in, mut tied, mut tied_in) = (0usize, 0usize, 0usize, 0usize);
    for (&v, &b) in a.iter().zip(mask) {
        if v > kth {
            above += 1;
            above_in += b as usize;
        } else if v == kth {
            tied += 1;
            tied_in += b as usize;
        }
    }
    let credit = above_in as f64 + (k - above) as f64 * tied_in as f64 / tied as f64;
    (credit / k as f64) as f32
}

/// `P(a_i > a_j) + ½ P(a_i = a_j)` for `i` in the mask and `j` outside it, by midranks.
fn roc_auc(a: &[f32], mask: &[bool], k: usize) -> f32 {
    let mut order: Vec<usize> = (0..a.len()).collect();
    order.sort_unstable_by(|&x, &y| a[x].total_cmp(&a[y]));
    let mut rank_sum = 0f64; // sum of the mask pixels' 1-based midranks
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && a[order[end]] == a[order[start]] {
            end += 1;
        }
        let midrank = (start + 1 + end) as f64 / 2.0;
        let inside = order[start..end].iter().filter(|&&p| mask[p]).count();
        rank_sum += midrank * inside as f64;
        start = end;
    }
    let (pos, neg) = (k as f64, (a.len() - k) as f64);
    ((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)) as f32
}

/// One method's row of a [`LocalisationTable`].
#[derive(Debug, Clone)]
pub struct LocalisationRow {
    /// The method's name as the table prints it.
    pub method: String,
    /// Its scores averaged over the images.
    pub mean: LocalisationMean,
    /// Mean sparseness (Gini index of `|R|`, [`super::complexity::sparseness`]).
    pub sparseness: f32,
}

/// Localisation scores of several methods against one set of masks, as a table.
///
/// ```no_run
/// # use nnviz_core::prelude::*;
/// # use nnviz_core::metrics::LocalisationTable;
/// # fn main() -> nnviz_core::Result<()> {
/// let data = Dataset::cluttered()?;
/// let at = ClutteredConfig::default().digit_locations(&Dataset::mnist()?)?.test.take(100);
/// let (net, x) = (zoo::trained("H")?, data.test_x.narrow(0, 0, 100)?);
/// let mut table = LocalisationTable::new("the labelled digit's ink", &at.ink(0.0)?)?;
/// table.add("Grad-CAM", &GradCam::new("relu3").attribute(&net, &x, &Target::predicted())?)?;
/// println!("{table}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct LocalisationTable {
    /// What the masks are (printed in the caption).
    pub mask: String,
    /// The number of images.
    pub images: usize,
    /// What random maps would score.
    pub chance: LocalisationMean,
    /// One row per [`add`](Self::add)ed method, in order.
    pub rows: Vec<LocalisationRow>,
    masks: Masks,
}

impl LocalisationTable {
    /// An empty table against `masks` (`[N, ...]`), described as `mask`.
    pub fn new(mask: impl Into<String>, masks: &Tensor) -> Result<LocalisationTable> {
        let masks = Masks::new(masks)?;
        Ok(LocalisationTable {
            mask: mask.into(),
            images: masks.n,
            chance: masks.chance(),
            rows: Vec::new(),
            masks,
        })
    }

    /// Scores `maps` (the same shape as the masks) and adds them as the row `method`; returns
    /// the per-image scores.
    pub fn add(&mut self, method: impl Into<String>, maps: &Tensor) -> Result<LocalisationScores> {
        let values = self.masks.values_of(maps)?;
        let scores = self.masks.score(&values)?;
        let sparse: Vec<f32> = values.chunks_exact(self.masks.m).map(gini).collect();
        self.rows.push(LocalisationRow {
            method: method.into(),
            mean: scores.mean(),
            sparseness: mean(&sparse),
        });
        Ok(scores)
    }

    /// The table in Markdown (a caption line, then the table, then the chance level).
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "Localisation on {} images against {}. Chance level: what a map of random values \
             scores in expectation.\n\n",
            self.images, self.mask
        );
        out.push_str(
            "| method | pointing game ↑ | mass accuracy ↑ | rank accuracy ↑ | ROC AUC ↑ | sparseness |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|---:|\n");
        let row = |name: &str, m: &LocalisationMean, sparse: String| {
            format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                name.replace('|', "\\|"),
                num(m.pointing as f64),
                num(m.mass as f64),
                num(m.rank as f64),
                num(m.auc as f64),
                sparse
            )
        };
        for r in &self.rows {
            out.push_str(&row(&r.method, &r.mean, num(r.sparseness as f64)));
        }
        out.push_str(&row("chance level", &self.chance, "—".to_string()));
        out
    }

    /// Shows the table as Markdown in an evcxr notebook.
    pub fn evcxr_display(&self) {
        super::show_markdown(&self.to_markdown());
    }
}

impl std::fmt::Display for LocalisationTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_markdown())
    }
}
