//! Grid layout and drawing: images aligned across rows and columns, headers, row labels, an
//! overall title and the optional shared colorbar.

use super::canvas::Canvas;
use super::colorbar::Colorbar;
use super::grid::{Grid, Panel};
use super::heatmap::Heatmap;
use super::norm::{Norm, Range, Stats};
use super::panel::{PanelLayout, PanelSpec};
use super::png::Png;
use super::style;
use super::text::{HAlign, VAlign};
use crate::{bail, Result};

impl Grid {
    /// The shared colorbar, or `None` for per-panel normalisation.
    fn shared_bar(&self) -> Result<Option<Colorbar>> {
        if !self.shared {
            return Ok(None);
        }
        let (mut stats, mut first) = (Stats::of(&[]), None);
        for p in &self.panels {
            let (s, cmap, range) = match p {
                Panel::Heatmap(h) if !is_input_image(h) => (h.stats(), h.cmap, h.range),
                Panel::Overlay(o) => (o.stats(), o.cmap, o.range),
                _ => continue,
            };
            stats = stats.merge(s);
            first.get_or_insert((cmap, range));
        }
        let Some((cmap, range)) = first else {
            return Ok(None);
        };
        let norm = Norm::resolve("grid", range, cmap, stats)?;
        Ok(Some(Colorbar { cmap, norm }))
    }

    fn specs(&self, bar: Option<&Colorbar>) -> Result<Vec<Option<PanelSpec>>> {
        // With a shared bar every panel takes its colormap and range.
        let shared = bar.map(|b| (b.cmap, Range::Fixed(b.norm.lo, b.norm.hi)));
        self.panels
            .iter()
            .map(|p| match (p, shared) {
                (Panel::Heatmap(h), Some((cmap, r))) if !is_input_image(h) => {
                    let h = h.clone().cmap(cmap).range(r).colorbar(false);
                    h.spec(self.scale).map(Some)
                }
                (Panel::Overlay(o), Some((cmap, r))) => {
                    let o = o.clone().cmap(cmap).range(r).colorbar(false);
                    o.spec(self.scale).map(Some)
                }
                (Panel::Heatmap(h), _) => h.spec(self.scale).map(Some),
                (Panel::Overlay(o), _) => o.spec(self.scale).map(Some),
                (Panel::Empty, _) => Ok(None),
            })
            .collect()
    }

