//! SmoothGrad (Smilkov et al. 2017, "SmoothGrad: removing noise by adding noise") around any
//! attribution method, with the SmoothGrad² and VarGrad variants (Adebayo et al. 2018;
//! Hooker et al. 2019).
//!
//! `SG(x) = 1/n Σ_k A(x + ε_k)`, `ε_k ~ N(0, σ²)`; SmoothGrad² averages `A(x + ε_k)²`; VarGrad is
//! the variance `1/n Σ_k A(x + ε_k)² − SG(x)²`. The noise is seeded, so the same seed gives the
//! same map. σ is absolute or a fraction of each example's value range `max(x) − min(x)` (the
//! paper's "noise level"). The class is fixed on the clean input, so every noisy copy explains
//! the same class. Noisy copies are evaluated `batch_size` inputs at a time.
//!
//! Notebook: `3.5 SmoothGrad`.

use candle_core::{DType, Device, Tensor};

use crate::attribution::{check_input, Attribution, Target};
use crate::{bail, Network, Result, Rng};

/// The standard deviation of the noise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    /// σ itself.
    Absolute(f32),
    /// σ = level × (max(x_n) − min(x_n)) for each example (the paper's noise level).
    Relative(f32),
}

/// How the noisy attributions are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmoothGradVariant {
    /// The mean: SmoothGrad.
    #[default]
    Mean,
    /// The mean of squares: SmoothGrad².
    Squared,
    /// The variance: VarGrad.
    VarGrad,
}

/// SmoothGrad around the attribution method `inner`.
#[derive(Debug, Clone)]
pub struct SmoothGrad<A> {
    pub inner: A,
    pub samples: usize,
    pub noise: Noise,
    pub variant: SmoothGradVariant,
    pub seed: u64,
    /// Noisy inputs per call of `inner`, at most (bounds memory; on the CPU calls are also kept
    /// small enough for the allocator to reuse their buffers, see
    /// [`crate::alloc::inputs_per_pass`]). Whole samples: at least one noisy copy of every example.
    pub batch_size: usize,
}

impl<A> SmoothGrad<A> {
    /// SmoothGrad of `inner` with the paper's defaults: 50 samples, noise level 0.15.
    pub fn new(inner: A) -> SmoothGrad<A> {
        SmoothGrad {
            inner,
            samples: 50,
            noise: Noise::Relative(0.15),
            variant: SmoothGradVariant::Mean,
            seed: 0,
            batch_size: 500,
        }
    }
}

impl<A: Default> Default for SmoothGrad<A> {
    fn default() -> Self {
        SmoothGrad::new(A::default())
    }
}

impl<A: Attribution> Attribution for SmoothGrad<A> {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        check_input("smooth_grad", net, x)?;
        if self.samples == 0 {
            bail!("smooth_grad: samples must be at least 1");
        }
        let sigma_level = match self.noise {
            Noise::Absolute(s) | Noise::Relative(s) => s,
        };
        if !(sigma_level >= 0.0 && sigma_level.is_finite()) {
            bail!("smooth_grad: the noise must be a finite σ ≥ 0, got {sigma_level}");
        }
        let n = x.dim(0)?;
        let per_example = x.elem_count() / n.max(1);
        let sigmas: Vec<f32> = match self.noise {
            Noise::Absolute(s) => vec![s; n],
            Noise::Relative(level) => {
                let flat = x.flatten_from(1)?;
                let hi = flat
                    .max(1)?
                    .to_dtype(DType::F32)?
                    .to_device(&Device::Cpu)?
                    .to_vec1::<f32>()?;
                let lo = flat
                    .min(1)?
                    .to_dtype(DType::F32)?
                    .to_device(&Device::Cpu)?
                    .to_vec1::<f32>()?;
                hi.iter().zip(&lo).map(|(h, l)| level * (h - l)).collect()
            }
        };
        let target = target.fixed_at(net, x)?;
        let mut rng = Rng::new(self.seed);
        let per_pass = (crate::alloc::inputs_per_pass(net, self.batch_size)? / n.max(1)).max(1);
        let (mut sum, mut sum_sq) = (x.zeros_like()?, x.zeros_like()?);
        let mut done = 0;
        while done < self.samples {
            let k = per_pass.min(self.samples - done);
            let mut noise = Vec::with_capacity(k * n * per_example);
            for _ in 0..k {
                for &s in &sigmas {
                    noise.extend((0..per_example).map(|_| s * rng.normal()));
                }
            }
            let mut shape = x.dims().to_vec();
            shape[0] = k * n;
            let eps = Tensor::from_vec(noise, shape, x.device())?.to_dtype(x.dtype())?;
            let xs = (Tensor::cat(&vec![x.clone(); k], 0)? + eps)?;
            let a = self.inner.attribute(net, &xs, &target.tiled(k))?;
            for j in 0..k {
                let aj = a.narrow(0, j * n, n)?;
                if self.variant != SmoothGradVariant::Mean {
                    sum_sq = (sum_sq + aj.sqr()?)?;
                }
                sum = (sum + aj)?;
            }
            done += k;
        }
        let m = self.samples as f64;
        let mean = (sum / m)?;
        Ok(match self.variant {
            SmoothGradVariant::Mean => mean,
            SmoothGradVariant::Squared => (sum_sq / m)?,
            SmoothGradVariant::VarGrad => ((sum_sq / m)? - mean.sqr()?)?.relu()?,
        })
    }
}
