use super::*;

fn tiny() -> (VaeRecipe, Vae) {
    let recipe = VaeRecipe {
        latent: 2,
        hidden: 3,
        ..VaeRecipe::default()
    };
    let vae = Vae::new(&recipe, 7, &Device::Cpu).unwrap();
    (recipe, vae)
}

fn vec(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn loss_is_the_negative_elbo_computed_by_hand() {
    let (_, vae) = tiny();
    let mut rng = Rng::new(1);
    let xv: Vec<f32> = (0..2 * 784).map(|_| rng.uniform()).collect();
    let x = Tensor::from_vec(xv.clone(), (2, 1, 28, 28), &Device::Cpu).unwrap();
    let eps = Tensor::new(&[[0.5f32, -1.0], [2.0, 0.25]], &Device::Cpu).unwrap();
    let (rec, kl) = vae.loss(&x, Some(&eps)).unwrap();
    // By hand: z = μ + exp(½ log σ²) ε; −log p(x|z) = −Σ x log s + (1 − x) log(1 − s), s = σ(f);
    // KL = −½ Σ (1 + log σ² − μ² − σ²); both averaged over the batch of two.
    let (mu, logvar) = vae.encode(&x).unwrap();
    let (mu, logvar, e) = (vec(&mu), vec(&logvar), vec(&eps));
    let z: Vec<f32> = (0..4)
        .map(|i| mu[i] + (0.5 * logvar[i]).exp() * e[i])
        .collect();
    let f = vec(&vae
        .decode_logits(&Tensor::from_vec(z, (2, 2), &Device::Cpu).unwrap())
        .unwrap());
    let mut want_rec = 0f64;
    for (fi, xi) in f.iter().zip(&xv) {
        let s = 1.0 / (1.0 + (-*fi as f64).exp());
        want_rec -= *xi as f64 * s.ln() + (1.0 - *xi as f64) * (1.0 - s).ln();
    }
    want_rec /= 2.0;
    let want_kl: f64 = (0..4)
        .map(|i| {
            let (m, lv) = (mu[i] as f64, logvar[i] as f64);
            -0.5 * (1.0 + lv - m * m - lv.exp())
        })
        .sum::<f64>()
        / 2.0;
    let (rec, kl) = (
        rec.to_scalar::<f32>().unwrap() as f64,
        kl.to_scalar::<f32>().unwrap() as f64,
    );
    assert!(
        (rec - want_rec).abs() < 1e-3 * want_rec,
        "{rec} vs {want_rec}"
    );
    assert!((kl - want_kl).abs() < 1e-5, "{kl} vs {want_kl}");
    // Without ε the code is μ.
    let (rec0, _) = vae.loss(&x, None).unwrap();
    let f0 = vec(&vae.decode_logits(&vae.encode(&x).unwrap().0).unwrap());
    let want0: f64 = f0
        .iter()
        .zip(&xv)
        .map(|(f, x)| {
            let (f, x) = (*f as f64, *x as f64);
            f.max(0.0) - f * x + (1.0 + (-f.abs()).exp()).ln()
        })
        .sum::<f64>()
        / 2.0;
    assert!((rec0.to_scalar::<f32>().unwrap() as f64 - want0).abs() < 1e-3);
}

#[test]
fn decode_gives_images_and_rejects_bad_codes() {
    let (_, vae) = tiny();
    let img = vae.sample(3, 5).unwrap();
    assert_eq!(img.dims(), &[3, 1, 28, 28]);
    let v = vec(&img);
    assert!(v.iter().all(|&p| p > 0.0 && p < 1.0));
    assert_eq!(
        vec(&vae.sample(3, 5).unwrap()),
        v,
        "same seed, same samples"
    );
    assert_ne!(vec(&vae.sample(3, 6).unwrap()), v);
    assert_eq!(vae.code_dim(), 2);
    let err = vae
        .generate(&Tensor::zeros((3, 5), DType::F32, &Device::Cpu).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("[N, 2]") && err.contains("[3, 5]"), "{err}");
    assert!(Vae::new(
        &VaeRecipe {
            latent: 0,
            ..VaeRecipe::default()
        },
        0,
        &Device::Cpu
    )
    .is_err());
}

#[test]
fn save_and_load_round_trip() {
    let (recipe, vae) = tiny();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vae.safetensors");
    let mut meta = HashMap::new();
    meta.insert(TRAINING_KEY.to_string(), to_json(&recipe).unwrap());
    vae.save_with(&path, &meta).unwrap();
    let (back, meta2) = Vae::load(&path, &Device::Cpu).unwrap();
    assert_eq!(back.latent, 2);
    assert_eq!(meta2.get(TRAINING_KEY), meta.get(TRAINING_KEY));
    assert_eq!(meta2.get(FORMAT_KEY).map(String::as_str), Some(VAE_FORMAT));
    let z = vae.prior_codes(4, 0).unwrap();
    assert_eq!(
        vec(&back.decode(&z).unwrap()),
        vec(&vae.decode(&z).unwrap())
    );
    let x = vae.sample(2, 1).unwrap();
    assert_eq!(
        vec(&back.encode(&x).unwrap().1),
        vec(&vae.encode(&x).unwrap().1)
    );
    // A classifier file is not a VAE file.
    let net_path = tmp.path().join("net.safetensors");
    vae.decoder.save(&net_path).unwrap();
    let err = Vae::load(&net_path, &Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("not a valid nnviz VAE file"), "{err}");
}

#[test]
fn training_lowers_the_loss_and_is_reproducible() {
    let data = Dataset::mnist().unwrap().subset_train(1000).unwrap();
    let recipe = VaeRecipe {
        latent: 4,
        hidden: 32,
        train: TrainConfig {
            epochs: 3,
            batch_size: 50,
            learning_rate: 3e-3,
            seed: 2,
        },
        init_seed: 1,
    };
    let run = || {
        let mut vae = Vae::new(&recipe, recipe.init_seed, &Device::Cpu).unwrap();
        let report = train_vae(&mut vae, &data, &recipe.train).unwrap();
        (vae, report)
    };
    let (vae, report) = run();
    assert_eq!(report.epochs.len(), 3);
    assert_eq!(report.batch_losses.len(), 60);
    // An untrained decoder predicts ~½ everywhere: 784 ln 2 ≈ 543 nats per image.
    assert!(
        report.batch_losses[0] > 450.0,
        "{:?}",
        report.batch_losses[0]
    );
    assert!(
        report.test_loss < 0.6 * report.batch_losses[0],
        "test −ELBO {} vs first batch {}",
        report.test_loss,
        report.batch_losses[0]
    );
    let (vae2, report2) = run();
    assert_eq!(report.batch_losses, report2.batch_losses);
    assert_eq!(report.test_loss, report2.test_loss);
    let z = vae.prior_codes(2, 0).unwrap();
    assert_eq!(
        vec(&vae.decode(&z).unwrap()),
        vec(&vae2.decode(&z).unwrap())
    );
    let bad = TrainConfig {
        epochs: 0,
        ..recipe.train.clone()
    };
    let mut v = Vae::new(&recipe, 0, &Device::Cpu).unwrap();
    assert!(train_vae(&mut v, &data, &bad).is_err());
}
