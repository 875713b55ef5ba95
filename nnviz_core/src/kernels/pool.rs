//! Max- and average pooling with explicit padding, and their gradients (see the module docs of
//! [`crate::kernels`]).

use std::sync::{Arc, OnceLock};

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{cpu_f32, dims4, op_err, out_size, Pad2d};

const MAX: &str = "nnviz-max-pool2d";
const MAX_GRAD: &str = "nnviz-max-pool2d-grad";
const AVG: &str = "nnviz-avg-pool2d";
const AVG_GRAD: &str = "nnviz-avg-pool2d-grad";

/// No valid cell in the window (only possible with padding wider than the window).
const NONE: u32 = u32::MAX;

/// A `u32` whose order is max-pooling's order of values: the bits mapped so that unsigned
/// comparison orders the floats (−0 just below +0), every NaN above +∞.
#[inline(always)]
fn max_ord(v: f32) -> u32 {
    let b = v.to_bits();
    // Negative: flip every bit; positive: flip the sign bit.
    let ord = b ^ ((((b as i32) >> 31) as u32) | 0x8000_0000);
    if v.is_nan() {
        u32::MAX
    } else {
        ord
    }
}

/// A `u64` whose order is max-pooling's: [`max_ord`] in the high half, the complement of the
/// cell index in the low half so that of equal values the first cell is largest. Never 0 (that
/// marks "no valid cell"). Taking the maximum of keys compiles to branch-free code, which
/// matters on random data.
fn max_key(v: f32, i: u32) -> u64 {
    ((max_ord(v) as u64) << 32) | (!i) as u64
}

/// All ones where `a > b`, else zero.
#[inline(always)]
fn mask_gt(a: u32, b: u32) -> u32 {
    ((a > b) as u32).wrapping_neg()
}

/// `a` where `mask` is all ones, `b` where it is zero.
#[inline(always)]
fn select(mask: u32, a: u32, b: u32) -> u32 {
    (a & mask) | (b & !mask)
}

/// The 2×2 windows of one row pair, side by side: `top` and `bottom` hold `2·k` cells each, and
/// window `j` (cells `2j`, `2j + 1` of both) gets its maximum in `y[j]` and its winner's index in
/// `idx[j]` (`first` the index of `top[0]`, `w` the row length). The cell with the largest
/// [`max_ord`] wins, ties to the first in row-major order — what the maximum of the four
/// [`max_key`]s gives. Written with bit masks, not branches: on real activations the winner's
/// position is unpredictable, and mispredicted branches cost more than the whole window.
///
/// The windows go 8 (one AVX2 vector of `f32`) or 4 at a time through fixed-size arrays, which
/// the compiler turns into vector code; when the count is not a multiple of the run, the last run
/// overlaps the one before it (windows computed twice, to the same values). A scalar remainder
/// loop took most of the time before: a row of 28 cells has 14 windows, 6 of them left over, and
/// a row of 14 has 7. Fewer than 4 windows go one by one.
#[inline(always)]
fn max_pool_row_2x2(
    top: &[f32],
    bottom: &[f32],
    first: usize,
    w: usize,
    y: &mut [f32],
    idx: &mut [u32],
) {
    let k = y
        .len()
        .min(idx.len())
        .min(top.len() / 2)
        .min(bottom.len() / 2);
    let (first, w) = (first as u32, w as u32);
    let (y, idx) = (&mut y[..k], &mut idx[..k]);
    if k >= 8 {
        runs::<8, 16>(top, bottom, first, w, y, idx);
    } else if k >= 4 {
        runs::<4, 8>(top, bottom, first, w, y, idx);
    } else {
        runs::<1, 2>(top, bottom, first, w, y, idx);
    }
}

