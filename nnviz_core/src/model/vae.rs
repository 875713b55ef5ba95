//! A variational autoencoder (VAE) on MNIST: the generator `g: z ↦ x` through which section 1.3
//! maximises activations in code space.
//!
//! Kingma & Welling, *Auto-Encoding Variational Bayes*, ICLR 2014. The encoder gives a Gaussian
//! posterior `q(z | x) = N(μ(x), diag σ²(x))`, the decoder a Bernoulli likelihood per pixel
//! `p(x_i | z) = sigmoid(f_i(z))^{x_i} (1 − sigmoid(f_i(z)))^{1 − x_i}`, and the prior is
//! `p(z) = N(0, I)`. Training maximises the evidence lower bound, i.e. minimises per image
//!
//! `−ELBO(x) = Σ_i BCE(f_i(μ + σ ⊙ ε), x_i) + KL(q(z|x) ‖ N(0, I))`, `ε ~ N(0, I)`,
//!
//! `KL = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)`, `BCE(f, x) = max(f, 0) − f x + log(1 + e^{−|f|})`
//! (the numerically stable form of `−x log sigmoid(f) − (1 − x) log(1 − sigmoid(f))`).
//!
//! Both halves are plain [`Network`]s (`flatten → fc1 → relu1 → fc2`): the encoder maps
//! `[N, 1, 28, 28]` to `[N, 2d]` (`μ` then `log σ²`), the decoder maps a code `[N, d, 1, 1]` to
//! `[N, 784]` pixel logits. The model file is self-describing like the zoo's
//! ([`super::io`]): safetensors with PyTorch names (`encoder.fc1.weight` `[out, in]`, …) and both
//! architectures, the recipe and the training history as JSON metadata.
//!
//! Why a VAE rather than the original's adversarially trained decoder: its prior is exactly the
//! `N(0, I)` that the L2 penalty `λ‖z‖²` of code-space AM assumes (with `λ = ½` the AM objective
//! is the log posterior `log p(ω_c | g(z)) + log p(z)`), it trains stably and deterministically in
//! one to two minutes on two CPU cores, and it does not depend on the classifier being explained.
//!
//! Notebook: `1.3 Activation Maximization in Code Space`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

use super::io::{metadata_of, FORMAT_KEY, TRAINING_KEY};
use super::layer::LayerSpec;
use super::network::{Network, NetworkSpec};
use super::zoo::HISTORY_KEY;
use crate::data::{atomic_write, data_dir, Dataset};
use crate::train::{Adam, Progress, TrainConfig};
use crate::{bail, device, Error, Result, Rng};

/// A differentiable map from codes `[N, d]` to inputs `[N, C, H, W]`: what code-space activation
/// maximisation ([`crate::methods::ActivationMaximization::run_in_code_space`]) optimises through.
pub trait Generator {
    /// `d`, the length of a code.
    fn code_dim(&self) -> usize;
    /// `g(z)` for codes `z` of shape `[N, d]`; differentiable in `z`. An implementation whose
    /// weights may come from an earlier evcxr cell passes them through
    /// [`crate::grad::fresh_id`] (as [`Vae`]'s does) before activation maximisation
    /// differentiates through it.
    fn generate(&self, z: &Tensor) -> Result<Tensor>;
}

/// Format marker of a VAE model file.
pub const VAE_FORMAT: &str = "nnviz-vae/1";
/// Metadata key of the encoder's architecture JSON.
pub const ENCODER_KEY: &str = "nnviz.vae.encoder";
/// Metadata key of the decoder's architecture JSON.
pub const DECODER_KEY: &str = "nnviz.vae.decoder";
/// Metadata key of the final test loss (−ELBO per image, at `z = μ`).
pub const TEST_LOSS_KEY: &str = "nnviz.vae.test_loss";

/// Everything that determines a trained [`Vae`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeRecipe {
    /// `d`, the code length.
    pub latent: usize,
    /// Width of the hidden layer of the encoder and of the decoder.
    pub hidden: usize,
    /// Epochs, batch size, Adam's learning rate, and the seed of the shuffling and of `ε`.
    pub train: TrainConfig,
    /// Seed of the initial weights.
    pub init_seed: u64,
}

