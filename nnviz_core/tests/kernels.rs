//! The fast CPU kernels (`nnviz_core::kernels`) against direct-loop twins written here: forward,
//! input gradient and kernel gradient of convolution, max-pool gradient routing, SAME average
//! pooling. Gradients are checked as the gradients of `sum(y ⊙ g)` for a random `g`.
//!
//! Run in release: `cargo test --release -p nnviz_core --test kernels`. The `#[ignore]`d
//! `bench_d0` times D0 with the kernels on and off (`-- --ignored --nocapture`).

use std::time::Instant;

use nnviz_core::candle::{DType, Device, Tensor, Var};
use nnviz_core::kernels::{self, Pad2d, Switches};
use nnviz_core::model::layer;
use nnviz_core::model::Padding;
use nnviz_core::Rng;

fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.normal()).collect()
}

fn tensor(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
}

fn flat(x: &Tensor) -> Vec<f32> {
    x.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// `max |got − want| ≤ 1e-5 · max |want|` over the finite reference values (relative to the
/// largest reference magnitude); non-finite reference values (−∞ for a max-pool window without
/// any valid cell) must match exactly.
fn assert_rel(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
        if !b.is_finite() {
            assert!(a as f64 == b, "{what}: element {i}: {a} vs {b}");
        }
    }
    let finite = || got.iter().zip(want).filter(|(_, b)| b.is_finite());
    let scale = finite().fold(0f64, |m, (_, b)| m.max(b.abs())).max(1e-30);
    let (i, err) = finite()
        .map(|(&a, &b)| (a as f64 - b).abs())
        .map(|e| if e.is_nan() { f64::INFINITY } else { e })
        .enumerate()
        .fold((0, 0f64), |m, (i, e)| if e > m.1 { (i, e) } else { m });
    assert!(
        err <= 1e-5 * scale,
        "{what}: finite element {i}: error {err:e}, scale {scale:e}"
    );
}

/// TensorFlow SAME padding `(before, after)` along an axis.
fn same(n: usize, k: usize, s: usize) -> (usize, usize) {
    let out = n.div_ceil(s);
    let total = ((out - 1) * s + k).saturating_sub(n);
    (total / 2, total - total / 2)
}

fn same_pad(h: usize, w: usize, kh: usize, kw: usize, s: usize) -> Pad2d {
    let ((top, bottom), (left, right)) = (same(h, kh, s), same(w, kw, s));
    Pad2d {
        top,
        bottom,
        left,
        right,
    }
}

/// One convolution problem.
#[derive(Debug, Clone, Copy)]
struct Conv {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    s: usize,
    pad: Pad2d,
}

impl Conv {
    fn out(&self) -> (usize, usize) {
        (
            (self.h + self.pad.top + self.pad.bottom - self.kh) / self.s + 1,
            (self.w + self.pad.left + self.pad.right - self.kw) / self.s + 1,
        )
    }