/// Every window of [`max_pool_row_2x2`], `L` at a time (`L2 = 2·L` cells); `L ≤ y.len()`.
#[inline(always)]
fn runs<const L: usize, const L2: usize>(
    top: &[f32],
    bottom: &[f32],
    first: u32,
    w: u32,
    y: &mut [f32],
    idx: &mut [u32],
) {
    let k = y.len();
    let mut j = 0;
    loop {
        if j + L > k {
            if j == k {
                break;
            }
            j = k - L;
        }
        windows::<L, L2>(
            top[2 * j..2 * j + L2].try_into().expect("2·L cells"),
            bottom[2 * j..2 * j + L2].try_into().expect("2·L cells"),
            first + 2 * j as u32,
            w,
            (&mut y[j..j + L]).try_into().expect("L outputs"),
            (&mut idx[j..j + L]).try_into().expect("L outputs"),
        );
        j += L;
    }
}

/// `L` windows of [`max_pool_row_2x2`]; `first` is the index of `top[0]`.
#[inline(always)]
fn windows<const L: usize, const L2: usize>(
    top: &[f32; L2],
    bottom: &[f32; L2],
    first: u32,
    w: u32,
    y: &mut [f32; L],
    idx: &mut [u32; L],
) {
    for j in 0..L {
        let (t0, t1, b0, b1) = (top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]);
        let (oa, ob) = (max_ord(t0), max_ord(t1));
        let (oc, od) = (max_ord(b0), max_ord(b1));
        // The better of each row's two cells (ties to the left one), then of the two rows (ties
        // to the top one).
        let m1 = mask_gt(ob, oa);
        let (o1, v1, d1) = (
            select(m1, ob, oa),
            select(m1, t1.to_bits(), t0.to_bits()),
            m1 & 1,
        );
        let m2 = mask_gt(od, oc);
        let (o2, v2, d2) = (
            select(m2, od, oc),
            select(m2, b1.to_bits(), b0.to_bits()),
            w + (m2 & 1),
        );
        let m = mask_gt(o2, o1);
        y[j] = f32::from_bits(select(m, v2, v1));
        idx[j] = first + 2 * j as u32 + select(m, d2, d1);
    }
}

/// The resolved shapes of one pooling, with each output row's and column's input range.
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    /// `[lo, hi)` input rows of each output row.
    rows: Vec<(usize, usize)>,
    /// `[lo, hi)` input columns of each output column.
    cols: Vec<(usize, usize)>,
    /// How many leading output columns have the window `[2·ox, 2·ox + 2)`: the 2×2, stride-2
    /// windows whose row pairs [`max_pool_forward`] takes a whole row at a time.
    paired_cols: usize,
}

/// The valid input range `[lo, hi)` of window `o` along an axis of size `n`.
fn window(o: usize, s: usize, before: usize, k: usize, n: usize) -> (usize, usize) {
    let start = o * s;
    let lo = start.saturating_sub(before).min(n);
    let hi = (start + k).saturating_sub(before).min(n);
    (lo, hi.max(lo))
}

impl Geom {
    fn new(
        op: &str,
        x: [usize; 4],
        kernel: [usize; 2],
        stride: usize,
        pad: Pad2d,
    ) -> candle_core::Result<Geom> {
        let [n, c, h, w] = x;
        let [kh, kw] = kernel;
        let (Some(oh), Some(ow)) = (
            out_size(h, kh, stride, pad.top, pad.bottom),
            out_size(w, kw, stride, pad.left, pad.right),
        ) else {
            return Err(op_err(format!(
                "{op}: a {kh}×{kw} window with stride {stride} does not fit the input {x:?} \
                 padded by {pad:?}"
            )));
        };
        if h * w >= NONE as usize {
            return Err(op_err(format!(
                "{op}: the input {x:?} has too many cells per plane for u32 indices"
            )));
        }
        let cols: Vec<(usize, usize)> = (0..ow)
            .map(|o| window(o, stride, pad.left, kw, w))
            .collect();
        let paired_cols = cols
            .iter()
            .enumerate()
            .take_while(|&(o, &c)| c == (2 * o, 2 * o + 2))
            .count();
        Ok(Geom {
            n,
            c,
            h,
            w,
            oh,
            ow,
            rows: (0..oh).map(|o| window(o, stride, pad.top, kh, h)).collect(),
            cols,
            paired_cols,
        })
    }

