//! The gradient-weighted maps: Grad-CAM, XGrad-CAM, HiResCAM and LayerCAM.

use candle_core::Tensor;

use super::{cam_kernels, check_pair, gradient_cam, to_input_size, CamMap, Corners};
use crate::attribution::{Attribution, Target};
use crate::kernels::CamWeighting;
use crate::{Network, Result};

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
