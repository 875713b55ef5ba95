//! Seeded, deterministic training: Adam, softmax cross-entropy, mini-batches.
//!
//! The same [`TrainConfig`] (and the same initial network) gives the same weights on the same
//! machine: the shuffling order and the dropout masks come from the seeded [`Rng`]. Progress is
//! an indicatif bar in a terminal and plain lines elsewhere (notebooks, CI logs).

use std::io::{IsTerminal, Write};
use std::time::Instant;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::{Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

use crate::{bail, data::Dataset, Network, Result, Rng};

mod adam;
mod step;

pub use adam::Adam;
pub(crate) use step::train_step;

/// Hyperparameters of [`train`]. Defaults are the tutorial's: Adam(1e-3), batch 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Seeds the shuffling and the dropout masks.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 15,
            batch_size: 100,
            learning_rate: 1e-3,
            seed: 0,
        }
    }
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (training mode).
    pub loss: f32,
    /// Accuracy over the epoch's batches (training mode, like the original's printout).
    pub train_accuracy: f32,
    /// Accuracy on the full test set after the epoch.
    pub test_accuracy: f32,
    pub seconds: f32,
}

/// The history of a training run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    pub epochs: Vec<EpochStats>,
    /// The loss of every batch, in order (for the training curve).
    pub batch_losses: Vec<f32>,
    /// Final test accuracy.
    pub test_accuracy: f32,
}

/// Where progress goes (shared with the generator's training in [`crate::model::vae`]).
pub(crate) enum Progress {
    Bar(indicatif::ProgressBar),
    Lines { every: usize },
}

impl Progress {
    pub(crate) fn new(total: usize, epoch: usize, epochs: usize) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} batches {msg} ({elapsed}<{eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(format!("epoch {epoch}/{epochs}"));
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                every: total.div_ceil(4).max(1),
            }
        }
    }

    pub(crate) fn tick(&self, done: usize, total: usize, loss: f32, epoch: usize, epochs: usize) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(done as u64);
                bar.set_message(format!("loss {loss:.4}"));
            }
            Progress::Lines { every } => {
                if done % every == 0 && done < total {
                    println!(
                        "  epoch {epoch}/{epochs}: {done}/{total} batches, running loss {loss:.4}"
                    );
                    let _ = std::io::stdout().flush();
                }
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// Trains `net` in place on `data`'s training split and reports the history.
pub fn train(net: &mut Network, data: &Dataset, cfg: &TrainConfig) -> Result<TrainReport> {
    if cfg.epochs == 0 || cfg.batch_size == 0 {
        bail!(
            "train: epochs ({}) and batch_size ({}) must be positive",
            cfg.epochs,
            cfg.batch_size
        );
    }
    if !(cfg.learning_rate > 0.0 && cfg.learning_rate.is_finite()) {
        bail!(
            "train: learning_rate must be positive, got {}",
            cfg.learning_rate
        );
    }
    let n = data.train_x.dim(0)?;
    if n < cfg.batch_size {
        bail!(
            "train: {n} training examples is fewer than one batch of {}",
            cfg.batch_size
        );
    }
    let device = net.device();
    let vars = net.make_trainable()?;
    let mut opt = Adam::new(
        vars,
        ParamsAdamW {
            lr: cfg.learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
    )?;
    let mut rng = Rng::new(cfg.seed);
    let mut report = TrainReport::default();
    let batches = n / cfg.batch_size;
    println!(
        "training {} on {} ({} examples, {} epochs x {} batches of {})",
        net.name, data.name, n, cfg.epochs, batches, cfg.batch_size
    );
    for epoch in 1..=cfg.epochs {
        let start = Instant::now();
        let mut epoch_rng = rng.fork(epoch as u64);
        let order = epoch_rng.permutation(n);
        let progress = Progress::new(batches, epoch, cfg.epochs);
        let (mut loss_sum, mut correct) = (0f64, 0f64);
        for b in 0..batches {
            let idx: Vec<u32> = order[b * cfg.batch_size..(b + 1) * cfg.batch_size]
                .iter()
                .map(|&i| i as u32)
                .collect();
            let idx = Tensor::from_vec(idx, cfg.batch_size, &Device::Cpu)?;
            let x = data.train_x.index_select(&idx, 0)?.to_device(&device)?;
            let y = data.train_y.index_select(&idx, 0)?.to_device(&device)?;
            let step::StepOutput { loss, logits } =
                step::train_step(net, &mut opt, &x, &y, &mut epoch_rng)?;
            let l = loss.to_scalar::<f32>()?;
            if !l.is_finite() {
                bail!("train: the loss became {l} at epoch {epoch}, batch {b}; lower the learning rate");
            }
            loss_sum += l as f64;
            correct += count_correct(&logits, &y)? as f64;
            report.batch_losses.push(l);
            progress.tick(
                b + 1,
                batches,
                (loss_sum / (b + 1) as f64) as f32,
                epoch,
                cfg.epochs,
            );
        }
        progress.finish();
        let (_, test_accuracy) = evaluate(net, &data.test_x, &data.test_y, 500)?;
        let stats = EpochStats {
            epoch,
            loss: (loss_sum / batches as f64) as f32,
            train_accuracy: (correct / (batches * cfg.batch_size) as f64) as f32,
            test_accuracy,
            seconds: start.elapsed().as_secs_f32(),
        };
        println!(
            "epoch {:>3}/{}  loss {:.4}  train acc {:.4}  test acc {:.4}  ({:.1} s)",
            epoch, cfg.epochs, stats.loss, stats.train_accuracy, stats.test_accuracy, stats.seconds
        );
        let _ = std::io::stdout().flush();
        report.test_accuracy = test_accuracy;
        report.epochs.push(stats);
    }
    net.freeze();
    Ok(report)
}

fn count_correct(logits: &Tensor, y: &Tensor) -> Result<f32> {
    let pred = logits.argmax(D::Minus1)?;
    Ok(pred
        .eq(y)?
        .to_dtype(DType::F32)?
        .sum_all()?
        .to_scalar::<f32>()?)
}

/// Evaluation-mode logits for `x`, computed in batches of `batch` on the network's device and
/// returned on the CPU.
pub fn predict(net: &Network, x: &Tensor, batch: usize) -> Result<Tensor> {
    let n = x.dim(0)?;
    let device = net.device();
    let mut out = vec![];
    for start in (0..n).step_by(batch.max(1)) {
        let len = batch.max(1).min(n - start);
        let xb = x.narrow(0, start, len)?.to_device(&device)?;
        out.push(net.forward(&xb)?.to_device(&Device::Cpu)?);
    }
    if out.is_empty() {
        bail!("predict: empty input");
    }
    Ok(Tensor::cat(&out, 0)?)
}

/// Mean cross-entropy and accuracy of `net` on `(x, y)`.
pub fn evaluate(net: &Network, x: &Tensor, y: &Tensor, batch: usize) -> Result<(f32, f32)> {
    let logits = predict(net, x, batch)?;
    let y = y.to_device(&Device::Cpu)?;
    let loss = candle_nn::loss::cross_entropy(&logits, &y)?.to_scalar::<f32>()?;
    let n = y.dim(0)? as f32;
    Ok((loss, count_correct(&logits, &y)? / n))
}
