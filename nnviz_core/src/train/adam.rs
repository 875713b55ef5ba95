//! Adam with decoupled weight decay (Kingma & Ba 2015, "Adam: A Method for Stochastic
//! Optimization"; Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"), fused into
//! one pass per parameter on the CPU.
//!
//! For a parameter `θ` with gradient `g` at step `t` (`η` the learning rate, `λ` the weight decay):
//!
//! ```text
//! m ← β₁ m + (1 − β₁) g            v ← β₂ v + (1 − β₂) g²
//! m̂ = m / (1 − β₁ᵗ)                v̂ = v / (1 − β₂ᵗ)
//! θ ← θ (1 − ηλ) − η m̂ / (√v̂ + ε)
//! ```
//!
//! [`Adam`] computes exactly what `candle_nn::AdamW` computes — the same `f32` operations in the
//! same order, so the same weights bit for bit (`tests.rs` checks it) and the zoo trains to the
//! same models — but candle's version is a dozen tensor operations per parameter, each a full
//! pass that allocates its result (about 20 ms of a 100 ms training step of the reference CNN on
//! one core, and over 70 ms on threads whose glibc arena hands memory back). Here `f32`
//! parameters on the CPU are updated in place in one parallel pass, with the moments kept in
//! host memory; other devices and dtypes run candle's tensor operations.

use std::sync::Mutex;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, DType, Device, InplaceOp2, Layout, Tensor, Var};
use candle_nn::{Optimizer, ParamsAdamW};
use rayon::prelude::*;

/// Elements per parallel chunk of the fused update.
const CHUNK: usize = 1 << 15;

/// Adam(W), a drop-in for `candle_nn::AdamW` (same [`ParamsAdamW`], same results).
pub struct Adam {
    vars: Vec<AdamVar>,
    params: ParamsAdamW,
    step_t: usize,
}

struct AdamVar {
    var: Var,
    moments: Moments,
}

/// The first and second moments of one parameter.
enum Moments {
    /// `f32` on the CPU: `(m, v)` in host memory, updated by the fused pass.
    Host(Mutex<(Vec<f32>, Vec<f32>)>),
    /// Anything else: tensors, updated by candle's operations.
    Tensors { m: Var, v: Var },
}

impl Adam {
    /// One step with the gradient `grad_of(θ)` of every parameter `θ` (`None`: no gradient,
    /// the parameter stays as it is, as with a `GradStore` that lacks it).
    pub fn step_by(&mut self, grad_of: impl Fn(&Var) -> Option<Tensor>) -> candle_core::Result<()> {
        self.step_t += 1;
        let p = &self.params;
        let coef = Coefficients {
            lr: p.lr,
            decay: 1f64 - p.lr * p.weight_decay,
            beta1: p.beta1,
            beta2: p.beta2,
            eps: p.eps,
            scale_m: 1f64 / (1f64 - p.beta1.powi(self.step_t as i32)),
            scale_v: 1f64 / (1f64 - p.beta2.powi(self.step_t as i32)),
        };
        for AdamVar { var, moments } in &self.vars {
            let Some(g) = grad_of(var) else { continue };
            match moments {
                Moments::Host(mv) => {
                    var.inplace_op2(&g.contiguous()?, &FusedStep { coef, moments: mv })?
                }
                Moments::Tensors { m, v } => coef.tensor_step(var, m, v, &g)?,
            }
        }
        Ok(())
    }
}

impl Optimizer for Adam {
    type Config = ParamsAdamW;

