//! Benchmarks and the CPU-versus-GPU check.
//!
//! [`suite`] lists every attribution method with the settings it is benchmarked at; [`run`] times
//! them on one device on the *reference CNN* of the PyTorch/Captum anchor timings (conv 1→32 3×3,
//! ReLU, max-pool 2, conv 32→64 3×3, ReLU, max-pool 2, fc 3136→1024, ReLU, fc 1024→10; see
//! [`reference_cnn`]) at a batch of 100 MNIST test images; [`measure`] on two devices with the same
//! weights and inputs, then [`comparison_table`] and [`disagreements`], report how far the
//! results are apart.
//! The `nnviz bench` and `nnviz gpu-check` commands print these as Markdown tables; the number of
//! CPU threads is rayon's (`RAYON_NUM_THREADS`).
//!
//! Times are medians of `repeats` runs after one warm-up run; a GPU is synchronised before the
//! clock stops. Compare times only when measured side by side in one run.
//!
//! [`export`] writes a run's network, inputs, explained classes, every method's result and the
//! times to a directory (`nnviz bench --export DIR`), for `scripts/compare_pytorch.py` to
//! recompute them with PyTorch, Captum and Zennit and compare.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};

use crate::attribution::{Attribution, Target};
use crate::methods::{
    FeatureAblation, GradCam, GradCamPlusPlus, GradientShap, GuidedGradCam, HiResCam,
    InputXGradient, IntegratedGradients, KernelShap, LayerCam, Lime, Occlusion, Saliency, ScoreCam,
    ShapleyValueSampling, SmoothGrad, XGradCam,
};
use crate::model::{LayerSpec, NetworkSpec, Padding};
use crate::relevance::{Composite, Deconvnet, DeepLift, DeepTaylor, GuidedBackprop, Lrp, Rule};
use candle_nn::{Optimizer, ParamsAdamW};

use crate::data::npy::write_npy;
use crate::data::{atomic_write, Dataset};
use crate::train::Adam;
use crate::{bail, Error, Network, Result, Rng};

/// One benchmarked method: a name and the method with its benchmark settings.
pub struct Case {
    /// Short name used in tables (`gradient`, `integrated gradients (50 steps)`, ...).
    pub name: &'static str,
    /// ASCII identifier (`gradient`, `integrated_gradients`, ...): the file stem of the case's
    /// result in an [`export`] directory.
    pub key: &'static str,
    /// The method.
    pub method: Box<dyn Attribution>,
    /// The largest relative L2 difference accepted between two implementations of the same
    /// arithmetic (GPU and CPU, or the CPU kernels and candle's ops): [`AGREEMENT`], or
    /// [`AGREEMENT_SAMPLED`] for methods that route gradients through max-pooling at many
    /// perturbed inputs (occlusion and Score-CAM evaluate many too, but forward only:
    /// [`AGREEMENT`]).
    pub tolerance: f32,
    /// Whether the method evaluates the network at many inputs per image (integrated gradients,
    /// SmoothGrad, GradientSHAP, occlusion, Score-CAM): it gets at most 3 timed runs.
    pub long: bool,
}

/// Agreement expected of a method evaluated once per input: rounding only.
pub const AGREEMENT: f32 = 1e-4;

/// Agreement expected of integrated gradients, SmoothGrad and GradientSHAP. Over thousands of interpolated or
/// noisy inputs a few max-pooling windows hold two values within rounding of each other; a
/// different summation order then picks the other winner and routes that window's gradient
/// elsewhere. Measured: 2e-4 (integrated gradients) and 1e-3 (SmoothGrad) between the CPU
/// kernels and candle's ops on 20 MNIST digits.
pub const AGREEMENT_SAMPLED: f32 = 5e-3;

