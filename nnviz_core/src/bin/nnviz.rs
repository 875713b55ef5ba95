//! `nnviz`: train the zoo, inspect model files, check the data, explain any model file's
//! predictions with any method and draw the results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nnviz_core::attribution::{Score, Target};
use nnviz_core::candle::Device;
use nnviz_core::candle::{DType, Tensor};
use nnviz_core::data::{arrays, npy};
use nnviz_core::methods::registry;
use nnviz_core::model::io::{self, ACCURACY_KEY, TRAINING_KEY};
use nnviz_core::{bail, bench, data, zoo, Error, Result};

#[derive(Parser)]
#[command(
    name = "nnviz",
    version,
    about = "Neural-network interpretation on candle: the Understanding-NN toolkit"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train zoo models (or load them when the cache in data/models/ is up to date).
    Train {
        /// Model ids (A, B0, B1, C, D0, D1, D2, E, F, G, H).
        names: Vec<String>,
        /// Train every zoo model.
        #[arg(long)]
        all: bool,
        /// Retrain even if an up-to-date cached file exists.
        #[arg(long)]
        force: bool,
        /// Override the number of epochs of the zoo's recipe (recorded in the file).
        #[arg(long)]
        epochs: Option<usize>,
    },
    /// Describe a model file: architecture, parameter count, stored accuracy and training.
    Info {
        /// A model file (.safetensors written by nnviz).
        file: PathBuf,
    },
    /// List the zoo's models with their sections and required accuracy.
    Zoo,
    /// Write an untrained zoo network (seeded weights) as a model file: a fast fixture for
    /// tests and a baseline for sanity checks.
    Init {
        /// Zoo model id whose architecture is used (A, B0, …, H).
        name: String,
        /// The model file to write (.safetensors).
        #[arg(long)]
        out: PathBuf,
        /// Seed of the initial weights.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// List every attribution method with its parameters and their defaults.
    Methods,
    /// Explain a model's outputs for a batch of images with one method.
    ///
    /// Input and output are .npy or .safetensors files of N×C×H×W float32 (C order). A
    /// .safetensors output holds the tensors `attribution`, `targets` (int64 [N], the explained
    /// classes) and `logits` (float32 [N, K]) and the metadata nnviz.method, nnviz.params (JSON),
    /// nnviz.score, nnviz.model; a .npy output OUT.npy gets the sidecars OUT.targets.npy and
    /// OUT.logits.npy. CAM methods return one map per image: N×1×H×W.
    Explain {
        /// A model file (.safetensors written by nnviz; see `nnviz info`).
        #[arg(long)]
        model: PathBuf,
        /// Method name (see `nnviz methods`).
        #[arg(long)]
        method: String,
        /// Method parameter as key=value (repeatable; see `nnviz methods`).
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Images: .npy or .safetensors (tensor `input`, or the only tensor), N×C×H×W float32.
        #[arg(long)]
        input: PathBuf,
        /// `argmax` (the predicted class), a class index for every image, or a .npy/.safetensors
        /// file of N class indices (int or integral float; tensor `targets` or the only one).
        #[arg(long, default_value = "argmax", allow_hyphen_values = true)]
        target: String,
        /// The explained score: logit, softmax, relu-logit or sum-of-logits.
        #[arg(long, default_value = "logit")]
        score: String,
        /// The attribution file to write (.npy or .safetensors).
        #[arg(long)]
        out: PathBuf,
    },
    /// Draw an attribution file (from `nnviz explain`) as heatmaps: seismic colormap, range
    /// symmetric around zero, channels summed. One PNG per image (OUT for one image,
    /// OUT-0.png, OUT-1.png, … for several) or, with --grid, all in one PNG.
    Render {
        /// Attribution file (.npy, or .safetensors with tensor `attribution` or only one).
        file: PathBuf,
        /// The PNG to write.
        #[arg(long)]
        out: PathBuf,
        /// One grid of all images instead of one PNG each.
        #[arg(long)]
        grid: bool,
        /// Columns of the grid (default: up to 10).
        #[arg(long)]
        cols: Option<usize>,
    },
    /// Time every attribution method (and training steps) on the reference CNN of the
    /// PyTorch/Captum anchor timings; CPU threads follow RAYON_NUM_THREADS.
    Bench {
        /// cpu, cuda, or both (side by side, with time ratios and the results' agreement).
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Images per batch (MNIST test images).
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Timed runs per method (after one warm-up run); the median is reported.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        /// Also time this many Adam training steps of 100 images (0: none).
        #[arg(long, default_value_t = 0)]
        train_steps: usize,
        /// Instead of the methods, time one full training epoch of each of these zoo models
        /// (comma-separated ids, e.g. C,D0,D1,E,F), as the zoo trains them.
        #[arg(long, value_delimiter = ',')]
        epochs: Vec<String>,
        /// Write the model, inputs, targets, logits, every method's result (.npy) and the times
        /// (timings.json) to this directory, for scripts/compare_pytorch.py (one device only).
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
    },
    /// Check the GPU build on a GPU: every method on CUDA and on the CPU with the same weights
    /// and inputs, their agreement (fails when a method differs by more than its tolerance,
    /// shown in the table) and their times.
    GpuCheck {
        #[arg(long, default_value_t = 100)]
        batch: usize,
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        #[arg(long, default_value_t = 50)]
        train_steps: usize,
    },
    /// Evaluate every attribution method on a model (first N images, score ReLU(z_c) of the
    /// predicted class, as in sections 5.1–5.2): AOPC, infidelity, faithfulness correlation,
    /// continuity, max-sensitivity, randomisation similarity, completeness error, time per batch. Writes
    /// evaluation.md and evaluation.csv.
    Evaluate {
        /// A zoo model id (trained or loaded from the cache; D2 is the model of sections 5.1
        /// and 5.2) or a model file (.safetensors written by nnviz).
        #[arg(long, default_value = "D2")]
        model: String,
        /// Images to evaluate on (.npy or .safetensors, N×C×H×W float32); default: the zoo
        /// model's test images (required for a model file).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Number of images (the first N).
        #[arg(long, default_value_t = 100)]
        images: usize,
        /// Output directory.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Data commands.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Verify the MNIST files (format and SHA-256) in the data directory ($NNVIZ_DATA or data/).
    Check,
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train {
            names,
            all,
            force,
            epochs,
        } => {
            let names: Vec<String> = if all {
                zoo::NAMES.iter().map(|s| s.to_string()).collect()
            } else {
                names
            };
            if names.is_empty() {
                nnviz_core::bail!(
                    "train: name at least one model (e.g. `nnviz train A`) or pass --all"
                );
            }
            for name in &names {
                zoo::spec(name)?; // unknown names fail before any training starts
            }
            for name in &names {
                if force {
                    let path = zoo::cache_path(name);
                    if path.exists() {
                        std::fs::remove_file(&path)
                            .map_err(|e| nnviz_core::Error::io("remove cached model", &path, e))?;
                    }
                }
                let mut recipe = zoo::recipe(name)?;
                if let Some(e) = epochs {
                    recipe.train.epochs = e;
                }
                let (_, report) = zoo::trained_with(name, &recipe)?;
                let required = zoo::required_accuracy(name)?;
                let verdict = if report.test_accuracy >= required {
                    "ok"
                } else {
                    "BELOW REQUIRED"
                };
                println!(
                    "{name}: test accuracy {:.4} (required {required:.3}) {verdict}",
                    report.test_accuracy
                );
            }
        }
        Command::Info { file } => {
            let f = io::load_file(&file, &nnviz_core::candle::Device::Cpu)?;
            print!("{}", f.network);
            if let Some(acc) = f.metadata.get(ACCURACY_KEY) {
                println!("test accuracy: {acc}");
            }
            if let Some(t) = f.metadata.get(TRAINING_KEY) {
                println!("training: {t}");
            }
        }
        Command::Zoo => {
            println!("{:<4} {:>10} {:>9}  layers", "id", "params", "required");
            for name in zoo::NAMES {
                let spec = zoo::spec(name)?;
                let kinds: Vec<&str> = spec.layers.iter().map(|l| l.spec.kind()).collect();
                println!(
                    "{name:<4} {:>10} {:>9.3}  {}",
                    spec.param_count(),
                    zoo::required_accuracy(name)?,
                    kinds.join(" ")
                );
            }
        }
        Command::Init { name, out, seed } => {
            let spec = zoo::spec(&name)?;
            let net = nnviz_core::Network::init(&spec, seed, &Device::Cpu)?;
            net.save(&out)?;
            println!(
                "wrote {} (untrained {name}, seed {seed}, {} parameters)",
                out.display(),
                spec.param_count()
            );
        }
        Command::Methods => print!("{}", registry::describe()),
        Command::Explain {
            model,
            method,
            params,
            input,
            target,
            score,
            out,
        } => explain(&model, &method, &params, &input, &target, &score, &out)?,
        Command::Render {
            file,
            out,
            grid,
            cols,
        } => render(&file, &out, grid, cols)?,
        Command::Bench {
            device,
            epochs,
            export,
            ..
        } if !epochs.is_empty() => {
            if export.is_some() {
                bail!("bench: --export writes the methods' results; it does not combine with --epochs");
            }
            let d = match device.as_str() {
                "cpu" => Device::Cpu,
                "cuda" => cuda()?,
                other => {
                    nnviz_core::bail!("bench --epochs: unknown device {other:?}; use cpu or cuda")
                }
            };
            for m in &epochs {
                nnviz_core::zoo::spec(m)?; // unknown ids fail before anything trains
            }
            let name = nnviz_core::describe_device(&d);
            let rows = epochs
                .iter()
                .map(|m| bench::time_epoch(m, &d))
                .collect::<nnviz_core::Result<Vec<_>>>()?;
            print!("\n{}", bench::epoch_table(&name, &rows));
        }
        Command::Bench {
            device,
            batch,
            repeats,
            train_steps,
            export,
            ..
        } => {
            if export.is_some() && device == "both" {
                bail!("bench: --export writes one device's results; use --device cpu or cuda");
            }
            if let Some(dir) = &export {
                bench::check_export_dir(dir)?;
            }
            let data = nnviz_core::data::Dataset::mnist()?;
            let cpu = Device::Cpu;
            match device.as_str() {
                "cpu" | "cuda" => {
                    let d = if device == "cpu" { cpu } else { cuda()? };
                    let name = nnviz_core::describe_device(&d);
                    println!("nnviz bench: reference CNN, batch {batch}, {name}\n");
                    let m = bench::measure(&data, &d, batch, repeats, train_steps)?;
                    print!("{}", bench::table(&name, &m.rows));
                    if let Some(dir) = export {
                        let files = bench::export(&dir, &m)?;
                        println!("\nwrote {} files to {}", files.len(), dir.display());
                    }
                }
                "both" => {
                    let gpu = cuda()?;
                    compare(&data, &gpu, batch, repeats, train_steps)?;
                }
                other => {
                    nnviz_core::bail!("bench: unknown device {other:?}; use cpu, cuda or both")
                }
            }
        }
        Command::GpuCheck {
            batch,
            repeats,
            train_steps,
        } => {
            let data = nnviz_core::data::Dataset::mnist()?;
            let gpu = cuda()?;
            let bad = compare(&data, &gpu, batch, repeats, train_steps)?;
            if !bad.is_empty() {
                nnviz_core::bail!("gpu-check: GPU and CPU disagree: {}", bad.join("; "));
            }
            println!("\ngpu-check passed: every method agrees with the CPU within its tolerance");
        }
        Command::Evaluate {
            model,
            input,
            images,
            out,
        } => {
            use nnviz_core::attribution::Score;
            use nnviz_core::metrics::{evaluate, standard_methods, Evaluation};
            if images == 0 {
                bail!("evaluate: --images must be at least 1");
            }
            let file = Path::new(&model);
            let is_file = model.ends_with(".safetensors") || file.exists();
            let (net, x) = match (is_file, input) {
                (_, Some(input)) => {
                    let net = if is_file {
                        io::load_file(file, &nnviz_core::device())?.network
                    } else {
                        zoo::trained(&model)?
                    };
                    let x = load_images("evaluate", &net, &model, &input)?;
                    (net, x)
                }
                (false, None) => {
                    let net = zoo::trained(&model)?;
                    let data = zoo::recipe(&model)?.data.load()?;
                    (net, data.test_x)
                }
                (true, None) => bail!(
                    "evaluate: model file {model} needs --input with the images to evaluate on"
                ),
            };
            let n = images.min(x.dim(0)?);
            let x = x.narrow(0, 0, n)?.to_device(&net.device())?;
            let target = nnviz_core::Target::predicted().with_score(Score::ReluLogit);
            let mut cfg = Evaluation::default();
            // Quantus's 224-value subsets need images of more than 224 values; smaller images
            // get subsets of a quarter of their values (the table's caption says which).
            let d = x.elem_count() / n.max(1);
            if cfg.faithfulness.subset_size > d {
                cfg.faithfulness.subset_size = (d / 4).max(1);
            }
            let table = evaluate(&net, &x, &target, &standard_methods(), &cfg)?;
            print!("{}", table.to_markdown());
            table.save(&out)?;
            println!(
                "wrote {} and {}",
                out.join("evaluation.md").display(),
                out.join("evaluation.csv").display()
            );
        }
        Command::Data {
            command: DataCommand::Check,
        } => {
            let dir = data::data_dir().join("mnist");
            for line in data::mnist::check(&dir)? {
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// The CUDA device, or an error saying why there is none.
fn cuda() -> Result<Device> {
    if !nnviz_core::candle::utils::cuda_is_available() {
        nnviz_core::bail!("no CUDA device: this nnviz was built without the `cuda` feature");
    }
    Device::new_cuda(0).map_err(|e| {
        let e = e.to_string(); // candle appends a backtrace: keep the first line
        let first = e.lines().next().unwrap_or_default();
        nnviz_core::Error::invalid(format!(
            "no CUDA device: {first} (is an NVIDIA driver installed?)"
        ))
    })
}

/// Runs the benchmark on the GPU and the CPU and prints them side by side; returns the methods
/// whose results differ by more than their tolerance.
fn compare(
    data: &nnviz_core::data::Dataset,
    gpu: &Device,
    batch: usize,
    repeats: usize,
    train_steps: usize,
) -> Result<Vec<String>> {
    let cpu = Device::Cpu;
    let (g, c) = (
        nnviz_core::describe_device(gpu),
        nnviz_core::describe_device(&cpu),
    );
    println!("nnviz gpu-check: reference CNN, batch {batch}: {g} against {c}\n");
    let on_gpu = bench::run(data, gpu, batch, repeats, train_steps)?;
    let on_cpu = bench::run(data, &cpu, batch, repeats, train_steps)?;
    print!(
        "{}",
        bench::comparison_table("GPU", &on_gpu, "CPU", &on_cpu)?
    );
    bench::disagreements(&on_gpu, &on_cpu)
}

/// `nnviz explain`: see the subcommand's help.
/// The images of `input`, checked against the network: channels, size, N > 0, all finite.
fn load_images(op: &str, net: &nnviz_core::Network, model: &str, input: &Path) -> Result<Tensor> {
    let x = arrays::read_images(input, "input")?;
    let (n, c, h, w) = x.dims4()?;
    let [mc, mh, mw] = net.input;
    if c != mc {
        bail!(
            "{op}: {} holds images with {c} channel(s) (shape [{n}, {c}, {h}, {w}]) but model {} expects {mc}",
            input.display(),
            model
        );
    }
    if (h, w) != (mh, mw) {
        bail!(
            "{op}: {} holds {h}×{w} images (shape [{n}, {c}, {h}, {w}]) but model {} expects {mh}×{mw}",
            input.display(),
            model
        );
    }
    if n == 0 {
        bail!("{op}: {} holds no images (N = 0)", input.display());
    }
    let values = x.flatten_all()?.to_vec1::<f32>()?;
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let per = c * h * w;
        let (img, r) = (i / per, i % per);
        bail!(
            "{op}: {} has a non-finite value {} at image {img}, channel {}, row {}, column {}",
            input.display(),
            values[i],
            r / (h * w),
            (r % (h * w)) / w,
            r % w
        );
    }
    Ok(x)
}

fn explain(
    model: &Path,
    method: &str,
    params: &[String],
    input: &Path,
    target: &str,
    score: &str,
    out: &Path,
) -> Result<()> {
    // Everything that can be checked without computing is checked first.
    let kv = registry::parse_params(params)?;
    let attribution = registry::build(method, &kv)?;
    let score = match score {
        "logit" => Score::Logit,
        "softmax" => Score::Softmax,
        "relu-logit" => Score::ReluLogit,
        "sum-of-logits" => Score::SumOfLogits,
        other => bail!(
            "explain: unknown score {other:?}; use logit, softmax, relu-logit or sum-of-logits"
        ),
    };
    let out_format = arrays::Format::of(out)?;
    let device = nnviz_core::device();
    let net = io::load_file(model, &device)?.network;
    let x = load_images("explain", &net, &model.display().to_string(), input)?;
    let n = x.dim(0)?;
    let x = x.to_device(&device)?;
    let logits = net.forward(&x)?;
    let k = logits.dim(1)?;
    let class = if target == "argmax" {
        Target::predicted()
    } else if let Ok(c) = target.parse::<i64>() {
        if c < 0 || c as usize >= k {
            bail!(
                "explain: target class {c} is out of range: model {} has {k} outputs (0..{})",
                model.display(),
                k - 1
            );
        }
        Target::class(c as usize)
    } else {
        Target::classes(read_targets(Path::new(target), n, k)?)
    };
    let classes = class.resolve(&logits)?;
    let target = Target::classes(classes.clone()).with_score(score);
    let a = attribution.attribute(&net, &x, &target)?;
    let targets = Tensor::new(
        classes.iter().map(|&c| c as i64).collect::<Vec<_>>(),
        &nnviz_core::candle::Device::Cpu,
    )?;
    let logits = logits.to_device(&nnviz_core::candle::Device::Cpu)?;
    let a = a.to_device(&nnviz_core::candle::Device::Cpu)?;
    match out_format {
        arrays::Format::Safetensors => {
            let params_json = serde_json::to_string(
                &kv.iter()
                    .cloned()
                    .collect::<std::collections::BTreeMap<String, String>>(),
            )
            .map_err(|e| Error::invalid(format!("explain: parameters as JSON: {e}")))?;
            let meta = std::collections::HashMap::from([
                ("nnviz.method".to_string(), method.to_string()),
                ("nnviz.params".to_string(), params_json),
                ("nnviz.score".to_string(), format!("{score:?}")),
                ("nnviz.model".to_string(), model.display().to_string()),
            ]);
            arrays::write_safetensors(
                out,
                &[
                    ("attribution", &a),
                    ("targets", &targets),
                    ("logits", &logits),
                ],
                &meta,
            )?;
            println!("wrote {} {:?} ({method})", out.display(), a.dims());
        }
        arrays::Format::Npy => {
            let (t_path, l_path) = (sidecar(out, "targets"), sidecar(out, "logits"));
            npy::write_npy(out, &a)?;
            npy::write_npy(&t_path, &targets)?;
            npy::write_npy(&l_path, &logits)?;
            println!(
                "wrote {} {:?} ({method}), {} and {}",
                out.display(),
                a.dims(),
                t_path.display(),
                l_path.display()
            );
        }
    }
    Ok(())
}

/// `A.npy` → `A.<what>.npy` next to it.
fn sidecar(out: &Path, what: &str) -> PathBuf {
    let stem = out.file_stem().unwrap_or_default().to_string_lossy();
    out.with_file_name(format!("{stem}.{what}.npy"))
}

/// N class indices in 0..k from a .npy or .safetensors file.
fn read_targets(path: &Path, n: usize, k: usize) -> Result<Vec<usize>> {
    if arrays::Format::of(path).is_err() {
        bail!(
            "explain: --target {:?} is neither argmax, a class index, nor a .npy/.safetensors file",
            path.display().to_string()
        );
    }
    let t = arrays::read_named(path, "targets")?;
    if t.dims() != [n] {
        bail!(
            "explain: targets file {} has shape {:?}; expected [{n}] (one class per image)",
            path.display(),
            t.dims()
        );
    }
    let v = t.to_dtype(DType::F64)?.to_vec1::<f64>()?;
    v.iter()
        .enumerate()
        .map(|(i, &c)| {
            if c.fract() != 0.0 || c < 0.0 || c >= k as f64 {
                bail!(
                    "explain: targets file {}: class {c} of image {i} is out of range: the model has {k} outputs (0..{})",
                    path.display(),
                    k - 1
                );
            }
            Ok(c as usize)
        })
        .collect()
}

/// `nnviz render`: see the subcommand's help.
fn render(file: &Path, out: &Path, grid: bool, cols: Option<usize>) -> Result<()> {
    use nnviz_core::viz::{Colormap, Grid, Heatmap, Range};
    let a = arrays::read_images(file, "attribution")?;
    let n = a.dim(0)?;
    if n == 0 {
        bail!("render: {} holds no maps (N = 0)", file.display());
    }
    let targets: Option<Vec<i64>> = match arrays::Format::of(file)? {
        arrays::Format::Safetensors => arrays::read_all(file)?
            .tensors
            .into_iter()
            .find(|(name, t)| name == "targets" && t.dims() == [n])
            .and_then(|(_, t)| t.to_dtype(DType::I64).ok()?.to_vec1::<i64>().ok()),
        arrays::Format::Npy => npy::read_npy(sidecar(file, "targets"))
            .ok()
            .filter(|t| t.dims() == [n])
            .and_then(|t| t.to_vec1::<i64>().ok()),
    };
    let title = |i: usize| match &targets {
        Some(t) => format!("{i}: class {}", t[i]),
        None => format!("{i}"),
    };
    let maps: Vec<Heatmap> = (0..n)
        .map(|i| {
            Ok(Heatmap::new(&a.get(i)?)?
                .cmap(Colormap::Seismic)
                .range(Range::Symmetric)
                .title(title(i)))
        })
        .collect::<Result<_>>()?;
    if grid {
        let cols = cols.unwrap_or(n.min(10)).clamp(1, n);
        let mut g = Grid::new(n.div_ceil(cols), cols);
        for m in maps {
            g = g.panel(m);
        }
        g.save(out)?;
        println!("wrote {} ({n} maps)", out.display());
    } else if n == 1 {
        maps[0].save(out)?;
        println!("wrote {}", out.display());
    } else {
        let stem = out.file_stem().unwrap_or_default().to_string_lossy();
        for (i, m) in maps.iter().enumerate() {
            let p = out.with_file_name(format!("{stem}-{i}.png"));
            m.save(&p)?;
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nnviz: error: {e}");
            ExitCode::FAILURE
        }
    }
}
