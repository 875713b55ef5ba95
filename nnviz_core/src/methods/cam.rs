//! Class activation maps: CAM (Zhou et al. 2016, "Learning Deep Features for Discriminative
//! Localization"), Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep
//! Networks via Gradient-based Localization"), Grad-CAM++ (Chattopadhyay et al. 2018,
//! "Grad-CAM++: Generalized Gradient-based Visual Explanations for Deep Convolutional Networks"),
//! XGrad-CAM, HiResCAM, LayerCAM and Score-CAM; and Guided Grad-CAM, the product of guided
//! backpropagation and the upsampled Grad-CAM map ([`GuidedGradCam`]).
//!
//! All of them weigh the `K` feature maps `A_k` (`h × w`) of one layer and add them up,
//!
//! `L(i,j) = φ(Σ_k w_k A_k(i,j))`,
//!
//! then stretch `L` to the input's size. They differ in the weights `w_k` (for the explained
//! score `s`, e.g. the logit `z_c`) and in `φ`. Most weigh each channel with one number; HiResCAM
//! and LayerCAM weigh every location, `L(i,j) = φ(Σ_k w_k(i,j) A_k(i,j))`:
//!
//! * **CAM** needs a network that ends in global average pooling and a linear layer,
//!   `z_c = Σ_k W_ck · (1/Z) Σ_ij A_k(i,j) + b_c` with `Z = h·w`; then `w_k = W_ck` and `φ` is the
//!   identity, so the map's mean is exactly `z_c − b_c`: CAM *decomposes* the logit over
//!   locations.
//! * **Grad-CAM**: `w_k = (1/Z) Σ_ij ∂s/∂A_k(i,j)` (the spatially averaged gradient), `φ = ReLU`.
//!   On a GAP + linear head `∂z_c/∂A_k(i,j) = W_ck / Z`, hence Grad-CAM = ReLU(CAM) / Z.
//! * **XGrad-CAM** ([`XGradCam`], Fu et al. 2020): `w_k = Σ_ij (A_k(i,j) / Σ_ab A_k(a,b)) ∂s/∂A_k(i,j)`,
//!   `φ = ReLU`; without the ReLU the map sums to `Σ A ⊙ ∂s/∂A`, which is `s` on bias-free ReLU
//!   layers above `A`.
//! * **Grad-CAM++** explains `Y = exp(s)` and weighs each location by
//!   `α_ij^k = g² / (2g² + Σ_ab A_k(a,b) · g³)`, `g = ∂s/∂A_k(i,j)` (the paper's eq. 19: its
//!   higher derivatives of `Y` are `Y·gⁿ` because `Y` is an exponential, and second derivatives
//!   of a piecewise-linear network vanish), then `w_k = Σ_ij α_ij^k · ReLU(∂Y/∂A_k(i,j))`,
//!   `φ = ReLU`.
//! * **HiResCAM** ([`HiResCam`], Draelos & Carin 2020): `w_k(i,j) = ∂s/∂A_k(i,j)`, no averaging,
//!   `φ = ReLU`. Where the gradient is the same at every location (a GAP + linear head) its
//!   spatial mean is the gradient itself and HiResCAM *is* Grad-CAM (= ReLU(CAM) / Z); without
//!   the ReLU its map sums to `Σ A ⊙ ∂s/∂A` (the logit above bias-free positively homogeneous
//!   layers), which is `Z` times the sum of Grad-CAM's only when the gradient is constant.
//! * **LayerCAM** ([`LayerCam`], Jiang et al. 2021): `w_k(i,j) = ReLU(∂s/∂A_k(i,j))`,
//!   `φ = ReLU`: HiResCAM that keeps only the locations whose gradient raises the score.
//! * **Score-CAM** ([`ScoreCam`], Wang et al. 2020) uses no gradient: `w_k` is the score of the
//!   input masked by the upsampled, min–max normalised `A_k`, normalised by a softmax over the
//!   channels (pytorch-grad-cam's definition; see [`ScoreCam`] for the paper's), `φ = ReLU`.
//!
//! **Stabilised Grad-CAM++.** `∂Y/∂A = exp(s) · g`, so every weight of one example carries the
//! same positive factor `exp(s)` — the original notebook's maps reach 1e7…1e16 and overflow
//! `f32` for logits above ≈ 88. We drop that factor: `w_k = Σ_ij α_ij^k ReLU(g_ij)`, so our map is
//! the paper's divided by `exp(s)` (multiply by `exp(CamMap::score)` to get it back). A positive
//! factor changes neither the ReLU nor the picture (pytorch-grad-cam does the same). We also
//! cancel `g²`: `α = 1 / (2 + S_k g)` with `S_k = Σ_ab A_k(a,b)`, evaluated only where `g > 0`
//! (elsewhere `ReLU(g) = 0` removes the term, so we set `α = 0`: no `0/0`) and where
//! `2 + S_k g > 0` (always true for non-negative activations, e.g. after a ReLU; for a layer with
//! negative activations a non-positive denominator has no meaning as a weight, and we set
//! `α = 0` there too). Every quantity is then a finite sum of finite terms.
//!
//! **Shapes.** [`crate::Attribution::attribute`] returns `[N, 1, H, W]`: one map per example at the
//! input's spatial size `H × W` and a single channel, since a class activation map scores
//! locations, not input channels (for a `C`-channel input it broadcasts against `x`). The map
//! at the layer's own resolution, with the weights, is [`CamMap`] from each method's `map`.
//!
//! **Upsampling** ([`upsample_bilinear`]) is bilinear with a documented corner convention
//! ([`Corners`]): [`Corners::Aligned`] (the default and the original's
//! `resize_bilinear(align_corners=True)`) samples output pixel `i` at source coordinate
//! `i·(h−1)/(H−1)`, so the corner pixels of both grids coincide; [`Corners::HalfPixel`]
//! (PyTorch's `align_corners=False`, OpenCV's `resize`) at `(i+½)·h/H − ½`, clamped to
//! `[0, h−1]`.
//!
//! Notebooks: `4.1 CAM`, `4.2 Grad-CAM` (with XGrad-CAM, HiResCAM, LayerCAM and Score-CAM),
//! `4.3 Grad-CAM++`.

