use super::*;

#[test]
fn same_seed_same_stream_other_seed_other_stream() {
    let a: Vec<u64> = (0..5)
        .map({
            let mut r = Rng::new(7);
            move |_| r.next_u64()
        })
        .collect();
    let b: Vec<u64> = (0..5)
        .map({
            let mut r = Rng::new(7);
            move |_| r.next_u64()
        })
        .collect();
    let c: Vec<u64> = (0..5)
        .map({
            let mut r = Rng::new(8);
            move |_| r.next_u64()
        })
        .collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn ranges_and_moments() {
    let mut r = Rng::new(1);
    let n = 20_000;
    let mut sum = 0.0f64;
    let mut sq = 0.0f64;
    for _ in 0..n {
        let u = r.uniform();
        assert!((0.0..1.0).contains(&u));
        let k = r.below(10);
        assert!(k < 10);
        let z = r.normal() as f64;
        sum += z;
        sq += z * z;
    }
    let mean = sum / n as f64;
    let var = sq / n as f64 - mean * mean;
    assert!(mean.abs() < 0.05, "mean {mean}");
    assert!((var - 1.0).abs() < 0.05, "var {var}");
    let mut p = r.permutation(50);
    p.sort();
    assert_eq!(p, (0..50).collect::<Vec<_>>());
}
