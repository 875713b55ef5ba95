//! Shapley values and feature perturbation: model-agnostic attributions from forward passes only
//! (Captum's `FeatureAblation`, `ShapleyValues`, `ShapleyValueSampling` and `KernelShap`).
//!
//! The pixels are grouped into `M` *features* by a [`FeatureMask`] (Captum's `feature_mask`): a
//! regular grid of patches, or any integer mask `[H, W]` shared by all channels. A feature is
//! *absent* when its pixels take the baseline's values (zero by default). For a coalition
//! `S ⊆ {0, …, M−1}` of present features, `v(S) = s(x_S)` is the target score of the input with
//! the features of `S` kept and the others replaced by the baseline; `v(all) = s(x)`,
//! `v(∅) = s(x̄)`.
//!
//! The **Shapley value** (Shapley 1953) of feature `j` is its average marginal contribution,
//!
//! `φ_j = Σ_{S ⊆ N∖{j}} |S|! (M − |S| − 1)! / M! · [v(S ∪ {j}) − v(S)]`,
//!
//! the unique attribution with *efficiency* (`Σ_j φ_j = v(all) − v(∅)`), *symmetry* (two features
//! that change `v` alike get the same value), *dummy* (a feature that changes nothing gets 0) and
//! *linearity* in `v`. On a linear model `s(x) = w·x + c` every method here gives
//! `φ_j = Σ_{i ∈ j} w_i (x_i − x̄_i)`.
//!
//! * [`FeatureAblation`]: `φ_j = v(all) − v(all ∖ {j})`, one feature removed at a time — occlusion
//!   with non-overlapping windows; exact for additive models, blind to interactions (`M + 1`
//!   forward passes).
//! * [`ShapleyValues`]: the formula above over all `2^M` coalitions (`M ≤ 16`).
//! * [`ShapleyValueSampling`]: Castro, Gómez & Tejada 2009, "Polynomial calculation of the Shapley
//!   value based on sampling": the mean over random orderings of the features of each feature's
//!   marginal contribution when it joins those before it; unbiased, and efficient for every
//!   number of orderings (each ordering telescopes to `v(all) − v(∅)`). `(M − 1)` passes per
//!   ordering, plus 2.
//! * [`KernelShap`]: Lundberg & Lee 2017, "A unified approach to interpreting model predictions":
//!   the Shapley values are the solution of a weighted linear regression of `v(S)` on the
//!   coalitions' indicator vectors with the Shapley kernel
//!   `π(S) = (M − 1) / (C(M, |S|) · |S| · (M − |S|))`; coalitions are sampled from `π`.
//! * [`Lime`]: Ribeiro, Singh & Guestrin 2016: the same kind of regression with another kernel
//!   (closeness of `x(z)` to `x`) and a Lasso penalty — Captum's defaults; not a Shapley value.
//!
//! Every method returns the input's shape, each pixel carrying its feature's value (as Captum
//! does); `feature_values` gives the `[N, M]` numbers. The class is fixed at the clean input
//! ([`Target::fixed_at`]). Perturbed inputs are evaluated in passes of at most `batch_size`
//! ([`crate::alloc::inputs_per_pass`]; at least one coalition for the whole batch per pass).
//!
//! Notebook: `3.1 Deconvolution` (§8, from occlusion to Shapley values).

use candle_core::{DType, Tensor};

use crate::attribution::{check_input, Attribution, Target};
use crate::methods::Baseline;
use crate::{bail, Network, Result, Rng};

/// The most features [`ShapleyValues`] enumerates (`2^16 = 65 536` coalitions).
pub const MAX_EXACT_FEATURES: usize = 16;

/// How the `H × W` pixels (of every channel) group into `M` features, numbered `0..M`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureMask {
    ids: Vec<usize>,
    shape: (usize, usize),
    count: usize,
}

