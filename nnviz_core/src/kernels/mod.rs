//! Fast CPU kernels for the layers where candle's CPU backend is slow: convolution (forward and
//! both gradients), max-pooling and average pooling, all on `f32` NCHW tensors; also ReLU, the
//! channel bias, the weights and sums of gradient class activation maps, the relevance rules'
//! elementwise steps (LRP's stabilised ratio, DeepLIFT's rescale multipliers) and training's
//! dropout product, each in one pass.
//! Loops that the compiler can vectorise are compiled for the CPU's vector instructions (AVX2,
//! AVX-512) through `pulp`'s run-time dispatch, as `gemm` does for the matrix products.
//!
//! [`crate::model::layer`] dispatches here when every tensor involved is an `f32` tensor on
//! [`Device::Cpu`] (see [`supports`]) and the kernel family is switched on (see [`switches`]);
//! otherwise (CUDA, other dtypes) it keeps candle's own operations.
//!
//! # Padding convention
//!
//! Every kernel takes an explicit [`Pad2d`] `(top, bottom, left, right)` and a stride `s ≥ 1`.
//! Output position `(oy, ox)` with window offset `(ki, kj)` reads input cell
//! `(oy·s + ki − top, ox·s + kj − left)`; cells outside `[0, H) × [0, W)` are padding. For
//! convolution padding reads as zero; max-pooling never lets a padded cell win; average pooling
//! divides by the number of valid (unpadded) cells of each window. TensorFlow's asymmetric `SAME`
//! padding (the odd cell at the bottom/right) is just a `Pad2d` with `bottom = top + 1`, so no
//! padded copy of the input is ever made. The output size is `(H + top + bottom − kh)/s + 1`
//! (rounded down), and likewise for the width.
//!
//! # Convolution as im2col + gemm
//!
//! For one sample, `im2col` unrolls the input `x[C, H, W]` into a matrix `col[K, P]` with
//! `K = C·kh·kw` rows (one per `(c, ki, kj)`) and `P = OH·OW` columns (one per output position):
//! `col[(c, ki, kj), (oy, ox)] = x[c, oy·s + ki − top, ox·s + kj − left]` (zero in the padding).
//! With the kernel `W[O, C, kh, kw]` viewed as a row-major matrix `W[O, K]`, the convolution is a
//! single matrix product per sample, computed by the `gemm` crate (the one candle uses):
//!
//! ```text
//! y_n[O, P] = W[O, K] · col_n[K, P]          (+ b[O] on every column: [`conv2d_bias`])
//! ```
//!
//! Samples are grouped side by side into one product when their feature maps are small, and a
//! layer's bias is added to each group's output while it is still in cache ([`conv2d_bias`]: the
//! same sums as a separate bias pass, without reading and writing the whole activation again).
//!
//! # Backward formulas
//!
//! For an upstream gradient `g = ∂L/∂y` (`g_n[O, P]` per sample):
//!
//! ```text
//! ∂L/∂col_n = Wᵀ[K, O] · g_n[O, P]          then ∂L/∂x_n = col2im(∂L/∂col_n)
//! ∂L/∂W     = Σ_n g_n[O, P] · col_nᵀ[P, K]
//! ```
//!
//! `col2im` is the adjoint of `im2col`: it adds every entry of a `[K, P]` matrix back into the
//! input cell it was read from (entries that came from padding are dropped). The kernel gradient
//! recomputes `im2col` of the input rather than keeping it from the forward pass.
//!
//! Both gradients are themselves computed by custom ops (`nnviz-conv2d-grad-input`,
//! `nnviz-conv2d-grad-kernel`, `nnviz-max-pool2d-grad`, `nnviz-avg-pool2d-grad`) whose own
//! backward is not implemented: **second-order gradients through these kernels are not
//! supported**. candle detaches gradients by default, so this only matters with
//! `CANDLE_GRAD_DO_NOT_DETACH`, where differentiating a gradient returns candle's
//! `BackwardNotSupported` error naming the op. A gradient is only computed for an argument that
//! takes part in the graph (`Tensor::track_op`), so training does not pay for the input gradient
//! of the first layer and attribution does not pay for kernel gradients of a frozen network.
//!
//! # Pooling
//!
//! Max-pooling records the flat index of each window's winner in the forward pass and, in the
//! backward pass, routes each output gradient to that single cell (PyTorch's convention: the first
//! maximum in row-major window order wins ties). A NaN beats every number (the first NaN wins).
//! Padded cells never win; a window without any valid cell (only possible with explicit padding
//! wider than the window) yields −∞ and passes no gradient. candle's own max-pool backward
//! instead builds a mask with `eq` against the upsampled output and multiplies the gradient by the
//! window's average of that mask, so a window with a single maximum passes only `1/(kh·kw)` of its
//! gradient (and tied cells each get more); it is also slower. Average pooling divides each window
//! by its count of valid cells and, backwards, spreads `g / count` over those cells. Both support
//! any kernel and stride (candle's pooling backward requires `kernel == stride`).
//!
//! # Threading
//!
//! Consecutive samples are grouped so that each gemm is about 512 im2col columns wide (several
//! 7×7 maps side by side, for example), with at least eight groups when the batch has that many
//! samples. With two or more groups and more than one rayon thread, the groups are spread over
//! rayon's pool and each gemm runs single-threaded; otherwise (a single image, say) the groups run
//! in turn and gemm uses all threads. The kernel gradient is a fixed number of partial sums added
//! in order. The grouping and the partial sums do not depend on the number of threads, so neither
//! do the results (bit for bit; checked in `tests/kernels.rs`). Pooling runs over the `N·C`
//! planes in parallel.
//!
//! Inputs that are not contiguous are copied with `Tensor::contiguous` by the public functions
//! here; the ops themselves return an error (never panic) on a strided layout.

