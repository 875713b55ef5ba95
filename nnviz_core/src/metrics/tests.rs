//! Metrics: hand-computed tiny cases and the invariants of issue #9 (Quantus's conventions).

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::*;
use crate::attribution::Score;
use crate::methods::{Baseline, InputXGradient, IntegratedGradients, Quadrature, Saliency};
use crate::model::{LayerSpec, NetworkSpec, Padding};
use crate::{Attribution, Network, Rng, Target};

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
}

fn flat(x: &Tensor) -> Vec<f32> {
    host(x).unwrap()
}

fn random_images(rng: &mut Rng, n: usize, h: usize, w: usize) -> Tensor {
    t(
        &(0..n * h * w).map(|_| rng.uniform()).collect::<Vec<_>>(),
        &[n, 1, h, w],
    )
}

/// `s(x) = Σ_i w_i x_i` over a `[1, h, w]` image, one output, no bias.
fn linear_net(h: usize, w: usize, weights: &[f32]) -> Network {
    let spec = NetworkSpec::new("linear", [1, h, w])
        .push("flatten", LayerSpec::Flatten)
        .push(
            "fc",
            LayerSpec::Linear {
                in_features: h * w,
                out_features: 1,
                bias: false,
            },
        );
    let params = HashMap::from([("fc.weight".to_string(), t(weights, &[1, h * w]))]);
    Network::from_parts(&spec, params).unwrap()
}

/// A small bias-free ReLU CNN on `[1, 8, 8]` with 3 classes, seeded.
fn small_cnn(seed: u64) -> Network {
    let spec = NetworkSpec::new("small", [1, 8, 8])
        .push(
            "conv1",
            LayerSpec::Conv2d {
                in_channels: 1,
                out_channels: 4,
                kernel: [3, 3],
                stride: 1,
                padding: Padding::Same,
                bias: false,
            },
        )
        .push("relu1", LayerSpec::Relu)
        .push("flatten", LayerSpec::Flatten)
        .push(
            "fc1",
            LayerSpec::Linear {
                in_features: 256,
                out_features: 16,
                bias: false,
            },
        )
        .push("relu2", LayerSpec::Relu)
        .push(
            "fc2",
            LayerSpec::Linear {
                in_features: 16,
                out_features: 3,
                bias: false,
            },
        );
    Network::init(&spec, seed, &Device::Cpu).unwrap()
}

/// An explanation that ignores the model: every value 1.
struct Constant;

impl Attribution for Constant {
    fn attribute(&self, _net: &Network, x: &Tensor, _target: &Target) -> crate::Result<Tensor> {
        Ok(x.ones_like()?)
    }
}

// ---------------------------------------------------------------- translation

#[test]
fn translation_by_zero_leaves_the_input_unchanged() {
    let x = random_images(&mut Rng::new(1), 3, 7, 9);
    assert_eq!(flat(&translate(&x, 0.0, 0.0).unwrap()), flat(&x));
    assert_eq!(flat(&translate_batch(&x, &[0.0]).unwrap()), flat(&x));
}

#[test]
fn integer_translation_shifts_exactly_by_k_with_a_zero_border() {
    let (h, w) = (6, 7);
    let x = random_images(&mut Rng::new(2), 2, h, w);
    let v = flat(&x);
    for dx in -8i64..=8 {
        for dy in [-2i64, 0, 3] {
            let y = flat(&translate(&x, dx as f32, dy as f32).unwrap());
            for n in 0..2 {
                for i in 0..h as i64 {
                    for j in 0..w as i64 {
                        let (si, sj) = (i - dy, j - dx);
                        let want = if (0..h as i64).contains(&si) && (0..w as i64).contains(&sj) {
                            v[n * h * w + (si as usize) * w + sj as usize]
                        } else {
                            0.0
                        };
                        let got = y[n * h * w + (i as usize) * w + j as usize];
                        assert_eq!(got, want, "dx {dx} dy {dy} at ({i}, {j})");
                    }
                }
            }
        }
    }
}

#[test]
fn fractional_translation_is_bilinear() {
    // one row [1, 2, 4, 8]; shifted right by 0.25: y_j = 0.75 x_j + 0.25 x_{j−1}, x_{−1} = 0
    let x = t(&[1., 2., 4., 8.], &[1, 1, 1, 4]);
    let y = flat(&translate(&x, 0.25, 0.0).unwrap());
    let want = [0.75, 1.75, 3.5, 7.0];
    for (a, b) in y.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{y:?} vs {want:?}");
    }
    // left by 1.5: y_j = 0.5 x_{j+1} + 0.5 x_{j+2}
    let y = flat(&translate(&x, -1.5, 0.0).unwrap());
    let want = [3.0, 6.0, 4.0, 0.0];
    for (a, b) in y.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{y:?} vs {want:?}");
    }
    assert!(translate(&x, f32::NAN, 0.0).is_err());
}

// ---------------------------------------------------------------- continuity

#[test]
fn sweep_reports_quadrants_and_scores_of_every_shift() {
    let net = small_cnn(3);
    let x = random_images(&mut Rng::new(4), 1, 8, 8);
    let c = Continuity::around(2);
    let sweep = c.sweep(&Constant, &net, &x, &Target::class(1)).unwrap();
    assert_eq!(sweep.shifts, vec![-2., -1., 0., 1., 2.]);
    assert_eq!(sweep.inputs.dims(), &[5, 1, 8, 8]);
    // a map of ones: 4 × 4 = 16 per quadrant
    assert!(sweep.quadrants.iter().all(|q| q == &[16.0; 4]));
    assert_eq!(flat(&sweep.inputs.narrow(0, 2, 1).unwrap()), flat(&x));
    let s0 = flat(&Target::class(1).score(&net.forward(&x).unwrap()).unwrap())[0];
    assert!((sweep.scores[2] - s0).abs() < 1e-5);
    // simple Taylor: quadrants add up to the score (bias-free ReLU net)
    let sweep = c
        .sweep(&InputXGradient, &net, &x, &Target::class(1))
        .unwrap();
    for (tot, s) in sweep.totals().iter().zip(&sweep.scores) {
        assert!((tot - s).abs() < 1e-4 * (1.0 + s.abs()), "{tot} vs {s}");
    }
    assert!(c
        .sweep(
            &Constant,
            &net,
            &x.repeat((2, 1, 1, 1)).unwrap(),
            &Target::class(1)
        )
        .is_err());
}

#[test]
fn continuity_of_a_constant_explanation_is_zero_and_an_all_zero_input_is_nan() {
    let net = small_cnn(5);
    let x = random_images(&mut Rng::new(6), 3, 8, 8);
    let c = Continuity::around(3);
    let s = c.score(&Constant, &net, &x, &Target::class(0)).unwrap();
    assert_eq!(s.per_image, vec![0.0; 3]);
    assert_eq!(s.mean, 0.0);
    // a real method is not constant along the path
    let s = c
        .score(&Saliency::default(), &net, &x, &Target::class(0))
        .unwrap();
    assert!(s.mean > 0.0 && s.mean.is_finite());
    // all-zero images: every translated copy is identical, no pair, NaN (documented)
    let zero = x.zeros_like().unwrap();
    let s = c
        .score(&Saliency::default(), &net, &zero, &Target::class(0))
        .unwrap();
    assert!(s.per_image.iter().all(|v| v.is_nan()) && s.mean.is_nan());
}

