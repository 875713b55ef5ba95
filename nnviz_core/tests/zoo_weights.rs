//! The trained zoo committed in `data/models/` (release build).
//!
//! Every notebook loads its model from there; a file that no longer matches its architecture or
//! recipe would be retrained silently on first use (minutes to tens of minutes). So each file
//! must be current, and re-evaluating it on the test split must give the accuracy its metadata
//! records, which must meet the zoo's requirement. After changing a recipe or an architecture,
//! retrain with `nnviz train <id> --force` (the VAE: delete `data/models/VAE.safetensors` and run
//! notebook 1.3) and commit the new file.

use nnviz_core::data::{ClutteredConfig, Dataset};
use nnviz_core::model::load_file;
use nnviz_core::model::vae::{self, VaeRecipe, TEST_LOSS_KEY};
use nnviz_core::train::evaluate;
use nnviz_core::{device, zoo};

#[test]
fn every_committed_zoo_model_is_current_and_reaches_its_recorded_accuracy() {
    let mnist = Dataset::mnist().unwrap();
    // G and H share the cluttered test split (H's larger training set keeps the default's
    // test canvases), so the default data set is enough to score both.
    let cluttered = ClutteredConfig::default().load_or_generate().unwrap();
    let mut problems = Vec::new();
    for name in zoo::NAMES {
        if let Some(why) = zoo::stale(name).unwrap() {
            problems.push(format!(
                "{name}: {why} ({}); retrain with `nnviz train {name} --force` and commit it",
                zoo::cache_path(name).display()
            ));
            continue;
        }
        let file = load_file(zoo::cache_path(name), &device()).unwrap();
        let recorded = file
            .test_accuracy()
            .expect("the file records its test accuracy");
        let data = if name == "G" || name == "H" {
            &cluttered
        } else {
            &mnist
        };
        let (_, measured) = evaluate(&file.network, &data.test_x, &data.test_y, 500).unwrap();
        let required = zoo::required_accuracy(name).unwrap();
        println!("{name}: recorded {recorded:.4}, measured {measured:.4}, required {required}");
        // Two test images of 10 000: another CPU's kernels may flip a near-tie in the logits.
        if (measured - recorded).abs() > 2.5e-4 {
            problems.push(format!(
                "{name}: measured test accuracy {measured:.4}, the file records {recorded:.4}"
            ));
        }
        if measured < required {
            problems.push(format!(
                "{name}: test accuracy {measured:.4} is under the required {required}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_committed_vae_is_current_and_reaches_its_recorded_test_loss() {
    let recipe = VaeRecipe::default();
    if let Some(why) = vae::stale(&recipe) {
        panic!(
            "VAE: {why} ({}); delete it, run notebook 1.3 to retrain, and commit it",
            vae::cache_path().display()
        );
    }
    let (vae, meta) = vae::Vae::load(vae::cache_path(), &device()).unwrap();
    let recorded: f32 = meta[TEST_LOSS_KEY].parse().unwrap();
    let mnist = Dataset::mnist().unwrap();
    let measured = vae.evaluate(&mnist.test_x, 500).unwrap();
    println!("VAE: recorded test -ELBO {recorded}, measured {measured}");
    assert!(
        (measured - recorded).abs() <= 1e-3 * recorded,
        "VAE: measured test -ELBO {measured}, the file records {recorded}"
    );
}
