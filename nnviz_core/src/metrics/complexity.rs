//! How concentrated is an explanation? Complexity metrics of a map's magnitudes `|R|`.
//!
//! A map that spreads its relevance over every pixel is harder to read than one that names a few
//! (Chalasani et al. 2020; Bhatt, Weller & Moura 2020). Both measures look at `|R_i|` only, and
//! neither depends on the map's scale.
//!
//! * **sparseness** (Chalasani et al. 2020, "Concise explanations of neural networks using
//!   adversarial training"): the Gini index of `|R|`. With the values sorted ascending,
//!   `G = Σ_i (2i − n − 1) |R|_(i) / (n Σ_i |R_i|)`: 0 when every pixel is equal, `(n − 1)/n` when
//!   one pixel holds everything. Higher is sparser.
//! * **complexity** (Bhatt et al. 2020, "Evaluating and aggregating feature-based model
//!   explanations"): the entropy `−Σ_i p_i ln p_i` of the shares `p_i = |R_i| / Σ_j |R_j|`: 0 when
//!   one pixel holds everything, `ln n` when every pixel is equal. Lower is simpler.
//!
//! An all-zero map counts as equal everywhere (sparseness 0, complexity `ln n`), the limits of
//! a constant map. Quantus 0.6 (`Sparseness`, `Complexity`) computes the same on the
//! max-normalised `|R|`, up to the `10⁻⁷` it adds to every value of a sparseness input (and it
//! gives NaN for an all-zero map's complexity).

use candle_core::Tensor;

use super::{check_finite, per_image};
use crate::Result;

/// The maps of a `[N, ...]` batch on the host, image by image, each checked finite.
fn maps_of(op: &str, maps: &Tensor) -> Result<Vec<Vec<f32>>> {
    let (n, values) = per_image(op, "maps", maps)?;
    let m = values.len() / n;
    values
        .chunks_exact(m)
        .enumerate()
        .map(|(i, a)| {
            check_finite(op, i, a)?;
            Ok(a.to_vec())
        })
        .collect()
}

/// The Gini index of `|a|` (finite values): 0 when all are equal (or all zero), `(n − 1)/n` when
/// one holds everything.
pub(crate) fn gini(a: &[f32]) -> f32 {
    let mut a: Vec<f64> = a.iter().map(|&v| (v as f64).abs()).collect();
    let total: f64 = a.iter().sum();
    if total == 0.0 {
        return 0.0;
    }
    a.sort_unstable_by(f64::total_cmp);
    let n = a.len() as f64;
    let weighted: f64 = a
        .iter()
        .enumerate()
        .map(|(i, v)| (2.0 * (i + 1) as f64 - n - 1.0) * v)
        .sum();
    (weighted / (n * total)) as f32
}

/// The entropy of the shares `|a_i| / Σ|a|` (finite values), in nats; `ln n` for an all-zero `a`.
fn entropy(a: &[f32]) -> f32 {
    let a: Vec<f64> = a.iter().map(|&v| (v as f64).abs()).collect();
    let total: f64 = a.iter().sum();
    if total == 0.0 {
        return (a.len() as f64).ln() as f32;
    }
    let h: f64 = a
        .iter()
        .filter(|&&v| v > 0.0)
        .map(|v| {
            let p = v / total;
            -p * p.ln()
        })
        .sum();
    h as f32
}

/// The Gini index of `|R|` of each map of `maps` (`[N, ...]`): 0 (uniform) to `(n − 1)/n`
/// (one pixel).
pub fn sparseness(maps: &Tensor) -> Result<Vec<f32>> {
    Ok(maps_of("sparseness", maps)?
        .iter()
        .map(|a| gini(a))
        .collect())
}

/// The entropy of the shares `|R_i| / Σ|R|` of each map of `maps` (`[N, ...]`), in nats: 0 (one
/// pixel) to `ln n` (uniform).
pub fn complexity(maps: &Tensor) -> Result<Vec<f32>> {
    Ok(maps_of("complexity", maps)?
        .iter()
        .map(|a| entropy(a))
        .collect())
}
