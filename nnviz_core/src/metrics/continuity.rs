//! Explanation continuity: explain translated copies of an input and see whether the explanation
//! moves smoothly with it.
//!
//! * [`translate`]: shift images by `(dx, dy)` pixels with bilinear interpolation and a zero
//!   border (the original's recipe, OpenCV `warpAffine`): `y(i, j) = x(i − dy, j − dx)`,
//!   interpolated between the four nearest pixels, 0 outside the image. An integer shift moves
//!   every pixel exactly; a shift by 0 returns the input unchanged.
//! * [`Continuity::sweep`]: the original's experiment (Montavon et al. 2018, §7.1, Fig. 7):
//!   explain every horizontally shifted copy and sum the relevance in each image quadrant
//!   `R₁` (top-left), `R₂` (top-right), `R₃` (bottom-right), `R₄` (bottom-left), next to the score.
//! * [`Continuity::score`]: one number per method, a local Lipschitz estimate along the
//!   translation path (Montavon et al. 2018, eq. in §7.1; Alvarez-Melis & Jaakkola 2018,
//!   "On the robustness of interpretability methods"):
//!
//!   `C(x) = max_k ‖R̂(τ_{t_k} x) − R̂(τ_{t_{k+1}} x)‖₁ / ‖τ_{t_k} x − τ_{t_{k+1}} x‖₂`
//!
//!   over consecutive shifts `t_k` (pairs with identical inputs are skipped), averaged over
//!   the images. `R̂ = R / ‖R‖₁` when `normalise` is on (the default), so that methods with
//!   different units (squared gradients, logits) can be compared; an all-zero map stays zero.
//!   Lower is more continuous; a constant explanation scores 0. An image whose translated copies
//!   are all identical (an all-zero image) has no pair: its `C` is `NaN` and the mean skips it
//!   (the mean is `NaN` only when every image is such).
//!
//! Notebook: `5.1 Explanation Continuity`.

use candle_core::Tensor;

use super::{classes, host, scores};
use crate::attribution::{check_input, Attribution, Class, Target};
use crate::{bail, Network, Result};

/// Row `i` of the `[n, n]` matrix `M` with `(M v)_i = v(i − d)`, bilinear, zero outside.
fn shift_matrix(n: usize, d: f32) -> Vec<f32> {
    let mut m = vec![0f32; n * n];
    let fl = d.floor();
    let frac = d - fl;
    let k = fl as i64;
    for i in 0..n {
        // source coordinate u = i − d = (i − k) − frac: weight 1 − frac on i − k, frac on i − k − 1
        let j0 = i as i64 - k;
        if (0..n as i64).contains(&j0) {
            m[i * n + j0 as usize] += 1.0 - frac;
        }
        let j1 = j0 - 1;
        if frac > 0.0 && (0..n as i64).contains(&j1) {
            m[i * n + j1 as usize] += frac;
        }
    }
    m
}

/// Shifts every image of `x` (`[N, C, H, W]`) right by `dx` and down by `dy` pixels: bilinear
/// interpolation, zero border. Computed as `M_y · x · M_xᵀ` on `x`'s device, so an integer shift
/// is exact.
pub fn translate(x: &Tensor, dx: f32, dy: f32) -> Result<Tensor> {
    if x.rank() != 4 {
        bail!("translate: expected [N, C, H, W], got {:?}", x.dims());
    }
    if !dx.is_finite() || !dy.is_finite() {
        bail!("translate: shifts must be finite, got dx = {dx}, dy = {dy}");
    }
    let (h, w) = (x.dim(2)?, x.dim(3)?);
    let mut y = x.clone();
    if dx != 0.0 {
        let mx = Tensor::from_vec(shift_matrix(w, dx), (w, w), x.device())?.to_dtype(x.dtype())?;
        y = y.broadcast_matmul(&mx.t()?)?;
    }
    if dy != 0.0 {
        let my = Tensor::from_vec(shift_matrix(h, dy), (h, h), x.device())?.to_dtype(x.dtype())?;
        y = my.broadcast_matmul(&y)?;
    }
    Ok(y)
}

