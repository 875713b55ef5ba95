//! Every rule against a dense-matrix (or direct-loop) reference written straight from the
//! papers, the hand-computed fixtures, and the invariants: LRP-0 = gradient × input on bias-free
//! ReLU nets, z⁺ ≥ 0, layer-wise conservation, DeepLIFT summation-to-delta, guided backprop and
//! deconvnet = gradient without ReLUs.

// The dense references index matrices the way the formulas do.
#![allow(clippy::needless_range_loop)]

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::rules::{apply, Step};
use super::*;
use crate::attribution::{Attribution, Score, Target};
use crate::methods::{Baseline, InputXGradient, Saliency};
use crate::model::layer::Axis;
use crate::model::{Layer, LayerSpec, Network, NetworkSpec, Padding};
use crate::Rng;

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
}

fn flat(x: &Tensor) -> Vec<f64> {
    x.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()
}

fn rand_vec(rng: &mut Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.uniform_range(lo, hi)).collect()
}

/// `|a − b| ≤ tol · max(1, max|b|)` element-wise (relative to the reference's scale).
fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(1f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}: element {i}: {x} vs reference {y} (scale {scale})"
        );
    }
}

/// A network with uniformly random weights in [−1, 1] and biases in [−b, b] (none if b = 0).
fn random_net(spec: &NetworkSpec, seed: u64, bias: f32) -> Network {
    let mut rng = Rng::new(seed);
    let mut params = HashMap::new();
    for (name, shape) in spec.param_shapes() {
        let n: usize = shape.iter().product();
        let scale = if name.ends_with("bias") { bias } else { 1.0 };
        params.insert(name, t(&rand_vec(&mut rng, n, -scale, scale), &shape));
    }
    Network::from_parts(spec, params).unwrap()
}

fn conv_spec(
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    padding: Padding,
    bias: bool,
) -> LayerSpec {
    LayerSpec::Conv2d {
        in_channels: cin,
        out_channels: cout,
        kernel: [k, k],
        stride,
        padding,
        bias,
    }
}

fn linear_spec(i: usize, o: usize, bias: bool) -> LayerSpec {
    LayerSpec::Linear {
        in_features: i,
        out_features: o,
        bias,
    }
}

// ---------------------------------------------------------------------------------------------
// Dense reference: an affine layer as its matrix M[out, in] (and the structural mask of the
// weights that exist), then every rule in matrix form, in f64.

struct Dense {
    m: Vec<f64>,
    mask: Vec<f64>,
    b: Vec<f64>,
    n_in: usize,
    n_out: usize,
}

fn dense(layer: &Layer, in_dims: &[usize]) -> Dense {
    match layer {
        Layer::Linear { weight, bias } => {
            let (o, i) = weight.dims2().unwrap();
            Dense {
                m: flat(weight),
                mask: vec![1.0; o * i],
                b: bias.as_ref().map(flat).unwrap_or(vec![0.0; o]),
                n_in: i,
                n_out: o,
            }
        }
        Layer::Conv2d {
            weight,
            bias,
            stride,
            padding,
        } => {
            let (co, ci, kh, kw) = weight.dims4().unwrap();
            let (h, w) = (in_dims[1], in_dims[2]);
            let (top, _, oh) = padding.resolve(h, kh, *stride, Axis::H).unwrap();
            let (left, _, ow) = padding.resolve(w, kw, *stride, Axis::W).unwrap();
            let wv = flat(weight);
            let bv = bias.as_ref().map(flat).unwrap_or(vec![0.0; co]);
            let (n_in, n_out) = (ci * h * w, co * oh * ow);
            let mut m = vec![0.0; n_out * n_in];
            let mut mask = vec![0.0; n_out * n_in];
            let mut b = vec![0.0; n_out];
            for o in 0..co {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let k = (o * oh + oy) * ow + ox;
                        b[k] = bv[o];
                        for c in 0..ci {
                            for ki in 0..kh {
                                for kj in 0..kw {
                                    let y = (oy * stride + ki) as isize - top as isize;
                                    let x = (ox * stride + kj) as isize - left as isize;
                                    if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
                                        continue;
                                    }
                                    let j = (c * h + y as usize) * w + x as usize;
                                    m[k * n_in + j] += wv[((o * ci + c) * kh + ki) * kw + kj];
                                    mask[k * n_in + j] = 1.0;
                                }
                            }
                        }
                    }
                }
            }
            Dense {
                m,
                mask,
                b,
                n_in,
                n_out,
            }
        }
        other => panic!("not affine: {}", other.kind()),
    }
}

const TINY: f64 = super::rules::TINY;

fn stab(z: f64, eps: f64) -> f64 {
    z + if z >= 0.0 { eps } else { -eps }
}

