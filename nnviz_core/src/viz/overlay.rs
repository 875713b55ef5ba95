//! Heatmaps blended over the input image (CAM / Grad-CAM style).
//!
//! The image is drawn in grayscale (range `[0, 1]` if its values lie in it, `min..max`
//! otherwise; channels averaged), then the colormapped heatmap is blended on top with opacity
//! `alpha`. With [`Overlay::fade`] the opacity is further scaled by the normalised magnitude of
//! the map (`|v| / m` for diverging maps, the position in `lo..hi` for sequential ones), so low
//! relevance leaves the digit visible. A map of another size than the image (e.g. a 10×10 CAM
//! on a 40×40 image) is stretched over it with nearest-neighbour sampling.

use candle_core::Tensor;

use super::colorbar::Colorbar;
use super::colormap::{Colormap, NAN_COLOR};
use super::heatmap::image_range;
use super::map::{Channels, Map};
use super::norm::{Norm, Range, Stats};
use super::panel::{PanelSpec, Picture};
use super::png::{figure_output, Png};
use super::style;
use crate::Result;

/// A heatmap blended over an image. Build with [`Overlay::new`], adjust, then render, save or
/// end a notebook cell with it.
#[derive(Debug, Clone)]
pub struct Overlay {
    pub(crate) image: Map,
    pub(crate) map: Map,
    pub(crate) alpha: f32,
    pub(crate) fade: bool,
    pub(crate) cmap: Colormap,
    pub(crate) range: Range,
    pub(crate) title: Option<String>,
    pub(crate) colorbar: bool,
    pub(crate) scale: Option<u32>,
}

impl Overlay {
    /// `map` over `image`; both `[H, W]`, `[C, H, W]` or `[1, C, H, W]` on any device.
    /// Defaults: alpha 0.5, no fading, [`Colormap::Seismic`], [`Range::Auto`], a colorbar.
    pub fn new(image: &Tensor, map: &Tensor) -> Result<Overlay> {
        Ok(Overlay {
            image: Map::from_tensor("overlay image", image, Channels::Mean)?,
            map: Map::from_tensor("overlay map", map, Channels::Sum)?,
            alpha: 0.5,
            fade: false,
            cmap: Colormap::Seismic,
            range: Range::Auto,
            title: None,
            colorbar: true,
            scale: None,
        })
    }

    /// Sets the heatmap's opacity, clamped to `[0, 1]` (NaN counts as 0.5).
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = if alpha.is_nan() {
            0.5
        } else {
            alpha.clamp(0.0, 1.0)
        };
        self
    }

    /// Scales the opacity by the normalised map magnitude, so low values stay transparent.
    pub fn fade(mut self, on: bool) -> Self {
        self.fade = on;
        self
    }

    /// Sets the heatmap's colormap.
    pub fn cmap(mut self, cmap: Colormap) -> Self {
        self.cmap = cmap;
        self
    }

    /// Sets the heatmap's value range.
    pub fn range(mut self, range: Range) -> Self {
        self.range = range;
        self
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Shows or hides the colorbar.
    pub fn colorbar(mut self, on: bool) -> Self {
        self.colorbar = on;
        self
    }

    /// Sets the pixels per image cell (`0` restores the automatic choice).
    pub fn scale(mut self, px_per_cell: u32) -> Self {
        self.scale = (px_per_cell > 0).then_some(px_per_cell);
        self
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats::of(&self.map.data)
    }

    pub(crate) fn spec(&self, scale: Option<u32>) -> Result<PanelSpec> {
        let norm = Norm::resolve("overlay", self.range, self.cmap, self.stats())?;
        let inorm = Norm::resolve(
            "overlay image",
            image_range(&self.image),
            Colormap::Gray,
            Stats::of(&self.image.data),
        )?;
        let (ih, iw) = (self.image.h, self.image.w);
        let s = self
            .scale
            .or(scale)
            .unwrap_or_else(|| style::default_scale(ih, iw)) as usize;
        let (pw, ph) = style::picture_size("overlay", ih, iw, s)?;
        let mut rgb = vec![0u8; pw * ph * 3];
        for (y, row) in rgb.chunks_exact_mut(pw * 3).enumerate() {
            let my = y * self.map.h / ph;
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                let g = self.image.at(y / s, x / s);
                let base = match g.is_nan() {
                    true => NAN_COLOR,
                    false => Colormap::Gray.rgb(inorm.t(g)),
                };
                let v = self.map.at(my, x * self.map.w / pw);
                let t = norm.t(v);
                let weight = match (self.fade, self.cmap.is_diverging()) {
                    (false, _) => 1.0,
                    (true, true) => (2.0 * t - 1.0).abs(),
                    (true, false) => t,
                };
                let a = if t.is_nan() { 0.0 } else { self.alpha * weight };
                let top = self.cmap.rgb(t);
                for k in 0..3 {
                    let (b, c) = (base[k] as f32, top[k] as f32);
                    px[k] = (b + (c - b) * a).round() as u8;
                }
            }
        }
        Ok(PanelSpec {
            title: self.title.clone(),
            pic: Picture {
                w: pw as u32,
                h: ph as u32,
                rgb,
            },
            colorbar: self.colorbar.then_some(Colorbar {
                cmap: self.cmap,
                norm,
            }),
        })
    }

    /// Renders the overlay to a PNG.
    pub fn render(&self) -> Result<Png> {
        self.spec(None)?.render("overlay")
    }
}

figure_output!(Overlay, "overlay");

#[cfg(test)]
mod tests;
