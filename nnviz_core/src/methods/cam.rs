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
//! **Shapes.** [`Attribution::attribute`] returns `[N, 1, H, W]`: one map per example at the
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

use crate::attribution::{check_input, Attribution, Class, Score, Target};
use crate::grad::layer_vjp;
use crate::kernels::CamWeighting;
use crate::model::{Layer, Padding};
use crate::{bail, Error, Network, Result};

#[cfg(test)]
mod tests;
mod upsample;

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

/// Class activation mapping (Zhou et al. 2016) for networks that end in global average pooling
/// and a linear layer: `CAM_c(i,j) = Σ_k W_ck A_k(i,j)`, `A` = the pooled feature maps, `W` the
/// linear layer's weight. No ReLU, no normalisation (as the paper and the original): negative
/// values are locations that speak against class `c`, and `mean_ij CAM_c = z_c − b_c`.
///
/// The head may be [`Layer::GlobalAvgPool`] or an average pooling whose single window covers the
/// whole map, optionally followed by flatten and dropout layers, then the final linear layer.
/// Explains [`Score::Logit`] (per class) or [`Score::SumOfLogits`] (weights `Σ_c W_ck`); other
/// scores are not linear in `A` and give an error (use [`GradCam`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cam {
    /// Corner convention of the upsampling in [`Attribution::attribute`].
    pub corners: Corners,
}

/// Indices of the pooling and the final linear layer of a GAP + linear head.
struct GapHead {
    pool: usize,
    linear: usize,
}

fn gap_head(net: &Network) -> Result<GapHead> {
    let layers = &net.layers;
    let tail = |from: usize| -> String {
        let v: Vec<String> = layers[from..]
            .iter()
            .map(|l| format!("{} ({})", l.name, l.layer.kind()))
            .collect();
        v.join(", ")
    };
    let fail = |why: String| -> Error {
        Error::invalid(format!(
            "cam: network {} does not end in global average pooling followed by a linear layer: {why} (its last layers are [{}]); CAM needs that head, Grad-CAM works on any network",
            net.name,
            tail(layers.len().saturating_sub(5))
        ))
    };
    let Some(linear) = layers.len().checked_sub(1) else {
        return Err(fail("it has no layers".into()));
    };
    if !matches!(layers[linear].layer, Layer::Linear { .. }) {
        return Err(fail(format!(
            "its last layer {} is {}, not linear",
            layers[linear].name,
            layers[linear].layer.kind()
        )));
    }
    let shapes = layer_shapes(net)?;
    let mut i = linear;
    while i > 0 {
        i -= 1;
        let l = &layers[i];
        match &l.layer {
            Layer::Flatten | Layer::Dropout { .. } => continue,
            Layer::GlobalAvgPool => return Ok(GapHead { pool: i, linear }),
            Layer::AvgPool2d {
                kernel,
                padding: Padding::Valid,
                ..
            } => {
                let input = if i == 0 {
                    net.input.to_vec()
                } else {
                    shapes[i - 1].clone()
                };
                if let [_, h, w] = input[..] {
                    if h == *kernel && w == *kernel {
                        return Ok(GapHead { pool: i, linear });
                    }
                }
                return Err(fail(format!(
                    "the average pooling {} before the linear layer does not cover its whole {:?} input",
                    l.name, input
                )));
            }
            other => {
                return Err(fail(format!(
                    "layer {} ({}) lies between the feature maps' pooling and the linear layer {}",
                    l.name,
                    other.kind(),
                    layers[linear].name
                )))
            }
        }
    }
    Err(fail(
        "no global average pooling before the linear layer".into(),
    ))
}