impl FeatureMask {
    /// A user mask: `ids[r·W + c]` is the feature of pixel `(r, c)`; the ids must be exactly
    /// `0..M` (each used at least once).
    pub fn new(ids: Vec<usize>, (h, w): (usize, usize)) -> Result<FeatureMask> {
        if ids.len() != h * w || ids.is_empty() {
            bail!(
                "feature mask: {} ids given for a {h} × {w} image (need {})",
                ids.len(),
                h * w
            );
        }
        // ids must be 0..M with every one used, so M ≤ the pixel count: a larger id is a
        // mistake (and would size the bookkeeping below by it)
        if let Some((p, &id)) = ids.iter().enumerate().find(|(_, &id)| id >= ids.len()) {
            bail!(
                "feature mask: pixel {p} has id {id}, but a {h} × {w} image has at most {} features (ids 0..{})",
                ids.len(),
                ids.len()
            );
        }
        let count = ids.iter().max().map_or(0, |m| m + 1);
        let mut used = vec![false; count];
        ids.iter().for_each(|&i| used[i] = true);
        if let Some(gap) = used.iter().position(|u| !u) {
            bail!(
                "feature mask: the ids must be 0..{count} with none missing, but {gap} is unused"
            );
        }
        Ok(FeatureMask {
            ids,
            shape: (h, w),
            count,
        })
    }

    /// A grid of `ph × pw` patches over `h × w`, numbered row by row; border patches are clipped
    /// (`⌈h/ph⌉ · ⌈w/pw⌉` features: 4 × 4 on 28 × 28 gives 49, 7 × 7 gives 16).
    pub fn grid((h, w): (usize, usize), (ph, pw): (usize, usize)) -> Result<FeatureMask> {
        if ph == 0 || pw == 0 || ph > h || pw > w {
            bail!("feature mask: patch {ph} × {pw} must be within 1 × 1 ..= {h} × {w} (the image)");
        }
        let cols = w.div_ceil(pw);
        let ids = (0..h * w)
            .map(|i| (i / w / ph) * cols + (i % w) / pw)
            .collect();
        FeatureMask::new(ids, (h, w))
    }

    /// The number of features `M`.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no features (never, for a mask that was built).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `(H, W)`.
    pub fn shape(&self) -> (usize, usize) {
        self.shape
    }

    /// The feature of every pixel, row by row.
    pub fn ids(&self) -> &[usize] {
        &self.ids
    }

    /// The one-hot matrix `[M, H·W]` (row `j` marks feature `j`'s pixels).
    fn onehot(&self) -> Vec<f32> {
        let hw = self.ids.len();
        let mut m = vec![0f32; self.count * hw];
        for (p, &j) in self.ids.iter().enumerate() {
            m[j * hw + p] = 1.0;
        }
        m
    }
}

/// Which features: a grid of patches sized for whatever image comes, or one fixed mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Features {
    /// Patches of `(height, width)` pixels ([`FeatureMask::grid`]).
    Patches(usize, usize),
    /// A given mask (its shape must be the input's).
    Mask(FeatureMask),
}

impl Default for Features {
    /// 7 × 7 patches: 16 features on 28 × 28.
    fn default() -> Self {
        Features::Patches(7, 7)
    }
}

impl Features {
    /// The mask for an `h × w` image.
    pub fn mask(&self, h: usize, w: usize) -> Result<FeatureMask> {
        match self {
            Features::Patches(ph, pw) => FeatureMask::grid((h, w), (*ph, *pw)),
            Features::Mask(m) => {
                if m.shape != (h, w) {
                    bail!(
                        "feature mask: shape {:?} does not fit the input's {h} × {w}",
                        m.shape
                    );
                }
                Ok(m.clone())
            }
        }
    }
}

/// Evaluates coalitions of features on a batch: the shared engine of the methods here.
struct Game<'a> {
    net: &'a Network,
    x: Tensor,        // [1, N, C, H, W]
    baseline: Tensor, // [1, N, C, H, W]
    mask: FeatureMask,
    target: Target,
    n: usize,
    per_pass: usize,
    /// `x` and the baseline flattened on the host, when the perturbed inputs are written
    /// directly (f32 on the CPU with the elementwise kernels on); `None`: candle's operations.
    host: Option<(Vec<f32>, Vec<f32>)>,
}