#[test]
fn continuity_is_the_hand_computed_lipschitz_ratio() {
    // One row of 3 pixels x = (0, 1, 0) shifted by −1, 0: inputs (1, 0, 0) and (0, 1, 0),
    // ‖Δx‖₂ = √2. The constant-ones map is unnormalised here: ΔR = 0. With R = x itself
    // (an "explanation" equal to the input), normalised R̂ = x, ‖ΔR̂‖₁ = 2: C = 2/√2 = √2.
    struct Identity;
    impl Attribution for Identity {
        fn attribute(&self, _: &Network, x: &Tensor, _: &Target) -> crate::Result<Tensor> {
            Ok(x.clone())
        }
    }
    let net = linear_net(1, 3, &[1., 1., 1.]);
    let x = t(&[0., 1., 0.], &[1, 1, 1, 3]);
    let c = Continuity {
        shifts: vec![-1.0, 0.0],
        normalise: true,
        batch_size: 10,
    };
    let s = c.score(&Identity, &net, &x, &Target::class(0)).unwrap();
    assert!((s.mean - 2f32.sqrt()).abs() < 1e-6, "{}", s.mean);
}

// ---------------------------------------------------------------- selectivity

#[test]
fn aopc_by_hand_on_a_linear_model() {
    // s(x) = x₁ + 2x₂ + 3x₃ + 4x₄ on a 2×2 image of ones, 1×1 patches. Gradient × input is
    // (1, 2, 3, 4): patches go 4, 3, 2, 1 and the curve is 10, 6, 3, 1, 0.
    assert_eq!(aopc(&[10., 6., 3., 1., 0.]), 6.0); // (0 + 4 + 7 + 9 + 10) / 5
    let net = linear_net(2, 2, &[1., 2., 3., 4.]);
    let x = t(&[1., 1., 1., 1.], &[1, 1, 2, 2]);
    let pf = PixelFlipping {
        patch: 1,
        steps: 4,
        ..Default::default()
    };
    let c = pf
        .run(&InputXGradient, &net, &x, &Target::class(0))
        .unwrap();
    assert_eq!(c.removed, vec![vec![3, 2, 1, 0]]);
    assert_eq!(c.scores, vec![vec![10., 6., 3., 1., 0.]]);
    assert_eq!(c.aopc, 6.0);
    // fill 0.5: 10, 8, 6.5, 5.5, 5 → AOPC (0 + 2 + 3.5 + 4.5 + 5) / 5 = 3
    let half = PixelFlipping {
        fill: 0.5,
        ..pf.clone()
    };
    let c = half
        .run(&InputXGradient, &net, &x, &Target::class(0))
        .unwrap();
    assert_eq!(c.mean, vec![10., 8., 6.5, 5.5, 5.]);
    assert_eq!(c.aopc, 3.0);
    // the original's loop (re-explaining after each removal) gives the same here
    let re = PixelFlipping {
        recompute: true,
        ..pf
    };
    let c = re
        .run(&InputXGradient, &net, &x, &Target::class(0))
        .unwrap();
    assert_eq!(c.scores, vec![vec![10., 6., 3., 1., 0.]]);
    assert!(aopc(&[]) == 0.0);
}

#[test]
fn flipping_curve_starts_at_the_score_and_removes_whole_patches() {
    let net = small_cnn(7);
    let x = random_images(&mut Rng::new(8), 5, 8, 8);
    let target = Target::class(2).with_score(Score::ReluLogit);
    let s0 = flat(&target.score(&net.forward(&x).unwrap()).unwrap());
    let pf = PixelFlipping {
        patch: 3, // 8 = 3 + 3 + 2: partial patches at the edges, a 3×3 grid
        steps: 9,
        ..Default::default()
    };
    for curve in [
        pf.run(&Saliency::absolute(), &net, &x, &target).unwrap(),
        pf.run_random(&net, &x, &target, 1).unwrap(),
        PixelFlipping {
            recompute: true,
            ..pf.clone()
        }
        .run(&InputXGradient, &net, &x, &target)
        .unwrap(),
    ] {
        for (c, s) in curve.scores.iter().zip(&s0) {
            assert_eq!(c.len(), 10);
            assert!(
                (c[0] - s).abs() < 1e-5,
                "curve starts at {} not f(x) = {s}",
                c[0]
            );
            // every patch removed: the image is all fill, s = s(0) = 0 for a bias-free net
            assert!(c[9].abs() < 1e-6);
        }
        let mut all = curve.removed[0].clone();
        all.sort();
        assert_eq!(all, (0..9).collect::<Vec<_>>());
    }
    // remove() clears exactly the patch: patch 8 is rows 6..8 × cols 6..8
    let y = flat(&pf.remove(&x.narrow(0, 0, 1).unwrap(), &[vec![8]]).unwrap());
    let v = flat(&x.narrow(0, 0, 1).unwrap());
    for i in 0..64 {
        let inside = i / 8 >= 6 && i % 8 >= 6;
        assert_eq!(y[i], if inside { 0.0 } else { v[i] });
    }
    assert!(PixelFlipping {
        steps: 10,
        ..pf.clone()
    }
    .run_random(&net, &x, &target, 0)
    .is_err());
}

#[test]
fn random_order_aopc_is_near_zero_for_a_zero_mean_linear_model() {
    // s(x) = Σ w_i x_i with w_i ~ U(−1, 1): removing random patches changes s by a zero-mean
    // amount, so the random order's AOPC is 0 in expectation. Tolerance: 3 standard errors of
    // the per-image AOPCs (and far below the most-relevant-first AOPC).
    let (h, w, n) = (8, 8, 400);
    let mut rng = Rng::new(9);
    let weights: Vec<f32> = (0..h * w).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let net = linear_net(h, w, &weights);
    let x = random_images(&mut rng, n, h, w);
    let pf = PixelFlipping {
        patch: 2,
        steps: 16,
        ..Default::default()
    };
    let random = pf.run_random(&net, &x, &Target::class(0), 3).unwrap();
    let a = &random.aopc_per_image;
    let mean = a.iter().sum::<f32>() / n as f32;
    let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / (n - 1) as f32;
    let se = (var / n as f32).sqrt();
    assert!((random.aopc - mean).abs() < 1e-5);
    assert!(
        random.aopc.abs() < 3.0 * se,
        "random AOPC {} vs 3 SE {}",
        random.aopc,
        3.0 * se
    );
    let morf = pf
        .run(&InputXGradient, &net, &x, &Target::class(0))
        .unwrap();
    assert!(
        morf.aopc > 5.0 * 3.0 * se,
        "MoRF {} vs random {} (3 SE {})",
        morf.aopc,
        random.aopc,
        3.0 * se
    );
}

#[test]
fn constant_explanation_and_zero_input_give_documented_flipping_results() {
    let net = small_cnn(10);
    let x = random_images(&mut Rng::new(11), 2, 8, 8);
    let pf = PixelFlipping::default(); // 4×4 patches: a 2×2 grid
    let pf = PixelFlipping { steps: 4, ..pf };
    // ties: row-major order
    let c = pf.run(&Constant, &net, &x, &Target::class(0)).unwrap();
    assert_eq!(c.removed, vec![vec![0, 1, 2, 3]; 2]);
    // an all-zero input with fill 0 is unchanged by every removal: a flat curve, AOPC 0
    let zero = x.zeros_like().unwrap();
    let c = pf
        .run(&Saliency::default(), &net, &zero, &Target::class(0))
        .unwrap();
    assert!(c.scores.iter().all(|s| s.iter().all(|v| *v == s[0])));
    assert_eq!(c.aopc, 0.0);
}

// ---------------------------------------------------------------- randomisation

#[test]
fn rank_correlations_by_hand() {
    assert!((spearman(&[1., 2., 3.], &[10., 20., 30.]) - 1.0).abs() < 1e-6);
    assert!((spearman(&[1., 2., 3.], &[3., 2., 1.]) + 1.0).abs() < 1e-6);
    // ties share the mean rank: ranks (1.5, 1.5, 3) vs (1, 2, 3): r = 1.5/√(1.5·2) = √3/2
    assert!((spearman(&[5., 5., 9.], &[1., 2., 3.]) - 3f32.sqrt() / 2.0).abs() < 1e-6);
    assert!((pearson(&[1., 2., 3.], &[2., 4., 7.]) - 0.993_399_3).abs() < 1e-6);
    assert!(spearman(&[1., 1., 1.], &[1., 2., 3.]).is_nan());
    assert!(pearson(&[], &[]).is_nan());
}