mod bias;
mod cam;
mod conv;
mod matmul;
mod pool;
mod relu;
mod rules;

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, DType, Device, Layout, Tensor};

use crate::{bail, Result};

pub use cam::CamWeighting;

/// Explicit padding of the two spatial axes, in cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pad2d {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

impl Pad2d {
    /// The same padding on all four sides.
    pub fn uniform(p: usize) -> Pad2d {
        Pad2d {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }

    fn is_zero(&self) -> bool {
        self.top == 0 && self.bottom == 0 && self.left == 0 && self.right == 0
    }
}

/// Which kernel families [`crate::model::layer`] uses on the CPU. All are on by default.
///
/// With every switch off ([`Switches::OFF`]) a CPU run takes exactly the code path a GPU takes —
/// candle's own operations and candle's autograd — which is how `tests/device_paths.rs` checks
/// that path without a GPU.
///
/// This is process-wide state, meant for benchmarks and for cross-checking against candle's own
/// operations; switching it while another thread runs a model changes that model's path too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches {
    /// Convolution (forward and both gradients) and the channel bias; with it, input gradients
    /// are taken layer by layer through the relevance engine instead of candle's autograd.
    pub conv: bool,
    /// Max- and average pooling (forward and gradient).
    pub pool: bool,
    /// ReLU and its gradient gate `g ⊙ 1[a > 0]`.
    pub relu: bool,
    /// The channel weights and weighted sums of the gradient CAMs (per channel, and per location
    /// for HiResCAM and LayerCAM).
    pub cam: bool,
    /// The elementwise kernels: the relevance rules' steps (LRP's stabilised ratio, DeepLIFT's
    /// rescale multipliers), training's dropout product and occlusion's occluded copies.
    pub rules: bool,
}

impl Switches {
    /// Every kernel family on (the default).
    pub const ON: Switches = Switches {
        conv: true,
        pool: true,
        relu: true,
        cam: true,
        rules: true,
    };
    /// Every kernel family off: candle's operations only, as on a GPU.
    pub const OFF: Switches = Switches {
        conv: false,
        pool: false,
        relu: false,
        cam: false,
        rules: false,
    };
}

