//! The per-layer rules of the modified backward pass, and how each one is applied.
//!
//! A rule maps the message `r` at a layer's output (relevance for LRP and deep Taylor, a
//! modified gradient for guided backprop and deconvnet, a multiplier for DeepLIFT) to the
//! message at its input. For an affine layer `z_k = Σ_j a_j w_jk + b_k` (linear or conv) the LRP
//! rules all share one shape (Montavon et al. 2019, "Layer-Wise Relevance Propagation: An
//! Overview", §10.2.2), computed with two passes of the layer and no dense matrix:
//!
//! ```text
//! z = ρ(W) a + ρ(b)            (forward pass with modified weights)
//! s = r ⊘ stab(z)              (element-wise)
//! c = ρ(W)ᵀ s                  (transposed pass: matmul or the conv's input gradient)
//! r_in = a ⊙ c
//! ```
//!
//! | rule | ρ, z | reference |
//! |---|---|---|
//! | [`Rule::Zero`] | `ρ(W) = W`, with bias | Bach et al. 2015 |
//! | [`Rule::Epsilon`] | as LRP-0, `stab(z) = z + ε·sign(z)` | Bach et al. 2015 |
//! | [`Rule::Gamma`] | `ρ(W) = W + γW⁺`, `ρ(b) = b + γb⁺` | Montavon et al. 2019 |
//! | [`Rule::ZPlus`] | positive contributions `(a_j w_jk)⁺` only, no bias | Montavon et al. 2017 (DTD) |
//! | [`Rule::AlphaBeta`] | `α·(z⁺ share) − β·(z⁻ share)`, `z^± = Σ_j (a_j w_jk)^± + b_k^±` | Bach et al. 2015 |
//! | [`Rule::WSquare`] | `r_in = (W²)ᵀ (r ⊘ W²·1)`, input-independent | Montavon et al. 2017 |
//! | [`Rule::Flat`] | `r_in = 1ᵀ (r ⊘ 1·1)` (w² with all weights 1) | Lapuschkin et al. 2019 |
//! | [`Rule::ZBox`] | `z = Wa − W⁺l − W⁻h`, input box `l ≤ a ≤ h` | Montavon et al. 2017 (DTD) |
//!
//! The sign split of z⁺ and αβ is by the sign of the product `a_j w_jk` (Bach et al.'s
//! definition); for non-negative inputs (post-ReLU activations, pixels in `[0, 1]`) it is the
//! original tutorial's split by the sign of the weight. z⁺ is αβ with α = 1, β = 0 *without* the
//! bias (deep Taylor's z⁺ rule); [`Rule::alpha_beta`] keeps the positive and negative parts of
//! the bias in `z^±` as the original's §2.3 did.

use candle_core::{Tensor, Var};

use crate::kernels;
use crate::model::layer::{window_geometry, Layer};
use crate::{bail, Error, Result};

/// The smallest stabiliser, used where a rule promises no ε: it only keeps `0/0` finite.
pub(crate) const TINY: f64 = 1e-12;

/// Below this |Δ| DeepLIFT's Rescale rule uses the gradient instead of `Δy/Δx`.
pub(crate) const RESCALE_TOL: f64 = 1e-6;

