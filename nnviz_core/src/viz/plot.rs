//! Line plots (training curves, pixel-flipping curves, ...): axes with nice ticks, axis labels,
//! a title, several series in matplotlib's `tab10` colours (20 distinct ones in all), optional
//! markers and a legend.
//!
//! ```no_run
//! # use nnviz_core::viz::LinePlot;
//! # fn main() -> nnviz_core::Result<()> {
//! let loss = [2.3f32, 0.9, 0.5, 0.35, 0.3];
//! LinePlot::new("Training")
//!     .xlabel("epoch")
//!     .ylabel("loss")
//!     .series_y("train", &loss)
//!     .series("test", &[0.0, 2.0, 4.0], &[2.2f32, 0.6, 0.4])
//!     .markers(true)
//!     .save("/tmp/loss.png")?;
//! # Ok(()) }
//! ```
//!
//! Axis ranges are the data range plus 5% padding (as matplotlib) unless set; NaN and infinite
//! points are skipped and break the line.

use super::axes::{Axes, Labels};
use super::canvas::{Canvas, Shape};
use super::colormap::Rgb;
use super::legend::{self, Entry, Look};
use super::png::{figure_output, Png};
use crate::{bail, Result};

/// The colour cycle: matplotlib's `tab10`, then black and the light shades of `tab20` for the
/// 11th to 20th series (matplotlib would repeat `tab10` there and give two series one colour).
const CYCLE: [Rgb; 20] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
    [0, 0, 0],
    [174, 199, 232],
    [255, 187, 120],
    [152, 223, 138],
    [255, 152, 150],
    [197, 176, 213],
    [196, 156, 148],
    [247, 182, 210],
    [219, 219, 141],
    [158, 218, 229],
];
const LINE_W: f64 = 2.0;
const MARKER_R: f64 = 3.5;

#[derive(Debug, Clone)]
struct Series {
    name: String,
    pts: Vec<(f64, f64)>,
}

/// A line plot. Build with [`LinePlot::new`] and the builder methods.
#[derive(Debug, Clone)]
pub struct LinePlot {
    title: String,
    xlabel: String,
    ylabel: String,
    series: Vec<Series>,
    markers: bool,
    legend: bool,
    xrange: Option<(f64, f64)>,
    yrange: Option<(f64, f64)>,
    size: (u32, u32),
    error: Option<String>,
}

impl LinePlot {
    /// An empty plot titled `title` (may be empty), 640×420 pixels.
    pub fn new(title: impl Into<String>) -> LinePlot {
        LinePlot {
            title: title.into(),
            xlabel: String::new(),
            ylabel: String::new(),
            series: Vec::new(),
            markers: false,
            legend: true,
            xrange: None,
            yrange: None,
            size: (640, 420),
            error: None,
        }
    }

    /// Sets the x-axis label.
    pub fn xlabel(mut self, label: impl Into<String>) -> Self {
        self.xlabel = label.into();
        self
    }

    /// Sets the y-axis label.
    pub fn ylabel(mut self, label: impl Into<String>) -> Self {
        self.ylabel = label.into();
        self
    }

    /// Adds a series of points `(xs[i], ys[i])`; the lengths must match (checked when
    /// rendering). An empty name leaves the series out of the legend.
    pub fn series<X, Y>(mut self, name: impl Into<String>, xs: &[X], ys: &[Y]) -> Self
    where
        X: Copy + Into<f64>,
        Y: Copy + Into<f64>,
    {
        let name = name.into();
        if xs.len() != ys.len() && self.error.is_none() {
            self.error = Some(format!(
                "line plot: series {name:?} has {} x values but {} y values",
                xs.len(),
                ys.len()
            ));
        }
        let pts = xs
            .iter()
            .zip(ys)
            .map(|(&x, &y)| (x.into(), y.into()))
            .collect();
        self.series.push(Series { name, pts });
        self
    }

