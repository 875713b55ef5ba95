//! Score-CAM (Wang et al. 2020): channel weights from masked forward passes, no gradient.

use candle_core::Tensor;

use super::{feature_layer, to_input_size, upsample_bilinear, weighted_sum, CamMap, Corners};
use crate::attribution::{check_input, Attribution, Class, Target};
use crate::{Network, Result};

/// Score-CAM (Wang, Wang, Du, Yang, Zhang, Ding, Mardziel & Hu 2020, "Score-CAM: Score-Weighted
/// Visual Explanations for Convolutional Neural Networks"): channel weights from forward passes
/// only, no gradient.
///
/// For each channel `k`, `A_k` is upsampled to the input's `H × W` ([`upsample_bilinear`] with
/// [`ScoreCam::corners`]) and min–max normalised per example,
/// `M_k = (U_k − min U_k) / (max U_k − min U_k)` ∈ [0, 1] (a channel that is constant at the
/// layer's resolution, or whose upsampled map is, gets the all-zero mask); the network scores
/// the masked input, `f_k = s(x ⊙ M_k)` (the mask multiplies every input channel); the weights
/// are `w = softmax_k(f_k)` and `L = ReLU(Σ_k w_k A_k)` at the layer's resolution. Cost: `K`
/// forward passes per image, evaluated [`ScoreCam::batch_size`] masked inputs at a time (as
/// [`crate::methods::Occlusion`] does: memory bounded by one pass, the masks made pass by pass).
/// The classes are fixed at the clean input: every masked copy explains the class chosen for `x`.
///
/// **Which definition.** This is pytorch-grad-cam's `ScoreCAM`: its `f_k` is the target (the
/// class logit with `ClassifierOutputTarget`, here [`Target`]'s score), the weights are the
/// softmax of the `f_k` over the channels, the upsampling is `UpsamplingBilinear2d`, i.e.
/// aligned corners ([`Corners::Aligned`], our default). The paper defines the weight as the
/// *increase of confidence* `f(x ⊙ M_k) − f(x_b)` over a baseline input `x_b`; a softmax over the
/// channels is blind to a constant shift, so with `softmax: true` subtracting the baseline's
/// score would change nothing. The authors' own code takes `f_k` = the class's softmax
/// probability (`Score::Softmax`) as the weight directly, without a softmax over channels
/// (`softmax: false`), upsamples with half-pixel centres ([`Corners::HalfPixel`]) and leaves out
/// channels that are constant after upsampling; here, as in pytorch-grad-cam, such a channel
/// masks everything out and is weighed by the score of the zeroed input (for the usual constant
/// channel, all zeros, the weight multiplies zeros either way). pytorch-grad-cam divides by
/// `max − min + 1e-8` instead of testing for a constant channel: the same masks, except for
/// nearly constant channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreCam {
    /// The layer whose output is weighed; `None` = the last layer with a feature-map output.
    pub layer: Option<String>,
    /// Apply the final ReLU (the paper's choice).
    pub relu: bool,
    /// Normalise the channel scores by a softmax over the channels (pytorch-grad-cam, the
    /// default); `false` weighs with the raw scores `f_k`.
    pub softmax: bool,
    /// Corner convention of the masks' upsampling and of [`Attribution::attribute`]'s.
    pub corners: Corners,
    /// Masked inputs per forward pass: as many channels of the whole batch (`N` inputs each) as
    /// fit, and at least one (fewer on the CPU when the network's activations would be large,
    /// [`crate::alloc::inputs_per_pass`]).
    pub batch_size: usize,
}

impl Default for ScoreCam {
    /// The last feature-map layer, ReLU, channel softmax, aligned corners, 500 inputs per pass.
    fn default() -> Self {
        ScoreCam {
            layer: None,
            relu: true,
            softmax: true,
            corners: Corners::Aligned,
            batch_size: 500,
        }
    }
}

impl ScoreCam {
    /// Score-CAM on the output of the layer called `layer`.
    pub fn new(layer: &str) -> ScoreCam {
        ScoreCam {
            layer: Some(layer.to_string()),
            ..ScoreCam::default()
        }
    }

