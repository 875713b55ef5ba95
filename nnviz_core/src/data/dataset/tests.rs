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
