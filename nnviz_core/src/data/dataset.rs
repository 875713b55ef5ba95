//! [`Dataset`]: the tensors of one image-classification data set, and helpers to pick the
//! examples the notebooks explain (the k-th image of a class, one per class, class means).
//!
//! Images are always `[N,C,H,W]` f32 in `[0, 1]` and labels `[N]` u32, on the CPU; examples
//! are picked in file order so "the 3rd seven" means the same image on every machine.

use candle_core::{DType, Device, Tensor};

use crate::data::{data_dir, mnist, ClutteredConfig};
use crate::{bail, Result};

/// An image-classification data set: training, optional validation, and test splits.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// A short name, e.g. `"mnist"` or `"cluttered-mnist"`.
    pub name: String,
    /// Training images `[N,C,H,W]`, f32 in `[0, 1]`.
    pub train_x: Tensor,
    /// Training labels `[N]`, u32.
    pub train_y: Tensor,
    /// Validation images and labels, when the data set has a validation split.
    pub valid: Option<(Tensor, Tensor)>,
    /// Test images `[M,C,H,W]`, f32 in `[0, 1]`.
    pub test_x: Tensor,
    /// Test labels `[M]`, u32.
    pub test_y: Tensor,
}

impl Dataset {
    /// MNIST from `data_dir()/mnist`, checksum-verified; named `"mnist"`.
    pub fn mnist() -> Result<Dataset> {
        mnist::load_mnist(&data_dir().join("mnist"))
    }

    /// Cluttered MNIST with the default [`ClutteredConfig`], from the cache or generated.
    pub fn cluttered() -> Result<Dataset> {
        ClutteredConfig::default().load_or_generate()
    }

    /// MNIST through `candle_datasets` (downloaded from the Hugging Face hub), in our layout.
    #[cfg(feature = "hub")]
    pub fn mnist_hub() -> Result<Dataset> {
        let hub = candle_datasets::vision::mnist::load()?;
        let images = |x: &Tensor| -> Result<Tensor> {
            let n = x.dim(0)?;
            Ok(x.to_dtype(DType::F32)?.reshape((n, 1, 28, 28))?)
        };
        Ok(Dataset {
            name: "mnist".to_string(),
            train_x: images(&hub.train_images)?,
            train_y: hub.train_labels.to_dtype(DType::U32)?,
            valid: None,
            test_x: images(&hub.test_images)?,
            test_y: hub.test_labels.to_dtype(DType::U32)?,
        })
    }

    /// The shape `(C,H,W)` of one image; `(0,0,0)` if `train_x` is not 4-dimensional.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        match self.train_x.dims() {
            &[_, c, h, w] => (c, h, w),
            _ => (0, 0, 0),
        }
    }

    /// The number of classes: 10 digits.
    pub fn num_classes(&self) -> usize {
        10
    }

    /// The training labels as a vector.
    pub fn train_labels(&self) -> Result<Vec<u32>> {
        Ok(self.train_y.to_dtype(DType::U32)?.to_vec1::<u32>()?)
    }

    /// The test labels as a vector.
    pub fn test_labels(&self) -> Result<Vec<u32>> {
        Ok(self.test_y.to_dtype(DType::U32)?.to_vec1::<u32>()?)
    }

    /// Indices (file order) of the training examples labelled `class`.
    fn class_indices(&self, labels: &[u32], class: usize) -> Result<Vec<usize>> {
        if class >= self.num_classes() {
            bail!(
                "{}: class {class} out of range (there are {} classes)",
                self.name,
                self.num_classes()
            );
        }
        Ok(labels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l as usize == class)
            .map(|(i, _)| i)
            .collect())
    }

    fn example_in(&self, labels: &[u32], class: usize, k: usize) -> Result<Tensor> {
        let indices = self.class_indices(labels, class)?;
        match indices.get(k) {
            Some(&i) => Ok(self.train_x.narrow(0, i, 1)?),
            None => bail!(
                "{}: no training example {k} (0-based) of class {class}: there are only {}",
                self.name,
                indices.len()
            ),
        }
    }

    /// The `k`-th (0-based, file order) training image labelled `class`, shape `[1,C,H,W]`.
    pub fn example(&self, class: usize, k: usize) -> Result<Tensor> {
        self.example_in(&self.train_labels()?, class, k)
    }

    /// `example(c, k)` for every class `c`, stacked to `[classes,C,H,W]`.
    pub fn examples(&self, k: usize) -> Result<Tensor> {
        let labels = self.train_labels()?;
        let images = (0..self.num_classes())
            .map(|c| self.example_in(&labels, c, k))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&images, 0)?)
    }

    /// The mean training image of `class`, shape `[1,C,H,W]`.
    pub fn class_mean(&self, class: usize) -> Result<Tensor> {
        let indices = self.class_indices(&self.train_labels()?, class)?;
        if indices.is_empty() {
            bail!("{}: no training examples of class {class}", self.name);
        }
        let indices: Vec<u32> = indices.into_iter().map(|i| i as u32).collect();
        let n = indices.len();
        let index = Tensor::from_vec(indices, n, &Device::Cpu)?.to_device(self.train_x.device())?;
        Ok(self.train_x.index_select(&index, 0)?.mean_keepdim(0)?)
    }

    /// A copy with only the first `n` training examples (validation and test unchanged).
    pub fn subset_train(&self, n: usize) -> Result<Dataset> {
        let available = self.train_x.dim(0)?;
        if n == 0 || n > available {
            bail!(
                "{}: subset_train({n}) out of range: need 1..={available} training examples",
                self.name
            );
        }
        Ok(Dataset {
            name: self.name.clone(),
            train_x: self.train_x.narrow(0, 0, n)?,
            train_y: self.train_y.narrow(0, 0, n)?,
            valid: self.valid.clone(),
            test_x: self.test_x.clone(),
            test_y: self.test_y.clone(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