impl Cam {
    /// The class activation map at the feature maps' resolution (`[N, 1, h, w]`), with the
    /// class weights `W_c·` of every example.
    pub fn map(&self, net: &Network, x: &Tensor, target: &Target) -> Result<CamMap> {
        check_input("cam", net, x)?;
        let head = gap_head(net)?;
        if !matches!(target.score, Score::Logit | Score::SumOfLogits) {
            bail!(
                "cam: CAM explains logits (Score::Logit or Score::SumOfLogits), not {:?}; use GradCam for other scores",
                target.score
            );
        }
        let a = net.forward_range(x, 0..head.pool)?;
        let logits = net.forward_range(&a, head.pool..net.layers.len())?;
        let Layer::Linear { weight, .. } = &net.layers[head.linear].layer else {
            bail!("cam: layer {} is not linear", net.layers[head.linear].name);
        };
        let n = x.dim(0)?;
        let k = weight.dim(1)?;
        let weights = match target.score {
            Score::SumOfLogits => weight.sum_keepdim(0)?.broadcast_as((n, k))?.contiguous()?,
            _ => {
                let classes: Vec<u32> = target
                    .resolve(&logits)?
                    .into_iter()
                    .map(|c| c as u32)
                    .collect();
                let idx = Tensor::from_vec(classes, n, weight.device())?;
                weight.index_select(&idx, 0)?
            }
        };
        let a = if a.rank() == 4 {
            a
        } else {
            bail!(
                "cam: the input of the pooling layer {} is {:?}, not [N, K, h, w]",
                net.layers[head.pool].name,
                a.dims()
            );
        };
        Ok(CamMap {
            layer: match head.pool {
                0 => "input".to_string(),
                p => net.layers[p - 1].name.clone(),
            },
            map: weighted_sum(&a, &weights)?,
            weights,
            score: target.score(&logits)?,
            logits,
        })
    }
}

impl Attribution for Cam {
    /// The CAM stretched to the input's size: `[N, 1, H, W]`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        to_input_size(&self.map(net, x, target)?, x, self.corners)
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

/// Grad-CAM (Selvaraju et al. 2017): `L = ReLU(Σ_k α_k A_k)`, `α_k = (1/Z) Σ_ij ∂s/∂A_k(i,j)`,
/// `A` the output of the layer named `layer`.
///
/// The original (§4.2) weighs the *post-ReLU* output of the last convolution: name the ReLU
/// (`"relu3"` in zoo models G and H), not the convolution, whose output is pre-activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradCam {
    /// The layer whose output is weighed; `None` = the last layer with a feature-map output.
    pub layer: Option<String>,
    /// Apply the final ReLU (the paper's choice); `false` keeps negative evidence.
    pub relu: bool,
    /// Corner convention of the upsampling in [`Attribution::attribute`].
    pub corners: Corners,
}

impl Default for GradCam {
    fn default() -> Self {
        GradCam {
            layer: None,
            relu: true,
            corners: Corners::Aligned,
        }
    }
}

impl GradCam {
    /// Grad-CAM on the output of the layer called `layer`.
    pub fn new(layer: &str) -> GradCam {
        GradCam {
            layer: Some(layer.to_string()),
            ..GradCam::default()
        }
    }

    /// The Grad-CAM map at the layer's resolution (`[N, 1, h, w]`) and the weights `α_k`.
    pub fn map(&self, net: &Network, x: &Tensor, target: &Target) -> Result<CamMap> {
        gradient_cam(
            "grad_cam",
            self.layer.as_deref(),
            self.relu,
            net,
            x,
            target,
            |a, g| {
                if cam_kernels(&[a, g]) {
                    crate::kernels::cam_weights(a, g, CamWeighting::GradCam)
                } else {
                    Ok(g.mean((2, 3))?)
                }
            },
        )
    }
}

impl Attribution for GradCam {
    /// The Grad-CAM map stretched to the input's size: `[N, 1, H, W]`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        to_input_size(&self.map(net, x, target)?, x, self.corners)
    }
}

/// Grad-CAM++ (Chattopadhyay et al. 2018) in its closed form for `Y = exp(s)`, stabilised:
/// `w_k = Σ_ij α_ij^k ReLU(∂s/∂A_k(i,j))`, `α = 1/(2 + S_k g)` (see the module docs for why the
/// `exp(s)` factor is dropped and where `α` is set to 0), `L = ReLU(Σ_k w_k A_k)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradCamPlusPlus {
    /// The layer whose output is weighed; `None` = the last layer with a feature-map output.
    pub layer: Option<String>,
    /// Apply the final ReLU (the paper's choice).
    pub relu: bool,
    /// Corner convention of the upsampling in [`Attribution::attribute`].
    pub corners: Corners,
}

