//! Cartesian axes for line plots: margins that fit the tick labels, axis labels and title,
//! nicely rounded ticks, light grid lines, a frame with outward ticks.

use super::canvas::{Canvas, Clip};
use super::style;
use super::text::{HAlign, VAlign};
use super::ticks::{nice_ticks, tick_labels};
use crate::{bail, Result};

/// Tick mark length.
const TICK: f64 = 5.0;
/// Gap between tick marks and their labels.
const GAP: f64 = 4.0;

/// The texts around the axes (empty strings are left out).
pub(crate) struct Labels<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
}

/// Laid-out axes: the plot rectangle, the data ranges and the ticks.
pub(crate) struct Axes {
    pub plot: Clip,
    xr: (f64, f64),
    yr: (f64, f64),
    xt: Vec<f64>,
    xl: Vec<String>,
    yt: Vec<f64>,
    yl: Vec<String>,
}

impl Axes {
    /// Lays out axes for data ranges `xr`, `yr` in a figure of `size` pixels.
    pub fn layout(size: (u32, u32), xr: (f64, f64), yr: (f64, f64), l: &Labels) -> Result<Axes> {
        let (w, h) = (size.0 as f64, size.1 as f64);
        let (tf, lf, kf) = (style::TITLE_FONT, style::LABEL_FONT, style::TICK_FONT);
        let top = match l.title.is_empty() {
            true => style::PAD + kf.cap(),
            false => style::PAD + tf.line() + style::TITLE_GAP + 4.0,
        };
        let xlab_h = if l.x.is_empty() { 0.0 } else { lf.line() + 6.0 };
        let bottom = TICK + GAP + kf.line() + xlab_h + style::PAD;
        let plot_h = h - top - bottom;
        let yt = nice_ticks(yr.0, yr.1, ((plot_h / 45.0) as usize).clamp(3, 9));
        let yl = tick_labels(&yt);
        let ylab_w = if l.y.is_empty() { 0.0 } else { lf.line() + 8.0 };
        let left = (style::PAD + ylab_w + kf.max_width(&yl)? + GAP + TICK).ceil();
        let mut right = style::PAD * 2.0;
        let room = w - left - right;
        let mut xt = nice_ticks(xr.0, xr.1, ((room / 80.0) as usize).clamp(3, 10));
        let mut xl = tick_labels(&xt);
        // Fewer x ticks while their labels would crowd each other.
        for n in (2..xt.len()).rev() {
            if kf.max_width(&xl)? * 1.6 * xt.len() as f64 <= room {
                break;
            }
            xt = nice_ticks(xr.0, xr.1, n);
            xl = tick_labels(&xt);
        }
        if let Some(last) = xl.last() {
            right = right.max(kf.width(last)? / 2.0 + 4.0);
        }
        let plot_w = (w - left - right).floor();
        if plot_w < 20.0 || plot_h < 20.0 {
            bail!(
                "line plot: {}x{} px leaves no room for the axes",
                size.0,
                size.1
            );
        }
        let (top, plot_h) = (top.ceil(), plot_h.floor());
        let plot = Clip {
            x0: left,
            y0: top,
            x1: left + plot_w,
            y1: top + plot_h,
        };
        Ok(Axes {
            plot,
            xr,
            yr,
            xt,
            xl,
            yt,
            yl,
        })
    }

    /// The pixel column of data value `x`.
    pub fn px(&self, x: f64) -> f64 {
        let p = &self.plot;
        p.x0 + (x - self.xr.0) / (self.xr.1 - self.xr.0) * (p.x1 - p.x0)
    }

    /// The pixel row of data value `y`.
    pub fn py(&self, y: f64) -> f64 {
        let p = &self.plot;
        p.y1 - (y - self.yr.0) / (self.yr.1 - self.yr.0) * (p.y1 - p.y0)
    }

    /// Light grid lines at the ticks (drawn before the data).
    pub fn draw_grid(&self, c: &mut Canvas) {
        let p = &self.plot;
        let (w, h) = ((p.x1 - p.x0) as i64, (p.y1 - p.y0) as i64);
        for &v in &self.yt {
            c.fill(p.x0 as i64, self.py(v).round() as i64, w, 1, style::GRID);
        }
        for &v in &self.xt {
            c.fill(self.px(v).round() as i64, p.y0 as i64, 1, h, style::GRID);
        }
    }

    /// Frame, ticks, tick labels, axis labels and title (drawn after the data).
    pub fn draw(&self, c: &mut Canvas, l: &Labels) -> Result<()> {
        let p = &self.plot;
        let (tf, lf, kf) = (style::TITLE_FONT, style::LABEL_FONT, style::TICK_FONT);
        let (w, h) = ((p.x1 - p.x0) as i64, (p.y1 - p.y0) as i64);
        c.frame(p.x0 as i64, p.y0 as i64, w, h, style::FRAME);
        let t = TICK as i64;
        for (v, label) in self.yt.iter().zip(&self.yl) {
            let y = self.py(*v).round();
            c.fill(p.x0 as i64 - 1 - t, y as i64, t, 1, style::FRAME);
            let pos = (p.x0 - TICK - GAP, y + 0.5);
            c.text(label, pos, kf, (HAlign::Right, VAlign::Middle), style::TEXT)?;
        }
        for (v, label) in self.xt.iter().zip(&self.xl) {
            let x = self.px(*v).round();
            c.fill(x as i64, p.y1 as i64 + 1, 1, t, style::FRAME);
            let pos = (x + 0.5, p.y1 + TICK + GAP);
            c.text(label, pos, kf, (HAlign::Center, VAlign::Top), style::TEXT)?;
        }
        let mid_x = (p.x0 + p.x1) / 2.0;
        if !l.x.is_empty() {
            let pos = (mid_x, c.height() as f64 - style::PAD);
            c.text(l.x, pos, lf, (HAlign::Center, VAlign::Bottom), style::TEXT)?;
        }
        if !l.y.is_empty() {
            let pos = (style::PAD + lf.line() / 2.0, (p.y0 + p.y1) / 2.0);
            c.vtext(l.y, pos, lf, style::TEXT)?;
        }
        if !l.title.is_empty() {
            let pos = (mid_x, style::PAD);
            c.text(l.title, pos, tf, (HAlign::Center, VAlign::Top), style::TEXT)?;
        }
        Ok(())
    }
}