/// Rule `rule` in matrix form for one example: `a[n_in]`, `r[n_out]` → `r_in[n_in]`.
fn dense_rule(rule: Rule, d: &Dense, a: &[f64], r: &[f64]) -> Vec<f64> {
    let (ni, no) = (d.n_in, d.n_out);
    let mut out = vec![0.0; ni];
    // Generic z-rule with per-entry contribution c(k, j) and denominator z_k = Σ_j c + bias.
    let mut zrule =
        |c: &dyn Fn(usize, usize) -> f64, bias: &dyn Fn(usize) -> f64, eps: f64, w: f64| {
            for k in 0..no {
                let z: f64 = (0..ni).map(|j| c(k, j)).sum::<f64>() + bias(k);
                let s = r[k] / stab(z, eps);
                for j in 0..ni {
                    out[j] += w * c(k, j) * s;
                }
            }
        };
    let m = |k: usize, j: usize| d.m[k * ni + j];
    match rule {
        Rule::Zero => zrule(&|k, j| a[j] * m(k, j), &|k| d.b[k], TINY, 1.0),
        Rule::Epsilon(e) => zrule(&|k, j| a[j] * m(k, j), &|k| d.b[k], e as f64, 1.0),
        Rule::Gamma(g) => {
            let g = g as f64;
            zrule(
                &|k, j| a[j] * (m(k, j) + g * m(k, j).max(0.0)),
                &|k| d.b[k] + g * d.b[k].max(0.0),
                TINY,
                1.0,
            )
        }
        Rule::ZPlus => zrule(&|k, j| (a[j] * m(k, j)).max(0.0), &|_| 0.0, TINY, 1.0),
        Rule::AlphaBeta { alpha, beta } => {
            zrule(
                &|k, j| (a[j] * m(k, j)).max(0.0),
                &|k| d.b[k].max(0.0),
                TINY,
                alpha as f64,
            );
            if beta > 0.0 {
                zrule(
                    &|k, j| (a[j] * m(k, j)).min(0.0),
                    &|k| d.b[k].min(0.0),
                    TINY,
                    -(beta as f64),
                );
            }
        }
        Rule::WSquare => zrule(&|k, j| m(k, j) * m(k, j), &|_| 0.0, TINY, 1.0),
        Rule::Flat => zrule(&|k, j| d.mask[k * ni + j], &|_| 0.0, TINY, 1.0),
        Rule::ZBox { low, high } => {
            let (l, h) = (low as f64, high as f64);
            zrule(
                &|k, j| a[j] * m(k, j) - l * m(k, j).max(0.0) - h * m(k, j).min(0.0),
                &|_| 0.0,
                TINY,
                1.0,
            )
        }
        Rule::Gradient => {
            for k in 0..no {
                for j in 0..ni {
                    out[j] += m(k, j) * r[k];
                }
            }
        }
        other => panic!("no dense reference for {other}"),
    }
    out
}

/// Runs `rule` on layer 0 of `net` through the engine, and the dense reference, per example.
fn check_affine_rule(net: &Network, x: &Tensor, rule: Rule, tol: f64, what: &str) {
    let layer = &net.layers[0].layer;
    let y = layer.forward(x).unwrap();
    let n = x.dim(0).unwrap();
    let mut rng = Rng::new(7);
    let r = t(&rand_vec(&mut rng, y.elem_count(), -1.0, 1.0), y.dims())
        .to_dtype(x.dtype())
        .unwrap();
    let st = Step {
        layer,
        a: x,
        y: &y,
        reference: None,
    };
    let got = flat(&apply(rule, &st, &r).unwrap());
    let d = dense(layer, &x.dims()[1..]);
    let (av, rv) = (flat(x), flat(&r));
    let mut want = vec![];
    for i in 0..n {
        want.extend(dense_rule(
            rule,
            &d,
            &av[i * d.n_in..(i + 1) * d.n_in],
            &rv[i * d.n_out..(i + 1) * d.n_out],
        ));
    }
    assert_close(&got, &want, tol, &format!("{what}: {rule}"));
}

fn affine_rules() -> Vec<Rule> {
    vec![
        Rule::Zero,
        Rule::Epsilon(0.1),
        Rule::Gamma(0.25),
        Rule::ZPlus,
        Rule::alpha_beta(1.0, 0.0).unwrap(),
        Rule::alpha_beta(2.0, 1.0).unwrap(),
        Rule::WSquare,
        Rule::Flat,
        Rule::ZBox {
            low: -1.0,
            high: 1.0,
        },
        Rule::Gradient,
    ]
}

/// Random small affine layers, including TensorFlow SAME padding with the odd cell after
/// (5 → 3 with a 4×4 kernel, stride 2), VALID, strided and explicit asymmetric padding.
fn affine_cases() -> Vec<(String, NetworkSpec)> {
    let mut v = vec![(
        "linear".to_string(),
        NetworkSpec::new("lin", [1, 2, 3])
            .push("flatten", LayerSpec::Flatten)
            .push("fc", linear_spec(6, 4, true)),
    )];
    let convs = [
        (3, 1, Padding::Same),
        (4, 2, Padding::Same),
        (2, 2, Padding::Valid),
        (
            3,
            2,
            Padding::Explicit {
                top: 0,
                bottom: 2,
                left: 1,
                right: 0,
            },
        ),
    ];
    for (k, s, p) in convs {
        v.push((
            format!("conv k{k} s{s} {p:?}"),
            NetworkSpec::new("conv", [2, 5, 5]).push("conv", conv_spec(2, 3, k, s, p, true)),
        ));
    }
    v
}

