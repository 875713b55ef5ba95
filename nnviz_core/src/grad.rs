//! `vjp`: the one place that makes the input a variable and differentiates a target score.

use candle_core::{Tensor, Var};

use crate::attribution::Target;
use crate::{Error, Network, Result};

/// The gradient of the target score with respect to the input, per example.
#[derive(Debug, Clone)]
pub struct InputGradient {
    /// `∂ s_n / ∂ x_n`, shaped like `x`.
    pub grad: Tensor,
    /// The target scores `s_n`, `[N]`.
    pub score: Tensor,
    /// The logits at `x`, `[N, K]`.
    pub logits: Tensor,
}

/// Forward `x` through `net`, then backpropagate `Σ_n s_n` to the input. Because examples do not
/// interact in evaluation mode, row `n` of the result is `∂ s_n / ∂ x_n`.
pub fn vjp(net: &Network, x: &Tensor, target: &Target) -> Result<InputGradient> {
    let xv = Var::from_tensor(&x.detach())?;
    let logits = net.forward(xv.as_tensor())?;
    let score = target.score(&logits)?;
    let grads = score.sum_all()?.backward()?;
    let grad = grads
        .get(xv.as_tensor())
        .cloned()
        .ok_or_else(|| Error::invalid("vjp: the target score does not depend on the input"))?;
    Ok(InputGradient {
        grad,
        score: score.detach(),
        logits: logits.detach(),
    })
}
