//! Occlusion (Zeiler & Fergus 2014, "Visualizing and understanding convolutional networks",
//! §4.2): cover part of the image and watch the score fall.
//!
//! A window `W` (an `h × w` patch through every channel) slides over the image on a grid with
//! strides `(s_h, s_w)`. For each position the window's values are replaced by the baseline's,
//! and the drop of the target score `Δ_W = s(x) − s(x with W replaced)` is credited to every
//! input value inside `W`. A value's attribution is the mean drop of the windows that cover it:
//!
//! `R_i = Σ_{W ∋ i} Δ_W / |{W : W ∋ i}|`.
//!
//! The positions follow Captum's `Occlusion`: along each axis `0, s, 2s, …`, `⌈(H − h)/s⌉ + 1`
//! of them, the last window clipped at the border, so that every pixel is covered at least once
//! (a stride larger than the window would leave gaps and is an error). With
//! `sliding_window_shapes = (C, h, w)` and the same strides and baseline, Captum computes the same
//! numbers (`scripts/compare_pytorch.py`).
//!
//! Only forward passes, no gradients: the method treats the network as a black box. Each
//! forward pass evaluates as many windows of the whole batch as fit in `batch_size` occluded
//! inputs (fewer on the CPU when the network's activations would be large,
//! [`crate::alloc::inputs_per_pass`]; at least one window), and its drops are added into the map
//! with one matrix product, so memory stays bounded by one pass whatever the image size. Cost:
//! `(⌈(H − h)/s_h⌉ + 1) · (⌈(W − w)/s_w⌉ + 1)` forward passes per image.
//!
//! Notebook: `3.1 Deconvolution` (the occlusion experiment of the same paper).

use candle_core::Tensor;

use crate::attribution::{check_input, Attribution, Class, Target};
use crate::methods::Baseline;
use crate::{bail, Network, Result};

/// Occlusion sensitivity: the mean score drop of the windows covering each pixel.
#[derive(Debug, Clone)]
pub struct Occlusion {
    /// The window `(height, width)`; it covers every channel.
    pub window: (usize, usize),
    /// Steps between window positions `(rows, columns)`, each in `1..=` the window's side.
    pub strides: (usize, usize),
    /// What an occluded value becomes.
    pub baseline: Baseline,
    /// Occluded inputs per forward pass: as many whole windows of the batch (`N` inputs each) as
    /// fit, and at least one, so a batch larger than this still takes `N` per pass.
    pub batch_size: usize,
}

impl Default for Occlusion {
    /// 4 × 4 windows every 2 pixels (169 positions on 28 × 28), replaced by zeros.
    fn default() -> Self {
        Occlusion::new((4, 4), (2, 2))
    }
}

/// The start of every window position along an axis of length `len`: `0, s, 2s, …`,
/// `⌈(len − side)/s⌉ + 1` of them (the last may reach past the end and is clipped).
fn starts(len: usize, side: usize, stride: usize) -> Vec<usize> {
    let count = (len - side).div_ceil(stride) + 1;
    (0..count).map(|k| k * stride).collect()
}

impl Occlusion {
    /// A `window` moved by `strides`, zero baseline, 500 occluded inputs per pass.
    pub fn new(window: (usize, usize), strides: (usize, usize)) -> Occlusion {
        Occlusion {
            window,
            strides,
            baseline: Baseline::Zero,
            batch_size: 500,
        }
    }

    /// The same with another baseline.
    pub fn with_baseline(mut self, baseline: Baseline) -> Occlusion {
        self.baseline = baseline;
        self
    }

    fn check(&self, h: usize, w: usize) -> Result<()> {
        for (axis, len, side, stride) in [
            ("height", h, self.window.0, self.strides.0),
            ("width", w, self.window.1, self.strides.1),
        ] {
            if side == 0 || side > len {
                bail!(
                    "occlusion: the window {axis} {side} must be in 1..={len} (the image's {axis})"
                );
            }
            if stride == 0 || (stride > side && side < len) {
                bail!(
                    "occlusion: the stride along the {axis} {stride} must be in 1..={side} (the \
                     window's {axis}); a larger one would leave pixels uncovered"
                );
            }
        }
        Ok(())
    }

    /// The top-left corner `(row, column)` of every window position on an `h × w` image, row by
    /// row.
    pub fn positions(&self, h: usize, w: usize) -> Result<Vec<(usize, usize)>> {
        self.check(h, w)?;
        let rows = starts(h, self.window.0, self.strides.0);
        let cols = starts(w, self.window.1, self.strides.1);
        Ok(rows
            .iter()
            .flat_map(|&r| cols.iter().map(move |&c| (r, c)))
            .collect())
    }

