//! Convolution by im2col + gemm, and its two gradients (see the module docs of
//! [`crate::kernels`]).

use std::cell::RefCell;

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use super::matmul::{matmul, parallelism, Mat};
use super::{cpu_f32, dims4, op_err, out_size, threads, valid_range, Pad2d};

const FWD: &str = "nnviz-conv2d";
const GRAD_INPUT: &str = "nnviz-conv2d-grad-input";
const GRAD_KERNEL: &str = "nnviz-conv2d-grad-kernel";

/// The resolved shapes of one convolution.
#[derive(Debug, Clone, Copy)]
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    stride: usize,
    pad: Pad2d,
}

impl Geom {
    /// Checks an input `[N, C, H, W]` against a kernel `[O, C, kh, kw]`.
    fn new(
        op: &str,
        x: [usize; 4],
        k: [usize; 4],
        stride: usize,
        pad: Pad2d,
    ) -> candle_core::Result<Geom> {
        let [n, c, h, w] = x;
        let [o, kc, kh, kw] = k;
        if kc != c {
            return Err(op_err(format!(
                "{op}: the input {x:?} has {c} channels but the kernel {k:?} expects {kc}"
            )));
        }
        let oh = out_size(h, kh, stride, pad.top, pad.bottom);
        let ow = out_size(w, kw, stride, pad.left, pad.right);
        match (oh, ow) {
            (Some(oh), Some(ow)) => Ok(Geom {
                n,
                c,
                h,
                w,
                o,
                kh,
                kw,
                oh,
                ow,
                stride,
                pad,
            }),
            _ => Err(op_err(format!(
                "{op}: a {kh}×{kw} kernel with stride {stride} does not fit the input {x:?} \
                 padded by {pad:?}"
            ))),
        }
    }

    /// Rows of the im2col matrix: `C·kh·kw`.
    fn k(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// Columns of the im2col matrix: `OH·OW`.
    fn p(&self) -> usize {
        self.oh * self.ow
    }

    fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// 1×1, stride 1, no padding: the im2col matrix is the input itself.
    fn pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == 1 && self.pad.is_zero()
    }

    fn out_shape(&self) -> Shape {
        Shape::from((self.n, self.o, self.oh, self.ow))
    }
}

/// Writes `im2col(x_n)` for one sample `x_n[C, H, W]` into the `[K, P]` block of `col` that
/// starts at column `off` of a row-major matrix with `ld` columns.
fn im2col(g: &Geom, x: &[f32], col: &mut [f32], ld: usize, off: usize) {
    let (p, hw, s) = (g.p(), g.h * g.w, g.stride);
    if p == 0 || ld < off + p {
        return;
    }
    let mut rows = col.chunks_exact_mut(ld).map(|r| &mut r[off..off + p]);
    if hw == 0 {
        rows.for_each(|r| r.fill(0.0));
        return;
    }
    for plane in x.chunks_exact(hw).take(g.c) {
        for ki in 0..g.kh {
            let (ylo, yhi) = valid_range(g.h, g.oh, s, g.pad.top, ki);
            for kj in 0..g.kw {
                let (xlo, xhi) = valid_range(g.w, g.ow, s, g.pad.left, kj);
                let Some(dst) = rows.next() else { return };
                dst[..ylo * g.ow].fill(0.0);
                dst[yhi * g.ow..].fill(0.0);
                if xlo == xhi {
                    dst[ylo * g.ow..yhi * g.ow].fill(0.0);
                    continue;
                }
                let ix0 = xlo * s + kj - g.pad.left;
                for oy in ylo..yhi {
                    let iy = oy * s + ki - g.pad.top;
                    let src = &plane[iy * g.w..(iy + 1) * g.w];
                    let d = &mut dst[oy * g.ow..(oy + 1) * g.ow];
                    d[..xlo].fill(0.0);
                    d[xhi..].fill(0.0);
                    let d = &mut d[xlo..xhi];
                    if s == 1 {
                        d.copy_from_slice(&src[ix0..ix0 + d.len()]);
                    } else {
                        for (v, &x) in d.iter_mut().zip(src[ix0..].iter().step_by(s)) {
                            *v = x;
                        }
                    }
                }
            }
        }
    }
}