    /// Adds a series with x = 0, 1, 2, … (like matplotlib's `plot(ys)`).
    pub fn series_y<Y: Copy + Into<f64>>(self, name: impl Into<String>, ys: &[Y]) -> Self {
        let xs: Vec<f64> = (0..ys.len()).map(|i| i as f64).collect();
        self.series(name, &xs, ys)
    }

    /// Draws a marker at every point.
    pub fn markers(mut self, on: bool) -> Self {
        self.markers = on;
        self
    }

    /// Shows or hides the legend (shown by default when a series has a name).
    pub fn legend(mut self, on: bool) -> Self {
        self.legend = on;
        self
    }

    /// Fixes the x range (no padding).
    pub fn xrange(mut self, lo: f64, hi: f64) -> Self {
        self.xrange = Some((lo, hi));
        self
    }

    /// Fixes the y range (no padding).
    pub fn yrange(mut self, lo: f64, hi: f64) -> Self {
        self.yrange = Some((lo, hi));
        self
    }

    /// Sets the figure size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// The axis range along `pick` (0 = x, 1 = y).
    fn range(&self, fixed: Option<(f64, f64)>, pick: fn(&(f64, f64)) -> f64) -> Result<(f64, f64)> {
        if let Some((lo, hi)) = fixed {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                bail!("line plot: axis range ({lo}, {hi}) must be finite with lo < hi");
            }
            return Ok((lo, hi));
        }
        let vals = self.series.iter().flat_map(|s| {
            s.pts
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .map(pick)
        });
        let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        if lo > hi {
            return Ok((0.0, 1.0));
        }
        let span = hi - lo;
        if span <= hi.abs().max(lo.abs()) * 1e-12 || span == 0.0 {
            let d = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
            return Ok((lo - d, hi + d));
        }
        Ok((lo - 0.05 * span, hi + 0.05 * span))
    }

    /// Renders the plot to a PNG.
    pub fn render(&self) -> Result<Png> {
        if let Some(e) = &self.error {
            bail!("{e}");
        }
        let mut c = Canvas::new("line plot", self.size.0, self.size.1)?;
        let xr = self.range(self.xrange, |p| p.0)?;
        let yr = self.range(self.yrange, |p| p.1)?;
        let labels = Labels {
            title: &self.title,
            x: &self.xlabel,
            y: &self.ylabel,
        };
        let axes = Axes::layout(self.size, xr, yr, &labels)?;
        axes.draw_grid(&mut c);
        let mut paths = Vec::new();
        for (i, s) in self.series.iter().enumerate() {
            let pts: Vec<Option<(f64, f64)>> = s
                .pts
                .iter()
                .map(|&(x, y)| (x.is_finite() && y.is_finite()).then(|| (axes.px(x), axes.py(y))))
                .collect();
            let mut shapes: Vec<Shape> = pts
                .windows(2)
                .filter_map(|p| {
                    Some(Shape::Segment {
                        a: p[0]?,
                        b: p[1]?,
                        width: LINE_W,
                    })
                })
                .collect();
            if self.markers || pts.iter().flatten().count() == 1 {
                let discs = pts
                    .iter()
                    .flatten()
                    .map(|&c| Shape::Disc { c, r: MARKER_R });
                shapes.extend(discs);
            }
            c.shapes(&shapes, CYCLE[i % CYCLE.len()], axes.plot);
            paths.push(pts);
        }
        axes.draw(&mut c, &labels)?;
        if self.legend {
            let entries: Vec<Entry> = self
                .series
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.name.is_empty())
                .map(|(i, s)| Entry {
                    name: &s.name,
                    color: CYCLE[i % CYCLE.len()],
                })
                .collect();
            let look = Look {
                line_width: LINE_W,
                marker: self.markers.then_some(MARKER_R),
            };
            legend::draw(&mut c, axes.plot, &entries, &look, &paths)?;
        }
        c.into_png()
    }
}

figure_output!(LinePlot, "line plot");

#[cfg(test)]
mod tests;
