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
//! **In code space** ([`ActivationMaximization::run_in_code_space`]; Nguyen et al. 2016,
//! Montavon et al. 2017 §3.3) the same ascent runs over the code `z` of a [`Generator`] `g`:
//!
//! `z*_c = argmax_z  s_c(g(z)) − λ ‖z − z̄_c‖²`,  `x*_c = g(z*_c)`,
//!
//! so the prototype is always something the generator can draw — a natural-looking digit when `g`
//! was trained on digits. With a VAE's `N(0, I)` prior, `z̄ = 0` and `λ = ½`, the objective is the
//! log posterior `log p(ω_c | g(z)) + log p(z)` (up to a constant). That mode sits near `z = 0`,
//! where a VAE draws a blurry average digit (a 16-d standard normal's typical codes have
//! `‖z‖ ≈ 4`); the class-mean code `z̄_c` as prior ([`crate::model::Vae::class_mean_codes`], the
//! original tutorial's choice) keeps the prototype among typical, sharp digits.
//!
//! Notebooks: `1.1 Activation Maximization`, `1.3 Activation Maximization in Code Space`,
//! `3.2 Backpropagation`.

use candle_core::{DType, Tensor, Var, D};
use candle_nn::{Optimizer, ParamsAdamW};

use crate::model::Generator;
use crate::train::Adam;
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
    /// Gaussian noise with this standard deviation, seeded (in code space: codes drawn from
    /// `N(0, std² I)`).
    Normal { std: f32, seed: u64 },
}

/// Activation maximisation with an L2 penalty towards a prior.
#[derive(Debug, Clone)]
pub struct ActivationMaximization {
    pub objective: AmObjective,
    /// λ, the weight of `‖x − x̄_c‖²`.
    pub l2: f64,
    /// `x̄_c`: `None` for zero, or a tensor `[K, C, H, W]` with one prior per requested class
    /// (e.g. the class means), or `[1, C, H, W]` shared. In code space a code `z̄_c`: `[K, d]`
    /// or `[1, d]`.
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
    /// One prototype per requested class, `[K, C, H, W]` (in code space: `g(z*)`).
    pub prototypes: Tensor,
    /// In code space, the optimised codes `z*`, `[K, d]`; `None` in pixel space.
    pub codes: Option<Tensor>,
    /// `objective[t][k]`: `s_{c_k}(x) − λ‖x − x̄‖²` of class `k` before step `t` (and after the last
    /// step at `t = steps`); in code space `s_{c_k}(g(z)) − λ‖z − z̄‖²`.
    pub objective: Vec<Vec<f32>>,
}

impl ActivationMaximization {
    /// Runs the ascent over the input for `classes` (one prototype each), on the network's device.
    pub fn run(&self, net: &Network, classes: &[usize]) -> Result<AmResult> {
        let [c, h, w] = net.input;
        let fresh = net.with_fresh_ids()?;
        let (x, objective) = self.ascend(
            "activation_maximization",
            &[c, h, w],
            &|x| fresh.forward(x),
            net,
            classes,
        )?;
        Ok(AmResult {
            prototypes: x,
            codes: None,
            objective,
        })
    }

    /// Runs the ascent over the code of `generator` for `classes`: maximises
    /// `s_c(net(g(z))) − λ‖z − z̄_c‖²` over `z` (see the module docs). [`Self::prior`] and
    /// [`Self::init`] live in code space; the prototypes are `g(z*)`.
    pub fn run_in_code_space<G: Generator + ?Sized>(
        &self,
        net: &Network,
        generator: &G,
        classes: &[usize],
    ) -> Result<AmResult> {
        let fresh = net.with_fresh_ids()?;
        let forward = |z: &Tensor| -> Result<Tensor> { fresh.forward(&generator.generate(z)?) };
        let (z, objective) = self.ascend(
            "activation_maximization (code space)",
            &[generator.code_dim()],
            &forward,
            net,
            classes,
        )?;
        Ok(AmResult {
            prototypes: generator.generate(&z)?,
            codes: Some(z),
            objective,
        })
    }

