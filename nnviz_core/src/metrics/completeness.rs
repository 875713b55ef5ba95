//! Completeness (also called conservation, summation-to-delta, efficiency): some methods promise
//! that the relevance adds up to the explained score,
//!
//! `Σ_i R_i(x) = s(x) − s(x̄)`,
//!
//! with `x̄` the method's reference: integrated gradients (Sundararajan et al. 2017), DeepLIFT
//! (Shrikumar et al. 2017); `s(x̄)` is dropped for LRP and deep Taylor, whose relevance is
//! conserved from `s(x)` itself (Bach et al. 2015; Montavon et al. 2017), and for gradient × input
//! on a ReLU network without biases (positively homogeneous, so `s(0) = 0`).
//! The error reported is `δ_n = Σ_i R_i(x_n) − (s(x_n) − s(x̄_n))`, and its mean magnitude
//! relative to the mean magnitude of the explained difference, `mean|δ| / mean|s(x) − s(x̄)|`
//! (`NaN` when that difference is zero for every image).

use candle_core::Tensor;

use super::{classes, host, scores};
use crate::methods::Baseline;
use crate::{bail, Network, Result, Target};

/// What a method promises its relevance sums to.
#[derive(Debug, Clone, Default)]
pub enum Completeness {
    /// Nothing (saliency, SmoothGrad, Grad-CAM): no completeness error is reported.
    #[default]
    None,
    /// `Σ_i R_i = s(x)` (LRP, deep Taylor; gradient × input on bias-free ReLU networks).
    Output,
    /// `Σ_i R_i = s(x) − s(x̄)` with this reference `x̄` (integrated gradients, DeepLIFT).
    Baseline(Baseline),
}

/// The completeness error of one method on a batch.
#[derive(Debug, Clone)]
pub struct CompletenessError {
    /// `δ_n = Σ_i R_i(x_n) − (s(x_n) − s(x̄_n))` per image.
    pub delta: Vec<f32>,
    /// `mean_n |δ_n|`.
    pub mean_abs: f32,
    /// `mean_n |δ_n| / mean_n |s(x_n) − s(x̄_n)|`.
    pub relative: f32,
}

/// The completeness error of the explanations `maps` of `x`, or `None` when the method promises
/// nothing.
pub fn completeness_error(
    promise: &Completeness,
    net: &Network,
    x: &Tensor,
    maps: &Tensor,
    target: &Target,
) -> Result<Option<CompletenessError>> {
    if maps.dims() != x.dims() {
        bail!(
            "completeness: explanations {:?} do not match the inputs {:?}",
            maps.dims(),
            x.dims()
        );
    }
    let cls = classes(target, net, x)?;
    let n = x.dim(0)?;
    let s_x = scores(net, x, &cls, target.score, n.max(1))?;
    let s_ref = match promise {
        Completeness::None => return Ok(None),
        Completeness::Output => vec![0f32; n],
        Completeness::Baseline(b) => scores(net, &b.for_input(x)?, &cls, target.score, n.max(1))?,
    };
    let sums = host(&maps.flatten_from(1)?.sum(1)?)?;
    let delta: Vec<f32> = (0..n).map(|i| sums[i] - (s_x[i] - s_ref[i])).collect();
    let nf = n.max(1) as f64;
    let mean_abs = delta.iter().map(|d| d.abs() as f64).sum::<f64>() / nf;
    let scale = (0..n)
        .map(|i| (s_x[i] - s_ref[i]).abs() as f64)
        .sum::<f64>()
        / nf;
    let relative = if scale > 0.0 {
        (mean_abs / scale) as f32
    } else {
        f32::NAN
    };
    Ok(Some(CompletenessError {
        delta,
        mean_abs: mean_abs as f32,
        relative,
    }))
}
