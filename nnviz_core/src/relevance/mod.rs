//! One modified backward pass, many rules: LRP, deep Taylor decomposition, DeepLIFT, deconvnet
//! and guided backpropagation.
//!
//! All five walk the network once from the output back to the input. At each layer a
//! [`Rule`] (chosen per layer by a [`Composite`], resolved into a printable [`Plan`]) maps the
//! message at the layer's output to the message at its input:
//!
//! * **LRP** (Bach et al. 2015, "On Pixel-Wise Explanations for Non-Linear Classifier Decisions
//!   by Layer-Wise Relevance Propagation"): the message is *relevance* `R`. It starts as the
//!   target score on the explained class (the logit by default; softmax probability or
//!   `ReLU(z_c)` through [`crate::attribution::Score`]) and is redistributed so that, layer by
//!   layer, `Σ_j R_j^{(l)} = Σ_k R_k^{(l+1)}` (minus what biases and stabilisers absorb).
//!   [`Relevances::sums`] gives these sums as a conservation diagnostic.
//! * **Deep Taylor decomposition** (Montavon et al. 2017, "Explaining nonlinear classification
//!   decisions with deep Taylor decomposition"): the z⁺ rule between hidden layers and z^B at
//!   the input, derived from first-order Taylor expansions at root points ([`DeepTaylor`]).
//! * **DeepLIFT Rescale** (Shrikumar et al. 2017, "Learning Important Features Through
//!   Propagating Activation Differences"): the message is a *multiplier*; affine layers use the
//!   linear rule (the transpose), ReLUs `Δy/Δx` against a reference input; the attribution is
//!   `(x − x₀) ⊙ M`, and it sums to `s(x) − s(x₀)` ([`DeepLift`]).
//! * **Deconvnet** (Zeiler & Fergus 2014) and **guided backpropagation** (Springenberg et al.
//!   2014): the message is a gradient whose ReLU step is modified ([`Deconvnet`],
//!   [`GuidedBackprop`]).
//!
//! The affine rules never build a dense matrix: `R_in = ρ-input ⊙ ρ(W)ᵀ (R ⊘ z)` is one forward
//! and one transposed pass of the layer (a matmul, or the convolution's input gradient through
//! the fast CPU kernels of [`crate::kernels`], candle's autograd on other devices) — the
//! "gradient of a modified forward pass" trick, written out. Tests compare every rule with a
//! dense-matrix reference.
//!
//! Notebooks: `2.3 Layer-wise Relevance Propagation`, `2.4 Deep Taylor Decomposition`,
//! `2.5 DeepLIFT`, `3.1 Deconvolution`, `3.3 Guided Backpropagation`.

pub mod composite;
pub mod methods;
pub mod rules;

use candle_core::{DType, Device, Tensor};

pub use composite::{Composite, Fallback, LayerKind, Plan, PlanStep, Selector};
pub use methods::{Deconvnet, DeepLift, DeepTaylor, GuidedBackprop, Lrp};
pub use rules::Rule;

use crate::model::Trace;
use crate::{bail, Error, Network, Result};
use rules::{apply, Step};

/// Runs the modified backward pass of `plan` over a forward `trace` of `net`, starting from the
/// message `top` at the network's output. Returns the message at every layer boundary:
/// element 0 at the input, element `i + 1` at the output of layer `i` (so the last is `top`).
/// `reference` is the trace of the reference input, needed by [`Rule::Rescale`].
pub fn propagate(
    net: &Network,
    plan: &Plan,
    trace: &Trace,
    reference: Option<&Trace>,
    top: Tensor,
) -> Result<Vec<Tensor>> {
    let n = net.layers.len();
    if plan.steps.len() != n || trace.activations.len() != n + 1 {
        bail!(
            "propagate: the plan has {} steps and the trace {} activations for a network of {n} layers",
            plan.steps.len(),
            trace.activations.len()
        );
    }
    if plan.needs_reference() && reference.is_none() {
        bail!(
            "propagate: composite {} uses the rescale rule and needs a reference trace",
            plan.composite
        );
    }
    let out = &trace.activations[n];
    if top.dims() != out.dims() {
        bail!(
            "propagate: the starting message {:?} does not match the network output {:?}",
            top.dims(),
            out.dims()
        );
    }
    let mut messages = vec![top];
    for i in (0..n).rev() {
        let r = messages
            .last()
            .ok_or_else(|| Error::invalid("propagate: no message"))?;
        let next = back_through(net, i, plan.steps[i].rule, trace, reference, r)?;
        messages.push(next);
    }
    messages.reverse();
    Ok(messages)
}