impl<'a> Game<'a> {
    fn new(
        op: &str,
        net: &'a Network,
        x: &Tensor,
        target: &Target,
        features: &Features,
        baseline: &Baseline,
        batch_size: usize,
    ) -> Result<Game<'a>> {
        check_input(op, net, x)?;
        let (n, _, h, w) = x.dims4()?;
        let mask = features.mask(h, w)?;
        let target = target.fixed_at(net, x)?;
        let per_pass = crate::alloc::inputs_per_pass(net, batch_size)?;
        let baseline = baseline.for_input(x)?;
        // On the CPU the coalitions' inputs are written directly (candle's broadcasting
        // operations are single-threaded strided loops: a third of feature ablation's time at
        // two threads); elsewhere, and with the kernels switched off, by candle's operations.
        let host = crate::kernels::host_pair(x, &baseline)?;
        Ok(Game {
            net,
            baseline: baseline.unsqueeze(0)?,
            x: x.unsqueeze(0)?,
            host,
            mask,
            target,
            n,
            per_pass: (per_pass / n).max(1),
        })
    }

    fn m(&self) -> usize {
        self.mask.len()
    }

    /// `v(S)` of every coalition (each a presence vector of length `M`) for every example:
    /// `[coalitions][N]`, in f64.
    fn values(&self, coalitions: &[Vec<bool>]) -> Result<Vec<Vec<f64>>> {
        let (_, _, c, h, w) = self.x.dims5()?;
        let dev = self.x.device();
        let mut out = Vec::with_capacity(coalitions.len());
        for pass in coalitions.chunks(self.per_pass) {
            let k = pass.len();
            let mut present = Vec::with_capacity(k * h * w);
            for s in pass {
                present.extend(
                    self.mask
                        .ids
                        .iter()
                        .map(|&j| if s[j] { 1f32 } else { 0f32 }),
                );
            }
            let inputs = match &self.host {
                Some((xv, bv)) => {
                    // x where the pixel's feature is present, x̄ where it is absent.
                    let img = c * h * w;
                    let mut v = Vec::with_capacity(k * self.n * img);
                    for on in present.chunks_exact(h * w) {
                        for (xi, bi) in xv.chunks_exact(img).zip(bv.chunks_exact(img)) {
                            for (xc, bc) in xi.chunks_exact(h * w).zip(bi.chunks_exact(h * w)) {
                                v.extend(on.iter().zip(xc.iter().zip(bc)).map(|(&p, (&a, &b))| {
                                    if p == 1.0 {
                                        a
                                    } else {
                                        b
                                    }
                                }));
                            }
                        }
                    }
                    Tensor::from_vec(v, (k * self.n, c, h, w), dev)?
                }
                None => {
                    let m = Tensor::from_vec(present, (k, 1, 1, h, w), dev)?
                        .to_dtype(self.x.dtype())?;
                    // x ⊙ m + x̄ ⊙ (1 − m): exactly x where present, exactly x̄ where absent.
                    (self.x.broadcast_mul(&m)? + self.baseline.broadcast_mul(&(1.0 - &m)?)?)?
                        .reshape((k * self.n, c, h, w))?
                }
            };
            let scores = self
                .target
                .tiled(k)
                .score(&self.net.forward(&inputs)?)?
                .to_dtype(DType::F64)?
                .to_vec1::<f64>()?;
            out.extend(scores.chunks_exact(self.n).map(<[f64]>::to_vec));
        }
        Ok(out)
    }

    /// Per-feature values `[N][M]` as a `[N, M]` tensor on the input's device.
    fn tensor(&self, phi: &[Vec<f64>]) -> Result<Tensor> {
        let flat: Vec<f32> = phi.iter().flatten().map(|&v| v as f32).collect();
        Ok(
            Tensor::from_vec(flat, (self.n, self.m()), self.x.device())?
                .to_dtype(self.x.dtype())?,
        )
    }
}

