//! The vendored DejaVu Sans: registration with plotters, metrics and glyph placement.
//!
//! plotters' `ab_glyph` backend rasterises glyphs well but places each one at the pen position
//! without its left side bearing (so "Training" reads "Train ing"). Text is therefore drawn
//! glyph by glyph: the pen advances by plotters' own (kerned) layout widths, and each glyph is
//! shifted by its left side bearing, read here from the font's `cmap` and `hmtx` tables.

use std::sync::OnceLock;

use plotters::style::{FontDesc, FontFamily, FontStyle};

use crate::{Error, Result};

pub(crate) static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// DejaVu Sans cap height (`0.729 em`) as a fraction of plotters' font size, which is
/// ascent + descent (`1.164 em`).
const CAP: f64 = 0.729 / 1.164;
/// Descender depth as a fraction of the font size.
const DESC: f64 = 0.236 / 1.164;
/// Widths are measured at this size, so their rounding to whole pixels is negligible.
const MEASURE: f64 = 1000.0;

/// Registers the vendored font with plotters as `"sans-serif"` (once per process).
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font("sans-serif", FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "registering the vendored DejaVuSans.ttf failed".to_string())
        })
        .clone()
        .map_err(Error::invalid)
}

pub(crate) fn desc(size: f64) -> Result<FontDesc<'static>> {
    ensure_font()?;
    Ok(FontDesc::new(
        FontFamily::SansSerif,
        size,
        FontStyle::Normal,
    ))
}

/// A font size (plotters' pixel size) with the metrics layouts need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Font(pub f64);

impl Font {
    /// Height of capital letters and digits.
    pub fn cap(self) -> f64 {
        self.0 * CAP
    }

    /// Depth of descenders below the baseline.
    pub fn descent(self) -> f64 {
        self.0 * DESC
    }

    /// Cap height plus descenders: the vertical room one line of text needs.
    pub fn line(self) -> f64 {
        self.cap() + self.descent()
    }

    /// The advance width of `text` in pixels.
    pub fn width(self, text: &str) -> Result<f64> {
        let (w, _) = desc(MEASURE)?
            .box_size(text)
            .map_err(|e| Error::invalid(format!("measuring text {text:?}: {e}")))?;
        Ok(w as f64 * self.0 / MEASURE)
    }

    /// The widest of `texts` (0 for none).
    pub fn max_width<S: AsRef<str>>(self, texts: &[S]) -> Result<f64> {
        texts
            .iter()
            .try_fold(0.0f64, |m, t| Ok(m.max(self.width(t.as_ref())?)))
    }

    /// Each visible character of `text` with the x offset (from the text's start) at which
    /// plotters must draw it alone: pen position plus left side bearing.
    pub fn glyphs(self, text: &str) -> Result<Vec<(char, f64)>> {
        let m = metrics();
        let mut out = Vec::new();
        for (i, ch) in text.char_indices() {
            if ch.is_whitespace() {
                continue;
            }
            // plotters adds the kerning with a pair's second glyph, so the pen position of
            // `ch` is the width up to and including it, minus its own advance.
            let pen = self.width(&text[..i + ch.len_utf8()])?
                - self.width(ch.encode_utf8(&mut [0; 4]))?;
            let lsb = m.map_or(0.0, |m| m.lsb(ch) * self.0);
            out.push((ch, pen + lsb.floor()));
        }
        Ok(out)
    }
}

/// Left side bearings from the font tables, in units of plotters' font size.
struct Metrics {
    cmap4: usize,
    hmtx: usize,
    n_hmetrics: usize,
    /// Font units per plotters size unit (ascent - descent).
    height: f64,
}

fn metrics() -> Option<&'static Metrics> {
    static M: OnceLock<Option<Metrics>> = OnceLock::new();
    M.get_or_init(|| Metrics::parse(FONT_BYTES)).as_ref()
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(((u16_at(b, at)? as u32) << 16) | u16_at(b, at + 2)? as u32)
}

impl Metrics {
    fn parse(b: &[u8]) -> Option<Metrics> {
        let table = |tag: &[u8; 4]| {
            let n = u16_at(b, 4)? as usize;
            (0..n)
                .map(|i| 12 + 16 * i)
                .find(|&r| b.get(r..r + 4) == Some(&tag[..]))
                .and_then(|r| u32_at(b, r + 8).map(|o| o as usize))
        };
        let (hhea, hmtx, cmap) = (table(b"hhea")?, table(b"hmtx")?, table(b"cmap")?);
        let asc = u16_at(b, hhea + 4)? as i16 as f64;
        let desc = u16_at(b, hhea + 6)? as i16 as f64;
        let n_hmetrics = u16_at(b, hhea + 34)? as usize;
        // A Unicode BMP subtable in format 4: (3, 1) or (0, *).
        let cmap4 = (0..u16_at(b, cmap + 2)? as usize).find_map(|i| {
            let r = cmap + 4 + 8 * i;
            let (platform, encoding) = (u16_at(b, r)?, u16_at(b, r + 2)?);
            let st = cmap + u32_at(b, r + 4)? as usize;
            ((platform == 3 && encoding == 1 || platform == 0) && u16_at(b, st)? == 4).then_some(st)
        })?;
        (asc - desc > 0.0).then_some(Metrics {
            cmap4,
            hmtx,
            n_hmetrics,
            height: asc - desc,
        })
    }

    fn glyph(&self, ch: char) -> Option<usize> {
        let b = FONT_BYTES;
        let c = u16::try_from(ch as u32).ok()? as usize;
        let st = self.cmap4;
        let seg_x2 = u16_at(b, st + 6)? as usize;
        let ends = st + 14;
        let (starts, deltas) = (ends + seg_x2 + 2, ends + 2 * seg_x2 + 2);
        let ranges = deltas + seg_x2;
        let i =
            (0..seg_x2 / 2).find(|&i| u16_at(b, ends + 2 * i).is_some_and(|e| c <= e as usize))?;
        let start = u16_at(b, starts + 2 * i)? as usize;
        if c < start {
            return None;
        }
        let delta = u16_at(b, deltas + 2 * i)? as usize;
        let ro = u16_at(b, ranges + 2 * i)? as usize;
        let g = match ro {
            0 => c,
            _ => match u16_at(b, ranges + 2 * i + ro + 2 * (c - start))? as usize {
                0 => return Some(0),
                g => g,
            },
        };
        Some((g + delta) & 0xFFFF)
    }

    /// The left side bearing of `ch` as a fraction of plotters' font size.
    fn lsb(&self, ch: char) -> f64 {
        let Some(g) = self.glyph(ch) else { return 0.0 };
        let at = match g < self.n_hmetrics {
            true => self.hmtx + 4 * g + 2,
            false => self.hmtx + 4 * self.n_hmetrics + 2 * (g - self.n_hmetrics),
        };
        u16_at(FONT_BYTES, at).map_or(0.0, |v| v as i16 as f64 / self.height)
    }
}

#[cfg(test)]
mod tests;