/// One rule of the modified backward pass. Which layers it applies to: [`Rule::applies_to`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// LRP-0: `r_in = a ⊙ Wᵀ (r ⊘ z)`, `z = Wa + b` (Bach et al. 2015). Affine layers.
    Zero,
    /// LRP-ε: LRP-0 with `z + ε·sign(z)` (sign(0) = +1) in the denominator: relevance that a weak
    /// or contradictory `z` would blow up is absorbed. Affine layers.
    Epsilon(f32),
    /// LRP-γ: weights `W + γW⁺`, bias `b + γb⁺`, favouring positive contributions. Affine layers.
    Gamma(f32),
    /// z⁺ (deep Taylor, = LRP-α1β0 without bias): only positive contributions `(a_j w_jk)⁺`.
    /// Non-negative relevance for non-negative inputs; conserves relevance. Affine layers.
    ZPlus,
    /// LRP-αβ: `r_in = α·a ⊙ ρ⁺ᵀ(r ⊘ z⁺) − β·a ⊙ ρ⁻ᵀ(r ⊘ z⁻)` with α − β = 1, β ≥ 0; build it
    /// with [`Rule::alpha_beta`] (which enforces both). Affine layers.
    AlphaBeta { alpha: f32, beta: f32 },
    /// w²: `r_in = (W²)ᵀ (r ⊘ Σ_j w_jk²)` — only the weights decide, not the input (deep Taylor
    /// on an unbounded input domain). At conv borders only in-bounds taps count. Affine layers.
    WSquare,
    /// flat: w² with all weights equal to 1: relevance spread evenly over the receptive field.
    Flat,
    /// z^B (deep Taylor on the box `low ≤ a ≤ high`, e.g. pixels in `[0, 1]`):
    /// `z = Wa − W⁺l − W⁻h`, `r_in = a ⊙ Wᵀs − l ⊙ W⁺ᵀs − h ⊙ W⁻ᵀs`. Meant for the first layer.
    ZBox { low: f32, high: f32 },
    /// Passes the message unchanged (ReLU, dropout and flatten under LRP).
    Pass,
    /// The plain vector–Jacobian product (the chain rule): `Wᵀ r` for affine layers, the gradient
    /// routing of pooling, `r ⊙ 1[a > 0]` for ReLU. Any layer.
    Gradient,
    /// Max-pooling: all of an output's relevance goes to the window's winner (Bach et al. 2015).
    WinnerTakeAll,
    /// Pooling: relevance shared in proportion to the inputs, `r_j = a_j Σ_k r_k / Σ_{j'∈k} a_j'`
    /// (the z-rule on the window sum; Montavon et al. 2017 for max-pooling). Max-, average and
    /// global average pooling.
    Proportional,
    /// Deconvnet ReLU (Zeiler & Fergus 2014): `g_in = max(g_out, 0)`, the forward sign ignored.
    DeconvRelu,
    /// Guided ReLU (Springenberg et al. 2014): `g_in = g_out · 1[g_out > 0] · 1[a > 0]`.
    GuidedRelu,
    /// DeepLIFT's Rescale rule (Shrikumar et al. 2017) against a reference input: the multiplier
    /// `Δy/Δa` of a ReLU (the gradient where |Δa| < 1e-6); for max-pooling `M_k·Δy_k` of each
    /// window goes to its winner at `x` (if the output grew) or at the reference (if it shrank),
    /// divided by that cell's `Δa` — exact summation-to-delta. Needs a reference trace.
    Rescale,
}

impl Rule {
    /// LRP-αβ with α − β = 1 and β ≥ 0 enforced (α1β0 and α2β1 are the usual choices).
    pub fn alpha_beta(alpha: f32, beta: f32) -> Result<Rule> {
        if !(alpha.is_finite() && beta.is_finite())
            || beta < 0.0
            || (alpha - beta - 1.0).abs() > 1e-6
        {
            bail!("alpha_beta: need α − β = 1 and β ≥ 0, got α = {alpha}, β = {beta}");
        }
        Ok(Rule::AlphaBeta { alpha, beta })
    }