/// Spreads per-feature values `[N, M]` onto the pixels of `x` (`[N, C, H, W]`): every pixel of
/// every channel gets its feature's value.
pub fn spread(values: &Tensor, mask: &FeatureMask, x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if values.dims() != [n, mask.len()] || mask.shape() != (h, w) {
        bail!(
            "spread: values {:?} and mask {:?} ({} features) do not fit input {:?}",
            values.dims(),
            mask.shape(),
            mask.len(),
            x.dims()
        );
    }
    let onehot = Tensor::from_vec(mask.onehot(), (mask.len(), h * w), x.device())?
        .to_dtype(values.dtype())?;
    let map = values.matmul(&onehot)?.reshape((n, 1, h, w))?;
    Ok(map.broadcast_as((n, c, h, w))?.contiguous()?)
}

fn all(m: usize, present: bool) -> Vec<bool> {
    vec![present; m]
}

/// Checks that `n` (samples) is positive.
fn positive(op: &str, what: &str, n: usize) -> Result<()> {
    if n == 0 {
        bail!("{op}: {what} must be at least 1 (got 0)");
    }
    Ok(())
}

macro_rules! feature_method {
    ($ty:ident, $op:literal) => {
        impl $ty {
            /// The same with other features.
            pub fn with_features(mut self, features: Features) -> $ty {
                self.features = features;
                self
            }

            /// The same with another baseline.
            pub fn with_baseline(mut self, baseline: Baseline) -> $ty {
                self.baseline = baseline;
                self
            }

            /// The `[N, M]` values of the features (mask: [`Features::mask`] of the input's
            /// `H × W`).
            pub fn feature_values(
                &self,
                net: &Network,
                x: &Tensor,
                target: &Target,
            ) -> Result<Tensor> {
                let game = Game::new(
                    $op,
                    net,
                    x,
                    target,
                    &self.features,
                    &self.baseline,
                    self.batch_size,
                )?;
                let phi = self.solve(&game)?;
                game.tensor(&phi)
            }
        }

        impl Attribution for $ty {
            fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
                let values = self.feature_values(net, x, target)?;
                let (_, _, h, w) = x.dims4()?;
                spread(&values, &self.features.mask(h, w)?, x)
            }
        }
    };
}

mod lime;
pub use lime::{Lime, LimeDistance};

/// Feature ablation (Captum `FeatureAblation` with a feature mask): `φ_j = s(x) − s(x with
/// feature j ← baseline)`, the same value on every pixel of feature `j`. `M + 1` evaluations.
#[derive(Debug, Clone)]
pub struct FeatureAblation {
    pub features: Features,
    pub baseline: Baseline,
    /// Perturbed inputs per forward pass (at least one coalition of the whole batch).
    pub batch_size: usize,
}

impl Default for FeatureAblation {
    /// 7 × 7 patches (16 features on 28 × 28), zero baseline.
    fn default() -> Self {
        FeatureAblation::new(7)
    }
}

impl FeatureAblation {
    /// Patches of `patch × patch`, zero baseline, 500 inputs per pass.
    pub fn new(patch: usize) -> FeatureAblation {
        FeatureAblation {
            features: Features::Patches(patch, patch),
            baseline: Baseline::Zero,
            batch_size: 500,
        }
    }

    fn solve(&self, game: &Game) -> Result<Vec<Vec<f64>>> {
        let m = game.m();
        let mut coalitions = vec![all(m, true)];
        coalitions.extend((0..m).map(|j| {
            let mut s = all(m, true);
            s[j] = false;
            s
        }));
        let v = game.values(&coalitions)?;
        Ok((0..game.n)
            .map(|i| (0..m).map(|j| v[0][i] - v[j + 1][i]).collect())
            .collect())
    }
}
feature_method!(FeatureAblation, "feature_ablation");

/// Exact Shapley values over all `2^M` coalitions (`M ≤` [`MAX_EXACT_FEATURES`]); Captum's
/// `ShapleyValues` gives the same numbers by enumerating the `M!` orderings.
#[derive(Debug, Clone)]
pub struct ShapleyValues {
    pub features: Features,
    pub baseline: Baseline,
    /// Perturbed inputs per forward pass (at least one coalition of the whole batch).
    pub batch_size: usize,
}

