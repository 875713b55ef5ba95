//! Explanation infidelity: does the map predict how the score changes when the input is
//! perturbed?
//!
//! Read as a linear model of the score, an attribution map `Φ` predicts that removing `I` from
//! the input changes the score by `Iᵀ Φ = Σ_i I_i Φ_i`. Yeh et al. (2019, "On the (In)fidelity
//! and Sensitivity of Explanations", NeurIPS) measure the expected squared error of that
//! prediction over a distribution of meaningful perturbations `I`,
//!
//! `INFD(Φ, x) = E_I [ (Iᵀ Φ − (s(x) − s(x − I)))² ]`,
//!
//! estimated with `S` samples. Lower is more faithful; on a linear model `s(x) = wᵀx + b` the
//! gradient `Φ = w` scores 0 for every `I`.
//!
//! * **Perturbations** ([`Perturbation`]): [`Perturbation::Gaussian`] moves every pixel by
//!   `I ~ N(0, σ²)` (the paper's noisy-baseline family: the optimal `Φ` is then a smoothed
//!   gradient); [`Perturbation::Square`] removes a random `k × k` square, `I = x ⊙ 1_Q`, so that
//!   `x − I` is `x` with the square set to 0 (the paper's square removal). Square removal is the default: it asks what
//!   every attribution method claims to answer (what happens when these pixels are gone), and
//!   on MNIST it separates the methods. Gaussian noise barely does there: the black background
//!   puts many ReLUs of the first layers exactly at their kink, so any noise on every pixel
//!   changes the score non-linearly, and every map's best-scaled prediction explains about as
//!   little of it (notebook 5.2 shows both).
//! * **Normalised** ([`Infidelity::normalise`], the default): `Φ` is first scaled by the
//!   least-squares factor `β = Σ_s (IᵀΦ)·Δs / Σ_s (IᵀΦ)²` (the paper's Sec. 3 asks for the
//!   best-scaled explanation; Captum's `normalize=True`), so the score does not depend on the
//!   map's units and squared gradients, logits and relevance compare. `β` is 0 when every
//!   `IᵀΦ` is 0 (Captum's `safe_div`); [`InfidelityScore::beta`] reports it. Without
//!   normalisation the map is taken at its own scale.
//! * Maps may have one channel for a multi-channel input (the CAMs' `[N, 1, H, W]`): `Iᵀ Φ` then
//!   broadcasts `Φ` over the channels.
//! * The explained class is fixed on the clean input. The same `I` give the same numbers as
//!   Captum 0.9's `infidelity` (with either `normalize`; tested against values Captum computed),
//!   whose default is `normalize=False` and which has no default perturbation.
//!
//! Only forward passes are needed, `batch_size` perturbed inputs at a time; the noise is seeded.
//!
//! Notebook: `5.2 Explanation Selectivity`.

use candle_core::Tensor;

use super::{classes, finite_mean, host, host_map, scores};
use crate::attribution::{check_input, Attribution, Target};
use crate::{bail, Network, Result, Rng};

/// The distribution of the perturbations `I`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Perturbation {
    /// `I ~ N(0, σ²)` on every pixel independently.
    Gaussian(f32),
    /// `I = x ⊙ 1_Q` for a `k × k` square `Q` at a uniformly random position inside the image
    /// (the same square on every channel): the square is set to 0.
    Square(usize),
}

/// Settings of the infidelity estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Infidelity {
    pub perturbation: Perturbation,
    /// Number of perturbations `S` per image.
    pub samples: usize,
    /// Scale the map by the least-squares factor `β` first (see the module docs).
    pub normalise: bool,
    /// Seed of the perturbations.
    pub seed: u64,
    /// Perturbed inputs per forward pass, at most.
    pub batch_size: usize,
}

impl Default for Infidelity {
    /// Removal of random 4×4 squares, 50 samples, normalised.
    fn default() -> Self {
        Infidelity {
            perturbation: Perturbation::Square(4),
            samples: 50,
            normalise: true,
            seed: 0,
            batch_size: 500,
        }
    }
}

/// Infidelity of every image.
#[derive(Debug, Clone, PartialEq)]
pub struct InfidelityScore {
    /// `1/S Σ_s (β IᵀΦ − Δs)²` per image (`β = 1` without normalisation).
    pub per_image: Vec<f32>,
    /// The factor `β` every map was scaled by (1 without normalisation).
    pub beta: Vec<f32>,
}

impl InfidelityScore {
    /// The mean infidelity over the images.
    pub fn mean(&self) -> f32 {
        finite_mean(&self.per_image)
    }
}