#[test]
fn cascading_and_independent_randomisation_touch_the_right_layers() {
    let net = small_cnn(12);
    let x = random_images(&mut Rng::new(13), 4, 8, 8);
    let target = Target::class(0);
    let r = ModelRandomisation::default();
    let (trained, steps) = r.run(&Saliency::default(), &net, &x, &target).unwrap();
    assert_eq!(trained.dims(), x.dims());
    let names: Vec<&str> = steps.iter().map(|s| s.layer.as_str()).collect();
    assert_eq!(names, ["fc2", "fc1", "conv1"]);
    assert!(steps
        .iter()
        .all(|s| s.spearman.len() == 4 && s.mean_spearman() < 0.99));
    // randomise_layers changes exactly the chosen layers
    let rand = randomise_layers(&net, &[3], 99).unwrap();
    let p0 = net.parameters();
    let p1 = rand.parameters();
    for ((name, a), (_, b)) in p0.iter().zip(&p1) {
        let same = flat(a) == flat(b);
        assert_eq!(same, name != "fc1.weight", "{name}");
    }
    let ind = ModelRandomisation {
        mode: RandomisationMode::Independent,
        seed: 1,
    };
    assert_eq!(
        ind.run(&Saliency::default(), &net, &x, &target)
            .unwrap()
            .1
            .len(),
        3
    );
    // the same network explained twice is perfectly similar; a constant map has no correlation
    let (sp, pe) = randomisation::similarities(&trained, &trained).unwrap();
    assert!(sp.iter().chain(&pe).all(|v| (v - 1.0).abs() < 1e-5));
    let (sp, _) = r
        .fully_randomised(&Constant, &net, &x, &target, None)
        .unwrap();
    assert!(sp.iter().all(|v| v.is_nan()));
    assert!(randomise_layers(&net, &[9], 0).is_err());
    // A network initialised with the randomisation's own seed still gets new weights (the
    // test's default seed is 0, as is the zoo's initialisation seed).
    let init12 = randomise_layers(&net, &[0, 3, 5], 12).unwrap();
    for ((name, a), (_, b)) in p0.iter().zip(&init12.parameters()) {
        assert_ne!(flat(a), flat(b), "{name} kept its seed-12 initial weights");
    }
    let (sp, _) = r
        .fully_randomised(&Saliency::default(), &small_cnn(0), &x, &target, None)
        .unwrap();
    assert!(sp.iter().all(|v| *v < 0.99), "untrained init(0): {sp:?}");
}

// ---------------------------------------------------------------- completeness and table

#[test]
fn completeness_error_is_small_where_promised() {
    let net = small_cnn(14);
    let x = random_images(&mut Rng::new(15), 3, 8, 8);
    let target = Target::class(1);
    let maps = InputXGradient.attribute(&net, &x, &target).unwrap();
    let e = completeness_error(&Completeness::Output, &net, &x, &maps, &target)
        .unwrap()
        .unwrap();
    assert!(e.relative < 1e-4, "{e:?}");
    let ig = IntegratedGradients {
        steps: 256,
        quadrature: Quadrature::RiemannMiddle,
        ..Default::default()
    };
    let maps = ig.attribute(&net, &x, &target).unwrap();
    let e = completeness_error(
        &Completeness::Baseline(Baseline::Zero),
        &net,
        &x,
        &maps,
        &target,
    )
    .unwrap()
    .unwrap();
    assert!(e.relative < 1e-2, "{e:?}");
    // saliency promises nothing; a map of ones sums to 64, far from s(x)
    assert!(
        completeness_error(&Completeness::None, &net, &x, &maps, &target)
            .unwrap()
            .is_none()
    );
    let ones = x.ones_like().unwrap();
    let e = completeness_error(&Completeness::Output, &net, &x, &ones, &target)
        .unwrap()
        .unwrap();
    assert!(e.relative > 1.0);
}

#[test]
fn evaluate_makes_one_row_per_method_in_markdown_and_csv() {
    let net = small_cnn(16);
    let x = random_images(&mut Rng::new(17), 6, 8, 8);
    let methods = vec![
        Method::new("sensitivity", Saliency::sensitivity()),
        Method::new("simple Taylor, x ⊙ g", InputXGradient).complete(Completeness::Output),
        Method::new("constant", Constant),
    ];
    let cfg = Evaluation {
        flipping: PixelFlipping {
            patch: 2,
            steps: 8,
            ..Default::default()
        },
        continuity: Continuity::around(2),
        continuity_images: 3,
        randomisation_images: 4,
        faithfulness: FaithfulnessCorrelation {
            subset_size: 16,
            runs: 20,
            ..Default::default()
        },
        faithfulness_images: 5,
        ..Default::default()
    };
    let target = Target::predicted().with_score(Score::ReluLogit);
    let table = evaluate(&net, &x, &target, &methods, &cfg).unwrap();
    // the column is the metric itself on the first 5 images' maps
    let fc = cfg
        .faithfulness
        .of(&InputXGradient, &net, &x.narrow(0, 0, 5).unwrap(), &target)
        .unwrap();
    assert!((table.rows[1].faithfulness - fc.mean()).abs() < 1e-6);
    assert!((-1.0..=1.0).contains(&table.rows[0].faithfulness));
    // a constant map predicts the same drop for every subset: no correlation
    assert!(table.rows[2].faithfulness.is_nan());
    assert_eq!(table.rows.len(), 3);
    assert_eq!(table.images, 6);
    let taylor = &table.rows[1];
    assert!(taylor.completeness.is_some_and(|c| c < 1e-4));
    assert!(table.rows[0].completeness.is_none());
    assert_eq!(table.rows[2].continuity, 0.0);
    assert_eq!(table.rows[2].max_sensitivity, 0.0);
    assert!(table.rows[0].max_sensitivity > 0.0);
    assert!(table
        .rows
        .iter()
        .all(|r| r.infidelity.is_finite() && r.infidelity >= 0.0));
    assert!(table.rows[2].randomisation_spearman.is_nan());
    assert!(table.rows.iter().all(|r| r.curve.len() == 9));
    assert!(
        (table.rows[0].aopc_over_random - (table.rows[0].aopc - table.random_aopc)).abs() < 1e-6
    );
    let md = table.to_markdown();
    assert_eq!(md.lines().filter(|l| l.starts_with('|')).count(), 2 + 3 + 1);
    assert!(md.contains("| constant |") && md.contains("n/a"));
    let csv = table.to_csv();
    assert_eq!(csv.lines().count(), 1 + 3 + 1);
    assert!(csv.contains("\"simple Taylor, x ⊙ g\""));
    assert!(csv.lines().all(|l| l.split(',').count() >= 12));
    let dir = tempfile::tempdir().unwrap();
    table.save(dir.path()).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("evaluation.csv")).unwrap(),
        csv
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("evaluation.md")).unwrap(),
        md
    );
    // all-zero images do not panic
    let zero = x.zeros_like().unwrap();
    let table = evaluate(&net, &zero, &Target::class(0), &methods, &cfg).unwrap();
    assert!(table
        .rows
        .iter()
        .all(|r| r.aopc == 0.0 && r.continuity.is_nan()));
    assert!(evaluate(&net, &x, &target, &[], &cfg).is_err());
    // the default subset of 224 values does not fit an 8×8 image: an error that names it
    let err = evaluate(&net, &x, &target, &methods, &Evaluation::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("subset size") && err.contains("64 values"),
        "{err}"
    );
}

