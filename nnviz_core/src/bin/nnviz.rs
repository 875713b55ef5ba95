//! `nnviz`: train the zoo, inspect model files, check the data.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nnviz_core::model::io::{self, ACCURACY_KEY, TRAINING_KEY};
use nnviz_core::{data, zoo, Result};

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