    /// Calls `f(n, o, oy, ox, c, ki, kj, x index, w index)` for every product that reads a
    /// valid (unpadded) input cell.
    fn each(&self, mut f: impl FnMut(usize, usize, usize, usize, usize, usize)) {
        let (oh, ow) = self.out();
        for n in 0..self.n {
            for o in 0..self.o {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let yi = ((n * self.o + o) * oh + oy) * ow + ox;
                        for c in 0..self.c {
                            for ki in 0..self.kh {
                                for kj in 0..self.kw {
                                    let iy = (oy * self.s + ki) as isize - self.pad.top as isize;
                                    let ix = (ox * self.s + kj) as isize - self.pad.left as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy >= self.h as isize
                                        || ix >= self.w as isize
                                    {
                                        continue;
                                    }
                                    let xi = ((n * self.c + c) * self.h + iy as usize) * self.w
                                        + ix as usize;
                                    let wi = ((o * self.c + c) * self.kh + ki) * self.kw + kj;
                                    f(yi, xi, wi, n, o, c);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Direct-loop forward, input gradient and kernel gradient of `sum(y ⊙ g)`, in f64.
    fn reference(&self, x: &[f32], w: &[f32], g: &[f32]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (oh, ow) = self.out();
        let mut y = vec![0f64; self.n * self.o * oh * ow];
        let mut dx = vec![0f64; x.len()];
        let mut dw = vec![0f64; w.len()];
        self.each(|yi, xi, wi, _, _, _| {
            y[yi] += x[xi] as f64 * w[wi] as f64;
            dx[xi] += g[yi] as f64 * w[wi] as f64;
            dw[wi] += g[yi] as f64 * x[xi] as f64;
        });
        (y, dx, dw)
    }
}

fn conv_cases() -> Vec<(&'static str, Conv)> {
    let sp = same_pad;
    let c = |n, c, h, w, o, kh, kw, s, pad| Conv {
        n,
        c,
        h,
        w,
        o,
        kh,
        kw,
        s,
        pad,
    };
    let explicit = |top, bottom, left, right| Pad2d {
        top,
        bottom,
        left,
        right,
    };
    vec![
        (
            "4x4 stride 2 SAME on 7x7",
            c(3, 2, 7, 7, 3, 4, 4, 2, sp(7, 7, 4, 4, 2)),
        ),
        (
            "2x2 stride 2 SAME on 7x7",
            c(1, 3, 7, 7, 2, 2, 2, 2, sp(7, 7, 2, 2, 2)),
        ),
        (
            "3x3 stride 2 SAME on 6x5",
            c(3, 2, 6, 5, 4, 3, 3, 2, sp(6, 5, 3, 3, 2)),
        ),
        (
            "3x3 stride 1 SAME on 28x28",
            c(3, 1, 28, 28, 4, 3, 3, 1, sp(28, 28, 3, 3, 1)),
        ),
        (
            "3x3 SAME, 32→64 on 14x14",
            c(3, 32, 14, 14, 64, 3, 3, 1, sp(14, 14, 3, 3, 1)),
        ),
        (
            "3x3 SAME, batch 1, 16→8",
            c(1, 16, 9, 9, 8, 3, 3, 1, sp(9, 9, 3, 3, 1)),
        ),
        ("1x1 pointwise", c(3, 5, 4, 6, 3, 1, 1, 1, Pad2d::default())),
        (
            "1x1 stride 2 SAME",
            c(3, 4, 5, 5, 2, 1, 1, 2, sp(5, 5, 1, 1, 2)),
        ),
        (
            "3x5 SAME on 9x11",
            c(1, 3, 9, 11, 5, 3, 5, 1, sp(9, 11, 3, 5, 1)),
        ),
        (
            "3x2 VALID on 9x8",
            c(3, 2, 9, 8, 4, 3, 2, 1, Pad2d::default()),
        ),
        (
            "3x3 explicit (2,0,0,1)",
            c(3, 2, 5, 6, 3, 3, 3, 1, explicit(2, 0, 0, 1)),
        ),
        (
            "3x3 stride 3 pad 1",
            c(2, 3, 10, 9, 2, 3, 3, 3, Pad2d::uniform(1)),
        ),
        (
            "windows inside the padding",
            c(1, 1, 3, 3, 2, 2, 2, 1, explicit(3, 0, 0, 3)),
        ),
        (
            "5x5 stride 2 wider than tall",
            c(3, 2, 4, 13, 3, 5, 5, 2, sp(4, 13, 5, 5, 2)),
        ),
    ]
}

#[test]
fn conv2d_matches_direct_loops_forward_and_both_gradients_on_both_paths() {
    let mut rng = Rng::new(7);
    for (name, p) in conv_cases() {
        let (oh, ow) = p.out();
        let xv = random(&mut rng, p.n * p.c * p.h * p.w);
        let wv = random(&mut rng, p.o * p.c * p.kh * p.kw);
        let gv = random(&mut rng, p.n * p.o * oh * ow);
        let x = Var::from_tensor(&tensor(&xv, &[p.n, p.c, p.h, p.w])).unwrap();
        let w = Var::from_tensor(&tensor(&wv, &[p.o, p.c, p.kh, p.kw])).unwrap();
        let g = tensor(&gv, &[p.n, p.o, oh, ow]);
        let y = kernels::conv2d(x.as_tensor(), w.as_tensor(), p.s, p.pad).unwrap();
        assert_eq!(y.dims(), &[p.n, p.o, oh, ow], "{name}: output shape");
        let grads = (&y * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let (ry, rdx, rdw) = p.reference(&xv, &wv, &gv);
        assert_rel(&format!("{name}: forward"), &flat(&y), &ry);
        let dx = grads.get(x.as_tensor()).expect("input gradient");
        let dw = grads.get(w.as_tensor()).expect("kernel gradient");
        assert_eq!(dx.dims(), x.dims(), "{name}: input gradient shape");
        assert_eq!(dw.dims(), w.dims(), "{name}: kernel gradient shape");
        assert_rel(&format!("{name}: input gradient"), &flat(dx), &rdx);
        assert_rel(&format!("{name}: kernel gradient"), &flat(dw), &rdw);
        // The same gradients through the public functions.
        let dx = kernels::conv2d_grad_input(&g, w.as_tensor(), p.s, p.pad, (p.h, p.w)).unwrap();
        let dw = kernels::conv2d_grad_kernel(x.as_tensor(), &g, p.s, p.pad, (p.kh, p.kw)).unwrap();
        assert_rel(&format!("{name}: conv2d_grad_input"), &flat(&dx), &rdx);
        assert_rel(&format!("{name}: conv2d_grad_kernel"), &flat(&dw), &rdw);
        // candle's own ops, what a GPU runs: the same numbers, including strides that leave
        // trailing cells unread after padding (where candle's conv backward alone returns an
        // input gradient of the wrong size: "3x3 stride 3 pad 1").
        let y = layer::portable::conv2d(x.as_tensor(), w.as_tensor(), None, p.s, explicit(p.pad))
            .unwrap();
        assert_eq!(
            y.dims(),
            &[p.n, p.o, oh, ow],
            "{name}: portable output shape"
        );
        assert_rel(&format!("{name}: portable forward"), &flat(&y), &ry);
        let pg = grads_of(&y, &g, &[&x, &w]);
        assert_eq!(
            pg[0].dims(),
            x.dims(),
            "{name}: portable input gradient shape"
        );
        assert_eq!(
            pg[1].dims(),
            w.dims(),
            "{name}: portable kernel gradient shape"
        );
        assert_rel(
            &format!("{name}: portable input gradient"),
            &flat(&pg[0]),
            &rdx,
        );
        assert_rel(
            &format!("{name}: portable kernel gradient"),
            &flat(&pg[1]),
            &rdw,
        );
    }
}

fn explicit(pad: Pad2d) -> Padding {
    Padding::Explicit {
        top: pad.top,
        bottom: pad.bottom,
        left: pad.left,
        right: pad.right,
    }
}

/// Gradients of `sum(y ⊙ g)` for the given variables.
fn grads_of(y: &Tensor, g: &Tensor, vars: &[&Var]) -> Vec<Tensor> {
    let grads = (y * g).unwrap().sum_all().unwrap().backward().unwrap();
    vars.iter()
        .map(|v| grads.get(v.as_tensor()).expect("a gradient").clone())
        .collect()
}

#[test]
fn layer_conv2d_dispatches_to_the_kernel_with_same_padding() {
    // Through `layer::conv2d` (Padding::Same resolved there, bias added by candle).
    let mut rng = Rng::new(8);
    for (n, c, h, w, o, k, s) in [
        (3, 2, 7, 7, 3, 4, 2),
        (2, 3, 6, 5, 4, 3, 2),
        (1, 1, 5, 5, 2, 3, 1),
    ] {
        let p = Conv {
            n,
            c,
            h,
            w,
            o,
            kh: k,
            kw: k,
            s,
            pad: same_pad(h, w, k, k, s),
        };
        let (oh, ow) = p.out();
        let (xv, wv) = (
            random(&mut rng, n * c * h * w),
            random(&mut rng, o * c * k * k),
        );
        let (bv, gv) = (random(&mut rng, o), random(&mut rng, n * o * oh * ow));
        let x = Var::from_tensor(&tensor(&xv, &[n, c, h, w])).unwrap();
        let wt = Var::from_tensor(&tensor(&wv, &[o, c, k, k])).unwrap();
        let b = tensor(&bv, &[o]);
        let y = layer::conv2d(x.as_tensor(), wt.as_tensor(), Some(&b), s, Padding::Same).unwrap();
        let grads = (&y * tensor(&gv, &[n, o, oh, ow]))
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let (mut ry, rdx, rdw) = p.reference(&xv, &wv, &gv);
        for (i, v) in ry.iter_mut().enumerate() {
            *v += bv[(i / (oh * ow)) % o] as f64;
        }
        assert_rel("layer forward", &flat(&y), &ry);
        assert_rel(
            "layer input gradient",
            &flat(grads.get(x.as_tensor()).unwrap()),
            &rdx,
        );
        assert_rel(
            "layer kernel gradient",
            &flat(grads.get(wt.as_tensor()).unwrap()),
            &rdw,
        );
    }
}

#[test]
fn only_tracked_arguments_get_gradients() {
    // A constant input (training) gets no gradient; a constant kernel (attribution) neither.
    let mut rng = Rng::new(9);
    let x = tensor(&random(&mut rng, 2 * 2 * 5 * 5), &[2, 2, 5, 5]);
    let w = Var::from_tensor(&tensor(&random(&mut rng, 3 * 2 * 9), &[3, 2, 3, 3])).unwrap();
    let y = kernels::conv2d(&x, w.as_tensor(), 1, Pad2d::uniform(1)).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    assert!(grads.get(&x).is_none());
    assert!(grads.get(w.as_tensor()).is_some());

    let xv = Var::from_tensor(&x).unwrap();
    let wc = w.as_tensor().detach();
    let y = kernels::conv2d(xv.as_tensor(), &wc, 1, Pad2d::uniform(1)).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    assert!(grads.get(xv.as_tensor()).is_some());
    assert!(grads.get(&wc).is_none());
}

#[test]
fn channel_bias_matches_direct_loops_forward_and_both_gradients() {
    // y + b[c] and, for L = sum(out ⊙ g): ∂L/∂y = g, ∂L/∂b[c] = Σ_{n,i,j} g[n,c,i,j]; odd sizes,
    // one-cell planes, and a bias that is not tracked (attribution) gets no gradient.
    for &[n, c, h, w] in &[[3usize, 4, 5, 7], [1, 1, 1, 1], [2, 5, 1, 3]] {
        let mut rng = Rng::new((n * 100 + c * 10 + h) as u64);
        let len = n * c * h * w;
        let (yv, bv, gv) = (
            random(&mut rng, len),
            random(&mut rng, c),
            random(&mut rng, len),
        );
        let y = Var::from_tensor(&tensor(&yv, &[n, c, h, w])).unwrap();
        let b = Var::from_tensor(&tensor(&bv, &[c])).unwrap();
        let g = tensor(&gv, &[n, c, h, w]);
        let out = kernels::add_channel_bias(y.as_tensor(), b.as_tensor()).unwrap();
        let plane = h * w;
        let want: Vec<f64> = (0..len)
            .map(|i| yv[i] as f64 + bv[(i / plane) % c] as f64)
            .collect();
        assert_rel("bias forward", &flat(&out), &want);
        let grads = (out * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let dy = grads.get(y.as_tensor()).unwrap();
        assert_rel(
            "bias input gradient",
            &flat(dy),
            &gv.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        );
        let mut db = vec![0f64; c];
        for (i, &v) in gv.iter().enumerate() {
            db[(i / plane) % c] += v as f64;
        }
        assert_rel(
            "bias gradient",
            &flat(grads.get(b.as_tensor()).unwrap()),
            &db,
        );

        let frozen = b.as_tensor().detach();
        let out = kernels::add_channel_bias(y.as_tensor(), &frozen).unwrap();
        let grads = out.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&frozen).is_none());
    }
    let y = tensor(&[0.0; 12], &[1, 3, 2, 2]);
    let err = kernels::add_channel_bias(&y, &tensor(&[0.0; 2], &[2])).unwrap_err();
    assert!(
        err.to_string().contains("bias must have shape [3]"),
        "{err}"
    );
}

#[test]
fn fused_conv_bias_equals_conv_then_bias_bit_for_bit_with_the_same_gradients() {
    // One sample per gemm (large planes), several samples side by side (small planes),
    // 1×1 pointwise, stride 2 with padding, an empty batch: the fused op must give exactly the
    // numbers of the unfused pair, forwards and for every gradient of sum(y ⊙ g).
    let cases: [([usize; 4], [usize; 4], usize, Pad2d); 5] = [
        ([3, 2, 30, 30], [4, 2, 3, 3], 1, Pad2d::uniform(1)),
        ([20, 3, 6, 5], [5, 3, 3, 3], 1, Pad2d::uniform(1)),
        ([9, 4, 4, 4], [3, 4, 1, 1], 1, Pad2d::uniform(0)),
        ([7, 2, 9, 8], [3, 2, 3, 2], 2, same_pad(9, 8, 3, 2, 2)),
        ([0, 2, 5, 5], [3, 2, 3, 3], 1, Pad2d::uniform(1)),
    ];
    for (i, (xs, ks, stride, pad)) in cases.into_iter().enumerate() {
        let mut rng = Rng::new(90 + i as u64);
        let n: usize = xs.iter().product();
        let x = Var::from_tensor(&tensor(&random(&mut rng, n), &xs)).unwrap();
        let w = Var::from_tensor(&tensor(&random(&mut rng, ks.iter().product()), &ks)).unwrap();
        let b = Var::from_tensor(&tensor(&random(&mut rng, ks[0]), &[ks[0]])).unwrap();
        let (x, w, b) = (x.as_tensor(), w.as_tensor(), b.as_tensor());
        let fused = kernels::conv2d_bias(x, w, b, stride, pad).unwrap();
        let pair =
            kernels::add_channel_bias(&kernels::conv2d(x, w, stride, pad).unwrap(), b).unwrap();
        assert_eq!(fused.dims(), pair.dims(), "case {i}");
        let (yf, yp) = (flat(&fused), flat(&pair));
        assert!(
            yf.iter().zip(&yp).all(|(a, b)| a.to_bits() == b.to_bits()),
            "case {i}: forward"
        );
        let g = tensor(&random(&mut rng, yf.len()), fused.dims());
        let gf = (fused * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let gp = (pair * &g).unwrap().sum_all().unwrap().backward().unwrap();
        for (what, t) in [("input", x), ("kernel", w), ("bias", b)] {
            let (a, c) = (flat(gf.get(t).unwrap()), flat(gp.get(t).unwrap()));
            assert!(
                a.iter().zip(&c).all(|(a, c)| a.to_bits() == c.to_bits()),
                "case {i}: {what} gradient"
            );
        }
    }
    // The layer uses it: a conv layer with a bias gives the fused numbers.
    let x = tensor(&random(&mut Rng::new(5), 2 * 3 * 8 * 8), &[2, 3, 8, 8]);
    let w = tensor(&random(&mut Rng::new(6), 4 * 3 * 3 * 3), &[4, 3, 3, 3]);
    let b = tensor(&[0.5, -1.0, 2.0, 0.0], &[4]);
    let via_layer = layer::conv2d(&x, &w, Some(&b), 1, Padding::Same).unwrap();
    let fused = kernels::conv2d_bias(&x, &w, &b, 1, Pad2d::uniform(1)).unwrap();
    assert_eq!(flat(&via_layer), flat(&fused));
    let err = kernels::conv2d_bias(&x, &w, &tensor(&[0.0; 3], &[3]), 1, Pad2d::uniform(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bias must have shape [4]"), "{err}");
}

#[test]
fn relu_kernels_write_every_element_across_parallel_chunks() {
    // The kernels write their outputs chunk by chunk (16 384 elements) into fresh memory: on
    // 3 chunks and a bit, with exact zeros, every element must be the elementwise answer.
    let n = 3 * (1 << 14) + 5;
    let mut rng = Rng::new(21);
    let xv: Vec<f32> = (0..n)
        .map(|i| if i % 7 == 0 { 0.0 } else { rng.normal() })
        .collect();
    let gv = random(&mut rng, n);
    let (x, g) = (tensor(&xv, &[n]), tensor(&gv, &[n]));
    let y = flat(&kernels::relu(&x).unwrap());
    let want: Vec<f32> = xv.iter().map(|&v| if v > 0.0 { v } else { 0.0 }).collect();
    assert_eq!(y, want);
    let dx = flat(&kernels::relu_grad(&g, &x).unwrap());
    let want: Vec<f32> = gv
        .iter()
        .zip(&xv)
        .map(|(&g, &x)| if x > 0.0 { g } else { 0.0 })
        .collect();
    assert_eq!(dx, want);
}

#[test]
fn relu_gradient_is_blocked_at_zero_on_both_paths() {
    // The kernel (f32 on the CPU) and the fallback of other devices and dtypes (here f64) give
    // max(x, 0) (NaN → 0, −0 → +0) and the gradient g · [x > 0]: nothing passes at exactly 0.
    let xs = [
        -2.0f32,
        -0.0,
        0.0,
        1e-30,
        3.0,
        f32::NAN,
        -f32::INFINITY,
        f32::INFINITY,
    ];
    let want_y = [0.0f32, 0.0, 0.0, 1e-30, 3.0, 0.0, 0.0, f32::INFINITY];
    let want_g = [0.0f32, 0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 2.0];
    for dtype in [DType::F32, DType::F64] {
        let x = Var::from_tensor(&tensor(&xs, &[2, 4]).to_dtype(dtype).unwrap()).unwrap();
        let y = layer::relu(x.as_tensor()).unwrap();
        let got: Vec<f32> = flat(&y.to_dtype(DType::F32).unwrap());
        for (i, (&a, &b)) in got.iter().zip(&want_y).enumerate() {
            assert!(
                a == b && a.is_sign_positive(),
                "{dtype:?} relu element {i}: {a} vs {b}"
            );
        }
        let grads = (y * 2.0).unwrap().sum_all().unwrap().backward().unwrap();
        let g = flat(
            &grads
                .get(x.as_tensor())
                .unwrap()
                .to_dtype(DType::F32)
                .unwrap(),
        );
        assert_eq!(g, want_g, "{dtype:?} relu gradient");
        if dtype == DType::F32 {
            let twos = tensor(&[2.0; 8], &[2, 4]);
            let direct = flat(&kernels::relu_grad(&twos, x.as_tensor()).unwrap());
            assert_eq!(direct, want_g, "relu_grad");
            // The portable versions (what a GPU runs) on f32.
            let y = layer::portable::relu(x.as_tensor()).unwrap();
            assert_eq!(flat(&y), want_y, "portable relu");
            let grads = (y * 2.0).unwrap().sum_all().unwrap().backward().unwrap();
            assert_eq!(flat(grads.get(x.as_tensor()).unwrap()), want_g);
            let direct = layer::portable::relu_grad(&twos, x.as_tensor()).unwrap();
            assert_eq!(flat(&direct), want_g, "portable relu_grad");
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // Forward, both gradients and the pools, bit for bit, in rayon pools of 1, 2 and 3 threads;
    // batch 1 (gemm's own threading) and batch 37 (groups spread over the threads).
    let mut rng = Rng::new(14);
    for n in [1, 37] {
        let (c, h, o) = (8, 7, 16);
        let x = tensor(&random(&mut rng, n * c * h * h), &[n, c, h, h]);
        let w = tensor(&random(&mut rng, o * c * 9), &[o, c, 3, 3]);
        let g = tensor(&random(&mut rng, n * o * 4 * 4), &[n, o, 4, 4]);
        let pad = same_pad(h, h, 3, 3, 2);
        let run = || {
            let xv = Var::from_tensor(&x).unwrap();
            let wv = Var::from_tensor(&w).unwrap();
            let y = kernels::conv2d(xv.as_tensor(), wv.as_tensor(), 2, pad).unwrap();
            let grads = (&y * &g).unwrap().sum_all().unwrap().backward().unwrap();
            let pooled = kernels::max_pool2d(&x, [2, 2], 2, same_pad(h, h, 2, 2, 2)).unwrap();
            let avg = kernels::avg_pool2d(&x, [3, 3], 2, same_pad(h, h, 3, 3, 2)).unwrap();
            [
                flat(&y),
                flat(grads.get(xv.as_tensor()).unwrap()),
                flat(grads.get(wv.as_tensor()).unwrap()),
                flat(&pooled),
                flat(&avg),
            ]
        };
        let in_pool = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(run)
        };
        let one = in_pool(1);
        for threads in [2, 3] {
            assert!(
                one == in_pool(threads),
                "batch {n}: {threads} threads differ from 1"
            );
        }
    }
}

#[test]
fn strided_inputs_are_copied_not_rejected() {
    let mut rng = Rng::new(10);
    let base = tensor(&random(&mut rng, 2 * 3 * 6 * 5), &[2, 3, 6, 5]);
    let x = base.transpose(2, 3).unwrap(); // [2, 3, 5, 6], not contiguous
    assert!(!x.is_contiguous());
    let w = tensor(&random(&mut rng, 4 * 3 * 9), &[4, 3, 3, 3])
        .transpose(2, 3)
        .unwrap();
    let pad = same_pad(5, 6, 3, 3, 2);
    let got = kernels::conv2d(&x, &w, 2, pad).unwrap();
    let want = kernels::conv2d(&x.contiguous().unwrap(), &w.contiguous().unwrap(), 2, pad).unwrap();
    assert_eq!(flat(&got), flat(&want));
    let got = kernels::max_pool2d(&x, [2, 2], 2, pad).unwrap();
    let want = kernels::max_pool2d(&x.contiguous().unwrap(), [2, 2], 2, pad).unwrap();
    assert_eq!(flat(&got), flat(&want));
}

#[test]
fn errors_name_the_op_and_the_shapes() {
    let x = Tensor::zeros((1, 2, 5, 5), DType::F32, &Device::Cpu).unwrap();
    let w = Tensor::zeros((3, 4, 3, 3), DType::F32, &Device::Cpu).unwrap();
    let e = kernels::conv2d(&x, &w, 1, Pad2d::uniform(1))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("conv2d") && e.contains("[1, 2, 5, 5]") && e.contains("[3, 4, 3, 3]"),
        "{e}"
    );

    let w = Tensor::zeros((3, 2, 7, 7), DType::F32, &Device::Cpu).unwrap();
    let e = kernels::conv2d(&x, &w, 1, Pad2d::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("conv2d") && e.contains("7×7"), "{e}");

    let e = kernels::max_pool2d(&x, [2, 2], 0, Pad2d::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("max-pool2d") && e.contains("stride 0"), "{e}");

    let x64 = x.to_dtype(DType::F64).unwrap();
    let e = kernels::conv2d(&x64, &w, 1, Pad2d::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("conv2d") && e.contains("F64"), "{e}");
    let x3 = Tensor::zeros((2, 5, 5), DType::F32, &Device::Cpu).unwrap();
    let e = kernels::avg_pool2d(&x3, [2, 2], 2, Pad2d::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("avg-pool2d") && e.contains("4-D"), "{e}");
}

#[test]
fn other_dtypes_fall_back_to_candle() {
    // f64 is not a kernel dtype: layer::conv2d and the pools must take candle's path.
    let mut rng = Rng::new(11);
    let (n, c, h, w, o, k, s) = (2, 2, 7, 7, 3, 4, 2);
    let xv = random(&mut rng, n * c * h * w);
    let wv = random(&mut rng, o * c * k * k);
    let (x, wt) = (tensor(&xv, &[n, c, h, w]), tensor(&wv, &[o, c, k, k]));
    let f32_y = layer::conv2d(&x, &wt, None, s, Padding::Same).unwrap();
    let to64 = |t: &Tensor| t.to_dtype(DType::F64).unwrap();
    let f64_y = layer::conv2d(&to64(&x), &to64(&wt), None, s, Padding::Same).unwrap();
    assert_eq!(f64_y.dtype(), DType::F64);
    let a = flat(&f32_y);
    let b: Vec<f64> = f64_y.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    assert_rel("f64 fallback conv", &a, &b);
    for max in [true, false] {
        let pool = |x: &Tensor| {
            if max {
                layer::max_pool2d(x, 2, 2, Padding::Same).unwrap()
            } else {
                layer::avg_pool2d(x, 2, 2, Padding::Same).unwrap()
            }
        };
        let a = flat(&pool(&x));
        let b: Vec<f64> = pool(&to64(&x))
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        assert_rel("f64 fallback pool", &a, &b);
    }
}

/// One pooling problem.
#[derive(Debug, Clone, Copy)]
struct Pool {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    pad: Pad2d,
}

impl Pool {
    fn out(&self) -> (usize, usize) {
        (
            (self.h + self.pad.top + self.pad.bottom - self.k) / self.s + 1,
            (self.w + self.pad.left + self.pad.right - self.k) / self.s + 1,
        )
    }

    /// `kernels::max_pool2d_grad_input` (the winners found again from `x`) for the output
    /// gradient `gv`, flattened.
    fn max_grad_from_input(&self, x: &Tensor, gv: &[f32]) -> Vec<f32> {
        let (oh, ow) = self.out();
        let g = tensor(gv, &[self.n, self.c, oh, ow]);
        flat(&kernels::max_pool2d_grad_input(x, &g, [self.k, self.k], self.s, self.pad).unwrap())
    }

    /// The valid input cells (flat indices) of every window, in row-major window order.
    fn windows(&self) -> Vec<Vec<usize>> {
        let (oh, ow) = self.out();
        let mut all = vec![];
        for plane in 0..self.n * self.c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut cells = vec![];
                    for ki in 0..self.k {
                        for kj in 0..self.k {
                            let iy = (oy * self.s + ki) as isize - self.pad.top as isize;
                            let ix = (ox * self.s + kj) as isize - self.pad.left as isize;
                            if iy >= 0 && ix >= 0 && iy < self.h as isize && ix < self.w as isize {
                                cells.push((plane * self.h + iy as usize) * self.w + ix as usize);
                            }
                        }
                    }
                    all.push(cells);
                }
            }
        }
        all
    }

    /// Max-pool forward and gradient of `sum(y ⊙ g)`: the first maximum of a window wins.
    fn max_reference(&self, x: &[f32], g: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let mut dx = vec![0f64; x.len()];
        let mut y = vec![];
        for (i, cells) in self.windows().iter().enumerate() {
            let mut best: Option<usize> = None;
            for &c in cells {
                if best.is_none_or(|b| x[c] > x[b]) {
                    best = Some(c);
                }
            }
            match best {
                Some(b) => {
                    y.push(x[b] as f64);
                    dx[b] += g[i] as f64;
                }
                None => y.push(f64::NEG_INFINITY),
            }
        }
        (y, dx)
    }

    /// Average-pool forward and gradient over valid cells only.
    fn avg_reference(&self, x: &[f32], g: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let mut dx = vec![0f64; x.len()];
        let mut y = vec![];
        for (i, cells) in self.windows().iter().enumerate() {
            let n = cells.len().max(1) as f64;
            y.push(cells.iter().map(|&c| x[c] as f64).sum::<f64>() / n);
            for &c in cells {
                dx[c] += g[i] as f64 / n;
            }
        }
        (y, dx)
    }
}

fn pool_cases() -> Vec<(&'static str, Pool)> {
    let p = |n, c, h, w, k, s, pad| Pool {
        n,
        c,
        h,
        w,
        k,
        s,
        pad,
    };
    vec![
        (
            "2x2 stride 2 SAME on 7x7",
            p(3, 2, 7, 7, 2, 2, same_pad(7, 7, 2, 2, 2)),
        ),
        (
            "2x2 stride 2 SAME on 28x28",
            p(2, 3, 28, 28, 2, 2, same_pad(28, 28, 2, 2, 2)),
        ),
        (
            "3x3 stride 2 SAME on 6x5",
            p(1, 3, 6, 5, 3, 3 - 1, same_pad(6, 5, 3, 3, 2)),
        ),
        (
            "3x3 stride 1 SAME (overlapping)",
            p(3, 2, 5, 6, 3, 1, same_pad(5, 6, 3, 3, 1)),
        ),
        (
            "2x2 stride 2 VALID on 9x8",
            p(3, 1, 9, 8, 2, 2, Pad2d::default()),
        ),
        // Row pairs of 7, 16 and 10 windows: the vectorised runs of 4 and 8 windows, exact and
        // overlapping the run before.
        (
            "2x2 stride 2 VALID on 4x14",
            p(2, 3, 4, 14, 2, 2, Pad2d::default()),
        ),
        (
            "2x2 stride 2 VALID on 4x32",
            p(2, 2, 4, 32, 2, 2, Pad2d::default()),
        ),
        (
            "2x2 stride 2 SAME on 5x20",
            p(2, 2, 5, 20, 2, 2, same_pad(5, 20, 2, 2, 2)),
        ),
        (
            "4x4 stride 3 explicit (1,2,0,3)",
            p(
                2,
                2,
                8,
                7,
                4,
                3,
                Pad2d {
                    top: 1,
                    bottom: 2,
                    left: 0,
                    right: 3,
                },
            ),
        ),
    ]
}

#[test]
fn max_pool_matches_direct_loops_and_routes_to_one_winner() {
    let mut rng = Rng::new(12);
    for (name, p) in pool_cases() {
        let (oh, ow) = p.out();
        let xv = random(&mut rng, p.n * p.c * p.h * p.w);
        let gv = random(&mut rng, p.n * p.c * oh * ow);
        let x = Var::from_tensor(&tensor(&xv, &[p.n, p.c, p.h, p.w])).unwrap();
        let y = kernels::max_pool2d(x.as_tensor(), [p.k, p.k], p.s, p.pad).unwrap();
        assert_eq!(y.dims(), &[p.n, p.c, oh, ow], "{name}: output shape");
        let dx = grads_of(&y, &tensor(&gv, &[p.n, p.c, oh, ow]), &[&x]).remove(0);
        let (ry, rdx) = p.max_reference(&xv, &gv);
        assert_rel(&format!("{name}: max forward"), &flat(&y), &ry);
        assert_rel(&format!("{name}: max gradient"), &flat(&dx), &rdx);
        // The same gradient without the forward op, the winners found again from the input.
        assert_rel(
            &format!("{name}: max gradient from the input"),
            &p.max_grad_from_input(x.as_tensor(), &gv),
            &rdx,
        );
    }
}

#[test]
fn max_pool_winners_follow_one_total_order_on_special_values() {
    // Inputs drawn from a few values, so that windows hold ties, ±0, ±∞ and NaN together. The
    // order: every NaN above +∞, −0 just below +0, and of equal cells the first in row-major order
    // wins. Every window's winner is checked (forward value bit for bit, and which cell the
    // gradient goes to), on the 2×2 windows taken a row pair at a time, next to trailing and
    // padded windows, and on overlapping ones.
    let values = [
        -1.0f32,
        -0.0,
        0.0,
        1.0,
        2.0,
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        -f32::INFINITY,
    ];
    // (is NaN, value, +0 rather than −0), compared in that order: all NaNs are equal.
    let rank = |v: f32| -> (bool, f32, bool) {
        if v.is_nan() {
            (true, 0.0, false)
        } else {
            (false, v, v == 0.0 && v.is_sign_positive())
        }
    };
    let mut rng = Rng::new(31);
    for (name, p) in pool_cases() {
        let (oh, ow) = p.out();
        let xv: Vec<f32> = (0..p.n * p.c * p.h * p.w)
            .map(|_| values[rng.below(values.len())])
            .collect();
        // Small whole-number gradients, summed exactly: dx tells which cells won.
        let gv: Vec<f32> = (0..p.n * p.c * oh * ow)
            .map(|i| (1 + i % 20) as f32)
            .collect();
        let x = Var::from_tensor(&tensor(&xv, &[p.n, p.c, p.h, p.w])).unwrap();
        let y = kernels::max_pool2d(x.as_tensor(), [p.k, p.k], p.s, p.pad).unwrap();
        let dx = grads_of(&y, &tensor(&gv, &[p.n, p.c, oh, ow]), &[&x]).remove(0);
        // The same routing with the winners found again from the input (the relevance engine's
        // path; the fused one where 2×2 windows tile the input).
        let direct = p.max_grad_from_input(x.as_tensor(), &gv);
        let (y, dx) = (flat(&y), flat(&dx));
        let mut want_dx = vec![0f32; xv.len()];
        for (i, cells) in p.windows().iter().enumerate() {
            let mut best: Option<usize> = None;
            for &c in cells {
                // Tuples compare lexicographically; a later cell must be strictly larger.
                if best.is_none_or(|b| rank(xv[c]) > rank(xv[b])) {
                    best = Some(c);
                }
            }
            match best {
                Some(b) => {
                    assert_eq!(y[i].to_bits(), xv[b].to_bits(), "{name}: window {i} value");
                    want_dx[b] += gv[i];
                }
                None => assert_eq!(y[i], f32::NEG_INFINITY, "{name}: empty window {i}"),
            }
        }
        assert_eq!(dx, want_dx, "{name}: winners");
        assert_eq!(
            direct, want_dx,
            "{name}: winners found again from the input"
        );
    }
}

#[test]
fn max_pool_ties_go_to_the_first_cell_and_padding_never_wins() {
    // Plane 0: all ties. Plane 1: all negative (SAME padding must not win with 0 or −∞).
    let x = [vec![1f32; 9], (1..=9).map(|v| -(v as f32)).collect()].concat();
    let x = Var::from_tensor(&tensor(&x, &[1, 2, 3, 3])).unwrap();
    let pad = same_pad(3, 3, 2, 2, 2); // (0, 1, 0, 1)
    let y = kernels::max_pool2d(x.as_tensor(), [2, 2], 2, pad).unwrap();
    assert_eq!(flat(&y), vec![1., 1., 1., 1., -1., -3., -7., -9.]);
    let grads = y.sum_all().unwrap().backward().unwrap();
    let dx = flat(grads.get(x.as_tensor()).unwrap());
    #[rustfmt::skip]
    let want = vec![
        1., 0., 1.,  0., 0., 0.,  1., 0., 1., // ties: top-left cell of each window
        1., 0., 1.,  0., 0., 0.,  1., 0., 1., // negatives: the valid maxima
    ];
    assert_eq!(dx, want);

    // Through the layer with Padding::Same: the same routing, each gradient exactly 1.
    let y = layer::max_pool2d(x.as_tensor(), 2, 2, Padding::Same).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    assert_eq!(flat(grads.get(x.as_tensor()).unwrap()), want);
}

#[test]
fn portable_pooling_matches_direct_loops_and_routes_to_one_winner() {
    // candle's own ops, what a GPU runs: overlapping windows, VALID windows leaving trailing
    // cells and explicit padding differentiate exactly as the kernels do (candle's own pooling
    // backward shares ties, needs kernel = stride and misroutes trailing cells).
    let mut rng = Rng::new(18);
    let mut cases = pool_cases();
    cases.push((
        "2x2 stride 1 padding wider than the window",
        Pool {
            n: 1,
            c: 2,
            h: 3,
            w: 4,
            k: 2,
            s: 1,
            pad: Pad2d {
                top: 2,
                bottom: 0,
                left: 0,
                right: 3,
            },
        },
    ));
    for (name, p) in cases {
        let (oh, ow) = p.out();
        let xv = random(&mut rng, p.n * p.c * p.h * p.w);
        let gv = random(&mut rng, p.n * p.c * oh * ow);
        let g = tensor(&gv, &[p.n, p.c, oh, ow]);
        let x = Var::from_tensor(&tensor(&xv, &[p.n, p.c, p.h, p.w])).unwrap();
        let y = layer::portable::max_pool2d(x.as_tensor(), p.k, p.s, explicit(p.pad)).unwrap();
        assert_eq!(y.dims(), &[p.n, p.c, oh, ow], "{name}: output shape");
        let (ry, rdx) = p.max_reference(&xv, &gv);
        assert_rel(&format!("{name}: portable max forward"), &flat(&y), &ry);
        let dx = grads_of(&y.maximum(-1e30).unwrap(), &g, &[&x]);
        assert_rel(
            &format!("{name}: portable max gradient"),
            &flat(&dx[0]),
            &rdx,
        );
        let y = layer::portable::avg_pool2d(x.as_tensor(), p.k, p.s, explicit(p.pad)).unwrap();
        let (ry, rdx) = p.avg_reference(&xv, &gv);
        assert_rel(&format!("{name}: portable avg forward"), &flat(&y), &ry);
        let dx = grads_of(&y, &g, &[&x]);
        assert_rel(
            &format!("{name}: portable avg gradient"),
            &flat(&dx[0]),
            &rdx,
        );
    }
    // Ties go to the first cell, and SAME padding never wins, as in the kernel.
    let x = [vec![1f32; 9], (1..=9).map(|v| -(v as f32)).collect()].concat();
    let x = Var::from_tensor(&tensor(&x, &[1, 2, 3, 3])).unwrap();
    let y = layer::portable::max_pool2d(x.as_tensor(), 2, 2, Padding::Same).unwrap();
    assert_eq!(flat(&y), vec![1., 1., 1., 1., -1., -3., -7., -9.]);
    let dx = grads_of(&y, &y.ones_like().unwrap(), &[&x]);
    #[rustfmt::skip]
    let want = vec![
        1., 0., 1.,  0., 0., 0.,  1., 0., 1.,
        1., 0., 1.,  0., 0., 0.,  1., 0., 1.,
    ];
    assert_eq!(flat(&dx[0]), want);
}

#[test]
fn same_avg_pool_matches_direct_loops() {
    let mut rng = Rng::new(13);
    for (name, p) in pool_cases() {
        let (oh, ow) = p.out();
        let xv = random(&mut rng, p.n * p.c * p.h * p.w);
        let gv = random(&mut rng, p.n * p.c * oh * ow);
        let x = Var::from_tensor(&tensor(&xv, &[p.n, p.c, p.h, p.w])).unwrap();
        let y = kernels::avg_pool2d(x.as_tensor(), [p.k, p.k], p.s, p.pad).unwrap();
        let dx = grads_of(&y, &tensor(&gv, &[p.n, p.c, oh, ow]), &[&x]).remove(0);
        let (ry, rdx) = p.avg_reference(&xv, &gv);
        assert_rel(&format!("{name}: avg forward"), &flat(&y), &ry);
        assert_rel(&format!("{name}: avg gradient"), &flat(&dx), &rdx);
        let direct = kernels::avg_pool2d_grad_input(
            &tensor(&gv, &[p.n, p.c, oh, ow]),
            [p.k, p.k],
            p.s,
            p.pad,
            (p.h, p.w),
        )
        .unwrap();
        assert_rel(
            &format!("{name}: avg gradient, direct"),
            &flat(&direct),
            &rdx,
        );
    }
}

/// On-CPU seconds of this process so far, summed over its threads (Linux schedstat); robust to
/// other processes sharing the cores, unlike wall time.
fn cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e9
}

/// `(wall, cpu)` seconds per call of `f` after one warm-up: the median wall time of `reps` calls
/// (the minimum with `BENCH_MIN` set) and their mean CPU time (schedstat is only updated at
/// scheduler ticks, so single calls are not timed on the CPU clock).
fn time(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let cpu0 = cpu_seconds();
    let mut wall: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    let cpu = (cpu_seconds() - cpu0) / reps as f64;
    wall.sort_by(|a, b| a.total_cmp(b));
    let wall = if std::env::var("BENCH_MIN").is_ok() {
        wall[0]
    } else {
        wall[reps / 2]
    };
    (wall, cpu)
}

/// D0 at batch 100: a training step's forward + backward (all parameter gradients) and forward +
/// input gradient, with candle's layers, with the convolution kernel only, and with all kernels;
/// with `BENCH_EPOCH=n` (2000 if not a number) also the 10 000-image test evaluation and one epoch
/// of `train` on `n` MNIST examples (which includes that evaluation), candle against the kernels.
/// `BENCH_REPS` (5) sets the repetitions, `BENCH_ONLY` picks the settings whose label contains it.
#[test]
#[ignore]
fn bench_d0() {
    use nnviz_core::candle_nn::loss::cross_entropy;
    use nnviz_core::data::Dataset;
    use nnviz_core::train::{train, TrainConfig};
    use nnviz_core::zoo;

    let mut rng = Rng::new(1);
    let x = tensor(&random(&mut rng, 100 * 28 * 28), &[100, 1, 28, 28]);
    let labels: Vec<u32> = (0..100).map(|_| rng.below(10) as u32).collect();
    let labels = Tensor::from_vec(labels, 100, &Device::Cpu).unwrap();
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let settings = [
        ("candle", Switches::OFF),
        (
            "conv kernel",
            Switches {
                conv: true,
                pool: false,
                ..Switches::ON
            },
        ),
        ("conv + pool kernels", Switches::ON),
    ];
    println!("rayon threads: {}", rayon_threads());
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    for (label, sw) in settings
        .into_iter()
        .filter(|(l, _)| l.contains(only.as_str()))
    {
        kernels::set_switches(sw);
        let mut net = zoo::untrained("D0").unwrap();
        let vars = net.make_trainable().unwrap();
        let step = time(reps, || {
            let loss = cross_entropy(&net.forward(&x).unwrap(), &labels).unwrap();
            let grads = loss.backward().unwrap();
            assert!(vars.iter().all(|v| grads.get(v.as_tensor()).is_some()));
        });
        let fwd = time(reps, || {
            net.forward(&x).unwrap();
        });
        net.freeze();
        let input_grad = time(reps, || {
            let xv = Var::from_tensor(&x).unwrap();
            let out = net.forward(xv.as_tensor()).unwrap();
            let sel = out.gather(&labels.unsqueeze(1).unwrap(), 1).unwrap();
            let grads = sel.sum_all().unwrap().backward().unwrap();
            assert!(grads.get(xv.as_tensor()).is_some());
        });
        println!(
            "D0 batch 100, {label:>19}: train step fwd+bwd {:6.1} ms (cpu {:6.1}) | forward \
             {:5.1} ms (cpu {:5.1}) | forward + input gradient {:6.1} ms (cpu {:6.1})",
            step.0 * 1e3,
            step.1 * 1e3,
            fwd.0 * 1e3,
            fwd.1 * 1e3,
            input_grad.0 * 1e3,
            input_grad.1 * 1e3
        );
    }
    if std::env::var("BENCH_EPOCH").is_ok() {
        let n: usize = std::env::var("BENCH_EPOCH")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000);
        let data = Dataset::mnist().unwrap().subset_train(n).unwrap();
        let net = zoo::untrained("D0").unwrap();
        for (label, sw) in [settings[0], settings[2]] {
            kernels::set_switches(sw);
            let eval = time(1, || {
                nnviz_core::train::evaluate(&net, &data.test_x, &data.test_y, 500).unwrap();
            });
            println!(
                "{label}: evaluate on the 10 000 test images (batches of 500): {:.2} s (cpu {:.2})",
                eval.0, eval.1
            );
        }
        for (label, sw) in [settings[0], settings[2]] {
            kernels::set_switches(sw);
            let mut net = zoo::untrained("D0").unwrap();
            let cfg = TrainConfig {
                epochs: 1,
                ..TrainConfig::default()
            };
            let start = Instant::now();
            let report = train(&mut net, &data, &cfg).unwrap();
            println!(
                "{label}: 1 epoch on {n} examples + test evaluation: {:.1} s (report {:.1} s)",
                start.elapsed().as_secs_f64(),
                report.epochs[0].seconds
            );
        }
    }
    kernels::set_switches(Switches::ON);
}

fn rayon_threads() -> String {
    std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into())
}

/// The three D0 convolutions at batch 100: forward, input gradient and kernel gradient, fast
/// kernels against candle's operations (what candle's backward would run).
#[test]
#[ignore]
fn bench_conv_layers() {
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut rng = Rng::new(2);
    for (c, hw, o) in [(1, 28, 32), (32, 14, 64), (64, 7, 128)] {
        let n = 100;
        let x = tensor(&random(&mut rng, n * c * hw * hw), &[n, c, hw, hw]);
        let w = tensor(&random(&mut rng, o * c * 9), &[o, c, 3, 3]);
        let g = tensor(&random(&mut rng, n * o * hw * hw), &[n, o, hw, hw]);
        let pad = Pad2d::uniform(1);
        let gflop = 2.0 * (n * o * hw * hw * c * 9) as f64 / 1e9;
        let fast = [
            time(reps, || drop(kernels::conv2d(&x, &w, 1, pad).unwrap())),
            time(reps, || {
                drop(kernels::conv2d_grad_input(&g, &w, 1, pad, (hw, hw)).unwrap())
            }),
            time(reps, || {
                drop(kernels::conv2d_grad_kernel(&x, &g, 1, pad, (3, 3)).unwrap())
            }),
        ];
        let slow = [
            time(reps.min(3), || drop(x.conv2d(&w, 1, 1, 1, 1).unwrap())),
            time(reps.min(3), || {
                drop(g.conv_transpose2d(&w, 1, 0, 1, 1).unwrap())
            }),
            time(reps.min(3), || {
                let t = |t: &Tensor| t.transpose(0, 1).unwrap();
                drop(t(&t(&x).conv2d(&t(&g), 1, 1, 1, 1).unwrap()))
            }),
        ];
        for (i, what) in ["forward", "input grad", "kernel grad"].iter().enumerate() {
            println!(
                "conv {c:>2}→{o:<3} {hw:>2}x{hw:<2} {what:>11}: fast {:6.2} ms, cpu {:6.2} ms \
                 ({:5.1} GFLOP per cpu-s) | candle {:7.2} ms, cpu {:7.2} ms",
                fast[i].0 * 1e3,
                fast[i].1 * 1e3,
                gflop / fast[i].1,
                slow[i].0 * 1e3,
                slow[i].1 * 1e3
            );
        }
    }
}

/// The three D0 max-pools (and SAME average pools of the same shapes) at batch 100, forward and
/// forward + backward, kernels against candle's path (`layer::*_pool2d` with the pool switch off).
#[test]
#[ignore]
fn bench_pool_layers() {
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    // What each path passes back through one 2×2 window with a single maximum (the right answer
    // is 1 at the maximum).
    let x = Var::from_tensor(&tensor(&[1., 2., 3., 4.], &[1, 1, 2, 2])).unwrap();
    for on in [false, true] {
        kernels::set_switches(Switches {
            conv: true,
            pool: on,
            ..Switches::ON
        });
        let y = layer::max_pool2d(x.as_tensor(), 2, 2, Padding::Same).unwrap();
        let grads = y.sum_all().unwrap().backward().unwrap();
        println!(
            "max-pool gradient of [[1, 2], [3, 4]], {}: {:?}",
            if on { "kernel" } else { "candle" },
            flat(grads.get(x.as_tensor()).unwrap())
        );
    }
    let mut rng = Rng::new(3);
    for (c, hw) in [(32, 28), (64, 14), (128, 7)] {
        let x = tensor(&random(&mut rng, 100 * c * hw * hw), &[100, c, hw, hw]);
        let x = Var::from_tensor(&x).unwrap();
        for max in [true, false] {
            let pool = |x: &Tensor| {
                if max {
                    layer::max_pool2d(x, 2, 2, Padding::Same).unwrap()
                } else {
                    layer::avg_pool2d(x, 2, 2, Padding::Same).unwrap()
                }
            };
            let mut line = format!("{} pool {c:>3}x{hw}x{hw}:", if max { "max" } else { "avg" });
            for on in [false, true] {
                kernels::set_switches(Switches {
                    conv: true,
                    pool: on,
                    ..Switches::ON
                });
                let fwd = time(reps, || drop(pool(x.as_tensor())));
                let both = time(reps, || {
                    drop(pool(x.as_tensor()).sum_all().unwrap().backward().unwrap())
                });
                line += &format!(
                    " {}: fwd {:5.2} ms (cpu {:5.2}), fwd+bwd {:5.2} ms (cpu {:5.2}) |",
                    if on { "kernel" } else { "candle" },
                    fwd.0 * 1e3,
                    fwd.1 * 1e3,
                    both.0 * 1e3,
                    both.1 * 1e3
                );
            }
            println!("{line}");
        }
    }
    kernels::set_switches(Switches::ON);
}

#[test]
fn cam_weights_and_weighted_sums_match_direct_loops() {
    use nnviz_core::kernels::CamWeighting;
    let mut rng = Rng::new(19);
    let (n, k, h, w) = (3, 5, 4, 6);
    let p = h * w;
    // Mixed signs, so that both of Grad-CAM++'s conditions (g > 0, 2 + S·g > 0) cut.
    let av: Vec<f32> = random(&mut rng, n * k * p);
    let gv: Vec<f32> = random(&mut rng, n * k * p)
        .iter()
        .map(|v| v * 0.3)
        .collect();
    let a = tensor(&av, &[n, k, h, w]);
    let g = tensor(&gv, &[n, k, h, w]);
    let (mut want_cam, mut want_pp, mut cut) = (vec![], vec![], 0);
    for c in 0..n * k {
        let (a, g) = (&av[c * p..(c + 1) * p], &gv[c * p..(c + 1) * p]);
        want_cam.push(g.iter().map(|&v| v as f64).sum::<f64>() / p as f64);
        let s: f64 = a.iter().map(|&v| v as f64).sum();
        cut += g
            .iter()
            .filter(|&&g| g > 0.0 && 2.0 + s * g as f64 <= 0.0)
            .count();
        want_pp.push(
            g.iter()
                .map(|&g| g as f64)
                .filter(|&g| g > 0.0 && 2.0 + s * g > 0.0)
                .map(|g| g / (2.0 + s * g))
                .sum::<f64>(),
        );
    }
    assert!(
        cut > 0,
        "no positive gradient with 2 + S·g ≤ 0: the case is not exercised"
    );
    let got = kernels::cam_weights(&a, &g, CamWeighting::GradCam).unwrap();
    assert_eq!(got.dims(), &[n, k]);
    assert_rel("Grad-CAM weights", &flat(&got), &want_cam);
    let got = kernels::cam_weights(&a, &g, CamWeighting::GradCamPlusPlus).unwrap();
    assert_rel("Grad-CAM++ weights", &flat(&got), &want_pp);
    // The portable formula of methods::cam gives the same weights.
    let alpha = nnviz_core::methods::GradCamPlusPlus::alpha(&a, &g).unwrap();
    let portable = (alpha * g.relu().unwrap()).unwrap().sum((2, 3)).unwrap();
    assert_rel("Grad-CAM++ weights, candle ops", &flat(&portable), &want_pp);

    let wv = random(&mut rng, n * k);
    let m = kernels::weighted_channel_sum(&a, &tensor(&wv, &[n, k])).unwrap();
    assert_eq!(m.dims(), &[n, 1, h, w]);
    let mut want = vec![0f64; n * p];
    for i in 0..n {
        for c in 0..k {
            for j in 0..p {
                want[i * p + j] += wv[i * k + c] as f64 * av[(i * k + c) * p + j] as f64;
            }
        }
    }
    assert_rel("weighted channel sum", &flat(&m), &want);
    let err = kernels::weighted_channel_sum(&a, &tensor(&wv[..k], &[1, k])).unwrap_err();
    assert!(err.to_string().contains("weights [1, 5]"), "{err}");

    // Location weights (HiResCAM: the gradient itself): m = Σ_k g_k ⊙ a_k.
    let m = kernels::location_weighted_sum(&a, &g).unwrap();
    assert_eq!(m.dims(), &[n, 1, h, w]);
    let mut want = vec![0f64; n * p];
    for i in 0..n {
        for c in 0..k {
            for j in 0..p {
                let at = (i * k + c) * p + j;
                want[i * p + j] += gv[at] as f64 * av[at] as f64;
            }
        }
    }
    assert_rel("location-weighted sum", &flat(&m), &want);
    let err = kernels::location_weighted_sum(&a, &g.narrow(1, 0, 2).unwrap()).unwrap_err();
    assert!(err.to_string().contains("[3, 2, 4, 6]"), "{err}");
}

#[test]
fn rule_kernels_equal_candles_arithmetic_bit_for_bit() {
    // The relevance rules' one-pass kernels against the candle operations the rules run on other
    // devices, on values with exact zeros of both signs, NaN, infinities and |Δa| around the
    // rescale tolerance.
    let special = [
        0.0f32,
        -0.0,
        1.0,
        -2.5,
        1e-7,
        -1e-7,
        1e-6,
        f32::NAN,
        f32::INFINITY,
        -f32::INFINITY,
        3e-38,
    ];
    let mut rng = Rng::new(44);
    let mut draw = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                if rng.uniform() < 0.5 {
                    special[rng.below(special.len())]
                } else {
                    rng.normal()
                }
            })
            .collect()
    };
    let n = 40_000; // more than one parallel chunk
    let shape = [4, 10, 1000];
    let [r, z, a, a0, y, y0] = std::array::from_fn(|_| tensor(&draw(n), &shape));
    let bits = |t: &Tensor| flat(t).iter().map(|v| v.to_bits()).collect::<Vec<_>>();