    /// Adam ascent on a batch `[K, shape…]` (one row per class) of `s_c(forward(v)) − λ‖v − v̄_c‖²`;
    /// returns the optimum and the objective curve. Shared by pixel and code space.
    fn ascend(
        &self,
        op: &str,
        shape: &[usize],
        forward: &dyn Fn(&Tensor) -> Result<Tensor>,
        net: &Network,
        classes: &[usize],
    ) -> Result<(Tensor, Vec<Vec<f32>>)> {
        let k = classes.len();
        if k == 0 || self.steps == 0 {
            bail!("{op}: need at least one class and one step");
        }
        if !(self.l2 >= 0.0 && self.l2.is_finite() && self.learning_rate > 0.0) {
            bail!(
                "{op}: λ must be ≥ 0 and the learning rate > 0, got λ={} lr={}",
                self.l2,
                self.learning_rate
            );
        }
        let device = net.device();
        let mut full = vec![k];
        full.extend_from_slice(shape);
        let mut one = vec![1];
        one.extend_from_slice(shape);
        let prior = match &self.prior {
            None => Tensor::zeros(full.as_slice(), DType::F32, &device)?,
            Some(p) => {
                let p = p.to_device(&device)?.to_dtype(DType::F32)?;
                if p.dims() == one.as_slice() {
                    p.broadcast_as(full.as_slice())?.contiguous()?
                } else if p.dims() == full.as_slice() {
                    p
                } else {
                    bail!(
                        "{op}: prior of shape {:?}, expected {full:?} or {one:?}",
                        p.dims()
                    );
                }
            }
        };
        // a prior from an earlier evcxr cell enters the graph under an id of this one
        let prior = crate::grad::fresh_id(&prior)?;
        let start = match self.init {
            AmInit::Zeros => prior.zeros_like()?,
            AmInit::Prior => prior.clone(),
            AmInit::Normal { std, seed } => {
                let mut rng = Rng::new(seed);
                let v: Vec<f32> = (0..prior.elem_count())
                    .map(|_| std * rng.normal())
                    .collect();
                Tensor::from_vec(v, full.as_slice(), &device)?
            }
        };
        let x = Var::from_tensor(&start)?;
        let n_out = forward(&start)?.dim(1)?;
        let mut onehot = vec![0f32; k * n_out];
        for (i, &cls) in classes.iter().enumerate() {
            if cls >= n_out {
                bail!("{op}: class {cls} is out of range: the network has {n_out} outputs");
            }
            onehot[i * n_out + cls] = 1.0;
        }
        let onehot = Tensor::from_vec(onehot, (k, n_out), &device)?;
        let mut opt = Adam::new(
            vec![x.clone()],
            ParamsAdamW {
                lr: self.learning_rate,
                weight_decay: 0.0,
                ..ParamsAdamW::default()
            },
        )?;
        let mut objective = Vec::with_capacity(self.steps + 1);
        for step in 0..=self.steps {
            let logits = forward(x.as_tensor())?;
            let z = match self.objective {
                AmObjective::Logit => logits,
                AmObjective::LogProbability => candle_nn::ops::log_softmax(&logits, D::Minus1)?,
            };
            let score = (z * &onehot)?.sum(1)?;
            let penalty = (x.as_tensor() - &prior)?.sqr()?.flatten_from(1)?.sum(1)?;
            let obj = (score - (penalty * self.l2)?)?;
            let values = obj.to_vec1::<f32>()?;
            if values.iter().any(|v| !v.is_finite()) {
                bail!("{op}: the objective diverged at step {step}; lower the learning rate or raise λ");
            }
            objective.push(values);
            if step < self.steps {
                opt.backward_step(&obj.sum_all()?.neg()?)?;
            }
        }
        Ok((x.as_tensor().detach(), objective))
    }
}
