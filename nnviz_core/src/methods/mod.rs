//! Attribution methods. Every one implements [`crate::attribution::Attribution`].
//!
//! | method | formula | section |
//! |---|---|---|
//! | [`Saliency`] | `∂s/∂x` (or its absolute value, or its square: sensitivity analysis) | 2.1, 3.2 |
//! | [`InputXGradient`] | `x ⊙ ∂s/∂x` (simple Taylor decomposition) | 2.2 |
//! | [`IntegratedGradients`] | `(x − x̄) ⊙ ∫₀¹ ∂s/∂x (x̄ + α(x − x̄)) dα` | 3.4 |
//! | [`SmoothGrad`] | `E_ε[A(x + ε)]`, `ε ~ N(0, σ²)` around any method `A` | 3.5 |
//!
//! [`ActivationMaximization`] (not an attribution: it synthesises the input a class prefers) serves
//! §1.1 and §3.2's class-model visualisation.

pub mod act_max;
pub mod gradient;
pub mod integrated_gradients;
pub mod smooth_grad;

pub use act_max::{ActivationMaximization, AmInit, AmObjective, AmResult};
pub use gradient::{GradientTransform, InputXGradient, Saliency};
pub use integrated_gradients::{Baseline, IntegratedGradients, Quadrature};
pub use smooth_grad::{Noise, SmoothGrad, SmoothGradVariant};
