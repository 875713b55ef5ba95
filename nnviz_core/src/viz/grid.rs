//! Grids of panels: the tutorial's 5×2 "Digit: c" layout, strips, general `rows × cols`
//! grids and method comparisons (rows = samples, columns = methods).
//!
//! Panels fill the grid row by row. Each keeps its own normalisation and colorbar unless
//! [`Grid::shared`] asks for one common range and a single colorbar at the right.

use candle_core::Tensor;

use super::colormap::Colormap;
use super::grid_render::is_input_image;
use super::heatmap::{image, Heatmap};
use super::map::TensorBatch;
use super::norm::Range;
use super::overlay::Overlay;
use super::png::figure_output;
use crate::{bail, Result};

/// One cell of a [`Grid`].
#[derive(Debug, Clone)]
pub enum Panel {
    Heatmap(Heatmap),
    Overlay(Overlay),
    /// A blank cell.
    Empty,
}

impl From<Heatmap> for Panel {
    fn from(h: Heatmap) -> Panel {
        Panel::Heatmap(h)
    }
}

impl From<Overlay> for Panel {
    fn from(o: Overlay) -> Panel {
        Panel::Overlay(o)
    }
}

/// Panels in rows and columns, with optional overall title, column headers and row labels.
#[derive(Debug, Clone)]
pub struct Grid {
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) panels: Vec<Panel>,
    pub(super) title: Option<String>,
    pub(super) row_labels: Vec<String>,
    pub(super) col_labels: Vec<String>,
    pub(super) shared: bool,
    pub(super) scale: Option<u32>,
}

impl Grid {
    /// An empty `rows × cols` grid; add panels with [`panel`](Grid::panel).
    pub fn new(rows: usize, cols: usize) -> Grid {
        Grid {
            rows,
            cols,
            panels: Vec::new(),
            title: None,
            row_labels: Vec::new(),
            col_labels: Vec::new(),
            shared: false,
            scale: None,
        }
    }

    /// The tutorial's layout for ten per-digit maps (`[10, H, W]`, `[10, C, H, W]` or ten
    /// tensors): 5 rows × 2 columns, rows (0, 1), (2, 3), …, (8, 9), each panel titled
    /// "Digit: c" with its own colorbar, [`Colormap::Seismic`] (change with [`cmap`](Grid::cmap)).
    pub fn digits(maps: impl TensorBatch) -> Result<Grid> {
        let maps = maps.tensors()?;
        if maps.len() != 10 {
            bail!(
                "Grid::digits: expected 10 maps (one per digit), got {}",
                maps.len()
            );
        }
        let mut g = Grid::new(5, 2);
        for (c, t) in maps.iter().enumerate() {
            g = g.panel(Heatmap::new(t)?.title(format!("Digit: {c}")));
        }
        Ok(g)
    }

    /// Like [`digits`](Grid::digits), each map overlaid on its input digit (the original's
    /// figures: the gray digit, the heatmap on top with alpha 0.5, a colorbar).
    pub fn digit_overlays(images: impl TensorBatch, maps: impl TensorBatch) -> Result<Grid> {
        let (images, maps) = (images.tensors()?, maps.tensors()?);
        if images.len() != 10 || maps.len() != 10 {
            bail!(
                "Grid::digit_overlays: expected 10 images and 10 maps, got {} and {}",
                images.len(),
                maps.len()
            );
        }
        let mut g = Grid::new(5, 2);
        for (c, (im, map)) in images.iter().zip(&maps).enumerate() {
            g = g.panel(
                Overlay::new(im, map)?
                    .alpha(0.5)
                    .title(format!("Digit: {c}")),
            );
        }
        Ok(g)
    }

    /// Heatmaps of a batch laid out `rows × cols` (row by row), without titles.
    pub fn maps(rows: usize, cols: usize, maps: impl TensorBatch) -> Result<Grid> {
        let mut g = Grid::new(rows, cols);
        for t in maps.tensors()? {
            g = g.panel(Heatmap::new(&t)?);
        }
        Ok(g)
    }

    /// One row of panels.
    pub fn strip<P: Into<Panel>>(panels: impl IntoIterator<Item = P>) -> Grid {
        let panels: Vec<Panel> = panels.into_iter().map(Into::into).collect();
        let mut g = Grid::new(1, panels.len().max(1));
        g.panels = panels;
        g
    }

