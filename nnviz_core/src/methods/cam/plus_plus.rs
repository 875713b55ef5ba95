//! Grad-CAM++ (Chattopadhyay et al. 2018), stabilised (see the module docs of `methods::cam`).

use candle_core::Tensor;

use super::{cam_kernels, check_pair, gradient_cam, to_input_size, CamMap, Corners};
use crate::attribution::{Attribution, Target};
use crate::kernels::CamWeighting;
use crate::{Network, Result};

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