static CONV_ON: AtomicBool = AtomicBool::new(true);
static POOL_ON: AtomicBool = AtomicBool::new(true);
static RELU_ON: AtomicBool = AtomicBool::new(true);
static CAM_ON: AtomicBool = AtomicBool::new(true);
static RULES_ON: AtomicBool = AtomicBool::new(true);

/// The current [`Switches`].
pub fn switches() -> Switches {
    Switches {
        conv: CONV_ON.load(Ordering::Relaxed),
        pool: POOL_ON.load(Ordering::Relaxed),
        relu: RELU_ON.load(Ordering::Relaxed),
        cam: CAM_ON.load(Ordering::Relaxed),
        rules: RULES_ON.load(Ordering::Relaxed),
    }
}

/// Sets the [`Switches`] and returns the previous ones.
pub fn set_switches(s: Switches) -> Switches {
    let old = switches();
    CONV_ON.store(s.conv, Ordering::Relaxed);
    POOL_ON.store(s.pool, Ordering::Relaxed);
    RELU_ON.store(s.relu, Ordering::Relaxed);
    CAM_ON.store(s.cam, Ordering::Relaxed);
    RULES_ON.store(s.rules, Ordering::Relaxed);
    old
}

/// Whether the kernels here can run on these tensors: all `f32`, all on the CPU.
pub fn supports(tensors: &[&Tensor]) -> bool {
    tensors
        .iter()
        .all(|t| t.dtype() == DType::F32 && matches!(t.device(), Device::Cpu))
}

/// `a` and `b` flattened on the host when the elementwise kernels may run on them (both `f32` on
/// the CPU, the `rules` switch on), for the methods that write their perturbed inputs directly
/// (occlusion, the Shapley family, LIME); `None`: use candle's operations (a GPU's path).
pub(crate) fn host_pair(a: &Tensor, b: &Tensor) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
    if !(supports(&[a, b]) && switches().rules) {
        return Ok(None);
    }
    Ok(Some((
        a.flatten_all()?.to_vec1::<f32>()?,
        b.flatten_all()?.to_vec1::<f32>()?,
    )))
}

/// Whether the kernels can run `net` on the batch `x`: `x` and every parameter `f32` on the CPU.
pub(crate) fn supports_network(net: &crate::Network, x: &Tensor) -> bool {
    supports(&[x]) && net.parameters().iter().all(|(_, t)| supports(&[t]))
}

fn check_supported(op: &str, tensors: &[(&str, &Tensor)]) -> Result<()> {
    for (what, t) in tensors {
        if !supports(&[t]) {
            bail!(
                "{op}: the fast kernel needs f32 tensors on the CPU, but the {what} {:?} is {:?} on {:?}",
                t.dims(),
                t.dtype(),
                t.device().location()
            );
        }
    }
    Ok(())
}

/// 2-D cross-correlation of `x[N, C, H, W]` with `w[O, C, kh, kw]` (no bias), stride `stride`,
/// explicit padding `pad`: `[N, O, OH, OW]`. Differentiable in both arguments (first order).
pub fn conv2d(x: &Tensor, w: &Tensor, stride: usize, pad: Pad2d) -> Result<Tensor> {
    check_supported("conv2d", &[("input", x), ("kernel", w)])?;
    let (x, w) = (x.contiguous()?, w.contiguous()?);
    Ok(x.apply_op2(&w, conv::Conv2d { stride, pad })?)
}

/// [`conv2d`] plus a per-channel bias `b[O]`, added to each group of samples while its output
/// is in cache: the same numbers as `add_channel_bias(&conv2d(x, w, ..)?, b)`, bit for bit, in
/// one pass. Differentiable in all three arguments (first order).
pub fn conv2d_bias(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    stride: usize,
    pad: Pad2d,
) -> Result<Tensor> {
    check_supported("conv2d_bias", &[("input", x), ("kernel", w), ("bias", b)])?;
    let (x, w, b) = (x.contiguous()?, w.contiguous()?, b.contiguous()?);
    Ok(x.apply_op3(&w, &b, conv::Conv2dBias { stride, pad })?)
}