/// For the linear case the first layer is Flatten; the rule runs on the layer after it.
fn first_affine(net: &Network) -> Network {
    let mut net = net.clone();
    if matches!(net.layers[0].layer, Layer::Flatten) {
        net.layers.remove(0);
    }
    net
}

#[test]
fn every_affine_rule_matches_the_dense_reference_f32_fast_path() {
    for (what, spec) in affine_cases() {
        for (seed, bias) in [(1u64, 0.5f32), (2, 0.0)] {
            let net = random_net(&spec, seed, bias);
            let mut rng = Rng::new(seed + 10);
            let n = 2;
            let dims: Vec<usize> = std::iter::once(n).chain(spec.input).collect();
            let count: usize = dims.iter().product();
            // inputs in [−1, 1] (both signs exercise the a⁻ terms), except z⁺ on [0, 1]
            let x = t(&rand_vec(&mut rng, count, -1.0, 1.0), &dims);
            let x = if what == "linear" {
                x.flatten_from(1).unwrap()
            } else {
                x
            };
            let lay = first_affine(&net);
            // f32 rounding, amplified where LRP-0 divides by a small z: 1e-4 of the scale here;
            // the f64 test below holds the engine to 1e-9
            for rule in affine_rules() {
                check_affine_rule(&lay, &x, rule, 1e-4, &format!("{what} bias {bias}"));
            }
            let xp = x.abs().unwrap();
            for rule in [Rule::ZPlus, Rule::alpha_beta(2.0, 1.0).unwrap()] {
                check_affine_rule(&lay, &xp, rule, 1e-5, &format!("{what} x ≥ 0"));
            }
        }
    }
}

#[test]
fn every_affine_rule_matches_the_dense_reference_f64_candle_path() {
    // f64 tensors never take the fast f32 CPU kernels: this exercises the candle-ops fallback
    // that other devices use.
    for (what, spec) in affine_cases() {
        let net = random_net(&spec, 3, 0.5);
        let mut net64 = first_affine(&net);
        for l in &mut net64.layers {
            for p in l.layer.params_mut() {
                *p = p.to_dtype(DType::F64).unwrap();
            }
        }
        let mut rng = Rng::new(4);
        let dims: Vec<usize> = std::iter::once(2).chain(spec.input).collect();
        let count: usize = dims.iter().product();
        let x = t(&rand_vec(&mut rng, count, -1.0, 1.0), &dims)
            .to_dtype(DType::F64)
            .unwrap();
        let x = if what == "linear" {
            x.flatten_from(1).unwrap()
        } else {
            x
        };
        for rule in affine_rules() {
            check_affine_rule(&net64, &x, rule, 1e-9, &format!("{what} f64"));
        }
    }
}

