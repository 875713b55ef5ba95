//! Activation maximisation on a briefly trained MLP.

use nnviz_core::candle::{Device, Tensor};
use nnviz_core::data::Dataset;
use nnviz_core::methods::{ActivationMaximization, AmInit, AmObjective};
use nnviz_core::train::{train, TrainConfig};
use nnviz_core::{zoo, Network};

fn trained_mlp() -> (Network, Dataset) {
    let data = Dataset::mnist().unwrap();
    let mut net = Network::init(&zoo::spec("A").unwrap(), 0, &dev()).unwrap();
    train(
        &mut net,
        &data,
        &TrainConfig {
            epochs: 1,
            ..TrainConfig::default()
        },
    )
    .unwrap();
    (net, data)
}

#[test]
fn prototypes_increase_the_objective_and_are_classified_as_their_class() {
    let (net, data) = trained_mlp();
    let classes: Vec<usize> = (0..10).collect();
    let means = Tensor::cat(
        &classes
            .iter()
            .map(|&c| data.class_mean(c).unwrap())
            .collect::<Vec<_>>(),
        0,
    )
    .unwrap();
    for (objective, prior) in [
        (AmObjective::Logit, None),
        (AmObjective::LogProbability, Some(means.clone())),
    ] {
        let am = ActivationMaximization {
            objective,
            prior,
            l2: 0.05,
            steps: 300,
            learning_rate: 0.05,
            ..Default::default()
        };
        let res = am.run(&net, &classes).unwrap();
        assert_eq!(res.prototypes.dims(), &[10, 1, 28, 28]);
        assert_eq!(res.objective.len(), 301);
        for k in 0..10 {
            let (first, last) = (res.objective[0][k], res.objective[300][k]);
            assert!(
                last > first,
                "{objective:?} class {k}: objective {first} -> {last}"
            );
        }
        let p =
            nnviz_core::candle_nn::ops::softmax(&net.forward(&res.prototypes).unwrap(), 1).unwrap();
        let p: Vec<Vec<f32>> = p.to_vec2().unwrap();
        for (k, row) in p.iter().enumerate() {
            assert!(
                row[k] > 0.9,
                "{objective:?}: prototype {k} has p = {}",
                row[k]
            );
        }
    }
}

#[test]
fn seeded_and_checked() {
    let net = Network::init(&zoo::spec("A").unwrap(), 1, &dev()).unwrap();
    let am = ActivationMaximization {
        init: AmInit::Normal { std: 0.1, seed: 3 },
        steps: 5,
        ..Default::default()
    };
    let a = am
        .run(&net, &[1, 2])
        .unwrap()
        .prototypes
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let b = am
        .run(&net, &[1, 2])
        .unwrap()
        .prototypes
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(a, b);
    let err = am.run(&net, &[10]).unwrap_err().to_string();
    assert!(
        err.contains("class 10") && err.contains("10 outputs"),
        "{err}"
    );
    let bad_prior = ActivationMaximization {
        prior: Some(Tensor::zeros((3, 1, 28, 28), nnviz_core::candle::DType::F32, &dev()).unwrap()),
        ..am.clone()
    };
    let err = bad_prior.run(&net, &[1, 2]).unwrap_err().to_string();
    assert!(err.contains("prior of shape [3, 1, 28, 28]"), "{err}");
    assert!(am.run(&net, &[]).is_err());
}

/// The device under test: the GPU when built with `cuda` and one is present (see tests/gpu.rs).
fn dev() -> Device {
    nnviz_core::device()
}
