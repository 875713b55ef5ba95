use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::*;
use crate::model::LayerSpec::{Flatten, Linear, Relu};
use crate::model::{LayerSpec, NetworkSpec};

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
}

fn rows(x: &Tensor) -> Vec<Vec<f32>> {
    x.to_vec2::<f32>().unwrap()
}

fn assert_close(a: &[Vec<f32>], b: &[Vec<f32>], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (ra, rb) in a.iter().zip(b) {
        assert_eq!(ra.len(), rb.len());
        for (x, y) in ra.iter().zip(rb) {
            assert!((x - y).abs() <= tol, "{ra:?} vs {rb:?}");
        }
    }
}

fn linear(i: usize, o: usize, bias: bool) -> LayerSpec {
    Linear {
        in_features: i,
        out_features: o,
        bias,
    }
}

fn build(spec: NetworkSpec, params: &[(&str, Vec<f32>, Vec<usize>)]) -> Network {
    let params = params
        .iter()
        .map(|(k, v, s)| (k.to_string(), t(v, s)))
        .collect::<HashMap<_, _>>();
    Network::from_parts(&spec, params).unwrap()
}

/// `s = 2 relu(x0 + x1 − 1) + 3 relu(x3)` on 1 × 2 × 2 (pixel 2 ignored): an AND of pixels 0 and
/// 1, a dummy and an additive pixel.
fn hand_net() -> Network {
    let spec = NetworkSpec::new("hand", [1, 2, 2])
        .push("flatten", Flatten)
        .push("fc1", linear(4, 2, true))
        .push("relu", Relu)
        .push("fc2", linear(2, 1, false));
    build(
        spec,
        &[
            (
                "fc1.weight",
                vec![1., 1., 0., 0., 0., 0., 0., 1.],
                vec![2, 4],
            ),
            ("fc1.bias", vec![-1., 0.], vec![2]),
            ("fc2.weight", vec![2., 3.], vec![1, 2]),
        ],
    )
}

/// The 16-6-3 ReLU MLP of scripts/compare_captum_shapley.py.
fn captum_mlp() -> Network {
    let f = |n: usize, g: &dyn Fn(usize) -> f32| (0..n).map(g).collect::<Vec<f32>>();
    let spec = NetworkSpec::new("mlp", [1, 4, 4])
        .push("flatten", Flatten)
        .push("fc1", linear(16, 6, true))
        .push("relu", Relu)
        .push("fc2", linear(6, 3, true));
    build(
        spec,
        &[
            (
                "fc1.weight",
                f(96, &|k| 0.5 * (0.37f32 * k as f32 + 0.1).sin()),
                vec![6, 16],
            ),
            (
                "fc1.bias",
                f(6, &|o| 0.1 * (1.3f32 * o as f32).cos()),
                vec![6],
            ),
            (
                "fc2.weight",
                f(18, &|k| 0.6 * (0.71f32 * k as f32 + 0.2).cos()),
                vec![3, 6],
            ),
            ("fc2.bias", f(3, &|o| 0.05 * (o as f32 - 1.0)), vec![3]),
        ],
    )
}

fn captum_x() -> Tensor {
    let v: Vec<f32> = (0..32)
        .map(|k| {
            let (n, j) = ((k / 16) as f32, (k % 16) as f32);
            0.5 + 0.5 * (1.1 * j + 0.7 * n).sin()
        })
        .collect();
    t(&v, &[2, 1, 4, 4])
}

fn irregular() -> Features {
    let ids = vec![0, 0, 1, 1, 0, 2, 2, 1, 3, 2, 5, 5, 3, 3, 4, 5];
    Features::Mask(FeatureMask::new(ids, (4, 4)).unwrap())
}

/// `s_c = w_c · x + b_c` on 1 × 4 × 4, three classes.
fn linear_net() -> Network {
    let spec = NetworkSpec::new("lin", [1, 4, 4])
        .push("flatten", Flatten)
        .push("fc", linear(16, 3, true));
    let w: Vec<f32> = (0..48).map(|k| (0.9 * k as f32 + 0.3).sin()).collect();
    build(
        spec,
        &[
            ("fc.weight", w, vec![3, 16]),
            ("fc.bias", vec![0.1, -0.2, 0.3], vec![3]),
        ],
    )
}

fn targets() -> Target {
    Target::classes(vec![0, 2])
}

