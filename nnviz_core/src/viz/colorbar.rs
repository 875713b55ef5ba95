//! The colorbar drawn beside a panel (or a whole grid): the colormap as a vertical gradient,
//! nicely rounded ticks on its right, compact labels.

use super::canvas::Canvas;
use super::colormap::Colormap;
use super::font::Font;
use super::norm::Norm;
use super::style;
use super::text::{HAlign, VAlign};
use super::ticks::{nice_ticks, tick_labels};
use crate::Result;

/// Gap between the image and the bar.
const GAP: f64 = 8.0;
/// Bar width.
const BAR: f64 = 12.0;
/// Tick mark length.
const TICK: f64 = 4.0;
/// Gap between tick mark and label.
const LABEL_GAP: f64 = 3.0;

/// A colorbar for `cmap` normalised by `norm`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Colorbar {
    pub cmap: Colormap,
    pub norm: Norm,
}

impl Colorbar {
    fn font() -> Font {
        style::TICK_FONT
    }

    /// Ticks and labels for a bar `height` pixels tall: as many as fit with a label's height
    /// of space between them (at most 7).
    fn ticks(&self, height: f64) -> (Vec<f64>, Vec<String>) {
        let max = ((height / (Self::font().cap() * 2.4)).floor() as usize).clamp(2, 7);
        let ticks = nice_ticks(self.norm.lo as f64, self.norm.hi as f64, max);
        let labels = tick_labels(&ticks);
        (ticks, labels)
    }

    /// Width from the image's right edge to the end of the widest label.
    pub fn width(&self, height: f64) -> Result<f64> {
        let (_, labels) = self.ticks(height);
        let lw = Self::font().max_width(&labels)?;
        Ok(GAP + BAR + TICK + LABEL_GAP + lw)
    }

    /// Draws the bar for an image whose right edge is at `x`, spanning `y .. y + height`.
    pub fn draw(&self, c: &mut Canvas, x: f64, y: f64, height: f64) -> Result<()> {
        let (bx, by) = ((x + GAP).round() as i64, y.round() as i64);
        let h = height.round().max(1.0) as i64;
        for i in 0..h {
            let t = 1.0 - (i as f32 + 0.5) / h as f32;
            c.fill(bx, by + i, BAR as i64, 1, self.cmap.rgb(t));
        }
        c.frame(bx, by, BAR as i64, h, style::FRAME);
        let (ticks, labels) = self.ticks(height);
        let tx = bx + BAR as i64 + 1;
        for (v, label) in ticks.iter().zip(&labels) {
            let frac = 1.0 - self.norm.t(*v as f32) as f64;
            let ty = (by as f64 + frac * (h - 1) as f64).round() as i64;
            c.fill(tx, ty, TICK as i64, 1, style::FRAME);
            let lx = tx as f64 + TICK + LABEL_GAP;
            c.text(
                label,
                (lx, ty as f64 + 0.5),
                Self::font(),
                (HAlign::Left, VAlign::Middle),
                style::TEXT,
            )?;
        }
        Ok(())
    }
}