    /// The cells of the window at `(r0, c0)` on an `h × w` plane, clipped at the border: one
    /// range of flat indices per row.
    fn rows(
        &self,
        (r0, c0): (usize, usize),
        (h, w): (usize, usize),
    ) -> impl Iterator<Item = std::ops::Range<usize>> {
        let cols = c0..(c0 + self.window.1).min(w);
        (r0..(r0 + self.window.0).min(h)).map(move |r| r * w + cols.start..r * w + cols.end)
    }

    /// The batch `[k·N, C, H, W]` of `x` (`N·C` planes of `h×w`, flattened) with, in copy `j`,
    /// window `windows[j]` of every plane replaced by the baseline's values.
    fn occlude(
        &self,
        x: &[f32],
        baseline: &[f32],
        (h, w): (usize, usize),
        windows: &[(usize, usize)],
    ) -> Vec<f32> {
        let mut out = Vec::with_capacity(windows.len() * x.len());
        for &at in windows {
            let first = out.len();
            out.extend_from_slice(x);
            for plane in (0..x.len()).step_by(h * w) {
                for cells in self.rows(at, (h, w)) {
                    let (lo, hi) = (plane + cells.start, plane + cells.end);
                    out[first + lo..first + hi].copy_from_slice(&baseline[lo..hi]);
                }
            }
        }
        out
    }

    /// The windows `windows` as 0/1 mask rows `[k, h·w]`.
    fn mask_rows(&self, (h, w): (usize, usize), windows: &[(usize, usize)]) -> Vec<f32> {
        let mut masks = vec![0f32; windows.len() * h * w];
        for (row, &at) in masks.chunks_exact_mut(h * w).zip(windows) {
            for cells in self.rows(at, (h, w)) {
                row[cells].fill(1.0);
            }
        }
        masks
    }
}

impl Attribution for Occlusion {
    fn attribute(&self, net: &Network, x: &Tensor, target: &Target) -> Result<Tensor> {
        check_input("occlusion", net, x)?;
        let (n, c, h, w) = x.dims4()?;
        let windows = self.positions(h, w)?;
        let dev = x.device();
        // How many windows cover each pixel.
        let mut counts = vec![0f32; h * w];
        for &at in &windows {
            for cells in self.rows(at, (h, w)) {
                counts[cells].iter_mut().for_each(|v| *v += 1.0);
            }
        }
        let counts = Tensor::from_vec(counts, (1, h * w), dev)?.to_dtype(x.dtype())?;
        // One forward pass of the clean input gives the scores and fixes the classes: every
        // occluded copy explains the class chosen for the clean image.
        let logits = net.forward(x)?;
        let target = Target {
            class: Class::PerExample(target.resolve(&logits)?),
            score: target.score,
        };
        let clean = target.score(&logits)?.unsqueeze(0)?; // [1, N]
        let baseline = self.baseline.for_input(x)?; // [N, C, H, W]

        // On the CPU the occluded copies are written directly (a copy of x, then the window's
        // rows from the baseline); elsewhere, and with the elementwise kernels switched off, by
        // candle's operations.
        let host = crate::kernels::host_pair(x, &baseline)?;
        let (xs, baseline) = (x.unsqueeze(0)?, baseline.unsqueeze(0)?); // [1, N, C, H, W]
        let per_pass = crate::alloc::inputs_per_pass(net, self.batch_size)?;
        let windows_per_pass = (per_pass / n).max(1);
        // Σ_{W ∋ i} Δ_W, accumulated pass by pass: drops [N, k] times the pass's masks [k, h·w].
        let mut summed = Tensor::zeros((n, h * w), x.dtype(), dev)?;
        for pass in windows.chunks(windows_per_pass) {
            let k = pass.len();
            let masks = Tensor::from_vec(self.mask_rows((h, w), pass), (k, h * w), dev)?
                .to_dtype(x.dtype())?;
            let occluded =
                match &host {
                    Some((xv, bv)) => {
                        Tensor::from_vec(self.occlude(xv, bv, (h, w), pass), (k * n, c, h, w), dev)?
                    }
                    None => {
                        let m = masks.reshape((k, 1, 1, h, w))?;
                        // x ⊙ (1 − m) + x̄ ⊙ m: x outside the window, the baseline inside, exactly.
                        (xs.broadcast_mul(&(1.0 - &m)?)? + baseline.broadcast_mul(&m)?)?
                            .reshape((k * n, c, h, w))?
                    }
                };
            let scores = target.tiled(k).score(&net.forward(&occluded)?)?;
            let drops = clean.broadcast_sub(&scores.reshape((k, n))?)?; // [k, N]
            summed = (summed + drops.t()?.contiguous()?.matmul(&masks)?)?;
        }
        let map = summed.broadcast_div(&counts)?.reshape((n, 1, h, w))?;
        Ok(map.broadcast_as((n, c, h, w))?.contiguous()?)
    }
}