impl Default for VaeRecipe {
    /// `d = 16`, 400 hidden units (Kingma & Welling's MNIST width), 10 epochs of Adam(1e-3) on
    /// batches of 100: one to two minutes on two cores.
    fn default() -> Self {
        VaeRecipe {
            latent: 16,
            hidden: 400,
            train: TrainConfig {
                epochs: 10,
                ..TrainConfig::default()
            },
            init_seed: 0,
        }
    }
}

impl VaeRecipe {
    /// The encoder's architecture: `[1, 28, 28] → flatten → fc1 (784→h) → relu1 → fc2 (h→2d)`.
    pub fn encoder_spec(&self) -> NetworkSpec {
        NetworkSpec::new("vae-encoder", [1, 28, 28])
            .push("flatten", LayerSpec::Flatten)
            .push("fc1", linear(784, self.hidden))
            .push("relu1", LayerSpec::Relu)
            .push("fc2", linear(self.hidden, 2 * self.latent))
    }

    /// The decoder's architecture: `[d, 1, 1] → flatten → fc1 (d→h) → relu1 → fc2 (h→784)`,
    /// pixel logits.
    pub fn decoder_spec(&self) -> NetworkSpec {
        NetworkSpec::new("vae-decoder", [self.latent, 1, 1])
            .push("flatten", LayerSpec::Flatten)
            .push("fc1", linear(self.latent, self.hidden))
            .push("relu1", LayerSpec::Relu)
            .push("fc2", linear(self.hidden, 784))
    }
}

fn linear(i: usize, o: usize) -> LayerSpec {
    LayerSpec::Linear {
        in_features: i,
        out_features: o,
        bias: true,
    }
}

/// What one epoch of [`train_vae`] did. Losses are per image, in nats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeEpoch {
    pub epoch: usize,
    /// Mean `−ELBO` over the epoch's batches.
    pub loss: f32,
    /// Its reconstruction part `Σ_i BCE`.
    pub reconstruction: f32,
    /// Its `KL(q(z|x) ‖ N(0, I))` part.
    pub kl: f32,
    /// `−ELBO` on the test set after the epoch, decoding `z = μ(x)`.
    pub test_loss: f32,
    pub seconds: f32,
}

/// The history of [`train_vae`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VaeReport {
    pub epochs: Vec<VaeEpoch>,
    /// `−ELBO` of every batch, in order.
    pub batch_losses: Vec<f32>,
    /// Final test `−ELBO` per image.
    pub test_loss: f32,
}

/// A VAE: encoder, decoder and code length. See the module docs for the maths.
#[derive(Debug, Clone)]
pub struct Vae {
    pub encoder: Network,
    pub decoder: Network,
    /// `d`.
    pub latent: usize,
}

impl Vae {
    /// A VAE with freshly initialised weights (Glorot-uniform, zero biases), fixed by `seed`.
    pub fn new(recipe: &VaeRecipe, seed: u64, device: &Device) -> Result<Vae> {
        if recipe.latent == 0 || recipe.hidden == 0 {
            bail!(
                "vae: latent ({}) and hidden ({}) must be positive",
                recipe.latent,
                recipe.hidden
            );
        }
        let mut rng = Rng::new(seed);
        Ok(Vae {
            encoder: Network::init(&recipe.encoder_spec(), rng.next_u64(), device)?,
            decoder: Network::init(&recipe.decoder_spec(), rng.next_u64(), device)?,
            latent: recipe.latent,
        })
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.decoder.device()
    }

    /// The image shape `[C, H, W]`.
    pub fn image_shape(&self) -> [usize; 3] {
        self.encoder.input
    }

    /// `(μ, log σ²)`, each `[N, d]`, of the posterior `q(z | x)` for images `[N, 1, 28, 28]`.
    pub fn encode(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let h = self.encoder.forward(x)?;
        Ok((
            h.narrow(1, 0, self.latent)?,
            h.narrow(1, self.latent, self.latent)?,
        ))
    }

    /// Pixel logits `f(z)`, `[N, 784]`, for codes `[N, d]`.
    pub fn decode_logits(&self, z: &Tensor) -> Result<Tensor> {
        let d = z.dims();
        if d.len() != 2 || d[1] != self.latent {
            bail!(
                "vae: expected codes of shape [N, {}], got {:?}",
                self.latent,
                d
            );
        }
        self.decoder.forward(&z.reshape((d[0], self.latent, 1, 1))?)
    }

