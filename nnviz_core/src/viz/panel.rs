//! One panel: an optional title centred over a pixel picture, with an optional colorbar
//! beside it. Heatmaps and overlays become panels; grids lay panels out.

use super::canvas::Canvas;
use super::colorbar::Colorbar;
use super::png::Png;
use super::style;
use super::text::{HAlign, VAlign};
use crate::Result;

/// An RGB8 picture, `w × h` pixels, row-major.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Picture {
    pub w: u32,
    pub h: u32,
    pub rgb: Vec<u8>,
}

/// Everything needed to draw a panel.
#[derive(Debug, Clone)]
pub(crate) struct PanelSpec {
    pub title: Option<String>,
    pub pic: Picture,
    pub colorbar: Option<Colorbar>,
}

/// Where a panel's parts go, relative to its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PanelLayout {
    pub w: f64,
    pub h: f64,
    pub img_x: f64,
    pub img_y: f64,
}

impl PanelSpec {
    pub fn layout(&self) -> Result<PanelLayout> {
        let (iw, ih) = (self.pic.w as f64, self.pic.h as f64);
        let font = style::TITLE_FONT;
        let (tw, th) = match &self.title {
            Some(t) => (font.width(t)?, font.line() + style::TITLE_GAP),
            None => (0.0, 0.0),
        };
        let cb = match &self.colorbar {
            Some(cb) => cb.width(ih)?,
            None => 0.0,
        };
        // The title is centred over the image and may stick out on both sides.
        let over = (tw / 2.0 - iw / 2.0).max(0.0);
        let img_x = (style::PAD + over).ceil();
        let img_y = (style::PAD + th).ceil();
        Ok(PanelLayout {
            w: (img_x + iw + cb.max(over) + style::PAD).ceil(),
            h: (img_y + ih + style::PAD).ceil(),
            img_x,
            img_y,
        })
    }

    /// Draws the panel with its top-left corner at `(x, y)`.
    pub fn draw(&self, c: &mut Canvas, x: f64, y: f64, l: &PanelLayout) -> Result<()> {
        let (ix, iy) = (x + l.img_x, y + l.img_y);
        let (iw, ih) = (self.pic.w as f64, self.pic.h as f64);
        if let Some(t) = &self.title {
            let anchor = (HAlign::Center, VAlign::Bottom);
            let pos = (ix + iw / 2.0, iy - style::TITLE_GAP);
            c.text(t, pos, style::TITLE_FONT, anchor, style::TEXT)?;
        }
        c.blit(ix as i64, iy as i64, self.pic.w, self.pic.h, &self.pic.rgb);
        c.frame(ix as i64, iy as i64, iw as i64, ih as i64, style::FRAME);
        if let Some(cb) = &self.colorbar {
            cb.draw(c, ix + iw, iy, ih)?;
        }
        Ok(())
    }

    /// The panel alone as a PNG; `what` names the figure in errors.
    pub fn render(&self, what: &str) -> Result<Png> {
        let l = self.layout()?;
        let mut c = Canvas::new(what, l.w as u32, l.h as u32)?;
        self.draw(&mut c, 0.0, 0.0, &l)?;
        c.into_png()
    }
}
