//! The house look: font sizes, spacing and colours shared by every figure.
//!
//! Font sizes are plotters' pixel sizes (ascent + descent, `1.164 em` for DejaVu Sans), chosen
//! to match matplotlib's defaults at 100 dpi: titles about 16 px to the em, tick labels about
//! 13 px.

use super::colormap::Rgb;
use super::font::Font;
use crate::{bail, Result};

/// Panel and plot titles.
pub(crate) const TITLE_FONT: Font = Font(19.0);
/// A grid's overall title.
pub(crate) const SUPTITLE_FONT: Font = Font(23.0);
/// Axis labels, row labels and column headers.
pub(crate) const LABEL_FONT: Font = Font(17.0);
/// Tick labels and legend entries.
pub(crate) const TICK_FONT: Font = Font(15.0);

/// Blank space around a panel.
pub(crate) const PAD: f64 = 8.0;
/// Space between a title and what it names.
pub(crate) const TITLE_GAP: f64 = 6.0;
/// The panel side, in pixels, that the default scale aims for.
pub(crate) const TARGET_SIDE: f64 = 128.0;

/// Text colour.
pub(crate) const TEXT: Rgb = [20, 20, 20];
/// Frames, spines and tick marks.
pub(crate) const FRAME: Rgb = [40, 40, 40];
/// Light grid lines in plots.
pub(crate) const GRID: Rgb = [228, 228, 228];

/// Pixels per map cell so that a `h × w` map is about [`TARGET_SIDE`] pixels on its long side
/// (28×28 → 5, 40×40 → 3, 8×8 → 16).
pub(crate) fn default_scale(h: usize, w: usize) -> u32 {
    let side = h.max(w).max(1) as f64;
    (TARGET_SIDE / side).round().max(1.0) as u32
}

/// The largest figure side in pixels, to turn absurd sizes into errors rather than
/// allocations.
pub(crate) const MAX_SIDE: u32 = 16_384;

/// The pixel size `(width, height)` of an `h × w` map drawn at `s` pixels per cell, checked
/// against [`MAX_SIDE`]; `op` names the caller in errors.
pub(crate) fn picture_size(op: &str, h: usize, w: usize, s: usize) -> Result<(usize, usize)> {
    let (pw, ph) = (w.saturating_mul(s), h.saturating_mul(s));
    if pw > MAX_SIDE as usize || ph > MAX_SIDE as usize {
        bail!("{op}: a {h}x{w} map at {s} px per cell is {ph}x{pw} px, over {MAX_SIDE} px a side");
    }
    Ok((pw, ph))
}
