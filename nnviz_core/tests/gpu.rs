//! The integration tests again, on the GPU: built only with `--features cuda`
//! (`cargo test --release --features cuda --test gpu`), one binary so that it can be carried to a
//! GPU machine (scripts/gpu-check.sh). Each included file computes on `nnviz_core::device()`,
//! which is the GPU there; `NNVIZ_DEVICE=cpu` runs the same tests on the CPU.

#[path = "act_max.rs"]
mod act_max;
#[path = "methods.rs"]
mod methods;
#[path = "model.rs"]
mod model;
#[path = "train.rs"]
mod train;

use nnviz_core::bench;
use nnviz_core::candle::Device;

/// Every method on the device under test against the CPU, same weights and inputs: relative L2
/// difference at most 1e-4. Prints the side-by-side table (run with `--nocapture` to see it).
#[test]
fn every_method_agrees_with_the_cpu() {
    let data = nnviz_core::data::Dataset::mnist().unwrap();
    let d = nnviz_core::device();
    let on_dev = bench::run(&data, &d, 100, 3, 20).unwrap();
    let on_cpu = bench::run(&data, &Device::Cpu, 100, 3, 20).unwrap();
    println!(
        "{} against the CPU:\n{}",
        nnviz_core::describe_device(&d),
        bench::comparison_table("device", &on_dev, "CPU", &on_cpu).unwrap()
    );
    let bad = bench::disagreements(&on_dev, &on_cpu).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
}
