//! Explanation selectivity: pixel flipping / region perturbation and the area over the
//! perturbation curve (AOPC).
//!
//! The image is tiled into non-overlapping `p × p` patches (partial patches at the right and
//! bottom edges when `p` does not divide the size). Patches are removed — every value set to
//! `fill` — one at a time in order of decreasing relevance `Σ_{i ∈ patch} R_i` (summed over
//! channels; ties go to the lower patch index, row-major, so a constant explanation removes
//! patches from the top-left), and the score `s(x⁽ᵏ⁾)` is recorded after `k = 0, 1, …, L`
//! removals (Bach et al. 2015; Samek et al. 2017, "Evaluating the visualization of what a deep
//! neural network has learned"). The curve starts at `s(x⁽⁰⁾) = s(x)`.
//!
//! `AOPC = 1/(L+1) Σ_{k=0}^{L} (s(x⁽⁰⁾) − s(x⁽ᵏ⁾))`, averaged over the images (Samek et al.
//! 2017, eq. 12). Higher is better: the explanation found what the score depends on. A
//! seeded random order ([`Order::Random`]) is the baseline to beat — on average it removes
//! nothing in particular.
//!
//! By default the order comes from one explanation of the clean image (Samek et al.'s region
//! perturbation), so all `N·(L+1)` perturbed images are evaluated in batches of `batch_size`
//! per forward pass. With `recompute` the image is re-explained after every removal and the best
//! remaining patch taken (the original tutorial's loop): `L` explanations of the batch.
//!
//! Notebook: `5.2 Explanation Selectivity`.

use candle_core::Tensor;

use super::{classes, host, scores};
use crate::attribution::{check_input, Attribution, Class, Target};
use crate::{bail, Network, Result, Rng};

/// In which order patches are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Most relevant first (MoRF).
    MostRelevantFirst,
    /// A random permutation per image, seeded.
    Random { seed: u64 },
}

/// Pixel flipping with patches (§5.2).
#[derive(Debug, Clone, PartialEq)]
pub struct PixelFlipping {
    /// Patch side `p` in pixels (4, as in the original).
    pub patch: usize,
    /// Number of removals `L` (the curve has `L + 1` points; 20 by default).
    pub steps: usize,
    /// The value removed pixels are set to (0: black, as in the original).
    pub fill: f32,
    /// Re-explain after every removal (the original's loop) instead of ordering once.
    pub recompute: bool,
    /// Perturbed images per forward pass.
    pub batch_size: usize,
}

impl Default for PixelFlipping {
    fn default() -> Self {
        PixelFlipping {
            patch: 4,
            steps: 20,
            fill: 0.0,
            recompute: false,
            batch_size: 1000,
        }
    }
}

/// The result of pixel flipping over a batch of images.
#[derive(Debug, Clone)]
pub struct FlippingCurve {
    /// `s(x_n⁽ᵏ⁾)` for every image `n` and `k = 0 … L`.
    pub scores: Vec<Vec<f32>>,
    /// The mean curve over the images.
    pub mean: Vec<f32>,
    /// The patches removed from every image, in order (row-major patch indices).
    pub removed: Vec<Vec<usize>>,
    /// The AOPC of every image.
    pub aopc_per_image: Vec<f32>,
    /// The mean AOPC.
    pub aopc: f32,
}

/// `1/(L+1) Σ_{k=0}^{L} (s₀ − s_k)` for one curve `s₀ … s_L` (0 for an empty curve).
pub fn aopc(curve: &[f32]) -> f32 {
    match curve.first() {
        None => 0.0,
        Some(&s0) => {
            let sum: f64 = curve.iter().map(|&s| (s0 - s) as f64).sum();
            (sum / curve.len() as f64) as f32
        }
    }
}

impl PixelFlipping {
    /// `(rows, cols)` of the patch grid for an `h × w` image.
    pub fn grid(&self, h: usize, w: usize) -> (usize, usize) {
        (h.div_ceil(self.patch), w.div_ceil(self.patch))
    }

    fn check(&self, net: &Network, x: &Tensor) -> Result<()> {
        check_input("pixel_flipping", net, x)?;
        if self.patch == 0 {
            bail!("pixel_flipping: the patch size must be at least 1");
        }
        let (r, c) = self.grid(x.dim(2)?, x.dim(3)?);
        if self.steps > r * c {
            bail!(
                "pixel_flipping: {} removals asked but the image has only {} patches of {}×{}",
                self.steps,
                r * c,
                self.patch,
                self.patch
            );
        }
        if !self.fill.is_finite() {
            bail!(
                "pixel_flipping: the fill value must be finite, got {}",
                self.fill
            );
        }
        Ok(())
    }