/// Every attribution method of the crate, at the settings the anchor timings used.
pub fn suite() -> Vec<Case> {
    let case = |name, key, method: Box<dyn Attribution>| Case {
        name,
        key,
        method,
        tolerance: AGREEMENT,
        long: false,
    };
    // Many network evaluations per image: fewer timed runs; and where gradients are routed
    // through max-pooling at many perturbed inputs, the looser agreement. Occlusion and
    // Score-CAM only run forward passes (a tie in a pooling window gives the same maximum
    // either way): AGREEMENT.
    let sampled = |c: Case| Case {
        tolerance: AGREEMENT_SAMPLED,
        long: true,
        ..c
    };
    let long = |c: Case| Case { long: true, ..c };
    vec![
        case("gradient", "gradient", Box::<Saliency>::default()),
        case(
            "input × gradient",
            "input_x_gradient",
            Box::new(InputXGradient),
        ),
        sampled(case(
            "integrated gradients (50 steps)",
            "integrated_gradients",
            Box::<IntegratedGradients>::default(),
        )),
        sampled(case(
            "SmoothGrad (50 samples)",
            "smooth_grad",
            Box::new(SmoothGrad::new(Saliency::default())),
        )),
        sampled(case(
            "GradientSHAP (50 draws, black reference)",
            "gradient_shap",
            Box::<GradientShap>::default(),
        )),
        case(
            "guided backprop",
            "guided_backprop",
            Box::new(GuidedBackprop),
        ),
        case("deconvnet", "deconvnet", Box::new(Deconvnet)),
        case(
            "LRP-ε (0.25)",
            "lrp_epsilon",
            Box::new(Lrp::new(Composite::uniform(Rule::Epsilon(0.25)))),
        ),
        case(
            "LRP z⁺",
            "lrp_zplus",
            Box::new(Lrp::new(Composite::uniform(Rule::ZPlus))),
        ),
        case(
            "LRP α2β1",
            "lrp_alpha2_beta1",
            Box::new(Lrp::new(Composite::uniform(Rule::AlphaBeta {
                alpha: 2.0,
                beta: 1.0,
            }))),
        ),
        case(
            "LRP ε-plus composite",
            "lrp_epsilon_plus",
            Box::new(Lrp::new(Composite::epsilon_plus(0.25))),
        ),
        case("deep Taylor", "deep_taylor", Box::<DeepTaylor>::default()),
        case("DeepLIFT rescale", "deep_lift", Box::<DeepLift>::default()),
        case(
            "Grad-CAM (conv2)",
            "grad_cam",
            Box::new(GradCam::new("conv2")),
        ),
        case(
            "Grad-CAM++ (conv2)",
            "grad_cam_pp",
            Box::new(GradCamPlusPlus::new("conv2")),
        ),
        case(
            "XGrad-CAM (conv2)",
            "xgrad_cam",
            Box::new(XGradCam::new("conv2")),
        ),
        case(
            "HiResCAM (conv2)",
            "hires_cam",
            Box::new(HiResCam::new("conv2")),
        ),
        case(
            "Guided Grad-CAM (conv2)",
            "guided_grad_cam",
            Box::new(GuidedGradCam::new("conv2")),
        ),
        case(
            "LayerCAM (conv2)",
            "layer_cam",
            Box::new(LayerCam::new("conv2")),
        ),
        long(case(
            "occlusion (4×4, stride 2)",
            "occlusion",
            Box::<Occlusion>::default(),
        )),
        case(
            "feature ablation (7×7 patches, 16 features)",
            "feature_ablation",
            Box::<FeatureAblation>::default(),
        ),
        long(case(
            "Shapley value sampling (7×7 patches, 25 orderings)",
            "shapley_sampling",
            Box::<ShapleyValueSampling>::default(),
        )),
        long(case(
            "KernelSHAP (7×7 patches, 200 coalitions)",
            "kernel_shap",
            Box::<KernelShap>::default(),
        )),
        long(case(
            "LIME (7×7 patches, 200 coalitions, Lasso)",
            "lime",
            Box::<Lime>::default(),
        )),
        long(case(
            "Score-CAM (conv2, 64 channels)",
            "score_cam",
            Box::new(ScoreCam::new("conv2")),
        )),
    ]
}

/// The reference CNN of the anchor timings (TF-SAME 3×3 convolutions keep 28×28, then 14×14).
pub fn reference_cnn() -> NetworkSpec {
    let conv = |i, o| LayerSpec::Conv2d {
        in_channels: i,
        out_channels: o,
        kernel: [3, 3],
        stride: 1,
        padding: Padding::Same,
        bias: true,
    };
    let pool = || LayerSpec::MaxPool2d {
        kernel: 2,
        stride: 2,
        padding: Padding::Same,
    };
    let linear = |i, o| LayerSpec::Linear {
        in_features: i,
        out_features: o,
        bias: true,
    };
    NetworkSpec::new("reference", [1, 28, 28])
        .push("conv1", conv(1, 32))
        .push("relu1", LayerSpec::Relu)
        .push("pool1", pool())
        .push("conv2", conv(32, 64))
        .push("relu2", LayerSpec::Relu)
        .push("pool2", pool())
        .push("flatten", LayerSpec::Flatten)
        .push("fc3", linear(3136, 1024))
        .push("relu3", LayerSpec::Relu)
        .push("fc4", linear(1024, 10))
}

