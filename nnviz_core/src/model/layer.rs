//! Layers as data: every method can see each layer's kind and parameters.
//!
//! [`LayerSpec`] is the architecture (what goes into a model file's JSON); [`Layer`] is a spec
//! with its tensors. Padding follows TensorFlow's `SAME` convention where the tutorial used it:
//! `out = ⌈n/s⌉`, `pad_total = max((out−1)·s + k − n, 0)`, `before = ⌊pad_total/2⌋`, the extra
//! cell after (bottom/right). SAME max-pooling ignores padded cells; SAME average pooling divides
//! by the number of valid cells in each window.

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::{bail, Result, Rng};

pub mod portable;

/// How a convolution or pooling window treats the border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// No padding: only windows that fit entirely inside the input.
    Valid,
    /// TensorFlow `SAME`: output size `⌈n/stride⌉`, the odd cell of padding at the bottom/right.
    Same,
    /// Explicit zero padding on each side.
    Explicit {
        top: usize,
        bottom: usize,
        left: usize,
        right: usize,
    },
}

impl Padding {
    /// `(before, after, out)` along one axis of size `n` for a window `k` with stride `s`.
    pub fn resolve(
        &self,
        n: usize,
        k: usize,
        s: usize,
        axis: Axis,
    ) -> Result<(usize, usize, usize)> {
        if s == 0 || k == 0 {
            bail!("padding: kernel {k} and stride {s} must be positive");
        }
        let (before, after) = match *self {
            Padding::Valid => (0, 0),
            Padding::Same => {
                let out = n.div_ceil(s);
                let total = ((out - 1) * s + k).saturating_sub(n);
                (total / 2, total - total / 2)
            }
            Padding::Explicit {
                top,
                bottom,
                left,
                right,
            } => match axis {
                Axis::H => (top, bottom),
                Axis::W => (left, right),
            },
        };
        let padded = n + before + after;
        if padded < k {
            bail!("padding: window {k} does not fit an input of size {n} padded to {padded}");
        }
        Ok((before, after, (padded - k) / s + 1))
    }
}

/// Spatial axis, for [`Padding::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    H,
    W,
}

/// The architecture of one layer: kind and hyperparameters, no tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LayerSpec {
    /// `y = x Wᵀ + b`, `W` is `[out, in]` (PyTorch layout).
    Linear {
        in_features: usize,
        out_features: usize,
        bias: bool,
    },
    /// 2-D cross-correlation, `W` is `[out, in, kh, kw]` (PyTorch layout), NCHW tensors.
    Conv2d {
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        stride: usize,
        padding: Padding,
        bias: bool,
    },
    Relu,
    MaxPool2d {
        kernel: usize,
        stride: usize,
        padding: Padding,
    },
    AvgPool2d {
        kernel: usize,
        stride: usize,
        padding: Padding,
    },
    /// Mean over all spatial positions: `[N,C,H,W] → [N,C]`.
    GlobalAvgPool,
    /// `[N, …] → [N, prod(…)]`.
    Flatten,
    /// Drops each unit with probability `rate` in training (inverted dropout); identity otherwise.
    Dropout {
        rate: f32,
    },
}

