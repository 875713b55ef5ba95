//! The modified-backward methods as [`Attribution`]s: [`Lrp`], [`DeepTaylor`], [`DeepLift`],
//! [`GuidedBackprop`] and [`Deconvnet`].

use candle_core::{Tensor, Var};

use super::composite::Composite;
use super::{propagate, Relevances};
use crate::attribution::{check_input, Attribution, Class, Score, Target};
use crate::methods::Baseline;
use crate::{bail, Error, Network, Result};

/// The one-hot matrix `[N, K]` of `classes`, in `like`'s dtype and device.
fn one_hot(classes: &[usize], like: &Tensor) -> Result<Tensor> {
    let (n, k) = like.dims2()?;
    let mut v = vec![0f32; n * k];
    for (i, &c) in classes.iter().enumerate() {
        v[i * k + c] = 1.0;
    }
    Ok(Tensor::from_vec(v, (n, k), like.device())?.to_dtype(like.dtype())?)
}

/// `∂s/∂z`: the gradient of the target score with respect to the logits, `[N, K]`.
fn score_gradient(target: &Target, logits: &Tensor) -> Result<Tensor> {
    let z = Var::from_tensor(&logits.detach())?;
    let s = target.score(z.as_tensor())?;
    let grads = s.sum_all()?.backward()?;
    grads
        .get(z.as_tensor())
        .cloned()
        .ok_or_else(|| Error::invalid("relevance: the target score does not depend on the logits"))
}

/// The target with its classes fixed to those resolved at `logits`.
fn fixed(target: &Target, classes: &[usize]) -> Target {
    Target {
        class: Class::PerExample(classes.to_vec()),
        score: target.score,
    }
}

/// The message at the input of a finished pass.
fn input_message(r: Relevances) -> Result<Tensor> {
    r.messages
        .into_iter()
        .next()
        .ok_or_else(|| Error::invalid("relevance: the backward pass produced no message"))
}

/// How the backward pass starts.
enum Start {
    /// Relevance: the score on the explained class (every logit for [`Score::SumOfLogits`]).
    Relevance,
    /// The gradient of the score with respect to the logits.
    Gradient,
}

/// Forward `x`, resolve the target, run `composite`'s backward pass.
fn run(
    op: &str,
    composite: &Composite,
    net: &Network,
    x: &Tensor,
    target: &Target,
    start: Start,
) -> Result<Relevances> {
    check_input(op, net, x)?;
    let plan = composite.resolve(net)?;
    let trace = net.forward_trace(&x.detach())?;
    let logits = trace
        .logits()
        .cloned()
        .ok_or_else(|| Error::invalid(format!("{op}: the network has no output")))?;
    if logits.rank() != 2 {
        bail!("{op}: expected logits [N, K], got {:?}", logits.dims());
    }
    let classes = target.resolve(&logits)?;
    let t = fixed(target, &classes);
    let score = t.score(&logits)?;
    let top = match start {
        Start::Relevance if target.score == Score::SumOfLogits => logits.clone(),
        Start::Relevance => one_hot(&classes, &logits)?.broadcast_mul(&score.unsqueeze(1)?)?,
        Start::Gradient => score_gradient(&t, &logits)?,
    };
    let messages = propagate(net, &plan, &trace, None, top)?;
    Ok(Relevances {
        plan,
        messages,
        logits,
        classes,
        score,
    })
}

/// Layer-wise relevance propagation with the rules of a [`Composite`].
///
/// The relevance at the output is the target score on the explained class (Bach et al. 2015);
/// each layer redistributes it with its rule. Default: [`Composite::epsilon_plus`] with
/// ε = 1e-6 (ε on linear layers, z⁺ on convolutions).
#[derive(Debug, Clone, PartialEq)]
pub struct Lrp {
    pub composite: Composite,
}

impl Default for Lrp {
    fn default() -> Lrp {
        Lrp {
            composite: Composite::epsilon_plus(1e-6),
        }
    }
}

impl Lrp {
    /// LRP with the rules of `composite`.
    pub fn new(composite: Composite) -> Lrp {
        Lrp { composite }
    }

    /// The relevance at every layer boundary, with the plan, the logits and the scores.
    pub fn explain(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Relevances> {
        run("lrp", &self.composite, net, x, target, Start::Relevance)
    }
}

impl Attribution for Lrp {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        input_message(self.explain(net, x, target)?)
    }
}

/// Deep Taylor decomposition (Montavon et al. 2017): z^B on the first affine layer for inputs
/// in `[low, high]`, z⁺ on the others, proportional max-pooling. The relevance is non-negative
/// and, without biases, conserved from the score down to the pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeepTaylor {
    /// Lower bound of the input domain (0 for MNIST pixels).
    pub low: f32,
    /// Upper bound of the input domain (1 for MNIST pixels).
    pub high: f32,
}

