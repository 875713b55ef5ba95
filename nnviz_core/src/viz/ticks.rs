//! "Nice numbers" tick placement and compact tick labels.
//!
//! Ticks are the multiples of a step `{1, 2, 2.5, 5} × 10^k` that lie inside the range; the
//! smallest step giving at most `max_ticks` ticks wins (matplotlib's `MaxNLocator` idea).
//! Labels are compact: `0.25`, `-1.2e-3`, `3e4` — plain decimals for magnitudes in
//! `[0.01, 10^4)`, short scientific notation outside, and the same decimals for every tick.

/// At most `max_ticks` (at least 2 is assumed) nicely rounded ticks in `[lo, hi]`, ascending.
/// A constant range gives the single value; a non-finite bound gives no ticks.
pub fn nice_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() {
        return Vec::new();
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let span = hi - lo;
    if span <= hi.abs().max(lo.abs()) * 1e-12 || span < f64::MIN_POSITIVE * 1e3 {
        return vec![lo];
    }
    let max_ticks = max_ticks.max(2);
    let exp0 = (span / max_ticks as f64).log10().floor() as i32 - 1;
    for exp in exp0..exp0 + 8 {
        for m in [1.0, 2.0, 2.5, 5.0] {
            let step = m * 10f64.powi(exp);
            let (first, last) = range_multiples(lo, hi, step);
            let count = last - first + 1;
            if count >= 1 && count as usize <= max_ticks {
                return (first..=last)
                    .map(|k| if k == 0 { 0.0 } else { k as f64 * step })
                    .collect();
            }
        }
    }
    vec![lo, hi]
}

/// The first and last `k` with `k * step` in `[lo, hi]` (with a relative tolerance).
fn range_multiples(lo: f64, hi: f64, step: f64) -> (i64, i64) {
    let eps = 1e-9;
    let first = (lo / step - eps).ceil() as i64;
    let last = (hi / step + eps).floor() as i64;
    (first, last)
}

/// Compact labels for `ticks` (as returned by [`nice_ticks`]): one format for all of them.
pub fn tick_labels(ticks: &[f64]) -> Vec<String> {
    let big = ticks.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let step = match ticks {
        [a, b, ..] => (b - a).abs(),
        _ => big,
    };
    let step = if step > 0.0 && step.is_finite() {
        step
    } else {
        1.0
    };
    let sci = big >= 1e4 || (big > 0.0 && big < 1e-2);
    ticks.iter().map(|&v| format_tick(v, step, sci)).collect()
}

/// One value as a compact label with ~3 significant digits (`0.123`, `-4.5e-5`, `1.23e6`).
pub fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    let step = if a > 0.0 {
        10f64.powi(a.log10().floor() as i32 - 2)
    } else {
        1.0
    };
    format_tick(v, step, a >= 1e4 || (a > 0.0 && a < 1e-2))
}

fn format_tick(v: f64, step: f64, sci: bool) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    if !sci {
        return trim(format!("{:.*}", decimals(step), v));
    }
    let mut e = v.abs().log10().floor() as i32;
    let d = decimals(step / 10f64.powi(e)).min(6);
    let mut m = trim(format!("{:.*}", d, v / 10f64.powi(e)));
    // Rounding can carry the mantissa to 10 (9.99 -> "10").
    if m.trim_start_matches('-') == "10" {
        e += 1;
        m = trim(format!("{:.*}", d, v / 10f64.powi(e)));
    }
    format!("{m}e{e}")
}

/// Decimals needed to write multiples of `step` exactly (at most 12).
fn decimals(step: f64) -> usize {
    (0..12)
        .find(|&d| {
            let x = step * 10f64.powi(d as i32);
            (x - x.round()).abs() < 1e-6 * x.max(1.0)
        })
        .unwrap_or(12)
}

fn trim(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    let t = s.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" {
        "0".into()
    } else {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
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
}
