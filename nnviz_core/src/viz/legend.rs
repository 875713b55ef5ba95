//! A plot legend: one row per named series (line sample, optional marker, name), placed in the
//! corner of the plot where it hides the least data (like matplotlib's `loc="best"`).

use super::canvas::{Canvas, Clip, Shape};
use super::colormap::Rgb;
use super::style;
use super::text::{HAlign, VAlign};
use crate::Result;

/// One legend row.
pub(crate) struct Entry<'a> {
    pub name: &'a str,
    pub color: Rgb,
}

/// How series are drawn, so the samples match.
pub(crate) struct Look {
    pub line_width: f64,
    /// Marker radius, if markers are drawn.
    pub marker: Option<f64>,
}

/// Draws the legend for `entries` inside `plot`, avoiding the pixels of `paths`.
pub(crate) fn draw(
    c: &mut Canvas,
    plot: Clip,
    entries: &[Entry],
    look: &Look,
    paths: &[Vec<Option<(f64, f64)>>],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let f = style::TICK_FONT;
    let names: Vec<&str> = entries.iter().map(|e| e.name).collect();
    let (pad, sample, row) = (7.0, 24.0, f.line() + 6.0);
    let bw = (pad + sample + 8.0 + f.max_width(&names)? + pad).ceil();
    let bh = (2.0 * pad + row * entries.len() as f64 - 6.0).ceil();
    let inset = 10.0;
    let corners = [
        (plot.x1 - inset - bw, plot.y0 + inset),
        (plot.x0 + inset, plot.y0 + inset),
        (plot.x1 - inset - bw, plot.y1 - inset - bh),
        (plot.x0 + inset, plot.y1 - inset - bh),
    ];
    let samples: Vec<(f64, f64)> = paths.iter().flat_map(|p| densify(p)).collect();
    let hidden = |&(x, y): &(f64, f64)| {
        let inside = |p: &&(f64, f64)| p.0 >= x && p.0 <= x + bw && p.1 >= y && p.1 <= y + bh;
        samples.iter().filter(inside).count()
    };
    let best = corners.iter().copied().min_by_key(hidden);
    let (bx, by) = best.unwrap_or(corners[0]);
    let (bx, by) = (bx.round(), by.round());
    for yy in 0..bh as i64 {
        for xx in 0..bw as i64 {
            c.blend(bx as i64 + xx, by as i64 + yy, [255, 255, 255], 0.85);
        }
    }
    c.frame(bx as i64, by as i64, bw as i64, bh as i64, [204, 204, 204]);
    let (cw, ch) = (c.width() as f64, c.height() as f64);
    let all = Clip {
        x0: 0.0,
        y0: 0.0,
        x1: cw,
        y1: ch,
    };
    for (k, e) in entries.iter().enumerate() {
        let cy = by + pad + row * k as f64 + f.line() / 2.0 - 1.0;
        let (a, b) = ((bx + pad, cy), (bx + pad + sample, cy));
        let mut shapes = vec![Shape::Segment {
            a,
            b,
            width: look.line_width,
        }];
        if let Some(r) = look.marker {
            shapes.push(Shape::Disc {
                c: ((a.0 + b.0) / 2.0, cy),
                r,
            });
        }
        c.shapes(&shapes, e.color, all);
        let pos = (bx + pad + sample + 8.0, cy);
        c.text(e.name, pos, f, (HAlign::Left, VAlign::Middle), style::TEXT)?;
    }
    Ok(())
}

/// The points of a path plus points every few pixels along its segments.
fn densify(path: &[Option<(f64, f64)>]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = path.iter().flatten().copied().collect();
    for w in path.windows(2) {
        if let (Some(a), Some(b)) = (w[0], w[1]) {
            let n = ((b.0 - a.0).hypot(b.1 - a.1) / 4.0).min(2000.0) as usize;
            out.extend((1..n).map(|k| {
                let t = k as f64 / n as f64;
                (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)
            }));
        }
    }
    out
}
