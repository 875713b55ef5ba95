use super::*;

fn kv(args: &[&str]) -> Vec<(String, String)> {
    parse_params(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

fn err(name: &str, args: &[&str]) -> String {
    match build(name, &kv(args)) {
        Ok(_) => panic!("{name} {args:?} built"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_method_builds_with_its_defaults_and_names_are_unique() {
    for m in METHODS {
        assert!(build(m.name, &[]).is_ok(), "{}", m.name);
        assert_eq!(METHODS.iter().filter(|n| n.name == m.name).count(), 1);
    }
    assert_eq!(METHODS.len(), 27);
}

#[test]
fn defaults_are_the_library_defaults() {
    let ig = IntegratedGradients::default();
    assert_eq!(
        info("integrated-gradients").unwrap().params[0].default,
        ig.steps.to_string()
    );
    let sg = SmoothGrad::new(Saliency::default());
    assert_eq!(
        info("smoothgrad").unwrap().params[0].default,
        sg.samples.to_string()
    );
    assert_eq!(sg.noise, Noise::Relative(0.15));
}

#[test]
fn every_documented_parameter_is_accepted() {
    let examples = [
        ("gradient", "transform=abs"),
        ("integrated-gradients", "steps=8"),
        ("integrated-gradients", "baseline=0.5"),
        ("integrated-gradients", "quadrature=riemann-right"),
        ("integrated-gradients", "batch-size=4"),
        ("smoothgrad", "samples=3"),
        ("smoothgrad", "noise=0.2"),
        ("smoothgrad", "variant=vargrad"),
        ("smoothgrad", "seed=7"),
        ("smoothgrad", "batch-size=2"),
        ("occlusion", "window=5"),
        ("occlusion", "stride=1"),
        ("occlusion", "baseline=0.5"),
        ("occlusion", "batch-size=64"),
        ("feature-ablation", "patch=4"),
        ("feature-ablation", "baseline=0.5"),
        ("feature-ablation", "batch-size=64"),
        ("shapley-values", "patch=14"),
        ("shapley-values", "baseline=0.5"),
        ("shapley-values", "batch-size=64"),
        ("shapley-sampling", "patch=14"),
        ("shapley-sampling", "samples=3"),
        ("shapley-sampling", "seed=5"),
        ("shapley-sampling", "baseline=-1"),
        ("shapley-sampling", "batch-size=64"),
        ("kernel-shap", "patch=4"),
        ("kernel-shap", "samples=50"),
        ("kernel-shap", "seed=5"),
        ("kernel-shap", "baseline=0.5"),
        ("kernel-shap", "batch-size=64"),
        ("lime", "patch=4"),
        ("lime", "samples=50"),
        ("lime", "distance=euclidean"),
        ("lime", "kernel-width=0.5"),
        ("lime", "alpha=0"),
        ("lime", "seed=5"),
        ("lime", "baseline=0.5"),
        ("lime", "batch-size=64"),
        ("lrp-epsilon", "epsilon=0"),
        ("lrp-epsilon-plus", "epsilon=1e-3"),
        ("deep-taylor", "low=-1"),
        ("deep-taylor", "high=2"),
        ("deeplift", "baseline=0.1"),
        ("grad-cam", "layer=relu2"),
        ("grad-cam", "relu=false"),
        ("xgrad-cam", "layer=relu2"),
        ("xgrad-cam", "relu=false"),
        ("grad-cam-plus-plus", "layer=conv2"),
        ("grad-cam-plus-plus", "relu=false"),
        ("hires-cam", "layer=relu2"),
        ("hires-cam", "relu=false"),
        ("layer-cam", "layer=conv1"),
        ("layer-cam", "relu=false"),
        ("score-cam", "layer=relu2"),
        ("score-cam", "relu=false"),
        ("score-cam", "softmax=false"),
        ("score-cam", "batch-size=64"),
        ("gradient-shap", "samples=3"),
        ("gradient-shap", "baseline=0.5"),
        ("gradient-shap", "stdev=0.1"),
        ("gradient-shap", "seed=2"),
        ("gradient-shap", "batch-size=8"),
        ("guided-grad-cam", "layer=relu2"),
        ("guided-grad-cam", "relu=false"),
    ];
    for (m, a) in examples {
        assert!(build(m, &kv(&[a])).is_ok(), "{m} {a}");
    }
    for m in METHODS {
        for p in m.params {
            assert!(
                examples
                    .iter()
                    .any(|(n, a)| *n == m.name && a.starts_with(&format!("{}=", p.name))),
                "{} {} untested",
                m.name,
                p.name
            );
        }
    }
}

#[test]
fn errors_list_what_is_valid() {
    let e = match build("lrp", &[]) {
        Err(e) => e.to_string(),
        Ok(_) => panic!(),
    };
    assert!(
        e.contains("\"lrp\"") && e.contains("lrp-epsilon") && e.contains("grad-cam"),
        "{e}"
    );
    let e = err("integrated-gradients", &["step=3"]);
    assert!(
        e.contains("\"step\"") && e.contains("steps, baseline, quadrature, batch-size"),
        "{e}"
    );
    let e = err("deconvnet", &["x=1"]);
    assert!(e.contains("takes no parameters"), "{e}");
    let e = err("integrated-gradients", &["steps=abc"]);
    assert!(
        e.contains("steps=\"abc\"") && e.contains("whole number"),
        "{e}"
    );
    let e = err("integrated-gradients", &["steps=0"]);
    assert!(e.contains("≥ 1"), "{e}");
    let e = err("gradient", &["transform=log"]);
    assert!(e.contains("raw, abs, square"), "{e}");
    let e = err("lrp-epsilon", &["epsilon=-1"]);
    assert!(e.contains("≥ 0"), "{e}");
    let e = err("lrp-epsilon", &["epsilon=nan"]);
    assert!(e.contains("finite"), "{e}");
    let e = err("deep-taylor", &["low=2"]);
    assert!(e.contains("low=2") && e.contains("high=1"), "{e}");
    let e = err("kernel-shap", &["samples=0"]);
    assert!(e.contains("samples=\"0\"") && e.contains("≥ 1"), "{e}");
    let e = err("lime", &["distance=manhattan"]);
    assert!(e.contains("cosine, euclidean"), "{e}");
    let e = err("lime", &["alpha=-1"]);
    assert!(e.contains("alpha=\"-1\"") && e.contains("≥ 0"), "{e}");
    let e = err("occlusion", &["window=0"]);
    assert!(e.contains("window=\"0\"") && e.contains("≥ 1"), "{e}");
    let e = err("score-cam", &["batch-size=0"]);
    assert!(e.contains("batch-size=\"0\"") && e.contains("≥ 1"), "{e}");
    let e = err("score-cam", &["softmax=yes"]);
    assert!(e.contains("true, false"), "{e}");
    let e = err("smoothgrad", &["seed=1", "seed=2"]);
    assert!(e.contains("twice"), "{e}");
    let e = parse_params(&["steps".to_string()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("key=value"), "{e}");
}

#[test]
fn describe_lists_every_method_and_default() {
    let d = describe();
    for m in METHODS {
        assert!(d.contains(m.name));
        for p in m.params {
            assert!(
                d.contains(&format!("\n    {} ", p.name))
                    || d.contains(&format!("\n    {}:", p.name))
            );
        }
    }
    assert!(d.contains("    steps (default 50): number of quadrature points"));
}
