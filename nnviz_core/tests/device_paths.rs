//! The CPU kernels (src/kernels) against candle's own ops, which are what a GPU runs: every
//! method of the benchmark suite must give the same result on MNIST digits either way.
//! A first run on an H200 found gradients 77 % apart here: max-pool ties (a constant background
//! makes whole windows equal) went to the first cell on the CPU and were shared on the candle
//! path. Its own binary, because the kernel switches are global.

use nnviz_core::bench;
use nnviz_core::candle::Device;
use nnviz_core::data::Dataset;
use nnviz_core::kernels::{self, Switches};

#[test]
fn every_method_agrees_between_the_cpu_kernels_and_candles_ops() {
    let data = Dataset::mnist().unwrap();
    let with_kernels = bench::run(&data, &Device::Cpu, 10, 1, 0).unwrap();
    kernels::set_switches(Switches {
        conv: false,
        pool: false,
    });
    let with_candle = bench::run(&data, &Device::Cpu, 10, 1, 0).unwrap();
    kernels::set_switches(Switches {
        conv: true,
        pool: true,
    });
    let table = bench::comparison_table("kernels", &with_kernels, "candle", &with_candle).unwrap();
    let bad = bench::disagreements(&with_kernels, &with_candle).unwrap();
    assert!(bad.is_empty(), "{bad:?}\n{table}");
}