/// `dx_n[C, H, W] += col2im(block)`, the adjoint of [`im2col`], for the `[K, P]` block of `col`
/// that starts at column `off` of a row-major matrix with `ld` columns.
fn col2im(g: &Geom, col: &[f32], ld: usize, off: usize, dx: &mut [f32]) {
    let (p, hw, s) = (g.p(), g.h * g.w, g.stride);
    if hw == 0 || p == 0 || ld < off + p {
        return;
    }
    let mut rows = col.chunks_exact(ld).map(|r| &r[off..off + p]);
    for plane in dx.chunks_exact_mut(hw).take(g.c) {
        for ki in 0..g.kh {
            let (ylo, yhi) = valid_range(g.h, g.oh, s, g.pad.top, ki);
            for kj in 0..g.kw {
                let (xlo, xhi) = valid_range(g.w, g.ow, s, g.pad.left, kj);
                let Some(src) = rows.next() else { return };
                if xlo == xhi {
                    continue;
                }
                let ix0 = xlo * s + kj - g.pad.left;
                for oy in ylo..yhi {
                    let iy = oy * s + ki - g.pad.top;
                    let d = &mut plane[iy * g.w..(iy + 1) * g.w];
                    let v = &src[oy * g.ow + xlo..oy * g.ow + xhi];
                    if s == 1 {
                        for (d, &v) in d[ix0..ix0 + v.len()].iter_mut().zip(v) {
                            *d += v;
                        }
                    } else {
                        for (d, &v) in d[ix0..].iter_mut().step_by(s).zip(v) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

/// `[cnt, rows, p]` (sample-major) → `[rows, cnt·p]` (one gemm operand for the group).
fn interleave(src: &[f32], dst: &mut [f32], rows: usize, p: usize) {
    let cols = dst.len() / rows.max(1);
    for (j, sample) in src.chunks_exact(rows * p).enumerate() {
        for (r, v) in sample.chunks_exact(p).enumerate() {
            dst[r * cols + j * p..r * cols + (j + 1) * p].copy_from_slice(v);
        }
    }
}

/// `[rows, cnt·p]` → `[cnt, rows, p]`: the inverse of [`interleave`].
fn deinterleave(src: &[f32], dst: &mut [f32], rows: usize, p: usize) {
    let cols = src.len() / rows.max(1);
    for (j, sample) in dst.chunks_exact_mut(rows * p).enumerate() {
        for (r, v) in sample.chunks_exact_mut(p).enumerate() {
            v.copy_from_slice(&src[r * cols + j * p..r * cols + (j + 1) * p]);
        }
    }
}

/// Target width (im2col columns) of one gemm: consecutive samples are grouped side by side until
/// `G·P` reaches it, so that small feature maps still give gemm a wide operand.
const GROUP_COLS: usize = 512;

/// Fewest groups a batch is cut into (when it has that many samples).
const MIN_GROUPS: usize = 8;

/// Partial sums of the kernel gradient (spread over the threads, then added in order).
const KERNEL_GRAD_CHUNKS: usize = 8;

/// How a batch is cut into groups of consecutive samples, one gemm per group.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Samples per group (the last group may have fewer).
    size: usize,
    /// Groups run in parallel on rayon's pool with single-threaded gemms; otherwise they run in
    /// turn and each gemm uses every thread.
    parallel: bool,
}

impl Plan {
    fn new(g: &Geom) -> Plan {
        // At least `MIN_GROUPS` groups when the batch allows, for balance between threads. The
        // grouping does not depend on the number of threads, and neither do the results.
        let size = (GROUP_COLS / g.p().max(1))
            .min(g.n.div_ceil(MIN_GROUPS))
            .max(1);
        Plan {
            size,
            parallel: threads() > 1 && g.n.div_ceil(size) >= 2,
        }
    }

    fn gemm_parallelism(&self) -> Parallelism {
        if self.parallel {
            Parallelism::None
        } else {
            parallelism(threads())
        }
    }
}

/// Scratch for one group: the im2col block and a `[rows, G·P]` staging matrix. Their contents
/// are garbage on entry: every user overwrites what it reads.
struct Scratch {
    col: Vec<f32>,
    stage: Vec<f32>,
}

thread_local! {
    /// Each thread's scratch, kept between calls (it only grows, to the largest group seen), so
    /// that the im2col blocks are not allocated and page-faulted in again for every group.
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch {
            col: Vec::new(),
            stage: Vec::new(),
        })
    };
}

impl Scratch {
    /// `(im2col, staging)` lengths for the groups of `plan`.
    fn lens(g: &Geom, plan: &Plan, stage_rows: usize) -> (usize, usize) {
        let cols = plan.size * g.p();
        let direct = plan.size == 1 && g.pointwise();
        (
            if direct { 0 } else { g.k() * cols },
            if plan.size > 1 { stage_rows * cols } else { 0 },
        )
    }

    /// Runs `f` with this thread's scratch grown to `lens`, or with a fresh one when the
    /// thread's is in use (a rayon job stolen while this thread waits inside another).
    fn with<R>(lens: (usize, usize), f: impl FnOnce(&mut Scratch) -> R) -> R {
        let grow = |s: &mut Scratch| {
            if s.col.len() < lens.0 {
                s.col.resize(lens.0, 0.0);
            }
            if s.stage.len() < lens.1 {
                s.stage.resize(lens.1, 0.0);
            }
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut s) => {
                grow(&mut s);
                f(&mut s)
            }
            Err(_) => {
                let mut s = Scratch {
                    col: Vec::new(),
                    stage: Vec::new(),
                };
                grow(&mut s);
                f(&mut s)
            }
        })
    }
}

/// Runs `f(first sample, chunk, scratch, gemm parallelism)` over `out` cut into groups of
/// `plan.size` samples of `per_sample` elements each, with scratch of `lens`.
fn for_each_group<F>(
    out: &mut [f32],
    per_sample: usize,
    plan: Plan,
    lens: (usize, usize),
    f: F,
) -> candle_core::Result<()>
where
    F: Fn(usize, &mut [f32], &mut Scratch, Parallelism) -> candle_core::Result<()> + Sync + Send,
{
    let chunk = plan.size * per_sample;
    let par = plan.gemm_parallelism();
    if plan.parallel {
        out.par_chunks_mut(chunk)
            .enumerate()
            .try_for_each(|(i, out)| Scratch::with(lens, |s| f(i * plan.size, out, s, par)))
    } else {
        Scratch::with(lens, |s| {
            for (i, out) in out.chunks_mut(chunk).enumerate() {
                f(i * plan.size, out, s, par)?;
            }
            Ok(())
        })
    }
}

/// Adds `b[o]` to every plane `o` of each sample in `y` (`[cnt, O, P]`).
fn add_bias(y: &mut [f32], b: &[f32], p: usize) {
    if p == 0 || b.is_empty() {
        return;
    }
    for (plane, v) in y.chunks_exact_mut(p).zip(b.iter().cycle()) {
        plane.iter_mut().for_each(|y| *y += v);
    }
}

/// Forward: `y_n = W · im2col(x_n) (+ b)` for every sample, a group of samples per gemm. The
/// bias is added to each group's output while it is still in cache: the same `f32` sums as a
/// separate pass ([`super::bias`]) over the whole output, without that pass.
fn forward(g: &Geom, x: &[f32], w: &[f32], b: Option<&[f32]>) -> candle_core::Result<Vec<f32>> {
    let (k, p, o, len) = (g.k(), g.p(), g.o, g.in_len());
    let mut y = vec![0f32; g.n * o * p];
    if y.is_empty() {
        return Ok(y);
    }
    let wm = Mat::row_major(w, o, k);
    let plan = Plan::new(g);
    let group = |first: usize, y_g: &mut [f32], s: &mut Scratch, par: Parallelism| {
        let cnt = y_g.len() / (o * p);
        let cols = cnt * p;
        let x_g = &x[first * len..(first + cnt) * len];
        if cnt == 1 && g.pointwise() {
            matmul(FWD, y_g, wm, Mat::row_major(x_g, k, p), false, par)?;
        } else {
            let col = &mut s.col[..k * cols];
            for (j, x_n) in x_g.chunks_exact(len).enumerate() {
                im2col(g, x_n, col, cols, j * p);
            }
            if cnt == 1 {
                matmul(FWD, y_g, wm, Mat::row_major(col, k, p), false, par)?;
            } else {
                let stage = &mut s.stage[..o * cols];
                matmul(FWD, stage, wm, Mat::row_major(col, k, cols), false, par)?;
                deinterleave(stage, y_g, o, p);
            }
        }
        if let Some(b) = b {
            add_bias(y_g, b, p);
        }
        Ok(())
    };
    for_each_group(&mut y, o * p, plan, Scratch::lens(g, &plan, o), group)?;
    Ok(y)
}

/// Input gradient: `dx_n = col2im(Wᵀ · g_n)` for every sample, a group of samples per gemm.
fn grad_input(g: &Geom, dy: &[f32], w: &[f32]) -> candle_core::Result<Vec<f32>> {
    let (k, p, o, len) = (g.k(), g.p(), g.o, g.in_len());
    let mut dx = vec![0f32; g.n * len];
    if dx.is_empty() {
        return Ok(dx);
    }
    let wt = Mat::row_major(w, o, k).t();
    let plan = Plan::new(g);
    let group = |first: usize, dx_g: &mut [f32], s: &mut Scratch, par: Parallelism| {
        let cnt = dx_g.len() / len;
        let cols = cnt * p;
        let dy_g = &dy[first * o * p..(first + cnt) * o * p];
        let Scratch { col, stage } = s;
        let rhs = if cnt == 1 {
            Mat::row_major(dy_g, o, p)
        } else {
            let stage = &mut stage[..o * cols];
            interleave(dy_g, stage, o, p);
            Mat::row_major(stage, o, cols)
        };
        if cnt == 1 && g.pointwise() {
            return matmul(GRAD_INPUT, dx_g, wt, rhs, false, par);
        }
        let col = &mut col[..k * cols];
        matmul(GRAD_INPUT, col, wt, rhs, false, par)?;
        for (j, dx_n) in dx_g.chunks_exact_mut(len).enumerate() {
            col2im(g, col, cols, j * p, dx_n);
        }
        Ok(())
    };
    for_each_group(&mut dx, len, plan, Scratch::lens(g, &plan, o), group)?;
    Ok(dx)
}

/// Kernel gradient: `dW = Σ_n g_n · im2col(x_n)ᵀ`, a group of samples per gemm, summed in up
/// to [`KERNEL_GRAD_CHUNKS`] partial sums.
fn grad_kernel(g: &Geom, x: &[f32], dy: &[f32]) -> candle_core::Result<Vec<f32>> {
    let (k, p, o, len) = (g.k(), g.p(), g.o, g.in_len());
    let mut dw = vec![0f32; o * k];
    if dw.is_empty() {
        return Ok(dw);
    }
    let plan = Plan::new(g);
    // `acc[O, K] = Σ` over samples `range` (overwritten; zero for an empty range).
    let partial = |range: std::ops::Range<usize>, acc: &mut [f32], par: Parallelism| {
        Scratch::with(Scratch::lens(g, &plan, o), |s| {
            let mut accumulate = false;
            acc.fill(0.0);
            let mut first = range.start;
            while first < range.end {
                let cnt = plan.size.min(range.end - first);
                let cols = cnt * p;
                let x_g = &x[first * len..(first + cnt) * len];
                let dy_g = &dy[first * o * p..(first + cnt) * o * p];
                let Scratch { col, stage } = &mut *s;
                let lhs = if cnt == 1 {
                    Mat::row_major(dy_g, o, p)
                } else {
                    let stage = &mut stage[..o * cols];
                    interleave(dy_g, stage, o, p);
                    Mat::row_major(stage, o, cols)
                };
                let rhs = if cnt == 1 && g.pointwise() {
                    Mat::row_major(x_g, k, p)
                } else {
                    let col = &mut col[..k * cols];
                    for (j, x_n) in x_g.chunks_exact(len).enumerate() {
                        im2col(g, x_n, col, cols, j * p);
                    }
                    Mat::row_major(col, k, cols)
                };
                matmul(GRAD_KERNEL, acc, lhs, rhs.t(), accumulate, par)?;
                accumulate = true;
                first += cnt;
            }
            Ok::<(), candle_core::Error>(())
        })
    };
    // A fixed number of partial sums, added in a fixed order: the result does not depend on
    // the number of threads.
    let groups = g.n.div_ceil(plan.size);
    let chunks = KERNEL_GRAD_CHUNKS.min(groups);
    if chunks <= 1 {
        partial(0..g.n, &mut dw, plan.gemm_parallelism())?;
        return Ok(dw);
    }
    let per = groups.div_ceil(chunks) * plan.size;
    let chunk = |c: usize| {
        let mut acc = vec![0f32; o * k];
        let range = (c * per).min(g.n)..((c + 1) * per).min(g.n);
        partial(range, &mut acc, plan.gemm_parallelism())?;
        Ok(acc)
    };
    let partials = if plan.parallel {
        (0..chunks)
            .into_par_iter()
            .map(chunk)
            .collect::<candle_core::Result<Vec<_>>>()?
    } else {
        (0..chunks)
            .map(chunk)
            .collect::<candle_core::Result<Vec<_>>>()?
    };
    for part in partials {
        for (d, v) in dw.iter_mut().zip(part) {
            *d += v;
        }
    }
    Ok(dw)
}

/// The CPU forward pass of [`Conv2d`] and [`Conv2dBias`] (`bias` `[O]` or none), checked and
/// named `op` in its errors.
fn cpu_forward(
    op: &str,
    stride: usize,
    pad: Pad2d,
    (s1, l1): (&CpuStorage, &Layout),
    (s2, l2): (&CpuStorage, &Layout),
    bias: Option<(&CpuStorage, &Layout)>,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let g = Geom::new(
        op,
        dims4(op, "input", l1)?,
        dims4(op, "kernel", l2)?,
        stride,
        pad,
    )?;
    let b = match bias {
        Some((_, l3)) if l3.dims() != [g.o] => {
            return Err(op_err(format!(
                "{op}: the bias must have shape [{}] for the kernel {:?}, got {:?}",
                g.o,
                l2.dims(),
                l3.dims()
            )))
        }
        Some((s3, l3)) => Some(cpu_f32(op, "bias", s3, l3)?),
        None => None,
    };
    let x = cpu_f32(op, "input", s1, l1)?;
    let w = cpu_f32(op, "kernel", s2, l2)?;
    Ok((CpuStorage::F32(forward(&g, x, w, b)?), g.out_shape()))
}

/// `(x[N, C, H, W], w[O, C, kh, kw]) → y[N, O, OH, OW]`.
pub(super) struct Conv2d {
    pub(super) stride: usize,
    pub(super) pad: Pad2d,
}

impl CustomOp2 for Conv2d {
    fn name(&self) -> &'static str {
        FWD
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        cpu_forward(FWD, self.stride, self.pad, (s1, l1), (s2, l2), None)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (_, _, h, wd) = x.dims4()?;
        let (_, _, kh, kw) = w.dims4()?;
        let dx = if x.track_op() {
            Some(grad.apply_op2(w, Conv2dGradInput::new(self.stride, self.pad, h, wd))?)
        } else {
            None
        };
        let dw = if w.track_op() {
            Some(x.apply_op2(&grad, Conv2dGradKernel::new(self.stride, self.pad, kh, kw))?)
        } else {
            None
        };
        Ok((dx, dw))
    }
}