#[test]
fn standard_methods_have_unique_names() {
    let m = standard_methods();
    let mut names: Vec<&str> = m.iter().map(|m| m.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), m.len());
}

// ---- Localisation and complexity ----

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn localisation_by_hand() {
    // R = [3, 1, −2, 0], M = [1, 0, 0, 1].
    let (r, m) = (
        t(&[3.0, 1.0, -2.0, 0.0], &[1, 4]),
        t(&[1.0, 0.0, 0.0, 1.0], &[1, 4]),
    );
    let s = localisation(&r, &m).unwrap();
    assert_eq!(s.pointing, [1.0]); // the maximum 3 is in M
    assert_eq!(s.mass, [0.75]); // positive mass 3 + 1, of which 3 in M
    assert_eq!(s.rank, [0.5]); // K = 2: the top two are 3 (in M) and 1 (not)
    assert_eq!(s.auc, [0.75]); // pairs (in, out): 3>1, 3>−2, 0<1, 0>−2

    // |R| = [3, 1, 2, 0] sorted [0, 1, 2, 3]: Σ(2i − 5)v / (4 · 6) = (−1 + 2 + 9) / 24.
    assert!(close(
        &complexity::sparseness(&r).unwrap(),
        &[10.0 / 24.0],
        1e-7
    ));
    // p = [1/2, 1/6, 1/3, 0]: ½ ln 2 + ⅙ ln 6 + ⅓ ln 3.
    let h = 0.5 * 2f32.ln() + 6f32.ln() / 6.0 + 3f32.ln() / 3.0;
    assert!(close(&complexity::complexity(&r).unwrap(), &[h], 1e-6));

    // Ties: three pixels share the maximum, one of them in M (K = 1).
    let s = localisation(
        &t(&[1.0, 1.0, 1.0, 0.0], &[1, 4]),
        &t(&[1.0, 0.0, 0.0, 0.0], &[1, 4]),
    )
    .unwrap();
    assert_eq!(s.pointing, [1.0]); // one of the tied maxima is in M
    assert!(close(&s.rank, &[1.0 / 3.0], 1e-7)); // one slot, a third of the tie in M
    assert!(close(&s.auc, &[2.0 / 3.0], 1e-7)); // ½ + ½ + 1 over three pairs

    // A tie at the K-th value below the top: R = [3, 1, 1, 1, 0], M = {0, 2}, K = 2. The 3 is in
    // M; one slot is left for the three 1s, of which one is in M: (1 + ⅓) / 2.
    let s = localisation(
        &t(&[3.0, 1.0, 1.0, 1.0, 0.0], &[1, 5]),
        &t(&[1.0, 0.0, 1.0, 0.0, 0.0], &[1, 5]),
    )
    .unwrap();
    assert!(close(&s.rank, &[2.0 / 3.0], 1e-7), "{:?}", s.rank);

    // −0 and +0 are one value: R = [+0, −0, −1, 2], M = {1, 3}. AUC: (−0 vs +0) ½, (−0 vs −1)
    // 1, (2 vs both) 2, over 4 pairs; rank (K = 2): 2 in M, then one slot for the tied zeros,
    // half of them in M; the positive mass is all on the 2.
    let s = localisation(
        &t(&[0.0, -0.0, -1.0, 2.0], &[1, 4]),
        &t(&[0.0, 1.0, 0.0, 1.0], &[1, 4]),
    )
    .unwrap();
    assert_eq!(
        (s.pointing[0], s.mass[0], s.rank[0], s.auc[0]),
        (1.0, 1.0, 0.75, 0.875)
    );
}

#[test]
fn localisation_invariants() {
    let mut rng = Rng::new(11);
    let masks = t(
        &(0..50 * 64)
            .map(|_| (rng.uniform() < 0.3) as u8 as f32)
            .collect::<Vec<_>>(),
        &[50, 1, 8, 8],
    );
    let chance = LocalisationMean::chance(&masks).unwrap();
    let share = flat(&masks).iter().sum::<f32>() / (50.0 * 64.0);
    assert!((chance.mass - share).abs() < 1e-6 && chance.auc == 0.5);
    let perfect = localisation(&masks, &masks).unwrap().mean();
    assert_eq!(
        perfect,
        LocalisationMean {
            pointing: 1.0,
            mass: 1.0,
            rank: 1.0,
            auc: 1.0
        }
    );
    let inverse = (1.0 - &masks).unwrap();
    let worst = localisation(&inverse, &masks).unwrap().mean();
    assert_eq!(
        worst,
        LocalisationMean {
            pointing: 0.0,
            mass: 0.0,
            rank: 0.0,
            auc: 0.0
        }
    );
    // A zero map points nowhere; its rank accuracy and AUC are exactly chance.
    let zero = localisation(&masks.zeros_like().unwrap(), &masks)
        .unwrap()
        .mean();
    assert_eq!((zero.pointing, zero.mass, zero.auc), (0.0, 0.0, 0.5));
    assert!((zero.rank - chance.rank).abs() < 1e-6);
    // The scores do not depend on the map's scale.
    let r = random_images(&mut rng, 50, 8, 8);
    let a = localisation(&r, &masks).unwrap();
    assert_eq!(a, localisation(&(&r * 4.0).unwrap(), &masks).unwrap()); // × 4 is exact in f32
    assert_eq!(
        complexity::sparseness(&r).unwrap(),
        complexity::sparseness(&(&r * 4.0).unwrap()).unwrap()
    );
    // Random maps score near chance on average.
    let big = t(
        &(0..2000 * 64)
            .map(|_| (rng.uniform() < 0.3) as u8 as f32)
            .collect::<Vec<_>>(),
        &[2000, 64],
    );
    let random = localisation(
        &t(
            &(0..2000 * 64).map(|_| rng.uniform()).collect::<Vec<_>>(),
            &[2000, 64],
        ),
        &big,
    )
    .unwrap()
    .mean();
    let c = LocalisationMean::chance(&big).unwrap();
    for (got, want) in [
        (random.pointing, c.pointing),
        (random.mass, c.mass),
        (random.rank, c.rank),
        (random.auc, c.auc),
    ] {
        assert!((got - want).abs() < 0.03, "{random:?} vs chance {c:?}");
    }
    // Sparseness and complexity at their extremes.
    let one_hot = t(&[0.0, 0.0, -5.0, 0.0], &[1, 4]);
    let uniform = t(&[2.0, -2.0, 2.0, 2.0], &[1, 4]);
    assert_eq!(complexity::sparseness(&one_hot).unwrap(), [0.75]);
    assert_eq!(complexity::sparseness(&uniform).unwrap(), [0.0]);
    assert_eq!(
        complexity::sparseness(&uniform.zeros_like().unwrap()).unwrap(),
        [0.0]
    );
    assert_eq!(complexity::complexity(&one_hot).unwrap(), [0.0]);
    assert!(close(
        &complexity::complexity(&uniform).unwrap(),
        &[4f32.ln()],
        1e-6
    ));
    assert!(close(
        &complexity::complexity(&uniform.zeros_like().unwrap()).unwrap(),
        &[4f32.ln()],
        1e-6
    ));
}