impl Default for DeepTaylor {
    fn default() -> DeepTaylor {
        DeepTaylor {
            low: 0.0,
            high: 1.0,
        }
    }
}

impl DeepTaylor {
    /// The composite these bounds give.
    pub fn composite(&self) -> Composite {
        Composite::deep_taylor(self.low, self.high)
    }

    /// The relevance at every layer boundary.
    pub fn explain(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Relevances> {
        if self.low > self.high {
            bail!(
                "deep_taylor: low {} must not exceed high {}",
                self.low,
                self.high
            );
        }
        run(
            "deep_taylor",
            &self.composite(),
            net,
            x,
            target,
            Start::Relevance,
        )
    }
}

impl Attribution for DeepTaylor {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        input_message(self.explain(net, x, target)?)
    }
}

/// Guided backpropagation (Springenberg et al. 2014): the gradient, with every ReLU passing only
/// positive signals at positive inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GuidedBackprop;

impl Attribution for GuidedBackprop {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        let r = run(
            "guided_backprop",
            &Composite::guided_backprop(),
            net,
            x,
            target,
            Start::Gradient,
        )?;
        input_message(r)
    }
}

/// Deconvnet (Zeiler & Fergus 2014): the gradient, with every ReLU applied to the backward
/// signal instead of gated by the forward one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deconvnet;

impl Attribution for Deconvnet {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        let r = run(
            "deconvnet",
            &Composite::deconvnet(),
            net,
            x,
            target,
            Start::Gradient,
        )?;
        input_message(r)
    }
}

/// DeepLIFT with the Rescale rule (Shrikumar et al. 2017) against a reference input.
///
/// Multipliers `M` flow back with the linear rule through affine layers and `Δy/Δx` through
/// ReLUs (the gradient where `|Δx| < 1e-6`); the contributions are `C = (x − x₀) ⊙ M` and sum to
/// `s(x) − s(x₀)` (summation-to-delta). For a softmax or `ReLU(z_c)` score the score itself is
/// rescaled against `z_c`. Default reference: the black image (the original's §2.5).
#[derive(Debug, Clone, Default)]
pub struct DeepLift {
    pub baseline: Baseline,
}

impl DeepLift {
    /// The contributions and, per example, `δ_n = Σ_i C_i − (s(x_n) − s(x₀_n))` (0 up to
    /// rounding on ReLU, max-pool and affine networks).
    pub fn attribute_with_delta(
        &self,
        net: &Network,
        x: &Tensor,
        target: &Target,
    ) -> Result<(Tensor, Tensor)> {
        check_input("deep_lift", net, x)?;
        let x = x.detach();
        let x0 = self.baseline.for_input(&x)?;
        let plan = Composite::deep_lift().resolve(net)?;
        let trace = net.forward_trace(&x)?;
        let reference = net.forward_trace(&x0)?;
        let (logits, logits0) = match (trace.logits(), reference.logits()) {
            (Some(a), Some(b)) => (a.clone(), b.clone()),
            _ => bail!("deep_lift: the network has no output"),
        };
        let classes = target.resolve(&logits)?;
        let t = fixed(target, &classes);
        let (s, s0) = (t.score(&logits)?, t.score(&logits0)?);
        let top = match t.score {
            Score::Logit => one_hot(&classes, &logits)?,
            Score::SumOfLogits => logits.ones_like()?,
            Score::Softmax | Score::ReluLogit => {
                // Rescale the score against the class logit: m = Δs/Δz_c (∂s/∂z_c if Δz_c ≈ 0).
                let oh = one_hot(&classes, &logits)?;
                let zc = (&logits * &oh)?.sum(1)?;
                let zc0 = (&logits0 * &oh)?.sum(1)?;
                let dz = (zc - zc0)?;
                let ds = (&s - &s0)?;
                let g = (score_gradient(&t, &logits)? * &oh)?.sum(1)?;
                let far = dz.abs()?.ge(super::rules::RESCALE_TOL)?;
                let safe = far.where_cond(&dz, &dz.ones_like()?)?;
                let m = far.where_cond(&ds.div(&safe)?, &g)?;
                oh.broadcast_mul(&m.unsqueeze(1)?)?
            }
        };
        let messages = propagate(net, &plan, &trace, Some(&reference), top)?;
        let c = ((&x - &x0)? * &messages[0])?;
        let delta = (c.flatten_from(1)?.sum(1)? - (s - s0)?)?;
        Ok((c, delta))
    }
}

impl Attribution for DeepLift {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        Ok(self.attribute_with_delta(net, x, target)?.0)
    }
}
