use super::*;

#[test]
fn reference_cnn_has_the_anchor_parameter_count() {
    // conv1 32·9+32, conv2 64·32·9+64, fc3 3136·1024+1024, fc4 1024·10+10.
    assert_eq!(
        reference_cnn().param_count(),
        320 + 18_496 + 3_212_288 + 10_250
    );
}

#[test]
fn difference_is_max_abs_and_relative_l2() {
    let a = Tensor::new(&[1f32, 2.0, 2.0], &Device::Cpu).unwrap();
    let b = Tensor::new(&[1f32, 2.0, 4.0], &Device::Cpu).unwrap();
    let (max, rel) = difference(&a, &b).unwrap();
    assert_eq!(max, 2.0);
    assert!((rel - 2.0 / 21f32.sqrt()).abs() < 1e-6);
    let c = Tensor::new(&[1f32, 2.0], &Device::Cpu).unwrap();
    assert!(difference(&a, &c).is_err());
}

#[test]
fn time_reports_a_median_and_the_last_result() {
    let mut calls = 0;
    let (out, t) = time(&Device::Cpu, 3, || {
        calls += 1;
        Ok(calls)
    })
    .unwrap();
    assert_eq!((out, t.repeats), (4, 3));
    assert!(t.median_ms >= 0.0);
}

#[test]
fn run_times_every_method_and_a_cpu_to_cpu_comparison_agrees_exactly() {
    let data = Dataset::mnist().unwrap();
    let a = run(&data, &Device::Cpu, 2, 1, 1).unwrap();
    assert_eq!(a.len(), suite().len() + 2);
    assert!(a.iter().all(|r| r.timing.median_ms.is_finite()));
    let b = run(&data, &Device::Cpu, 2, 1, 0).unwrap();
    for (ra, rb) in a.iter().zip(&b) {
        if let (Some(x), Some(y)) = (&ra.result, &rb.result) {
            let (max, _) = difference(x, y).unwrap();
            assert_eq!(
                max, 0.0,
                "{}: seeded work on one device is deterministic",
                ra.name
            );
        }
    }
    assert!(disagreements(&a, &b).unwrap().is_empty());
    let mut c = run(&data, &Device::Cpu, 2, 1, 0).unwrap();
    c[1].result = Some((c[1].result.as_ref().unwrap() * 2.0).unwrap());
    let d = disagreements(&a, &c).unwrap();
    assert!(d.len() == 1 && d[0].starts_with("gradient"), "{d:?}");
    let table = comparison_table("a", &a, "b", &b).unwrap();
    assert!(table.contains("integrated gradients"), "{table}");
    assert!(workload(&data, 0, &Device::Cpu).is_err());
    let (net, x) = workload(&data, 3, &Device::Cpu).unwrap();
    assert_eq!(net.forward(&x).unwrap().dims(), &[3, 10]);
}

#[test]
fn case_keys_are_unique_file_stems() {
    let keys: Vec<&str> = suite().iter().map(|c| c.key).collect();
    for k in &keys {
        assert!(
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{k}"
        );
        assert_eq!(keys.iter().filter(|j| j == &k).count(), 1, "{k}");
    }
}

#[test]
fn export_writes_what_the_run_computed_and_it_reads_back() {
    use crate::data::npy::read_npy;
    let data = Dataset::mnist().unwrap();
    let m = measure(&data, &Device::Cpu, 3, 1, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let files = export(&out, &m).unwrap();
    // inputs, targets, logits, one file per method, the model and timings.json
    assert_eq!(files.len(), 3 + suite().len() + 2);
    assert!(files.iter().all(|f| f.is_file()), "{files:?}");

    let x = read_npy(out.join("inputs.npy")).unwrap();
    assert_eq!(x.dims(), &[3, 1, 28, 28]);
    assert_eq!(difference(&x, &m.x).unwrap().0, 0.0);
    let t = read_npy(out.join("targets.npy")).unwrap();
    assert_eq!(t.dtype(), candle_core::DType::I64);
    let t: Vec<usize> = t
        .to_vec1::<i64>()
        .unwrap()
        .iter()
        .map(|&c| c as usize)
        .collect();
    assert_eq!(t, m.classes);

    // The saved network alone reproduces the logits.
    let net = crate::model::io::load_file(out.join("model.safetensors"), &Device::Cpu)
        .unwrap()
        .network;
    assert_eq!(net.spec().unwrap(), reference_cnn());
    let logits = read_npy(out.join("logits.npy")).unwrap();
    assert_eq!(
        difference(&net.forward(&x).unwrap(), &logits).unwrap().0,
        0.0
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("timings.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), m.rows.len());
    assert_eq!(json["batch"], 3);
    for (row, r) in rows.iter().zip(&m.rows) {
        assert_eq!(row["key"], r.key.as_str());
        assert_eq!(row["repeats"], r.timing.repeats);
        assert_eq!(row["threads"], rayon::current_num_threads());
        match &r.result {
            Some(a) => {
                let f = out.join(row["file"].as_str().unwrap());
                let b = read_npy(f).unwrap();
                assert_eq!(b.dims(), a.dims());
                assert_eq!(difference(&b, a).unwrap().0, 0.0, "{}", r.key);
            }
            None => assert!(row["file"].is_null()),
        }
    }

    // A file where the directory should be is refused, naming it.
    let file = dir.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let e = export(&file, &m).unwrap_err().to_string();
    assert!(e.contains("plain") && e.contains("not a directory"), "{e}");
}