    /// The `[H·W]` mask (1 = removed) of the patches `removed` in an `h × w` image.
    fn mask(&self, h: usize, w: usize, removed: &[usize]) -> Vec<f32> {
        let (_, cols) = self.grid(h, w);
        let mut m = vec![0f32; h * w];
        for &p in removed {
            let (r0, c0) = ((p / cols) * self.patch, (p % cols) * self.patch);
            for i in r0..(r0 + self.patch).min(h) {
                for j in c0..(c0 + self.patch).min(w) {
                    m[i * w + j] = 1.0;
                }
            }
        }
        m
    }

    /// `x` (`[N, C, H, W]`) with the patches `removed[n]` of image `n` set to `fill`.
    pub fn remove(&self, x: &Tensor, removed: &[Vec<usize>]) -> Result<Tensor> {
        let (n, _, h, w) = x.dims4()?;
        if removed.len() != n {
            bail!(
                "pixel_flipping: {} patch lists given for a batch of {n} images",
                removed.len()
            );
        }
        let (r, c) = self.grid(h, w);
        let mut m = Vec::with_capacity(n * h * w);
        for list in removed {
            if let Some(p) = list.iter().find(|&&p| p >= r * c) {
                bail!("pixel_flipping: patch {p} is outside the {r}×{c} grid");
            }
            m.extend(self.mask(h, w, list));
        }
        let m = Tensor::from_vec(m, (n, 1, h, w), x.device())?.to_dtype(x.dtype())?;
        let keep = m.affine(-1.0, 1.0)?;
        Ok((x.broadcast_mul(&keep)? + (m * self.fill as f64)?.broadcast_as(x.shape())?)?)
    }

    /// Relevance summed per patch, `[N][rows·cols]`.
    fn patch_relevance(&self, maps: &Tensor) -> Result<Vec<Vec<f32>>> {
        let (n, _, h, w) = maps.dims4()?;
        let v = host(&maps.sum(1)?)?;
        if v.iter().any(|r| !r.is_finite()) {
            bail!("pixel_flipping: the explanation contains NaN or infinite values");
        }
        let (_, cols) = self.grid(h, w);
        let (rows, _) = self.grid(h, w);
        Ok((0..n)
            .map(|k| {
                let mut p = vec![0f32; rows * cols];
                for i in 0..h {
                    for j in 0..w {
                        p[(i / self.patch) * cols + j / self.patch] += v[k * h * w + i * w + j];
                    }
                }
                p
            })
            .collect())
    }