impl Default for GradCamPlusPlus {
    fn default() -> Self {
        GradCamPlusPlus {
            layer: None,
            relu: true,
            corners: Corners::Aligned,
        }
    }
}

impl GradCamPlusPlus {
    /// Grad-CAM++ on the output of the layer called `layer`.
    pub fn new(layer: &str) -> GradCamPlusPlus {
        GradCamPlusPlus {
            layer: Some(layer.to_string()),
            ..GradCamPlusPlus::default()
        }
    }

    /// The location weights `α_ij^k = g²/(2g² + S_k g³) = 1/(2 + S_k g)` for activations `a`
    /// and gradients `g = ∂s/∂a` (both `[N, K, h, w]`), with `S_k = Σ_ij a_k(i,j)`; `0` where
    /// `g ≤ 0` or `2 + S_k g ≤ 0`. Always finite.
    pub fn alpha(a: &Tensor, g: &Tensor) -> Result<Tensor> {
        check_pair("grad_cam_pp", a, g)?;
        let s = a.sum_keepdim((2, 3))?;
        let d = (g.broadcast_mul(&s)? + 2.0)?;
        let dt = g.dtype();
        let ok = (g.gt(0.0)?.to_dtype(dt)? * d.gt(0.0)?.to_dtype(dt)?)?;
        // Where ok = 0 the denominator is replaced by 1 so that nothing divides by zero.
        let d_safe = ((d * &ok)? + ok.affine(-1.0, 1.0)?)?;
        Ok(ok.div(&d_safe)?)
    }

    /// The Grad-CAM++ map at the layer's resolution (`[N, 1, h, w]`) and the weights `w_k`
    /// (without the factor `exp(s)`).
    pub fn map(&self, net: &Network, x: &Tensor, target: &Target) -> Result<CamMap> {
        gradient_cam(
            "grad_cam_pp",
            self.layer.as_deref(),
            self.relu,
            net,
            x,
            target,
            |a, g| {
                if cam_kernels(&[a, g]) {
                    crate::kernels::cam_weights(a, g, CamWeighting::GradCamPlusPlus)
                } else {
                    Ok((GradCamPlusPlus::alpha(a, g)? * g.relu()?)?.sum((2, 3))?)
                }
            },
        )
    }
}

impl Attribution for GradCamPlusPlus {
    /// The Grad-CAM++ map stretched to the input's size: `[N, 1, H, W]`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        to_input_size(&self.map(net, x, target)?, x, self.corners)
    }
}

/// XGrad-CAM (Fu et al. 2020, "Axiom-based Grad-CAM: Towards Accurate Visualization and
/// Explanation of CNNs"): `w_k = Σ_ij (A_k(i,j) / Σ_ab A_k(a,b)) · ∂s/∂A_k(i,j)` — the gradient
/// averaged with the activation's own weights instead of uniformly — and `L = ReLU(Σ_k w_k A_k)`.
///
/// The weights are chosen so that, without the final ReLU, `Σ_ij L(i,j) = Σ_k Σ_ij A_k ∂s/∂A_k`:
/// when every layer above `A` is positively homogeneous (ReLU, max-pooling, linear maps without
/// bias) that is `s` itself, the *conservation* Fu et al. ask of a map. A channel whose
/// activations sum to 0 gets weight 0 (for non-negative activations it is all zeros and adds
/// nothing); pytorch-grad-cam adds `1e-7` to the sum instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XGradCam {
    /// The layer whose output is weighed; `None` = the last layer with a feature-map output.
    pub layer: Option<String>,
    /// Apply the final ReLU (the paper's choice); `false` keeps the conserving signed map.
    pub relu: bool,
    /// Corner convention of the upsampling in [`Attribution::attribute`].
    pub corners: Corners,
}

impl Default for XGradCam {
    fn default() -> Self {
        XGradCam {
            layer: None,
            relu: true,
            corners: Corners::Aligned,
        }
    }
}

impl XGradCam {
    /// XGrad-CAM on the output of the layer called `layer`.
    pub fn new(layer: &str) -> XGradCam {
        XGradCam {
            layer: Some(layer.to_string()),
            ..XGradCam::default()
        }
    }