impl Default for ShapleyValues {
    /// 7 × 7 patches (16 features on 28 × 28), zero baseline.
    fn default() -> Self {
        ShapleyValues::new(7)
    }
}

impl ShapleyValues {
    /// Patches of `patch × patch`, zero baseline, 500 inputs per pass.
    pub fn new(patch: usize) -> ShapleyValues {
        ShapleyValues {
            features: Features::Patches(patch, patch),
            baseline: Baseline::Zero,
            batch_size: 500,
        }
    }

    fn solve(&self, game: &Game) -> Result<Vec<Vec<f64>>> {
        let m = game.m();
        if m > MAX_EXACT_FEATURES {
            bail!(
                "shapley_values: {m} features would need 2^{m} coalitions; the exact method \
                 allows at most {MAX_EXACT_FEATURES} (use larger patches, shapley-sampling or \
                 kernel-shap)"
            );
        }
        let coalitions: Vec<Vec<bool>> = (0..1usize << m).map(|b| bits(b, m)).collect();
        let v = game.values(&coalitions)?;
        // weight(|S|) = |S|! (M − |S| − 1)! / M!
        let weight: Vec<f64> = (0..m)
            .map(|s| 1.0 / (m as f64 * binomial(m - 1, s)))
            .collect();
        let mut phi = vec![vec![0f64; m]; game.n];
        for (b, vs) in v.iter().enumerate() {
            for j in (0..m).filter(|j| b & (1 << j) == 0) {
                let with = &v[b | (1 << j)];
                let wt = weight[b.count_ones() as usize];
                for i in 0..game.n {
                    phi[i][j] += wt * (with[i] - vs[i]);
                }
            }
        }
        Ok(phi)
    }
}
feature_method!(ShapleyValues, "shapley_values");

/// The coalition of the set bits of `b`.
fn bits(b: usize, m: usize) -> Vec<bool> {
    (0..m).map(|j| b & (1 << j) != 0).collect()
}

/// `C(n, k)` in f64.
fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Shapley value sampling (Castro et al. 2009; Captum `ShapleyValueSampling`): `φ_j` is the mean,
/// over `samples` random orderings of the features, of `v(P ∪ {j}) − v(P)` with `P` the features
/// before `j`. Unbiased; `Σ_j φ_j = v(all) − v(∅)` for any number of orderings. `(M − 1)` passes
/// per ordering plus 2 (Captum evaluates `M` per ordering, 25 orderings by default, and draws its
/// orderings from torch, so the two agree in expectation, not draw by draw).
#[derive(Debug, Clone)]
pub struct ShapleyValueSampling {
    pub features: Features,
    pub baseline: Baseline,
    /// Random orderings.
    pub samples: usize,
    pub seed: u64,
    /// Perturbed inputs per forward pass (at least one coalition of the whole batch).
    pub batch_size: usize,
}

impl Default for ShapleyValueSampling {
    /// 7 × 7 patches, zero baseline, 25 orderings (Captum's default), seed 0.
    fn default() -> Self {
        ShapleyValueSampling::new(7, 25)
    }
}

impl ShapleyValueSampling {
    /// Patches of `patch × patch`, `samples` orderings, zero baseline, seed 0.
    pub fn new(patch: usize, samples: usize) -> ShapleyValueSampling {
        ShapleyValueSampling {
            features: Features::Patches(patch, patch),
            baseline: Baseline::Zero,
            samples,
            seed: 0,
            batch_size: 500,
        }
    }