/// The message at the input of layer `i` from the message `r` at its output, by `rule`; errors
/// name the layer and the rule.
fn back_through(
    net: &Network,
    i: usize,
    rule: Rule,
    trace: &Trace,
    reference: Option<&Trace>,
    r: &Tensor,
) -> Result<Tensor> {
    let step = Step {
        layer: &net.layers[i].layer,
        a: &trace.activations[i],
        y: &trace.activations[i + 1],
        reference: reference.map(|t| (&t.activations[i], &t.activations[i + 1])),
    };
    apply(rule, &step, r).map_err(|e| {
        Error::invalid(format!(
            "propagate: layer {i} ({}, rule {rule}): {e}",
            net.layers[i].name
        ))
    })
}

/// The plain gradient of the starting message `top` (at the network's output) with respect to
/// the activation at layer boundary `stop` of a forward `trace` of `net` (0: the input, `i + 1`:
/// the output of layer `i`), by the gradient rule at every layer above it. Keeps only the
/// current message ([`crate::grad::vjp`] and [`crate::grad::layer_vjp`] use it on the CPU).
pub(crate) fn gradient_below(
    net: &Network,
    trace: &Trace,
    top: Tensor,
    stop: usize,
) -> Result<Tensor> {
    let n = net.layers.len();
    if stop > n || trace.activations.len() != n + 1 {
        bail!(
            "gradient_below: boundary {stop} of a network of {n} layers, a trace of {} activations",
            trace.activations.len()
        );
    }
    let mut r = top;
    for i in (stop..n).rev() {
        r = back_through(net, i, Rule::Gradient, trace, None, &r)?;
    }
    Ok(r)
}

/// Everything one modified backward pass produced.
#[derive(Debug, Clone)]
pub struct Relevances {
    /// The rule of every layer.
    pub plan: Plan,
    /// The message at every layer boundary: `messages[0]` at the input, `messages[i + 1]` at the
    /// output of layer `i`.
    pub messages: Vec<Tensor>,
    /// The logits at `x`, `[N, K]`.
    pub logits: Tensor,
    /// The explained class of every example.
    pub classes: Vec<usize>,
    /// The target score `s_n` of every example, `[N]`.
    pub score: Tensor,
}

impl Relevances {
    /// The message at the input (the relevance map for LRP), shaped like `x`.
    pub fn input(&self) -> &Tensor {
        &self.messages[0]
    }

    /// `Σ` of the message over each example at every layer boundary: `sums()[b][n]`, boundary
    /// `b` as in [`Relevances::messages`]. For LRP this is the conservation diagnostic.
    pub fn sums(&self) -> Result<Vec<Vec<f32>>> {
        self.messages
            .iter()
            .map(|m| {
                Ok(m.flatten_from(1)?
                    .sum(1)?
                    .to_dtype(DType::F32)?
                    .to_device(&Device::Cpu)?
                    .to_vec1::<f32>()?)
            })
            .collect()
    }

    /// A table of the relevance sums of example `n` at every layer: layer, kind, rule,
    /// `Σ R_out`, `Σ R_in` and their ratio (1 where the rule conserves relevance).
    pub fn conservation(&self, n: usize) -> Result<String> {
        let sums = self.sums()?;
        if sums.first().is_none_or(|s| n >= s.len()) {
            bail!(
                "conservation: example {n} out of range for a batch of {}",
                sums.first().map_or(0, |s| s.len())
            );
        }
        let mut t = format!(
            "example {n}, class {}: {} on network {}\n{:>3}  {:<10} {:<16} {:<22} {:>12} {:>12} {:>8}\n",
            self.classes[n], self.plan.composite, self.plan.network, "#", "layer", "kind", "rule", "Σ R out", "Σ R in", "in/out"
        );
        for s in self.plan.steps.iter().rev() {
            let (out, inp) = (sums[s.index + 1][n], sums[s.index][n]);
            t.push_str(&format!(
                "{:>3}  {:<10} {:<16} {:<22} {:>12.6} {:>12.6} {:>8.4}\n",
                s.index,
                s.name,
                s.kind,
                s.rule.to_string(),
                out,
                inp,
                inp / out
            ));
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests;