/// The benchmark's network and inputs on `device`: the reference CNN with seeded weights and the
/// first `batch` MNIST test images.
pub fn workload(data: &Dataset, batch: usize, device: &Device) -> Result<(Network, Tensor)> {
    let n = data.test_x.dim(0)?;
    if batch == 0 || batch > n {
        bail!("bench: batch size {batch} must be between 1 and the {n} test images");
    }
    let net = Network::init(&reference_cnn(), 0, device)?;
    let x = data.test_x.narrow(0, 0, batch)?.to_device(device)?;
    Ok((net, x))
}

/// A median time in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub median_ms: f64,
    pub repeats: usize,
}

/// Runs `f` once to warm up, then `repeats` times; the median wall time (the device synchronised).
pub fn time<T>(
    device: &Device,
    repeats: usize,
    mut f: impl FnMut() -> Result<T>,
) -> Result<(T, Timing)> {
    let repeats = repeats.max(1);
    let mut out = f()?;
    device.synchronize()?;
    let mut ms = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        out = f()?;
        device.synchronize()?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok((
        out,
        Timing {
            median_ms: ms[ms.len() / 2],
            repeats,
        },
    ))
}

/// One row of a benchmark: what was timed, its time, and (for methods) its result on the CPU.
pub struct Row {
    pub name: String,
    /// ASCII identifier: the case's [`Case::key`], `forward` or `training`.
    pub key: String,
    pub timing: Timing,
    pub result: Option<Tensor>,
    /// The method's [`Case::tolerance`].
    pub tolerance: Option<f32>,
}

/// Everything one benchmark run used and computed: the network, the inputs, the explained
/// classes, the logits and the rows (see [`measure`]).
pub struct Measurement {
    pub net: Network,
    /// The batch, `[N, 1, 28, 28]`, on the benchmarked device.
    pub x: Tensor,
    /// The explained class of every image (the predicted one).
    pub classes: Vec<usize>,
    /// The logits at `x`, `[N, 10]`, on the CPU.
    pub logits: Tensor,
    pub rows: Vec<Row>,
}

/// Times the forward pass, every method of [`suite`] and `train_batches` training steps on
/// `device` (batch of `batch` images, predicted-class logit as the target).
pub fn run(
    data: &Dataset,
    device: &Device,
    batch: usize,
    repeats: usize,
    train_batches: usize,
) -> Result<Vec<Row>> {
    Ok(measure(data, device, batch, repeats, train_batches)?.rows)
}

/// [`run`], keeping the network, inputs, classes and logits (what [`export`] writes).
pub fn measure(
    data: &Dataset,
    device: &Device,
    batch: usize,
    repeats: usize,
    train_batches: usize,
) -> Result<Measurement> {
    let (net, x) = workload(data, batch, device)?;
    let logits = net.forward(&x)?;
    let classes = Target::predicted().resolve(&logits)?;
    let target = Target::classes(classes.clone());
    let mut rows = Vec::new();
    let (_, timing) = time(device, repeats, || net.forward(&x))?;
    rows.push(Row {
        name: "forward only".into(),
        key: "forward".into(),
        timing,
        result: None,
        tolerance: None,
    });
    for case in suite() {
        // Long methods get fewer repeats: their run-to-run spread is small against their time.
        let reps = if case.long { repeats.min(3) } else { repeats };
        let (a, timing) = time(device, reps, || case.method.attribute(&net, &x, &target))?;
        rows.push(Row {
            name: case.name.into(),
            key: case.key.into(),
            timing,
            result: Some(a.to_device(&Device::Cpu)?),
            tolerance: Some(case.tolerance),
        });
    }
    if train_batches > 0 {
        let timing = time_training(data, device, train_batches)?;
        rows.push(Row {
            name: format!("training, {train_batches} Adam steps of 100"),
            key: "training".into(),
            timing,
            result: None,
            tolerance: None,
        });
    }
    Ok(Measurement {
        net,
        x,
        classes,
        logits: logits.to_device(&Device::Cpu)?,
        rows,
    })
}

/// Fails unless `dir` is a directory or does not exist yet (checked before a long run).
pub fn check_export_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!(
            "bench: export directory {} exists and is not a directory",
            dir.display()
        );
    }
    Ok(())
}