    /// Patch indices by decreasing relevance, ties by index; only those not in `skip`.
    fn ranked(relevance: &[f32], skip: &[usize]) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..relevance.len()).filter(|p| !skip.contains(p)).collect();
        idx.sort_by(|&a, &b| relevance[b].total_cmp(&relevance[a]).then(a.cmp(&b)));
        idx
    }

    /// Pixel flipping of the images `x` in the order `method` gives (most relevant first).
    pub fn run<A: Attribution + ?Sized>(
        &self,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
    ) -> Result<FlippingCurve> {
        self.check(net, x)?;
        let cls = classes(target, net, x)?;
        let t = Target {
            class: Class::PerExample(cls.clone()),
            score: target.score,
        };
        if !self.recompute {
            let maps = method.attribute(net, x, &t)?;
            return self.run_with_maps(net, x, &maps, target);
        }
        // The original's loop: explain the current images, remove the best remaining patch.
        let n = x.dim(0)?;
        let mut current = x.clone();
        let mut removed: Vec<Vec<usize>> = vec![vec![]; n];
        let mut curves: Vec<Vec<f32>> = vec![vec![]; n];
        for k in 0..=self.steps {
            let s = scores(net, &current, &cls, target.score, self.batch_size)?;
            for (c, v) in curves.iter_mut().zip(s) {
                c.push(v);
            }
            if k == self.steps {
                break;
            }
            let rel = self.patch_relevance(&method.attribute(net, &current, &t)?)?;
            for (list, r) in removed.iter_mut().zip(&rel) {
                if let Some(&p) = Self::ranked(r, list).first() {
                    list.push(p);
                }
            }
            current = self.remove(x, &removed)?;
        }
        Ok(Self::finish(curves, removed))
    }

    /// Pixel flipping in the order of the given explanations `maps` (shaped like `x`).
    pub fn run_with_maps(
        &self,
        net: &Network,
        x: &Tensor,
        maps: &Tensor,
        target: &Target,
    ) -> Result<FlippingCurve> {
        self.check(net, x)?;
        if maps.dims() != x.dims() {
            bail!(
                "pixel_flipping: explanations {:?} do not match the inputs {:?}",
                maps.dims(),
                x.dims()
            );
        }
        let orders: Vec<Vec<usize>> = self
            .patch_relevance(maps)?
            .iter()
            .map(|r| Self::ranked(r, &[]).into_iter().take(self.steps).collect())
            .collect();
        self.run_with_order(net, x, &orders, target)
    }

    /// Pixel flipping in a seeded random order (the baseline).
    pub fn run_random(
        &self,
        net: &Network,
        x: &Tensor,
        target: &Target,
        seed: u64,
    ) -> Result<FlippingCurve> {
        self.check(net, x)?;
        let (n, _, h, w) = x.dims4()?;
        let (r, c) = self.grid(h, w);
        let mut rng = Rng::new(seed);
        let orders: Vec<Vec<usize>> = (0..n)
            .map(|_| {
                rng.permutation(r * c)
                    .into_iter()
                    .take(self.steps)
                    .collect()
            })
            .collect();
        self.run_with_order(net, x, &orders, target)
    }

    /// Pixel flipping with the given removal order per image (at least `steps` patches each);
    /// every perturbed image is evaluated, `batch_size` per forward pass.
    pub fn run_with_order(
        &self,
        net: &Network,
        x: &Tensor,
        orders: &[Vec<usize>],
        target: &Target,
    ) -> Result<FlippingCurve> {
        self.check(net, x)?;
        let n = x.dim(0)?;
        if orders.len() != n {
            bail!(
                "pixel_flipping: {} orders given for a batch of {n} images",
                orders.len()
            );
        }
        if let Some((i, o)) = orders
            .iter()
            .enumerate()
            .find(|(_, o)| o.len() < self.steps)
        {
            bail!(
                "pixel_flipping: image {i} has {} patches in its order, {} removals asked",
                o.len(),
                self.steps
            );
        }
        let cls = classes(target, net, x)?;
        let points = self.steps + 1;
        // Row (n, k) of the flattened job list: image n after k removals.
        let jobs: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| (0..points).map(move |k| (i, k)))
            .collect();
        let per_pass = self.batch_size.max(1);
        let mut all = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(per_pass) {
            let idx: Vec<u32> = chunk.iter().map(|&(i, _)| i as u32).collect();
            let idx = Tensor::from_vec(idx, chunk.len(), x.device())?;
            let xs = x.index_select(&idx, 0)?;
            let lists: Vec<Vec<usize>> = chunk
                .iter()
                .map(|&(i, k)| orders[i][..k].to_vec())
                .collect();
            let xs = self.remove(&xs, &lists)?;
            let c: Vec<usize> = chunk.iter().map(|&(i, _)| cls[i]).collect();
            all.extend(scores(net, &xs, &c, target.score, per_pass)?);
        }
        let curves: Vec<Vec<f32>> = all.chunks(points).map(|c| c.to_vec()).collect();
        let removed = orders.iter().map(|o| o[..self.steps].to_vec()).collect();
        Ok(Self::finish(curves, removed))
    }

    fn finish(curves: Vec<Vec<f32>>, removed: Vec<Vec<usize>>) -> FlippingCurve {
        let points = curves.first().map(|c| c.len()).unwrap_or(0);
        let n = curves.len().max(1) as f64;
        let mean = (0..points)
            .map(|k| (curves.iter().map(|c| c[k] as f64).sum::<f64>() / n) as f32)
            .collect();
        let aopc_per_image: Vec<f32> = curves.iter().map(|c| aopc(c)).collect();
        let total = (aopc_per_image.iter().map(|&a| a as f64).sum::<f64>() / n) as f32;
        FlippingCurve {
            scores: curves,
            mean,
            removed,
            aopc_per_image,
            aopc: total,
        }
    }
}
