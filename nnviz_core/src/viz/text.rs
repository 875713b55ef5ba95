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
mod tests {
    use super::*;

    /// Bounding box of non-white pixels.
    fn ink(c: &Canvas) -> Option<(u32, u32, u32, u32)> {
        let mut b: Option<(u32, u32, u32, u32)> = None;
        for y in 0..c.height() {
            for x in 0..c.width() {
                if c.pixel(x, y)[0] < 128 {
                    let (x0, y0, x1, y1) = b.unwrap_or((x, y, x, y));
                    b = Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y)));
                }
            }
        }
        b
    }

    #[test]
    fn text_anchors_follow_the_font_metrics() {
        let font = Font(40.0);
        let mut c = Canvas::new("t", 200, 100).unwrap();
        c.text(
            "HIH",
            (100.0, 50.0),
            font,
            (HAlign::Center, VAlign::Middle),
            [0; 3],
        )
        .unwrap();
        let (x0, y0, x1, y1) = ink(&c).unwrap();
        let (cx, cy) = ((x0 + x1) as f64 / 2.0, (y0 + y1) as f64 / 2.0);
        assert!((cx - 100.0).abs() <= 2.0, "centre x {cx}");
        assert!((cy - 50.0).abs() <= 1.5, "centre y {cy}");
        assert!(
            ((y1 - y0 + 1) as f64 - font.cap()).abs() <= 2.0,
            "cap height {y0}..{y1}"
        );

        let mut c = Canvas::new("t", 200, 100).unwrap();
        c.text("H", (10.0, 0.0), font, (HAlign::Left, VAlign::Top), [0; 3])
            .unwrap();
        let (x0, y0, _, _) = ink(&c).unwrap();
        assert!(
            y0 <= 1 && (10..=15).contains(&x0),
            "top-left ink at {x0},{y0}"
        );
    }

    #[test]
    fn vertical_text_is_centred() {
        let mut c = Canvas::new("t", 100, 200).unwrap();
        c.vtext("HHH", (50.0, 100.0), Font(30.0), [0; 3]).unwrap();
        let (x0, y0, x1, y1) = ink(&c).unwrap();
        assert!(y1 - y0 > x1 - x0, "runs vertically");
        assert!((((x0 + x1) as f64) / 2.0 - 50.0).abs() <= 1.5);
        assert!((((y0 + y1) as f64) / 2.0 - 100.0).abs() <= 3.0);
    }
}