/// The cases of `scripts/compare_quantus.py`, with the values Quantus 0.6.0 printed for them.
#[test]
fn localisation_and_complexity_match_quantus() {
    let (n, m) = (3usize, 36usize);
    let maps: Vec<f32> = (0..n)
        .flat_map(|k| {
            (0..m).map(move |i| {
                let i = i as f32;
                (0.9 * i + (1.3 * k as f64 + 0.2) as f32).sin() + 0.3 * (2.1 * i).cos()
            })
        })
        .collect();
    let masks: Vec<f32> = (0..n)
        .flat_map(|k| (0..m).map(move |i| (((i * 6 + k * 5) % 11) < 4) as u8 as f32))
        .collect();
    let (r, s) = (t(&maps, &[n, 1, 6, 6]), t(&masks, &[n, 1, 6, 6]));
    let got = localisation(&r, &s).unwrap();
    assert_eq!(got.pointing, [1.0, 0.0, 1.0]);
    assert!(
        close(&got.mass, &[0.3497427, 0.3325338, 0.3198463], 1e-5),
        "{:?}",
        got.mass
    );
    assert!(
        close(&got.rank, &[0.3571429, 0.3846154, 0.3076923], 1e-6),
        "{:?}",
        got.rank
    );
    assert!(
        close(&got.auc, &[0.4772727, 0.5050167, 0.4882943], 1e-6),
        "{:?}",
        got.auc
    );
    let sparse = complexity::sparseness(&r).unwrap();
    assert!(
        close(&sparse, &[0.310963, 0.3019271, 0.3312567], 1e-5),
        "{sparse:?}"
    );
    let entropy = complexity::complexity(&r).unwrap();
    assert!(
        close(&entropy, &[3.390653, 3.423298, 3.367424], 1e-5),
        "{entropy:?}"
    );
}

#[test]
fn localisation_rejects_bad_input_by_name() {
    let err = |r: Tensor, m: Tensor| localisation(&r, &m).unwrap_err().to_string();
    let ok = t(&[1.0, 0.0, 0.0, 1.0, 0.0, 1.0], &[2, 3]);
    assert!(err(t(&[1.0; 6], &[3, 2]), ok.clone()).contains("must have the same shape"));
    assert!(err(
        t(&[1.0; 6], &[2, 3]),
        t(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0], &[2, 3])
    )
    .contains("mask of image 1 is empty"));
    assert!(err(
        t(&[1.0; 6], &[2, 3]),
        t(&[1.0, 1.0, 1.0, 0.0, 1.0, 0.0], &[2, 3])
    )
    .contains("image 0 covers the whole image"));
    let nan = t(&[1.0, 0.0, 0.0, 0.0, f32::NAN, 0.0], &[2, 3]);
    assert!(err(nan.clone(), ok.clone())
        .contains("map of image 1 has a non-finite value (NaN) at pixel 1"));
    assert!(complexity::sparseness(&nan)
        .unwrap_err()
        .to_string()
        .contains("image 1"));
    assert!(err(t(&[1.0; 2], &[2]), t(&[1.0; 2], &[2])).contains("[N, ...]"));
    assert!(LocalisationTable::new("x", &t(&[], &[0, 3])).is_err());
}

#[test]
fn localisation_table_lists_every_method_and_chance() {
    let masks = t(&[1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0], &[2, 4]);
    let mut table = LocalisationTable::new("the test masks", &masks).unwrap();
    let scores = table.add("perfect", &masks).unwrap();
    assert_eq!(scores.len(), 2);
    table.add("a | b", &(1.0 - &masks).unwrap()).unwrap();
    let md = table.to_markdown();
    assert!(md.contains("2 images against the test masks"), "{md}");
    assert!(
        md.contains("| perfect | 1.000 | 1.000 | 1.000 | 1.000 |"),
        "{md}"
    );
    assert!(
        md.contains("| a \\| b | 0.000 | 0.000 | 0.000 | 0.000 | 0.3750 |"),
        "{md}"
    );
    assert!(
        md.contains("| chance level | 0.3750 | 0.3750 | 0.3750 | 0.5000 | — |"),
        "{md}"
    );
    assert_eq!(table.rows[1].mean.auc, 0.0);
}

// ---------------------------------------------------------------- sensitivity and infidelity

/// `s(x) = Σ_i w_i x_i` over a `[c, h, w]` image, one output, no bias.
fn linear_net_channels(c: usize, h: usize, w: usize, weights: &[f32]) -> Network {
    let spec = NetworkSpec::new("linear", [c, h, w])
        .push("flatten", LayerSpec::Flatten)
        .push(
            "fc",
            LayerSpec::Linear {
                in_features: c * h * w,
                out_features: 1,
                bias: false,
            },
        );
    let params = HashMap::from([("fc.weight".to_string(), t(weights, &[1, c * h * w]))]);
    Network::from_parts(&spec, params).unwrap()
}

/// An explanation that is the input itself.
struct Identity;

impl Attribution for Identity {
    fn attribute(&self, _net: &Network, x: &Tensor, _target: &Target) -> crate::Result<Tensor> {
        Ok(x.clone())
    }
}

/// An explanation that is the linear model's weight vector times `scale`, whatever the input.
struct Weights(Vec<f32>, f32);

impl Attribution for Weights {
    fn attribute(&self, _net: &Network, x: &Tensor, _target: &Target) -> crate::Result<Tensor> {
        let w = t(&self.0, &x.dims()[1..]).unsqueeze(0)?;
        Ok((w.broadcast_as(x.dims())? * self.1 as f64)?)
    }
}

fn rel_close(a: &[f32], b: &[f64], tol: f64) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (*x as f64 - y).abs() <= tol * y.abs().max(1e-12))
}

#[test]
fn sensitivity_by_hand() {
    // The identity explanation changes by exactly δ: the score is max_s ‖δ_s‖₂ / ‖x‖₂.
    let net = linear_net(1, 2, &[1.0, -1.0]);
    let x = t(&[3.0, 4.0, 0.0, 0.0], &[2, 1, 1, 2]);
    let deltas = [
        t(&[0.3, 0.4, 0.1, 0.0], &[2, 1, 1, 2]),
        t(&[0.0, 0.1, 0.0, 0.2], &[2, 1, 1, 2]),
    ];
    let s = Sensitivity::default();
    let got = s
        .score_with(&Identity, &net, &x, &Target::class(0), &deltas)
        .unwrap();
    // image 0: ‖Φ(x)‖ = 5, changes 0.5 and 0.1; image 1: Φ(x) = 0 is divided by 1
    assert!(close(&got.max, &[0.1, 0.2], 1e-6), "{got:?}");
    assert!(close(&got.average, &[0.06, 0.15], 1e-6), "{got:?}");
    let abs = Sensitivity {
        normalise: false,
        ..Sensitivity::default()
    }
    .score_with(&Identity, &net, &x, &Target::class(0), &deltas)
    .unwrap();
    assert!(close(&abs.max, &[0.5, 0.2], 1e-6), "{abs:?}");
    assert!((abs.mean_max() - 0.35).abs() < 1e-6);
}

