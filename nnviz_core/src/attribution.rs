//! The one verb of nnviz: [`Attribution::attribute`], and what it explains: [`Target`].
//!
//! An attribution method maps an input batch `x` (`[N, C, H, W]`) to a tensor of the same shape
//! that says how much each input value contributed to a chosen scalar per example: the
//! *target score* `s_n`. The target picks the class (fixed, one per example, or the predicted
//! class) and the quantity ([`Score`]): the logit `z_c` (the default), the softmax probability
//! `p_c`, `ReLU(z_c)`, or the sum of all logits `Σ_k z_k` — the original tutorial used all four
//! in different sections, and the choice changes the picture (a softmax gradient also pushes the
//! *other* classes down; a sum of logits explains no class in particular).

use candle_core::{DType, Device, Tensor, D};

use crate::{bail, Network, Result};

/// Which class each example is explained for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// The class the network predicts for the (clean) input.
    Predicted,
    /// The same class for every example.
    Fixed(usize),
    /// One class per example.
    PerExample(Vec<usize>),
}

/// The explained scalar, computed from the logits `z` of one example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Score {
    /// `z_c` (the default; Captum's convention).
    #[default]
    Logit,
    /// `softmax(z)_c` (the original's §2.3, §2.4 and §3.4).
    Softmax,
    /// `max(z_c, 0)` (the original's §5.1 and §5.2).
    ReluLogit,
    /// `Σ_k z_k`, no class (the original's §3.2 saliency maps).
    SumOfLogits,
}

/// What to explain: a class choice and a score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub class: Class,
    pub score: Score,
}

impl Target {
    /// The logit of class `c` for every example.
    pub fn class(c: usize) -> Target {
        Target {
            class: Class::Fixed(c),
            score: Score::Logit,
        }
    }

    /// The logit of `classes[n]` for example `n`.
    pub fn classes(classes: impl Into<Vec<usize>>) -> Target {
        Target {
            class: Class::PerExample(classes.into()),
            score: Score::Logit,
        }
    }

    /// The logit of the predicted class.
    pub fn predicted() -> Target {
        Target {
            class: Class::Predicted,
            score: Score::Logit,
        }
    }

    /// The same class choice with another score.
    pub fn with_score(mut self, score: Score) -> Target {
        self.score = score;
        self
    }

    /// The class of every example, checked against the logits `[N, K]`.
    pub fn resolve(&self, logits: &Tensor) -> Result<Vec<usize>> {
        let (n, k) = logits.dims2()?;
        let classes = match &self.class {
            Class::Predicted => logits
                .argmax(D::Minus1)?
                .to_device(&Device::Cpu)?
                .to_vec1::<u32>()?
                .into_iter()
                .map(|c| c as usize)
                .collect(),
            Class::Fixed(c) => vec![*c; n],
            Class::PerExample(v) => {
                if v.len() != n {
                    bail!(
                        "target: {} classes given for a batch of {n} examples",
                        v.len()
                    );
                }
                v.clone()
            }
        };
        if let Some((i, c)) = classes.iter().enumerate().find(|(_, &c)| c >= k) {
            bail!("target: class {c} (example {i}) is out of range: the network has {k} outputs (0..{k})");
        }
        Ok(classes)
    }

    /// The same target with the classes fixed to what it resolves to at `x` — so that methods
    /// that evaluate the network at other points (noisy copies, interpolation paths) keep
    /// explaining the class chosen for the clean input.
    pub fn fixed_at(&self, net: &Network, x: &Tensor) -> Result<Target> {
        let classes = match &self.class {
            Class::Predicted => self.resolve(&net.forward(x)?)?,
            Class::Fixed(c) => vec![*c; x.dim(0)?],
            Class::PerExample(v) => {
                let n = x.dim(0)?;
                if v.len() != n {
                    bail!(
                        "target: {} classes given for a batch of {n} examples",
                        v.len()
                    );
                }
                v.clone()
            }
        };
        Ok(Target {
            class: Class::PerExample(classes),
            score: self.score,
        })
    }

    /// The target for a batch made of `times` copies of the batch this target was made for (the
    /// noisy copies of SmoothGrad, the path points of integrated gradients): per-example classes
    /// are repeated in order.
    pub fn tiled(&self, times: usize) -> Target {
        let class = match &self.class {
            Class::PerExample(v) => {
                Class::PerExample(v.iter().cycle().take(v.len() * times).copied().collect())
            }
            other => other.clone(),
        };
        Target {
            class,
            score: self.score,
        }
    }

    /// The target score of every example, `[N]`, differentiable w.r.t. the logits.
    pub fn score(&self, logits: &Tensor) -> Result<Tensor> {
        let (n, k) = logits.dims2()?;
        if self.score == Score::SumOfLogits {
            return Ok(logits.sum(1)?);
        }
        let classes = self.resolve(logits)?;
        let mut onehot = vec![0f32; n * k];
        for (i, &c) in classes.iter().enumerate() {
            onehot[i * k + c] = 1.0;
        }
        let onehot = Tensor::from_vec(onehot, (n, k), logits.device())?.to_dtype(logits.dtype())?;
        let z = match self.score {
            Score::Logit | Score::SumOfLogits => logits.clone(),
            Score::Softmax => candle_nn::ops::softmax(logits, D::Minus1)?,
            Score::ReluLogit => crate::model::layer::relu(logits)?,
        };
        Ok((z * onehot)?.sum(1)?)
    }
}

impl From<usize> for Target {
    fn from(c: usize) -> Target {
        Target::class(c)
    }
}

/// An attribution method: explains `target` for every example of the batch `x`.
///
/// Implementations return a tensor shaped like `x` — except the class activation maps
/// ([`crate::methods::Cam`], [`crate::methods::GradCam`], [`crate::methods::GradCamPlusPlus`] and
/// the others of [`crate::methods::cam`]), which score locations, not channels, and return
/// `[N, 1, H, W]`. A batch gives the same result as its
/// examples one by one; bad targets and mis-shaped or non-finite inputs are errors.
pub trait Attribution {
    /// The attribution map, shaped like `x`.
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor>;
}

/// Checks an attribution input: the network's shape and no NaN or infinity.
pub fn check_input(op: &str, net: &Network, x: &Tensor) -> Result<()> {
    net.check_input(x)
        .map_err(|e| crate::Error::invalid(format!("{op}: {e}")))?;
    if x.dim(0)? == 0 {
        bail!("{op}: the batch is empty (input {:?})", x.dims());
    }
    let finite = x
        .to_dtype(DType::F32)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?
        .is_finite();
    if !finite {
        bail!("{op}: the input contains NaN or infinite values");
    }
    Ok(())
}