/// `(x[N, C, H, W], w[O, C, kh, kw], b[O]) → y[N, O, OH, OW]`: [`Conv2d`] plus a per-channel
/// bias in the same pass; the gradients are [`Conv2d`]'s and the bias's
/// ([`super::bias::ChannelSum`]), the ops the unfused pair runs.
pub(super) struct Conv2dBias {
    pub(super) stride: usize,
    pub(super) pad: Pad2d,
}

const FWD_BIAS: &str = "nnviz-conv2d-bias";

impl CustomOp3 for Conv2dBias {
    fn name(&self) -> &'static str {
        FWD_BIAS
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        cpu_forward(
            FWD_BIAS,
            self.stride,
            self.pad,
            (s1, l1),
            (s2, l2),
            Some((s3, l3)),
        )
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let conv = Conv2d {
            stride: self.stride,
            pad: self.pad,
        };
        let (dx, dw) = conv.bwd(x, w, res, grad)?;
        let db = if b.track_op() {
            Some(grad.contiguous()?.apply_op1(super::bias::ChannelSum)?)
        } else {
            None
        };
        Ok((dx, dw, db))
    }
}

/// Checks that an output gradient has the shape the forward pass produced.
fn check_grad(op: &str, g: &Geom, dy: [usize; 4]) -> candle_core::Result<()> {
    if dy != [g.n, g.o, g.oh, g.ow] {
        return Err(op_err(format!(
            "{op}: the output gradient {dy:?} does not match the convolution output {:?}",
            [g.n, g.o, g.oh, g.ow]
        )));
    }
    Ok(())
}