impl LayerSpec {
    /// Short kind name, as printed in tables ("conv2d", "relu", …).
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::Relu => "relu",
            LayerSpec::MaxPool2d { .. } => "max_pool2d",
            LayerSpec::AvgPool2d { .. } => "avg_pool2d",
            LayerSpec::GlobalAvgPool => "global_avg_pool",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Dropout { .. } => "dropout",
        }
    }

    /// Parameter shapes, by suffix (`"weight"`, `"bias"`), in PyTorch layout.
    pub fn param_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        match *self {
            LayerSpec::Linear {
                in_features,
                out_features,
                bias,
            } => {
                let mut v = vec![("weight", vec![out_features, in_features])];
                if bias {
                    v.push(("bias", vec![out_features]));
                }
                v
            }
            LayerSpec::Conv2d {
                in_channels,
                out_channels,
                kernel,
                bias,
                ..
            } => {
                let mut v = vec![(
                    "weight",
                    vec![out_channels, in_channels, kernel[0], kernel[1]],
                )];
                if bias {
                    v.push(("bias", vec![out_channels]));
                }
                v
            }
            _ => vec![],
        }
    }

    /// The output shape (without the batch axis) for an input shape, or an error naming the
    /// mismatch.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let chw = |what: &str| -> Result<(usize, usize, usize)> {
            match *input {
                [c, h, w] => Ok((c, h, w)),
                _ => bail!("{what} expects a [C,H,W] input, got {input:?}"),
            }
        };
        Ok(match *self {
            LayerSpec::Linear {
                in_features,
                out_features,
                ..
            } => {
                if input != [in_features] {
                    bail!("linear expects [{in_features}] features, got {input:?} (add a flatten layer?)");
                }
                vec![out_features]
            }
            LayerSpec::Conv2d {
                in_channels,
                out_channels,
                kernel,
                stride,
                padding,
                ..
            } => {
                let (c, h, w) = chw("conv2d")?;
                if c != in_channels {
                    bail!("conv2d expects {in_channels} input channels, got {c}");
                }
                let (_, _, oh) = padding.resolve(h, kernel[0], stride, Axis::H)?;
                let (_, _, ow) = padding.resolve(w, kernel[1], stride, Axis::W)?;
                vec![out_channels, oh, ow]
            }
            LayerSpec::MaxPool2d {
                kernel,
                stride,
                padding,
            }
            | LayerSpec::AvgPool2d {
                kernel,
                stride,
                padding,
            } => {
                let (c, h, w) = chw(self.kind())?;
                let (_, _, oh) = padding.resolve(h, kernel, stride, Axis::H)?;
                let (_, _, ow) = padding.resolve(w, kernel, stride, Axis::W)?;
                vec![c, oh, ow]
            }
            LayerSpec::GlobalAvgPool => vec![chw("global_avg_pool")?.0],
            LayerSpec::Flatten => vec![input.iter().product()],
            LayerSpec::Relu | LayerSpec::Dropout { .. } => input.to_vec(),
        })
    }
}

/// A layer with its parameters. The variants mirror [`LayerSpec`].
#[derive(Debug, Clone)]
pub enum Layer {
    Linear {
        weight: Tensor,
        bias: Option<Tensor>,
    },
    Conv2d {
        weight: Tensor,
        bias: Option<Tensor>,
        stride: usize,
        padding: Padding,
    },
    Relu,
    MaxPool2d {
        kernel: usize,
        stride: usize,
        padding: Padding,
    },
    AvgPool2d {
        kernel: usize,
        stride: usize,
        padding: Padding,
    },
    GlobalAvgPool,
    Flatten,
    Dropout {
        rate: f32,
    },
}

impl Layer {
    /// A layer from its spec and its parameters (`"weight"`, `"bias"` as the spec lists them).
    /// Shapes are checked by the caller ([`crate::Network::from_parts`]).
    pub(crate) fn from_spec(
        spec: &LayerSpec,
        mut take: impl FnMut(&str) -> Result<Tensor>,
    ) -> Result<Layer> {
        Ok(match *spec {
            LayerSpec::Linear { bias, .. } => Layer::Linear {
                weight: take("weight")?,
                bias: if bias { Some(take("bias")?) } else { None },
            },
            LayerSpec::Conv2d {
                stride,
                padding,
                bias,
                ..
            } => Layer::Conv2d {
                weight: take("weight")?,
                bias: if bias { Some(take("bias")?) } else { None },
                stride,
                padding,
            },
            LayerSpec::Relu => Layer::Relu,
            LayerSpec::MaxPool2d {
                kernel,
                stride,
                padding,
            } => Layer::MaxPool2d {
                kernel,
                stride,
                padding,
            },
            LayerSpec::AvgPool2d {
                kernel,
                stride,
                padding,
            } => Layer::AvgPool2d {
                kernel,
                stride,
                padding,
            },
            LayerSpec::GlobalAvgPool => Layer::GlobalAvgPool,
            LayerSpec::Flatten => Layer::Flatten,
            LayerSpec::Dropout { rate } => Layer::Dropout { rate },
        })
    }

