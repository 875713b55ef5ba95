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
mod tests {
    use super::*;

    fn norm(range: Range, cmap: Colormap, data: &[f32]) -> Norm {
        Norm::resolve("test", range, cmap, Stats::of(data)).unwrap()
    }

    #[test]
    fn auto_is_symmetric_for_diverging_maps() {
        let n = norm(Range::Auto, Colormap::Seismic, &[-0.3, 0.7, 0.1]);
        assert_eq!((n.lo, n.hi), (-0.7, 0.7));
        assert_eq!(n.t(0.0), 0.5);
        assert_eq!(Colormap::Seismic.rgb(n.t(0.0)), [255, 255, 255]);
        assert_eq!(n.t(0.7), 1.0);
        assert_eq!(n.t(-0.7), 0.0);
    }

    #[test]
    fn auto_is_min_max_for_sequential_maps() {
        let n = norm(Range::Auto, Colormap::Viridis, &[2.0, 4.0, f32::NAN, 3.0]);
        assert_eq!((n.lo, n.hi), (2.0, 4.0));
        assert_eq!(n.t(3.0), 0.5);
        let n = norm(Range::Symmetric, Colormap::Viridis, &[2.0, 4.0]);
        assert_eq!((n.lo, n.hi), (-4.0, 4.0));
        let n = norm(Range::MinMax, Colormap::Seismic, &[2.0, 4.0]);
        assert_eq!((n.lo, n.hi), (2.0, 4.0));
    }

    #[test]
    fn degenerate_ranges_are_widened() {
        let n = norm(Range::Auto, Colormap::Seismic, &[0.0; 9]);
        assert_eq!((n.lo, n.hi), (-1.0, 1.0));
        assert_eq!(n.t(0.0), 0.5);
        let n = norm(Range::Auto, Colormap::Viridis, &[5.0; 4]);
        assert!(n.lo < 5.0 && n.hi > 5.0 && (n.t(5.0) - 0.5).abs() < 1e-6);
        let n = norm(Range::Auto, Colormap::Hot, &[f32::NAN, f32::INFINITY]);
        assert_eq!((n.lo, n.hi), (-1.0, 1.0));
        assert!(n.t(f32::NAN).is_nan());
        assert_eq!(n.t(f32::INFINITY), 1.0);
    }

    #[test]
    fn fixed_ranges_are_checked() {
        let n = norm(Range::Fixed(0.0, 1.0), Colormap::Gray, &[7.0]);
        assert_eq!((n.lo, n.hi), (0.0, 1.0));
        assert_eq!(n.t(7.0), 1.0);
        let e = Norm::resolve(
            "heatmap",
            Range::Fixed(1.0, 0.0),
            Colormap::Gray,
            Stats::of(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("heatmap: range Fixed(1, 0)"), "{e}");
        assert!(Norm::resolve(
            "h",
            Range::Fixed(f32::NAN, 1.0),
            Colormap::Gray,
            Stats::of(&[])
        )
        .is_err());
    }
}