/// Writes what a benchmark run computed to the directory `dir` (created if missing), so that
/// another implementation can recompute it from the same network and inputs and compare (the
/// PyTorch/Captum/Zennit comparison, `scripts/compare_pytorch.py`):
///
/// * `model.safetensors`: the network ([`Network::save`]: PyTorch names and layouts, the
///   architecture in the metadata);
/// * `inputs.npy` (float32 `[N, 1, 28, 28]`), `targets.npy` (int64 `[N]`, the explained
///   classes), `logits.npy` (float32 `[N, 10]`);
/// * `<key>.npy` for every method row: its result (float32, the input's shape; `[N, 1, 28, 28]`
///   for the CAM methods);
/// * `timings.json`: `{"device", "batch", "threads", "rows": [{"key", "name", "median_ms",
///   "repeats", "threads", "tolerance", "file"}]}`; `threads` is rayon's
///   `current_num_threads()` (`RAYON_NUM_THREADS`), `file` null for rows without a result.
///
/// Every file is written atomically. Returns the paths written.
pub fn export(dir: &Path, m: &Measurement) -> Result<Vec<PathBuf>> {
    check_export_dir(dir)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating export directory", dir, e))?;
    let cpu = Device::Cpu;
    let mut written = Vec::new();
    let mut npy = |name: &str, t: &Tensor| -> Result<()> {
        let path = dir.join(name);
        write_npy(&path, &t.to_device(&cpu)?)?;
        written.push(path);
        Ok(())
    };
    npy("inputs.npy", &m.x)?;
    let targets: Vec<i64> = m.classes.iter().map(|&c| c as i64).collect();
    npy("targets.npy", &Tensor::new(targets, &cpu)?)?;
    npy("logits.npy", &m.logits)?;
    let threads = rayon::current_num_threads();
    let mut rows = Vec::with_capacity(m.rows.len());
    for r in &m.rows {
        let file = match &r.result {
            Some(t) => {
                let name = format!("{}.npy", r.key);
                npy(&name, t)?;
                Some(name)
            }
            None => None,
        };
        rows.push(serde_json::json!({
            "key": r.key,
            "name": r.name,
            "median_ms": r.timing.median_ms,
            "repeats": r.timing.repeats,
            "threads": threads,
            // via the decimal text, so that 1e-4 reads 0.0001 and not f32's 9.99999974e-5
            "tolerance": r.tolerance.map(|t| t.to_string().parse::<f64>().unwrap_or(t as f64)),
            "file": file,
        }));
    }
    let model = dir.join("model.safetensors");
    m.net.save(&model)?;
    written.push(model);
    let json = serde_json::json!({
        "device": crate::describe_device(&m.x.device().clone()),
        "batch": m.x.dim(0)?,
        "threads": threads,
        "rows": rows,
    });
    let text = serde_json::to_string_pretty(&json)
        .map_err(|e| Error::invalid(format!("bench: timings as JSON: {e}")))?;
    let path = dir.join("timings.json");
    atomic_write(&path, text.as_bytes())?;
    written.push(path);
    Ok(written)
}