/// The input gradient of [`conv2d`] for the output gradient `g[N, O, OH, OW]` and kernel
/// `w[O, C, kh, kw]` on an input of `h × w_in` cells: `col2im(Wᵀ · g_n)` per sample, which is
/// also the transposed convolution of `g` with `w` (LRP's `Wᵀ s` step). Not differentiable.
pub fn conv2d_grad_input(
    g: &Tensor,
    w: &Tensor,
    stride: usize,
    pad: Pad2d,
    (h, w_in): (usize, usize),
) -> Result<Tensor> {
    check_supported(
        "conv2d_grad_input",
        &[("output gradient", g), ("kernel", w)],
    )?;
    let (g, w) = (g.contiguous()?, w.contiguous()?);
    Ok(g.apply_op2(&w, conv::Conv2dGradInput::new(stride, pad, h, w_in))?)
}

/// The kernel gradient of [`conv2d`] for the input `x[N, C, H, W]` and the output gradient
/// `g[N, O, OH, OW]`, for a `kh × kw` kernel: `Σ_n g_n · im2col(x_n)ᵀ`. Not differentiable.
pub fn conv2d_grad_kernel(
    x: &Tensor,
    g: &Tensor,
    stride: usize,
    pad: Pad2d,
    (kh, kw): (usize, usize),
) -> Result<Tensor> {
    check_supported(
        "conv2d_grad_kernel",
        &[("input", x), ("output gradient", g)],
    )?;
    let (x, g) = (x.contiguous()?, g.contiguous()?);
    Ok(x.apply_op2(&g, conv::Conv2dGradKernel::new(stride, pad, kh, kw))?)
}

/// `y[N, C, H, W] + b[C]`, each channel's bias added to its whole plane. Differentiable in both
/// arguments (first order); the bias gradient is the per-channel sum of the output gradient.
pub fn add_channel_bias(y: &Tensor, b: &Tensor) -> Result<Tensor> {
    check_supported("add_channel_bias", &[("input", y), ("bias", b)])?;
    let (y, b) = (y.contiguous()?, b.contiguous()?);
    Ok(y.apply_op2(&b, bias::ChannelBias)?)
}

/// `g[N, C, H, W] → [C]`: each channel's sum over the batch and the plane — the bias gradient
/// of [`add_channel_bias`], the very op its backward pass runs. Not differentiable.
pub fn channel_sum(g: &Tensor) -> Result<Tensor> {
    check_supported("channel_sum", &[("gradient", g)])?;
    Ok(g.contiguous()?.apply_op1(bias::ChannelSum)?)
}

/// `max(x, 0)` elementwise (NaN → 0), any shape. Its gradient is `g · [x > 0]`: nothing passes
/// where `x` is exactly 0 (PyTorch's and TensorFlow's convention; candle's own `relu` passes it).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    check_supported("relu", &[("input", x)])?;
    Ok(x.contiguous()?.apply_op1(relu::Relu)?)
}

/// `g · [x > 0]` elementwise for `g` and `x` of one shape: the gradient of [`relu`] at `x`, in one
/// pass. Not differentiable.
pub fn relu_grad(g: &Tensor, x: &Tensor) -> Result<Tensor> {
    check_supported("relu_grad", &[("gradient", g), ("input", x)])?;
    Ok(g.contiguous()?
        .apply_op2(&x.contiguous()?, relu::ReluGrad)?)
}

/// LRP's stabilised ratio `r ⊘ (z + ε·sign(z))` (sign(0) = +1, as candle's `ge(0)`: NaN → −1)
/// for `r` and `z` of one shape, in one pass. Not differentiable.
pub fn lrp_ratio(r: &Tensor, z: &Tensor, eps: f32) -> Result<Tensor> {
    rules::map(
        "lrp_ratio",
        ["relevance", "pre-activation"],
        [r, z],
        &rules::LrpRatio { eps },
    )
}

/// The elementwise product `a ⊙ b` of two tensors of one shape in one parallel pass (candle's
/// CPU `mul` runs it through a thread pool of its own that spins at a barrier). Training uses it
/// for dropout's mask. Not differentiable.
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    rules::map("mul", ["left factor", "right factor"], [a, b], &rules::Mul)
}