/// The images of `x` shifted horizontally by every value of `shifts`, shift-major:
/// `[S·N, C, H, W]` with rows `s·N .. (s+1)·N` shifted by `shifts[s]`.
pub fn translate_batch(x: &Tensor, shifts: &[f32]) -> Result<Tensor> {
    if shifts.is_empty() {
        bail!("translate_batch: no shifts given");
    }
    let parts = shifts
        .iter()
        .map(|&s| translate(x, s, 0.0))
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::cat(&parts, 0)?)
}

/// Translation experiments (§5.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Continuity {
    /// Horizontal shifts in pixels (the original's −20, −19, …, 20 by default).
    pub shifts: Vec<f32>,
    /// Compare `R / ‖R‖₁` rather than `R` in [`Continuity::score`].
    pub normalise: bool,
    /// Inputs per call of the attribution method, at most (bounds memory; see
    /// [`crate::alloc::inputs_per_pass`]).
    pub batch_size: usize,
}

impl Default for Continuity {
    fn default() -> Self {
        Continuity::around(20)
    }
}

/// The original's experiment for one image: explanations of its translated copies.
#[derive(Debug, Clone)]
pub struct TranslationSweep {
    /// The horizontal shifts.
    pub shifts: Vec<f32>,
    /// The translated inputs, `[S, C, H, W]`.
    pub inputs: Tensor,
    /// Their explanations, `[S, C, H, W]`.
    pub maps: Tensor,
    /// The target score at every shift (`f(x)` in the original's plots).
    pub scores: Vec<f32>,
    /// The relevance summed over each quadrant `[R₁, R₂, R₃, R₄]` (top-left, top-right,
    /// bottom-right, bottom-left) at every shift.
    pub quadrants: Vec<[f32; 4]>,
}

impl TranslationSweep {
    /// The curve of quadrant `q` (0 = `R₁` … 3 = `R₄`) over the shifts.
    pub fn quadrant(&self, q: usize) -> Vec<f32> {
        self.quadrants
            .iter()
            .map(|r| r.get(q).copied().unwrap_or(f32::NAN))
            .collect()
    }

    /// The total relevance at every shift.
    pub fn totals(&self) -> Vec<f32> {
        self.quadrants.iter().map(|r| r.iter().sum()).collect()
    }
}

/// The continuity score of one method over a batch of images.
#[derive(Debug, Clone)]
pub struct ContinuityScore {
    /// `C(x_n)` for every image (`NaN` where no pair of translated copies differs).
    pub per_image: Vec<f32>,
    /// The mean of the finite `C(x_n)`.
    pub mean: f32,
}

impl Continuity {
    /// Shifts `−k, …, k` in steps of one pixel.
    pub fn around(k: usize) -> Continuity {
        let k = k as i64;
        Continuity {
            shifts: (-k..=k).map(|s| s as f32).collect(),
            normalise: true,
            batch_size: 500,
        }
    }

    fn check(&self, op: &str) -> Result<()> {
        if self.shifts.is_empty() {
            bail!("{op}: no shifts given");
        }
        if let Some(s) = self.shifts.iter().find(|s| !s.is_finite()) {
            bail!("{op}: shift {s} is not finite");
        }
        Ok(())
    }

    /// Explains `x` (shift-major batch of `S·N` translated copies of the `N` images) for the
    /// classes `target` resolves to on the untranslated images, `batch_size` inputs per call.
    fn explain<A: Attribution + ?Sized>(
        &self,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
    ) -> Result<(Tensor, Tensor, Vec<usize>)> {
        let n = x.dim(0)?;
        let cls = classes(target, net, x)?;
        let per_call = (crate::alloc::inputs_per_pass(net, self.batch_size)? / n.max(1)).max(1);
        let (mut inputs, mut maps) = (vec![], vec![]);
        for chunk in self.shifts.chunks(per_call) {
            let xs = translate_batch(x, chunk)?;
            let t = Target {
                class: Class::PerExample(cls.repeat(chunk.len())),
                score: target.score,
            };
            maps.push(method.attribute(net, &xs, &t)?);
            inputs.push(xs);
        }
        Ok((Tensor::cat(&inputs, 0)?, Tensor::cat(&maps, 0)?, cls))
    }

