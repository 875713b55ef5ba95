//! Activation maximisation: the input a class likes best.
//!
//! Gradient ascent on the input for each class `c`:
//!
//! `x*_c = argmax_x  s_c(x) − λ ‖x − x̄_c‖²`
//!
//! where `s_c` is the logit `z_c` (Simonyan, Vedaldi & Zisserman 2013's *class model*
//! visualisation, with `x̄ = 0`) or the log-probability `log p_c` (Montavon et al. 2017, §3.1, whose
//! prior `x̄_c` is the mean image of the class). Without the penalty the optimum runs off to
//! unnatural, high-contrast inputs; the penalty keeps the prototype near the prior.
//!
//! The optimiser is Adam on the input; the objective of every class at every step is returned
//! so a notebook can show that it increases.
//!
//! Notebooks: `1.1 Activation Maximization`, `3.2 Backpropagation`.

use candle_core::{DType, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use crate::{bail, Network, Result, Rng};

/// The class score that is maximised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AmObjective {
    /// The logit `z_c` (Simonyan et al.).
    #[default]
    Logit,
    /// `log softmax(z)_c` (Montavon et al.; the original's §1.1 cross-entropy).
    LogProbability,
}

/// Where the search starts.
#[derive(Debug, Clone, Default)]
pub enum AmInit {
    /// All zeros.
    #[default]
    Zeros,
    /// The prior itself.
    Prior,
    /// Gaussian noise with this standard deviation, seeded.
    Normal { std: f32, seed: u64 },
}

/// Activation maximisation with an L2 penalty towards a prior.
#[derive(Debug, Clone)]
pub struct ActivationMaximization {
    pub objective: AmObjective,
    /// λ, the weight of `‖x − x̄_c‖²`.
    pub l2: f64,
    /// `x̄_c`: `None` for zero, or a tensor `[K, C, H, W]` with one prior per requested class
    /// (e.g. the class means), or `[1, C, H, W]` shared.
    pub prior: Option<Tensor>,
    pub init: AmInit,
    /// Adam's learning rate.
    pub learning_rate: f64,
    pub steps: usize,
}

impl Default for ActivationMaximization {
    fn default() -> Self {
        ActivationMaximization {
            objective: AmObjective::Logit,
            l2: 0.01,
            prior: None,
            init: AmInit::Zeros,
            learning_rate: 0.01,
            steps: 1000,
        }
    }
}

/// The prototypes and how the objective evolved.
#[derive(Debug, Clone)]
pub struct AmResult {
    /// One prototype per requested class, `[K, C, H, W]`.
    pub prototypes: Tensor,
    /// `objective[t][k]`: `s_{c_k}(x) − λ‖x − x̄‖²` of class `k` before step `t` (and after the last
    /// step at `t = steps`).
    pub objective: Vec<Vec<f32>>,
}

impl ActivationMaximization {
    /// Runs the ascent for `classes` (one prototype each), on the network's device.
    pub fn run(&self, net: &Network, classes: &[usize]) -> Result<AmResult> {
        let k = classes.len();
        if k == 0 || self.steps == 0 {
            bail!("activation_maximization: need at least one class and one step");
        }
        if !(self.l2 >= 0.0 && self.l2.is_finite() && self.learning_rate > 0.0) {
            bail!(
                "activation_maximization: λ must be ≥ 0 and the learning rate > 0, got λ={} lr={}",
                self.l2,
                self.learning_rate
            );
        }
        let device = net.device();
        let [c, h, w] = net.input;
        let prior = match &self.prior {
            None => Tensor::zeros((k, c, h, w), DType::F32, &device)?,
            Some(p) => {
                let p = p.to_device(&device)?.to_dtype(DType::F32)?;
                if p.dims() == [1, c, h, w] {
                    p.broadcast_as((k, c, h, w))?.contiguous()?
                } else if p.dims() == [k, c, h, w] {
                    p
                } else {
                    bail!(
                        "activation_maximization: prior of shape {:?}, expected [{k}, {c}, {h}, {w}] or [1, {c}, {h}, {w}]",
                        p.dims()
                    );
                }
            }
        };
        let start = match self.init {
            AmInit::Zeros => prior.zeros_like()?,
            AmInit::Prior => prior.clone(),
            AmInit::Normal { std, seed } => {
                let mut rng = Rng::new(seed);
                let v: Vec<f32> = (0..k * c * h * w).map(|_| std * rng.normal()).collect();
                Tensor::from_vec(v, (k, c, h, w), &device)?
            }
        };
        let x = Var::from_tensor(&start)?;
        let n_out = net.forward(&start)?.dim(1)?;
        let mut onehot = vec![0f32; k * n_out];
        for (i, &cls) in classes.iter().enumerate() {
            if cls >= n_out {
                bail!("activation_maximization: class {cls} is out of range: the network has {n_out} outputs");
            }
            onehot[i * n_out + cls] = 1.0;
        }
        let onehot = Tensor::from_vec(onehot, (k, n_out), &device)?;
        let mut opt = AdamW::new(
            vec![x.clone()],
            ParamsAdamW {
                lr: self.learning_rate,
                weight_decay: 0.0,
                ..ParamsAdamW::default()
            },
        )?;
        let mut objective = Vec::with_capacity(self.steps + 1);
        for step in 0..=self.steps {
            let logits = net.forward(x.as_tensor())?;
            let z = match self.objective {
                AmObjective::Logit => logits,
                AmObjective::LogProbability => candle_nn::ops::log_softmax(&logits, D::Minus1)?,
            };
            let score = (z * &onehot)?.sum(1)?;
            let penalty = (x.as_tensor() - &prior)?.sqr()?.flatten_from(1)?.sum(1)?;
            let obj = (score - (penalty * self.l2)?)?;
            let values = obj.to_vec1::<f32>()?;
            if values.iter().any(|v| !v.is_finite()) {
                bail!("activation_maximization: the objective diverged at step {step}; lower the learning rate or raise λ");
            }
            objective.push(values);
            if step < self.steps {
                opt.backward_step(&obj.sum_all()?.neg()?)?;
            }
        }
        Ok(AmResult {
            prototypes: x.as_tensor().detach(),
            objective,
        })
    }
}