/// Times `steps` Adam steps (batch 100, cross-entropy) of the reference CNN on `device`: the
/// inner loop of [`crate::train::train`] without its shuffling, progress and evaluation.
pub fn time_training(data: &Dataset, device: &Device, steps: usize) -> Result<Timing> {
    let n = data.train_x.dim(0)?;
    if steps == 0 || steps * 100 > n {
        bail!("bench: {steps} training steps of 100 need between 100 and {n} training images");
    }
    let mut net = Network::init(&reference_cnn(), 0, device)?;
    let vars = net.make_trainable()?;
    let mut opt = Adam::new(
        vars,
        ParamsAdamW {
            lr: 1e-3,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let mut rng = Rng::new(0);
    let batches: Vec<(Tensor, Tensor)> = (0..steps)
        .map(|b| {
            Ok((
                data.train_x.narrow(0, b * 100, 100)?.to_device(device)?,
                data.train_y.narrow(0, b * 100, 100)?.to_device(device)?,
            ))
        })
        .collect::<Result<_>>()?;
    device.synchronize()?;
    let start = Instant::now();
    for (x, y) in &batches {
        crate::train::train_step(&net, &mut opt, x, y, &mut rng)?;
    }
    device.synchronize()?;
    Ok(Timing {
        median_ms: start.elapsed().as_secs_f64() * 1e3,
        repeats: 1,
    })
}

/// How far two results are apart: the largest absolute difference and `‖a − b‖₂ / ‖b‖₂`.
pub fn difference(a: &Tensor, b: &Tensor) -> Result<(f32, f32)> {
    let a = a.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
    let b = b.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
    if a.len() != b.len() {
        bail!("difference: {} values against {}", a.len(), b.len());
    }
    let (mut max, mut num, mut den) = (0f32, 0f64, 0f64);
    for (x, y) in a.iter().zip(&b) {
        max = max.max((x - y).abs());
        num += ((x - y) as f64).powi(2);
        den += (*y as f64).powi(2);
    }
    let rel = if den > 0.0 {
        (num / den).sqrt() as f32
    } else {
        num.sqrt() as f32
    };
    Ok((max, rel))
}

/// Renders benchmark rows as a Markdown table (one device).
pub fn table(device: &str, rows: &[Row]) -> String {
    let mut s = format!("| method | {device} median ms |\n|---|---:|\n");
    for r in rows {
        s += &format!("| {} | {:.1} |\n", r.name, r.timing.median_ms);
    }
    s
}

/// Renders two devices' rows side by side with the time ratio and the agreement of the results.
pub fn comparison_table(a_name: &str, a: &[Row], b_name: &str, b: &[Row]) -> Result<String> {
    let mut s = format!(
        "| method | {a_name} ms | {b_name} ms | {a_name} / {b_name} | max abs diff | rel L2 diff | tolerance |\n|---|---:|---:|---:|---:|---:|---:|\n"
    );
    for (ra, rb) in a.iter().zip(b) {
        let (max, rel) = match (&ra.result, &rb.result) {
            (Some(x), Some(y)) => {
                let (m, r) = difference(x, y)?;
                (format!("{m:.2e}"), format!("{r:.2e}"))
            }
            _ => ("".into(), "".into()),
        };
        let tol = ra.tolerance.map(|t| format!("{t:.0e}")).unwrap_or_default();
        s += &format!(
            "| {} | {:.1} | {:.1} | {:.2} | {max} | {rel} | {tol} |\n",
            ra.name,
            ra.timing.median_ms,
            rb.timing.median_ms,
            ra.timing.median_ms / rb.timing.median_ms
        );
    }
    Ok(s)
}

/// The methods whose results differ between two runs by more than their tolerance, as
/// `name: difference > tolerance` lines (empty: all agree).
pub fn disagreements(a: &[Row], b: &[Row]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (ra, rb) in a.iter().zip(b) {
        if let (Some(x), Some(y), Some(tol)) = (&ra.result, &rb.result, ra.tolerance) {
            let (_, rel) = difference(x, y)?;
            if rel.is_nan() || rel > tol {
                out.push(format!(
                    "{}: relative L2 difference {rel:.2e} > {tol:.0e}",
                    ra.name
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

/// One timed training epoch of a zoo model ([`time_epoch`]).
#[derive(Debug, Clone)]
pub struct EpochTiming {
    pub model: String,
    /// Training examples in the epoch (batches of 100).
    pub examples: usize,
    /// Wall time of the epoch: shuffling, every Adam step, the test-set evaluation.
    pub seconds: f32,
    /// Test accuracy after this one epoch.
    pub test_accuracy: f32,
}

/// Trains zoo model `name` for one epoch of its recipe's data (full MNIST, or its cluttered
/// canvases) from its seeded initial weights on `device`, exactly as [`crate::train::train`]
/// does in the zoo (same learning rate and seed), and reports the epoch's time. Nothing is
/// cached.
pub fn time_epoch(name: &str, device: &Device) -> Result<EpochTiming> {
    let recipe = crate::zoo::recipe(name)?;
    let data = recipe.data.load()?;
    let mut net = Network::init(&crate::zoo::spec(name)?, recipe.init_seed, device)?;
    let cfg = crate::train::TrainConfig {
        epochs: 1,
        ..recipe.train
    };
    let report = crate::train::train(&mut net, &data, &cfg)?;
    let Some(epoch) = report.epochs.first() else {
        bail!("bench: training {name} reported no epoch");
    };
    Ok(EpochTiming {
        model: name.to_string(),
        examples: data.train_x.dim(0)? / cfg.batch_size * cfg.batch_size,
        seconds: epoch.seconds,
        test_accuracy: epoch.test_accuracy,
    })
}

/// [`EpochTiming`]s as a Markdown table.
pub fn epoch_table(device: &str, rows: &[EpochTiming]) -> String {
    let mut s = format!(
        "| model | training examples | one epoch on {device} (s) | test accuracy after it |\n\
         |---|---:|---:|---:|\n"
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {:.1} | {:.4} |\n",
            r.model, r.examples, r.seconds, r.test_accuracy
        ));
    }
    s
}