#[test]
fn dense_z_rule_hand_fixture() {
    // W = [[3, 4], [5, 6]] ([out, in]), b = (7, 8), a = (1, 2): z = (18, 25).
    // R_in,1 = 1·(3·(1/3)/18 + 5·(2/3)/25) = 17/90, R_in,2 = 2·(4·(1/3)/18 + 6·(2/3)/25) = 316/675.
    let layer = Layer::Linear {
        weight: t(&[3., 4., 5., 6.], &[2, 2]),
        bias: Some(t(&[7., 8.], &[2])),
    };
    let a = t(&[1., 2.], &[1, 2]);
    let y = layer.forward(&a).unwrap();
    let r = t(&[1. / 3., 2. / 3.], &[1, 2]);
    let st = Step {
        layer: &layer,
        a: &a,
        y: &y,
        reference: None,
    };
    let got = flat(&apply(Rule::Zero, &st, &r).unwrap());
    assert_close(&got, &[17. / 90., 316. / 675.], 1e-6, "dense z-rule");
    // the bias absorbs the rest: Σ R_in ≈ 0.657 < 1
    assert!((got.iter().sum::<f64>() - (17. / 90. + 316. / 675.)).abs() < 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Pooling and ReLU rules against direct loops.

/// Windows of a pooling layer on an `h × w` plane: for each output cell, the valid input cells.
fn windows(h: usize, w: usize, k: usize, s: usize, p: Padding) -> Vec<Vec<usize>> {
    let (top, _, oh) = p.resolve(h, k, s, Axis::H).unwrap();
    let (left, _, ow) = p.resolve(w, k, s, Axis::W).unwrap();
    let mut v = vec![];
    for oy in 0..oh {
        for ox in 0..ow {
            let mut cells = vec![];
            for ki in 0..k {
                for kj in 0..k {
                    let y = (oy * s + ki) as isize - top as isize;
                    let x = (ox * s + kj) as isize - left as isize;
                    if y >= 0 && x >= 0 && y < h as isize && x < w as isize {
                        cells.push(y as usize * w + x as usize);
                    }
                }
            }
            v.push(cells);
        }
    }
    v
}

#[test]
fn pooling_rules_match_direct_loops() {
    let (c, h, w) = (2, 5, 5);
    for (k, s, p) in [
        (2, 2, Padding::Same),
        (3, 2, Padding::Same),
        (2, 2, Padding::Valid),
    ] {
        let mut rng = Rng::new(11);
        let x = t(&rand_vec(&mut rng, c * h * w, 0.0, 1.0), &[1, c, h, w]);
        let win = windows(h, w, k, s, p);
        let xv = flat(&x);
        for (layer, is_max) in [
            (
                Layer::MaxPool2d {
                    kernel: k,
                    stride: s,
                    padding: p,
                },
                true,
            ),
            (
                Layer::AvgPool2d {
                    kernel: k,
                    stride: s,
                    padding: p,
                },
                false,
            ),
        ] {
            let y = layer.forward(&x).unwrap();
            let r = t(&rand_vec(&mut rng, y.elem_count(), -1.0, 1.0), y.dims());
            let rv = flat(&r);
            let st = Step {
                layer: &layer,
                a: &x,
                y: &y,
                reference: None,
            };
            let mut wta = vec![0.0; c * h * w];
            let mut prop = vec![0.0; c * h * w];
            let mut grad = vec![0.0; c * h * w];
            for ch in 0..c {
                let off = ch * h * w;
                for (o, cells) in win.iter().enumerate() {
                    let rk = rv[ch * win.len() + o];
                    let total: f64 = cells.iter().map(|&j| xv[off + j]).sum();
                    // first maximum in window order
                    let best = cells
                        .iter()
                        .copied()
                        .fold(None, |b: Option<usize>, j| match b {
                            Some(bj) if xv[off + bj] >= xv[off + j] => Some(bj),
                            _ => Some(j),
                        })
                        .unwrap();
                    wta[off + best] += rk;
                    for &j in cells {
                        prop[off + j] += xv[off + j] * rk / (total + TINY);
                        if !is_max {
                            grad[off + j] += rk / cells.len() as f64;
                        }
                    }
                }
            }
            let name = format!("{} k{k} s{s} {p:?}", layer.kind());
            let prop_got = flat(&apply(Rule::Proportional, &st, &r).unwrap());
            assert_close(&prop_got, &prop, 1e-5, &format!("{name}: proportional"));
            let g = flat(&apply(Rule::Gradient, &st, &r).unwrap());
            if is_max {
                let w_got = flat(&apply(Rule::WinnerTakeAll, &st, &r).unwrap());
                assert_close(&w_got, &wta, 1e-6, &format!("{name}: winner-take-all"));
                assert_close(&g, &wta, 1e-6, &format!("{name}: gradient"));
            } else {
                assert_close(&g, &grad, 1e-6, &format!("{name}: gradient"));
            }
        }
    }
    // global average pooling: proportional = a_j r_k / Σ a
    let x = t(&[1., 2., 3., 4., 0., 0., 0., 5.], &[1, 2, 2, 2]);
    let layer = Layer::GlobalAvgPool;
    let y = layer.forward(&x).unwrap();
    let r = t(&[10., -5.], &[1, 2]);
    let st = Step {
        layer: &layer,
        a: &x,
        y: &y,
        reference: None,
    };
    let got = flat(&apply(Rule::Proportional, &st, &r).unwrap());
    assert_close(
        &got,
        &[1., 2., 3., 4., 0., 0., 0., -5.],
        1e-6,
        "gap proportional",
    );
    let got = flat(&apply(Rule::Gradient, &st, &r).unwrap());
    assert_close(
        &got,
        &[2.5, 2.5, 2.5, 2.5, -1.25, -1.25, -1.25, -1.25],
        1e-6,
        "gap gradient",
    );
}

#[test]
fn relu_rules_on_the_original_toy_cell() {
    // The original's §3.3 toy: feature [[−2, 2], [2, −2]], incoming signal [[−1, −1], [1, 1]].
    let layer = Layer::Relu;
    let a = t(&[-2., 2., 2., -2.], &[1, 1, 2, 2]);
    let y = layer.forward(&a).unwrap();
    let r = t(&[-1., -1., 1., 1.], &[1, 1, 2, 2]);
    let st = Step {
        layer: &layer,
        a: &a,
        y: &y,
        reference: None,
    };
    let run = |rule| flat(&apply(rule, &st, &r).unwrap());
    assert_eq!(run(Rule::Gradient), vec![0., -1., 1., 0.]);
    assert_eq!(run(Rule::DeconvRelu), vec![0., 0., 1., 1.]);
    assert_eq!(run(Rule::GuidedRelu), vec![0., 0., 1., 0.]);
    assert_eq!(run(Rule::Pass), vec![-1., -1., 1., 1.]);
    // Rescale without a reference is an error, not a panic
    assert!(apply(Rule::Rescale, &st, &r).is_err());
    // Rescale: Δy/Δa, gradient where Δa = 0; reference a0 = (−1, 0, 2, 1)
    let a0 = t(&[-1., 0., 2., 1.], &[1, 1, 2, 2]);
    let y0 = layer.forward(&a0).unwrap();
    let st = Step {
        layer: &layer,
        a: &a,
        y: &y,
        reference: Some((&a0, &y0)),
    };
    // m = (0/−1, 2/2, grad 1, (0−1)/(−3)) = (0, 1, 1, 1/3)
    assert_close(
        &flat(&apply(Rule::Rescale, &st, &r).unwrap()),
        &[0., -1., 1., 1. / 3.],
        1e-6,
        "rescale",
    );
}

// ---------------------------------------------------------------------------------------------
// Hand fixtures on whole networks.

/// f(x) = ReLU(ReLU(x₁ − 1) − ReLU(x₂)), input [N, 1, 1, 2].
fn toy() -> Network {
    let spec = NetworkSpec::new("toy", [1, 1, 2])
        .push("flatten", LayerSpec::Flatten)
        .push("fc1", linear_spec(2, 2, true))
        .push("relu1", LayerSpec::Relu)
        .push("fc2", linear_spec(2, 1, false))
        .push("relu2", LayerSpec::Relu);
    let params = HashMap::from([
        ("fc1.weight".to_string(), t(&[1., 0., 0., 1.], &[2, 2])),
        ("fc1.bias".to_string(), t(&[-1., 0.], &[2])),
        ("fc2.weight".to_string(), t(&[1., -1.], &[1, 2])),
    ]);
    Network::from_parts(&spec, params).unwrap()
}

#[test]
fn toy_network_deep_lift_and_epsilon_fixtures() {
    let net = toy();
    let x = t(&[3., 1.], &[1, 1, 1, 2]);
    let target = Target::class(0);
    let (c, delta) = DeepLift::default()
        .attribute_with_delta(&net, &x, &target)
        .unwrap();
    assert_close(&flat(&c), &[2., -1.], 1e-6, "DeepLIFT");
    assert!(flat(&delta)[0].abs() < 1e-6);
    // ε → 0: (3, −1) = input × gradient; sums to 2, not f = 1 (the bias −1 took −1)
    let lrp = Lrp::new(Composite::uniform(Rule::Epsilon(1e-7)));
    let r = lrp.explain(&net, &x, &target).unwrap();
    assert_close(&flat(r.input()), &[3., -1.], 1e-5, "LRP-ε");
    let sums = r.sums().unwrap();
    assert!((sums[5][0] - 1.0).abs() < 1e-6 && (sums[0][0] - 2.0).abs() < 1e-5);
    // at (−10, −5) every unit is off: all zero
    let x = t(&[-10., -5.], &[1, 1, 1, 2]);
    assert_eq!(
        flat(&DeepLift::default().attribute(&net, &x, &target).unwrap()),
        vec![0., 0.]
    );
    assert_eq!(
        flat(&lrp.attribute(&net, &x, &target).unwrap()),
        vec![0., 0.]
    );
}

// ---------------------------------------------------------------------------------------------
// Invariants on random networks covering every layer kind of the zoo.

/// conv SAME → ReLU → max-pool SAME (odd size) → dropout → conv 4×4/2 SAME (asymmetric) → ReLU
/// → avg-pool → flatten → linear → ReLU → linear.
fn cnn_spec(bias: bool, with_relu: bool) -> NetworkSpec {
    let mut s = NetworkSpec::new("cnn", [1, 9, 9])
        .push("conv1", conv_spec(1, 3, 3, 1, Padding::Same, bias));
    if with_relu {
        s = s.push("relu1", LayerSpec::Relu);
    }
    s = s
        .push(
            "pool1",
            LayerSpec::MaxPool2d {
                kernel: 2,
                stride: 2,
                padding: Padding::Same,
            },
        )
        .push("drop1", LayerSpec::Dropout { rate: 0.5 })
        .push("conv2", conv_spec(3, 4, 4, 2, Padding::Same, bias));
    if with_relu {
        s = s.push("relu2", LayerSpec::Relu);
    }
    s = s
        .push(
            "pool2",
            LayerSpec::AvgPool2d {
                kernel: 2,
                stride: 2,
                padding: Padding::Same,
            },
        )
        .push("flatten", LayerSpec::Flatten)
        .push("fc3", linear_spec(16, 6, bias));
    if with_relu {
        s = s.push("relu3", LayerSpec::Relu);
    }
    s.push("fc4", linear_spec(6, 3, bias))
}

/// The all-convolutional shape of model F: convs, ReLUs, global average pooling.
fn gap_spec(bias: bool) -> NetworkSpec {
    NetworkSpec::new("gapnet", [1, 6, 6])
        .push("conv1", conv_spec(1, 4, 3, 1, Padding::Same, bias))
        .push("relu1", LayerSpec::Relu)
        .push("conv2", conv_spec(4, 4, 2, 2, Padding::Same, bias))
        .push("relu2", LayerSpec::Relu)
        .push("conv3", conv_spec(4, 3, 1, 1, Padding::Same, bias))
        .push("relu3", LayerSpec::Relu)
        .push("gap", LayerSpec::GlobalAvgPool)
}

fn input(spec: &NetworkSpec, n: usize, lo: f32, hi: f32, seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    let dims: Vec<usize> = std::iter::once(n).chain(spec.input).collect();
    let count: usize = dims.iter().product();
    t(&rand_vec(&mut rng, count, lo, hi), &dims)
}

#[test]
fn lrp_zero_equals_gradient_times_input_without_bias() {
    // R_k = z_k ∂f/∂z_k holds at every pre-activation by induction from the top, biases or not,
    // so the equality also holds with biases (they only break conservation)
    for (spec, bias) in [
        (cnn_spec(false, true), 0.0),
        (gap_spec(false), 0.0),
        (cnn_spec(true, true), 0.3),
        (gap_spec(true), 0.3),
    ] {
        let net = random_net(&spec, 5, bias);
        let x = input(&spec, 4, -1.0, 1.0, 6);
        for target in [Target::class(1), Target::predicted()] {
            let lrp = Lrp::new(Composite::uniform(Rule::Zero))
                .attribute(&net, &x, &target)
                .unwrap();
            let gxi = InputXGradient.attribute(&net, &x, &target).unwrap();
            assert_close(&flat(&lrp), &flat(&gxi), 1e-4, &spec.name);
        }
    }
}

#[test]
fn z_plus_is_non_negative_and_rules_conserve_layer_by_layer() {
    let target = Target::predicted().with_score(Score::ReluLogit);
    for spec in [cnn_spec(false, true), gap_spec(false)] {
        let net = random_net(&spec, 8, 0.0);
        let x = input(&spec, 3, 0.0, 1.0, 9);
        let composites = [
            Composite::uniform(Rule::ZPlus),
            Composite::deep_taylor(0.0, 1.0),
            Composite::uniform(Rule::Zero),
            // w² and flat send relevance to dead units too; proportional pooling would drop it
            // there, the gradient (a sum over each window) keeps it
            Composite::uniform(Rule::WSquare)
                .with(Selector::Kind(LayerKind::Pooling), Rule::Gradient),
            Composite::uniform(Rule::Flat).with(Selector::Kind(LayerKind::Pooling), Rule::Gradient),
            Composite::uniform(Rule::ZPlus)
                .with(Selector::Kind(LayerKind::MaxPool2d), Rule::Proportional),
        ];
        for comp in composites {
            let r = Lrp::new(comp.clone()).explain(&net, &x, &target).unwrap();
            let sums = r.sums().unwrap();
            let top = sums.last().unwrap().clone();
            for (b, s) in sums.iter().enumerate() {
                assert_close(
                    &s.iter().map(|&v| v as f64).collect::<Vec<_>>(),
                    &top.iter().map(|&v| v as f64).collect::<Vec<_>>(),
                    1e-4,
                    &format!("{} {}: boundary {b}", spec.name, comp.name),
                );
            }
            if comp.name.contains("z⁺") || comp.name == "deep_taylor" {
                for (b, m) in r.messages.iter().enumerate() {
                    let min = m.min_all().unwrap().to_scalar::<f32>().unwrap();
                    assert!(
                        min >= 0.0,
                        "{} {}: boundary {b} has {min}",
                        spec.name,
                        comp.name
                    );
                }
            }
        }
    }
}

#[test]
fn z_plus_is_non_negative_with_bias_too() {
    let spec = cnn_spec(true, true);
    let net = random_net(&spec, 12, 0.3);
    let x = input(&spec, 4, 0.0, 1.0, 13);
    let target = Target::predicted().with_score(Score::ReluLogit);
    for comp in [
        Composite::uniform(Rule::ZPlus),
        Composite::deep_taylor(0.0, 1.0),
        Composite::uniform(Rule::alpha_beta(1.0, 0.0).unwrap()),
    ] {
        let r = Lrp::new(comp).explain(&net, &x, &target).unwrap();
        for m in &r.messages {
            assert!(m.min_all().unwrap().to_scalar::<f32>().unwrap() >= 0.0);
        }
    }
}

#[test]
fn deep_lift_sums_to_delta() {
    for (spec, bias) in [
        (cnn_spec(true, true), 0.3),
        (gap_spec(true), 0.3),
        (cnn_spec(false, true), 0.0),
    ] {
        let net = random_net(&spec, 21, bias);
        let x = input(&spec, 4, 0.0, 1.0, 22);
        let x0 = input(&spec, 1, 0.0, 0.5, 23);
        for baseline in [Baseline::Zero, Baseline::Tensor(x0)] {
            for score in [Score::Logit, Score::Softmax, Score::ReluLogit] {
                let target = Target::predicted().with_score(score);
                let (c, delta) = DeepLift {
                    baseline: baseline.clone(),
                }
                .attribute_with_delta(&net, &x, &target)
                .unwrap();
                assert_eq!(c.dims(), x.dims());
                let scale = flat(&c).iter().fold(1f64, |m, v| m.max(v.abs()));
                for d in flat(&delta) {
                    assert!(d.abs() <= 1e-5 * scale, "{} {score:?}: δ = {d}", spec.name);
                }
            }
        }
    }
}

#[test]
fn guided_backprop_and_deconvnet_equal_the_gradient_without_relu() {
    let spec = cnn_spec(true, false);
    let net = random_net(&spec, 31, 0.3);
    let x = input(&spec, 3, -1.0, 1.0, 32);
    for target in [
        Target::class(2),
        Target::predicted().with_score(Score::Softmax),
    ] {
        let g = flat(&Saliency::default().attribute(&net, &x, &target).unwrap());
        let gb = flat(&GuidedBackprop.attribute(&net, &x, &target).unwrap());
        let dc = flat(&Deconvnet.attribute(&net, &x, &target).unwrap());
        assert_close(&gb, &g, 1e-5, "guided backprop");
        assert_close(&dc, &g, 1e-5, "deconvnet");
    }
    // with ReLUs, guided backprop is zero wherever it is negative... it never is at the input of
    // a ReLU; check instead that it equals the gradient gated by positive signals layer by layer
    let spec = cnn_spec(true, true);
    let net = random_net(&spec, 33, 0.3);
    let x = input(&spec, 2, 0.0, 1.0, 34);
    let plan = Composite::guided_backprop().resolve(&net).unwrap();
    let trace = net.forward_trace(&x).unwrap();
    let top = t(&[1., 0., 0., 0., 1., 0.], &[2, 3]);
    let msgs = propagate(&net, &plan, &trace, None, top).unwrap();
    for (i, s) in plan.steps.iter().enumerate() {
        if s.kind == "relu" {
            // below a guided ReLU the signal is ≥ 0 and zero where the ReLU was off
            let m = flat(&msgs[i]);
            let a = flat(&trace.activations[i]);
            assert!(m
                .iter()
                .zip(&a)
                .all(|(m, a)| *m >= 0.0 && (*a > 0.0 || *m == 0.0)));
        }
    }
}

#[test]
fn batch_equals_one_by_one_and_errors_do_not_panic() {
    let spec = cnn_spec(true, true);
    let net = random_net(&spec, 41, 0.3);
    let x = input(&spec, 3, 0.0, 1.0, 42);
    let target = Target::classes(vec![0, 2, 1]);
    let methods: Vec<(&str, Box<dyn Attribution>)> = vec![
        ("lrp", Box::new(Lrp::default())),
        (
            "lrp a2b1",
            Box::new(Lrp::new(Composite::epsilon_alpha2_beta1(0.1))),
        ),
        ("dtd", Box::new(DeepTaylor::default())),
        ("deeplift", Box::new(DeepLift::default())),
        ("guided", Box::new(GuidedBackprop)),
        ("deconv", Box::new(Deconvnet)),
    ];
    for (name, m) in &methods {
        let all = m.attribute(&net, &x, &target).unwrap();
        assert_eq!(all.dims(), x.dims(), "{name}");
        for (i, c) in [0usize, 2, 1].into_iter().enumerate() {
            let one = m
                .attribute(&net, &x.narrow(0, i, 1).unwrap(), &Target::class(c))
                .unwrap();
            assert_close(
                &flat(&one),
                &flat(&all.narrow(0, i, 1).unwrap()),
                1e-5,
                name,
            );
        }
        assert!(m.attribute(&net, &x, &Target::class(7)).is_err(), "{name}");
        assert!(
            m.attribute(&net, &x.flatten_from(1).unwrap(), &Target::class(0))
                .is_err(),
            "{name}"
        );
    }
}

#[test]
fn composites_resolve_first_match_wins_and_print_a_plan() {
    let spec = cnn_spec(false, true);
    let net = random_net(&spec, 51, 0.0);
    let plan = Composite::deep_taylor(0.0, 1.0).resolve(&net).unwrap();
    let rules: Vec<String> = plan.steps.iter().map(|s| s.rule.to_string()).collect();
    assert_eq!(rules[0], "z^B [0, 1]");
    assert_eq!(rules[1], "pass");
    assert_eq!(rules[2], "proportional");
    assert_eq!(rules[3], "pass"); // dropout
    assert_eq!(rules[4], "z⁺");
    assert_eq!(rules[6], "proportional"); // avg-pool fallback
    assert_eq!(plan.steps.last().unwrap().rule, Rule::ZPlus);
    let text = plan.to_string();
    assert!(
        text.contains("conv1") && text.contains("z^B") && text.contains("max_pool2d"),
        "{text}"
    );
    // epsilon_plus: ε on linear, z⁺ on conv; an index entry before a kind entry wins
    let comp = Composite::new("custom", Fallback::Relevance)
        .with(Selector::Name("fc4".into()), Rule::Zero)
        .with(Selector::Kind(LayerKind::Linear), Rule::Epsilon(0.5))
        .with(Selector::Index(4), Rule::WSquare)
        .with(Selector::Kind(LayerKind::Conv2d), Rule::ZPlus);
    let plan = comp.resolve(&net).unwrap();
    let by_name = |n: &str| plan.steps.iter().find(|s| s.name == n).unwrap().rule;
    assert_eq!(by_name("fc4"), Rule::Zero);
    assert_eq!(by_name("fc3"), Rule::Epsilon(0.5));
    assert_eq!(by_name("conv2"), Rule::WSquare);
    assert_eq!(by_name("conv1"), Rule::ZPlus);
    assert_eq!(by_name("pool1"), Rule::WinnerTakeAll);
    // a rule on a layer it does not fit, an unknown name, a bad αβ: errors
    let bad = Composite::new("bad", Fallback::Relevance).with(Selector::Index(1), Rule::ZPlus);
    let e = bad.resolve(&net).unwrap_err().to_string();
    assert!(e.contains("relu1"), "{e}");
    let bad = Composite::new("bad", Fallback::Relevance)
        .with(Selector::Name("conv9".into()), Rule::ZPlus);
    assert!(bad.resolve(&net).unwrap_err().to_string().contains("conv1"));
    assert!(Rule::alpha_beta(2.0, 0.0).is_err());
    assert!(Rule::alpha_beta(0.5, -0.5).is_err());
    assert!(Rule::alpha_beta(2.0, 1.0).is_ok());
    // DeepLIFT's plan needs a reference
    let plan = Composite::deep_lift().resolve(&net).unwrap();
    assert!(plan.needs_reference());
    let trace = net.forward_trace(&input(&spec, 1, 0.0, 1.0, 1)).unwrap();
    assert!(propagate(&net, &plan, &trace, None, t(&[1., 0., 0.], &[1, 3])).is_err());
}

#[test]
fn conservation_table_lists_every_layer() {
    let spec = cnn_spec(false, true);
    let net = random_net(&spec, 61, 0.0);
    let x = input(&spec, 2, 0.0, 1.0, 62);
    let r = DeepTaylor::default()
        .explain(&net, &x, &Target::predicted().with_score(Score::ReluLogit))
        .unwrap();
    let table = r.conservation(1).unwrap();
    for l in &net.layers {
        assert!(table.contains(&l.name), "{table}");
    }
    assert!(r.conservation(2).is_err());
}

#[test]
fn every_zoo_architecture_runs_every_method() {
    // Freshly initialised zoo networks (zero biases): every layer kind of the zoo, SAME and
    // strided convolutions, max/avg/global pooling, dropout. Deep Taylor conserves exactly here.
    for name in crate::zoo::NAMES {
        let net = crate::zoo::untrained(name).unwrap();
        let spec = net.spec().unwrap();
        let x = input(&spec, 2, 0.0, 1.0, 71);
        let target = Target::predicted().with_score(Score::ReluLogit);
        let methods: Vec<Box<dyn Attribution>> = vec![
            Box::new(Lrp::default()),
            Box::new(Lrp::new(Composite::epsilon_alpha2_beta1(0.25))),
            Box::new(DeepTaylor::default()),
            Box::new(DeepLift::default()),
            Box::new(GuidedBackprop),
            Box::new(Deconvnet),
        ];
        for m in &methods {
            let a = m.attribute(&net, &x, &target).unwrap();
            assert_eq!(a.dims(), x.dims(), "{name}");
            assert!(flat(&a).iter().all(|v| v.is_finite()), "{name}");
        }
        let r = DeepTaylor::default().explain(&net, &x, &target).unwrap();
        let sums = r.sums().unwrap();
        for n in 0..2 {
            let top = sums.last().unwrap()[n] as f64;
            let bottom = sums[0][n] as f64;
            assert!(
                (bottom - top).abs() <= 1e-4 * top.abs().max(1e-3),
                "{name}: {bottom} vs {top}"
            );
        }
        let (_, delta) = DeepLift::default()
            .attribute_with_delta(&net, &x, &Target::predicted())
            .unwrap();
        assert!(
            flat(&delta).iter().all(|d| d.abs() < 1e-4),
            "{name}: {delta}"
        );
    }
}