    /// The original's experiment: explain every horizontal shift of the single image `x`
    /// (`[1, C, H, W]`) and sum the relevance per quadrant.
    pub fn sweep<A: Attribution + ?Sized>(
        &self,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
    ) -> Result<TranslationSweep> {
        self.check("continuity sweep")?;
        check_input("continuity sweep", net, x)?;
        if x.dim(0)? != 1 {
            bail!(
                "continuity sweep: expected one image [1, C, H, W], got {:?}",
                x.dims()
            );
        }
        let (inputs, maps, cls) = self.explain(method, net, x, target)?;
        let s = self.shifts.len();
        let scores = scores(net, &inputs, &cls.repeat(s), target.score, self.batch_size)?;
        let (h, w) = (x.dim(2)?, x.dim(3)?);
        let per_channel = maps.sum(1)?; // [S, H, W]
        let v = host(&per_channel)?;
        let quadrants = (0..s)
            .map(|k| {
                let mut r = [0f32; 4];
                for i in 0..h {
                    for j in 0..w {
                        let q = match (i < h / 2, j < w / 2) {
                            (true, true) => 0,
                            (true, false) => 1,
                            (false, false) => 2,
                            (false, true) => 3,
                        };
                        r[q] += v[k * h * w + i * w + j];
                    }
                }
                r
            })
            .collect();
        Ok(TranslationSweep {
            shifts: self.shifts.clone(),
            inputs,
            maps,
            scores,
            quadrants,
        })
    }

    /// The local Lipschitz estimate `C(x_n)` of `method` along the translation path of every
    /// image of `x` (see the module docs), and its mean.
    pub fn score<A: Attribution + ?Sized>(
        &self,
        method: &A,
        net: &Network,
        x: &Tensor,
        target: &Target,
    ) -> Result<ContinuityScore> {
        self.check("continuity score")?;
        check_input("continuity score", net, x)?;
        let n = x.dim(0)?;
        let (inputs, maps, _) = self.explain(method, net, x, target)?;
        let d = inputs.elem_count() / inputs.dim(0)?.max(1);
        let xs = host(&inputs)?;
        let mut rs = host(&maps)?;
        if self.normalise {
            for r in rs.chunks_mut(d) {
                let l1: f64 = r.iter().map(|v| v.abs() as f64).sum();
                if l1 > 0.0 {
                    r.iter_mut().for_each(|v| *v = (*v as f64 / l1) as f32);
                }
            }
        }
        let row = |s: usize, i: usize| (s * n + i) * d..(s * n + i + 1) * d;
        let per_image: Vec<f32> = (0..n)
            .map(|i| {
                let mut best = f32::NAN;
                for s in 1..self.shifts.len() {
                    let (a, b) = (row(s - 1, i), row(s, i));
                    let dx: f64 = xs[a.clone()]
                        .iter()
                        .zip(&xs[b.clone()])
                        .map(|(p, q)| ((p - q) as f64).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    if dx == 0.0 {
                        continue;
                    }
                    let dr: f64 = rs[a]
                        .iter()
                        .zip(&rs[b])
                        .map(|(p, q)| (p - q).abs() as f64)
                        .sum();
                    let c = (dr / dx) as f32;
                    if best.is_nan() || c > best {
                        best = c;
                    }
                }
                best
            })
            .collect();
        let mean = super::finite_mean(&per_image);
        Ok(ContinuityScore { per_image, mean })
    }
}