    /// Whether the rule can be applied to `layer`.
    pub fn applies_to(&self, layer: &Layer) -> bool {
        use Rule::*;
        match layer {
            Layer::Linear { .. } | Layer::Conv2d { .. } => matches!(
                self,
                Zero | Epsilon(_)
                    | Gamma(_)
                    | ZPlus
                    | AlphaBeta { .. }
                    | WSquare
                    | Flat
                    | ZBox { .. }
                    | Gradient
            ),
            Layer::Relu => matches!(self, Pass | Gradient | DeconvRelu | GuidedRelu | Rescale),
            Layer::MaxPool2d { .. } => {
                matches!(self, Gradient | WinnerTakeAll | Proportional | Rescale)
            }
            Layer::AvgPool2d { .. } | Layer::GlobalAvgPool => {
                matches!(self, Gradient | Proportional)
            }
            Layer::Flatten | Layer::Dropout { .. } => matches!(self, Pass | Gradient),
        }
    }

    /// Whether the rule needs the trace of a reference input.
    pub fn needs_reference(&self) -> bool {
        matches!(self, Rule::Rescale)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Zero => write!(f, "LRP-0"),
            Rule::Epsilon(e) => write!(f, "ε (ε = {e})"),
            Rule::Gamma(g) => write!(f, "γ (γ = {g})"),
            Rule::ZPlus => write!(f, "z⁺"),
            Rule::AlphaBeta { alpha, beta } => write!(f, "αβ (α = {alpha}, β = {beta})"),
            Rule::WSquare => write!(f, "w²"),
            Rule::Flat => write!(f, "flat"),
            Rule::ZBox { low, high } => write!(f, "z^B [{low}, {high}]"),
            Rule::Pass => write!(f, "pass"),
            Rule::Gradient => write!(f, "gradient"),
            Rule::WinnerTakeAll => write!(f, "winner-take-all"),
            Rule::Proportional => write!(f, "proportional"),
            Rule::DeconvRelu => write!(f, "deconvnet ReLU"),
            Rule::GuidedRelu => write!(f, "guided ReLU"),
            Rule::Rescale => write!(f, "rescale (DeepLIFT)"),
        }
    }
}

/// What a rule sees at one layer: the layer, its input and output at `x`, and (for Rescale)
/// the same at the reference input.
pub(crate) struct Step<'a> {
    pub layer: &'a Layer,
    pub a: &'a Tensor,
    pub y: &'a Tensor,
    pub reference: Option<(&'a Tensor, &'a Tensor)>,
}

/// `z + ε·sign(z)` with sign(0) = +1.
fn stabilize(z: &Tensor, eps: f64) -> Result<Tensor> {
    let sign = ((z.ge(0.0)?.to_dtype(z.dtype())? * 2.0)? - 1.0)?;
    Ok((z + (sign * eps)?)?)
}

/// `r ⊘ stab(z)`: one pass through the kernel on the CPU.
fn ratio(r: &Tensor, z: &Tensor, eps: f64) -> Result<Tensor> {
    if fused(&[r, z]) {
        return kernels::lrp_ratio(r, z, eps as f32);
    }
    Ok(r.div(&stabilize(z, eps)?)?)
}

/// Whether the rules' elementwise kernels apply to these tensors.
fn fused(ts: &[&Tensor]) -> bool {
    kernels::switches().rules
        && kernels::supports(ts)
        && ts.iter().all(|t| t.shape() == ts[0].shape())
}

/// An affine layer seen as a pair of maps `a ↦ ρ(W)a` and `s ↦ ρ(W)ᵀs`.
struct Affine<'a> {
    layer: &'a Layer,
    /// The input's shape (the transposed conv needs it).
    in_dims: Vec<usize>,
}