fn scores(net: &Network, x: &Tensor, target: &Target) -> Vec<f32> {
    target
        .score(&net.forward(x).unwrap())
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[test]
fn feature_ablation_and_shapley_values_match_captum() {
    // scripts/compare_captum_shapley.py, Captum 0.9.
    #[rustfmt::skip]
    let patches_fa = [
        vec![9.002322e-01, 1.645734e-02, -8.143062e-01, -1.598527e-01],
        vec![-7.217758e-01, 6.169228e-02, 1.240549e+00, 6.698003e-01],
    ];
    #[rustfmt::skip]
    let patches_sv = [
        vec![5.869642e-01, 2.270331e-01, -7.239469e-01, -8.608967e-02],
        vec![-5.87472e-01, -5.307154e-01, 7.720158e-01, 3.985412e-01],
    ];
    #[rustfmt::skip]
    let irregular_fa = [
        vec![6.688294e-01, 6.337096e-02, -3.431644e-03, -6.329649e-01, -2.590055e-02, 7.310925e-02],
        vec![-3.744408e-01, 1.719938e-02, 8.213058e-03, 1.008535e+00, 6.050302e-02, 2.039407e-01],
    ];
    #[rustfmt::skip]
    let irregular_sv = [
        vec![4.353447e-01, 1.846507e-01, -7.571863e-02, -5.219457e-01, -4.742288e-03, 5.960741e-02],
        vec![-3.090336e-01, -1.91093e-01, -2.885747e-01, 6.299423e-01, 3.658377e-02, 1.42804e-01],
    ];
    let (net, x, tg) = (captum_mlp(), captum_x(), targets());
    for (features, baseline, fa, sv) in [
        (
            Features::Patches(2, 2),
            Baseline::Zero,
            &patches_fa,
            &patches_sv,
        ),
        (
            irregular(),
            Baseline::Constant(0.2),
            &irregular_fa,
            &irregular_sv,
        ),
    ] {
        let ablation = FeatureAblation::new(2)
            .with_features(features.clone())
            .with_baseline(baseline.clone());
        let exact = ShapleyValues::new(2)
            .with_features(features)
            .with_baseline(baseline);
        assert_close(
            &rows(&ablation.feature_values(&net, &x, &tg).unwrap()),
            fa,
            2e-6,
        );
        assert_close(
            &rows(&exact.feature_values(&net, &x, &tg).unwrap()),
            sv,
            2e-6,
        );
    }
}

#[test]
fn hand_computed_interaction_dummy_and_additive_pixel() {
    // x = [1, 1, 5, 2]: v(S) = 2·[0, 1 ∈ S] + 6·[3 ∈ S].
    let (net, x, tg) = (
        hand_net(),
        t(&[1., 1., 5., 2.], &[1, 1, 2, 2]),
        Target::class(0),
    );
    let one = Features::Patches(1, 1);
    let fa = FeatureAblation::new(1)
        .feature_values(&net, &x, &tg)
        .unwrap();
    assert_close(&rows(&fa), &[vec![2., 2., 0., 6.]], 1e-6);
    let sv = ShapleyValues::new(1).feature_values(&net, &x, &tg).unwrap();
    assert_close(&rows(&sv), &[vec![1., 1., 0., 6.]], 1e-6);
    let ks = KernelShap::new(1, 14)
        .feature_values(&net, &x, &tg)
        .unwrap();
    assert_close(&rows(&ks), &[vec![1., 1., 0., 6.]], 1e-6);
    // Each ordering credits the AND to whichever of pixels 0 and 1 joins second.
    let sampling = ShapleyValueSampling::new(1, 7).with_features(one);
    let s = &rows(&sampling.feature_values(&net, &x, &tg).unwrap())[0];
    assert!((s[0] + s[1] - 2.0).abs() < 1e-6 && s[2] == 0.0 && (s[3] - 6.0).abs() < 1e-6);
    let second = s[0] / 2.0 * 7.0;
    assert!((second - second.round()).abs() < 1e-5, "{s:?}");
    // attribute spreads each feature's value over its pixels.
    let map = ShapleyValues::new(1).attribute(&net, &x, &tg).unwrap();
    assert_eq!(map.dims(), [1, 1, 2, 2]);
    assert_eq!(
        map.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        [1., 1., 0., 6.]
    );
}

#[test]
fn every_method_is_exact_on_a_linear_model() {
    let net = linear_net();
    let x = t(
        &(0..32).map(|k| (1.7 * k as f32).cos()).collect::<Vec<_>>(),
        &[2, 1, 4, 4],
    );
    let b = t(
        &(0..16).map(|k| 0.1 * k as f32).collect::<Vec<_>>(),
        &[1, 4, 4],
    );
    let tg = targets();
    let mask = FeatureMask::grid((4, 4), (2, 2)).unwrap();
    let (xv, bv) = (
        x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        b.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
    );
    let w: Vec<f32> = (0..48).map(|k| (0.9 * k as f32 + 0.3).sin()).collect();
    let expected: Vec<Vec<f32>> = [0usize, 2]
        .iter()
        .enumerate()
        .map(|(n, &c)| {
            let mut phi = vec![0f32; 4];
            for (p, &j) in mask.ids().iter().enumerate() {
                phi[j] += w[c * 16 + p] * (xv[n * 16 + p] - bv[p]);
            }
            phi
        })
        .collect();
    let base = Baseline::Tensor(b);
    let methods: Vec<(&str, Tensor)> = vec![
        (
            "ablation",
            FeatureAblation::new(2)
                .with_baseline(base.clone())
                .feature_values(&net, &x, &tg)
                .unwrap(),
        ),
        (
            "exact",
            ShapleyValues::new(2)
                .with_baseline(base.clone())
                .feature_values(&net, &x, &tg)
                .unwrap(),
        ),
        (
            "sampling",
            ShapleyValueSampling::new(2, 3)
                .with_baseline(base.clone())
                .feature_values(&net, &x, &tg)
                .unwrap(),
        ),
        (
            "kernel",
            KernelShap::new(2, 30)
                .with_baseline(base.clone())
                .feature_values(&net, &x, &tg)
                .unwrap(),
        ),
        (
            "kernel-all",
            KernelShap::new(2, 14)
                .with_baseline(base.clone())
                .feature_values(&net, &x, &tg)
                .unwrap(),
        ),
        (
            // without the penalty LIME's regression is exact on a linear model, whatever the
            // kernel weights
            "lime, α = 0",
            Lime {
                alpha: 0.0,
                ..Lime::new(2, 40)
            }
            .with_baseline(base)
            .feature_values(&net, &x, &tg)
            .unwrap(),
        ),
    ];
    for (name, v) in methods {
        eprintln!("{name}");
        assert_close(&rows(&v), &expected, 1e-5);
    }
}

#[test]
fn efficiency_and_kernel_shap_with_all_coalitions_equals_exact() {
    let (net, x, tg) = (captum_mlp(), captum_x(), targets());
    let b = Baseline::Constant(0.2);
    let full = scores(&net, &x, &tg);
    let empty = scores(&net, &(x.zeros_like().unwrap() + 0.2).unwrap(), &tg);
    let exact = ShapleyValues::new(1)
        .with_features(irregular())
        .with_baseline(b.clone())
        .feature_values(&net, &x, &tg)
        .unwrap();
    let all = KernelShap::new(1, 62)
        .with_features(irregular())
        .with_baseline(b.clone())
        .feature_values(&net, &x, &tg)
        .unwrap();
    assert_close(&rows(&all), &rows(&exact), 1e-5);
    let sampled = [
        ShapleyValueSampling::new(1, 5)
            .with_features(irregular())
            .with_baseline(b.clone())
            .feature_values(&net, &x, &tg)
            .unwrap(),
        KernelShap::new(1, 20)
            .with_features(irregular())
            .with_baseline(b)
            .feature_values(&net, &x, &tg)
            .unwrap(),
    ];
    for v in [exact, all].iter().chain(&sampled) {
        for (n, row) in rows(v).iter().enumerate() {
            let sum: f32 = row.iter().sum();
            assert!(
                (sum - (full[n] - empty[n])).abs() < 1e-5,
                "{sum} vs {}",
                full[n] - empty[n]
            );
        }
    }
    // Sampled values differ from exact (the network has interactions).
    assert!(rows(&sampled[0]) != rows(&sampled[1]));
}

#[test]
fn sampling_converges_to_the_exact_values() {
    let (net, x, tg) = (captum_mlp(), captum_x(), targets());
    let exact = rows(
        &ShapleyValues::new(1)
            .with_features(irregular())
            .feature_values(&net, &x, &tg)
            .unwrap(),
    );
    let err = |v: &Tensor| -> f32 {
        rows(v)
            .iter()
            .flatten()
            .zip(exact.iter().flatten())
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f32>()
            .sqrt()
    };
    let mean_err = |make: &dyn Fn(usize, u64) -> Tensor, samples: usize| -> f32 {
        (0..4).map(|seed| err(&make(samples, seed))).sum::<f32>() / 4.0
    };
    let sampling = |s: usize, seed: u64| {
        ShapleyValueSampling {
            seed,
            ..ShapleyValueSampling::new(1, s).with_features(irregular())
        }
        .feature_values(&net, &x, &tg)
        .unwrap()
    };
    let kernel = |s: usize, seed: u64| {
        KernelShap {
            seed,
            ..KernelShap::new(1, s).with_features(irregular())
        }
        .feature_values(&net, &x, &tg)
        .unwrap()
    };
    let (s4, s256) = (mean_err(&sampling, 4), mean_err(&sampling, 256));
    assert!(s256 < s4 / 4.0 && s256 < 0.1, "sampling: {s4} -> {s256}");
    // 61 of the 62 coalitions: not all, so sampled; plenty of draws approach exact.
    let (k12, k2000) = (mean_err(&kernel, 12), mean_err(&kernel, 2000));
    assert!(k2000 < k12 / 3.0 && k2000 < 0.1, "kernel: {k12} -> {k2000}");
    // Seeded: the same seed gives the same values.
    assert_eq!(rows(&sampling(8, 3)), rows(&sampling(8, 3)));
    assert_eq!(rows(&kernel(30, 3)), rows(&kernel(30, 3)));
}

#[test]
fn results_do_not_depend_on_batch_size_or_batching() {
    let (net, x, tg) = (captum_mlp(), captum_x(), targets());
    let one = |m: &dyn Fn(usize) -> Tensor| {
        let (a, b) = (m(1), m(500));
        assert_close(&rows(&a), &rows(&b), 1e-6);
    };
    one(&|bs| {
        ShapleyValues {
            batch_size: bs,
            ..ShapleyValues::new(2)
        }
        .feature_values(&net, &x, &tg)
        .unwrap()
    });
    one(&|bs| {
        FeatureAblation {
            batch_size: bs,
            ..FeatureAblation::new(2)
        }
        .feature_values(&net, &x, &tg)
        .unwrap()
    });
    one(&|bs| {
        ShapleyValueSampling {
            batch_size: bs,
            ..ShapleyValueSampling::new(2, 4)
        }
        .feature_values(&net, &x, &tg)
        .unwrap()
    });
    one(&|bs| {
        KernelShap {
            batch_size: bs,
            ..KernelShap::new(2, 9)
        }
        .feature_values(&net, &x, &tg)
        .unwrap()
    });
    one(&|bs| {
        Lime {
            batch_size: bs,
            ..Lime::new(2, 9)
        }
        .feature_values(&net, &x, &tg)
        .unwrap()
    });
    // The batch gives what its examples give one by one.
    let m = KernelShap::new(2, 9);
    let both = rows(&m.feature_values(&net, &x, &tg).unwrap());
    for (n, c) in [(0usize, 0usize), (1, 2)] {
        let xi = x.narrow(0, n, 1).unwrap();
        let alone = rows(&m.feature_values(&net, &xi, &Target::class(c)).unwrap());
        assert_close(&alone, &both[n..n + 1], 1e-6);
    }
}

#[test]
fn spread_gives_every_pixel_and_channel_its_features_value() {
    let mask = FeatureMask::new(vec![1, 0, 1, 2, 2, 0], (2, 3)).unwrap();
    let x = Tensor::zeros((2, 2, 2, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    let v = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let map = spread(&v, &mask, &x).unwrap();
    let flat = map.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let first = [2., 1., 2., 3., 3., 1.];
    let second = [5., 4., 5., 6., 6., 4.];
    assert_eq!(flat, [first, first, second, second].concat());
    assert_eq!(FeatureMask::grid((28, 28), (4, 4)).unwrap().len(), 49);
    assert_eq!(FeatureMask::grid((28, 28), (7, 7)).unwrap().len(), 16);
    let g = FeatureMask::grid((3, 5), (2, 2)).unwrap();
    assert_eq!(g.ids(), [0, 0, 1, 1, 2, 0, 0, 1, 1, 2, 3, 3, 4, 4, 5]);
}

#[test]
fn bad_masks_samples_and_inputs_are_errors_that_name_the_reason() {
    let (net, x, tg) = (captum_mlp(), captum_x(), targets());
    let e = FeatureMask::new(vec![0, 2, 2, 0], (2, 2))
        .unwrap_err()
        .to_string();
    assert!(e.contains("1 is unused"), "{e}");
    let e = FeatureMask::new(vec![0, 1, 2], (2, 2))
        .unwrap_err()
        .to_string();
    assert!(e.contains("3 ids") && e.contains("need 4"), "{e}");
    // a huge id is named before anything is sized by it
    let e = FeatureMask::new(vec![0, 1, usize::MAX, 2], (2, 2))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pixel 2 has id") && e.contains("at most 4"),
        "{e}"
    );
    let e = FeatureMask::grid((4, 4), (5, 1)).unwrap_err().to_string();
    assert!(e.contains("patch 5 × 1"), "{e}");
    let wrong = Features::Mask(FeatureMask::new(vec![0, 1, 2, 3], (2, 2)).unwrap());
    let e = FeatureAblation::new(1)
        .with_features(wrong)
        .attribute(&net, &x, &tg)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not fit") && e.contains("4 × 4"), "{e}");
    // 1 × 1 patches on 5 × 4: 20 features.
    let spec = NetworkSpec::new("lin20", [1, 5, 4])
        .push("flatten", Flatten)
        .push("fc", linear(20, 1, false));
    let n20 = build(spec, &[("fc.weight", vec![1.0; 20], vec![1, 20])]);
    let x20 = t(&[1.0; 20], &[1, 1, 5, 4]);
    let e = ShapleyValues::new(1)
        .feature_values(&n20, &x20, &Target::class(0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("20 features") && e.contains("at most 16"), "{e}");
    // Sampling and KernelSHAP handle 20 features (linear: exact).
    for v in [
        ShapleyValueSampling::new(1, 2)
            .feature_values(&n20, &x20, &Target::class(0))
            .unwrap(),
        KernelShap::new(1, 100)
            .feature_values(&n20, &x20, &Target::class(0))
            .unwrap(),
    ] {
        assert_close(&rows(&v), &[vec![1.0; 20]], 1e-5);
    }
    let e = ShapleyValueSampling::new(1, 0)
        .attribute(&net, &x, &tg)
        .unwrap_err()
        .to_string();
    assert!(e.contains("samples must be at least 1"), "{e}");
    let e = KernelShap::new(1, 0)
        .attribute(&net, &x, &tg)
        .unwrap_err()
        .to_string();
    assert!(e.contains("samples must be at least 1"), "{e}");
    let e = KernelShap::new(1, 2)
        .with_features(irregular())
        .attribute(&net, &x, &tg)
        .unwrap_err()
        .to_string();
    assert!(e.contains("singular") && e.contains("more samples"), "{e}");
    let empty = Tensor::zeros((0, 1, 4, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
    let e = ShapleyValues::new(2)
        .attribute(&net, &empty, &Target::class(0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty"), "{e}");
}

/// `(5s + 3j + (s·j mod 7)) mod 4 < 2`: the coalitions of scripts/compare_captum_lime.py.
fn lime_coalitions(m: usize) -> Vec<Vec<bool>> {
    (0..24)
        .map(|s| {
            (0..m)
                .map(|j| (5 * s + 3 * j + (s * j) % 7) % 4 < 2)
                .collect()
        })
        .collect()
}

#[test]
fn lime_matches_captum() {
    // scripts/compare_captum_lime.py, Captum 0.9 Lime with scikit-learn's Lasso.
    #[rustfmt::skip]
    let patches = [
        vec![5.658659e-01, 1.953251e-01, -7.031372e-01, -5.992388e-02],
        vec![-5.513494e-01, -4.867405e-01, 7.558283e-01, 3.681642e-01],
    ];
    #[rustfmt::skip]
    let irregular_values = [
        vec![5.056389e-01, 7.507374e-02, -6.697098e-02, -5.678875e-01, -1.214954e-03, 1.000033e-01],
        vec![-3.297496e-01, -1.449646e-01, -2.029549e-01, 6.57311e-01, 1.016183e-01, 1.46028e-01],
    ];
    let (net, x, tg) = (captum_mlp(), captum_x(), targets());
    let cosine = Lime::new(2, 1).with_features(Features::Patches(2, 2));
    let got = cosine
        .feature_values_with(&net, &x, &tg, &lime_coalitions(4))
        .unwrap();
    assert_close(&rows(&got), &patches, 2e-6);
    let euclid = Lime {
        distance: LimeDistance::Euclidean,
        kernel_width: 0.75,
        alpha: 0.002,
        ..Lime::new(2, 1)
    }
    .with_features(irregular())
    .with_baseline(Baseline::Constant(0.2));
    let got = euclid
        .feature_values_with(&net, &x, &tg, &lime_coalitions(6))
        .unwrap();
    assert_close(&rows(&got), &irregular_values, 2e-6);
}

#[test]
fn lime_by_hand_one_feature() {
    // One feature (the whole image), coalitions {absent, present}: the cosine kernel weighs x
    // itself 1 and the black image (orthogonal to x) e^(−1/2). With W = the weights over their
    // sum, the Lasso's answer is β = soft(W₀W₁Δ, α) / (W₀W₁), Δ = s(x) − s(0).
    let net = linear_net();
    let x = t(
        &(0..16)
            .map(|k| 0.5 + 0.4 * (k as f32).sin())
            .collect::<Vec<_>>(),
        &[1, 1, 4, 4],
    );
    let tg = Target::class(1);
    let s = scores(&net, &x, &tg)[0] as f64;
    let s0 = scores(&net, &x.zeros_like().unwrap(), &tg)[0] as f64;
    let delta = s - s0;
    let (w0, w1) = ((-0.5f64).exp(), 1.0);
    let (w0, w1) = (w0 / (w0 + w1), w1 / (w0 + w1));
    let coalitions = [vec![false], vec![true]];
    for alpha in [0.0, 0.05, 10.0] {
        let lime = Lime {
            alpha,
            ..Lime::new(4, 1)
        };
        let got = rows(
            &lime
                .feature_values_with(&net, &x, &tg, &coalitions)
                .unwrap(),
        )[0][0] as f64;
        let v = w0 * w1 * delta;
        let want = v.signum() * (v.abs() - alpha).max(0.0) / (w0 * w1);
        assert!(
            (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
            "α {alpha}: {got} vs {want}"
        );
    }
    // a penalty larger than every correlation sets every value to zero
    let (net, x, tg) = (captum_mlp(), captum_x(), targets());
    let zero = Lime {
        alpha: 1e3,
        ..Lime::new(2, 50)
    }
    .feature_values(&net, &x, &tg)
    .unwrap();
    assert!(rows(&zero).iter().flatten().all(|&v| v == 0.0));
    // seeded: the same seed, the same values; another seed, other values
    let a = rows(&Lime::new(2, 30).feature_values(&net, &x, &tg).unwrap());
    let b = rows(&Lime::new(2, 30).feature_values(&net, &x, &tg).unwrap());
    let c = Lime {
        seed: 1,
        ..Lime::new(2, 30)
    };
    assert_eq!(a, b);
    assert_ne!(a, rows(&c.feature_values(&net, &x, &tg).unwrap()));
    // the map spreads the values over the pixels
    let map = Lime::new(2, 30).attribute(&net, &x, &tg).unwrap();
    assert_eq!(map.dims(), x.dims());
}

#[test]
fn lime_rejects_bad_settings_by_name() {
    let (net, x, tg) = (captum_mlp(), captum_x(), targets());
    let err = |l: Lime, z: &[Vec<bool>]| {
        l.feature_values_with(&net, &x, &tg, z)
            .unwrap_err()
            .to_string()
    };
    let ok = lime_coalitions(16);
    let e = err(Lime::new(2, 1), &lime_coalitions(3));
    assert!(e.contains("coalition 0 has 3 entries"), "{e}");
    assert!(err(Lime::new(1, 1), &[]).contains("at least one coalition"));
    let e = err(
        Lime {
            kernel_width: 0.0,
            ..Lime::new(1, 1)
        },
        &ok,
    );
    assert!(e.contains("kernel width"), "{e}");
    let e = err(
        Lime {
            alpha: -1.0,
            ..Lime::new(1, 1)
        },
        &ok,
    );
    assert!(e.contains("penalty α"), "{e}");
    // a kernel so narrow that every coalition weighs 0
    let narrow = Lime {
        distance: LimeDistance::Euclidean,
        kernel_width: 1e-30,
        ..Lime::new(1, 1)
    };
    let e = err(narrow, &[vec![false; 16]]);
    assert!(e.contains("kernel weight 0"), "{e}");
    let e = Lime::new(2, 0)
        .feature_values(&net, &x, &tg)
        .unwrap_err()
        .to_string();
    assert!(e.contains("samples must be at least 1"), "{e}");
}