    /// The weights `w_k = Σ_ij A_k g_k / Σ_ij A_k` (`[N, K]`) for activations `a` and gradients
    /// `g = ∂s/∂a`, both `[N, K, h, w]`; 0 where `Σ_ij A_k = 0`.
    pub fn weights(a: &Tensor, g: &Tensor) -> Result<Tensor> {
        check_pair("xgrad_cam", a, g)?;
        let total = a.sum((2, 3))?;
        let weighted = (a * g)?.sum((2, 3))?;
        let empty = total.eq(0.0)?.to_dtype(total.dtype())?;
        // Where the sum is 0 the denominator becomes 1 and the weight is zeroed.
        let safe = (&total + &empty)?;
        Ok(((weighted / safe)? * empty.affine(-1.0, 1.0)?)?)
    }

    /// The XGrad-CAM map at the layer's resolution (`[N, 1, h, w]`) and the weights `w_k`.
    pub fn map(&self, net: &Network, x: &Tensor, target: &Target) -> Result<CamMap> {
        gradient_cam(
            "xgrad_cam",
            self.layer.as_deref(),
            self.relu,
            net,
            x,
            target,
            XGradCam::weights,
        )
    }
}

impl Attribution for XGradCam {
    /// The XGrad-CAM map stretched to the input's size: `[N, 1, H, W]`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        to_input_size(&self.map(net, x, target)?, x, self.corners)
    }
}

/// HiResCAM (Draelos & Carin 2020, "Use HiResCAM instead of Grad-CAM for faithful explanations
/// of convolutional neural networks"): the gradient multiplies the activation location by
/// location, `L = ReLU(Σ_k ∂s/∂A_k ⊙ A_k)`, with no spatial averaging (pytorch-grad-cam's
/// `HiResCAM`: grads × activations summed over the channels, then the ReLU).
///
/// **Relation to Grad-CAM.** Grad-CAM replaces `∂s/∂A_k(i,j)` by its mean `α_k` over the
/// `Z = h·w` locations; where the gradient is the same at every location — a head of global
/// average pooling and a linear layer, `∂z_c/∂A_k(i,j) = W_ck / Z = α_k` — the two maps are
/// identical (both `ReLU(CAM) / Z`). Elsewhere (a fully connected layer over the flattened maps)
/// the gradient differs between locations and the average can cancel a channel that matters
/// in one place. In general `Σ_ij Grad-CAM_signed = (1/Z) Σ_k (Σ_ij g_k)(Σ_ij A_k)`, whereas
/// HiResCAM's signed sum is `Σ_k Σ_ij g_k A_k`: the two coincide when `g_k` or `A_k` is
/// spatially constant.
///
/// **What it sums to.** Without the ReLU, `Σ_ij L(i,j) = Σ_k Σ_ij A_k ∂s/∂A_k`, exactly; when every
/// layer above `A` is positively homogeneous (ReLU, max-pooling, linear maps without bias), that
/// is the score `s` itself (Euler's theorem), so the signed map decomposes the logit over
/// locations. [`CamMap::weights`] is the gradient `∂s/∂A`, `[N, K, h, w]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiResCam {
    /// The layer whose output is weighed; `None` = the last layer with a feature-map output.
    pub layer: Option<String>,
    /// Apply the final ReLU (the paper's figures do); `false` keeps the signed map that sums to
    /// `Σ A ⊙ ∂s/∂A`.
    pub relu: bool,
    /// Corner convention of the upsampling in [`Attribution::attribute`].
    pub corners: Corners,
}

impl Default for HiResCam {
    fn default() -> Self {
        HiResCam {
            layer: None,
            relu: true,
            corners: Corners::Aligned,
        }
    }
}

impl HiResCam {
    /// HiResCAM on the output of the layer called `layer`.
    pub fn new(layer: &str) -> HiResCam {
        HiResCam {
            layer: Some(layer.to_string()),
            ..HiResCam::default()
        }
    }

