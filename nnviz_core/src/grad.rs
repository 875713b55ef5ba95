//! `vjp`: the one place that makes the input a variable and differentiates a target score; and
//! `fresh_id`, which keeps candle's autograd right across the cells of an evcxr notebook.

use candle_core::{Tensor, Var};

use crate::attribution::Target;
use crate::model::Trace;
use crate::{Error, Network, Result};

/// `t` under a new tensor id from the calling code's copy of candle, sharing `t`'s storage (no
/// copy when `t` is contiguous). A tracked tensor (a variable, or the result of an operation on
/// one) is returned as it is: its id is what an optimiser or a gradient lookup finds it by.
///
/// candle's autograd keys gradients by tensor id, drawn from a counter inside candle. An evcxr
/// notebook links a fresh copy of candle into every cell, whose counter starts again at 1, so a
/// tensor made in an earlier cell (a network's weights, an input batch, a constant) can share its
/// id with one made in the cell that runs `backward`, and the two then share one gradient slot:
/// a wrong gradient, or a shape error. Passing the earlier cell's untracked tensors through
/// `fresh_id` in the cell that runs the backward pass gives them ids from that cell's counter.
/// A Rust program has one copy of candle and never needs this; nnviz's own autograd paths do it
/// anyway (through [`Network::with_fresh_ids`]), so that they are safe to call from any cell.
pub fn fresh_id(t: &Tensor) -> Result<Tensor> {
    if t.track_op() {
        return Ok(t.clone());
    }
    Ok(t.reshape(t.shape())?)
}

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
///
/// On the CPU with the fast kernels on (`f32`, [`crate::kernels::switches`]), the backward pass
/// is the relevance engine's with the gradient rule at every layer (the rules of
/// [`crate::relevance`]): the same chain rule, layer by layer, without candle's
/// autograd graph — whose bookkeeping (a zero buffer and an addition per node) cost as much as
/// the arithmetic. Only `∂s/∂logits` goes through candle's autograd, so every [`Target`] score
/// works. Elsewhere (CUDA, other dtypes, kernels off) candle's autograd does the whole pass; the
/// two agree to rounding (`tests/device_paths.rs`).
pub fn vjp(net: &Network, x: &Tensor, target: &Target) -> Result<InputGradient> {
    if by_layers(net, x) {
        let trace = net.forward_trace(&x.detach())?;
        let (top, score, logits) = top_message(&trace, target)?;
        let grad = crate::relevance::gradient_below(net, &trace, top, 0)?;
        return Ok(InputGradient {
            grad,
            score,
            logits,
        });
    }
    let net = net.with_fresh_ids()?;
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

/// Whether the gradient is taken layer by layer (the fast kernels are on and `x` and every
/// parameter of `net` are `f32` tensors on the CPU) rather than by candle's autograd.
fn by_layers(net: &Network, x: &Tensor) -> bool {
    crate::kernels::switches().conv && crate::kernels::supports_network(net, x)
}

/// `∂s/∂logits` (through candle's autograd, so every [`Target`] score works), the scores and
/// the logits of a forward trace.
fn top_message(trace: &Trace, target: &Target) -> Result<(Tensor, Tensor, Tensor)> {
    let logits = trace
        .activations
        .last()
        .ok_or_else(|| Error::invalid("vjp: empty trace"))?
        .detach();
    let lv = Var::from_tensor(&logits)?;
    let score = target.score(lv.as_tensor())?;
    let top = match score.sum_all()?.backward()?.get(lv.as_tensor()) {
        Some(g) => g.clone(),
        None => {
            return Err(Error::invalid(
                "vjp: the target score does not depend on the input",
            ))
        }
    };
    Ok((top, score.detach(), logits))
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
    if by_layers(net, x) {
        // As in `vjp`: the gradient rule layer by layer instead of candle's autograd graph.
        let trace = net.forward_trace(&x.detach())?;
        let (top, score, logits) = top_message(&trace, target)?;
        let grad = crate::relevance::gradient_below(net, &trace, top, layer + 1)?;
        return Ok(LayerGradient {
            activation: trace.activations[layer + 1].clone(),
            grad,
            score,
            logits,
        });
    }
    let net = net.with_fresh_ids()?;
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