    fn solve(&self, game: &Game) -> Result<Vec<Vec<f64>>> {
        positive("shapley_sampling", "samples", self.samples)?;
        let m = game.m();
        let mut rng = Rng::new(self.seed);
        let orders: Vec<Vec<usize>> = (0..self.samples).map(|_| rng.permutation(m)).collect();
        // Coalitions: ∅, all, then the prefixes of sizes 1..M−1 of every ordering.
        let mut coalitions = vec![all(m, false), all(m, true)];
        for order in &orders {
            let mut s = all(m, false);
            for &j in &order[..m - 1] {
                s[j] = true;
                coalitions.push(s.clone());
            }
        }
        let v = game.values(&coalitions)?;
        let mut phi = vec![vec![0f64; m]; game.n];
        for (o, order) in orders.iter().enumerate() {
            let prefix = |k: usize| match k {
                0 => &v[0],
                k if k == m => &v[1],
                k => &v[2 + o * (m - 1) + k - 1],
            };
            for (k, &j) in order.iter().enumerate() {
                let (after, before) = (prefix(k + 1), prefix(k));
                for i in 0..game.n {
                    phi[i][j] += after[i] - before[i];
                }
            }
        }
        let s = self.samples as f64;
        phi.iter_mut().flatten().for_each(|p| *p /= s);
        Ok(phi)
    }
}
feature_method!(ShapleyValueSampling, "shapley_sampling");

/// KernelSHAP (Lundberg & Lee 2017, Theorem 2): the Shapley values as the solution of
///
/// `min_φ Σ_S π(S) (v(S) − v(∅) − Σ_{j ∈ S} φ_j)²` subject to `Σ_j φ_j = v(all) − v(∅)`,
/// `π(S) = (M − 1) / (C(M, |S|) |S| (M − |S|))` over `0 < |S| < M`.
///
/// With `samples ≥ 2^M − 2` (and `M ≤` [`MAX_EXACT_FEATURES`]) every coalition enters with weight
/// `π(S)` and the result equals [`ShapleyValues`]. Otherwise `samples` coalitions are drawn from
/// `π` (a size `k` with probability `∝ (M − 1)/(k (M − k))`, then `k` features uniformly) and
/// enter with equal weights. The constraint is enforced exactly by eliminating `φ_M` (as the
/// `shap` package does), and the `(M − 1)`-dimensional normal equations are solved in f64 by
/// Gaussian elimination with partial pivoting; too few samples to determine the values is an
/// error. So `Σ φ = v(all) − v(∅)` always holds.
///
/// Captum 0.9's `KernelShap` differs: it draws with its own generator (torch), adds the full and
/// empty coalitions with weight 10⁶ instead of enforcing efficiency, and fits an ordinary linear
/// regression with intercept (`SkLearnLinearRegression`) — so its values satisfy efficiency only
/// approximately and are not reproducible draw by draw here.
#[derive(Debug, Clone)]
pub struct KernelShap {
    pub features: Features,
    pub baseline: Baseline,
    /// Coalitions drawn from the Shapley kernel (all `2^M − 2` when that is no more).
    pub samples: usize,
    pub seed: u64,
    /// Perturbed inputs per forward pass (at least one coalition of the whole batch).
    pub batch_size: usize,
}

impl Default for KernelShap {
    /// 7 × 7 patches, zero baseline, 200 coalitions, seed 0.
    fn default() -> Self {
        KernelShap::new(7, 200)
    }
}

impl KernelShap {
    /// Patches of `patch × patch`, `samples` coalitions, zero baseline, seed 0.
    pub fn new(patch: usize, samples: usize) -> KernelShap {
        KernelShap {
            features: Features::Patches(patch, patch),
            baseline: Baseline::Zero,
            samples,
            seed: 0,
            batch_size: 500,
        }
    }

    /// The coalitions and their regression weights.
    fn coalitions(&self, m: usize) -> (Vec<Vec<bool>>, Vec<f64>) {
        if m <= MAX_EXACT_FEATURES && self.samples >= (1usize << m) - 2 {
            let coalitions: Vec<Vec<bool>> = (1..(1usize << m) - 1).map(|b| bits(b, m)).collect();
            let weights = coalitions
                .iter()
                .map(|s| {
                    let k = s.iter().filter(|&&p| p).count();
                    (m - 1) as f64 / (binomial(m, k) * (k * (m - k)) as f64)
                })
                .collect();
            return (coalitions, weights);
        }
        let mut rng = Rng::new(self.seed);
        let size_weight: Vec<f64> = (1..m)
            .map(|k| (m - 1) as f64 / (k * (m - k)) as f64)
            .collect();
        let total: f64 = size_weight.iter().sum();
        let coalitions = (0..self.samples)
            .map(|_| {
                let mut u = rng.uniform() as f64 * total;
                let mut k = m - 1;
                for (i, w) in size_weight.iter().enumerate() {
                    if u < *w {
                        k = i + 1;
                        break;
                    }
                    u -= w;
                }
                let mut s = all(m, false);
                rng.permutation(m)[..k].iter().for_each(|&j| s[j] = true);
                s
            })
            .collect();
        (coalitions, vec![1.0; self.samples])
    }