impl Infidelity {
    /// Infidelity of the map `attributions` (`[N, ...]` like `x`, or with one channel) of the
    /// score `target` at `x`, with `samples` random perturbations.
    pub fn score(
        &self,
        net: &Network,
        x: &Tensor,
        attributions: &Tensor,
        target: &Target,
    ) -> Result<InfidelityScore> {
        const OP: &str = "infidelity";
        check_input(OP, net, x)?;
        let (n, c, h, w) = x.dims4()?;
        let per_image = c * h * w;
        let mut rng = Rng::new(self.seed);
        let draw: Box<dyn FnMut(usize) -> Result<Tensor>> = match self.perturbation {
            Perturbation::Gaussian(sigma) => {
                if !(sigma >= 0.0 && sigma.is_finite()) {
                    bail!("{OP}: the Gaussian σ must be finite and ≥ 0, got {sigma}");
                }
                Box::new(move |_| {
                    let v: Vec<f32> = (0..n * per_image).map(|_| sigma * rng.normal()).collect();
                    Ok(Tensor::from_vec(v, x.dims(), x.device())?.to_dtype(x.dtype())?)
                })
            }
            Perturbation::Square(k) => {
                if k == 0 || k > h || k > w {
                    bail!("{OP}: the square's side must be between 1 and the image size {h}×{w}, got {k}");
                }
                let xs = host(x)?;
                Box::new(move |_| {
                    let mut v = vec![0f32; n * per_image];
                    for i in 0..n {
                        let (top, left) = (rng.below(h - k + 1), rng.below(w - k + 1));
                        for ch in 0..c {
                            for r in top..top + k {
                                let row = i * per_image + ch * h * w + r * w;
                                v[row + left..row + left + k]
                                    .copy_from_slice(&xs[row + left..row + left + k]);
                            }
                        }
                    }
                    Ok(Tensor::from_vec(v, x.dims(), x.device())?.to_dtype(x.dtype())?)
                })
            }
        };
        self.run(OP, net, x, attributions, target, self.samples, draw)
    }

    /// The same with the given perturbations `I_s` (each shaped like `x`) instead of random ones:
    /// any distribution, or exactly the perturbations another library drew. `perturbation`,
    /// `samples` and `seed` are not used.
    pub fn score_with(
        &self,
        net: &Network,
        x: &Tensor,
        attributions: &Tensor,
        target: &Target,
        perturbations: &[Tensor],
    ) -> Result<InfidelityScore> {
        const OP: &str = "infidelity";
        if let Some((s, p)) = perturbations
            .iter()
            .enumerate()
            .find(|(_, p)| p.dims() != x.dims())
        {
            bail!(
                "{OP}: perturbation {s} has shape {:?}, the input {:?}",
                p.dims(),
                x.dims()
            );
        }
        let draw = Box::new(|s: usize| Ok(perturbations[s].to_device(x.device())?));
        self.run(OP, net, x, attributions, target, perturbations.len(), draw)
    }

    /// Explains `x` with `method`, then scores the map ([`Infidelity::score`]).
    pub fn of<A: Attribution + ?Sized>(
        &self,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
    ) -> Result<InfidelityScore> {
        let fixed = target.fixed_at(net, x)?;
        self.score(net, x, &method.attribute(net, x, &fixed)?, &fixed)
    }

    #[allow(clippy::too_many_arguments)]
    fn run<'a>(
        &self,
        op: &str,
        net: &Network,
        x: &Tensor,
        attributions: &Tensor,
        target: &Target,
        samples: usize,
        mut draw: Box<dyn FnMut(usize) -> Result<Tensor> + 'a>,
    ) -> Result<InfidelityScore> {
        check_input(op, net, x)?;
        if samples == 0 {
            bail!("{op}: at least one perturbation is needed, got 0");
        }
        let (n, c, h, w) = x.dims4()?;
        let (map_d, phi) = host_map(op, attributions, x)?;
        let cls = classes(target, net, x)?;
        let clean = scores(net, x, &cls, target.score, self.batch_size)?;
        let per_pass = (crate::alloc::inputs_per_pass(net, self.batch_size)? / n).max(1);
        // Predicted (IᵀΦ) and observed (Δs) changes, sample-major: [s * n + i].
        let (mut predicted, mut observed) = (vec![], vec![]);
        let mut done = 0;
        while done < samples {
            let k = per_pass.min(samples - done);
            let (mut perturbed, mut classes_k) = (vec![], vec![]);
            for s in done..done + k {
                let p = draw(s)?.to_dtype(x.dtype())?;
                let ps = host(&p)?;
                for (i, pi) in ps.chunks_exact(c * h * w).enumerate() {
                    let a = &phi[i * map_d..(i + 1) * map_d];
                    let dot: f64 = pi
                        .iter()
                        .enumerate()
                        .map(|(j, &v)| v as f64 * a[j % map_d] as f64)
                        .sum();
                    predicted.push(dot);
                }
                perturbed.push((x - p)?);
                classes_k.extend_from_slice(&cls);
            }
            let s_pert = scores(
                net,
                &Tensor::cat(&perturbed, 0)?,
                &classes_k,
                target.score,
                self.batch_size,
            )?;
            observed.extend(
                s_pert
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| clean[j % n] as f64 - v as f64),
            );
            done += k;
        }
        let (mut per_image, mut beta) = (vec![], vec![]);
        for i in 0..n {
            let pairs = || (0..samples).map(|s| (predicted[s * n + i], observed[s * n + i]));
            let b = if self.normalise {
                let num: f64 = pairs().map(|(p, o)| p * o).sum();
                let den: f64 = pairs().map(|(p, _)| p * p).sum();
                if den == 0.0 {
                    0.0
                } else {
                    num / den
                }
            } else {
                1.0
            };
            let err: f64 = pairs().map(|(p, o)| (b * p - o).powi(2)).sum::<f64>() / samples as f64;
            per_image.push(err as f32);
            beta.push(b as f32);
        }
        Ok(InfidelityScore { per_image, beta })
    }
}
