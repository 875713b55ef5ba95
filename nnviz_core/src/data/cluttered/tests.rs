//! Tests of the cluttered-MNIST generator and its cache, on the committed MNIST files.

use super::cache::CacheStatus;
use super::*;
use crate::data::dataset::tests::mnist;

fn small(seed: u64) -> ClutteredConfig {
    ClutteredConfig {
        seed,
        n_train: 50,
        n_valid: 10,
        n_test: 10,
        ..ClutteredConfig::default()
    }
}

fn bytes(c: &ClutteredConfig) -> Vec<u8> {
    c.encode(&c.generate_splits(mnist()).unwrap()).unwrap()
}

/// Whether `canvas` (size²) is pixelwise ≥ `digit` (28²) placed at some offset.
fn contains_digit(canvas: &[u8], size: usize, digit: &[u8]) -> bool {
    let fits = |y: usize, x: usize| {
        (0..DIGIT)
            .all(|r| (0..DIGIT).all(|c| canvas[(y + r) * size + x + c] >= digit[r * DIGIT + c]))
    };
    (0..=size - DIGIT).any(|y| (0..=size - DIGIT).any(|x| fits(y, x)))
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = bytes(&small(0));
    assert_eq!(a, bytes(&small(0)));
    assert_ne!(a, bytes(&small(1)));
}

#[test]
fn changing_other_splits_keeps_the_training_split() {
    let base = small(3).generate_splits(mnist()).unwrap();
    let more_test = ClutteredConfig {
        n_test: 20,
        n_valid: 5,
        ..small(3)
    };
    let other = more_test.generate_splits(mnist()).unwrap();
    assert_eq!(base[0], other[0]);
    assert_eq!(base[2].images[..], other[2].images[..10 * 40 * 40]);
}

#[test]
fn canvases_hold_their_labelled_digit_plus_clutter() {
    let c = small(5);
    let m = mnist();
    let train = Source::from_tensors(&m.train_x, &m.train_y, "training").unwrap();
    let test = Source::from_tensors(&m.test_x, &m.test_y, "test").unwrap();
    let splits = c.generate_splits(m).unwrap();
    let digits = c.pick_digits(&mut Rng::new(c.seed), train.len(), test.len());
    assert!(
        digits[0]
            .iter()
            .chain(&digits[1])
            .collect::<std::collections::HashSet<_>>()
            .len()
            == 60
    );
    for ((split, picked), src) in splits.iter().zip(&digits).zip([&train, &train, &test]) {
        for (i, &d) in picked.iter().enumerate() {
            let canvas = &split.images[i * 1600..(i + 1) * 1600];
            assert_eq!(split.labels[i], src.labels[d]);
            assert!(contains_digit(canvas, 40, src.digit(d)), "image {i}");
            let mass = |px: &[u8]| px.iter().map(|&v| v as u64).sum::<u64>();
            assert!(mass(canvas) >= mass(src.digit(d)));
        }
    }
    // Clutter is there: some canvas has more mass than its digit.
    let extra = (0..50).any(|i| {
        let canvas: u64 = splits[0].images[i * 1600..(i + 1) * 1600]
            .iter()
            .map(|&v| v as u64)
            .sum();
        canvas > train.digit(digits[0][i]).iter().map(|&v| v as u64).sum()
    });
    assert!(extra);
}

#[test]
fn generated_dataset_has_the_right_shapes_and_range() {
    let d = small(0).generate(mnist()).unwrap();
    assert_eq!(d.name, "cluttered-mnist");
    assert_eq!(d.train_x.dims(), &[50, 1, 40, 40]);
    assert_eq!(d.image_shape(), (1, 40, 40));
    let (vx, vy) = d.valid.as_ref().unwrap();
    assert_eq!((vx.dims(), vy.dims()), (&[10, 1, 40, 40][..], &[10][..]));
    assert_eq!(d.test_x.dims(), &[10, 1, 40, 40]);
    for x in [&d.train_x, vx, &d.test_x] {
        let min: f32 = x.min_all().unwrap().to_scalar().unwrap();
        let max: f32 = x.max_all().unwrap().to_scalar().unwrap();
        assert!(min >= 0.0 && max <= 1.0 && max > 0.9, "{min} {max}");
    }
    assert!(d.train_labels().unwrap().iter().all(|&l| l < 10));
}

