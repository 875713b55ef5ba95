//! Gradient-based maps: saliency / sensitivity analysis and simple Taylor decomposition.
//!
//! * Sensitivity analysis (Simonyan et al. 2013; Montavon et al. 2017, §4.1): `R_i = (∂s/∂x_i)²`
//!   — how much a small change of pixel `i` changes the score; says nothing about the pixel's
//!   own contribution.
//! * Saliency map (Simonyan et al. 2013): `|∂s/∂x_i|`.
//! * Simple Taylor decomposition (Montavon et al. 2017, §4.2), also called gradient × input:
//!   `R_i = x_i ∂s/∂x_i`. For a ReLU network without biases `s` is positively homogeneous, so
//!   `Σ_i R_i = s(x)` exactly (Euler's theorem): the relevance is *conserved*.
//!
//! Notebooks: `2.1 Sensitivity Analysis`, `2.2 Simple Taylor Decomposition`, `3.2 Backpropagation`.

use candle_core::Tensor;

use crate::attribution::{check_input, Attribution, Target};
use crate::grad::vjp;
use crate::{Network, Result};

/// What [`Saliency`] returns from the gradient `g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GradientTransform {
    /// `g` itself (signed).
    #[default]
    Raw,
    /// `|g|` (Simonyan et al.'s saliency map; Captum's default).
    Abs,
    /// `g²` (sensitivity analysis).
    Square,
}

/// The gradient of the target score with respect to the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Saliency {
    pub transform: GradientTransform,
}

impl Saliency {
    /// Sensitivity analysis: the squared gradient.
    pub fn sensitivity() -> Saliency {
        Saliency {
            transform: GradientTransform::Square,
        }
    }

    /// Simonyan et al.'s saliency map: the absolute gradient.
    pub fn absolute() -> Saliency {
        Saliency {
            transform: GradientTransform::Abs,
        }
    }
}

impl Attribution for Saliency {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        check_input("saliency", net, x)?;
        let g = vjp(net, x, target)?.grad;
        Ok(match self.transform {
            GradientTransform::Raw => g,
            GradientTransform::Abs => g.abs()?,
            GradientTransform::Square => g.sqr()?,
        })
    }
}

/// Gradient × input: the simple Taylor decomposition `R = x ⊙ ∂s/∂x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputXGradient;

impl Attribution for InputXGradient {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        check_input("input_x_gradient", net, x)?;
        let g = vjp(net, x, target)?.grad;
        Ok((x * g)?)
    }
}
