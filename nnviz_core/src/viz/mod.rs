//! Figures for notebooks: heatmaps, overlays, grids of panels and line plots, rendered to PNG
//! and shown inline in evcxr.
//!
//! Every figure is built tensor-first with builder methods and has `render() -> Result<Png>`,
//! `save(path)` (atomic) and `evcxr_display()`, so ending a notebook cell with a figure shows
//! it. Tensors may live on any device and have any float dtype; they are copied to the CPU as
//! `f32`. A map is `[H, W]`, `[C, H, W]` or `[1, C, H, W]`: channels are **summed** for heatmaps
//! (relevance adds up) and **averaged** for images.
//!
//! ```no_run
//! use nnviz_core::candle::{Device, Tensor};
//! use nnviz_core::viz::{self, Colormap, Grid, Overlay, Range};
//! # fn main() -> nnviz_core::Result<()> {
//! let maps = Tensor::randn(0f32, 1.0, (10, 1, 28, 28), &Device::Cpu)?;
//! // The tutorial's 5×2 "Digit: c" figure, one colorbar per panel.
//! Grid::digits(&maps)?.cmap(Colormap::Seismic).save("/tmp/digits.png")?;
//! // One map, fixed range; an overlay on the input digit.
//! let (digit, map) = (maps.get(0)?.abs()?, maps.get(1)?);
//! viz::heatmap(&map)?.title("LRP").range(Range::Fixed(-1.0, 1.0)).save("/tmp/lrp.png")?;
//! Overlay::new(&digit, &map)?.alpha(0.6).fade(true).save("/tmp/overlay.png")?;
//! // Methods side by side: rows = samples, columns = methods.
//! Grid::compare_with_input(&maps, &[("Saliency", &maps), ("LRP", &maps)])?.save("/tmp/cmp.png")?;
//! # Ok(()) }
//! ```
//!
//! Diverging colormaps ([`Colormap::Seismic`], [`Colormap::Bwr`]) are normalised symmetrically
//! (`[-m, m]`, zero is white) by default, sequential ones to `min..max`; see [`Range`]. All-zero,
//! constant and NaN maps render (NaN cells in a neutral grey).
//!
//! Text uses the vendored DejaVu Sans through plotters' `ab_glyph` backend; no system fonts.

mod axes;
mod canvas;
mod colorbar;
mod colormap;
mod font;
mod grid;
mod grid_render;
mod heatmap;
mod legend;
mod map;
mod norm;
mod overlay;
mod panel;
mod plot;
pub(crate) mod png;
mod style;
mod text;
mod ticks;

#[cfg(test)]
#[path = "examples_test.rs"]
mod examples;

pub use colormap::{Colormap, Rgb, NAN_COLOR};
pub use grid::{Grid, Panel};
pub use heatmap::{heatmap, image, Heatmap};
pub use map::TensorBatch;
pub use norm::Range;
pub use overlay::Overlay;
pub use plot::LinePlot;
pub use png::{evcxr_content, Png};
pub use ticks::{format_value, nice_ticks, tick_labels};