    // LRP: r ⊘ (z + ε·sign(z)), sign from ge(0) as in relevance::rules.
    for eps in [1e-12f32, 0.25] {
        let sign =
            ((z.ge(0.0).unwrap().to_dtype(DType::F32).unwrap() * 2.0).unwrap() - 1.0).unwrap();
        let want = r
            .div(&(&z + (sign * eps as f64).unwrap()).unwrap())
            .unwrap();
        assert_eq!(
            bits(&kernels::lrp_ratio(&r, &z, eps).unwrap()),
            bits(&want),
            "lrp_ratio ε = {eps}"
        );
    }
    // DeepLIFT at a ReLU.
    let tol = 1e-6f64;
    let da = (&a - &a0).unwrap();
    let dy = (&y - &y0).unwrap();
    let far = da.abs().unwrap().ge(tol).unwrap();
    let safe = far.where_cond(&da, &da.ones_like().unwrap()).unwrap();
    let step = a.gt(0.0).unwrap().to_dtype(DType::F32).unwrap();
    let m = far.where_cond(&dy.div(&safe).unwrap(), &step).unwrap();
    assert_eq!(
        bits(&kernels::rescale_relu(&r, &a, &a0, &y, &y0, tol as f32).unwrap()),
        bits(&(&r * m).unwrap()),
        "rescale_relu"
    );
    // DeepLIFT at a max-pooling layer's input (r as the routed multiplier, z as the gradient).
    let want = far.where_cond(&r.div(&safe).unwrap(), &z).unwrap();
    assert_eq!(
        bits(&kernels::rescale_select(&r, &z, &a, &a0, tol as f32).unwrap()),
        bits(&want),
        "rescale_select"
    );
    // Shapes must match; other dtypes are an error naming the operand.
    let err = kernels::lrp_ratio(&r, &tensor(&[1.0; 4], &[4]), 0.1).unwrap_err();
    assert!(err.to_string().contains("differ in shape"), "{err}");
    let err = kernels::rescale_relu(&r, &a.to_dtype(DType::F64).unwrap(), &a0, &y, &y0, 1e-6)
        .unwrap_err();
    assert!(err.to_string().contains("input"), "{err}");
}
