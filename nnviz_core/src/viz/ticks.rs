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
mod tests;
