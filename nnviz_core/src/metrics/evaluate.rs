//! One table for every attribution method: AOPC (selectivity), infidelity, faithfulness
//! correlation, continuity,
//! max-sensitivity, the randomisation sanity check, the completeness error, and the time to
//! explain a batch.
//!
//! A method enters the table by one line in its list of [`Method`]s (see [`standard_methods`]):
//!
//! ```no_run
//! # fn main() -> nnviz_core::Result<()> {
//! use nnviz_core::metrics::{evaluate, standard_methods, Evaluation, Method};
//! use nnviz_core::prelude::*;
//! let net = zoo::trained("D2")?;
//! let data = Dataset::mnist()?;
//! let x = data.test_x.narrow(0, 0, 100)?;
//! let mut methods = standard_methods();
//! methods.push(Method::new("my method", InputXGradient));
//! let table = evaluate(&net, &x, &Target::predicted(), &methods, &Evaluation::default())?;
//! println!("{}", table.to_markdown());
//! table.save("results")?; // results/evaluation.md and results/evaluation.csv, atomically
//! # Ok(())
//! # }
//! ```
//!
//! Columns (each documented in its module):
//! * **AOPC** ([`super::selectivity`]): area over the pixel-flipping curve of `N` images,
//!   most relevant patch first; higher is better. Next to it, AOPC minus the AOPC of a seeded
//!   random removal order on the same images (the table's `random order` row).
//! * **infidelity** ([`super::infidelity`]): mean squared error between the score change the
//!   best-scaled map predicts when a random 4×4 square is removed and the change that happens
//!   (50 squares per image), on the same `N` images and maps; lower is better.
//! * **faithfulness correlation** ([`super::faithfulness`]): Pearson correlation between the
//!   map's sum over a random subset of 224 pixels and the score drop when they are set to 0
//!   (100 subsets per image, Quantus's defaults), on the same `N` images and maps; higher is
//!   better.
//! * **continuity** ([`super::continuity`]): mean local Lipschitz estimate of the L1-normalised
//!   map along horizontal translations; lower is better.
//! * **max-sensitivity** ([`super::sensitivity`]): the largest relative change of the map under
//!   10 uniform perturbations of radius 0.02; lower is better (a constant map scores 0, so read
//!   it next to the faithfulness columns).
//! * **randomisation ρ** ([`super::randomisation`]): mean Spearman rank correlation between
//!   `|R|` of the trained model and of the model with every layer randomised; lower is better.
//!   Computed on the logit (`Score::Logit`) whatever the table's score: with `ReLU(z_c)` a
//!   random network's negative logits would give all-zero maps and pass the check for nothing.
//! * **completeness error** ([`super::completeness`]): `mean|δ| / mean|s(x) − s(x̄)|`, only for
//!   methods that promise completeness.
//! * **ms / batch**: wall time of one `attribute` call on the `N` images (after a forward pass
//!   warmed the network), including the copy of the result to the host.

use std::path::Path;
use std::time::Instant;

use candle_core::Tensor;

use super::completeness::{completeness_error, Completeness};
use super::continuity::Continuity;
use super::faithfulness::FaithfulnessCorrelation;
use super::infidelity::{Infidelity, Perturbation};
use super::randomisation::ModelRandomisation;
use super::selectivity::PixelFlipping;
use super::sensitivity::Sensitivity;
use super::{classes, finite_mean, host};
use crate::attribution::{check_input, Attribution, Class, Score, Target};
use crate::data::atomic_write;
use crate::methods::{
    Baseline, GradCam, GradCamPlusPlus, GradientShap, GuidedGradCam, HiResCam, InputXGradient,
    IntegratedGradients, LayerCam, Occlusion, Saliency, ScoreCam, SmoothGrad, XGradCam,
};
use crate::relevance::{Deconvnet, DeepLift, DeepTaylor, GuidedBackprop, Lrp};
use crate::{bail, Network, Result};

/// A named attribution method and what it promises about completeness.
pub struct Method {
    /// The row label.
    pub name: String,
    pub attribution: Box<dyn Attribution>,
    pub completeness: Completeness,
}

impl Method {
    /// A method that promises no completeness.
    pub fn new(name: impl Into<String>, attribution: impl Attribution + 'static) -> Method {
        Method {
            name: name.into(),
            attribution: Box::new(attribution),
            completeness: Completeness::None,
        }
    }

    /// The same method, promising `completeness`.
    pub fn complete(mut self, completeness: Completeness) -> Method {
        self.completeness = completeness;
        self
    }
}

impl std::fmt::Debug for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Method")
            .field("name", &self.name)
            .field("completeness", &self.completeness)
            .finish()
    }
}

