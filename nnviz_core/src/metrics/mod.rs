//! How good is an explanation? Metrics for attribution maps, and one evaluation table.
//!
//! An explanation `R(x)` of a score `s(x)` (see [`crate::Target`]) should be
//!
//! * **continuous** ([`continuity`]): similar inputs get similar explanations. Montavon, Samek &
//!   Müller (2018, "Methods for interpreting and understanding deep neural networks", §7.1)
//!   measure it by `max_{x≠x'} ‖R(x) − R(x')‖₁ / ‖x − x'‖₂`, a local Lipschitz constant
//!   (Alvarez-Melis & Jaakkola 2018); the original tutorial translates a digit across the image
//!   and watches the relevance of each quadrant.
//! * **selective** ([`selectivity`]): removing what the explanation calls most relevant should
//!   make the score drop fast — pixel flipping (Bach et al. 2015) and region perturbation with the
//!   area over the perturbation curve, AOPC (Samek et al. 2017).
//! * **dependent on the model** ([`randomisation`]): the model-parameter randomisation test of
//!   Adebayo et al. (2018, "Sanity checks for saliency maps") — an explanation that barely changes
//!   when the weights are replaced by random ones does not explain the model.
//! * **complete** ([`completeness`]), where the method promises it: `Σ_i R_i = s(x) − s(x̄)`.
//! * **on the object** ([`localisation`](mod@localisation)), where a ground truth is known (cluttered MNIST's
//!   labelled digit): pointing game, relevance mass and rank accuracy, ROC AUC.
//! * **concise** ([`complexity`](mod@complexity)): sparseness (Gini index) and entropy of `|R|`.
//! * **robust** ([`sensitivity`]): max- and average-sensitivity (Yeh et al. 2019; Bhatt et al.
//!   2020) — how far the map moves when the input moves by a tiny random amount.
//! * **faithful** ([`infidelity`]): the expected squared error between the change of the score
//!   the map predicts for a random perturbation and the change that happens (Yeh et al. 2019);
//!   [`faithfulness`]: the correlation between the map's sums over random pixel subsets and the
//!   score drops when those subsets are removed (Bhatt et al. 2020).
//!
//! [`evaluate`](fn@evaluate) runs them all over a list of [`Method`]s and returns one [`EvalTable`] (Markdown
//! and CSV). Every perturbed input is evaluated in batches, many per forward pass.
//!
//! Notebooks: `5.1 Explanation Continuity`, `5.2 Explanation Selectivity`; localisation and
//! complexity in `4.3 Grad-CAM++`.

pub mod completeness;
pub mod complexity;
pub mod continuity;
pub mod evaluate;
pub mod faithfulness;
pub mod infidelity;
pub mod localisation;
pub mod randomisation;
pub mod selectivity;
pub mod sensitivity;

pub use completeness::{completeness_error, Completeness, CompletenessError};
pub use complexity::{complexity, sparseness};
pub use continuity::{translate, translate_batch, Continuity, ContinuityScore, TranslationSweep};
pub use evaluate::{evaluate, standard_methods, EvalRow, EvalTable, Evaluation, Method};
pub use faithfulness::{FaithfulnessCorrelation, FaithfulnessScore};
pub use infidelity::{Infidelity, InfidelityScore, Perturbation};
pub use localisation::{
    localisation, LocalisationMean, LocalisationRow, LocalisationScores, LocalisationTable,
};
pub use randomisation::{
    pearson, randomise_layers, spearman, ModelRandomisation, RandomisationMode, RandomisationStep,
};
pub use selectivity::{aopc, FlippingCurve, Order, PixelFlipping};
pub use sensitivity::{Sensitivity, SensitivityScore};

use candle_core::{DType, Device, Tensor};

use crate::attribution::{Class, Target};
use crate::{Network, Result};

