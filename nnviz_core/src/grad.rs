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

/// The gradient of the target score with respect to one layer's output, per example.
#[derive(Debug, Clone)]
pub struct LayerGradient {
    /// The layer's output `a` (detached), `[N, …]`.
    pub activation: Tensor,
    /// `∂ s_n / ∂ a_n`, shaped like `activation`.
    pub grad: Tensor,
    /// The target scores `s_n`, `[N]`.
    pub score: Tensor,
    /// The logits at `x`, `[N, K]`.
    pub logits: Tensor,
}

/// Forward `x` up to and including layer `layer`, make that output `a` a variable, run the rest
/// of the network from it and backpropagate `Σ_n s_n` to `a`. Row `n` of the gradient is
/// `∂ s_n / ∂ a_n` (examples do not interact in evaluation mode). A score that does not depend on
/// `a` at all has a zero gradient.
pub fn layer_vjp(
    net: &Network,
    x: &Tensor,
    layer: usize,
    target: &Target,
) -> Result<LayerGradient> {
    let n_layers = net.layers.len();
    if layer >= n_layers {
        return Err(Error::invalid(format!(
            "layer_vjp: layer index {layer} is outside 0..{n_layers} of network {}",
            net.name
        )));
    }
    net.check_input(x)?;
    let a = net.forward_range(x, 0..layer + 1)?.detach();
    let av = Var::from_tensor(&a)?;
    let logits = net.forward_range(av.as_tensor(), layer + 1..n_layers)?;
    let score = target.score(&logits)?;
    let grads = score.sum_all()?.backward()?;
    let grad = match grads.get(av.as_tensor()) {
        Some(g) => g.clone(),
        None => a.zeros_like()?,
    };
    Ok(LayerGradient {
        activation: a,
        grad,
        score: score.detach(),
        logits: logits.detach(),
    })
}