    /// The HiResCAM map at the layer's resolution (`[N, 1, h, w]`) and its location weights
    /// `∂s/∂A` (`[N, K, h, w]`).
    pub fn map(&self, net: &Network, x: &Tensor, target: &Target) -> Result<CamMap> {
        gradient_cam(
            "hires_cam",
            self.layer.as_deref(),
            self.relu,
            net,
            x,
            target,
            |_, g| Ok(g.clone()),
        )
    }
}

impl Attribution for HiResCam {
    /// The HiResCAM map stretched to the input's size: `[N, 1, H, W]`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        to_input_size(&self.map(net, x, target)?, x, self.corners)
    }
}

/// LayerCAM (Jiang, Zhang, Hou, Cheng & Wei 2021, "LayerCAM: Exploring Hierarchical Class
/// Activation Maps for Localization", IEEE TIP): every location of every channel is weighed by
/// its own positive gradient, `L = ReLU(Σ_k ReLU(∂s/∂A_k) ⊙ A_k)` (pytorch-grad-cam's
/// `LayerCAM`).
///
/// It is [`HiResCam`] with the negative gradients dropped: equal to it wherever every gradient is
/// ≥ 0. Dropping them keeps a location from being cancelled by channels that speak against the
/// class elsewhere, which is why the paper can use shallow layers (fine grids, many channels of
/// mixed sign) that give Grad-CAM empty maps. With non-negative activations (after a ReLU) every
/// term is ≥ 0 and the final ReLU changes nothing. [`CamMap::weights`] is `ReLU(∂s/∂A)`,
/// `[N, K, h, w]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerCam {
    /// The layer whose output is weighed; `None` = the last layer with a feature-map output.
    pub layer: Option<String>,
    /// Apply the final ReLU (the paper's choice; it matters only for activations that can be
    /// negative).
    pub relu: bool,
    /// Corner convention of the upsampling in [`Attribution::attribute`].
    pub corners: Corners,
}

impl Default for LayerCam {
    fn default() -> Self {
        LayerCam {
            layer: None,
            relu: true,
            corners: Corners::Aligned,
        }
    }
}

impl LayerCam {
    /// LayerCAM on the output of the layer called `layer`.
    pub fn new(layer: &str) -> LayerCam {
        LayerCam {
            layer: Some(layer.to_string()),
            ..LayerCam::default()
        }
    }

    /// The LayerCAM map at the layer's resolution (`[N, 1, h, w]`) and its location weights
    /// `ReLU(∂s/∂A)` (`[N, K, h, w]`).
    pub fn map(&self, net: &Network, x: &Tensor, target: &Target) -> Result<CamMap> {
        gradient_cam(
            "layer_cam",
            self.layer.as_deref(),
            self.relu,
            net,
            x,
            target,
            |_, g| crate::model::layer::relu(g),
        )
    }
}

impl Attribution for LayerCam {
    /// The LayerCAM map stretched to the input's size: `[N, 1, H, W]`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        to_input_size(&self.map(net, x, target)?, x, self.corners)
    }
}