    /// The masks `M_k` of activations `a` (`[N, K, h, w]`): each channel upsampled to `size`
    /// with `corners` and min–max normalised to [0, 1] per example and channel, `[N, K, H, W]`;
    /// all zeros for a channel that is constant before or after the upsampling.
    pub fn masks(a: &Tensor, size: (usize, usize), corners: Corners) -> Result<Tensor> {
        let (n, k, _, _) = a.dims4()?;
        let range = |t: &Tensor| -> Result<(Tensor, Tensor)> {
            let f = t.flatten_from(2)?;
            let lo = f.min_keepdim(2)?.reshape((n, k, 1, 1))?;
            let hi = f.max_keepdim(2)?.reshape((n, k, 1, 1))?;
            Ok(((hi - &lo)?, lo))
        };
        let up = upsample_bilinear(a, size, corners)?;
        let (span, lo) = range(&up)?;
        let (span_low, _) = range(a)?;
        // 1 where the channel is constant (before or after upsampling): its mask is zero, and
        // its denominator becomes 1 so that nothing divides by zero.
        let dt = a.dtype();
        let flat = span.eq(0.0)?.maximum(&span_low.eq(0.0)?)?.to_dtype(dt)?;
        let safe = (&span + &flat)?;
        Ok(up
            .broadcast_sub(&lo)?
            .broadcast_div(&safe)?
            .broadcast_mul(&flat.affine(-1.0, 1.0)?)?)
    }

    /// The scores `f_k = s(x ⊙ M_k)` of the masked inputs, `[N, K]`, for activations `a` of `x`
    /// and a target whose classes are already fixed per example.
    fn channel_scores(
        &self,
        net: &Network,
        x: &Tensor,
        a: &Tensor,
        target: &Target,
    ) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let k = a.dim(1)?;
        let per_pass = crate::alloc::inputs_per_pass(net, self.batch_size)?;
        let channels_per_pass = (per_pass / n).max(1);
        let xs = x.unsqueeze(0)?; // [1, N, C, H, W]
        let mut scores = Vec::with_capacity(k.div_ceil(channels_per_pass));
        for first in (0..k).step_by(channels_per_pass) {
            let kc = channels_per_pass.min(k - first);
            let masks = ScoreCam::masks(&a.narrow(1, first, kc)?, (h, w), self.corners)?;
            // [kc, N, 1, H, W]: channel-major, so that the classes repeat as `tiled` repeats them.
            let m = masks.transpose(0, 1)?.unsqueeze(2)?;
            let masked = xs.broadcast_mul(&m)?.reshape((kc * n, c, h, w))?;
            let s = target.tiled(kc).score(&net.forward(&masked)?)?;
            scores.push(s.reshape((kc, n))?);
        }
        Ok(Tensor::cat(&scores, 0)?.t()?.contiguous()?)
    }

    /// The Score-CAM map at the layer's resolution (`[N, 1, h, w]`) and the channel weights
    /// `w_k` (`[N, K]`; with `softmax`, each row sums to 1).
    pub fn map(&self, net: &Network, x: &Tensor, target: &Target) -> Result<CamMap> {
        check_input("score_cam", net, x)?;
        let i = feature_layer("score_cam", net, self.layer.as_deref())?;
        let a = net.forward_range(x, 0..i + 1)?;
        let logits = net.forward_range(&a, i + 1..net.layers.len())?;
        let target = Target {
            class: Class::PerExample(target.resolve(&logits)?),
            score: target.score,
        };
        let f = self.channel_scores(net, x, &a, &target)?;
        let weights = if self.softmax {
            candle_nn::ops::softmax(&f, 1)?
        } else {
            f
        };
        let map = weighted_sum(&a, &weights)?;
        Ok(CamMap {
            layer: net.layers[i].name.clone(),
            map: if self.relu { map.relu()? } else { map },
            weights,
            score: target.score(&logits)?,
            logits,
        })
    }
}

impl Attribution for ScoreCam {
    /// The Score-CAM map stretched to the input's size: `[N, 1, H, W]`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        to_input_size(&self.map(net, x, target)?, x, self.corners)
    }
}