    fn hw(&self) -> usize {
        self.h * self.w
    }

    fn ohw(&self) -> usize {
        self.oh * self.ow
    }

    fn in_shape(&self) -> Shape {
        Shape::from((self.n, self.c, self.h, self.w))
    }

    fn out_shape(&self) -> Shape {
        Shape::from((self.n, self.c, self.oh, self.ow))
    }

    fn out_dims(&self) -> [usize; 4] {
        [self.n, self.c, self.oh, self.ow]
    }

    /// Number of valid cells in window `(oy, ox)`.
    fn count(&self, oy: usize, ox: usize) -> usize {
        let ((r0, r1), (c0, c1)) = (self.rows[oy], self.cols[ox]);
        (r1 - r0) * (c1 - c0)
    }
}

/// The max-pooling of every plane of `x` and, per output cell, the flat in-plane index of its
/// winner (`NONE` for a window without a valid cell).
fn max_pool_forward(x: &[f32], g: &Geom) -> (Vec<f32>, Vec<u32>) {
    let (hw, ohw) = (g.hw(), g.ohw());
    let mut y = vec![f32::NEG_INFINITY; g.n * g.c * ohw];
    let mut idx = vec![NONE; y.len()];
    if !y.is_empty() {
        let arch = pulp::Arch::new();
        y.par_chunks_mut(ohw)
            .zip(idx.par_chunks_mut(ohw))
            .enumerate()
            .for_each(|(plane, (yp, ip))| {
                // Compiled for the CPU's vector instructions (AVX2 or AVX-512 where present).
                arch.dispatch(MaxPoolPlane {
                    xp: &x[plane * hw..(plane + 1) * hw],
                    g,
                    yp,
                    ip,
                })
            });
    }
    (y, idx)
}

/// The max-pooling of one plane `xp` into `yp`, with each window's winner in `ip`.
struct MaxPoolPlane<'a> {
    xp: &'a [f32],
    g: &'a Geom,
    yp: &'a mut [f32],
    ip: &'a mut [u32],
}

impl pulp::WithSimd for MaxPoolPlane<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        max_pool_plane(self.xp, self.g, self.yp, self.ip)
    }
}

#[inline(always)]
fn max_pool_plane(xp: &[f32], g: &Geom, yp: &mut [f32], ip: &mut [u32]) {
    for (oy, &(r0, r1)) in g.rows.iter().enumerate() {
        let (yr, ir) = (
            &mut yp[oy * g.ow..(oy + 1) * g.ow],
            &mut ip[oy * g.ow..(oy + 1) * g.ow],
        );
        let paired = if r1 - r0 == 2 { g.paired_cols } else { 0 };
        if paired > 0 {
            let (top, bottom) = (r0 * g.w, (r0 + 1) * g.w);
            max_pool_row_2x2(
                &xp[top..top + 2 * paired],
                &xp[bottom..bottom + 2 * paired],
                top,
                g.w,
                &mut yr[..paired],
                &mut ir[..paired],
            );
        }
        for (ox, &(c0, c1)) in g.cols.iter().enumerate().skip(paired) {
            // The largest key is the window's maximum, ties to the first cell.
            let mut best = 0u64;
            for iy in r0..r1 {
                let start = iy * g.w + c0;
                for (j, &v) in xp[start..iy * g.w + c1].iter().enumerate() {
                    best = best.max(max_key(v, (start + j) as u32));
                }
            }
            let i = !(best as u32);
            if let (true, Some(&v)) = (best != 0, xp.get(i as usize)) {
                ir[ox] = i;
                yr[ox] = v;
            }
        }
    }
}

/// `x[N, C, H, W] → y[N, C, OH, OW]`, the maximum over each window's valid cells; records the
/// winner of each window for the backward pass.
pub(super) struct MaxPool2d {
    kernel: [usize; 2],
    stride: usize,
    pad: Pad2d,
    /// Per output cell, the flat index `iy·W + ix` of the winner within its plane.
    argmax: OnceLock<Arc<Vec<u32>>>,
}