    /// Renders the grid to a PNG.
    pub fn render(&self) -> Result<Png> {
        let (rows, cols) = (self.rows, self.cols);
        if rows == 0 || cols == 0 {
            bail!("grid: {rows}x{cols} has no cells");
        }
        if self.panels.len() > rows * cols {
            bail!(
                "grid: {} panels do not fit {rows}x{cols} cells",
                self.panels.len()
            );
        }
        if self.row_labels.len() > rows || self.col_labels.len() > cols {
            bail!(
                "grid: {} row labels / {} column labels for {rows}x{cols} cells",
                self.row_labels.len(),
                self.col_labels.len()
            );
        }
        let bar = self.shared_bar()?;
        let specs = self.specs(bar.as_ref())?;
        let mut placed = Vec::new(); // (row, col, spec, layout)
        for (i, spec) in specs.iter().enumerate() {
            if let Some(spec) = spec {
                placed.push((i / cols, i % cols, spec, spec.layout()?));
            }
        }
        // Images line up: within a column their left edges, within a row their top edges.
        let (mut img_x, mut img_y) = (vec![0.0f64; cols], vec![0.0f64; rows]);
        for (r, c, _, l) in &placed {
            img_x[*c] = img_x[*c].max(l.img_x);
            img_y[*r] = img_y[*r].max(l.img_y);
        }
        let (mut col_w, mut row_h) = (vec![0.0f64; cols], vec![0.0f64; rows]);
        for (r, c, _, l) in &placed {
            col_w[*c] = col_w[*c].max(img_x[*c] - l.img_x + l.w);
            row_h[*r] = row_h[*r].max(img_y[*r] - l.img_y + l.h);
        }

        let (lf, tf) = (style::LABEL_FONT, style::SUPTITLE_FONT);
        let title_h = match &self.title {
            Some(_) => style::PAD + tf.line() + style::TITLE_GAP,
            None => 0.0,
        };
        let head_h = match self.col_labels.is_empty() {
            true => 0.0,
            false => style::PAD + lf.line(),
        };
        let label_w = match self.row_labels.is_empty() {
            true => 0.0,
            false => style::PAD + lf.max_width(&self.row_labels)?,
        };
        let (x0, y0) = (label_w.ceil(), (title_h + head_h).ceil());
        let offsets = |v: &[f64], start: f64| {
            v.iter()
                .scan(start, |acc, d| {
                    let at = *acc;
                    *acc += d;
                    Some(at)
                })
                .collect::<Vec<f64>>()
        };
        let (col_x, row_y) = (offsets(&col_w, x0), offsets(&row_h, y0));
        let grid_w: f64 = col_w.iter().sum();
        let grid_h: f64 = row_h.iter().sum();
        // Panel origins and the vertical extent of all images (for the shared colorbar).
        let origin = |r: usize, c: usize, l: &PanelLayout| {
            (col_x[c] + img_x[c] - l.img_x, row_y[r] + img_y[r] - l.img_y)
        };
        let (mut img_top, mut img_bottom) = (f64::INFINITY, f64::NEG_INFINITY);
        for (r, c, spec, l) in &placed {
            let (_, py) = origin(*r, *c, l);
            img_top = img_top.min(py + l.img_y);
            img_bottom = img_bottom.max(py + l.img_y + spec.pic.h as f64);
        }
        let bar_w = match (&bar, img_bottom > img_top) {
            (Some(b), true) => b.width(img_bottom - img_top)? + 4.0,
            _ => 0.0,
        };
        let mut w = x0 + grid_w + bar_w;
        if let Some(t) = &self.title {
            w = w.max(tf.width(t)? + 2.0 * style::PAD);
        }
        let mut canvas = Canvas::new(
            "grid",
            w.ceil() as u32,
            (y0 + grid_h).ceil().max(1.0) as u32,
        )?;

        if let Some(t) = &self.title {
            let pos = (w / 2.0, style::PAD);
            canvas.text(t, pos, tf, (HAlign::Center, VAlign::Top), style::TEXT)?;
        }
        for (r, c, spec, l) in &placed {
            let (px, py) = origin(*r, *c, l);
            spec.draw(&mut canvas, px, py, l)?;
            let img_cx = px + l.img_x + spec.pic.w as f64 / 2.0;
            match self.col_labels.get(*c) {
                // A header over the first panel of its column.
                Some(head) if placed.iter().find(|p| p.1 == *c).is_some_and(|p| p.0 == *r) => {
                    let pos = (img_cx, y0 - style::TITLE_GAP);
                    let anchor = (HAlign::Center, VAlign::Bottom);
                    canvas.text(head, pos, lf, anchor, style::TEXT)?;
                }
                _ => {}
            }
            match self.row_labels.get(*r) {
                Some(label) if placed.iter().find(|p| p.0 == *r).is_some_and(|p| p.1 == *c) => {
                    let pos = (x0, py + l.img_y + spec.pic.h as f64 / 2.0);
                    let anchor = (HAlign::Right, VAlign::Middle);
                    canvas.text(label, pos, lf, anchor, style::TEXT)?;
                }
                _ => {}
            }
        }
        if let (Some(b), true) = (&bar, img_bottom > img_top) {
            b.draw(
                &mut canvas,
                x0 + grid_w - style::PAD + 4.0,
                img_top,
                img_bottom - img_top,
            )?;
        }
        canvas.into_png()
    }
}

/// Whether a heatmap is a grayscale input image (as made by [`image()`](super::heatmap::image)).
pub(super) fn is_input_image(h: &Heatmap) -> bool {
    h.input
}
