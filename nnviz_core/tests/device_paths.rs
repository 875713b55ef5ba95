//! The CPU kernels (src/kernels) against candle's own ops (`model::layer::portable`, candle's
//! autograd), which are what a GPU runs: with every kernel switched off ([`Switches::OFF`]) a CPU
//! run takes the GPU's code path, so these tests check that path without a GPU.
//! A first run on an H200 found gradients 77 % apart here: max-pool ties (a constant background
//! makes whole windows equal) went to the first cell on the CPU and were shared on the candle
//! path. Its own binary, because the kernel switches are global; the tests here take turns.

use std::sync::Mutex;

use nnviz_core::bench;
use nnviz_core::candle::{Device, Tensor};
use nnviz_core::candle_nn::loss::cross_entropy;
use nnviz_core::data::Dataset;
use nnviz_core::grad;
use nnviz_core::kernels::{self, Switches};
use nnviz_core::zoo;
use nnviz_core::Target;

static SWITCHES: Mutex<()> = Mutex::new(());

/// `f` with the kernels on, then with them off (the GPU's path); the switches end on.
fn both_paths<T>(mut f: impl FnMut() -> T) -> (T, T) {
    let _turn = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
    kernels::set_switches(Switches::ON);
    let on = f();
    kernels::set_switches(Switches::OFF);
    let off = f();
    kernels::set_switches(Switches::ON);
    (on, off)
}

#[test]
fn every_method_agrees_between_the_cpu_kernels_and_candles_ops() {
    let data = Dataset::mnist().unwrap();
    let (with_kernels, with_candle) =
        both_paths(|| bench::run(&data, &Device::Cpu, 10, 1, 0).unwrap());
    let table = bench::comparison_table("kernels", &with_kernels, "candle", &with_candle).unwrap();
    let bad = bench::disagreements(&with_kernels, &with_candle).unwrap();
    assert!(bad.is_empty(), "{bad:?}\n{table}");
}

#[test]
fn every_zoo_architecture_trains_and_explains_alike_on_both_paths() {
    // Logits, every parameter's gradient of the training loss and the input gradient of the
    // predicted class, for each zoo architecture (deterministic initial weights, 16 digits,
    // centred on a blank 40×40 canvas for the cluttered-MNIST models).
    let data = Dataset::mnist().unwrap();
    let x = data.train_x.narrow(0, 0, 16).unwrap();
    let y = data.train_y.narrow(0, 0, 16).unwrap();
    for name in zoo::NAMES {
        let run = || -> Vec<(String, Tensor)> {
            let mut net = zoo::untrained(name).unwrap();
            let side = net.input[1];
            let (before, after) = ((side - 28) / 2, side - 28 - (side - 28) / 2);
            let x = x
                .pad_with_zeros(2, before, after)
                .and_then(|x| x.pad_with_zeros(3, before, after))
                .unwrap();
            let vars = net.make_trainable().unwrap();
            let logits = net.forward(&x).unwrap();
            let grads = cross_entropy(&logits, &y).unwrap().backward().unwrap();
            let mut out = vec![("logits".to_string(), logits.detach())];
            for ((param, _), var) in net.parameters().into_iter().zip(&vars) {
                let g = grads
                    .get(var.as_tensor())
                    .unwrap_or_else(|| panic!("{name} {param}"));
                out.push((format!("∂loss/∂{param}"), g.clone()));
            }
            let ig = grad::vjp(&net, &x, &Target::predicted()).unwrap();
            out.push(("∂logit/∂x".to_string(), ig.grad));
            out
        };
        let (on, off) = both_paths(run);
        assert_eq!(on.len(), off.len(), "{name}");
        for ((what, a), (_, b)) in on.iter().zip(&off) {
            let (max, rel) = bench::difference(a, b).unwrap();
            assert!(
                rel <= 1e-4,
                "{name} {what}: relative L2 {rel:.2e} (max {max:.2e}) between the kernels and candle's ops"
            );
        }
    }
}

#[test]
fn the_rules_elementwise_kernels_change_no_bit() {
    // LRP's stabilised ratio and DeepLIFT's rescale multipliers in one pass each (and occlusion's
    // occluded copies written directly), against the same arithmetic in candle's operations (the
    // path of other devices and dtypes): every method that uses them, on trained-like weights
    // (the zoo's initial weights with biases, D1; and the cluttered-MNIST G with its global
    // average pooling), bit for bit.
    use nnviz_core::relevance::{Composite, DeepLift, DeepTaylor, Lrp, Rule};
    use nnviz_core::Attribution;
    let data = Dataset::mnist().unwrap();
    let x = data.test_x.narrow(0, 0, 12).unwrap();
    let methods: Vec<(&str, Box<dyn Attribution>)> = vec![
        (
            "LRP-ε",
            Box::new(Lrp::new(Composite::uniform(Rule::Epsilon(0.25)))),
        ),
        ("LRP-0", Box::new(Lrp::new(Composite::uniform(Rule::Zero)))),
        ("LRP ε-plus", Box::new(Lrp::default())),
        ("deep Taylor", Box::new(DeepTaylor::default())),
        ("DeepLIFT", Box::new(DeepLift::default())),
        (
            "occlusion",
            Box::new(nnviz_core::methods::Occlusion::new((6, 6), (4, 4))),
        ),
    ];
    for name in ["D1", "D0", "G"] {
        let net = zoo::untrained(name).unwrap();
        let side = net.input[1];
        let pad = (side - 28) / 2;
        let x = x
            .pad_with_zeros(2, pad, side - 28 - pad)
            .and_then(|x| x.pad_with_zeros(3, pad, side - 28 - pad))
            .unwrap();
        for (method, m) in &methods {
            let run = || {
                m.attribute(&net, &x, &Target::predicted())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            };
            let _turn = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
            let fused = run();
            kernels::set_switches(Switches {
                rules: false,
                ..Switches::ON
            });
            let candle = run();
            kernels::set_switches(Switches::ON);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert!(fused.iter().any(|v| *v != 0.0), "{name} {method}: all zero");
            assert_eq!(bits(&fused), bits(&candle), "{name} {method}");
        }
    }
}