impl Affine<'_> {
    fn weight(&self) -> Result<&Tensor> {
        match self.layer {
            Layer::Linear { weight, .. } | Layer::Conv2d { weight, .. } => Ok(weight),
            other => bail!("relevance: {} is not an affine layer", other.kind()),
        }
    }

    fn bias(&self) -> Option<&Tensor> {
        match self.layer {
            Layer::Linear { bias, .. } | Layer::Conv2d { bias, .. } => bias.as_ref(),
            _ => None,
        }
    }

    /// `ρ(W) a`, no bias.
    fn forward(&self, a: &Tensor, w: &Tensor) -> Result<Tensor> {
        match self.layer {
            Layer::Linear { .. } => Ok(a.matmul(&w.t()?)?),
            Layer::Conv2d {
                stride, padding, ..
            } => crate::model::layer::conv2d(a, w, None, *stride, *padding),
            other => bail!("relevance: {} is not an affine layer", other.kind()),
        }
    }

    /// `b` broadcast onto `z` (or `z` itself without bias).
    fn add_bias(&self, z: Tensor, b: Option<&Tensor>) -> Result<Tensor> {
        Ok(match (b, self.layer) {
            (None, _) => z,
            (Some(b), Layer::Conv2d { .. }) => z.broadcast_add(&b.reshape((1, (), 1, 1))?)?,
            (Some(b), _) => z.broadcast_add(b)?,
        })
    }

    /// `ρ(W)ᵀ s`, shaped like the input: a matmul, or the convolution's input gradient (the fast
    /// CPU kernel where it applies, candle's autograd elsewhere).
    fn transpose(&self, s: &Tensor, w: &Tensor) -> Result<Tensor> {
        match self.layer {
            Layer::Linear { .. } => Ok(s.matmul(w)?),
            Layer::Conv2d {
                stride, padding, ..
            } => {
                let (h, wd) = match self.in_dims[..] {
                    [_, _, h, wd] => (h, wd),
                    ref d => bail!("relevance: conv2d input must be [N, C, H, W], got {d:?}"),
                };
                if kernels::switches().conv && kernels::supports(&[s, w]) {
                    let (_, _, kh, kw) = w.dims4()?;
                    let probe = Tensor::zeros((1, 1, h, wd), s.dtype(), s.device())?;
                    let (top, bottom, left, right, _, _) =
                        window_geometry(&probe, [kh, kw], *stride, *padding)?;
                    let pad = kernels::Pad2d {
                        top,
                        bottom,
                        left,
                        right,
                    };
                    kernels::conv2d_grad_input(s, w, *stride, pad, (h, wd))
                } else {
                    conv_transpose_candle(s, w, *stride, *padding, &self.in_dims)
                }
            }
            other => bail!("relevance: {} is not an affine layer", other.kind()),
        }
    }
}

/// `Wᵀ s` for a convolution, with candle's ops (any device, any dtype): the autograd of a
/// convolution over the padded input cropped to the cells its windows reach (candle 0.11.1's
/// conv backward returns a wrongly sized gradient when the stride leaves trailing cells unused),
/// then the padding removed and unused trailing cells given zero.
fn conv_transpose_candle(
    s: &Tensor,
    w: &Tensor,
    stride: usize,
    padding: crate::model::Padding,
    in_dims: &[usize],
) -> Result<Tensor> {
    let (n, c, h, wd) = match *in_dims {
        [n, c, h, wd] => (n, c, h, wd),
        ref d => bail!("relevance: conv2d input must be [N, C, H, W], got {d:?}"),
    };
    let (_, _, kh, kw) = w.dims4()?;
    let probe = Tensor::zeros((1, 1, h, wd), s.dtype(), s.device())?;
    let (top, _, left, _, oh, ow) = window_geometry(&probe, [kh, kw], stride, padding)?;
    let (uh, uw) = ((oh - 1) * stride + kh, (ow - 1) * stride + kw);
    let xp = Tensor::zeros((n, c, uh, uw), s.dtype(), s.device())?;
    let w = crate::grad::fresh_id(w)?;
    let g = vjp_of(&xp, s, |x| Ok(x.conv2d(&w, 0, stride, 1, 1)?))?;
    // padded row i is input row i − top; keep input rows [0, h) that exist in the used extent
    let crop = |g: Tensor, dim: usize, before: usize, used: usize, size: usize| -> Result<Tensor> {
        let keep = used.saturating_sub(before).min(size);
        let g = g.narrow(dim, before.min(used), keep)?;
        Ok(if keep < size {
            g.pad_with_zeros(dim, 0, size - keep)?
        } else {
            g
        })
    };
    let g = crop(g, 2, top, uh, h)?;
    crop(g, 3, left, uw, wd)
}

