//! Code-space activation maximisation (section 1.3) with the cached MNIST VAE and zoo model A.
//!
//! One test function: the VAE and model A are loaded (or trained, about two minutes) once.

use nnviz_core::candle::{Device, Tensor, D};
use nnviz_core::candle_nn::ops::softmax;
use nnviz_core::methods::{ActivationMaximization, AmInit, AmObjective};
use nnviz_core::model::vae::{self, Vae};
use nnviz_core::model::Generator;
use nnviz_core::{zoo, Network};

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

/// The notebook's setting (the original's): log-probability, λ = 0.05 towards the class-mean
/// code, start from N(0, I).
fn code_am(seed: u64, prior: &Tensor) -> ActivationMaximization {
    ActivationMaximization {
        objective: AmObjective::LogProbability,
        l2: 0.05,
        prior: Some(prior.clone()),
        init: AmInit::Normal { std: 1.0, seed },
        learning_rate: 0.05,
        steps: 300,
    }
}

/// Mean max-probability of the classifier on 1000 samples of `g`, and how many of them it puts
/// in each class.
fn confidence(net: &Network, g: &Vae) -> (f32, [usize; 10]) {
    let x = g.sample(1000, 0).unwrap();
    let p = softmax(&net.forward(&x).unwrap(), D::Minus1).unwrap();
    let max_p = values(&p.max(1).unwrap());
    let mut counts = [0usize; 10];
    for c in p.argmax(1).unwrap().to_vec1::<u32>().unwrap() {
        counts[c as usize] += 1;
    }
    (max_p.iter().sum::<f32>() / 1000.0, counts)
}

/// What "the samples look like digits" means here: the classifier is confident on average and
/// every class is drawn (at least 20 of 1000).
fn digit_like(mean: f32, counts: &[usize; 10]) -> bool {
    mean > 0.8 && counts.iter().all(|&n| n >= 20)
}

fn samples_are_digits(net: &Network, g: &Vae) {
    // 1000 codes from the prior: the classifier must be confident on average (0.87 measured) and
    // every class must be drawn.
    let (mean, counts) = confidence(net, g);
    assert!(
        digit_like(mean, &counts),
        "VAE samples: mean max-probability {mean}, classes {counts:?}"
    );
    // An untrained generator's blobs must fail the same test, or it would not discriminate.
    // (Confidence alone does not: a classifier can be sure of a blob — one retrained A gave
    // 0.96 — but the blobs all land in one or two classes.)
    let untrained = Vae::new(&vae::VaeRecipe::default(), 0, &dev()).unwrap();
    let (blob_mean, blob_counts) = confidence(net, &untrained);
    assert!(
        !digit_like(blob_mean, &blob_counts),
        "an untrained generator passes too (mean max-probability {blob_mean}, classes \
         {blob_counts:?}): the test would not discriminate"
    );
    eprintln!("untrained generator: mean max-probability {blob_mean}, classes {blob_counts:?}");
}

#[test]
fn code_space_prototypes() {
    let net = zoo::trained("A").unwrap();
    let g = vae::trained().unwrap();
    samples_are_digits(&net, &g);

    let data = nnviz_core::data::Dataset::mnist().unwrap();
    let zbar = g.class_mean_codes(&data).unwrap();
    assert_eq!(zbar.dims(), &[10, g.code_dim()]);
    let classes: Vec<usize> = (0..10).collect();
    let res = code_am(0, &zbar)
        .run_in_code_space(&net, &g, &classes)
        .unwrap();
    assert_eq!(res.prototypes.dims(), &[10, 1, 28, 28]);
    let codes = res.codes.clone().unwrap();
    assert_eq!(codes.dims(), &[10, g.code_dim()]);
    assert_eq!(res.objective.len(), 301);
    // The objective increases for every class; the prototypes are g(z*).
    for k in 0..10 {
        let (first, last) = (res.objective[0][k], res.objective[300][k]);
        assert!(last > first + 1.0, "class {k}: objective {first} -> {last}");
    }
    assert_eq!(
        values(&g.generate(&codes).unwrap()),
        values(&res.prototypes)
    );
    // Each prototype is its class with high confidence, and its code stays near the class
    // mean code (a random start is ‖z − z̄‖ ≈ 4 away).
    let p: Vec<Vec<f32>> = softmax(&net.forward(&res.prototypes).unwrap(), D::Minus1)
        .unwrap()
        .to_vec2()
        .unwrap();
    for (k, row) in p.iter().enumerate() {
        assert!(row[k] > 0.99, "prototype {k}: p = {}", row[k]);
    }
    let dist = (&codes - &zbar)
        .unwrap()
        .sqr()
        .unwrap()
        .sum(1)
        .unwrap()
        .sqrt()
        .unwrap();
    for (k, n) in values(&dist).iter().enumerate() {
        assert!(*n < 2.5, "prototype {k}: ‖z − z̄‖ = {n}");
    }
    // Same seed, same prototypes; another seed starts elsewhere.
    let again = code_am(0, &zbar)
        .run_in_code_space(&net, &g, &classes)
        .unwrap();
    assert_eq!(values(&again.prototypes), values(&res.prototypes));
    let other = code_am(1, &zbar.narrow(0, 3, 1).unwrap())
        .run_in_code_space(&net, &g, &[3])
        .unwrap();
    assert_ne!(
        values(&other.codes.unwrap()),
        values(&codes.narrow(0, 3, 1).unwrap())
    );
    // Reloading the cached file gives the same generator, bit for bit.
    let (reloaded, _) = Vae::load(vae::cache_path(), &dev()).unwrap();
    let z = g.prior_codes(8, 3).unwrap();
    assert_eq!(
        values(&reloaded.decode(&z).unwrap()),
        values(&g.decode(&z).unwrap())
    );
    let x = g.sample(4, 9).unwrap();
    assert_eq!(
        values(&reloaded.encode(&x).unwrap().0),
        values(&g.encode(&x).unwrap().0)
    );
    // A code prior of the wrong length is an error naming the shapes.
    let bad = ActivationMaximization {
        prior: Some(Tensor::zeros((1, 7), nnviz_core::candle::DType::F32, &dev()).unwrap()),
        ..code_am(0, &zbar)
    };
    let err = bad
        .run_in_code_space(&net, &g, &[1])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("prior of shape [1, 7]") && err.contains("[1, 16]"),
        "{err}"
    );
}

/// The device under test: the GPU when built with `cuda` and one is present (see tests/gpu.rs).
fn dev() -> Device {
    nnviz_core::device()
}
