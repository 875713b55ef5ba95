//! Value ranges: how map values are normalised onto a colormap's `[0, 1]`.
//!
//! [`Range::Auto`] is symmetric (`[-m, m]`, `m = max |v|`) for diverging maps, so zero is always
//! the centre colour, and `min..max` for sequential maps. Only finite values count; a map with
//! no spread (all zero, constant, all NaN) gets a widened range instead of a division by zero:
//! `[-1, 1]` around zero, `c ± 0.1|c|` around a constant `c`.

use super::colormap::Colormap;
use crate::{bail, Result};

/// The value range a map is normalised to.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Range {
    /// Symmetric `[-m, m]` for diverging colormaps, `[min, max]` for sequential ones.
    #[default]
    Auto,
    /// Always `[-m, m]` with `m = max |v|`: zero maps to the colormap's centre.
    Symmetric,
    /// Always `[min, max]` of the finite values.
    MinMax,
    /// Exactly `[lo, hi]`; values outside are clamped to the end colours.
    Fixed(f32, f32),
}

/// Summary of a map's finite values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stats {
    pub min: f32,
    pub max: f32,
    /// Whether any value was finite (otherwise min/max are meaningless).
    pub any: bool,
}

impl Stats {
    pub fn of(data: &[f32]) -> Stats {
        let mut s = Stats {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            any: false,
        };
        for &v in data.iter().filter(|v| v.is_finite()) {
            s.min = s.min.min(v);
            s.max = s.max.max(v);
            s.any = true;
        }
        s
    }

    pub fn merge(self, o: Stats) -> Stats {
        match (self.any, o.any) {
            (false, _) => o,
            (_, false) => self,
            _ => Stats {
                min: self.min.min(o.min),
                max: self.max.max(o.max),
                any: true,
            },
        }
    }

    fn absmax(&self) -> f32 {
        if self.any {
            self.min.abs().max(self.max.abs())
        } else {
            0.0
        }
    }
}

/// A resolved, non-degenerate normalisation `lo < hi`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Norm {
    pub lo: f32,
    pub hi: f32,
}

impl Norm {
    /// Resolves `range` for data with `stats` on `cmap`; `op` names the caller in errors.
    pub fn resolve(op: &str, range: Range, cmap: Colormap, stats: Stats) -> Result<Norm> {
        let symmetric = |s: Stats| {
            let m = s.absmax();
            (-m, m)
        };
        let (lo, hi) = match range {
            Range::Auto if cmap.is_diverging() => symmetric(stats),
            Range::Symmetric => symmetric(stats),
            Range::Auto | Range::MinMax if stats.any => (stats.min, stats.max),
            Range::Auto | Range::MinMax => (0.0, 0.0),
            Range::Fixed(lo, hi) => {
                if !lo.is_finite() || !hi.is_finite() || lo > hi {
                    bail!("{op}: range Fixed({lo}, {hi}) must be finite with lo <= hi");
                }
                (lo, hi)
            }
        };
        Ok(Norm::widened(lo, hi))
    }

    /// `lo..hi`, widened when it has no spread.
    pub fn widened(lo: f32, hi: f32) -> Norm {
        if hi > lo && (hi - lo).is_normal() && (hi - lo).is_finite() {
            return Norm { lo, hi };
        }
        let c = if lo.is_finite() { lo } else { 0.0 };
        let d = if c.abs() > f32::MIN_POSITIVE * 1e6 {
            c.abs() * 0.1
        } else {
            1.0
        };
        Norm {
            lo: c - d,
            hi: c + d,
        }
    }

    /// The normalised position of `v` in `[0, 1]` (clamped; NaN stays NaN).
    pub fn t(&self, v: f32) -> f32 {
        if v.is_nan() {
            return f32::NAN;
        }
        // f64 so that ranges near f32::MAX do not overflow.
        let t = (v as f64 - self.lo as f64) / (self.hi as f64 - self.lo as f64);
        t.clamp(0.0, 1.0) as f32
    }
}

#[cfg(test)]
mod tests;