    fn solve(&self, game: &Game) -> Result<Vec<Vec<f64>>> {
        positive("kernel_shap", "samples", self.samples)?;
        let m = game.m();
        if m == 1 {
            let v = game.values(&[all(1, false), all(1, true)])?;
            return Ok((0..game.n).map(|i| vec![v[1][i] - v[0][i]]).collect());
        }
        let (coalitions, weights) = self.coalitions(m);
        let mut all_coalitions = vec![all(m, false), all(m, true)];
        all_coalitions.extend(coalitions.iter().cloned());
        let v = game.values(&all_coalitions)?;
        // Eliminate φ_{M−1}: y_s − z_{s,M−1} Δ = Σ_{j<M−1} (z_sj − z_{s,M−1}) φ_j.
        let d = m - 1;
        let z = |s: &Vec<bool>, j: usize| if s[j] { 1.0 } else { 0.0 };
        let rows: Vec<Vec<f64>> = coalitions
            .iter()
            .map(|s| (0..d).map(|j| z(s, j) - z(s, d)).collect())
            .collect();
        let mut ata = vec![0f64; d * d];
        for (row, &wt) in rows.iter().zip(&weights) {
            for a in 0..d {
                for b in 0..d {
                    ata[a * d + b] += wt * row[a] * row[b];
                }
            }
        }
        let mut phi = Vec::with_capacity(game.n);
        for i in 0..game.n {
            let (empty, delta) = (v[0][i], v[1][i] - v[0][i]);
            let mut atb = vec![0f64; d];
            for ((s, row), (&wt, vs)) in coalitions
                .iter()
                .zip(&rows)
                .zip(weights.iter().zip(&v[2..]))
            {
                let y = vs[i] - empty - z(s, d) * delta;
                for a in 0..d {
                    atb[a] += wt * row[a] * y;
                }
            }
            let mut p = solve_linear(ata.clone(), atb, d).ok_or_else(|| {
                crate::Error::invalid(format!(
                    "kernel_shap: {} sampled coalitions do not determine the values of {m} \
                     features (singular regression); use more samples",
                    coalitions.len()
                ))
            })?;
            let last = delta - p.iter().sum::<f64>();
            p.push(last);
            phi.push(p);
        }
        Ok(phi)
    }
}
feature_method!(KernelShap, "kernel_shap");

/// Solves `A p = b` (`A` row-major `d × d`) by Gaussian elimination with partial pivoting; `None`
/// when `A` is (numerically) singular.
fn solve_linear(mut a: Vec<f64>, mut b: Vec<f64>, d: usize) -> Option<Vec<f64>> {
    let scale = a
        .iter()
        .fold(0f64, |s, v| s.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..d {
        let pivot =
            (col..d).max_by(|&r, &s| a[r * d + col].abs().total_cmp(&a[s * d + col].abs()))?;
        if a[pivot * d + col].abs() <= 1e-10 * scale {
            return None;
        }
        if pivot != col {
            for k in 0..d {
                a.swap(pivot * d + k, col * d + k);
            }
            b.swap(pivot, col);
        }
        for r in col + 1..d {
            let f = a[r * d + col] / a[col * d + col];
            if f != 0.0 {
                for k in col..d {
                    a[r * d + k] -= f * a[col * d + k];
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut p = vec![0f64; d];
    for r in (0..d).rev() {
        let rest: f64 = (r + 1..d).map(|k| a[r * d + k] * p[k]).sum();
        p[r] = (b[r] - rest) / a[r * d + r];
    }
    Some(p)
}

#[cfg(test)]
mod tests;