    /// A method comparison: one column per `(name, maps)` (each a batch of N maps), one row
    /// per sample; column headers are the method names. Panels have their own normalisation
    /// and no colorbars (turn them on with [`colorbars`](Grid::colorbars)).
    pub fn compare<S: AsRef<str>, B: TensorBatch>(methods: &[(S, B)]) -> Result<Grid> {
        Grid::comparison(None, methods)
    }

    /// Like [`compare`](Grid::compare) with a first column "Input" showing the input images.
    pub fn compare_with_input<S: AsRef<str>, B: TensorBatch>(
        inputs: impl TensorBatch,
        methods: &[(S, B)],
    ) -> Result<Grid> {
        Grid::comparison(Some(inputs.tensors()?), methods)
    }

    fn comparison<S: AsRef<str>, B: TensorBatch>(
        inputs: Option<Vec<Tensor>>,
        methods: &[(S, B)],
    ) -> Result<Grid> {
        let mut cols: Vec<(String, Vec<Panel>)> = Vec::new();
        if let Some(inputs) = inputs {
            let ims = inputs.iter().map(|t| Ok(image(t)?.into()));
            cols.push(("Input".into(), ims.collect::<Result<_>>()?));
        }
        for (name, maps) in methods {
            let hms = maps
                .tensors()?
                .iter()
                .map(|t| Ok(Heatmap::new(t)?.colorbar(false).into()))
                .collect::<Result<_>>()?;
            cols.push((name.as_ref().to_string(), hms));
        }
        let rows = cols.first().map_or(0, |c| c.1.len());
        if rows == 0 {
            bail!("Grid::compare: no methods or no maps to compare");
        }
        if let Some((name, c)) = cols.iter().find(|c| c.1.len() != rows) {
            bail!(
                "Grid::compare: {:?} has {} maps, {:?} has {rows}",
                name,
                c.len(),
                cols[0].0
            );
        }
        let mut g = Grid::new(rows, cols.len());
        g.col_labels = cols.iter().map(|c| c.0.clone()).collect();
        for r in 0..rows {
            for c in &cols {
                g.panels.push(c.1[r].clone());
            }
        }
        Ok(g)
    }

    /// Appends a panel (heatmap or overlay) in the next free cell, row by row.
    pub fn panel(mut self, panel: impl Into<Panel>) -> Self {
        self.panels.push(panel.into());
        self
    }

    /// Sets the title above the whole grid.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the panel titles in order (fewer titles leave the rest unchanged).
    pub fn titles<S: Into<String>>(mut self, titles: impl IntoIterator<Item = S>) -> Self {
        for (p, t) in self.panels.iter_mut().zip(titles) {
            match p {
                Panel::Heatmap(h) => h.title = Some(t.into()),
                Panel::Overlay(o) => o.title = Some(t.into()),
                Panel::Empty => {}
            }
        }
        self
    }

    /// Labels drawn left of each row.
    pub fn row_labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.row_labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Headers drawn above each column.
    pub fn col_labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.col_labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Sets every heatmap's and overlay's colormap (input images keep `gray`).
    pub fn cmap(mut self, cmap: Colormap) -> Self {
        self.map_panels(|h| h.cmap = cmap, |o| o.cmap = cmap);
        self
    }

    /// Sets every heatmap's and overlay's value range.
    pub fn range(mut self, range: Range) -> Self {
        self.map_panels(|h| h.range = range, |o| o.range = range);
        self
    }

    /// Shows or hides the panels' own colorbars.
    pub fn colorbars(mut self, on: bool) -> Self {
        self.map_panels(|h| h.colorbar = on, |o| o.colorbar = on);
        self
    }

    /// One common range and colormap for all heatmaps and overlays (the first one's colormap;
    /// its range setting applied to all values, so `Auto` on a diverging map is symmetric) and
    /// a single colorbar at the right instead of one per panel.
    pub fn shared(mut self, on: bool) -> Self {
        self.shared = on;
        self
    }

    /// Pixels per map cell for panels that do not set their own.
    pub fn scale(mut self, px_per_cell: u32) -> Self {
        self.scale = (px_per_cell > 0).then_some(px_per_cell);
        self
    }

    /// Applies `h` to heatmaps (except grayscale input images) and `o` to overlays.
    fn map_panels(&mut self, h: impl Fn(&mut Heatmap), o: impl Fn(&mut Overlay)) {
        for p in &mut self.panels {
            match p {
                Panel::Heatmap(x) if !is_input_image(x) => h(x),
                Panel::Overlay(x) => o(x),
                _ => {}
            }
        }
    }
}

figure_output!(Grid, "grid");

#[cfg(test)]
mod tests;
