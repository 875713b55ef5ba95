//! Guided Grad-CAM: guided backpropagation times the upsampled Grad-CAM map.

use candle_core::Tensor;

use super::GradCam;
use crate::attribution::{check_input, Attribution, Target};
use crate::{Network, Result};

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