/// The methods of the library with their papers' defaults, one line each.
pub fn standard_methods() -> Vec<Method> {
    vec![
        Method::new("sensitivity (∂s/∂x)²", Saliency::sensitivity()),
        Method::new("saliency |∂s/∂x|", Saliency::absolute()),
        // Σ x ⊙ ∂s/∂x = s(x) holds for bias-free ReLU networks (positively homogeneous).
        Method::new("simple Taylor x ⊙ ∂s/∂x", InputXGradient).complete(Completeness::Output),
        Method::new("integrated gradients", IntegratedGradients::default())
            .complete(Completeness::Baseline(Baseline::Zero)),
        // complete in expectation (50 random points on the path from the black image)
        Method::new("GradientSHAP", GradientShap::default())
            .complete(Completeness::Baseline(Baseline::Zero)),
        Method::new("SmoothGrad", SmoothGrad::new(Saliency::default())),
        // relevance is conserved from s(x) down to the pixels (exactly without biases)
        Method::new("LRP ε/z⁺", Lrp::default()).complete(Completeness::Output),
        Method::new("deep Taylor (z⁺, z^B)", DeepTaylor::default()).complete(Completeness::Output),
        Method::new("DeepLIFT rescale", DeepLift::default())
            .complete(Completeness::Baseline(Baseline::Zero)),
        Method::new("guided backprop", GuidedBackprop),
        Method::new("deconvnet", Deconvnet),
        // on the last layer with a feature-map output
        Method::new("Grad-CAM", GradCam::default()),
        Method::new("Grad-CAM++", GradCamPlusPlus::default()),
        Method::new("XGrad-CAM", XGradCam::default()),
        Method::new("HiResCAM", HiResCam::default()),
        Method::new("LayerCAM", LayerCam::default()),
        Method::new("Score-CAM", ScoreCam::default()),
        Method::new("Guided Grad-CAM", GuidedGradCam::default()),
        // forward passes only: the drop when a 4×4 window (every 2 pixels) is blacked out
        Method::new("occlusion 4×4", Occlusion::default()),
    ]
}

/// Settings of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Pixel flipping on all `N` images (4×4 patches, 20 removals, fill 0).
    pub flipping: PixelFlipping,
    /// Seed of the random removal order.
    pub random_seed: u64,
    /// Translations for the continuity score (−5 … 5 pixels: the digit stays in the frame).
    pub continuity: Continuity,
    /// The first this many images are translated (each gives `shifts` explanations).
    pub continuity_images: usize,
    /// Randomisation settings.
    pub randomisation: ModelRandomisation,
    /// The first this many images are explained by the randomised model.
    pub randomisation_images: usize,
    /// Infidelity of every method's maps on all `N` images.
    pub infidelity: Infidelity,
    /// Faithfulness correlation settings (Quantus's defaults).
    pub faithfulness: FaithfulnessCorrelation,
    /// The first this many images' maps are scored (each costs `runs` perturbed forward passes).
    pub faithfulness_images: usize,
    /// Max-sensitivity settings.
    pub sensitivity: Sensitivity,
    /// The first this many images are perturbed (each gives `samples` explanations).
    pub sensitivity_images: usize,
}

impl Default for Evaluation {
    fn default() -> Self {
        Evaluation {
            flipping: PixelFlipping::default(),
            random_seed: 0,
            continuity: Continuity::around(5),
            continuity_images: 20,
            randomisation: ModelRandomisation::default(),
            randomisation_images: 20,
            infidelity: Infidelity::default(),
            faithfulness: FaithfulnessCorrelation::default(),
            faithfulness_images: 100,
            sensitivity: Sensitivity::default(),
            sensitivity_images: 20,
        }
    }
}

/// One method's row of the table.
#[derive(Debug, Clone)]
pub struct EvalRow {
    pub method: String,
    /// Mean AOPC, most relevant first.
    pub aopc: f32,
    /// `aopc` minus the random order's AOPC.
    pub aopc_over_random: f32,
    /// Mean pixel-flipping curve (`steps + 1` points).
    pub curve: Vec<f32>,
    /// Mean infidelity (lower is better).
    pub infidelity: f32,
    /// Mean faithfulness correlation (higher is better).
    pub faithfulness: f32,
    /// Mean continuity score (lower is better).
    pub continuity: f32,
    /// Mean max-sensitivity (lower is better).
    pub max_sensitivity: f32,
    /// Mean average sensitivity, from the same perturbations.
    pub avg_sensitivity: f32,
    /// Mean Spearman rank correlation of `|R|`, trained vs randomised model.
    pub randomisation_spearman: f32,
    /// Mean Pearson correlation of `R`, trained vs randomised model.
    pub randomisation_pearson: f32,
    /// Relative completeness error, for methods that promise completeness.
    pub completeness: Option<f32>,
    /// Milliseconds to explain the batch of `images`.
    pub ms_per_batch: f64,
}

