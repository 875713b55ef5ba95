//! An RGB8 pixel canvas: filled rectangles, pictures, anti-aliased lines and discs (text is
//! in [`super::text`]).

use super::colormap::Rgb;
use super::png::Png;
use crate::{bail, Result};

use super::style::MAX_SIDE;

/// Something with anti-aliased coverage, drawn by [`Canvas::shapes`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape {
    /// A segment from `a` to `b` with round caps, `width` pixels wide.
    Segment {
        a: (f64, f64),
        b: (f64, f64),
        width: f64,
    },
    /// A filled disc.
    Disc { c: (f64, f64), r: f64 },
}

/// A rectangle in pixels: `x0 <= x < x1`, `y0 <= y < y1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Clip {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

/// An RGB8 image being drawn.
pub(crate) struct Canvas {
    w: u32,
    h: u32,
    buf: Vec<u8>,
}

impl Canvas {
    /// A white canvas; `what` names the figure in errors.
    pub fn new(what: &str, w: u32, h: u32) -> Result<Canvas> {
        if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
            bail!("{what}: figure size {w}x{h} px is outside 1..={MAX_SIDE} px a side");
        }
        Ok(Canvas {
            w,
            h,
            buf: vec![255; w as usize * h as usize * 3],
        })
    }

    pub fn width(&self) -> u32 {
        self.w
    }

    pub fn height(&self) -> u32 {
        self.h
    }

    /// Blends `c` over the pixel at `(x, y)` with opacity `a` (ignored outside the canvas).
    pub fn blend(&mut self, x: i64, y: i64, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x >= self.w as i64 || y >= self.h as i64 || a.is_nan() || a <= 0.0 {
            return;
        }
        let i = (y as usize * self.w as usize + x as usize) * 3;
        let a = a.min(1.0);
        for (dst, &src) in self.buf[i..i + 3].iter_mut().zip(&c) {
            let old = *dst as f32;
            *dst = (old + (src as f32 - old) * a).round() as u8;
        }
    }

    /// Fills the rectangle at `(x, y)` of size `w × h` (clipped to the canvas).
    pub fn fill(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        let (x0, y0) = (x.max(0), y.max(0));
        let (x1, y1) = ((x + w).min(self.w as i64), (y + h).min(self.h as i64));
        for yy in y0..y1 {
            let row = yy as usize * self.w as usize;
            for xx in x0..x1 {
                let i = (row + xx as usize) * 3;
                self.buf[i..i + 3].copy_from_slice(&c);
            }
        }
    }

    /// A one-pixel outline just outside the rectangle at `(x, y)` of size `w × h`.
    pub fn frame(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        self.fill(x - 1, y - 1, w + 2, 1, c);
        self.fill(x - 1, y + h, w + 2, 1, c);
        self.fill(x - 1, y, 1, h, c);
        self.fill(x + w, y, 1, h, c);
    }

    /// Copies a `w × h` RGB8 image to `(x, y)`.
    pub fn blit(&mut self, x: i64, y: i64, w: u32, h: u32, rgb: &[u8]) {
        for yy in 0..h as i64 {
            for xx in 0..w as i64 {
                let i = (yy as usize * w as usize + xx as usize) * 3;
                if let Some(p) = rgb.get(i..i + 3) {
                    self.blend(x + xx, y + yy, [p[0], p[1], p[2]], 1.0);
                }
            }
        }
    }

    /// Draws `shapes` in colour `c` with anti-aliasing, inside `clip`. Overlapping shapes are
    /// merged (coverage is the maximum), so a polyline has no darker joints.
    pub fn shapes(&mut self, shapes: &[Shape], c: Rgb, clip: Clip) {
        let bounds = |s: &Shape| match *s {
            Shape::Segment { a, b, width } => {
                let r = width / 2.0 + 1.0;
                (
                    a.0.min(b.0) - r,
                    a.1.min(b.1) - r,
                    a.0.max(b.0) + r,
                    a.1.max(b.1) + r,
                )
            }
            Shape::Disc { c, r } => (c.0 - r - 1.0, c.1 - r - 1.0, c.0 + r + 1.0, c.1 + r + 1.0),
        };
        let cx0 = clip.x0.max(0.0).floor();
        let cy0 = clip.y0.max(0.0).floor();
        let cx1 = clip.x1.min(self.w as f64).ceil();
        let cy1 = clip.y1.min(self.h as f64).ceil();
        if !(cx1 > cx0 && cy1 > cy0) {
            return;
        }
        let (rw, rh) = ((cx1 - cx0) as usize, (cy1 - cy0) as usize);
        let mut cov = vec![0f32; rw * rh];
        for s in shapes {
            let (bx0, by0, bx1, by1) = bounds(s);
            if !(bx0.is_finite() && by0.is_finite() && bx1.is_finite() && by1.is_finite()) {
                continue;
            }
            let x0 = bx0.max(cx0).floor() as i64;
            let y0 = by0.max(cy0).floor() as i64;
            let x1 = bx1.min(cx1 - 1.0).ceil() as i64;
            let y1 = by1.min(cy1 - 1.0).ceil() as i64;
            for py in y0..=y1 {
                for px in x0..=x1 {
                    let p = (px as f64 + 0.5, py as f64 + 0.5);
                    let a = match *s {
                        Shape::Segment { a, b, width } => width / 2.0 + 0.5 - seg_dist(p, a, b),
                        Shape::Disc { c, r } => r + 0.5 - ((p.0 - c.0).hypot(p.1 - c.1)),
                    };
                    let (ix, iy) = (px - cx0 as i64, py - cy0 as i64);
                    if a > 0.0 && ix >= 0 && iy >= 0 && (ix as usize) < rw && (iy as usize) < rh {
                        let k = iy as usize * rw + ix as usize;
                        cov[k] = cov[k].max(a.min(1.0) as f32);
                    }
                }
            }
        }
        for (k, &a) in cov.iter().enumerate() {
            if a > 0.0 {
                let (x, y) = ((k % rw) as i64 + cx0 as i64, (k / rw) as i64 + cy0 as i64);
                self.blend(x, y, c, a);
            }
        }
    }

    /// Encodes the canvas as a PNG.
    pub fn into_png(self) -> Result<Png> {
        Png::from_rgb(self.w, self.h, &self.buf)
    }

    /// The colour of one pixel, for tests.
    #[cfg(test)]
    pub fn pixel(&self, x: u32, y: u32) -> Rgb {
        let i = (y as usize * self.w as usize + x as usize) * 3;
        [self.buf[i], self.buf[i + 1], self.buf[i + 2]]
    }
}

/// Distance from `p` to the segment `a`–`b`.
fn seg_dist(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.0 - a.0 - t * dx).hypot(p.1 - a.1 - t * dy)
}

#[cfg(test)]
mod tests;