/// `(∂/∂a)[f(a) · g]` at `a`, by candle's autograd. Every tensor `f` captures must have been
/// passed through [`crate::grad::fresh_id`] by the caller (`g` and `a` are here).
fn vjp_of(a: &Tensor, g: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let v = Var::from_tensor(&a.detach())?;
    let y = f(v.as_tensor())?;
    let grads = (y * crate::grad::fresh_id(&g.detach())?)?
        .sum_all()?
        .backward()?;
    grads
        .get(v.as_tensor())
        .cloned()
        .ok_or_else(|| Error::invalid("relevance: the layer output does not depend on its input"))
}

/// The layer's own vector–Jacobian product at `a`.
fn layer_vjp(layer: &Layer, a: &Tensor, g: &Tensor) -> Result<Tensor> {
    if let Some(d) = crate::model::layer::pool_grad_input(layer, a, g)? {
        return Ok(d);
    }
    let layer = layer.with_fresh_ids()?;
    vjp_of(a, g, |a| layer.forward(a))
}

fn pos(t: &Tensor) -> Result<Tensor> {
    Ok(t.relu()?)
}

fn neg(t: &Tensor) -> Result<Tensor> {
    Ok((t - t.relu()?)?)
}

/// `1[t > 0]` in `t`'s dtype.
fn step(t: &Tensor) -> Result<Tensor> {
    Ok(t.gt(0.0)?.to_dtype(t.dtype())?)
}

/// `r ⊙ 1[a > 0]`: one pass through the fast kernel on the CPU.
fn gate(r: &Tensor, a: &Tensor) -> Result<Tensor> {
    if crate::kernels::switches().relu && crate::kernels::supports(&[r, a]) {
        crate::kernels::relu_grad(r, a)
    } else {
        crate::model::layer::portable::relu_grad(r, a)
    }
}

/// Applies `rule` at one layer: the message at the layer's input from the one at its output.
pub(crate) fn apply(rule: Rule, st: &Step, r: &Tensor) -> Result<Tensor> {
    if !rule.applies_to(st.layer) {
        bail!(
            "relevance: rule {rule} does not apply to a {} layer",
            st.layer.kind()
        );
    }
    match st.layer {
        Layer::Linear { .. } | Layer::Conv2d { .. } => affine(rule, st, r),
        Layer::Relu => relu(rule, st, r),
        Layer::MaxPool2d { .. } => match rule {
            Rule::Gradient | Rule::WinnerTakeAll => layer_vjp(st.layer, st.a, r),
            Rule::Proportional => proportional_pool(st, r),
            _ => rescale_max_pool(st, r),
        },
        Layer::AvgPool2d { .. } | Layer::GlobalAvgPool => match rule {
            Rule::Proportional => {
                let s = ratio(r, st.y, TINY)?;
                Ok((st.a * layer_vjp(st.layer, st.a, &s)?)?)
            }
            _ => layer_vjp(st.layer, st.a, r),
        },
        Layer::Flatten | Layer::Dropout { .. } => Ok(r.reshape(st.a.shape())?),
    }
}

