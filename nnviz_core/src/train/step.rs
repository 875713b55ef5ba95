//! One training step — forward pass with dropout, softmax cross-entropy, gradients, Adam — and
//! the layer-by-layer backward pass that computes its gradients on the CPU.
//!
//! candle's autograd gives every node of the graph a zero buffer and adds the node's gradient to
//! it (`Tensor::backward`), a full extra pass over every activation gradient and over the
//! 12.8 MB weight gradient of a large linear layer, twice; on the reference CNN that is a fifth of
//! a training step. [`loss_gradients`] walks the layers from the top instead, with the gradient of
//! each layer computed by exactly the operations candle's autograd runs for it (the kernels'
//! own backward ops, the same `matmul`s with the same operand layouts, the same reductions), so
//! every gradient is the same number — the zoo trains to the same weights bit for bit (checked in
//! `tests.rs` against autograd). The only difference is the sign of some zeros, which autograd's
//! `0 + g` turns positive; no later operation can tell them apart.
//!
//! It applies when the network's parameters and the batch are `f32` on the CPU with the
//! convolution, pooling and ReLU kernels on; otherwise [`train_step`] uses candle's autograd.

use std::collections::HashMap;

use candle_core::{Tensor, TensorId, Var};

use super::Adam;
use crate::model::layer::{self, Layer};
use crate::{bail, kernels, Network, Result, Rng};

/// The loss `[]` and the logits `[N, K]` of one step.
pub(crate) struct StepOutput {
    pub loss: Tensor,
    pub logits: Tensor,
}

/// One Adam step of `net` (made trainable: its parameters are `opt`'s variables) on the batch
/// `(x, y)`, dropout drawn from `rng`: layer by layer where [`by_layers`] allows, else through
/// candle's autograd. Both give the same weights.
pub(crate) fn train_step(
    net: &Network,
    opt: &mut Adam,
    x: &Tensor,
    y: &Tensor,
    rng: &mut Rng,
) -> Result<StepOutput> {
    if by_layers(net, x) {
        let (out, grads) = loss_gradients(net, x, y, rng)?;
        opt.step_by(|var| grads.get(&var.id()).cloned())?;
        return Ok(out);
    }
    autograd_step(net, opt, x, y, rng)
}

/// [`train_step`] through candle's autograd.
fn autograd_step(
    net: &Network,
    opt: &mut Adam,
    x: &Tensor,
    y: &Tensor,
    rng: &mut Rng,
) -> Result<StepOutput> {
    let logits = net.forward_train(x, rng)?;
    let loss = candle_nn::loss::cross_entropy(&logits, y)?;
    let grads = loss.backward()?;
    opt.step_by(|var| grads.get(var).cloned())?;
    Ok(StepOutput { loss, logits })
}

/// Whether [`loss_gradients`] applies: `x` and every parameter `f32` on the CPU, and the
/// convolution, pooling and ReLU kernels on (their backward ops are what it reproduces).
fn by_layers(net: &Network, x: &Tensor) -> bool {
    let s = kernels::switches();
    s.conv && s.pool && s.relu && kernels::supports_network(net, x)
}

/// The forward pass of training (dropout on, drawn from `rng` exactly as
/// [`Network::forward_train`] draws it), keeping every layer's input and each dropout mask.
struct TrainTrace {
    /// `a[0]` the input, `a[i + 1]` the output of layer `i`.
    activations: Vec<Tensor>,
    /// The dropout mask of layer `i`, if it dropped anything.
    masks: Vec<Option<Tensor>>,
}

fn forward_trace(net: &Network, x: &Tensor, rng: &mut Rng) -> Result<TrainTrace> {
    net.check_input(x)?;
    let mut activations = vec![x.clone()];
    let mut masks = Vec::with_capacity(net.layers.len());
    for l in &net.layers {
        let a = &activations[activations.len() - 1];
        let (y, mask) = match &l.layer {
            Layer::Dropout { rate } if *rate > 0.0 => {
                let mask = layer::dropout_mask(a, *rate, rng)?;
                (product(a, &mask)?, Some(mask))
            }
            other => (other.forward(a)?, None),
        };
        activations.push(y);
        masks.push(mask);
    }
    Ok(TrainTrace { activations, masks })
}