use candle_core::Tensor;

use crate::attribution::{check_input, Target};
use crate::grad::layer_vjp;
use crate::{bail, Error, Network, Result};

mod gap_head;
mod gradient;
mod guided;
mod plus_plus;
mod score_cam;
#[cfg(test)]
mod tests;
mod upsample;

pub use gap_head::Cam;
pub use gradient::{GradCam, HiResCam, LayerCam, XGradCam};
pub use guided::GuidedGradCam;
pub use plus_plus::GradCamPlusPlus;
pub use score_cam::ScoreCam;
pub use upsample::{upsample_bilinear, Corners};

/// A class activation map at the resolution of the layer it was computed on.
#[derive(Debug, Clone)]
pub struct CamMap {
    /// The layer whose output `A` was weighed (`"input"` if it is the network's input).
    pub layer: String,
    /// `L = φ(Σ_k w_k A_k)`, `[N, 1, h, w]`.
    pub map: Tensor,
    /// The weights that multiply `A`, so that `map = φ(Σ_k weights_k ⊙ A_k)` for every method:
    /// the channel weights `w_k` of every example, `[N, K]`, for the channel-weighted CAMs (CAM,
    /// Grad-CAM, Grad-CAM++, XGrad-CAM, Score-CAM); the location weights `w_k(i,j)`,
    /// `[N, K, h, w]` like `A`, for the location-weighted [`HiResCam`] (`∂s/∂A`) and
    /// [`LayerCam`] (`ReLU(∂s/∂A)`). Tell them apart by the rank.
    pub weights: Tensor,
    /// The explained scores `s_n`, `[N]`.
    pub score: Tensor,
    /// The logits, `[N, classes]`.
    pub logits: Tensor,
}

impl CamMap {
    /// The map stretched to `size = (H, W)`: `[N, 1, H, W]`.
    pub fn upsample(&self, size: (usize, usize), corners: Corners) -> Result<Tensor> {
        upsample_bilinear(&self.map, size, corners)
    }
}