fn affine(rule: Rule, st: &Step, r: &Tensor) -> Result<Tensor> {
    let aff = Affine {
        layer: st.layer,
        in_dims: st.a.dims().to_vec(),
    };
    let a = st.a;
    let w = aff.weight()?;
    match rule {
        Rule::Gradient => aff.transpose(r, w),
        Rule::Zero | Rule::Epsilon(_) | Rule::Gamma(_) => {
            let (wr, br, eps) = match rule {
                Rule::Gamma(g) => {
                    let g = g as f64;
                    let wr = (w + (pos(w)? * g)?)?;
                    let br = match aff.bias() {
                        Some(b) => Some((b + (pos(b)? * g)?)?),
                        None => None,
                    };
                    (wr, br, TINY)
                }
                Rule::Epsilon(e) => (w.clone(), aff.bias().cloned(), (e as f64).max(TINY)),
                _ => (w.clone(), aff.bias().cloned(), TINY),
            };
            let z = aff.add_bias(aff.forward(a, &wr)?, br.as_ref())?;
            let s = ratio(r, &z, eps)?;
            Ok((a * aff.transpose(&s, &wr)?)?)
        }
        Rule::ZPlus => alpha_beta(&aff, a, r, 1.0, 0.0, false),
        Rule::AlphaBeta { alpha, beta } => alpha_beta(&aff, a, r, alpha as f64, beta as f64, true),
        Rule::WSquare | Rule::Flat => {
            let w2 = if rule == Rule::WSquare {
                w.sqr()?
            } else {
                w.ones_like()?
            };
            let z = aff.forward(&a.ones_like()?, &w2)?;
            let s = ratio(r, &z, TINY)?;
            aff.transpose(&s, &w2)
        }
        Rule::ZBox { low, high } => {
            let l = (a.zeros_like()? + low as f64)?;
            let h = (a.zeros_like()? + high as f64)?;
            let (wp, wn) = (pos(w)?, neg(w)?);
            let z = ((aff.forward(a, w)? - aff.forward(&l, &wp)?)? - aff.forward(&h, &wn)?)?;
            let s = ratio(r, &z, TINY)?;
            let out = ((a * aff.transpose(&s, w)?)? - (l * aff.transpose(&s, &wp)?)?)?;
            Ok((out - (h * aff.transpose(&s, &wn)?)?)?)
        }
        other => bail!(
            "relevance: rule {other} does not apply to a {} layer",
            st.layer.kind()
        ),
    }
}

/// αβ (and z⁺ = α1β0 without bias), split by the sign of `a_j w_jk`.
fn alpha_beta(
    aff: &Affine,
    a: &Tensor,
    r: &Tensor,
    alpha: f64,
    beta: f64,
    with_bias: bool,
) -> Result<Tensor> {
    let w = aff.weight()?;
    let (wp, wn) = (pos(w)?, neg(w)?);
    let (ap, an) = (pos(a)?, neg(a)?);
    // Post-ReLU activations and pixels are non-negative: skip the a⁻ terms then.
    let has_neg = an
        .abs()?
        .max_all()?
        .to_dtype(candle_core::DType::F64)?
        .to_scalar::<f64>()?
        > 0.0;
    let bias = if with_bias { aff.bias() } else { None };
    // One sign part: z = ρ(a⁺, W^a) + ρ(a⁻, W^b) + b^±, r_in = a⁺ ⊙ W^aᵀ s + a⁻ ⊙ W^bᵀ s.
    let part = |w_for_pos: &Tensor, w_for_neg: &Tensor, b: Option<Tensor>, positive: bool| {
        let mut z = aff.forward(&ap, w_for_pos)?;
        if has_neg {
            z = (z + aff.forward(&an, w_for_neg)?)?;
        }
        let z = aff.add_bias(z, b.as_ref())?;
        // z⁺ ≥ 0 and z⁻ ≤ 0: push away from zero on the part's own side.
        let z = if positive { (z + TINY)? } else { (z - TINY)? };
        let s = r.div(&z)?;
        let mut out = (&ap * aff.transpose(&s, w_for_pos)?)?;
        if has_neg {
            out = (out + (&an * aff.transpose(&s, w_for_neg)?)?)?;
        }
        Ok::<Tensor, Error>(out)
    };
    let bp = bias.map(pos).transpose()?;
    let mut out = (part(&wp, &wn, bp, true)? * alpha)?;
    if beta > 0.0 {
        let bn = bias.map(neg).transpose()?;
        out = (out - (part(&wn, &wp, bn, false)? * beta)?)?;
    }
    Ok(out)
}

