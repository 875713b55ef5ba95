//! Encoded PNG images and their inline display in evcxr notebooks.
//!
//! evcxr shows a value that ends a cell by calling its inherent `evcxr_display(&self)`, which
//! prints
//!
//! ```text
//! EVCXR_BEGIN_CONTENT image/png
//! <base64 of the PNG, one line>
//! EVCXR_END_CONTENT
//! ```
//!
//! [`evcxr_content`] builds exactly that text; every figure type's `evcxr_display` prints it for
//! its rendered PNG, or a one-line message if rendering failed.

use std::path::Path;

use base64::Engine as _;
use image::ImageEncoder as _;

use crate::{bail, Error, Result};

/// An encoded PNG (8-bit RGB) with its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png {
    bytes: Vec<u8>,
    width: u32,
    height: u32,
}

impl Png {
    /// Encodes a row-major RGB8 buffer of `width × height` pixels.
    pub fn from_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Png> {
        let want = width as usize * height as usize * 3;
        if rgb.len() != want || want == 0 {
            bail!(
                "png: {width}x{height} RGB needs {want} bytes (and a non-empty image), got {}",
                rgb.len()
            );
        }
        let mut bytes = Vec::new();
        image::codecs::png::PngEncoder::new(&mut bytes)
            .write_image(rgb, width, height, image::ExtendedColorType::Rgb8)
            .map_err(|e| Error::invalid(format!("png: encoding {width}x{height} RGB: {e}")))?;
        Ok(Png {
            bytes,
            width,
            height,
        })
    }

    /// The encoded PNG file contents.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The encoded PNG file contents, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The PNG as one line of standard base64.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }

    /// Writes the PNG to `path` atomically (temporary file in the same directory, then
    /// rename); missing parent directories are created.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::data::atomic_write(path.as_ref(), &self.bytes)
    }

    /// Shows the image inline in evcxr (prints [`evcxr_content`]).
    pub fn evcxr_display(&self) {
        println!("{}", evcxr_content(&self.bytes));
    }
}

/// The text evcxr reads as an inline PNG: `EVCXR_BEGIN_CONTENT image/png\n`, the base64 of
/// `png` on one line, `\nEVCXR_END_CONTENT` (no trailing newline).
pub fn evcxr_content(png: &[u8]) -> String {
    format!(
        "EVCXR_BEGIN_CONTENT image/png\n{}\nEVCXR_END_CONTENT",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// What a figure's `evcxr_display` prints: the image, or one line saying why there is none.
pub(crate) fn display_text(what: &str, rendered: Result<Png>) -> String {
    match rendered {
        Ok(png) => evcxr_content(png.as_bytes()),
        Err(e) => format!("{what}: could not render: {e}").replace(['\n', '\r'], " "),
    }
}

/// Adds `save` and `evcxr_display` to a figure type with a `render(&self) -> Result<Png>`.
macro_rules! figure_output {
    ($ty:ty, $what:literal) => {
        impl $ty {
            /// Renders the figure and writes the PNG to `path` atomically (temporary file,
            /// then rename).
            pub fn save(&self, path: impl AsRef<std::path::Path>) -> $crate::Result<()> {
                self.render()?.save(path)
            }

            /// Shows the figure inline in evcxr when it ends a cell; a rendering error is
            /// printed as one line of text instead.
            pub fn evcxr_display(&self) {
                println!("{}", $crate::viz::png::display_text($what, self.render()));
            }
        }
    };
}
pub(crate) use figure_output;

#[cfg(test)]
mod tests;