/// `(g[N, O, OH, OW], w[O, C, kh, kw]) → ∂L/∂x[N, C, H, W]`. Not differentiable.
pub(super) struct Conv2dGradInput {
    stride: usize,
    pad: Pad2d,
    h: usize,
    w: usize,
}

impl Conv2dGradInput {
    pub(super) fn new(stride: usize, pad: Pad2d, h: usize, w: usize) -> Self {
        Conv2dGradInput { stride, pad, h, w }
    }
}

impl CustomOp2 for Conv2dGradInput {
    fn name(&self) -> &'static str {
        GRAD_INPUT
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let dy_dims = dims4(GRAD_INPUT, "output gradient", l1)?;
        let k = dims4(GRAD_INPUT, "kernel", l2)?;
        let x = [dy_dims[0], k[1], self.h, self.w];
        let g = Geom::new(GRAD_INPUT, x, k, self.stride, self.pad)?;
        check_grad(GRAD_INPUT, &g, dy_dims)?;
        let dy = cpu_f32(GRAD_INPUT, "output gradient", s1, l1)?;
        let w = cpu_f32(GRAD_INPUT, "kernel", s2, l2)?;
        Ok((CpuStorage::F32(grad_input(&g, dy, w)?), Shape::from(&x)))
    }
}

/// `(x[N, C, H, W], g[N, O, OH, OW]) → ∂L/∂W[O, C, kh, kw]`. Not differentiable.
pub(super) struct Conv2dGradKernel {
    stride: usize,
    pad: Pad2d,
    kh: usize,
    kw: usize,
}

impl Conv2dGradKernel {
    pub(super) fn new(stride: usize, pad: Pad2d, kh: usize, kw: usize) -> Self {
        Conv2dGradKernel {
            stride,
            pad,
            kh,
            kw,
        }
    }
}

impl CustomOp2 for Conv2dGradKernel {
    fn name(&self) -> &'static str {
        GRAD_KERNEL
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x_dims = dims4(GRAD_KERNEL, "input", l1)?;
        let dy_dims = dims4(GRAD_KERNEL, "output gradient", l2)?;
        let k = [dy_dims[1], x_dims[1], self.kh, self.kw];
        let g = Geom::new(GRAD_KERNEL, x_dims, k, self.stride, self.pad)?;
        check_grad(GRAD_KERNEL, &g, dy_dims)?;
        let x = cpu_f32(GRAD_KERNEL, "input", s1, l1)?;
        let dy = cpu_f32(GRAD_KERNEL, "output gradient", s2, l2)?;
        Ok((CpuStorage::F32(grad_kernel(&g, x, dy)?), Shape::from(&k)))
    }
}