#[test]
fn sensitivity_invariants() {
    let mut rng = Rng::new(5);
    let x = random_images(&mut rng, 3, 8, 8);
    let net = small_cnn(1);
    let target = Target::predicted();
    // a constant explanation does not move; a zero radius moves nothing
    let s = Sensitivity::default();
    let c = s.score(&Constant, &net, &x, &target).unwrap();
    assert_eq!(c.max, vec![0.0; 3]);
    let still = Sensitivity {
        radius: 0.0,
        ..Sensitivity::default()
    };
    let g = still
        .score(&Saliency::default(), &net, &x, &target)
        .unwrap();
    assert_eq!(g.max, vec![0.0; 3]);
    // ... but a stochastic method is explained with fresh noise for the copies: at r = 0 its
    // score is its own Monte Carlo error, which shrinks with its sample count
    let noise_floor = |samples| {
        let mut sg = crate::methods::SmoothGrad::new(Saliency::default());
        sg.samples = samples;
        still.score(&sg, &net, &x, &target).unwrap().mean_average()
    };
    let (few, many) = (noise_floor(2), noise_floor(200));
    assert!(few > 0.0 && many > 0.0 && many < few, "{few} {many}");
    // the identity explanation moves by δ with ‖δ‖∞ ≤ r: at most r·√D / ‖x‖, and the samples
    // really are spread over the ball (the largest is more than half the bound)
    let r = 0.05;
    let s = Sensitivity {
        radius: r,
        samples: 20,
        seed: 3,
        batch_size: 7,
        ..Sensitivity::default()
    };
    let id = s.score(&Identity, &net, &x, &target).unwrap();
    let xs = flat(&x);
    for (i, (&m, &a)) in id.max.iter().zip(&id.average).enumerate() {
        let norm = xs[i * 64..(i + 1) * 64]
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
            .sqrt();
        let bound = r * 8.0 / norm;
        assert!(m <= bound && m > 0.5 * bound && a <= m && a > 0.0, "{id:?}");
    }
    // seeded: the same seed gives the same numbers; the batch size changes nothing
    let again = Sensitivity {
        batch_size: 500,
        ..s.clone()
    }
    .score(&Identity, &net, &x, &target)
    .unwrap();
    assert_eq!(id, again);
    // a real method on a ReLU network: finite, non-negative
    let g = s.score(&Saliency::default(), &net, &x, &target).unwrap();
    assert!(g.max.iter().all(|v| v.is_finite() && *v >= 0.0), "{g:?}");
}

#[test]
fn infidelity_by_hand() {
    // s = x₀ − x₁; perturbations I₁ = (1, 0), I₂ = (0, 2); Δs = s(x) − s(x − I) = wᵀI = 1, −2.
    let net = linear_net(1, 2, &[1.0, -1.0]);
    let x = t(&[0.5, 0.25], &[1, 1, 1, 2]);
    let perts = [t(&[1.0, 0.0], &[1, 1, 1, 2]), t(&[0.0, 2.0], &[1, 1, 1, 2])];
    let raw = Infidelity {
        normalise: false,
        ..Infidelity::default()
    };
    let target = Target::class(0);
    // Φ = (2, 1): IᵀΦ = 2, 2 → errors (2 − 1)², (2 + 2)² → mean 8.5
    let phi = t(&[2.0, 1.0], &[1, 1, 1, 2]);
    let got = raw.score_with(&net, &x, &phi, &target, &perts).unwrap();
    assert!(close(&got.per_image, &[8.5], 1e-6), "{got:?}");
    assert_eq!(got.beta, vec![1.0]);
    // normalised: β = Σ p·o / Σ p² = (2 − 4) / 8 = −0.25; errors (−0.5 − 1)², (−0.5 + 2)² → 2.25
    let norm = Infidelity::default()
        .score_with(&net, &x, &phi, &target, &perts)
        .unwrap();
    assert!(close(&norm.per_image, &[2.25], 1e-6), "{norm:?}");
    assert!(close(&norm.beta, &[-0.25], 1e-6));
    // a zero map predicts no change: β = 0 and the error is the mean Δs² = (1 + 4)/2
    let zero = Infidelity::default()
        .score_with(&net, &x, &phi.zeros_like().unwrap(), &target, &perts)
        .unwrap();
    assert!(close(&zero.per_image, &[2.5], 1e-6) && zero.beta == [0.0]);
}

#[test]
fn infidelity_invariants() {
    let mut rng = Rng::new(9);
    let (c, h, w) = (2usize, 5usize, 6usize);
    let pixel_w: Vec<f32> = (0..h * w).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let weights: Vec<f32> = pixel_w.iter().cycle().take(c * h * w).copied().collect();
    let net = linear_net_channels(c, h, w, &weights);
    let x = t(
        &(0..3 * c * h * w)
            .map(|_| rng.uniform())
            .collect::<Vec<_>>(),
        &[3, c, h, w],
    );
    let target = Target::class(0);
    for perturbation in [Perturbation::Gaussian(0.3), Perturbation::Square(3)] {
        let inf = Infidelity {
            perturbation,
            samples: 20,
            batch_size: 7,
            ..Infidelity::default()
        };
        // on a linear model the gradient predicts every change exactly, normalised or not
        let exact = inf.of(&Saliency::default(), &net, &x, &target).unwrap();
        assert!(exact.per_image.iter().all(|v| *v < 1e-9), "{exact:?}");
        assert!(close(&exact.beta, &[1.0; 3], 1e-4), "{exact:?}");
        let raw = Infidelity {
            normalise: false,
            ..inf.clone()
        };
        assert!(
            raw.of(&Saliency::default(), &net, &x, &target)
                .unwrap()
                .mean()
                < 1e-9
        );
        // a one-channel map broadcasts over the channels (the weights repeat per channel)
        let one = t(&pixel_w, &[1, 1, h, w])
            .broadcast_as((3, 1, h, w))
            .unwrap()
            .contiguous()
            .unwrap();
        assert!(inf.score(&net, &x, &one, &target).unwrap().mean() < 1e-9);
        // normalised infidelity does not depend on the map's scale; β takes the scale
        let phi = Weights(weights.clone(), 1.0)
            .attribute(&net, &x, &target)
            .unwrap();
        let noisy = (&phi
            + t(
                &(0..3 * c * h * w).map(|_| rng.normal()).collect::<Vec<_>>(),
                &[3, c, h, w],
            ))
        .unwrap();
        let a = inf.score(&net, &x, &noisy, &target).unwrap();
        let b = inf
            .score(&net, &x, &(&noisy * 7.0).unwrap(), &target)
            .unwrap();
        assert!(close(&a.per_image, &b.per_image, 1e-4), "{a:?} {b:?}");
        assert!(close(
            &a.beta,
            &b.beta.iter().map(|v| v * 7.0).collect::<Vec<_>>(),
            1e-4
        ));
        assert!(a.mean() > 1e-3, "{a:?}");
        // seeded and batch-independent
        let again = Infidelity {
            batch_size: 500,
            ..inf.clone()
        };
        assert_eq!(a, again.score(&net, &x, &noisy, &target).unwrap());
    }
    // square removal sets whole k×k squares inside the image to 0 on every channel: with all
    // weights and pixels 1 every removal lowers the score by c·k², which a zero map misses
    let ones = linear_net_channels(c, h, w, &vec![1.0; c * h * w]);
    let x1 = t(&vec![1.0; c * h * w], &[1, c, h, w]);
    for k in [1, 3, 5] {
        let inf = Infidelity {
            perturbation: Perturbation::Square(k),
            samples: 10,
            normalise: false,
            ..Infidelity::default()
        };
        let got = inf
            .score(&ones, &x1, &x1.zeros_like().unwrap(), &target)
            .unwrap();
        let drop = (c * k * k) as f32;
        assert!(
            close(&got.per_image, &[drop * drop], 1e-5),
            "k = {k}: {got:?}"
        );
    }
}

