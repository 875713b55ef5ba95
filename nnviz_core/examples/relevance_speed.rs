//! Times the modified-backward methods on a batch of 100 test digits (model D1, the reference
//! CNN with biases): `cargo run --release --example relevance_speed`.

use std::time::Instant;

use nnviz_core::prelude::*;
use nnviz_core::relevance::{Composite, Deconvnet, DeepLift, DeepTaylor, GuidedBackprop, Lrp};

fn time(name: &str, f: impl Fn() -> Result<Tensor>) -> Result<()> {
    f()?; // warm-up
    let reps = 5;
    let t0 = Instant::now();
    for _ in 0..reps {
        f()?;
    }
    println!(
        "{name:<28} {:>8.1} ms per batch of 100",
        t0.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
    Ok(())
}

fn main() -> Result<()> {
    let net = zoo::trained("D1")?;
    let data = Dataset::mnist()?;
    let x = data.test_x.narrow(0, 0, 100)?;
    let t = Target::predicted();
    time("gradient (reference)", || {
        Saliency::default().attribute(&net, &x, &t)
    })?;
    time("lrp epsilon_plus", || {
        Lrp::default().attribute(&net, &x, &t)
    })?;
    time("lrp epsilon_alpha2_beta1", || {
        Lrp::new(Composite::epsilon_alpha2_beta1(0.25)).attribute(&net, &x, &t)
    })?;
    time("deep taylor", || {
        DeepTaylor::default().attribute(&net, &x, &t)
    })?;
    time("deeplift", || DeepLift::default().attribute(&net, &x, &t))?;
    time("guided backprop", || GuidedBackprop.attribute(&net, &x, &t))?;
    time("deconvnet", || Deconvnet.attribute(&net, &x, &t))?;
    Ok(())
}