/// Score-CAM (Wang, Wang, Du, Yang, Zhang, Ding, Mardziel & Hu 2020, "Score-CAM: Score-Weighted
/// Visual Explanations for Convolutional Neural Networks"): channel weights from forward passes
/// only, no gradient.
///
/// For each channel `k`, `A_k` is upsampled to the input's `H × W` ([`upsample_bilinear`] with
/// [`ScoreCam::corners`]) and min–max normalised per example,
/// `M_k = (U_k − min U_k) / (max U_k − min U_k)` ∈ [0, 1] (a channel that is constant at the
/// layer's resolution, or whose upsampled map is, gets the all-zero mask); the network scores
/// the masked input, `f_k = s(x ⊙ M_k)` (the mask multiplies every input channel); the weights
/// are `w = softmax_k(f_k)` and `L = ReLU(Σ_k w_k A_k)` at the layer's resolution. Cost: `K`
/// forward passes per image, evaluated [`ScoreCam::batch_size`] masked inputs at a time (as
/// [`crate::methods::Occlusion`] does: memory bounded by one pass, the masks made pass by pass).
/// The classes are fixed at the clean input: every masked copy explains the class chosen for `x`.
///
/// **Which definition.** This is pytorch-grad-cam's `ScoreCAM`: its `f_k` is the target (the
/// class logit with `ClassifierOutputTarget`, here [`Target`]'s score), the weights are the
/// softmax of the `f_k` over the channels, the upsampling is `UpsamplingBilinear2d`, i.e.
/// aligned corners ([`Corners::Aligned`], our default). The paper defines the weight as the
/// *increase of confidence* `f(x ⊙ M_k) − f(x_b)` over a baseline input `x_b`; a softmax over the
/// channels is blind to a constant shift, so with `softmax: true` subtracting the baseline's
/// score would change nothing. The authors' own code takes `f_k` = the class's softmax
/// probability (`Score::Softmax`) as the weight directly, without a softmax over channels
/// (`softmax: false`), upsamples with half-pixel centres ([`Corners::HalfPixel`]) and leaves out
/// channels that are constant after upsampling; here, as in pytorch-grad-cam, such a channel
/// masks everything out and is weighed by the score of the zeroed input (for the usual constant
/// channel, all zeros, the weight multiplies zeros either way). pytorch-grad-cam divides by
/// `max − min + 1e-8` instead of testing for a constant channel: the same masks, except for
/// nearly constant channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreCam {
    /// The layer whose output is weighed; `None` = the last layer with a feature-map output.
    pub layer: Option<String>,
    /// Apply the final ReLU (the paper's choice).
    pub relu: bool,
    /// Normalise the channel scores by a softmax over the channels (pytorch-grad-cam, the
    /// default); `false` weighs with the raw scores `f_k`.
    pub softmax: bool,
    /// Corner convention of the masks' upsampling and of [`Attribution::attribute`]'s.
    pub corners: Corners,
    /// Masked inputs per forward pass: as many channels of the whole batch (`N` inputs each) as
    /// fit, and at least one (fewer on the CPU when the network's activations would be large,
    /// [`crate::alloc::inputs_per_pass`]).
    pub batch_size: usize,
}

impl Default for ScoreCam {
    /// The last feature-map layer, ReLU, channel softmax, aligned corners, 500 inputs per pass.
    fn default() -> Self {
        ScoreCam {
            layer: None,
            relu: true,
            softmax: true,
            corners: Corners::Aligned,
            batch_size: 500,
        }
    }
}

impl ScoreCam {
    /// Score-CAM on the output of the layer called `layer`.
    pub fn new(layer: &str) -> ScoreCam {
        ScoreCam {
            layer: Some(layer.to_string()),
            ..ScoreCam::default()
        }
    }

    /// The masks `M_k` of activations `a` (`[N, K, h, w]`): each channel upsampled to `size`
    /// with `corners` and min–max normalised to [0, 1] per example and channel, `[N, K, H, W]`;
    /// all zeros for a channel that is constant before or after the upsampling.
    pub fn masks(a: &Tensor, size: (usize, usize), corners: Corners) -> Result<Tensor> {
        let (n, k, _, _) = a.dims4()?;
        let range = |t: &Tensor| -> Result<(Tensor, Tensor)> {
            let f = t.flatten_from(2)?;
            let lo = f.min_keepdim(2)?.reshape((n, k, 1, 1))?;
            let hi = f.max_keepdim(2)?.reshape((n, k, 1, 1))?;
            Ok(((hi - &lo)?, lo))
        };
        let up = upsample_bilinear(a, size, corners)?;
        let (span, lo) = range(&up)?;
        let (span_low, _) = range(a)?;
        // 1 where the channel is constant (before or after upsampling): its mask is zero, and
        // its denominator becomes 1 so that nothing divides by zero.
        let dt = a.dtype();
        let flat = span.eq(0.0)?.maximum(&span_low.eq(0.0)?)?.to_dtype(dt)?;
        let safe = (&span + &flat)?;
        Ok(up
            .broadcast_sub(&lo)?
            .broadcast_div(&safe)?
            .broadcast_mul(&flat.affine(-1.0, 1.0)?)?)
    }

