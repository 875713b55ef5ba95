//! CAM (Zhou et al. 2016) on networks that end in global average pooling and a linear layer.

use candle_core::Tensor;

use super::{layer_shapes, to_input_size, weighted_sum, CamMap, Corners};
use crate::attribution::{check_input, Attribution, Score, Target};
use crate::model::{Layer, Padding};
use crate::{bail, Error, Network, Result};

/// Class activation mapping (Zhou et al. 2016) for networks that end in global average pooling
/// and a linear layer: `CAM_c(i,j) = Σ_k W_ck A_k(i,j)`, `A` = the pooled feature maps, `W` the
/// linear layer's weight. No ReLU, no normalisation (as the paper and the original): negative
/// values are locations that speak against class `c`, and `mean_ij CAM_c = z_c − b_c`.
///
/// The head may be [`Layer::GlobalAvgPool`] or an average pooling whose single window covers the
/// whole map, optionally followed by flatten and dropout layers, then the final linear layer.
/// Explains [`Score::Logit`] (per class) or [`Score::SumOfLogits`] (weights `Σ_c W_ck`); other
/// scores are not linear in `A` and give an error (use [`super::GradCam`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cam {
    /// Corner convention of the upsampling in [`Attribution::attribute`].
    pub corners: Corners,
}

/// Indices of the pooling and the final linear layer of a GAP + linear head.
struct GapHead {
    pool: usize,
    linear: usize,
}

fn gap_head(net: &Network) -> Result<GapHead> {
    let layers = &net.layers;
    let tail = |from: usize| -> String {
        let v: Vec<String> = layers[from..]
            .iter()
            .map(|l| format!("{} ({})", l.name, l.layer.kind()))
            .collect();
        v.join(", ")
    };
    let fail = |why: String| -> Error {
        Error::invalid(format!(
            "cam: network {} does not end in global average pooling followed by a linear layer: {why} (its last layers are [{}]); CAM needs that head, Grad-CAM works on any network",
            net.name,
            tail(layers.len().saturating_sub(5))
        ))
    };
    let Some(linear) = layers.len().checked_sub(1) else {
        return Err(fail("it has no layers".into()));
    };
    if !matches!(layers[linear].layer, Layer::Linear { .. }) {
        return Err(fail(format!(
            "its last layer {} is {}, not linear",
            layers[linear].name,
            layers[linear].layer.kind()
        )));
    }
    let shapes = layer_shapes(net)?;
    let mut i = linear;
    while i > 0 {
        i -= 1;
        let l = &layers[i];
        match &l.layer {
            Layer::Flatten | Layer::Dropout { .. } => continue,
            Layer::GlobalAvgPool => return Ok(GapHead { pool: i, linear }),
            Layer::AvgPool2d {
                kernel,
                padding: Padding::Valid,
                ..
            } => {
                let input = if i == 0 {
                    net.input.to_vec()
                } else {
                    shapes[i - 1].clone()
                };
                if let [_, h, w] = input[..] {
                    if h == *kernel && w == *kernel {
                        return Ok(GapHead { pool: i, linear });
                    }
                }
                return Err(fail(format!(
                    "the average pooling {} before the linear layer does not cover its whole {:?} input",
                    l.name, input
                )));
            }
            other => {
                return Err(fail(format!(
                    "layer {} ({}) lies between the feature maps' pooling and the linear layer {}",
                    l.name,
                    other.kind(),
                    layers[linear].name
                )))
            }
        }
    }
    Err(fail(
        "no global average pooling before the linear layer".into(),
    ))
}

impl Cam {
    /// The class activation map at the feature maps' resolution (`[N, 1, h, w]`), with the
    /// class weights `W_c·` of every example.
    pub fn map(&self, net: &Network, x: &Tensor, target: &Target) -> Result<CamMap> {
        check_input("cam", net, x)?;
        let head = gap_head(net)?;
        if !matches!(target.score, Score::Logit | Score::SumOfLogits) {
            bail!(
                "cam: CAM explains logits (Score::Logit or Score::SumOfLogits), not {:?}; use GradCam for other scores",
                target.score
            );
        }
        let a = net.forward_range(x, 0..head.pool)?;
        let logits = net.forward_range(&a, head.pool..net.layers.len())?;
        let Layer::Linear { weight, .. } = &net.layers[head.linear].layer else {
            bail!("cam: layer {} is not linear", net.layers[head.linear].name);
        };
        let n = x.dim(0)?;
        let k = weight.dim(1)?;
        let weights = match target.score {
            Score::SumOfLogits => weight.sum_keepdim(0)?.broadcast_as((n, k))?.contiguous()?,
            _ => {
                let classes: Vec<u32> = target
                    .resolve(&logits)?
                    .into_iter()
                    .map(|c| c as u32)
                    .collect();
                let idx = Tensor::from_vec(classes, n, weight.device())?;
                weight.index_select(&idx, 0)?
            }
        };
        let a = if a.rank() == 4 {
            a
        } else {
            bail!(
                "cam: the input of the pooling layer {} is {:?}, not [N, K, h, w]",
                net.layers[head.pool].name,
                a.dims()
            );
        };
        Ok(CamMap {
            layer: match head.pool {
                0 => "input".to_string(),
                p => net.layers[p - 1].name.clone(),
            },
            map: weighted_sum(&a, &weights)?,
            weights,
            score: target.score(&logits)?,
            logits,
        })
    }
}

impl Attribution for Cam {
    /// The CAM stretched to the input's size: `[N, 1, H, W]`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        to_input_size(&self.map(net, x, target)?, x, self.corners)
    }
}