    /// The architecture of this layer.
    pub fn spec(&self) -> Result<LayerSpec> {
        Ok(match self {
            Layer::Linear { weight, bias } => {
                let (out_features, in_features) = weight.dims2()?;
                LayerSpec::Linear {
                    in_features,
                    out_features,
                    bias: bias.is_some(),
                }
            }
            Layer::Conv2d {
                weight,
                bias,
                stride,
                padding,
            } => {
                let (out_channels, in_channels, kh, kw) = weight.dims4()?;
                LayerSpec::Conv2d {
                    in_channels,
                    out_channels,
                    kernel: [kh, kw],
                    stride: *stride,
                    padding: *padding,
                    bias: bias.is_some(),
                }
            }
            Layer::Relu => LayerSpec::Relu,
            Layer::MaxPool2d {
                kernel,
                stride,
                padding,
            } => LayerSpec::MaxPool2d {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
            },
            Layer::AvgPool2d {
                kernel,
                stride,
                padding,
            } => LayerSpec::AvgPool2d {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
            },
            Layer::GlobalAvgPool => LayerSpec::GlobalAvgPool,
            Layer::Flatten => LayerSpec::Flatten,
            Layer::Dropout { rate } => LayerSpec::Dropout { rate: *rate },
        })
    }

    /// Short kind name ("conv2d", "relu", …).
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Linear { .. } => "linear",
            Layer::Conv2d { .. } => "conv2d",
            Layer::Relu => "relu",
            Layer::MaxPool2d { .. } => "max_pool2d",
            Layer::AvgPool2d { .. } => "avg_pool2d",
            Layer::GlobalAvgPool => "global_avg_pool",
            Layer::Flatten => "flatten",
            Layer::Dropout { .. } => "dropout",
        }
    }

    /// The layer's parameters as `(suffix, tensor)`: `("weight", W)`, `("bias", b)`.
    pub fn params(&self) -> Vec<(&'static str, &Tensor)> {
        match self {
            Layer::Linear { weight, bias } | Layer::Conv2d { weight, bias, .. } => {
                let mut v = vec![("weight", weight)];
                if let Some(b) = bias {
                    v.push(("bias", b));
                }
                v
            }
            _ => vec![],
        }
    }

    /// Mutable access to the parameters, in the order of [`Layer::params`].
    pub(crate) fn params_mut(&mut self) -> Vec<&mut Tensor> {
        match self {
            Layer::Linear { weight, bias } | Layer::Conv2d { weight, bias, .. } => {
                let mut v = vec![weight];
                if let Some(b) = bias {
                    v.push(b);
                }
                v
            }
            _ => vec![],
        }
    }

    /// The same layer with every untracked parameter under a new tensor id, sharing its storage
    /// (see [`crate::grad::fresh_id`]: for candle's autograd inside an evcxr cell).
    pub fn with_fresh_ids(&self) -> Result<Layer> {
        let mut l = self.clone();
        for p in l.params_mut() {
            *p = crate::grad::fresh_id(p)?;
        }
        Ok(l)
    }

    /// Evaluation-mode forward pass (dropout is the identity).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, None)
    }

    /// Forward pass; `rng` = `Some` switches dropout on (training mode).
    pub fn forward_with(&self, x: &Tensor, rng: Option<&mut Rng>) -> Result<Tensor> {
        Ok(match self {
            Layer::Linear { weight, bias } => {
                let y = x.matmul(&weight.t()?)?;
                match bias {
                    Some(b) => y.broadcast_add(b)?,
                    None => y,
                }
            }
            Layer::Conv2d {
                weight,
                bias,
                stride,
                padding,
            } => conv2d(x, weight, bias.as_ref(), *stride, *padding)?,
            Layer::Relu => relu(x)?,
            Layer::MaxPool2d {
                kernel,
                stride,
                padding,
            } => max_pool2d(x, *kernel, *stride, *padding)?,
            Layer::AvgPool2d {
                kernel,
                stride,
                padding,
            } => avg_pool2d(x, *kernel, *stride, *padding)?,
            Layer::GlobalAvgPool => x.mean((2, 3))?,
            Layer::Flatten => x.flatten_from(1)?,
            Layer::Dropout { rate } => match rng {
                Some(rng) if *rate > 0.0 => dropout(x, *rate, rng)?,
                _ => x.clone(),
            },
        })
    }
}

