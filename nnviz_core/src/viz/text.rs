//! Text on a [`Canvas`]: horizontal with anchors, or rotated for y-axis labels.
//!
//! Glyphs are rasterised by plotters' `ab_glyph` backend with the vendored DejaVu Sans (see
//! [`super::font`]) but positioned here: plotters puts a glyph's baseline at `y + size / 2`,
//! so the anchors are computed from DejaVu Sans' metrics instead of plotters' layout box.

use super::canvas::Canvas;
use super::colormap::Rgb;
use super::font::{desc, Font};
use crate::{Error, Result};

/// Horizontal text anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HAlign {
    Left,
    Center,
    Right,
}

/// Vertical text anchor: the cap top, the middle of the capitals, or the descender bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VAlign {
    Top,
    Middle,
    Bottom,
}

impl Canvas {
    /// Draws `text` anchored at `(x, y)`; returns its width.
    pub fn text(
        &mut self,
        text: &str,
        (x, y): (f64, f64),
        font: Font,
        (h, v): (HAlign, VAlign),
        c: Rgb,
    ) -> Result<f64> {
        let w = font.width(text)?;
        let left = match h {
            HAlign::Left => x,
            HAlign::Center => x - w / 2.0,
            HAlign::Right => x - w,
        };
        let base = match v {
            VAlign::Top => y + font.cap(),
            VAlign::Middle => y + font.cap() / 2.0,
            VAlign::Bottom => y - font.descent(),
        };
        // plotters puts the baseline at pos.y + size / 2.
        let (x0, y0) = (left.round() as i64, (base - font.0 / 2.0).round() as i64);
        self.raster(text, font, move |gx, dx, dy| (x0 + gx + dx, y0 + dy), c)?;
        Ok(w)
    }

    /// Draws `text` rotated 90° counter-clockwise (reading bottom to top), centred on
    /// `(x, y)`, with the tops of the letters towards smaller x.
    pub fn vtext(&mut self, text: &str, (x, y): (f64, f64), font: Font, c: Rgb) -> Result<()> {
        let w = font.width(text)?;
        // In glyph space the baseline is at size / 2; the cap-centre line at size/2 - cap/2.
        let gx0 = -w / 2.0;
        let gy_mid = font.0 / 2.0 - font.cap() / 2.0;
        // glyph (gx, gy) -> canvas (x + (gy - gy_mid), y - (gx + gx0))
        let (ox, oy) = ((x - gy_mid).round() as i64, (y - gx0).round() as i64);
        self.raster(text, font, move |gx, dx, dy| (ox + dy, oy - gx - dx), c)
    }

    /// Rasterises `text` glyph by glyph; `place(glyph_x, dx, dy)` maps a glyph pixel (its
    /// offset along the line plus plotters' pixel coordinates) to the canvas.
    fn raster(
        &mut self,
        text: &str,
        font: Font,
        place: impl Fn(i64, i64, i64) -> (i64, i64),
        c: Rgb,
    ) -> Result<()> {
        let fd = desc(font.0)?;
        let mut buf = [0u8; 4];
        for (ch, gx) in font.glyphs(text)? {
            let s: &str = ch.encode_utf8(&mut buf);
            fd.draw(s, (0, 0), |dx, dy, a| {
                let (px, py) = place(gx as i64, dx as i64, dy as i64);
                self.blend(px, py, c, a);
                Ok::<(), std::convert::Infallible>(())
            })
            .map_err(|e| Error::invalid(format!("drawing text {text:?}: {e}")))?
            .unwrap_or_else(|e| match e {});
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
