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