/// A tensor's values as `f32` on the CPU, flattened (for reading scalars and small maps).
pub(crate) fn host(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.to_dtype(DType::F32)?
        .to_device(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// A `[N, ...]` batch of maps or masks on the host: `N` and the values, image after image. `op`
/// names the metric and `what` the tensor in the error for any other shape.
pub(crate) fn per_image(op: &str, what: &str, t: &Tensor) -> Result<(usize, Vec<f32>)> {
    let dims = t.dims();
    if dims.len() < 2 || dims.iter().product::<usize>() == 0 {
        crate::bail!(
            "{op}: {what} must be [N, ...] with at least one pixel per image, found {dims:?}"
        );
    }
    Ok((dims[0], host(t)?))
}

/// An error naming the first non-finite value of image `i`'s map `a`, if any.
pub(crate) fn check_finite(op: &str, i: usize, a: &[f32]) -> Result<()> {
    match a.iter().position(|v| !v.is_finite()) {
        Some(j) => crate::bail!(
            "{op}: the map of image {i} has a non-finite value ({}) at pixel {j}",
            a[j]
        ),
        None => Ok(()),
    }
}

/// The map `attributions` of the `[N, C, H, W]` input `x` on the host, checked: its values per
/// image (`C·H·W`, or `H·W` for a map broadcast over the channels, the CAMs') and the values.
/// Any other shape, or a non-finite value, is an error naming `op`.
pub(crate) fn host_map(op: &str, attributions: &Tensor, x: &Tensor) -> Result<(usize, Vec<f32>)> {
    let (n, c, h, w) = x.dims4()?;
    let ad = attributions.dims();
    if !(ad.len() == 4 && ad[0] == n && (ad[1] == c || ad[1] == 1) && ad[2..] == [h, w]) {
        crate::bail!(
            "{op}: the attributions must be [{n}, {c} or 1, {h}, {w}] for the input {:?}, found {ad:?}",
            x.dims()
        );
    }
    let per_image = ad[1] * h * w;
    let phi = host(attributions)?;
    for (i, a) in phi.chunks_exact(per_image).enumerate() {
        check_finite(op, i, a)?;
    }
    Ok((per_image, phi))
}

/// Shows a Markdown table in an evcxr notebook (evcxr's rich-output protocol on stdout).
pub(crate) fn show_markdown(markdown: &str) {
    println!("EVCXR_BEGIN_CONTENT text/markdown\n{markdown}\nEVCXR_END_CONTENT");
}

/// The class of every example of `x` that `target` explains (resolved on the clean input), so
/// that perturbed copies keep explaining the same class.
pub(crate) fn classes(target: &Target, net: &Network, x: &Tensor) -> Result<Vec<usize>> {
    match target.fixed_at(net, x)?.class {
        Class::PerExample(v) => Ok(v),
        // `fixed_at` always returns per-example classes; kept total without a panic.
        Class::Fixed(c) => Ok(vec![c; x.dim(0)?]),
        Class::Predicted => Ok(target.resolve(&net.forward(x)?)?),
    }
}

/// The target scores `s_n` of a batch whose example `n` explains `classes[n]`, evaluated
/// `batch_size` inputs per forward pass at most ([`crate::alloc::inputs_per_pass`]).
pub(crate) fn scores(
    net: &Network,
    x: &Tensor,
    classes: &[usize],
    score: crate::attribution::Score,
    batch_size: usize,
) -> Result<Vec<f32>> {
    let n = x.dim(0)?;
    let mut out = Vec::with_capacity(n);
    let step = crate::alloc::inputs_per_pass(net, batch_size)?;
    let mut start = 0;
    while start < n {
        let len = step.min(n - start);
        let t = Target {
            class: Class::PerExample(classes[start..start + len].to_vec()),
            score,
        };
        let s = t.score(&net.forward(&x.narrow(0, start, len)?)?)?;
        out.extend(host(&s)?);
        start += len;
    }
    Ok(out)
}

/// The mean of the finite values, `NaN` if there are none.
pub(crate) fn finite_mean(v: &[f32]) -> f32 {
    let (sum, count) = v
        .iter()
        .filter(|x| x.is_finite())
        .fold((0f64, 0usize), |(s, c), &x| (s + x as f64, c + 1));
    if count == 0 {
        f32::NAN
    } else {
        (sum / count as f64) as f32
    }
}

#[cfg(test)]
mod tests;