    fn new(vars: Vec<Var>, params: ParamsAdamW) -> candle_core::Result<Self> {
        let vars = vars
            .into_iter()
            .filter(|var| var.dtype().is_float())
            .map(|var| {
                let moments = if var.dtype() == DType::F32 && matches!(var.device(), Device::Cpu) {
                    let n = var.elem_count();
                    Moments::Host(Mutex::new((vec![0f32; n], vec![0f32; n])))
                } else {
                    Moments::Tensors {
                        m: Var::zeros(var.shape(), var.dtype(), var.device())?,
                        v: Var::zeros(var.shape(), var.dtype(), var.device())?,
                    }
                };
                Ok(AdamVar { var, moments })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Adam {
            vars,
            params,
            step_t: 0,
        })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        self.step_by(|var| grads.get(var).cloned())
    }

    fn learning_rate(&self) -> f64 {
        self.params.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr
    }
}

/// The constants of one step.
#[derive(Debug, Clone, Copy)]
struct Coefficients {
    lr: f64,
    /// `1 − ηλ`.
    decay: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// `1 / (1 − β₁ᵗ)` and `1 / (1 − β₂ᵗ)`.
    scale_m: f64,
    scale_v: f64,
}

impl Coefficients {
    /// candle's tensor operations, as `candle_nn::AdamW` writes them.
    fn tensor_step(&self, theta: &Var, m: &Var, v: &Var, g: &Tensor) -> candle_core::Result<()> {
        let next_m = ((m.as_tensor() * self.beta1)? + (g * (1.0 - self.beta1))?)?;
        let next_v = ((v.as_tensor() * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
        let m_hat = (&next_m * self.scale_m)?;
        let v_hat = (&next_v * self.scale_v)?;
        let next_theta = (theta.as_tensor() * self.decay)?;
        let adjusted = (m_hat / (v_hat.sqrt()? + self.eps)?)?;
        let next_theta = (next_theta - (adjusted * self.lr)?)?;
        m.set(&next_m)?;
        v.set(&next_v)?;
        theta.set(&next_theta)
    }
}

/// The fused update of one `f32` parameter (in place) from its gradient.
struct FusedStep<'a> {
    coef: Coefficients,
    moments: &'a Mutex<(Vec<f32>, Vec<f32>)>,
}

/// `x · a + b` as candle's CPU `affine` computes it (`a`, `b` rounded to `f32`; no fused
/// multiply-add), which is what `tensor * f64` and `tensor + f64` are.
#[inline(always)]
fn affine(x: f32, a: f32, b: f32) -> f32 {
    x * a + b
}

impl InplaceOp2 for FusedStep<'_> {
    fn name(&self) -> &'static str {
        "nnviz-adam-step"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let err = |what: String| candle_core::Error::Msg(format!("adam step: {what}"));
        let (CpuStorage::F32(theta), CpuStorage::F32(g)) = (s1, s2) else {
            return Err(err("the parameter and its gradient must be f32".into()));
        };
        let (Some((t0, t1)), Some((g0, g1))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            return Err(err(
                "the parameter and its gradient must be contiguous".into()
            ));
        };
        let (theta, g) = (&mut theta[t0..t1], &g[g0..g1]);
        let mut guard = self
            .moments
            .lock()
            .map_err(|_| err("a previous step panicked".into()))?;
        let (m, v) = &mut *guard;
        if theta.len() != g.len() || m.len() != theta.len() {
            return Err(err(format!(
                "{} parameters, {} gradients and {} moments",
                theta.len(),
                g.len(),
                m.len()
            )));
        }
        let c = &self.coef;
        // Each constant as candle's affine rounds it; `+ 0.0` as its affine adds (it turns −0
        // into +0, so it matters for bit-identity).
        let (b1, ob1) = (c.beta1 as f32, (1.0 - c.beta1) as f32);
        let (b2, ob2) = (c.beta2 as f32, (1.0 - c.beta2) as f32);
        let (sm, sv) = (c.scale_m as f32, c.scale_v as f32);
        let (decay, eps, lr) = (c.decay as f32, c.eps as f32, c.lr as f32);
        theta
            .par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK)))
            .for_each(|((theta, m), (v, g))| {
                for (((t, m), v), &g) in theta.iter_mut().zip(m).zip(v).zip(g) {
                    let nm = affine(*m, b1, 0.0) + affine(g, ob1, 0.0);
                    let nv = affine(*v, b2, 0.0) + affine(g * g, ob2, 0.0);
                    let m_hat = affine(nm, sm, 0.0);
                    let v_hat = affine(nv, sv, 0.0);
                    let adjusted = m_hat / affine(v_hat.sqrt(), 1.0, eps);
                    *t = affine(*t, decay, 0.0) - affine(adjusted, lr, 0.0);
                    *m = nm;
                    *v = nv;
                }
            });
        Ok(())
    }
}

#[cfg(test)]
mod tests;