/// DeepLIFT's Rescale rule at a ReLU, `r ⊙ m` with `m = Δy ⊘ Δa` where `|Δa| ≥ tol` and
/// `m = 1[a > 0]` elsewhere (`Δa = a − a₀`, `Δy = y − y₀`; the ReLU's input and output at the
/// input and at the reference), in one pass. Not differentiable.
pub fn rescale_relu(
    r: &Tensor,
    a: &Tensor,
    a0: &Tensor,
    y: &Tensor,
    y0: &Tensor,
    tol: f32,
) -> Result<Tensor> {
    rules::map(
        "rescale_relu",
        [
            "multiplier",
            "input",
            "reference input",
            "output",
            "reference output",
        ],
        [r, a, a0, y, y0],
        &rules::RescaleRelu { tol },
    )
}

/// `routed ⊘ Δa` where `|Δa| ≥ tol`, `grad` elsewhere (`Δa = a − a₀`): DeepLIFT's multiplier at
/// a max-pooling layer's input, in one pass. Not differentiable.
pub fn rescale_select(
    routed: &Tensor,
    grad: &Tensor,
    a: &Tensor,
    a0: &Tensor,
    tol: f32,
) -> Result<Tensor> {
    rules::map(
        "rescale_select",
        ["routed multiplier", "gradient", "input", "reference input"],
        [routed, grad, a, a0],
        &rules::RescaleSelect { tol },
    )
}

/// The channel weights `w[N, K]` of a gradient class activation map from the activations
/// `a[N, K, h, w]` of a layer and the gradients `g` of the score with respect to them, in one
/// pass per channel (see [`CamWeighting`]). Not differentiable.
pub fn cam_weights(a: &Tensor, g: &Tensor, weighting: CamWeighting) -> Result<Tensor> {
    check_supported("cam_weights", &[("activations", a), ("gradients", g)])?;
    Ok(a.contiguous()?
        .apply_op2(&g.contiguous()?, cam::CamWeights(weighting))?)
}

/// `m[N, 1, h, w] = Σ_k w[n, k] · a[n, k]`, the weighted sum of the feature maps of a class
/// activation map, in one pass. Not differentiable.
pub fn weighted_channel_sum(a: &Tensor, w: &Tensor) -> Result<Tensor> {
    check_supported(
        "weighted_channel_sum",
        &[("activations", a), ("weights", w)],
    )?;
    Ok(a.contiguous()?
        .apply_op2(&w.contiguous()?, cam::WeightedChannelSum)?)
}

/// `m[N, 1, h, w] = Σ_k w[n, k] ⊙ a[n, k]` for location weights `w` shaped like the feature maps
/// `a[N, K, h, w]` (HiResCAM, LayerCAM), in one pass. Not differentiable.
pub fn location_weighted_sum(a: &Tensor, w: &Tensor) -> Result<Tensor> {
    check_supported(
        "location_weighted_sum",
        &[("activations", a), ("weights", w)],
    )?;
    Ok(a.contiguous()?
        .apply_op2(&w.contiguous()?, cam::LocationWeightedSum)?)
}

/// Max-pooling of `x[N, C, H, W]` with a `kernel[0] × kernel[1]` window, padded cells never win.
/// The gradient goes to the first maximum of each window.
pub fn max_pool2d(x: &Tensor, kernel: [usize; 2], stride: usize, pad: Pad2d) -> Result<Tensor> {
    check_supported("max_pool2d", &[("input", x)])?;
    Ok(x.contiguous()?
        .apply_op1(pool::MaxPool2d::new(kernel, stride, pad))?)
}

