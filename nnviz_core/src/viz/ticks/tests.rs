use super::*;

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() < 1e-12 * (1.0 + y.abs()))
}

#[test]
fn symmetric_range() {
    let t = nice_ticks(-0.37, 0.37, 6);
    assert!(close(&t, &[-0.2, 0.0, 0.2]), "{t:?}");
    assert_eq!(tick_labels(&t), ["-0.2", "0", "0.2"]);
    let t = nice_ticks(-0.37, 0.37, 8);
    assert!(close(&t, &[-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3]), "{t:?}");
}

#[test]
fn unit_range() {
    let t = nice_ticks(0.0, 1.0, 6);
    assert!(close(&t, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), "{t:?}");
    assert_eq!(tick_labels(&t), ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
    let t = nice_ticks(0.0, 1.0, 5);
    assert_eq!(tick_labels(&t), ["0", "0.25", "0.5", "0.75", "1"]);
}

#[test]
fn tiny_range() {
    let t = nice_ticks(1e-5, 3e-5, 6);
    assert!(close(&t, &[1e-5, 1.5e-5, 2e-5, 2.5e-5, 3e-5]), "{t:?}");
    assert_eq!(
        tick_labels(&t),
        ["1e-5", "1.5e-5", "2e-5", "2.5e-5", "3e-5"]
    );
}

#[test]
fn large_and_small_labels() {
    assert_eq!(
        tick_labels(&nice_ticks(0.0, 3e4, 4)),
        ["0", "1e4", "2e4", "3e4"]
    );
    let t = nice_ticks(-0.0013, 0.0013, 6);
    assert_eq!(tick_labels(&t), ["-1e-3", "-5e-4", "0", "5e-4", "1e-3"]);
    assert!(tick_labels(&[-0.0012, 0.0, 0.0012]).contains(&"-1.2e-3".to_string()));
    assert_eq!(format_value(0.123456), "0.123");
    assert_eq!(format_value(-4.5e-5), "-4.5e-5");
    assert_eq!(format_value(0.0), "0");
}

#[test]
fn degenerate_ranges() {
    assert_eq!(nice_ticks(0.5, 0.5, 6), [0.5]);
    assert_eq!(nice_ticks(0.0, 0.0, 6), [0.0]);
    assert!(nice_ticks(f64::NAN, 1.0, 6).is_empty());
    let t = nice_ticks(1.0, -1.0, 5);
    assert!(close(&t, &[-1.0, -0.5, 0.0, 0.5, 1.0]), "{t:?}");
    // At most max_ticks, always.
    for (lo, hi) in [(0.0, 7.3), (-123.4, 5.0), (1e-9, 1.1e-9), (0.1, 0.100001)] {
        for n in 2..9 {
            let t = nice_ticks(lo, hi, n);
            assert!(!t.is_empty() && t.len() <= n, "{lo} {hi} {n}: {t:?}");
            assert!(t
                .iter()
                .all(|&v| v >= lo - 1e-9 * hi.abs() && v <= hi * (1.0 + 1e-9)));
        }
    }
}
