//! Gradient methods: hand-computed fixtures and the invariants of Captum's and Zennit's tests.

use std::collections::HashMap;

use nnviz_core::attribution::Score;
use nnviz_core::candle::{Device, Tensor};
use nnviz_core::methods::*;
use nnviz_core::model::{LayerSpec, Network, NetworkSpec};
use nnviz_core::{zoo, Attribution, Rng, Target};

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, &dev()).unwrap()
}

fn flat(x: &Tensor) -> Vec<f32> {
    x.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= tol * 1f32.max(x.abs()).max(y.abs()))
}

/// f(x) = ReLU(ReLU(x₁ − 1) − ReLU(x₂)), input [N, 1, 1, 2].
fn fixture() -> Network {
    let spec = NetworkSpec::new("fixture", [1, 1, 2])
        .push("flatten", LayerSpec::Flatten)
        .push(
            "fc1",
            LayerSpec::Linear {
                in_features: 2,
                out_features: 2,
                bias: true,
            },
        )
        .push("relu1", LayerSpec::Relu)
        .push(
            "fc2",
            LayerSpec::Linear {
                in_features: 2,
                out_features: 1,
                bias: false,
            },
        )
        .push("relu2", LayerSpec::Relu);
    let params = HashMap::from([
        ("fc1.weight".to_string(), t(&[1., 0., 0., 1.], &[2, 2])),
        ("fc1.bias".to_string(), t(&[-1., 0.], &[2])),
        ("fc2.weight".to_string(), t(&[1., -1.], &[1, 2])),
    ]);
    Network::from_parts(&spec, params).unwrap()
}

fn random_input(rng: &mut Rng, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    t(&(0..n).map(|_| rng.uniform()).collect::<Vec<_>>(), shape)
}

#[test]
fn hand_fixture_gradient_input_x_gradient_and_integrated_gradients() {
    let net = fixture();
    let x = t(&[3., 1.], &[1, 1, 1, 2]);
    let target = Target::class(0);
    // at (3, 1): both hidden units active, output 2 − 1 = 1; ∇f = (1, −1)
    assert_eq!(
        flat(&Saliency::default().attribute(&net, &x, &target).unwrap()),
        vec![1., -1.]
    );
    assert_eq!(
        flat(
            &Saliency::sensitivity()
                .attribute(&net, &x, &target)
                .unwrap()
        ),
        vec![1., 1.]
    );
    assert_eq!(
        flat(&InputXGradient.attribute(&net, &x, &target).unwrap()),
        vec![3., -1.]
    );
    // on the path α(3, 1) the output is ReLU(2α − 1): ∇f = (1, −1) for α > ½, 0 before, so
    // IG = (3, 1) ⊙ ½ (1, −1) = (1.5, −0.5). Midpoint sums with an even n avoid the kink exactly.
    let ig = IntegratedGradients {
        steps: 10,
        quadrature: Quadrature::RiemannMiddle,
        ..Default::default()
    };
    let (attr, delta) = ig.attribute_with_delta(&net, &x, &target).unwrap();
    assert!(close(&flat(&attr), &[1.5, -0.5], 1e-6), "{:?}", flat(&attr));
    assert!(flat(&delta)[0].abs() < 1e-6);
    // Gauss–Legendre and right Riemann get there with enough steps
    for q in [
        Quadrature::GaussLegendre,
        Quadrature::RiemannRight,
        Quadrature::RiemannTrapezoid,
    ] {
        let ig = IntegratedGradients {
            steps: 400,
            quadrature: q,
            ..Default::default()
        };
        assert!(
            close(
                &flat(&ig.attribute(&net, &x, &target).unwrap()),
                &[1.5, -0.5],
                1e-2
            ),
            "{q:?}"
        );
    }
}