    /// The same VAE with the untracked weights of its encoder and decoder under new tensor ids,
    /// sharing their storage ([`Network::with_fresh_ids`]: for candle's autograd in an evcxr cell).
    pub fn with_fresh_ids(&self) -> Result<Vae> {
        Ok(Vae {
            encoder: self.encoder.with_fresh_ids()?,
            decoder: self.decoder.with_fresh_ids()?,
            latent: self.latent,
        })
    }

    /// Images `sigmoid(f(z))`, `[N, C, H, W]` in `(0, 1)`, for codes `[N, d]`.
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        let [c, h, w] = self.image_shape();
        let f = self.decode_logits(z)?;
        Ok(candle_nn::ops::sigmoid(&f)?.reshape((z.dim(0)?, c, h, w))?)
    }

    /// Reconstructions `g(μ(x))` of images `x`.
    pub fn reconstruct(&self, x: &Tensor) -> Result<Tensor> {
        self.decode(&self.encode(x)?.0)
    }

    /// `n` codes drawn from the prior `N(0, I)` with `seed`, `[n, d]`, on the VAE's device.
    pub fn prior_codes(&self, n: usize, seed: u64) -> Result<Tensor> {
        normal((n, self.latent), &mut Rng::new(seed), &self.device())
    }

    /// `n` samples `g(z)`, `z ~ N(0, I)` drawn with `seed`.
    pub fn sample(&self, n: usize, seed: u64) -> Result<Tensor> {
        self.decode(&self.prior_codes(n, seed)?)
    }

    /// The batch means of the reconstruction term `Σ_i BCE(f_i(z), x_i)` and of
    /// `KL(q(z|x) ‖ N(0, I))`, with `z = μ + σ ⊙ ε` (or `z = μ` when `eps` is `None`).
    /// Their sum is the training loss `−ELBO`.
    pub fn loss(&self, x: &Tensor, eps: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let n = x.dim(0)?;
        let (mu, logvar) = self.encode(x)?;
        let z = match eps {
            Some(e) => (&mu + (logvar.affine(0.5, 0.0)?.exp()? * e)?)?,
            None => mu.clone(),
        };
        let f = self.decode_logits(&z)?;
        let target = x.flatten_from(1)?;
        // max(f, 0) − f x + log(1 + e^{−|f|})
        let bce = ((f.relu()? - (&f * &target)?)? + (f.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
        let reconstruction = (bce.sum_all()? / n as f64)?;
        let kl_terms = ((logvar.exp()? + mu.sqr()?)? - logvar)?.affine(1.0, -1.0)?;
        let kl = (kl_terms.sum_all()? * (0.5 / n as f64))?;
        Ok((reconstruction, kl))
    }

    /// `z̄_c`, the mean posterior code `μ(x)` of the training images of each class, `[K, d]`
    /// (row `c` for class `c`): the code-space counterpart of the class-mean image, and the prior
    /// the original tutorial used for code-space AM.
    pub fn class_mean_codes(&self, data: &Dataset) -> Result<Tensor> {
        let k = data.num_classes();
        let labels = data.train_labels()?;
        let device = self.device();
        let mut sums = vec![0f64; k * self.latent];
        let mut counts = vec![0usize; k];
        let n = labels.len();
        for start in (0..n).step_by(1000) {
            let len = 1000.min(n - start);
            let xb = data.train_x.narrow(0, start, len)?.to_device(&device)?;
            let mu = self
                .encode(&xb)?
                .0
                .to_device(&Device::Cpu)?
                .to_vec2::<f32>()?;
            for (row, &label) in mu.iter().zip(&labels[start..start + len]) {
                let c = label as usize;
                if c >= k {
                    bail!("vae: class_mean_codes: label {c} but {k} classes");
                }
                counts[c] += 1;
                for (s, v) in sums[c * self.latent..(c + 1) * self.latent]
                    .iter_mut()
                    .zip(row)
                {
                    *s += *v as f64;
                }
            }
        }
        if let Some(c) = counts.iter().position(|&m| m == 0) {
            bail!("vae: class_mean_codes: no training image of class {c}");
        }
        let means: Vec<f32> = sums
            .iter()
            .enumerate()
            .map(|(i, s)| (s / counts[i / self.latent] as f64) as f32)
            .collect();
        Ok(Tensor::from_vec(means, (k, self.latent), &device)?)
    }

    /// Mean `−ELBO` per image at `z = μ(x)`, computed in batches.
    pub fn evaluate(&self, x: &Tensor, batch: usize) -> Result<f32> {
        let n = x.dim(0)?;
        if n == 0 {
            bail!("vae: evaluate on an empty set");
        }
        let device = self.device();
        let mut total = 0f64;
        for start in (0..n).step_by(batch.max(1)) {
            let len = batch.max(1).min(n - start);
            let xb = x.narrow(0, start, len)?.to_device(&device)?;
            let (r, k) = self.loss(&xb, None)?;
            total += ((r + k)?.to_scalar::<f32>()? as f64) * len as f64;
        }
        Ok((total / n as f64) as f32)
    }

    /// Saves the VAE atomically with extra metadata entries.
    pub fn save_with(&self, path: impl AsRef<Path>, extra: &HashMap<String, String>) -> Result<()> {
        let path = path.as_ref();
        let mut meta = extra.clone();
        meta.insert(FORMAT_KEY.into(), VAE_FORMAT.into());
        meta.insert(ENCODER_KEY.into(), to_json(&self.encoder.spec()?)?);
        meta.insert(DECODER_KEY.into(), to_json(&self.decoder.spec()?)?);
        let mut params = vec![];
        for (prefix, net) in [("encoder", &self.encoder), ("decoder", &self.decoder)] {
            for (name, t) in net.parameters() {
                params.push((
                    format!("{prefix}.{name}"),
                    t.to_device(&Device::Cpu)?.contiguous()?,
                ));
            }
        }
        let bytes = safetensors::serialize(params.iter().map(|(n, t)| (n.as_str(), t)), Some(meta))
            .map_err(|e| Error::invalid(format!("vae: save {}: {e}", path.display())))?;
        atomic_write(path, &bytes)
    }

    /// Loads a VAE file onto `device`, with its metadata.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<(Vae, HashMap<String, String>)> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io("read VAE file", path, e))?;
        let meta = metadata_of(&bytes, path)?;
        let bad =
            |what: String| Error::bad_file(path, format!("not a valid nnviz VAE file: {what}"));
        if meta.get(FORMAT_KEY).map(String::as_str) != Some(VAE_FORMAT) {
            return Err(bad(format!(
                "metadata {FORMAT_KEY:?} is not {VAE_FORMAT:?}"
            )));
        }
        let spec = |key: &str| -> Result<NetworkSpec> {
            let json = meta
                .get(key)
                .ok_or_else(|| bad(format!("no {key:?} in the metadata")))?;
            serde_json::from_str(json).map_err(|e| bad(format!("{key}: {e}")))
        };
        let (enc_spec, dec_spec) = (spec(ENCODER_KEY)?, spec(DECODER_KEY)?);
        let tensors = candle_core::safetensors::load_buffer(&bytes, device)
            .map_err(|e| bad(e.to_string()))?;
        let (mut enc, mut dec) = (HashMap::new(), HashMap::new());
        for (name, t) in tensors {
            let t = t.to_dtype(DType::F32)?;
            match name.split_once('.') {
                Some(("encoder", rest)) => enc.insert(rest.to_string(), t),
                Some(("decoder", rest)) => dec.insert(rest.to_string(), t),
                _ => return Err(bad(format!("unexpected tensor {name}"))),
            };
        }
        let encoder = Network::from_parts(&enc_spec, enc).map_err(|e| bad(e.to_string()))?;
        let decoder = Network::from_parts(&dec_spec, dec).map_err(|e| bad(e.to_string()))?;
        let latent = decoder.input[0];
        let enc_out = enc_spec.shapes()?.pop().unwrap_or_default();
        let dec_out = dec_spec.shapes()?.pop().unwrap_or_default();
        let pixels: usize = encoder.input.iter().product();
        if enc_out != [2 * latent] || dec_out != [pixels] {
            return Err(bad(format!(
                "the encoder outputs {enc_out:?} and the decoder {dec_out:?}; expected [{}] (μ and log σ²) and [{pixels}]",
                2 * latent
            )));
        }
        Ok((
            Vae {
                encoder,
                decoder,
                latent,
            },
            meta,
        ))
    }
}

