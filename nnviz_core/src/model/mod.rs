//! Networks as inspectable data, the tutorial's model zoo, and model files.

pub mod io;
pub mod layer;
pub mod network;
pub mod vae;
pub mod zoo;

pub use io::{load_file, ModelFile};
pub use layer::{Layer, LayerSpec, Padding};
pub use network::{NamedLayer, NamedLayerSpec, Network, NetworkSpec, Trace};
pub use vae::{Generator, Vae, VaeRecipe};