/// The evaluation table.
#[derive(Debug, Clone)]
pub struct EvalTable {
    /// The network's name.
    pub model: String,
    /// The explained score.
    pub score: Score,
    /// Images in the pixel-flipping batch (and the timed batch).
    pub images: usize,
    pub settings: Evaluation,
    /// AOPC of the random removal order.
    pub random_aopc: f32,
    /// Mean curve of the random removal order.
    pub random_curve: Vec<f32>,
    pub rows: Vec<EvalRow>,
}

/// Numbers as the table prints them: 4 significant digits (scientific below 10⁻³), `n/a` for NaN.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    if v != 0.0 && v.abs() < 1e-3 {
        return format!("{v:.1e}");
    }
    let mag = if v == 0.0 {
        0
    } else {
        v.abs().log10().floor() as i32
    };
    let decimals = (3 - mag).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl EvalTable {
    fn caption(&self) -> String {
        let s = &self.settings;
        let shifts = &s.continuity.shifts;
        let perturbation = match s.infidelity.perturbation {
            Perturbation::Gaussian(sigma) => format!("Gaussian σ = {sigma}"),
            Perturbation::Square(k) => format!("{k}×{k} squares removed"),
        };
        format!(
            "Model {}, score {:?}. AOPC: {} images, {}×{} patches, {} removals, fill {}, \
             random order seed {}. Infidelity: {} images, {}, {} samples{}. Faithfulness \
             correlation: first {} images, {} subsets of {} values set to {}, seed {}. \
             Continuity: first \
             {} images, shifts {}…{}. Max-sensitivity: first {} images, {} samples of radius \
             {}{} (a sampling method's includes its own Monte Carlo error). Randomisation \
             ({:?}, seed {}): first {} images, all layers randomised, \
             Spearman of |R| on the logit. Time: one `attribute` call on {} images.",
            self.model,
            self.score,
            self.images,
            s.flipping.patch,
            s.flipping.patch,
            s.flipping.steps,
            s.flipping.fill,
            s.random_seed,
            self.images,
            perturbation,
            s.infidelity.samples,
            if s.infidelity.normalise {
                ", best-scaled maps"
            } else {
                ""
            },
            s.faithfulness_images.min(self.images),
            s.faithfulness.runs,
            s.faithfulness.subset_size,
            s.faithfulness.baseline,
            s.faithfulness.seed,
            s.continuity_images.min(self.images),
            shifts.first().copied().unwrap_or(f32::NAN),
            shifts.last().copied().unwrap_or(f32::NAN),
            s.sensitivity_images.min(self.images),
            s.sensitivity.samples,
            s.sensitivity.radius,
            if s.sensitivity.normalise {
                ", relative to ‖R‖₂"
            } else {
                ""
            },
            s.randomisation.mode,
            s.randomisation.seed,
            s.randomisation_images.min(self.images),
            self.images,
        )
    }

    /// The table in Markdown (a caption line with the settings, then the table).
    pub fn to_markdown(&self) -> String {
        let mut out = format!("{}\n\n", self.caption());
        out.push_str(&format!(
            "| method | AOPC ↑ | AOPC − random ↑ | infidelity ↓ | faithfulness corr. ↑ | \
             continuity ↓ | max-sensitivity ↓ | randomisation ρ ↓ | completeness error ↓ | \
             ms / batch of {} |\n",
            self.images
        ));
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |\n",
                r.method.replace('|', "\\|"),
                num(r.aopc as f64),
                num(r.aopc_over_random as f64),
                num(r.infidelity as f64),
                num(r.faithfulness as f64),
                num(r.continuity as f64),
                num(r.max_sensitivity as f64),
                num(r.randomisation_spearman as f64),
                r.completeness.map_or("—".to_string(), |c| num(c as f64)),
                r.ms_per_batch,
            ));
        }
        out.push_str(&format!(
            "| random order (baseline) | {} | 0 | — | — | — | — | — | — | — |\n",
            num(self.random_aopc as f64)
        ));
        out
    }

    /// The table as CSV (header line, one line per method, then the random order).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "method,aopc,aopc_over_random,infidelity,faithfulness_correlation,continuity,\
             max_sensitivity,\
             avg_sensitivity,randomisation_spearman,randomisation_pearson,completeness_error,\
             ms_per_batch,batch\n",
        );
        let f = |v: f32| {
            if v.is_finite() {
                format!("{v}")
            } else {
                String::new()
            }
        };
        for r in &self.rows {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{:.1},{}\n",
                csv_field(&r.method),
                f(r.aopc),
                f(r.aopc_over_random),
                f(r.infidelity),
                f(r.faithfulness),
                f(r.continuity),
                f(r.max_sensitivity),
                f(r.avg_sensitivity),
                f(r.randomisation_spearman),
                f(r.randomisation_pearson),
                r.completeness.map_or(String::new(), f),
                r.ms_per_batch,
                self.images
            ));
        }
        out.push_str(&format!(
            "random order (baseline),{},0,,,,,,,,,,{}\n",
            f(self.random_aopc),
            self.images
        ));
        out
    }

    /// Writes `dir/evaluation.md` and `dir/evaluation.csv`, each atomically.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        atomic_write(&dir.join("evaluation.md"), self.to_markdown().as_bytes())?;
        atomic_write(&dir.join("evaluation.csv"), self.to_csv().as_bytes())
    }

    /// Shows the table as Markdown in an evcxr notebook.
    pub fn evcxr_display(&self) {
        super::show_markdown(&self.to_markdown());
    }
}