#[test]
fn invalid_configs_are_rejected_clearly() {
    let err = |c: ClutteredConfig| c.generate(mnist()).unwrap_err().to_string();
    assert!(err(ClutteredConfig {
        size: 27,
        ..small(0)
    })
    .contains("size 27 must be at least 28"));
    assert!(err(ClutteredConfig {
        patch: 29,
        ..small(0)
    })
    .contains("patch 29"));
    assert!(err(ClutteredConfig {
        patch: 0,
        ..small(0)
    })
    .contains("patch 0"));
    assert!(err(ClutteredConfig {
        n_valid: 0,
        ..small(0)
    })
    .contains("must be positive"));
    let msg = err(ClutteredConfig {
        n_train: 59_995,
        ..small(0)
    });
    assert!(
        msg.contains("needs 59995 + 10 training") && msg.contains("has 60000"),
        "{msg}"
    );
    let msg = err(ClutteredConfig {
        n_test: 10_001,
        ..small(0)
    });
    assert!(msg.contains("10001 test digits"), "{msg}");
    assert!(err(ClutteredConfig {
        size: usize::MAX,
        ..small(0)
    })
    .contains("too many"));
}

#[test]
fn cache_round_trips_and_bad_caches_are_regenerated() {
    let tmp = tempfile::tempdir().unwrap();
    let c = small(9);
    let load = || {
        c.load_or_generate_in(tmp.path(), || Ok(mnist().clone()))
            .unwrap()
    };
    let no_mnist = || -> Result<Dataset> { Err(Error::invalid("MNIST must not be needed")) };
    let path = c.cache_path_in(tmp.path());
    assert!(path.ends_with("cluttered/cluttered-seed9-n50-10-10-size40-d5-p5.bin"));

    let (generated, status) = load();
    assert_eq!(status, CacheStatus::Generated);
    let good = std::fs::read(&path).unwrap();
    assert_eq!(good, bytes(&c));
    let (loaded, status) = c.load_or_generate_in(tmp.path(), no_mnist).unwrap();
    assert_eq!(status, CacheStatus::Loaded);
    let px = |x: &Tensor| x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(px(&generated.train_x), px(&loaded.train_x));
    assert_eq!(
        px(&generated.valid.as_ref().unwrap().0),
        px(&loaded.valid.as_ref().unwrap().0)
    );
    assert_eq!(
        generated.test_labels().unwrap(),
        loaded.test_labels().unwrap()
    );

    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 1;
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    let other_config = bytes(&ClutteredConfig {
        n_test: 10,
        ..small(10)
    });
    let cases: [(&[u8], &str); 5] = [
        (&good[..good.len() - 1], "expected"),
        (&[good.clone(), vec![0]].concat(), "oversized"),
        (&flipped, "SHA-256 mismatch"),
        (&bad_magic, "bad magic"),
        (&other_config, "different configuration"),
    ];
    for (content, reason) in cases {
        std::fs::write(&path, content).unwrap();
        // A bad cache is never used: without MNIST to regenerate from, loading fails.
        assert!(c.load_or_generate_in(tmp.path(), no_mnist).is_err());
        std::fs::write(&path, content).unwrap();
        match load().1 {
            CacheStatus::Regenerated(r) => assert!(r.contains(reason), "{r} vs {reason}"),
            s => panic!("{s:?} for {reason}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), good, "{reason}");
    }
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(names.len(), 1, "temporary files left behind");
}

#[test]
fn digit_locations_point_at_the_labelled_digit_of_every_canvas() {
    let c = small(5);
    let m = mnist();
    let data = c.generate(m).unwrap();
    let at = c.digit_locations(m).unwrap();
    let test = Source::from_tensors(&m.test_x, &m.test_y, "test").unwrap();
    let digits = c.pick_digits(&mut Rng::new(c.seed), m.train_x.dim(0).unwrap(), test.len());
    assert_eq!(
        (at.train.len(), at.valid.len(), at.test.len()),
        (50, 10, 10)
    );
    let px = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let canvases = px(&data.test_x);
    let (ink, boxes) = (
        px(&at.test.ink(0.0).unwrap()),
        px(&at.test.boxes(0.0).unwrap()),
    );
    assert_eq!(at.test.ink(0.5).unwrap().dims(), &[10, 1, 40, 40]);
    for (i, &(y0, x0)) in at.test.offsets().iter().enumerate() {
        let digit = test.digit(digits[2][i]);
        let [canvas, ink, boxes] = [&canvases, &ink, &boxes].map(|v| &v[i * 1600..(i + 1) * 1600]);
        let mut ink_count = 0;
        for r in 0..40 {
            for col in 0..40 {
                let inside = (y0..y0 + 28).contains(&r) && (x0..x0 + 28).contains(&col);
                let own = if inside {
                    digit[(r - y0) * 28 + col - x0]
                } else {
                    0
                };
                // The canvas holds the digit at the reported offset (clutter only adds).
                assert!(
                    (canvas[r * 40 + col] * 255.0).round() >= own as f32,
                    "image {i}"
                );
                assert_eq!(ink[r * 40 + col] == 1.0, own > 0, "image {i} ({r}, {col})");
                // Ink lies inside the box; the box lies inside the 28×28 frame.
                assert!(ink[r * 40 + col] <= boxes[r * 40 + col]);
                assert!(boxes[r * 40 + col] == 0.0 || inside);
                ink_count += (own > 0) as usize;
            }
        }
        assert_eq!(ink_count, digit.iter().filter(|&&v| v > 0).count());
        // The box is tight: every border row and column of it holds ink.
        let rows: Vec<usize> = (0..40)
            .filter(|r| (0..40).any(|c| ink[r * 40 + c] == 1.0))
            .collect();
        let cols: Vec<usize> = (0..40)
            .filter(|c| (0..40).any(|r| ink[r * 40 + c] == 1.0))
            .collect();
        let (r0, r1, c0, c1) = (
            rows[0],
            *rows.last().unwrap(),
            cols[0],
            *cols.last().unwrap(),
        );
        let area: f32 = boxes.iter().sum();
        assert_eq!(area as usize, (r1 - r0 + 1) * (c1 - c0 + 1), "image {i}");
        assert_eq!(boxes[r0 * 40 + c0], 1.0);
        assert_eq!(boxes[r1 * 40 + c1], 1.0);
    }
    // A higher threshold keeps fewer pixels; the first n are a prefix.
    let (all, strong) = (
        px(&at.test.ink(0.0).unwrap()),
        px(&at.test.ink(0.5).unwrap()),
    );
    assert!(strong.iter().sum::<f32>() < all.iter().sum::<f32>());
    assert_eq!(at.test.take(3).offsets(), &at.test.offsets()[..3]);
    assert_eq!(at.test.size(), 40);
    assert_eq!(px(&at.test.take(3).ink(0.0).unwrap()), all[..3 * 1600]);
    // The threshold compares pixel values as the tensors hold them: a byte whose value equals it
    // is not ink, the next byte is.
    for v in [1u8, 128, 254] {
        let t = f32::from(v) / 255.0;
        assert_eq!(DigitLocations::threshold_byte(t).unwrap(), v, "{v}");
    }
    assert_eq!(DigitLocations::threshold_byte(0.0).unwrap(), 0);
    for bad in [-0.1, 1.0, f32::NAN] {
        let msg = at.test.ink(bad).unwrap_err().to_string();
        assert!(msg.contains("ink threshold must be in [0, 1)"), "{msg}");
    }
}
