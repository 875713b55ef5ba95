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
pub(crate) mod tests {
    use super::*;

    /// MNIST is loaded once per test binary; the tests only read it.
    pub(crate) fn mnist() -> &'static Dataset {
        static MNIST: std::sync::OnceLock<Dataset> = std::sync::OnceLock::new();
        MNIST.get_or_init(|| Dataset::mnist().unwrap())
    }

    fn counts(labels: &[u32]) -> Vec<usize> {
        let mut c = vec![0; 10];
        for &l in labels {
            c[l as usize] += 1;
        }
        c
    }

    #[test]
    fn mnist_has_canonical_sizes_label_counts_and_range() {
        let d = mnist();
        assert_eq!(d.name, "mnist");
        assert_eq!(d.train_x.dims(), &[60000, 1, 28, 28]);
        assert_eq!(d.test_x.dims(), &[10000, 1, 28, 28]);
        assert_eq!(d.train_x.dtype(), DType::F32);
        assert_eq!(d.train_y.dtype(), DType::U32);
        assert_eq!(d.image_shape(), (1, 28, 28));
        assert_eq!(d.num_classes(), 10);
        assert!(d.valid.is_none());
        let train = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
        let test = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
        assert_eq!(counts(&d.train_labels().unwrap()), train);
        assert_eq!(counts(&d.test_labels().unwrap()), test);
        for x in [&d.train_x, &d.test_x] {
            let min: f32 = x.min_all().unwrap().to_scalar().unwrap();
            let max: f32 = x.max_all().unwrap().to_scalar().unwrap();
            assert_eq!((min, max), (0.0, 1.0));
        }
    }

    #[test]
    fn example_is_the_kth_image_of_its_class_in_file_order() {
        let d = mnist();
        let labels = d.train_labels().unwrap();
        for (class, k) in [(0, 0), (7, 3), (9, 100), (1, 6741)] {
            let i = labels
                .iter()
                .enumerate()
                .filter(|(_, &l)| l as usize == class)
                .nth(k)
                .unwrap()
                .0;
            let ex = d.example(class, k).unwrap();
            assert_eq!(ex.dims(), &[1, 1, 28, 28]);
            let direct = d.train_x.narrow(0, i, 1).unwrap();
            let diff: f32 = (ex - direct)
                .unwrap()
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar()
                .unwrap();
            assert_eq!(diff, 0.0);
        }
        let err = d.example(1, 6742).unwrap_err().to_string();
        assert!(
            err.contains("class 1") && err.contains("6742") && err.contains("only 6742"),
            "{err}"
        );
        let err = d.example(10, 0).unwrap_err().to_string();
        assert!(err.contains("class 10 out of range"), "{err}");
    }

    #[test]
    fn examples_means_and_subsets() {
        let d = mnist();
        let ex = d.examples(2).unwrap();
        assert_eq!(ex.dims(), &[10, 1, 28, 28]);
        for c in [0, 5, 9] {
            let a = ex.narrow(0, c, 1).unwrap();
            let b = d.example(c, 2).unwrap();
            let diff: f32 = (a - b)
                .unwrap()
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar()
                .unwrap();
            assert_eq!(diff, 0.0);
        }
        let mean = d.class_mean(3).unwrap();
        assert_eq!(mean.dims(), &[1, 1, 28, 28]);
        let max: f32 = mean.max_all().unwrap().to_scalar().unwrap();
        assert!(max > 0.3 && max <= 1.0, "{max}");
        let s = d.subset_train(100).unwrap();
        assert_eq!(s.train_x.dims(), &[100, 1, 28, 28]);
        assert_eq!(s.train_labels().unwrap(), d.train_labels().unwrap()[..100]);
        assert_eq!(s.test_x.dims(), &[10000, 1, 28, 28]);
        assert!(d
            .subset_train(60001)
            .unwrap_err()
            .to_string()
            .contains("60001"));
    }
}