/// `max(x, 0)` whose gradient is `g · [x > 0]` on every device: nothing passes where the input
/// is exactly 0, as in PyTorch and TensorFlow (candle's own `relu` backward passes it, which on
/// bias-free networks and blank backgrounds — conv outputs of exactly 0 — changes gradients).
/// The fast kernel on the CPU; [`portable::relu`] elsewhere.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if crate::kernels::switches().relu && crate::kernels::supports(&[x]) {
        crate::kernels::relu(x)
    } else {
        portable::relu(x)
    }
}

/// `(top, bottom, left, right, out_h, out_w)` for a window on an `[N,C,H,W]` input.
pub(crate) fn window_geometry(
    x: &Tensor,
    kernel: [usize; 2],
    stride: usize,
    padding: Padding,
) -> Result<(usize, usize, usize, usize, usize, usize)> {
    let (_, _, h, w) = x.dims4()?;
    let (top, bottom, oh) = padding.resolve(h, kernel[0], stride, Axis::H)?;
    let (left, right, ow) = padding.resolve(w, kernel[1], stride, Axis::W)?;
    Ok((top, bottom, left, right, oh, ow))
}

/// Convolution with TensorFlow-style (possibly asymmetric) padding: the fast kernel on the CPU,
/// [`portable::conv2d`] elsewhere.
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: Padding,
) -> Result<Tensor> {
    if !(crate::kernels::switches().conv && crate::kernels::supports(&[x, w])) {
        return portable::conv2d(x, w, b, stride, padding);
    }
    let (_, _, kh, kw) = w.dims4()?;
    // im2col + gemm, with the padding applied inside im2col (and the bias inside the same pass).
    let pad = pad2d(x, [kh, kw], stride, padding)?;
    Ok(match b {
        Some(b) if crate::kernels::supports(&[b]) => {
            crate::kernels::conv2d_bias(x, w, b, stride, pad)?
        }
        Some(b) => crate::kernels::conv2d(x, w, stride, pad)?.broadcast_add(&b.reshape((
            1,
            (),
            1,
            1,
        ))?)?,
        None => crate::kernels::conv2d(x, w, stride, pad)?,
    })
}

/// The explicit padding of a window on an `[N,C,H,W]` input, for the kernels.
pub(crate) fn pad2d(
    x: &Tensor,
    kernel: [usize; 2],
    stride: usize,
    padding: Padding,
) -> Result<crate::kernels::Pad2d> {
    let (top, bottom, left, right, _, _) = window_geometry(x, kernel, stride, padding)?;
    Ok(crate::kernels::Pad2d {
        top,
        bottom,
        left,
        right,
    })
}