impl Generator for Vae {
    fn code_dim(&self) -> usize {
        self.latent
    }
    /// [`Vae::decode`] through [`Vae::with_fresh_ids`], so that a VAE loaded in an earlier evcxr
    /// cell is safe to differentiate through in this one.
    fn generate(&self, z: &Tensor) -> Result<Tensor> {
        self.with_fresh_ids()?.decode(z)
    }
}

fn normal(shape: (usize, usize), rng: &mut Rng, device: &Device) -> Result<Tensor> {
    let v: Vec<f32> = (0..shape.0 * shape.1).map(|_| rng.normal()).collect();
    Ok(Tensor::from_vec(v, shape, device)?)
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::invalid(format!("vae: JSON: {e}")))
}

/// Trains `vae` in place on `data`'s training images (labels unused) by minimising `−ELBO` with
/// Adam; `ε` and the shuffling come from `cfg.seed`, so the result is reproducible.
pub fn train_vae(vae: &mut Vae, data: &Dataset, cfg: &TrainConfig) -> Result<VaeReport> {
    if cfg.epochs == 0
        || cfg.batch_size == 0
        || !(cfg.learning_rate.is_finite() && cfg.learning_rate > 0.0)
    {
        bail!(
            "train_vae: epochs ({}), batch_size ({}) and learning_rate ({}) must be positive",
            cfg.epochs,
            cfg.batch_size,
            cfg.learning_rate
        );
    }
    let n = data.train_x.dim(0)?;
    if n < cfg.batch_size || data.train_x.dims()[1..] != vae.image_shape() {
        bail!(
            "train_vae: need at least one batch of {} images of shape {:?}, got {:?}",
            cfg.batch_size,
            vae.image_shape(),
            data.train_x.dims()
        );
    }
    let device = vae.device();
    let mut vars = vae.encoder.make_trainable()?;
    vars.extend(vae.decoder.make_trainable()?);
    let mut opt = Adam::new(
        vars,
        ParamsAdamW {
            lr: cfg.learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let mut rng = Rng::new(cfg.seed);
    let mut report = VaeReport::default();
    let batches = n / cfg.batch_size;
    println!(
        "training a VAE (d = {}) on {} ({} images, {} epochs x {} batches of {})",
        vae.latent, data.name, n, cfg.epochs, batches, cfg.batch_size
    );
    for epoch in 1..=cfg.epochs {
        let start = Instant::now();
        let mut epoch_rng = rng.fork(epoch as u64);
        let order = epoch_rng.permutation(n);
        let progress = Progress::new(batches, epoch, cfg.epochs);
        let (mut rec_sum, mut kl_sum) = (0f64, 0f64);
        for b in 0..batches {
            let idx: Vec<u32> = order[b * cfg.batch_size..(b + 1) * cfg.batch_size]
                .iter()
                .map(|&i| i as u32)
                .collect();
            let idx = Tensor::from_vec(idx, cfg.batch_size, &Device::Cpu)?;
            let x = data.train_x.index_select(&idx, 0)?.to_device(&device)?;
            let eps = normal((cfg.batch_size, vae.latent), &mut epoch_rng, &device)?;
            let (rec, kl) = vae.loss(&x, Some(&eps))?;
            let loss = (&rec + &kl)?;
            opt.backward_step(&loss)?;
            let (r, k) = (rec.to_scalar::<f32>()?, kl.to_scalar::<f32>()?);
            if !(r + k).is_finite() {
                bail!("train_vae: the loss became {} at epoch {epoch}, batch {b}; lower the learning rate", r + k);
            }
            rec_sum += r as f64;
            kl_sum += k as f64;
            report.batch_losses.push(r + k);
            progress.tick(
                b + 1,
                batches,
                ((rec_sum + kl_sum) / (b + 1) as f64) as f32,
                epoch,
                cfg.epochs,
            );
        }
        progress.finish();
        let test_loss = vae.evaluate(&data.test_x, 1000)?;
        let stats = VaeEpoch {
            epoch,
            loss: ((rec_sum + kl_sum) / batches as f64) as f32,
            reconstruction: (rec_sum / batches as f64) as f32,
            kl: (kl_sum / batches as f64) as f32,
            test_loss,
            seconds: start.elapsed().as_secs_f32(),
        };
        println!(
            "epoch {:>3}/{}  -ELBO {:.2} (reconstruction {:.2} + KL {:.2})  test {:.2}  ({:.1} s)",
            epoch,
            cfg.epochs,
            stats.loss,
            stats.reconstruction,
            stats.kl,
            stats.test_loss,
            stats.seconds
        );
        let _ = std::io::stdout().flush();
        report.test_loss = test_loss;
        report.epochs.push(stats);
    }
    vae.encoder.freeze();
    vae.decoder.freeze();
    Ok(report)
}

/// Where the VAE trained with the default recipe is cached: `data/models/VAE.safetensors`.
pub fn cache_path() -> PathBuf {
    data_dir().join("models").join("VAE.safetensors")
}

/// The MNIST VAE of the default [`VaeRecipe`]: loaded from [`cache_path`] when that file holds
/// this recipe, otherwise trained now (one to two minutes on two cores) and saved atomically.
pub fn trained() -> Result<Vae> {
    Ok(trained_with(&VaeRecipe::default())?.0)
}

/// Why [`cache_path`] would be retrained for `recipe` (missing, unreadable, another recipe or
/// architecture), or `None` when it is current and [`trained_with`] will load it.
pub fn stale(recipe: &VaeRecipe) -> Option<String> {
    cached(&cache_path(), recipe).err()
}

/// The VAE cached at `path` if it holds `recipe`, else why not.
fn cached(
    path: &Path,
    recipe: &VaeRecipe,
) -> std::result::Result<(Vae, HashMap<String, String>), String> {
    if path.exists() {
        match Vae::load(path, &device()) {
            Ok((vae, meta)) => {
                let same_recipe = meta
                    .get(TRAINING_KEY)
                    .and_then(|s| serde_json::from_str::<VaeRecipe>(s).ok())
                    .as_ref()
                    == Some(recipe);
                let same_arch =
                    |net: &Network, spec: NetworkSpec| net.spec().is_ok_and(|s| s == spec);
                let same_arch = same_arch(&vae.encoder, recipe.encoder_spec())
                    && same_arch(&vae.decoder, recipe.decoder_spec());
                if same_recipe && same_arch {
                    Ok((vae, meta))
                } else {
                    Err("the cached recipe differs".to_string())
                }
            }
            Err(e) => Err(format!("unreadable cache ({e})")),
        }
    } else {
        Err("no cached weights".to_string())
    }
}

/// Like [`trained`] with another recipe, also returning the training history. The file records
/// the recipe, so switching recipes retrains rather than reusing weights.
pub fn trained_with(recipe: &VaeRecipe) -> Result<(Vae, VaeReport)> {
    let path = cache_path();
    match cached(&path, recipe) {
        Ok((vae, meta)) => {
            let report = meta
                .get(HISTORY_KEY)
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            println!(
                "loaded the VAE from {} (test -ELBO {})",
                path.display(),
                meta.get(TEST_LOSS_KEY).map_or("?", String::as_str)
            );
            Ok((vae, report))
        }
        Err(reason) => {
            println!("VAE: {reason} at {}; training", path.display());
            let data = Dataset::mnist()?;
            let mut vae = Vae::new(recipe, recipe.init_seed, &device())?;
            let report = train_vae(&mut vae, &data, &recipe.train)?;
            let mut meta = HashMap::new();
            meta.insert(TRAINING_KEY.to_string(), to_json(recipe)?);
            meta.insert(HISTORY_KEY.to_string(), to_json(&report)?);
            meta.insert(
                TEST_LOSS_KEY.to_string(),
                format!("{:.3}", report.test_loss),
            );
            vae.save_with(&path, &meta)?;
            println!("saved the VAE to {}", path.display());
            Ok((vae, report))
        }
    }
}

#[cfg(test)]
mod tests;