fn relu(rule: Rule, st: &Step, r: &Tensor) -> Result<Tensor> {
    Ok(match rule {
        Rule::Pass => r.clone(),
        Rule::Gradient => gate(r, st.a)?,
        Rule::DeconvRelu => crate::model::layer::relu(r)?,
        Rule::GuidedRelu => gate(&crate::model::layer::relu(r)?, st.a)?,
        _ => {
            let (a0, y0) = reference(st)?;
            if fused(&[r, st.a, a0, st.y, y0]) {
                return kernels::rescale_relu(r, st.a, a0, st.y, y0, RESCALE_TOL as f32);
            }
            let da = (st.a - a0)?;
            let dy = (st.y - y0)?;
            let far = da.abs()?.ge(RESCALE_TOL)?;
            // Where |Δa| is tiny, divide by 1 instead (the value is then discarded).
            let safe = far.where_cond(&da, &da.ones_like()?)?;
            let m = far.where_cond(&dy.div(&safe)?, &step(st.a)?)?;
            (r * m)?
        }
    })
}

fn reference<'a>(st: &Step<'a>) -> Result<(&'a Tensor, &'a Tensor)> {
    st.reference.ok_or_else(|| {
        Error::invalid(format!(
            "relevance: the rescale rule at a {} layer needs a reference input",
            st.layer.kind()
        ))
    })
}

/// The window-sum z-rule, with the same windows (and padding) as the pooling layer.
fn proportional_pool(st: &Step, r: &Tensor) -> Result<Tensor> {
    let Layer::MaxPool2d {
        kernel,
        stride,
        padding,
    } = st.layer
    else {
        bail!(
            "relevance: proportional max-pool rule on a {}",
            st.layer.kind()
        );
    };
    let avg = Layer::AvgPool2d {
        kernel: *kernel,
        stride: *stride,
        padding: *padding,
    };
    // Average pooling divides by the valid-cell count n_k and its gradient divides by n_k
    // again, so a ⊙ vjp(s) with s = r ⊘ avg(a) is a_j Σ_k r_k / Σ_{j'∈k} a_j'.
    let z = avg.forward(st.a)?;
    let s = ratio(r, &z, TINY)?;
    Ok((st.a * layer_vjp(&avg, st.a, &s)?)?)
}

/// DeepLIFT through max-pooling, exact summation-to-delta: where the window's output grew
/// (`Δy_k > 0`) `M_k Δy_k` goes to the window's winner at `x`, whose `Δa ≥ Δy_k > 0`; where it
/// shrank, to the winner at the reference, whose `Δa ≤ Δy_k < 0` (Captum's construction). Each
/// cell's multiplier is what it received divided by its `Δa`, so `Σ_j Δa_j m_j = Σ_k M_k Δy_k`;
/// cells with `|Δa| < 1e-6` receive (almost) nothing and get the plain gradient.
fn rescale_max_pool(st: &Step, m: &Tensor) -> Result<Tensor> {
    let (a0, y0) = reference(st)?;
    let dy = (st.y - y0)?;
    let up = layer_vjp(st.layer, st.a, &(m * dy.relu()?)?)?;
    let down = layer_vjp(st.layer, a0, &(m * neg(&dy)?)?)?;
    let routed = (up + down)?;
    let grad = layer_vjp(st.layer, st.a, m)?;
    if fused(&[&routed, &grad, st.a, a0]) {
        return kernels::rescale_select(&routed, &grad, st.a, a0, RESCALE_TOL as f32);
    }
    let da = (st.a - a0)?;
    let far = da.abs()?.ge(RESCALE_TOL)?;
    let safe = far.where_cond(&da, &da.ones_like()?)?;
    Ok(far.where_cond(&routed.div(&safe)?, &grad)?)
}