/// The input gradient of a pooling layer at input `a` for the output gradient `g` through the
/// fast CPU kernels, without an autograd graph; `None` when the layer is not a max- or average
/// pooling or the kernels do not apply (other devices and dtypes, pooling kernels off).
pub(crate) fn pool_grad_input(layer: &Layer, a: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
    let (kernel, stride, padding, max) = match layer {
        Layer::MaxPool2d {
            kernel,
            stride,
            padding,
        } => (*kernel, *stride, *padding, true),
        Layer::AvgPool2d {
            kernel,
            stride,
            padding,
        } => (*kernel, *stride, *padding, false),
        _ => return Ok(None),
    };
    if !(crate::kernels::switches().pool && crate::kernels::supports(&[a, g])) {
        return Ok(None);
    }
    let pad = pad2d(a, [kernel, kernel], stride, padding)?;
    let (_, _, h, w) = a.dims4()?;
    Ok(Some(if max {
        crate::kernels::max_pool2d_grad_input(a, g, [kernel, kernel], stride, pad)?
    } else {
        crate::kernels::avg_pool2d_grad_input(g, [kernel, kernel], stride, pad, (h, w))?
    }))
}

/// Max-pooling; padded cells never win. Each window's gradient goes to its first maximal cell
/// (row-major), as in PyTorch. The fast kernel on the CPU, [`portable::max_pool2d`] elsewhere.
pub fn max_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: Padding) -> Result<Tensor> {
    if crate::kernels::switches().pool && crate::kernels::supports(&[x]) {
        let pad = pad2d(x, [kernel, kernel], stride, padding)?;
        return crate::kernels::max_pool2d(x, [kernel, kernel], stride, pad);
    }
    portable::max_pool2d(x, kernel, stride, padding)
}

/// Average pooling over the valid (unpadded) cells of each window, as TensorFlow's SAME. The
/// fast kernel on the CPU, [`portable::avg_pool2d`] elsewhere.
pub fn avg_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: Padding) -> Result<Tensor> {
    if crate::kernels::switches().pool && crate::kernels::supports(&[x]) {
        let pad = pad2d(x, [kernel, kernel], stride, padding)?;
        return crate::kernels::avg_pool2d(x, [kernel, kernel], stride, pad);
    }
    portable::avg_pool2d(x, kernel, stride, padding)
}

/// Inverted dropout with a seeded mask: kept units are scaled by `1/(1−rate)`.
pub fn dropout(x: &Tensor, rate: f32, rng: &mut Rng) -> Result<Tensor> {
    Ok((x * dropout_mask(x, rate, rng)?)?)
}

/// The mask of [`dropout`] for `x`: `1/(1−rate)` where a unit is kept, 0 elsewhere, one
/// uniform draw from `rng` per unit in order.
pub(crate) fn dropout_mask(x: &Tensor, rate: f32, rng: &mut Rng) -> Result<Tensor> {
    if !(0.0..1.0).contains(&rate) {
        bail!("dropout: rate must be in [0, 1), got {rate}");
    }
    let keep = 1.0 - rate;
    let scale = 1.0 / keep;
    // `rng.uniform() < keep` without the float: uniform() is (bits >> 40) · 2⁻²⁴, exact, so it is
    // below `keep` exactly when the integer bits >> 40 are below keep · 2²⁴ (exact in f64), i.e.
    // below its ceiling. The same draws, the same mask.
    let below = (keep as f64 * (1u64 << 24) as f64).ceil() as u64;
    let n = x.elem_count();
    let mask: Vec<f32> = (0..n)
        .map(|_| {
            if rng.next_u64() >> 40 < below {
                scale
            } else {
                0.0
            }
        })
        .collect();
    Ok(Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?)
}

/// Glorot-uniform initial weights (TensorFlow's default), zero bias.
pub(crate) fn init_param(
    shape: &[usize],
    suffix: &str,
    rng: &mut Rng,
    device: &Device,
) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    if suffix == "bias" {
        return Ok(Tensor::zeros(shape, DType::F32, device)?);
    }
    let receptive: usize = shape[2..].iter().product();
    let fan_out = shape[0] * receptive;
    let fan_in = shape.get(1).copied().unwrap_or(1) * receptive;
    let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
    let v: Vec<f32> = (0..n).map(|_| rng.uniform_range(-limit, limit)).collect();
    Ok(Tensor::from_vec(v, shape, device)?)
}