#[test]
fn sensitivity_and_infidelity_reject_bad_input_by_name() {
    let net = linear_net(1, 2, &[1.0, -1.0]);
    let x = t(&[0.5, 0.25], &[1, 1, 1, 2]);
    let target = Target::class(0);
    let s = Sensitivity::default();
    let err = |r: crate::Result<SensitivityScore>| r.unwrap_err().to_string();
    assert!(err(s.score_with(&Identity, &net, &x, &target, &[])).contains("at least one"));
    assert!(
        err(s.score_with(&Identity, &net, &x, &target, &[t(&[1.0], &[1, 1, 1, 1])]))
            .contains("perturbation 0 has shape")
    );
    let bad = Sensitivity {
        radius: f32::NAN,
        ..Sensitivity::default()
    };
    assert!(err(bad.score(&Identity, &net, &x, &target)).contains("radius"));
    let nan = t(&[f32::NAN, 0.0], &[1, 1, 1, 2]);
    struct Nan(Tensor);
    impl Attribution for Nan {
        fn attribute(&self, _: &Network, _: &Tensor, _: &Target) -> crate::Result<Tensor> {
            Ok(self.0.clone())
        }
    }
    assert!(err(s.score(&Nan(nan.clone()), &net, &x, &target)).contains("non-finite"));
    // a method that returns no map for the clean input is named, not divided by zero
    let none = Nan(t(&[], &[1, 0]));
    assert!(err(s.score(&none, &net, &x, &target)).contains("whole, non-empty map"));

    let inf = Infidelity {
        perturbation: Perturbation::Gaussian(0.1),
        ..Infidelity::default()
    };
    let err = |r: crate::Result<InfidelityScore>| r.unwrap_err().to_string();
    assert!(
        err(inf.score(&net, &x, &t(&[1.0; 3], &[1, 1, 1, 3]), &target))
            .contains("attributions must be")
    );
    assert!(err(inf.score(&net, &x, &nan, &target)).contains("non-finite"));
    assert!(err(inf.score_with(&net, &x, &x, &target, &[])).contains("at least one"));
    for p in [
        Perturbation::Square(0),
        Perturbation::Square(3),
        Perturbation::Gaussian(-1.0),
    ] {
        let bad = Infidelity {
            perturbation: p,
            ..Infidelity::default()
        };
        let e = err(bad.score(&net, &x, &x, &target));
        assert!(e.contains("square") || e.contains("σ"), "{e}");
    }
    let empty = t(&[], &[0, 1, 1, 2]);
    assert!(inf.score(&net, &empty, &empty, &target).is_err());
}

/// The 16-6-3 ReLU MLP on `[1, 4, 4]` and the two inputs of scripts/compare_captum_metrics.py
/// (weights and pixels from closed formulas), shared with Captum's and Quantus's scripts.
fn captum_mlp() -> (Network, Tensor) {
    use crate::model::LayerSpec::{Flatten, Linear, Relu};
    let f = |n: usize, g: &dyn Fn(usize) -> f32| (0..n).map(g).collect::<Vec<f32>>();
    let w1 = f(96, &|k| 0.5 * (0.37f32 * k as f32 + 0.1).sin());
    let b1 = f(6, &|o| 0.1 * (1.3f32 * o as f32).cos());
    let w2 = f(18, &|k| 0.6 * (0.71f32 * k as f32 + 0.2).cos());
    let b2 = f(3, &|o| 0.05 * (o as f32 - 1.0));
    let spec = NetworkSpec::new("mlp", [1, 4, 4])
        .push("flatten", Flatten)
        .push(
            "fc1",
            Linear {
                in_features: 16,
                out_features: 6,
                bias: true,
            },
        )
        .push("relu", Relu)
        .push(
            "fc2",
            Linear {
                in_features: 6,
                out_features: 3,
                bias: true,
            },
        );
    let params = HashMap::from([
        ("fc1.weight".to_string(), t(&w1, &[6, 16])),
        ("fc1.bias".to_string(), t(&b1, &[6])),
        ("fc2.weight".to_string(), t(&w2, &[3, 6])),
        ("fc2.bias".to_string(), t(&b2, &[3])),
    ]);
    let net = Network::from_parts(&spec, params).unwrap();
    let x = t(
        &f(32, &|k| {
            let (n, j) = ((k / 16) as f32, (k % 16) as f32);
            0.5 + 0.5 * (1.1 * j + 0.7 * n).sin()
        }),
        &[2, 1, 4, 4],
    );
    (net, x)
}

/// The cases of `scripts/compare_captum_metrics.py`, with the values Captum 0.9.0 printed.
#[test]
fn sensitivity_and_infidelity_match_captum() {
    let f = |n: usize, g: &dyn Fn(usize) -> f32| (0..n).map(g).collect::<Vec<f32>>();
    let (net, x) = captum_mlp();
    let sample = |s: usize, scale: f32, a: f32, b: f32, c: f32| {
        t(
            &f(32, &|k| {
                let (n, j) = ((k / 16) as f32, (k % 16) as f32);
                scale * (a * j + b * s as f32 + c * n).sin()
            }),
            &[2, 1, 4, 4],
        )
    };
    let deltas: Vec<Tensor> = (0..4).map(|s| sample(s, 0.1, 2.3, 1.7, 0.9)).collect();
    let perts: Vec<Tensor> = (0..5).map(|s| sample(s, 0.2, 1.9, 0.8, 1.1)).collect();
    // [score][method]: sensitivity_max, infidelity raw, infidelity normalised
    #[rustfmt::skip]
    let captum: [[[[f64; 2]; 3]; 2]; 2] = [
        [
            [[0.26910343766212463, 0.284817099571228], [1.3818365005136002e-05, 0.00018388630996923894], [8.674059245095123e-06, 0.00014950816694181412]],
            [[0.2932215631008148, 0.31765085458755493], [0.0002609763469081372, 0.0003052219981327653], [0.000203033909201622, 0.0002024590939981863]],
        ],
        [
            [[0.2632221579551697, 0.31491056084632874], [1.5065367051647627e-06, 3.0429911930696107e-05], [8.494884013998671e-07, 1.5310162780224346e-05]],
            [[0.288591206073761, 0.34553274512290955], [2.7569520170800388e-05, 5.326979953679256e-05], [2.1163927158340812e-05, 1.697001061984338e-05]],
        ],
    ];
    for (si, score) in [Score::Logit, Score::Softmax].into_iter().enumerate() {
        let target = Target::classes(vec![0, 2]).with_score(score);
        let methods: [&dyn Attribution; 2] = [&Saliency::default(), &InputXGradient];
        for (mi, method) in methods.into_iter().enumerate() {
            let want = &captum[si][mi];
            let sens = Sensitivity::default()
                .score_with(method, &net, &x, &target, &deltas)
                .unwrap();
            assert!(
                rel_close(&sens.max, &want[0], 1e-4),
                "{score:?} {mi}: {sens:?} vs {:?}",
                want[0]
            );
            let phi = method.attribute(&net, &x, &target).unwrap();
            for (normalise, w) in [(false, &want[1]), (true, &want[2])] {
                let inf = Infidelity {
                    normalise,
                    ..Infidelity::default()
                }
                .score_with(&net, &x, &phi, &target, &perts)
                .unwrap();
                assert!(
                    rel_close(&inf.per_image, w, 5e-4),
                    "{score:?} {mi} {normalise}: {inf:?} vs {w:?}"
                );
            }
        }
    }
}

#[test]
fn faithfulness_correlation_by_hand() {
    // s = x₀ − x₁ + 2x₂, x = (0.5, 0.25, 1), baseline 0; removing pixel i alone drops the score by
    // wᵢxᵢ = 0.5, −0.25, 2. The map Φ = (1, 2, 3) predicts 1, 2, 3: deviations (−1, 0, 1) and
    // (−0.25, −1, 1.25), so r = 1.5 / √(2 · 2.625) = 0.6546537.
    let net = linear_net(1, 3, &[1.0, -1.0, 2.0]);
    let x = t(&[0.5, 0.25, 1.0], &[1, 1, 1, 3]);
    let target = Target::class(0);
    let subsets: Vec<Vec<Vec<usize>>> = (0..3).map(|j| vec![vec![j]]).collect();
    let fc = FaithfulnessCorrelation::default();
    let phi = t(&[1.0, 2.0, 3.0], &[1, 1, 1, 3]);
    let got = fc.score_with(&net, &x, &phi, &target, &subsets).unwrap();
    assert!(close(&got.per_image, &[0.6546537], 1e-6), "{got:?}");
    // the same drops from a baseline of 0.5: wᵢ(xᵢ − 0.5) = 0, 0.25, 1 → r of (1,2,3) = 0.9607689
    let half = FaithfulnessCorrelation {
        baseline: 0.5,
        ..FaithfulnessCorrelation::default()
    };
    let got = half.score_with(&net, &x, &phi, &target, &subsets).unwrap();
    assert!(close(&got.per_image, &[0.9607689], 1e-6), "{got:?}");
}

