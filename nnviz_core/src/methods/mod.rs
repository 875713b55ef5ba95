//! Attribution methods. Every one implements [`crate::attribution::Attribution`].
//!
//! | method | formula | section |
//! |---|---|---|
//! | [`Saliency`] | `∂s/∂x` (or its absolute value, or its square: sensitivity analysis) | 2.1, 3.2 |
//! | [`InputXGradient`] | `x ⊙ ∂s/∂x` (simple Taylor decomposition) | 2.2 |
//! | [`IntegratedGradients`] | `(x − x̄) ⊙ ∫₀¹ ∂s/∂x (x̄ + α(x − x̄)) dα` | 3.4 |
//! | [`GradientShap`] | `E_{x̄~D, α~U(0,1)}[(x − x̄) ⊙ ∂s/∂x (x̄ + α(x − x̄))]` (expected gradients) | 3.4 |
//! | [`SmoothGrad`] | `E_ε[A(x + ε)]`, `ε ~ N(0, σ²)` around any method `A` | 3.5 |
//! | [`Occlusion`] | mean drop `s(x) − s(x with window W ← x̄)` over the windows covering each pixel | 3.1 |
//! | [`FeatureAblation`] | `s(x) − s(x with feature j ← x̄)` per feature (one at a time) | 3.1 |
//! | [`ShapleyValues`] | `Σ_S w(#S) [v(S∪{j}) − v(S)]`, `w(k) = k!(M−k−1)!/M!`, over all coalitions of `M` features | 3.1 |
//! | [`ShapleyValueSampling`] | the mean marginal contribution over random feature orderings (Castro et al. 2009) | 3.1 |
//! | [`KernelShap`] | Shapley-kernel weighted regression of `v(S)`, efficiency enforced (Lundberg & Lee 2017) | 3.1 |
//! | [`Lime`] | weighted Lasso of `v(z)` on random coalitions `z`, weights `exp(−d(x, x(z))²/2w²)` (Ribeiro et al. 2016) | 3.1 |
//! | [`Cam`] | `Σ_k W_ck A_k` on a global-average-pooling + linear head | 4.1 |
//! | [`GradCam`] | `ReLU(Σ_k α_k A_k)`, `α_k` = spatial mean of `∂s/∂A_k` | 4.2 |
//! | [`XGradCam`] | `ReLU(Σ_k w_k A_k)`, `w_k = Σ_ij A_k ∂s/∂A_k / Σ_ij A_k` (conserves `s`) | — |
//! | [`HiResCam`] | `ReLU(Σ_k ∂s/∂A_k ⊙ A_k)` (no averaging; sums to `Σ A ⊙ ∂s/∂A` without the ReLU) | 4.2 |
//! | [`LayerCam`] | `ReLU(Σ_k ReLU(∂s/∂A_k) ⊙ A_k)` | 4.2 |
//! | [`GuidedGradCam`] | guided backprop ⊙ upsampled Grad-CAM | 4.2 |
//! | [`ScoreCam`] | `ReLU(Σ_k w_k A_k)`, `w = softmax_k s(x ⊙ M_k)`, `M_k` = normalised upsampled `A_k` | 4.2 |
//! | [`GradCamPlusPlus`] | `ReLU(Σ_k w_k A_k)`, `w_k = Σ_ij α_ij ReLU(∂s/∂A_k)` (exp closed form) | 4.3 |
//! | [`Lrp`] | relevance `R_in = a ⊙ ρ(W)ᵀ (R ⊘ z)` per layer, rules from a [`Composite`] | 2.3 |
//! | [`DeepTaylor`] | z^B at the input, z⁺ elsewhere (`R_j = Σ_k a_j w⁺_jk R_k / Σ_j a_j w⁺_jk`) | 2.4 |
//! | [`DeepLift`] | `(x − x₀) ⊙ M`, multipliers by the linear and Rescale rules (`Δy/Δx`) | 2.5 |
//! | [`Deconvnet`] | the gradient with `g_in = max(g_out, 0)` at every ReLU | 3.1 |
//! | [`GuidedBackprop`] | the gradient with `g_in = g_out · 1[g_out > 0] · 1[a > 0]` at every ReLU | 3.3 |
//!
//! [`Lrp`], [`DeepTaylor`], [`DeepLift`], [`Deconvnet`] and [`GuidedBackprop`] share one modified
//! backward pass, [`crate::relevance`]; they are re-exported here.
//!
//! [`ActivationMaximization`] (not an attribution: it synthesises the input a class prefers) serves
//! §1.1 and §3.2's class-model visualisation.

pub mod act_max;
pub mod cam;
pub mod gradient;
pub mod gradient_shap;
pub mod integrated_gradients;
pub mod occlusion;
pub mod registry;
pub mod shapley;
pub mod smooth_grad;

pub use act_max::{ActivationMaximization, AmInit, AmObjective, AmResult};
pub use cam::{
    upsample_bilinear, Cam, CamMap, Corners, GradCam, GradCamPlusPlus, GuidedGradCam, HiResCam,
    LayerCam, ScoreCam, XGradCam,
};
pub use gradient::{GradientTransform, InputXGradient, Saliency};
pub use gradient_shap::{GradientShap, References};
pub use integrated_gradients::{Baseline, IntegratedGradients, Quadrature};
pub use occlusion::Occlusion;
pub use shapley::{
    FeatureAblation, FeatureMask, Features, KernelShap, Lime, LimeDistance, ShapleyValueSampling,
    ShapleyValues,
};
pub use smooth_grad::{Noise, SmoothGrad, SmoothGradVariant};

pub use crate::relevance::{Composite, Deconvnet, DeepLift, DeepTaylor, GuidedBackprop, Lrp};