impl MaxPool2d {
    pub(super) fn new(kernel: [usize; 2], stride: usize, pad: Pad2d) -> MaxPool2d {
        MaxPool2d {
            kernel,
            stride,
            pad,
            argmax: OnceLock::new(),
        }
    }
}

impl CustomOp1 for MaxPool2d {
    fn name(&self) -> &'static str {
        MAX
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = Geom::new(
            MAX,
            dims4(MAX, "input", l)?,
            self.kernel,
            self.stride,
            self.pad,
        )?;
        let x = cpu_f32(MAX, "input", s, l)?;
        let (y, idx) = max_pool_forward(x, &g);
        // The op is built for this one call, so the cell is always empty here.
        let _ = self.argmax.set(Arc::new(idx));
        Ok((CpuStorage::F32(y), g.out_shape()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        if !arg.track_op() {
            return Ok(None);
        }
        let argmax = self.argmax.get().cloned().ok_or_else(|| {
            op_err(format!(
                "{MAX}: backward of the input {:?} before its forward pass",
                arg.dims()
            ))
        })?;
        let (_, _, h, w) = arg.dims4()?;
        Ok(Some(grad.contiguous()?.apply_op1(MaxPool2dGrad {
            argmax,
            h,
            w,
        })?))
    }
}

/// `g[N, C, OH, OW] → ∂L/∂x[N, C, H, W]`: each gradient goes to its window's winner.
/// Not differentiable.
struct MaxPool2dGrad {
    argmax: Arc<Vec<u32>>,
    h: usize,
    w: usize,
}

impl CustomOp1 for MaxPool2dGrad {
    fn name(&self) -> &'static str {
        MAX_GRAD
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let [n, c, oh, ow] = dims4(MAX_GRAD, "output gradient", l)?;
        let dy = cpu_f32(MAX_GRAD, "output gradient", s, l)?;
        if self.argmax.len() != dy.len() {
            return Err(op_err(format!(
                "{MAX_GRAD}: the output gradient {:?} does not match the {} pooled cells of the \
                 forward pass",
                [n, c, oh, ow],
                self.argmax.len()
            )));
        }
        let dx = max_pool_scatter(dy, &self.argmax, n * c, self.h * self.w, oh * ow);
        Ok((CpuStorage::F32(dx), Shape::from((n, c, self.h, self.w))))
    }
}

/// `∂L/∂x` of max-pooling: each output gradient of `dy` (`planes` planes of `ohw` cells) added
/// to its window's winner in a zeroed `[planes, hw]` buffer.
fn max_pool_scatter(dy: &[f32], argmax: &[u32], planes: usize, hw: usize, ohw: usize) -> Vec<f32> {
    let mut dx = vec![0f32; planes * hw];
    if !dx.is_empty() && ohw > 0 {
        dx.par_chunks_mut(hw)
            .zip(dy.par_chunks(ohw).zip(argmax.par_chunks(ohw)))
            .for_each(|(dxp, (gp, ip))| {
                for (&g, &i) in gp.iter().zip(ip) {
                    if let Some(d) = dxp.get_mut(i as usize) {
                        *d += g;
                    }
                }
            });
    }
    dx
}

