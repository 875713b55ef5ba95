//! Synthetic digits and relevance maps for tests, and the example figures written by
//! `cargo test --release -p nnviz_core viz::examples -- --ignored` to `/tmp/viz-examples/`.

use candle_core::{Device, Tensor};

use super::*;

/// Seven-segment strokes `(x0, y0, x1, y1)` on a 28×28 canvas: a, b, c, d, e, f, g.
const SEGMENTS: [(f32, f32, f32, f32); 7] = [
    (9.0, 5.0, 19.0, 5.0),
    (19.0, 5.0, 19.0, 14.0),
    (19.0, 14.0, 19.0, 23.0),
    (9.0, 23.0, 19.0, 23.0),
    (9.0, 14.0, 9.0, 23.0),
    (9.0, 5.0, 9.0, 14.0),
    (9.0, 14.0, 19.0, 14.0),
];
const DIGITS: [&str; 10] = [
    "abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abfgcd",
];

fn seg_dist(x: f32, y: f32, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> f32 {
    let (dx, dy) = (x1 - x0, y1 - y0);
    let t = (((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    (x - x0 - t * dx).hypot(y - y0 - t * dy)
}

/// A synthetic 28×28 digit in `[0, 1]` (seven-segment strokes, soft edges), as `[1, 28, 28]`.
pub(crate) fn digit(d: usize) -> Tensor {
    let segs: Vec<usize> = DIGITS[d % 10]
        .bytes()
        .map(|b| (b - b'a') as usize)
        .collect();
    let v: Vec<f32> = (0..28 * 28)
        .map(|i| {
            let (x, y) = ((i % 28) as f32 + 0.5, (i / 28) as f32 + 0.5);
            let dist = segs
                .iter()
                .map(|&s| seg_dist(x, y, SEGMENTS[s]))
                .fold(f32::MAX, f32::min);
            (2.0 - dist).clamp(0.0, 1.0)
        })
        .collect();
    Tensor::from_vec(v, (1, 28, 28), &Device::Cpu).unwrap()
}

/// A relevance-like map for digit `d`: positive on the strokes, a negative blob beside them,
/// scaled differently per digit.
pub(crate) fn relevance(d: usize) -> Tensor {
    let img = digit(d).flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let scale = 0.02 * (1.0 + d as f32);
    let v: Vec<f32> = (0..28 * 28)
        .map(|i| {
            let (x, y) = ((i % 28) as f32, (i / 28) as f32);
            let wave = 0.6 + 0.4 * (x / 3.0 + d as f32).sin();
            let (bx, by) = (6.0 + d as f32 * 1.5, 20.0 - d as f32);
            let blob = (-((x - bx).powi(2) + (y - by).powi(2)) / 18.0).exp();
            scale * (img[i] * wave - 0.5 * blob)
        })
        .collect();
    Tensor::from_vec(v, (1, 1, 28, 28), &Device::Cpu).unwrap()
}

/// A smooth field with positive and negative lobes, `[28, 28]`.
pub(crate) fn field() -> Tensor {
    let v: Vec<f32> = (0..28 * 28)
        .map(|i| {
            let (x, y) = ((i % 28) as f32 - 13.5, (i / 28) as f32 - 13.5);
            0.37 * (x / 4.0).sin() * (y / 5.0).cos() * (-(x * x + y * y) / 300.0).exp()
        })
        .collect();
    Tensor::from_vec(v, (28, 28), &Device::Cpu).unwrap()
}

#[test]
#[ignore = "writes example figures to /tmp/viz-examples for looking at"]
fn write_examples() {
    let dir = std::path::Path::new("/tmp/viz-examples");
    let f = field();
    heatmap(&f)
        .unwrap()
        .title("Smooth field")
        .save(dir.join("heatmap.png"))
        .unwrap();
    Heatmap::new(&f.abs().unwrap())
        .unwrap()
        .cmap(Colormap::Viridis)
        .title("|field|, viridis")
        .save(dir.join("heatmap_viridis.png"))
        .unwrap();
    image(&digit(8))
        .unwrap()
        .title("Input")
        .save(dir.join("image.png"))
        .unwrap();

    let maps = Tensor::cat(&(0..10).map(relevance).collect::<Vec<_>>(), 0).unwrap();
    Grid::digits(&maps)
        .unwrap()
        .save(dir.join("digits.png"))
        .unwrap();
    Grid::digits(maps.abs().unwrap())
        .unwrap()
        .cmap(Colormap::HotR)
        .title("Sensitivity analysis")
        .save(dir.join("digits_hot_r.png"))
        .unwrap();
    Grid::maps(2, 5, &maps)
        .unwrap()
        .titles((0..10).map(|d| format!("{d}")))
        .title("Shared normalisation")
        .shared(true)
        .save(dir.join("shared.png"))
        .unwrap();
    let strip: Vec<Heatmap> = (0..5)
        .map(|d| image(&digit(d)).unwrap().title(format!("x{d}")))
        .collect();
    Grid::strip(strip).save(dir.join("strip.png")).unwrap();

    // A 40×40 "cluttered" image with a CAM-like blob.
    let mut img = vec![0f32; 40 * 40];
    let d = digit(3).flatten_all().unwrap().to_vec1::<f32>().unwrap();
    for (i, v) in d.iter().enumerate() {
        img[(i / 28 + 8) * 40 + i % 28 + 10] = *v;
    }
    for (cx, cy) in [(4usize, 5usize), (33, 30), (6, 34)] {
        for k in 0..5 {
            img[(cy + k) * 40 + cx + k] = 0.8;
        }
    }
    let img = Tensor::from_vec(img, (1, 1, 40, 40), &Device::Cpu).unwrap();
    let cam: Vec<f32> = (0..100)
        .map(|i| {
            let (x, y) = ((i % 10) as f32, (i / 10) as f32);
            (-((x - 5.5).powi(2) + (y - 5.0).powi(2)) / 6.0).exp()
        })
        .collect();
    let cam = Tensor::from_vec(cam, (10, 10), &Device::Cpu).unwrap();
    let o = Overlay::new(&img, &cam)
        .unwrap()
        .cmap(Colormap::Hot)
        .alpha(0.7)
        .fade(true);
    o.clone()
        .title("Grad-CAM")
        .save(dir.join("overlay.png"))
        .unwrap();
    let signed = Overlay::new(&digit(8), &relevance(8))
        .unwrap()
        .title("LRP on input");
    Grid::strip([Panel::from(o.title("CAM (faded)")), signed.into()])
        .save(dir.join("overlays.png"))
        .unwrap();

    let inputs: Vec<Tensor> = (0..4).map(digit).collect();
    let m: Vec<Tensor> = (0..4).map(relevance).collect();
    let sal: Vec<Tensor> = m.iter().map(|t| t.abs().unwrap()).collect();
    let neg: Vec<Tensor> = m.iter().map(|t| t.neg().unwrap()).collect();
    Grid::compare_with_input(
        &inputs,
        &[("Saliency", &sal), ("LRP", &m), ("Deep Taylor", &neg)],
    )
    .unwrap()
    .row_labels((0..4).map(|d| format!("Digit {d}")))
    .title("Method comparison")
    .save(dir.join("compare.png"))
    .unwrap();

    let train: Vec<f64> = (0..30)
        .map(|e| 2.3 * (-(e as f64) / 6.0).exp() + 0.05)
        .collect();
    let test: Vec<f64> = (0..30)
        .step_by(3)
        .map(|e| 2.3 * (-(e as f64) / 7.0).exp() + 0.12)
        .collect();
    let xs: Vec<f64> = (0..30).step_by(3).map(|e| e as f64).collect();
    LinePlot::new("Training loss")
        .xlabel("epoch")
        .ylabel("cross-entropy")
        .series_y("train", &train)
        .series("test", &xs, &test)
        .markers(true)
        .save(dir.join("lineplot.png"))
        .unwrap();

    heatmap(&f)
        .unwrap()
        .title("A rather long title for one small panel")
        .scale(3)
        .save(dir.join("long_title.png"))
        .unwrap();
    let steps: Vec<f64> = (0..2000).map(|i| i as f64 * 5.0).collect();
    let noisy: Vec<f64> = (0..2000)
        .map(|i| match i {
            900..=950 => f64::NAN,
            _ => 3e4 * (-(i as f64) / 400.0).exp() * (1.0 + 0.1 * (i as f64 * 0.7).sin()) - 2e3,
        })
        .collect();
    LinePlot::new("")
        .xlabel("step")
        .ylabel("energy (J)")
        .series("run A", &steps, &noisy)
        .save(dir.join("lineplot_big.png"))
        .unwrap();
}
