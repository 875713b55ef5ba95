//! Heatmaps of single maps: a tensor drawn cell by cell through a colormap, with a title and a
//! colorbar.
//!
//! ```no_run
//! # use nnviz_core::{candle::{Device, Tensor}, viz::{self, Colormap, Range}};
//! # fn main() -> nnviz_core::Result<()> {
//! let relevance = Tensor::randn(0f32, 1.0, (28, 28), &Device::Cpu)?;
//! viz::heatmap(&relevance)?.title("LRP").save("/tmp/lrp.png")?;
//! let sal = viz::Heatmap::new(&relevance.abs()?)?.cmap(Colormap::HotR).range(Range::Fixed(0.0, 3.0));
//! # Ok(()) }
//! ```
//!
//! Every map cell becomes an `s × s` block of pixels (nearest neighbour, so 28×28 digits stay
//! crisp); by default `s` makes the map about 128 pixels on its long side.

use candle_core::Tensor;

use super::colorbar::Colorbar;
use super::colormap::Colormap;
use super::map::{Channels, Map};
use super::norm::{Norm, Range, Stats};
use super::panel::{PanelSpec, Picture};
use super::png::{figure_output, Png};
use super::style;
use crate::Result;

/// A heatmap of one map. Build it with [`Heatmap::new`], [`heatmap`] or [`image()`], adjust it
/// with the builder methods, then [`render`](Heatmap::render), [`save`](Heatmap::save) or end
/// a notebook cell with it.
#[derive(Debug, Clone)]
pub struct Heatmap {
    pub(crate) map: Map,
    pub(crate) title: Option<String>,
    pub(crate) cmap: Colormap,
    pub(crate) range: Range,
    pub(crate) colorbar: bool,
    pub(crate) scale: Option<u32>,
    /// Made by [`image()`]: grids keep it grayscale when they recolour heatmaps.
    pub(crate) input: bool,
}

/// A heatmap of `t` with the defaults of [`Heatmap::new`] (`seismic`, symmetric range,
/// colorbar).
pub fn heatmap(t: &Tensor) -> Result<Heatmap> {
    Heatmap::new(t)
}

/// A grayscale picture of an input image `t` (e.g. an MNIST digit): `gray` colormap, no
/// colorbar, range `[0, 1]` when all values lie in it and `min..max` otherwise. Channels of a
/// `[C, H, W]` image are averaged.
pub fn image(t: &Tensor) -> Result<Heatmap> {
    let map = Map::from_tensor("image", t, Channels::Mean)?;
    let range = image_range(&map);
    let hm = Heatmap::from_map(map).cmap(Colormap::Gray).range(range);
    Ok(Heatmap {
        input: true,
        ..hm.colorbar(false)
    })
}

/// `[0, 1]` if the finite values of an image lie in it, `min..max` otherwise.
pub(crate) fn image_range(map: &Map) -> Range {
    let s = Stats::of(&map.data);
    if !s.any || (s.min >= -1e-6 && s.max <= 1.0 + 1e-6) {
        Range::Fixed(0.0, 1.0)
    } else {
        Range::MinMax
    }
}

impl Heatmap {
    /// A heatmap of `t`: `[H, W]`, `[C, H, W]` or `[1, C, H, W]` on any device (channels are
    /// summed). Defaults: [`Colormap::Seismic`], [`Range::Auto`] (symmetric around zero for
    /// diverging maps), a colorbar, no title, automatic scale.
    pub fn new(t: &Tensor) -> Result<Heatmap> {
        Ok(Heatmap::from_map(Map::from_tensor(
            "heatmap",
            t,
            Channels::Sum,
        )?))
    }

    pub(crate) fn from_map(map: Map) -> Heatmap {
        Heatmap {
            map,
            title: None,
            cmap: Colormap::Seismic,
            range: Range::Auto,
            colorbar: true,
            scale: None,
            input: false,
        }
    }

    /// Sets the title drawn above the map.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the colormap.
    pub fn cmap(mut self, cmap: Colormap) -> Self {
        self.cmap = cmap;
        self
    }

    /// Sets the value range mapped onto the colormap.
    pub fn range(mut self, range: Range) -> Self {
        self.range = range;
        self
    }

    /// Shows or hides the colorbar.
    pub fn colorbar(mut self, on: bool) -> Self {
        self.colorbar = on;
        self
    }

    /// Sets the pixels per map cell (`0` restores the automatic choice).
    pub fn scale(mut self, px_per_cell: u32) -> Self {
        self.scale = (px_per_cell > 0).then_some(px_per_cell);
        self
    }

    /// The map's `(height, width)` in cells.
    pub fn shape(&self) -> (usize, usize) {
        (self.map.h, self.map.w)
    }

    /// The map's values, row-major (channels already summed or averaged).
    pub fn values(&self) -> &[f32] {
        &self.map.data
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats::of(&self.map.data)
    }

    pub(crate) fn norm(&self) -> Result<Norm> {
        Norm::resolve("heatmap", self.range, self.cmap, self.stats())
    }

    /// The panel to draw; `scale` overrides the heatmap's own when the heatmap has none.
    pub(crate) fn spec(&self, scale: Option<u32>) -> Result<PanelSpec> {
        let norm = self.norm()?;
        let (h, w) = (self.map.h, self.map.w);
        let s = self
            .scale
            .or(scale)
            .unwrap_or_else(|| style::default_scale(h, w)) as usize;
        let (pw, ph) = style::picture_size("heatmap", h, w, s)?;
        let mut rgb = vec![0u8; pw * ph * 3];
        for (y, row) in rgb.chunks_exact_mut(pw * 3).enumerate() {
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                px.copy_from_slice(&self.cmap.rgb(norm.t(self.map.at(y / s, x / s))));
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

    /// Renders the heatmap to a PNG.
    pub fn render(&self) -> Result<Png> {
        self.spec(None)?.render("heatmap")
    }
}

figure_output!(Heatmap, "heatmap");

#[cfg(test)]
mod tests;