/// The max-pool gradient when the 2×2, stride-2 windows tile the input (`H = 2·OH`,
/// `W = 2·OW`, no padding): each row pair's winners found by [`max_pool_row_2x2`] (the forward
/// pass's own choice, ties included), their gradients added into a zeroed row pair, which is
/// written out once: one pass over `x` and one write of `dx`, without the forward's outputs, the
/// winner buffer and the zero-fill of all of `dx`. Every cell belongs to exactly one window, so
/// the result is [`max_pool_scatter`]'s bit for bit. `None` for any other geometry (and for an
/// empty plane), which the general path handles.
fn max_pool_grad_tiled_2x2(x: &[f32], dy: &[f32], g: &Geom) -> Option<Vec<f32>> {
    let (hw, ohw, w, ow, oh) = (g.hw(), g.ohw(), g.w, g.ow, g.oh);
    let planes = g.n * g.c;
    let len = planes * hw;
    // The writes below rely on every one of these.
    let tiled = g.paired_cols == ow
        && g.h == 2 * oh
        && w == 2 * ow
        && g.rows
            .iter()
            .enumerate()
            .all(|(oy, &r)| r == (2 * oy, 2 * oy + 2));
    if !tiled || ow == 0 || x.len() < len || dy.len() < planes * ohw {
        return None;
    }
    let mut dx = Vec::with_capacity(len);
    dx.spare_capacity_mut()[..len]
        .par_chunks_mut(hw)
        .zip(x.par_chunks(hw).zip(dy.par_chunks(ohw)))
        .for_each_init(
            || (vec![0f32; ow], vec![0u32; ow], vec![0f32; 2 * w]),
            |(y_row, winners, pair), (dxp, (xp, gp))| {
                for (oy, (g_row, dst)) in gp
                    .chunks_exact(ow)
                    .zip(dxp.chunks_exact_mut(2 * w))
                    .enumerate()
                {
                    let top = 2 * oy * w;
                    max_pool_row_2x2(
                        &xp[top..top + w],
                        &xp[top + w..top + 2 * w],
                        0,
                        w,
                        y_row,
                        winners,
                    );
                    pair.fill(0.0);
                    for (&gv, &i) in g_row.iter().zip(winners.iter()) {
                        if let Some(d) = pair.get_mut(i as usize) {
                            *d += gv; // not `=`: 0 + (−0) is +0, as the scatter's sum gives
                        }
                    }
                    for (o, &v) in dst.iter_mut().zip(pair.iter()) {
                        o.write(v);
                    }
                }
            },
        );
    // SAFETY: `dx` has capacity `len = planes · hw`. Its first `len` elements were cut into
    // `planes` chunks of `hw = h·w = oh · 2w` (`h = 2·oh`, checked above; `hw > 0` since
    // `ow > 0`), each zipped with a `dy` plane of `ohw = oh · ow`; a plane's `oh` row pairs of `2w`
    // elements were each zipped with one of `dy`'s `oh` rows of `ow` and written in full from
    // `pair` (`2w` long). So every element was written. (`x` and `dy` are at least that long,
    // checked, so no zip ran short.)
    unsafe { dx.set_len(len) };
    Some(dx)
}

/// `(x[N, C, H, W], g[N, C, OH, OW]) → ∂L/∂x`: the max-pool gradient with the winners found
/// again from `x` — for callers that hold the layer's input but not the forward op (the
/// relevance engine), without building an autograd graph. Not differentiable.
pub(super) struct MaxPool2dGradFromInput {
    pub(super) kernel: [usize; 2],
    pub(super) stride: usize,
    pub(super) pad: Pad2d,
}

impl CustomOp2 for MaxPool2dGradFromInput {
    fn name(&self) -> &'static str {
        MAX_GRAD
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = Geom::new(
            MAX_GRAD,
            dims4(MAX_GRAD, "input", l1)?,
            self.kernel,
            self.stride,
            self.pad,
        )?;
        let dy_dims = dims4(MAX_GRAD, "output gradient", l2)?;
        if dy_dims != g.out_dims() {
            return Err(op_err(format!(
                "{MAX_GRAD}: the output gradient {dy_dims:?} does not match the pooled shape {:?}",
                g.out_dims()
            )));
        }
        let x = cpu_f32(MAX_GRAD, "input", s1, l1)?;
        let dy = cpu_f32(MAX_GRAD, "output gradient", s2, l2)?;
        let dx = match max_pool_grad_tiled_2x2(x, dy, &g) {
            Some(dx) => dx,
            None => {
                let (_, idx) = max_pool_forward(x, &g);
                max_pool_scatter(dy, &idx, g.n * g.c, g.hw(), g.ohw())
            }
        };
        Ok((CpuStorage::F32(dx), g.in_shape()))
    }
}