/// `a ⊙ b`: the elementwise kernel when it is switched on (the same products as candle's `mul`).
fn product(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if kernels::switches().rules {
        kernels::mul(a, b)
    } else {
        Ok((a * b)?)
    }
}

/// The loss and logits of a training step on `(x, y)` and every parameter's gradient of the mean
/// softmax cross-entropy, keyed by the parameter tensor's id, computed layer by layer.
pub(crate) fn loss_gradients(
    net: &Network,
    x: &Tensor,
    y: &Tensor,
    rng: &mut Rng,
) -> Result<(StepOutput, HashMap<TensorId, Tensor>)> {
    let trace = forward_trace(net, x, rng)?;
    let n = net.layers.len();
    let logits = trace.activations[n].detach();
    // The loss's own gradient through candle's autograd (a [N, K] graph, cheap).
    let lv = Var::from_tensor(&logits)?;
    let loss = candle_nn::loss::cross_entropy(lv.as_tensor(), y)?;
    let mut g = match loss.backward()?.get(lv.as_tensor()) {
        Some(g) => g.clone(),
        None => bail!("train: the loss does not depend on the logits"),
    };
    // Below the first layer with parameters no gradient is needed.
    let first = net
        .layers
        .iter()
        .position(|l| !l.layer.params().is_empty())
        .unwrap_or(n);
    let mut grads = HashMap::new();
    for i in (first..n).rev() {
        let a = &trace.activations[i];
        let out = &trace.activations[i + 1];
        let need_input = i > first;
        g = match &net.layers[i].layer {
            Layer::Linear { weight, bias } => {
                // y = a · Wᵀ (+ b): autograd's Matmul, Transpose and Broadcast steps. Autograd
                // takes dW as the transposed view of aᵀ · g; gᵀ · a is the same sums in the
                // same order (products commute exactly), laid out as W, so Adam reads it
                // without first copying a transposed 12.8 MB matrix.
                if let Some(b) = bias {
                    grads.insert(b.id(), g.sum_keepdim(0)?.squeeze(0)?);
                }
                grads.insert(weight.id(), g.t()?.matmul(a)?);
                if !need_input {
                    break;
                }
                g.matmul(weight)?
            }
            Layer::Conv2d {
                weight,
                bias,
                stride,
                padding,
            } => {
                // The channel-bias op's and the convolution op's own backward ops.
                let g = g.contiguous()?;
                if let Some(b) = bias {
                    grads.insert(b.id(), kernels::channel_sum(&g)?);
                }
                let (_, _, kh, kw) = weight.dims4()?;
                let pad = layer::pad2d(a, [kh, kw], *stride, *padding)?;
                grads.insert(
                    weight.id(),
                    kernels::conv2d_grad_kernel(a, &g, *stride, pad, (kh, kw))?,
                );
                if !need_input {
                    break;
                }
                let (_, _, h, w) = a.dims4()?;
                kernels::conv2d_grad_input(&g, weight, *stride, pad, (h, w))?
            }
            _ if !need_input => break,
            Layer::Relu => kernels::relu_grad(&g, out)?,
            pool @ (Layer::MaxPool2d { .. } | Layer::AvgPool2d { .. }) => {
                match layer::pool_grad_input(pool, a, &g)? {
                    Some(d) => d,
                    None => bail!("train: no pooling kernel for layer {i}"),
                }
            }
            Layer::GlobalAvgPool => {
                // mean = sum · (1/hw): autograd's Affine, then Reduce(Sum) broadcast back.
                let (b, c, h, w) = a.dims4()?;
                g.affine(1f64 / (h * w) as f64, 0.)?
                    .reshape((b, c, 1, 1))?
                    .broadcast_as((b, c, h, w))?
                    .contiguous()?
            }
            Layer::Flatten => g.reshape(a.shape())?,
            Layer::Dropout { .. } => match &trace.masks[i] {
                Some(mask) => product(&g, mask)?,
                None => g,
            },
        };
    }
    Ok((StepOutput { loss, logits }, grads))
}

#[cfg(test)]
mod tests;