/// The input gradient of [`max_pool2d`] at input `x[N, C, H, W]` for the output gradient
/// `g[N, C, OH, OW]`: each gradient to its window's first maximum, the winners found again from
/// `x`. One pass without an autograd graph (the relevance engine's gradient at a max-pool).
/// Not differentiable.
pub fn max_pool2d_grad_input(
    x: &Tensor,
    g: &Tensor,
    kernel: [usize; 2],
    stride: usize,
    pad: Pad2d,
) -> Result<Tensor> {
    check_supported(
        "max_pool2d_grad_input",
        &[("input", x), ("output gradient", g)],
    )?;
    let (x, g) = (x.contiguous()?, g.contiguous()?);
    Ok(x.apply_op2(
        &g,
        pool::MaxPool2dGradFromInput {
            kernel,
            stride,
            pad,
        },
    )?)
}

/// The input gradient of [`avg_pool2d`] on an `h × w` input for the output gradient
/// `g[N, C, OH, OW]`: `g / count` to every valid cell of each window. Not differentiable.
pub fn avg_pool2d_grad_input(
    g: &Tensor,
    kernel: [usize; 2],
    stride: usize,
    pad: Pad2d,
    (h, w): (usize, usize),
) -> Result<Tensor> {
    check_supported("avg_pool2d_grad_input", &[("output gradient", g)])?;
    Ok(g.contiguous()?.apply_op1(pool::AvgPool2dGrad {
        kernel,
        stride,
        pad,
        h,
        w,
    })?)
}

/// Average pooling of `x[N, C, H, W]` over the valid (unpadded) cells of each window.
pub fn avg_pool2d(x: &Tensor, kernel: [usize; 2], stride: usize, pad: Pad2d) -> Result<Tensor> {
    check_supported("avg_pool2d", &[("input", x)])?;
    Ok(x.contiguous()?.apply_op1(pool::AvgPool2d {
        kernel,
        stride,
        pad,
    })?)
}

/// A candle error with a message (errors inside custom ops must be candle's).
fn op_err(msg: String) -> candle_core::Error {
    candle_core::Error::Msg(msg)
}

/// The `f32` data of a contiguous CPU tensor, or an error naming the op and the operand.
fn cpu_f32<'a>(
    op: &str,
    what: &str,
    s: &'a CpuStorage,
    l: &Layout,
) -> candle_core::Result<&'a [f32]> {
    let data = match s {
        CpuStorage::F32(v) => v.as_slice(),
        other => {
            return Err(op_err(format!(
                "{op}: the {what} {:?} must be f32, got {:?}",
                l.dims(),
                other.dtype()
            )))
        }
    };
    let (start, end) = l.contiguous_offsets().ok_or_else(|| {
        op_err(format!(
            "{op}: the {what} {:?} is not contiguous (strides {:?}); call .contiguous() first",
            l.dims(),
            l.stride()
        ))
    })?;
    data.get(start..end).ok_or_else(|| {
        op_err(format!(
            "{op}: the {what} {:?} spans {start}..{end} of a storage of {} elements",
            l.dims(),
            data.len()
        ))
    })
}

/// The four dimensions of an NCHW operand, or an error naming the op.
fn dims4(op: &str, what: &str, l: &Layout) -> candle_core::Result<[usize; 4]> {
    match *l.dims() {
        [a, b, c, d] => Ok([a, b, c, d]),
        ref d => Err(op_err(format!("{op}: the {what} must be 4-D, got {d:?}"))),
    }
}

/// Output size along one axis, or `None` when the window does not fit.
fn out_size(n: usize, k: usize, s: usize, before: usize, after: usize) -> Option<usize> {
    let padded = n + before + after;
    (s > 0 && k > 0 && padded >= k).then(|| (padded - k) / s + 1)
}

/// The output positions `o ∈ [lo, hi)` (of `n_out`) whose input index `o·s + off − before` lies
/// in `[0, n)`.
fn valid_range(n: usize, n_out: usize, s: usize, before: usize, off: usize) -> (usize, usize) {
    let lo = if before > off {
        (before - off).div_ceil(s)
    } else {
        0
    }
    .min(n_out);
    let hi = if n > 0 && n + before > off {
        ((n - 1 + before - off) / s + 1).min(n_out)
    } else {
        0
    };
    (lo.min(hi), hi)
}

/// rayon's thread count.
fn threads() -> usize {
    rayon::current_num_threads().max(1)
}
