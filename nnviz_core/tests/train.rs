//! Training on real MNIST (release build: candle is ~40x slower in debug).

use nnviz_core::candle::Device;
use nnviz_core::data::Dataset;
use nnviz_core::train::{evaluate, train, TrainConfig};
use nnviz_core::{zoo, Network};

#[test]
fn mlp_a_reaches_95_percent_after_one_epoch_and_training_is_deterministic() {
    let data = Dataset::mnist().unwrap();
    let cfg = TrainConfig {
        epochs: 1,
        ..TrainConfig::default()
    };
    let spec = zoo::spec("A").unwrap();
    let mut net = Network::init(&spec, 0, &dev()).unwrap();
    let report = train(&mut net, &data, &cfg).unwrap();
    assert_eq!(report.epochs.len(), 1);
    assert_eq!(report.batch_losses.len(), 600);
    assert!(
        report.test_accuracy >= 0.95,
        "test accuracy {}",
        report.test_accuracy
    );
    let (_, acc) = evaluate(&net, &data.test_x, &data.test_y, 1000).unwrap();
    assert!((acc - report.test_accuracy).abs() < 1e-6);
    // the loss fell during the epoch
    let first: f32 = report.batch_losses[..50].iter().sum();
    let last: f32 = report.batch_losses[550..].iter().sum();
    assert!(last < first * 0.5, "loss did not fall: {first} -> {last}");

    // same seed, same data subset -> identical weights
    let small = data.subset_train(1000).unwrap();
    let run = || {
        let mut n = Network::init(&spec, 3, &dev()).unwrap();
        train(
            &mut n,
            &small,
            &TrainConfig {
                epochs: 1,
                seed: 7,
                ..TrainConfig::default()
            },
        )
        .unwrap();
        n.parameters()[0]
            .1
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    assert_eq!(run(), run());
}

#[test]
fn training_rejects_bad_configurations() {
    let data = Dataset::mnist().unwrap().subset_train(50).unwrap();
    let mut net = Network::init(&zoo::spec("A").unwrap(), 0, &dev()).unwrap();
    let err = train(&mut net, &data, &TrainConfig::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("fewer than one batch"), "{err}");
    let err = train(
        &mut net,
        &data,
        &TrainConfig {
            epochs: 0,
            ..TrainConfig::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("epochs"), "{err}");
}

/// The device under test: the GPU when built with `cuda` and one is present (see tests/gpu.rs).
fn dev() -> Device {
    nnviz_core::device()
}