/// `x[N, C, H, W] → y[N, C, OH, OW]`, the mean over each window's valid cells (0 for a window
/// without any).
pub(super) struct AvgPool2d {
    pub(super) kernel: [usize; 2],
    pub(super) stride: usize,
    pub(super) pad: Pad2d,
}

impl CustomOp1 for AvgPool2d {
    fn name(&self) -> &'static str {
        AVG
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = Geom::new(
            AVG,
            dims4(AVG, "input", l)?,
            self.kernel,
            self.stride,
            self.pad,
        )?;
        let x = cpu_f32(AVG, "input", s, l)?;
        let (hw, ohw) = (g.hw(), g.ohw());
        let mut y = vec![0f32; g.n * g.c * ohw];
        if !y.is_empty() {
            y.par_chunks_mut(ohw).enumerate().for_each(|(plane, yp)| {
                let xp = &x[plane * hw..(plane + 1) * hw];
                for (oy, &(r0, r1)) in g.rows.iter().enumerate() {
                    for (ox, &(c0, c1)) in g.cols.iter().enumerate() {
                        let count = g.count(oy, ox);
                        if count == 0 {
                            continue;
                        }
                        let mut sum = 0f32;
                        for iy in r0..r1 {
                            sum += xp[iy * g.w + c0..iy * g.w + c1].iter().sum::<f32>();
                        }
                        yp[oy * g.ow + ox] = sum / count as f32;
                    }
                }
            });
        }
        Ok((CpuStorage::F32(y), g.out_shape()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        if !arg.track_op() {
            return Ok(None);
        }
        let (_, _, h, w) = arg.dims4()?;
        Ok(Some(grad.contiguous()?.apply_op1(AvgPool2dGrad {
            kernel: self.kernel,
            stride: self.stride,
            pad: self.pad,
            h,
            w,
        })?))
    }
}

/// `g[N, C, OH, OW] → ∂L/∂x[N, C, H, W]`: `g / count` to every valid cell of the window.
/// Not differentiable.
pub(super) struct AvgPool2dGrad {
    pub(super) kernel: [usize; 2],
    pub(super) stride: usize,
    pub(super) pad: Pad2d,
    pub(super) h: usize,
    pub(super) w: usize,
}

impl CustomOp1 for AvgPool2dGrad {
    fn name(&self) -> &'static str {
        AVG_GRAD
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let dy_dims = dims4(AVG_GRAD, "output gradient", l)?;
        let x = [dy_dims[0], dy_dims[1], self.h, self.w];
        let g = Geom::new(AVG_GRAD, x, self.kernel, self.stride, self.pad)?;
        if dy_dims != g.out_dims() {
            return Err(op_err(format!(
                "{AVG_GRAD}: the output gradient {dy_dims:?} does not match the pooled shape {:?}",
                g.out_dims()
            )));
        }
        let dy = cpu_f32(AVG_GRAD, "output gradient", s, l)?;
        let (hw, ohw) = (g.hw(), g.ohw());
        let mut dx = vec![0f32; g.n * g.c * hw];
        if !dx.is_empty() && ohw > 0 {
            dx.par_chunks_mut(hw)
                .zip(dy.par_chunks(ohw))
                .for_each(|(dxp, gp)| {
                    for (oy, &(r0, r1)) in g.rows.iter().enumerate() {
                        for (ox, &(c0, c1)) in g.cols.iter().enumerate() {
                            let count = g.count(oy, ox);
                            if count == 0 {
                                continue;
                            }
                            let v = gp[oy * g.ow + ox] / count as f32;
                            for iy in r0..r1 {
                                for d in &mut dxp[iy * g.w + c0..iy * g.w + c1] {
                                    *d += v;
                                }
                            }
                        }
                    }
                });
        }
        Ok((CpuStorage::F32(dx), g.in_shape()))
    }
}