    /// The scores `f_k = s(x ⊙ M_k)` of the masked inputs, `[N, K]`, for activations `a` of `x`
    /// and a target whose classes are already fixed per example.
    fn channel_scores(
        &self,
        net: &Network,
        x: &Tensor,
        a: &Tensor,
        target: &Target,
    ) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let k = a.dim(1)?;
        let per_pass = crate::alloc::inputs_per_pass(net, self.batch_size)?;
        let channels_per_pass = (per_pass / n).max(1);
        let xs = x.unsqueeze(0)?; // [1, N, C, H, W]
        let mut scores = Vec::with_capacity(k.div_ceil(channels_per_pass));
        for first in (0..k).step_by(channels_per_pass) {
            let kc = channels_per_pass.min(k - first);
            let masks = ScoreCam::masks(&a.narrow(1, first, kc)?, (h, w), self.corners)?;
            // [kc, N, 1, H, W]: channel-major, so that the classes repeat as `tiled` repeats them.
            let m = masks.transpose(0, 1)?.unsqueeze(2)?;
            let masked = xs.broadcast_mul(&m)?.reshape((kc * n, c, h, w))?;
            let s = target.tiled(kc).score(&net.forward(&masked)?)?;
            scores.push(s.reshape((kc, n))?);
        }
        Ok(Tensor::cat(&scores, 0)?.t()?.contiguous()?)
    }

    /// The Score-CAM map at the layer's resolution (`[N, 1, h, w]`) and the channel weights
    /// `w_k` (`[N, K]`; with `softmax`, each row sums to 1).
    pub fn map(&self, net: &Network, x: &Tensor, target: &Target) -> Result<CamMap> {
        check_input("score_cam", net, x)?;
        let i = feature_layer("score_cam", net, self.layer.as_deref())?;
        let a = net.forward_range(x, 0..i + 1)?;
        let logits = net.forward_range(&a, i + 1..net.layers.len())?;
        let target = Target {
            class: Class::PerExample(target.resolve(&logits)?),
            score: target.score,
        };
        let f = self.channel_scores(net, x, &a, &target)?;
        let weights = if self.softmax {
            candle_nn::ops::softmax(&f, 1)?
        } else {
            f
        };
        let map = weighted_sum(&a, &weights)?;
        Ok(CamMap {
            layer: net.layers[i].name.clone(),
            map: if self.relu { map.relu()? } else { map },
            weights,
            score: target.score(&logits)?,
            logits,
        })
    }
}

impl Attribution for ScoreCam {
    /// The Score-CAM map stretched to the input's size: `[N, 1, H, W]`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        to_input_size(&self.map(net, x, target)?, x, self.corners)
    }
}

/// Guided Grad-CAM (Selvaraju et al. 2017, §3): guided backpropagation's map — fine-grained but
/// hardly class-discriminative (§3.3) — multiplied pixel by pixel by the Grad-CAM map stretched
/// to the input — class-discriminative but coarse:
///
/// `R = GB(x) ⊙ up(ReLU(Σ_k α_k A_k))`, `[N, C, H, W]` like the input (the one-channel Grad-CAM
/// map multiplies every input channel).
///
/// The map is stretched bilinearly, as in the paper, with [`GradCam::corners`] (aligned corners by
/// default); Captum's `GuidedGradCam` stretches it with nearest-neighbour interpolation by default
/// (`interpolate_mode="nearest"`) and always applies Grad-CAM's ReLU, which `grad_cam.relu` can
/// turn off here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuidedGradCam {
    /// The Grad-CAM factor: its layer, final ReLU and upsampling corners.
    pub grad_cam: GradCam,
}

impl GuidedGradCam {
    /// Guided Grad-CAM with Grad-CAM on the output of the layer called `layer`.
    pub fn new(layer: &str) -> GuidedGradCam {
        GuidedGradCam {
            grad_cam: GradCam::new(layer),
        }
    }
}

impl Attribution for GuidedGradCam {
    /// Guided backpropagation times the upsampled Grad-CAM map: `[N, C, H, W]`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        check_input("guided_grad_cam", net, x)?;
        let cam = self.grad_cam.attribute(net, x, target)?;
        let guided = crate::relevance::GuidedBackprop.attribute(net, x, target)?;
        Ok(guided.broadcast_mul(&cam)?)
    }
}
