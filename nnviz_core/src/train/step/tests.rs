use candle_core::{Device, Tensor};
use candle_nn::{Optimizer, ParamsAdamW};

use super::{autograd_step, by_layers, loss_gradients, train_step};
use crate::data::Dataset;
use crate::train::Adam;
use crate::{zoo, Network, Rng};

fn bits(t: &Tensor) -> Vec<u32> {
    t.flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        // −0 and +0 are the same gradient (autograd's 0 + g makes every zero positive).
        .map(|v| if *v == 0.0 { 0 } else { v.to_bits() })
        .collect()
}

/// A batch of 100 digits for `net` (a training batch: the gemm sums run over as many terms as in
/// training), centred on a blank canvas of the network's input size.
fn batch(net: &Network) -> (Tensor, Tensor) {
    let data = Dataset::mnist().unwrap();
    let x = data.train_x.narrow(0, 0, 100).unwrap();
    let side = net.input[1];
    let (before, after) = ((side - 28) / 2, side - 28 - (side - 28) / 2);
    let x = x
        .pad_with_zeros(2, before, after)
        .and_then(|x| x.pad_with_zeros(3, before, after))
        .unwrap();
    (x, data.train_y.narrow(0, 0, 100).unwrap())
}

#[test]
fn layer_by_layer_gradients_equal_autograds_bit_for_bit_on_every_zoo_architecture() {
    for name in zoo::NAMES {
        let mut net = zoo::untrained(name).unwrap();
        let vars = net.make_trainable().unwrap();
        let (x, y) = batch(&net);
        assert!(by_layers(&net, &x), "{name}");
        let (out, grads) = loss_gradients(&net, &x, &y, &mut Rng::new(3)).unwrap();
        let logits = net.forward_train(&x, &mut Rng::new(3)).unwrap();
        let loss = candle_nn::loss::cross_entropy(&logits, &y).unwrap();
        let auto = loss.backward().unwrap();
        assert_eq!(bits(&out.logits), bits(&logits), "{name} logits");
        assert_eq!(
            bits(&out.loss.reshape(1).unwrap()),
            bits(&loss.reshape(1).unwrap())
        );
        assert_eq!(
            grads.len(),
            vars.len(),
            "{name}: one gradient per parameter"
        );
        for ((param, _), var) in net.parameters().iter().zip(&vars) {
            let want = auto.get(var).unwrap();
            let got = grads.get(&var.id()).unwrap();
            assert_eq!(got.dims(), want.dims(), "{name} {param}");
            assert_eq!(bits(got), bits(want), "{name} {param}");
        }
    }
}

#[test]
fn training_steps_give_the_same_weights_either_way() {
    // C has dropout (the masks must be drawn alike) and max-pooling; three Adam steps.
    let params = ParamsAdamW {
        lr: 1e-3,
        weight_decay: 0.0,
        ..ParamsAdamW::default()
    };
    let run = |layers: bool| {
        let mut net = zoo::untrained("C").unwrap();
        let vars = net.make_trainable().unwrap();
        let mut opt = Adam::new(vars, params.clone()).unwrap();
        let (x, y) = batch(&net);
        let mut rng = Rng::new(9);
        for _ in 0..3 {
            if layers {
                train_step(&net, &mut opt, &x, &y, &mut rng).unwrap();
            } else {
                autograd_step(&net, &mut opt, &x, &y, &mut rng).unwrap();
            }
        }
        net.parameters()
            .iter()
            .map(|(_, t)| bits(t))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn other_dtypes_take_candles_autograd() {
    let net = zoo::untrained("A").unwrap();
    let x = Tensor::zeros((2, 1, 28, 28), candle_core::DType::F64, &Device::Cpu).unwrap();
    assert!(!by_layers(&net, &x));
}

#[test]
fn dropout_masks_are_the_uniform_draws_compared_with_keep() {
    // The mask compares the raw bits with an integer threshold; it must be exactly the mask of
    // `uniform() < keep` (what the zoo was trained with), for rates whose keep · 2²⁴ is and is
    // not a whole number. The kernel's product is candle's product.
    let x = Tensor::zeros((3, 7, 1000), candle_core::DType::F32, &Device::Cpu).unwrap();
    for rate in [0.0f32, 0.1, 0.25, 0.3, 1.0 / 3.0, 0.5, 0.7, 0.999] {
        let mut a = Rng::new(17);
        let mut b = Rng::new(17);
        let mask = crate::model::layer::dropout_mask(&x, rate, &mut a).unwrap();
        let keep = 1.0 - rate;
        let want: Vec<f32> = (0..x.elem_count())
            .map(|_| if b.uniform() < keep { 1.0 / keep } else { 0.0 })
            .collect();
        assert_eq!(
            bits(&mask),
            bits(&Tensor::new(want.as_slice(), &Device::Cpu).unwrap()),
            "rate {rate}"
        );
        assert_eq!(
            a.next_u64(),
            b.next_u64(),
            "rate {rate}: the streams moved alike"
        );
    }
    let mut rng = Rng::new(3);
    let v: Vec<f32> = (0..50_000).map(|_| rng.normal()).collect();
    let u: Vec<f32> = (0..50_000).map(|_| rng.normal()).collect();
    let (p, q) = (
        Tensor::new(v.as_slice(), &Device::Cpu).unwrap(),
        Tensor::new(u.as_slice(), &Device::Cpu).unwrap(),
    );
    assert_eq!(
        bits(&crate::kernels::mul(&p, &q).unwrap()),
        bits(&(&p * &q).unwrap())
    );
}
