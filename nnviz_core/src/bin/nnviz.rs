//! `nnviz`: train the zoo, inspect model files, check the data.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nnviz_core::candle::Device;
use nnviz_core::model::io::{self, ACCURACY_KEY, TRAINING_KEY};
use nnviz_core::{bench, data, zoo, Result};

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
    /// Evaluate every attribution method on a zoo model (first N test images, score ReLU(z_c)
    /// of the predicted class, as in sections 5.1–5.2): AOPC, continuity, randomisation
    /// similarity, completeness error, time per batch. Writes evaluation.md and evaluation.csv.
    Evaluate {
        /// Zoo model id (D2 is the model of sections 5.1 and 5.2).
        #[arg(long, default_value = "D2")]
        model: String,
        /// Number of test images.
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
        Command::Bench {
            device,
            batch,
            repeats,
            train_steps,
        } => {
            let data = nnviz_core::data::Dataset::mnist()?;
            let cpu = Device::Cpu;
            match device.as_str() {
                "cpu" | "cuda" => {
                    let d = if device == "cpu" { cpu } else { cuda()? };
                    let name = nnviz_core::describe_device(&d);
                    println!("nnviz bench: reference CNN, batch {batch}, {name}\n");
                    let rows = bench::run(&data, &d, batch, repeats, train_steps)?;
                    print!("{}", bench::table(&name, &rows));
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
        Command::Evaluate { model, images, out } => {
            use nnviz_core::attribution::Score;
            use nnviz_core::metrics::{evaluate, standard_methods, Evaluation};
            let net = zoo::trained(&model)?;
            let data = zoo::recipe(&model)?.data.load()?;
            let n = images.min(data.test_x.dim(0)?);
            let x = data.test_x.narrow(0, 0, n)?.to_device(&net.device())?;
            let target = nnviz_core::Target::predicted().with_score(Score::ReluLogit);
            let table = evaluate(
                &net,
                &x,
                &target,
                &standard_methods(),
                &Evaluation::default(),
            )?;
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