impl std::fmt::Display for EvalTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_markdown())
    }
}

/// Evaluates every method of `methods` on the images `x` (`[N, C, H, W]`) for `target`
/// (classes resolved on the clean images) and returns the table.
pub fn evaluate(
    net: &Network,
    x: &Tensor,
    target: &Target,
    methods: &[Method],
    cfg: &Evaluation,
) -> Result<EvalTable> {
    check_input("evaluate", net, x)?;
    if methods.is_empty() {
        bail!("evaluate: no methods given");
    }
    let n = x.dim(0)?;
    if n == 0 {
        bail!("evaluate: no images given");
    }
    // Before any work: the faithfulness column comes after every other metric.
    cfg.faithfulness
        .check_subset_size("evaluate (Evaluation::faithfulness)", x.elem_count() / n)?;
    let cls = classes(target, net, x)?;
    let t = Target {
        class: Class::PerExample(cls.clone()),
        score: target.score,
    };
    let random = cfg.flipping.run_random(net, x, &t, cfg.random_seed)?;
    let nc = cfg.continuity_images.clamp(1, n);
    let nr = cfg.randomisation_images.clamp(1, n);
    let ns = cfg.sensitivity_images.clamp(1, n);
    let nf = cfg.faithfulness_images.clamp(1, n);
    let (xc, xr, xs, xf) = (
        x.narrow(0, 0, nc)?,
        x.narrow(0, 0, nr)?,
        x.narrow(0, 0, ns)?,
        x.narrow(0, 0, nf)?,
    );
    let first = |k: usize| Target {
        class: Class::PerExample(cls[..k].to_vec()),
        score: t.score,
    };
    let (tc, ts, tf) = (first(nc), first(ns), first(nf));
    let tr = Target {
        class: Class::PerExample(cls[..nr].to_vec()),
        score: Score::Logit,
    };
    // Warm up: the first forward pass allocates; do not count it against the first method.
    host(&net.forward(&x.narrow(0, 0, 1)?)?)?;
    let mut rows = Vec::with_capacity(methods.len());
    for m in methods {
        let a = m.attribution.as_ref();
        let start = Instant::now();
        let maps = a.attribute(net, x, &t)?;
        host(&maps.sum_all()?)?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let flip = if cfg.flipping.recompute {
            cfg.flipping.run(a, net, x, &t)?
        } else {
            cfg.flipping.run_with_maps(net, x, &maps, &t)?
        };
        let infidelity = cfg.infidelity.score(net, x, &maps, &t)?.mean();
        let faithfulness = cfg
            .faithfulness
            .score(net, &xf, &maps.narrow(0, 0, nf)?, &tf)?
            .mean();
        let continuity = cfg.continuity.score(a, net, &xc, &tc)?.mean;
        let sensitivity = cfg.sensitivity.score(a, net, &xs, &ts)?;
        let (sp, pe) = cfg.randomisation.fully_randomised(a, net, &xr, &tr, None)?;
        let completeness =
            completeness_error(&m.completeness, net, x, &maps, &t)?.map(|c| c.relative);
        rows.push(EvalRow {
            method: m.name.clone(),
            aopc: flip.aopc,
            aopc_over_random: flip.aopc - random.aopc,
            curve: flip.mean,
            infidelity,
            faithfulness,
            continuity,
            max_sensitivity: sensitivity.mean_max(),
            avg_sensitivity: sensitivity.mean_average(),
            randomisation_spearman: finite_mean(&sp),
            randomisation_pearson: finite_mean(&pe),
            completeness,
            ms_per_batch: ms,
        });
    }
    Ok(EvalTable {
        model: net.name.clone(),
        score: t.score,
        images: n,
        settings: cfg.clone(),
        random_aopc: random.aopc,
        random_curve: random.mean,
        rows,
    })
}