#[test]
fn quadrature_rules_are_normalised_and_gauss_legendre_is_exact_for_polynomials() {
    for q in [
        Quadrature::RiemannLeft,
        Quadrature::RiemannRight,
        Quadrature::RiemannMiddle,
        Quadrature::RiemannTrapezoid,
        Quadrature::GaussLegendre,
    ] {
        for n in [1, 2, 7, 50] {
            let nodes = q.nodes(n).unwrap();
            assert_eq!(nodes.len(), n);
            let w: f64 = nodes.iter().map(|(_, w)| w).sum();
            assert!((w - 1.0).abs() < 1e-12, "{q:?} n={n}: weights sum to {w}");
            assert!(nodes.iter().all(|(a, _)| (0.0..=1.0).contains(a)));
        }
    }
    // n-point Gauss–Legendre integrates degree 2n−1 exactly: ∫₀¹ α⁹ dα = 1/10 with n = 5
    let s: f64 = Quadrature::GaussLegendre
        .nodes(5)
        .unwrap()
        .iter()
        .map(|(a, w)| w * a.powi(9))
        .sum();
    assert!((s - 0.1).abs() < 1e-13, "{s}");
    assert!(Quadrature::RiemannLeft.nodes(0).is_err());
}

/// A linear model on `[C, H, W]` inputs with `classes` outputs: weights `2·N(0, 1)` from `rng`,
/// biases 0.1, −0.2, 0.3, … Smooth, so its softmax probability is a smooth target.
fn linear_model(rng: &mut Rng, input: [usize; 3], classes: usize) -> Network {
    let features: usize = input.iter().product();
    let spec = NetworkSpec::new("linear", input)
        .push("flatten", LayerSpec::Flatten)
        .push(
            "fc",
            LayerSpec::Linear {
                in_features: features,
                out_features: classes,
                bias: true,
            },
        );
    let w: Vec<f32> = (0..classes * features)
        .map(|_| 2.0 * rng.normal())
        .collect();
    let b: Vec<f32> = (0..classes)
        .map(|k| 0.1 * (k + 1) as f32 * if k % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let params = HashMap::from([
        ("fc.weight".to_string(), t(&w, &[classes, features])),
        ("fc.bias".to_string(), t(&b, &[classes])),
    ]);
    Network::from_parts(&spec, params).unwrap()
}

/// A smooth model: one linear layer (3 classes) on `[1, 2, 3]` inputs, explained through its
/// softmax probability.
fn smooth_model(rng: &mut Rng) -> Network {
    linear_model(rng, [1, 2, 3], 3)
}

#[test]
fn integrated_gradients_completeness_converges_and_gauss_legendre_wins() {
    let mut rng = Rng::new(11);
    let net = smooth_model(&mut rng);
    let x = random_input(&mut rng, &[4, 1, 2, 3]);
    let target = Target::predicted().with_score(Score::Softmax);
    let err = |q: Quadrature, steps: usize| -> f32 {
        let ig = IntegratedGradients {
            steps,
            quadrature: q,
            ..Default::default()
        };
        let (_, d) = ig.attribute_with_delta(&net, &x, &target).unwrap();
        flat(&d).iter().map(|v| v.abs()).fold(0.0, f32::max)
    };
    for q in [
        Quadrature::RiemannLeft,
        Quadrature::RiemannRight,
        Quadrature::RiemannTrapezoid,
    ] {
        assert!(
            err(q, 200) < err(q, 10) * 0.2,
            "{q:?}: {} vs {}",
            err(q, 200),
            err(q, 10)
        );
    }
    let gl = err(Quadrature::GaussLegendre, 8);
    for q in [
        Quadrature::RiemannLeft,
        Quadrature::RiemannRight,
        Quadrature::RiemannMiddle,
        Quadrature::RiemannTrapezoid,
    ] {
        assert!(gl < err(q, 8), "Gauss–Legendre {gl} vs {q:?} {}", err(q, 8));
    }
    assert!(gl < 1e-4, "{gl}");

    // a ReLU network (the hand fixture, kinks at α = 1/3 and ½): the error shrinks with steps
    let f = fixture();
    let xf = t(&[3., 1.], &[1, 1, 1, 2]);
    let errs: Vec<f32> = [5, 51, 501]
        .iter()
        .map(|&s| {
            let ig = IntegratedGradients {
                steps: s,
                quadrature: Quadrature::RiemannRight,
                ..Default::default()
            };
            let (_, d) = ig.attribute_with_delta(&f, &xf, &Target::class(0)).unwrap();
            flat(&d)[0].abs()
        })
        .collect();
    assert!(
        errs[0] > 0.05 && errs[1] < errs[0] * 0.2 && errs[2] < errs[1] * 0.2,
        "{errs:?}"
    );
}

#[test]
fn integrated_gradients_of_a_linear_model_is_weight_times_difference() {
    let mut rng = Rng::new(12);
    let net = smooth_model(&mut rng);
    let x = random_input(&mut rng, &[2, 1, 2, 3]);
    let base = random_input(&mut rng, &[1, 2, 3]);
    let ig = IntegratedGradients {
        steps: 3,
        baseline: Baseline::Tensor(base.clone()),
        ..Default::default()
    };
    let attr = ig.attribute(&net, &x, &Target::class(1)).unwrap();
    let w = flat(&net.parameters()[0].1)[6..12].to_vec(); // row 1 of [3, 6]
    let (xv, bv) = (flat(&x), flat(&base));
    let want: Vec<f32> = (0..12).map(|i| w[i % 6] * (xv[i] - bv[i % 6])).collect();
    assert!(close(&flat(&attr), &want, 1e-5));
    // a constant baseline and a mis-shaped baseline
    let c = IntegratedGradients {
        baseline: Baseline::Constant(0.5),
        steps: 2,
        ..Default::default()
    };
    assert!(c.attribute(&net, &x, &Target::class(1)).is_ok());
    let bad = IntegratedGradients {
        baseline: Baseline::Tensor(t(&[0.; 4], &[1, 2, 2])),
        ..Default::default()
    };
    let err = bad
        .attribute(&net, &x, &Target::class(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("baseline"), "{err}");
}

#[test]
fn integrated_gradients_batching_does_not_change_the_result() {
    let mut rng = Rng::new(13);
    let net = Network::init(&zoo::spec("A").unwrap(), 2, &dev()).unwrap();
    let x = random_input(&mut rng, &[3, 1, 28, 28]);
    let one = IntegratedGradients {
        steps: 20,
        batch_size: 1,
        ..Default::default()
    };
    let all = IntegratedGradients {
        steps: 20,
        batch_size: 1000,
        ..Default::default()
    };
    let target = Target::classes(vec![1, 4, 7]);
    assert!(close(
        &flat(&one.attribute(&net, &x, &target).unwrap()),
        &flat(&all.attribute(&net, &x, &target).unwrap()),
        1e-5
    ));
}

#[test]
fn smooth_grad_reduces_to_its_inner_method_and_is_seeded() {
    let mut rng = Rng::new(14);
    let net = Network::init(&zoo::spec("A").unwrap(), 3, &dev()).unwrap();
    let x = random_input(&mut rng, &[2, 1, 28, 28]);
    let target = Target::predicted();
    let plain = flat(&Saliency::default().attribute(&net, &x, &target).unwrap());
    let sg0 = SmoothGrad {
        samples: 1,
        noise: Noise::Absolute(0.0),
        ..SmoothGrad::new(Saliency::default())
    };
    assert!(close(
        &flat(&sg0.attribute(&net, &x, &target).unwrap()),
        &plain,
        1e-6
    ));
    let ixg = SmoothGrad {
        samples: 3,
        noise: Noise::Relative(0.0),
        ..SmoothGrad::new(InputXGradient)
    };
    assert!(close(
        &flat(&ixg.attribute(&net, &x, &target).unwrap()),
        &flat(&InputXGradient.attribute(&net, &x, &target).unwrap()),
        1e-5
    ));

    let sg = SmoothGrad {
        samples: 8,
        batch_size: 5,
        ..SmoothGrad::new(Saliency::default())
    };
    let a = flat(&sg.attribute(&net, &x, &target).unwrap());
    assert_eq!(
        a,
        flat(&sg.attribute(&net, &x, &target).unwrap()),
        "same seed, same map"
    );
    let other = SmoothGrad {
        seed: 1,
        ..sg.clone()
    };
    assert_ne!(a, flat(&other.attribute(&net, &x, &target).unwrap()));
    assert!(!close(&a, &plain, 1e-3), "noise changed nothing");
    for variant in [SmoothGradVariant::Squared, SmoothGradVariant::VarGrad] {
        let v = SmoothGrad {
            variant,
            ..sg.clone()
        };
        assert!(
            flat(&v.attribute(&net, &x, &target).unwrap())
                .iter()
                .all(|&a| a >= 0.0),
            "{variant:?}"
        );
    }
    let bad = SmoothGrad {
        samples: 0,
        ..sg.clone()
    };
    assert!(bad.attribute(&net, &x, &target).is_err());
    let bad = SmoothGrad {
        noise: Noise::Absolute(f32::NAN),
        ..sg
    };
    assert!(bad.attribute(&net, &x, &target).is_err());
}

#[test]
fn relative_noise_has_the_requested_standard_deviation() {
    // A linear model's gradient does not depend on x: SmoothGrad of gradient × input is
    // w ⊙ mean(x + ε), and its deviation from w ⊙ x reveals the noise mean; instead measure the
    // noise through VarGrad of InputXGradient: Var[w ⊙ (x + ε)] = w² σ².
    let mut rng = Rng::new(15);
    let net = smooth_model(&mut rng);
    let x = t(&[0.0, 1.0, 0.5, 0.25, 0.75, 0.0], &[1, 1, 2, 3]); // range 1
    let sg = SmoothGrad {
        samples: 4000,
        noise: Noise::Relative(0.2),
        variant: SmoothGradVariant::VarGrad,
        ..SmoothGrad::new(InputXGradient)
    };
    let var = flat(&sg.attribute(&net, &x, &Target::class(0)).unwrap());
    let w = flat(&net.parameters()[0].1);
    for i in 0..6 {
        let want = w[i] * w[i] * 0.04;
        assert!(
            (var[i] - want).abs() < 0.1 * want,
            "{i}: {} vs {want}",
            var[i]
        );
    }
}

#[test]
fn conformance_batches_targets_and_errors() {
    let mut rng = Rng::new(16);
    let net = Network::init(&zoo::spec("E").unwrap(), 4, &dev()).unwrap();
    let x = random_input(&mut rng, &[3, 1, 28, 28]);
    let classes = vec![3usize, 5, 9];
    let methods: Vec<(&str, Box<dyn Attribution>)> = vec![
        ("saliency", Box::new(Saliency::default())),
        ("sensitivity", Box::new(Saliency::sensitivity())),
        ("input_x_gradient", Box::new(InputXGradient)),
        (
            "integrated_gradients",
            Box::new(IntegratedGradients {
                steps: 8,
                ..Default::default()
            }),
        ),
        (
            "smooth_grad",
            Box::new(SmoothGrad {
                samples: 2,
                noise: Noise::Absolute(0.0),
                ..SmoothGrad::new(Saliency::default())
            }),
        ),
        ("occlusion", Box::new(Occlusion::new((6, 6), (4, 4)))),
    ];
    for (name, m) in &methods {
        let batch = m
            .attribute(&net, &x, &Target::classes(classes.clone()))
            .unwrap();
        assert_eq!(batch.dims(), x.dims(), "{name}");
        for (i, &c) in classes.iter().enumerate() {
            let xi = x.narrow(0, i, 1).unwrap();
            let one = m.attribute(&net, &xi, &Target::class(c)).unwrap();
            assert!(
                close(&flat(&batch.narrow(0, i, 1).unwrap()), &flat(&one), 1e-4),
                "{name}: example {i}"
            );
        }
        let err = m
            .attribute(&net, &x, &Target::class(10))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("class 10") && err.contains("10 outputs"),
            "{name}: {err}"
        );
        let err = m
            .attribute(&net, &x, &Target::classes(vec![1, 2]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("2 classes given for a batch of 3"),
            "{name}: {err}"
        );
        let wrong = random_input(&mut rng, &[1, 1, 27, 28]);
        let err = m
            .attribute(&net, &wrong, &Target::class(0))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expected input [N, 1, 28, 28]"),
            "{name}: {err}"
        );
        let empty = x.narrow(0, 0, 0).unwrap();
        let err = m
            .attribute(&net, &empty, &Target::class(0))
            .unwrap_err()
            .to_string();
        assert!(err.contains("the batch is empty"), "{name}: {err}");
        let nan = (x.clone() * f64::NAN).unwrap();
        let err = m
            .attribute(&net, &nan, &Target::class(0))
            .unwrap_err()
            .to_string();
        assert!(err.contains("NaN"), "{name}: {err}");
    }
}

#[test]
fn scores_softmax_sum_of_logits_and_predicted() {
    let mut rng = Rng::new(17);
    let net = smooth_model(&mut rng);
    let x = random_input(&mut rng, &[2, 1, 2, 3]);
    let logits = net.forward(&x).unwrap().to_vec2::<f32>().unwrap();
    // the sum-of-logits gradient is the sum of the per-class gradients
    let sum = flat(
        &Saliency::default()
            .attribute(
                &net,
                &x,
                &Target::predicted().with_score(Score::SumOfLogits),
            )
            .unwrap(),
    );
    let mut want = vec![0f32; sum.len()];
    for c in 0..3 {
        let g = flat(
            &Saliency::default()
                .attribute(&net, &x, &Target::class(c))
                .unwrap(),
        );
        want.iter_mut().zip(g).for_each(|(w, v)| *w += v);
    }
    assert!(close(&sum, &want, 1e-5));
    // softmax score value and predicted class
    let t = Target::predicted().with_score(Score::Softmax);
    let s = flat(&t.score(&net.forward(&x).unwrap()).unwrap());
    for (row, sv) in logits.iter().zip(s) {
        let m = row.iter().cloned().fold(f32::MIN, f32::max);
        let z: f32 = row.iter().map(|v| (v - m).exp()).sum();
        assert!(
            (sv - 1.0 / z).abs() < 1e-6,
            "softmax of the predicted class"
        );
    }
}

#[test]
fn simple_taylor_is_conservative_on_a_bias_free_relu_network() {
    // B0 has no biases: the logit is positively homogeneous, so Σ x ⊙ ∇f = f(x) (Euler).
    let mut rng = Rng::new(18);
    let net = Network::init(&zoo::spec("B0").unwrap(), 5, &dev()).unwrap();
    let x = random_input(&mut rng, &[4, 1, 28, 28]);
    let target = Target::classes(vec![0, 3, 6, 9]);
    let r = InputXGradient.attribute(&net, &x, &target).unwrap();
    let sums = flat(&r.flatten_from(1).unwrap().sum(1).unwrap());
    let scores = flat(&target.score(&net.forward(&x).unwrap()).unwrap());
    assert!(close(&sums, &scores, 1e-4), "{sums:?} vs {scores:?}");
}

/// Occlusion by brute force, as its definition reads: for every pixel, the mean score drop of the
/// windows (positions `0, s, 2s, …` while `k·s < len − side + s`, clipped; through every channel)
/// that cover it. `x` is one image `[1, C, H, W]`.
fn occlusion_by_definition(
    net: &Network,
    x: &Tensor,
    class: usize,
    occ: &Occlusion,
    fill: f32,
) -> Vec<f32> {
    let (_, c, h, w) = x.dims4().unwrap();
    let score = |img: &[f32]| {
        let t = Tensor::from_vec(img.to_vec(), (1, c, h, w), &dev()).unwrap();
        flat(
            &Target::class(class)
                .score(&net.forward(&t).unwrap())
                .unwrap(),
        )[0]
    };
    let img = flat(x);
    let clean = score(&img);
    let axis = |len: usize, side: usize, stride: usize| {
        (0..)
            .map(move |k| k * stride)
            .take_while(move |&s| s < len - side + stride)
    };
    let (mut sum, mut count) = (vec![0f32; h * w], vec![0f32; h * w]);
    for r0 in axis(h, occ.window.0, occ.strides.0) {
        for c0 in axis(w, occ.window.1, occ.strides.1) {
            // pixel p = (row, column) of the plane; value i of the image is pixel i % (h·w)
            let inside = |p: usize| {
                (r0..r0 + occ.window.0).contains(&(p / w))
                    && (c0..c0 + occ.window.1).contains(&(p % w))
            };
            let covered: Vec<f32> = (0..c * h * w)
                .map(|i| if inside(i % (h * w)) { fill } else { img[i] })
                .collect();
            let drop = clean - score(&covered);
            for p in (0..h * w).filter(|&p| inside(p)) {
                sum[p] += drop;
                count[p] += 1.0;
            }
        }
    }
    assert!(count.iter().all(|&n| n > 0.0), "a pixel is not covered");
    // The same map on every channel.
    let plane: Vec<f32> = sum.iter().zip(&count).map(|(s, n)| s / n).collect();
    plane.iter().cycle().take(c * h * w).copied().collect()
}

#[test]
fn occlusion_covers_every_channel_of_a_window() {
    let mut rng = Rng::new(22);
    // A linear model on 3 × 4 × 5 inputs, 2 classes.
    let net = linear_model(&mut rng, [3, 4, 5], 2);
    let x = random_input(&mut rng, &[2, 3, 4, 5]);
    let t2 = Target::classes(vec![1usize, 0]);
    // 1 × 1 windows: the drop of a pixel is Σ_c w_c x_c, the channel sum of x ⊙ ∇s, on every
    // channel.
    let one = flat(
        &Occlusion::new((1, 1), (1, 1))
            .attribute(&net, &x, &t2)
            .unwrap(),
    );
    let ixg = flat(&InputXGradient.attribute(&net, &x, &t2).unwrap());
    for n in 0..2 {
        for p in 0..20 {
            let sum: f32 = (0..3).map(|c| ixg[n * 60 + c * 20 + p]).sum();
            for c in 0..3 {
                assert!((one[n * 60 + c * 20 + p] - sum).abs() < 1e-5, "{n} {c} {p}");
            }
        }
    }
    // Larger windows and a constant baseline.
    let occ = Occlusion::new((2, 3), (1, 2)).with_baseline(Baseline::Constant(0.25));
    let r = flat(&occ.attribute(&net, &x, &t2).unwrap());
    for (n, class) in [(0usize, 1usize), (1, 0)] {
        let xi = x.narrow(0, n, 1).unwrap();
        let want = occlusion_by_definition(&net, &xi, class, &occ, 0.25);
        assert!(close(&r[n * 60..(n + 1) * 60], &want, 1e-5), "example {n}");
    }
}

#[test]
fn occlusion_equals_its_definition_and_is_gradient_times_input_for_1x1_windows_of_a_linear_model() {
    let mut rng = Rng::new(21);
    // A linear model: a 1 × 1 window removes w_i x_i from the score, so R = x ⊙ ∇s exactly.
    let net = smooth_model(&mut rng);
    let x = random_input(&mut rng, &[2, 1, 2, 3]);
    let t2 = Target::classes(vec![0usize, 2]);
    let one = Occlusion::new((1, 1), (1, 1))
        .attribute(&net, &x, &t2)
        .unwrap();
    let ixg = InputXGradient.attribute(&net, &x, &t2).unwrap();
    assert!(close(&flat(&one), &flat(&ixg), 1e-5));
    // A 2 × 2 window moved by 1: each corner pixel is covered once, the middle column twice.
    let occ = Occlusion::new((2, 2), (1, 1));
    assert_eq!(occ.positions(2, 3).unwrap(), vec![(0, 0), (0, 1)]);
    let r = flat(&occ.attribute(&net, &x, &Target::class(1)).unwrap());
    for i in 0..2 {
        let xi = x.narrow(0, i, 1).unwrap();
        let want = occlusion_by_definition(&net, &xi, 1, &occ, 0.0);
        assert!(
            close(&r[i * 6..(i + 1) * 6], &want, 1e-5),
            "{r:?} vs {want:?}"
        );
    }

    // A CNN, windows clipped at the border (rows 0, 3, …, 24 and columns 0, 5, …, 25 of 28: the
    // last windows hold 4 rows and 3 columns), a constant baseline, and passes of a few occluded
    // inputs each.
    let cnn = Network::init(&zoo::spec("E").unwrap(), 5, &dev()).unwrap();
    let x = random_input(&mut rng, &[2, 1, 28, 28]);
    let occ = Occlusion {
        batch_size: 7,
        ..Occlusion::new((5, 5), (3, 5)).with_baseline(Baseline::Constant(0.5))
    };
    let pos = occ.positions(28, 28).unwrap();
    assert_eq!(pos.len(), 9 * 6);
    assert_eq!(pos.last(), Some(&(24, 25)));
    let r = flat(
        &occ.attribute(&cnn, &x, &Target::classes(vec![4usize, 7]))
            .unwrap(),
    );
    for (i, class) in [(0usize, 4usize), (1, 7)] {
        let xi = x.narrow(0, i, 1).unwrap();
        let want = occlusion_by_definition(&cnn, &xi, class, &occ, 0.5);
        assert!(
            close(&r[i * 784..(i + 1) * 784], &want, 1e-4),
            "example {i}"
        );
    }
    // One pass or many: the same map.
    let big = Occlusion {
        batch_size: 10_000,
        ..occ.clone()
    };
    let r_big = flat(
        &big.attribute(&cnn, &x, &Target::classes(vec![4usize, 7]))
            .unwrap(),
    );
    assert!(close(&r, &r_big, 1e-6));
}

#[test]
fn occlusion_rejects_windows_and_strides_that_do_not_fit() {
    let net = Network::init(&zoo::spec("E").unwrap(), 4, &dev()).unwrap();
    let x = Tensor::zeros((1, 1, 28, 28), nnviz_core::candle::DType::F32, &dev()).unwrap();
    let err = |o: Occlusion| {
        o.attribute(&net, &x, &Target::class(0))
            .unwrap_err()
            .to_string()
    };
    assert!(err(Occlusion::new((29, 4), (1, 1))).contains("window height 29 must be in 1..=28"));
    assert!(err(Occlusion::new((4, 0), (1, 1))).contains("window width 0"));
    assert!(
        err(Occlusion::new((4, 4), (0, 1))).contains("stride along the height 0 must be in 1..=4")
    );
    assert!(err(Occlusion::new((4, 4), (2, 5))).contains("would leave pixels uncovered"));
    // A window as large as the image may take any stride: there is one position.
    assert_eq!(
        Occlusion::new((28, 28), (50, 50))
            .positions(28, 28)
            .unwrap(),
        vec![(0, 0)]
    );
}

/// The device under test: the GPU when built with `cuda` and one is present (see tests/gpu.rs).
fn dev() -> Device {
    nnviz_core::device()
}

#[test]
fn every_registered_method_rejects_an_empty_batch_by_name() {
    use nnviz_core::methods::registry::{build, METHODS};
    let e = Network::init(&zoo::spec("E").unwrap(), 4, &dev()).unwrap();
    let g = Network::init(&zoo::spec("G").unwrap(), 4, &dev()).unwrap(); // CAM needs a GAP head
    for m in METHODS {
        let net = if m.name == "cam" { &g } else { &e };
        let [c, h, w] = net.input;
        let empty = Tensor::zeros((0, c, h, w), nnviz_core::candle::DType::F32, &dev()).unwrap();
        let err = build(m.name, &[])
            .unwrap()
            .attribute(net, &empty, &Target::predicted())
            .unwrap_err()
            .to_string();
        assert!(err.contains("the batch is empty"), "{}: {err}", m.name);
    }
}

#[test]
fn gradient_shap_of_a_linear_model_is_weight_times_difference_to_the_drawn_baselines() {
    let mut rng = Rng::new(21);
    let net = smooth_model(&mut rng);
    let x = random_input(&mut rng, &[2, 1, 2, 3]);
    let w = flat(&net.parameters()[0].1)[6..12].to_vec(); // row 1 of [3, 6]
    let xv = flat(&x);
    // one reference: every draw gives w ⊙ (x − x̄), whatever α
    let one = GradientShap {
        baselines: References::Constant(0.25),
        samples: 7,
        ..GradientShap::default()
    };
    let got = flat(&one.attribute(&net, &x, &Target::class(1)).unwrap());
    let want: Vec<f32> = (0..12).map(|i| w[i % 6] * (xv[i] - 0.25)).collect();
    assert!(close(&got, &want, 1e-5), "{got:?} vs {want:?}");
    // two references 0 and 1: φ = w ⊙ (x − mean of the drawn baselines), so every coordinate of
    // φ / w − x is minus the same fraction of draws of the second reference, a multiple of 1/S
    let refs = t(&[vec![0f32; 6], vec![1f32; 6]].concat(), &[2, 1, 2, 3]);
    let samples = 400;
    let two = GradientShap {
        samples,
        seed: 3,
        ..GradientShap::with_baselines(refs.clone())
    };
    let got = flat(&two.attribute(&net, &x, &Target::class(1)).unwrap());
    for n in 0..2 {
        let share: Vec<f32> = (0..6)
            .map(|i| xv[n * 6 + i] - got[n * 6 + i] / w[i])
            .collect();
        assert!(
            share.iter().all(|s| (s - share[0]).abs() < 1e-4),
            "{share:?}"
        );
        let k = share[0] * samples as f32;
        assert!((k - k.round()).abs() < 1e-2, "{k}");
        // the draws are uniform: close to half of them pick the second reference
        assert!((share[0] - 0.5).abs() < 0.1, "{share:?}");
    }
    // seeded; the batch size does not change the draws
    let again = GradientShap {
        batch_size: 3,
        ..two.clone()
    };
    assert_eq!(
        got,
        flat(&again.attribute(&net, &x, &Target::class(1)).unwrap())
    );
}

#[test]
fn gradient_shap_is_complete_in_expectation_and_near_integrated_gradients() {
    // The mean of Σφ over many draws approaches s(x) − s(x̄), and φ approaches integrated
    // gradients from the same (single) baseline; a single draw does neither.
    let mut rng = Rng::new(22);
    let net = Network::init(&zoo::spec("A").unwrap(), 5, &dev()).unwrap();
    // bright inputs: logits of several units, so that the softmax saturates along the path
    let x = (random_input(&mut rng, &[2, 1, 28, 28]) * 12.0).unwrap();
    // the softmax probability: the gradient changes all along the path, so the draws matter
    let target = Target::classes(vec![3, 8]).with_score(Score::Softmax);
    let shap = GradientShap {
        samples: 4000,
        ..GradientShap::default()
    }
    .attribute(&net, &x, &target)
    .unwrap();
    let ig = IntegratedGradients {
        steps: 400,
        quadrature: Quadrature::RiemannMiddle,
        ..Default::default()
    };
    let (ig_map, _) = ig.attribute_with_delta(&net, &x, &target).unwrap();
    let logits = net.forward(&x).unwrap();
    let zero = net.forward(&x.zeros_like().unwrap()).unwrap();
    let (s, s0) = (
        flat(&target.score(&logits).unwrap()),
        flat(&target.score(&zero).unwrap()),
    );
    let (a, b) = (flat(&shap), flat(&ig_map));
    for n in 0..2 {
        let r = n * 784..(n + 1) * 784;
        let total: f32 = a[r.clone()].iter().sum();
        let want = s[n] - s0[n];
        assert!(
            (total - want).abs() < 0.03 * want.abs(),
            "{total} vs {want}"
        );
        let diff: f32 = a[r.clone()]
            .iter()
            .zip(&b[r.clone()])
            .map(|(p, q)| (p - q).powi(2))
            .sum::<f32>()
            .sqrt();
        let norm: f32 = b[r].iter().map(|q| q * q).sum::<f32>().sqrt();
        assert!(diff < 0.1 * norm, "relative L2 {}", diff / norm);
    }
    let one = GradientShap {
        samples: 1,
        seed: 1,
        ..GradientShap::default()
    }
    .attribute(&net, &x, &target)
    .unwrap();
    let one_total: f32 = flat(&one)[..784].iter().sum();
    let want = s[0] - s0[0];
    assert!(
        (one_total - want).abs() > 0.2 * want.abs(),
        "{one_total} vs {want}"
    );
    // noise changes the map; bad settings are errors by name
    let noisy = GradientShap {
        samples: 4,
        stdev: 0.1,
        ..GradientShap::default()
    };
    assert!(noisy.attribute(&net, &x, &target).is_ok());
    let err = |g: GradientShap| g.attribute(&net, &x, &target).unwrap_err().to_string();
    assert!(err(GradientShap {
        samples: 0,
        ..GradientShap::default()
    })
    .contains("samples"));
    assert!(err(GradientShap {
        stdev: -1.0,
        ..GradientShap::default()
    })
    .contains("σ"));
    assert!(err(GradientShap::with_baselines(t(&[0.0; 4], &[1, 1, 2, 2]))).contains("baselines"));
    assert!(err(GradientShap {
        baselines: References::Constant(f32::NAN),
        ..GradientShap::default()
    })
    .contains("finite"));
}
