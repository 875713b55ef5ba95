//! # nnviz_core
//!
//! Neural-network interpretation on [candle](https://github.com/huggingface/candle): the library
//! behind the "Understanding NN" notebooks.
//!
//! * [`data`]: MNIST from the committed IDX files (checksummed) and a seeded cluttered-MNIST
//!   generator.
//! * [`model`]: networks as inspectable data ([`Layer`], [`Network`]), the tutorial's model zoo
//!   ([`zoo`]), self-describing safetensors model files, and an MNIST VAE ([`model::vae`]), the
//!   generator of code-space activation maximisation.
//! * [`train`]: seeded, deterministic training (Adam, softmax cross-entropy).
//! * [`viz`]: heatmaps, grids and line plots that display inline in evcxr notebooks.
//! * [`attribution`], [`methods`]: one [`Attribution`] trait, one `attribute` call per method
//!   (saliency, gradient × input, integrated gradients, SmoothGrad, CAM, Grad-CAM, Grad-CAM++, …).
//! * [`relevance`]: one modified backward pass with per-layer rules: LRP, deep Taylor, DeepLIFT,
//!   deconvnet, guided backprop.
//! * [`metrics`]: continuity, selectivity (pixel flipping, AOPC), the randomisation sanity check,
//!   completeness, and one evaluation table over every method; localisation against a known
//!   object (pointing game, relevance mass and rank accuracy, ROC AUC), complexity, and
//!   Yeh et al.'s max-sensitivity and infidelity.
//!
//! Notebooks need a single `:dep nnviz_core = { path = "../nnviz_core" }`: candle, candle_nn,
//! plotters and image are re-exported here.

pub mod alloc;
pub mod attribution;
pub mod bench;
pub mod data;
pub mod error;
pub mod grad;
pub mod kernels;
pub mod methods;
pub mod metrics;
pub mod model;
pub mod relevance;
pub mod rng;
pub mod train;
pub mod viz;

pub mod prelude;

pub use attribution::{Attribution, Target};
pub use error::{Error, Result};
pub use model::{zoo, Layer, Network};
pub use rng::Rng;

pub use candle_core as candle;
pub use candle_nn;
pub use image;
pub use plotters;

/// The device nnviz computes on: the first CUDA GPU when the crate is built with the `cuda`
/// feature and a GPU is present, the CPU otherwise. `NNVIZ_DEVICE=cpu` forces the CPU.
/// [`describe_device`] says which one it is.
pub fn device() -> candle_core::Device {
    if std::env::var("NNVIZ_DEVICE").is_ok_and(|v| v.eq_ignore_ascii_case("cpu")) {
        return candle_core::Device::Cpu;
    }
    candle_core::Device::cuda_if_available(0).unwrap_or(candle_core::Device::Cpu)
}

/// A one-line description of a device: `CPU (2 threads)` or `CUDA GPU 0`.
pub fn describe_device(device: &candle_core::Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => {
            let n = rayon::current_num_threads();
            format!("CPU ({n} thread{})", if n == 1 { "" } else { "s" })
        }
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("CUDA GPU {gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("Metal GPU {gpu_id}"),
    }
}