#[test]
fn faithfulness_correlation_invariants() {
    let mut rng = Rng::new(21);
    let (h, w) = (5, 5);
    let weights: Vec<f32> = (0..h * w).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let net = linear_net(h, w, &weights);
    let x = random_images(&mut rng, 3, h, w);
    let target = Target::class(0);
    let fc = FaithfulnessCorrelation {
        subset_size: 6,
        runs: 30,
        ..FaithfulnessCorrelation::default()
    };
    // On a linear model with the baseline 0, input × gradient predicts every drop exactly: 1;
    // its negation −1; any positive scale and offset of the map changes nothing.
    let ixg = InputXGradient.attribute(&net, &x, &target).unwrap();
    let one = fc.score(&net, &x, &ixg, &target).unwrap();
    assert!(close(&one.per_image, &[1.0; 3], 1e-5), "{one:?}");
    let neg = fc.score(&net, &x, &ixg.neg().unwrap(), &target).unwrap();
    assert!(close(&neg.per_image, &[-1.0; 3], 1e-5), "{neg:?}");
    let affine = fc
        .score(&net, &x, &((&ixg * 3.0).unwrap() + 0.7).unwrap(), &target)
        .unwrap();
    assert!(close(&affine.per_image, &[1.0; 3], 1e-5), "{affine:?}");
    // A map unrelated to the model scores far below 1, and the same seed gives the same subsets
    // whatever the batch size.
    let noise = random_images(&mut rng, 3, h, w);
    let a = fc.score(&net, &x, &noise, &target).unwrap();
    assert!(a.per_image.iter().all(|r| r.abs() < 0.9), "{a:?}");
    let b = FaithfulnessCorrelation {
        batch_size: 1,
        ..fc.clone()
    }
    .score(&net, &x, &noise, &target)
    .unwrap();
    assert_eq!(a, b);
    let c = FaithfulnessCorrelation {
        seed: 1,
        ..fc.clone()
    }
    .score(&net, &x, &noise, &target)
    .unwrap();
    assert_ne!(a, c);
    // A constant map has no correlation: NaN per image, and so the mean.
    let flat = fc
        .score(&net, &x, &x.ones_like().unwrap(), &target)
        .unwrap();
    assert!(flat.per_image.iter().all(|r| r.is_nan()) && flat.mean().is_nan());
    // A one-channel map of a three-channel input is broadcast over the channels.
    let wc: Vec<f32> = (0..3 * 2 * 2)
        .map(|_| rng.uniform_range(-1.0, 1.0))
        .collect();
    let net3 = linear_net_channels(3, 2, 2, &wc);
    let x3 = t(
        &(0..2 * 12).map(|_| rng.uniform()).collect::<Vec<_>>(),
        &[2, 3, 2, 2],
    );
    let map1 = random_images(&mut rng, 2, 2, 2);
    let map3 = Tensor::cat(&[&map1, &map1, &map1], 1).unwrap();
    let fc3 = FaithfulnessCorrelation {
        subset_size: 4,
        runs: 10,
        ..FaithfulnessCorrelation::default()
    };
    assert_eq!(
        fc3.score(&net3, &x3, &map1, &target).unwrap(),
        fc3.score(&net3, &x3, &map3, &target).unwrap()
    );
    // `of` explains and scores in one call.
    assert_eq!(fc.of(&InputXGradient, &net, &x, &target).unwrap(), one);
}

#[test]
fn faithfulness_correlation_rejects_bad_input_by_name() {
    let net = linear_net(2, 2, &[1.0, 2.0, 3.0, 4.0]);
    let x = t(&[0.1, 0.2, 0.3, 0.4], &[1, 1, 2, 2]);
    let phi = x.clone();
    let target = Target::class(0);
    let err = |fc: FaithfulnessCorrelation, phi: &Tensor| {
        fc.score(&net, &x, phi, &target).unwrap_err().to_string()
    };
    let fc = |subset_size: usize, runs: usize| FaithfulnessCorrelation {
        subset_size,
        runs,
        ..FaithfulnessCorrelation::default()
    };
    let e = err(fc(0, 10), &phi);
    assert!(
        e.contains("faithfulness_correlation") && e.contains("got 0"),
        "{e}"
    );
    let e = err(fc(5, 10), &phi);
    assert!(e.contains("4 values") && e.contains("got 5"), "{e}");
    let e = err(fc(2, 1), &phi);
    assert!(e.contains("at least 2 runs") && e.contains("got 1"), "{e}");
    let e = err(
        FaithfulnessCorrelation {
            baseline: f32::NAN,
            ..fc(2, 4)
        },
        &phi,
    );
    assert!(e.contains("baseline") && e.contains("NaN"), "{e}");
    let e = err(fc(2, 4), &t(&[0.0; 2], &[1, 1, 1, 2]));
    assert!(
        e.contains("[1, 1 or 1, 2, 2]") && e.contains("[1, 1, 1, 2]"),
        "{e}"
    );
    let e = err(fc(2, 4), &t(&[0.0, f32::INFINITY, 0.0, 0.0], &[1, 1, 2, 2]));
    assert!(
        e.contains("image 0") && e.contains("inf") && e.contains("pixel 1"),
        "{e}"
    );
    let given = |subsets: &[Vec<Vec<usize>>]| {
        FaithfulnessCorrelation::default()
            .score_with(&net, &x, &phi, &target, subsets)
            .unwrap_err()
            .to_string()
    };
    let e = given(&[vec![vec![0]], vec![vec![4]]]);
    assert!(e.contains("run 1, image 0") && e.contains("value 4"), "{e}");
    let e = given(&[vec![vec![0]], vec![vec![1], vec![2]]]);
    assert!(
        e.contains("run 1") && e.contains("2 images") && e.contains("has 1"),
        "{e}"
    );
}

#[test]
fn faithfulness_correlation_matches_quantus() {
    // scripts/compare_quantus_faithfulness.py, Quantus 0.6 FaithfulnessCorrelation on the
    // network and inputs of the Captum test, 12 given subsets of 5 pixels per image.
    let (net, x) = captum_mlp();
    let map: Vec<f32> = (0..32)
        .map(|k| {
            let (n, j) = ((k / 16) as f32, (k % 16) as f32);
            (0.8 * j + 1.9 * n).sin() + 0.3 * (2.3 * j).cos()
        })
        .collect();
    let phi = t(&map, &[2, 1, 4, 4]);
    // in run s, image i loses the 5 pixels j with the smallest (5j + 3s + 7i) mod 17
    let subsets: Vec<Vec<Vec<usize>>> = (0..12)
        .map(|s| {
            (0..2)
                .map(|i| {
                    let mut j: Vec<usize> = (0..16).collect();
                    j.sort_by_key(|&j| (5 * j + 3 * s + 7 * i) % 17);
                    j[..5].to_vec()
                })
                .collect()
        })
        .collect();
    let cases = [
        (Score::Logit, 0.0, [0.4216345250606537, -0.4769505262374878]),
        (
            Score::Softmax,
            0.2,
            [0.535883367061615, -0.4081569314002991],
        ),
    ];
    for (score, baseline, quantus) in cases {
        let target = Target::classes(vec![0, 2]).with_score(score);
        let got = FaithfulnessCorrelation {
            baseline,
            ..FaithfulnessCorrelation::default()
        }
        .score_with(&net, &x, &phi, &target, &subsets)
        .unwrap();
        assert!(
            rel_close(&got.per_image, &quantus, 1e-5),
            "{score:?}: {got:?} vs Quantus {quantus:?}"
        );
    }
}