/// `Σ_k w_k A_k` for `a` `[N, K, h, w]` and channel weights `w` `[N, K]`, or
/// `Σ_k w_k ⊙ A_k` for location weights `w` `[N, K, h, w]`: `[N, 1, h, w]`.
fn weighted_sum(a: &Tensor, w: &Tensor) -> Result<Tensor> {
    if w.rank() == 4 {
        check_pair("cam", a, w)?;
        if cam_kernels(&[a, w]) {
            return crate::kernels::location_weighted_sum(a, w);
        }
        // The channel sum as a product with a row of ones, [1, K] · [N, K, h·w]: a matrix
        // product runs ~30× faster than candle's reduction over the middle axis on the CPU.
        let (n, k, h, wd) = a.dims4()?;
        let ones = Tensor::ones((1, k), a.dtype(), a.device())?;
        let terms = (a * w)?.reshape((n, k, h * wd))?;
        return Ok(ones.broadcast_matmul(&terms)?.reshape((n, 1, h, wd))?);
    }
    if cam_kernels(&[a, w]) {
        return crate::kernels::weighted_channel_sum(a, w);
    }
    let (n, k, _, _) = a.dims4()?;
    let w = w.reshape((n, k, 1, 1))?;
    Ok(a.broadcast_mul(&w)?.sum_keepdim(1)?)
}

/// Whether the one-pass CPU kernels of `crate::kernels` compute the weights and sums.
fn cam_kernels(tensors: &[&Tensor]) -> bool {
    crate::kernels::switches().cam && crate::kernels::supports(tensors)
}

/// The `[N, 1, H, W]` map for the input `x` from a low-resolution map.
fn to_input_size(m: &CamMap, x: &Tensor, corners: Corners) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    m.upsample((h, w), corners)
}

/// Output shapes (without batch) of every layer of `net`.
fn layer_shapes(net: &Network) -> Result<Vec<Vec<usize>>> {
    net.spec()?.shapes()
}

/// The index of the layer whose output a gradient CAM weighs: `name`, or by default the last
/// layer with a feature-map (`[K, h, w]`) output.
fn feature_layer(op: &str, net: &Network, name: Option<&str>) -> Result<usize> {
    let shapes = layer_shapes(net)?;
    let maps: Vec<&str> = net
        .layers
        .iter()
        .zip(&shapes)
        .filter(|(_, s)| s.len() == 3)
        .map(|(l, _)| l.name.as_str())
        .collect();
    match name {
        Some(name) => {
            let i = net
                .layer_index(name)
                .map_err(|e| Error::invalid(format!("{op}: {e}")))?;
            if shapes[i].len() != 3 {
                bail!(
                    "{op}: layer {name} ({}) of network {} outputs {:?}, not a feature map [K, h, w]; layers with feature maps are [{}]",
                    net.layers[i].layer.kind(),
                    net.name,
                    shapes[i],
                    maps.join(", ")
                );
            }
            Ok(i)
        }
        None => shapes.iter().rposition(|s| s.len() == 3).ok_or_else(|| {
            Error::invalid(format!(
                "{op}: network {} has no layer with a feature-map output [K, h, w]",
                net.name
            ))
        }),
    }
}

/// An error unless the activations `a` and gradients `g` are both `[N, K, h, w]`.
fn check_pair(op: &str, a: &Tensor, g: &Tensor) -> Result<()> {
    if a.dims() != g.dims() || a.rank() != 4 {
        bail!(
            "{op}: activations {:?} and gradients {:?} must both be [N, K, h, w]",
            a.dims(),
            g.dims()
        );
    }
    Ok(())
}

/// The map `φ(Σ_k w_k A_k)` of a gradient-weighted CAM whose weights (`[N, K]` per channel, or
/// `[N, K, h, w]` per location) are `weights(A, ∂s/∂A)`, `A` the output of layer `layer` (see
/// [`feature_layer`]).
fn gradient_cam(
    op: &str,
    layer: Option<&str>,
    relu: bool,
    net: &Network,
    x: &Tensor,
    target: &Target,
    weights: impl Fn(&Tensor, &Tensor) -> Result<Tensor>,
) -> Result<CamMap> {
    check_input(op, net, x)?;
    let i = feature_layer(op, net, layer)?;
    let lg = layer_vjp(net, x, i, target)?;
    let w = weights(&lg.activation, &lg.grad)?;
    let map = weighted_sum(&lg.activation, &w)?;
    Ok(CamMap {
        layer: net.layers[i].name.clone(),
        map: if relu { map.relu()? } else { map },
        weights: w,
        score: lg.score,
        logits: lg.logits,
    })
}
