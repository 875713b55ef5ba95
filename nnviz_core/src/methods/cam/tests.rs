//! CAM, Grad-CAM and Grad-CAM++ on hand-set networks, and bilinear upsampling against
//! hand-computed values and candle's own kernel.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::*;
use crate::model::{LayerSpec, NetworkSpec};
use crate::{zoo, Rng};

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
}

fn flat(x: &Tensor) -> Vec<f32> {
    x.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn assert_close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * 1f32.max(x.abs()).max(y.abs()),
            "element {i}: {x} vs {y}"
        );
    }
}

fn random(rng: &mut Rng, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    t(&(0..n).map(|_| rng.uniform()).collect::<Vec<_>>(), shape)
}

/// Input [N, 1, 2, 2]; conv1 (1×1, 1→2, bias): A₀ = ReLU(2x), A₁ = ReLU(1 − x) — for x in
/// [0, 1] simply 2x and 1 − x; then GAP and fc (2 → 3, no bias) with W = `w`.
/// Logit c = W_c0 · mean(2x) + W_c1 · mean(1 − x), and CAM_c(i,j) = W_c0 · 2x_ij + W_c1 (1 − x_ij).
fn gap_net(w: [f32; 6]) -> Network {
    let spec = NetworkSpec::new("gap", [1, 2, 2])
        .push(
            "conv1",
            LayerSpec::Conv2d {
                in_channels: 1,
                out_channels: 2,
                kernel: [1, 1],
                stride: 1,
                padding: Padding::Valid,
                bias: true,
            },
        )
        .push("relu1", LayerSpec::Relu)
        .push("gap", LayerSpec::GlobalAvgPool)
        .push("flatten", LayerSpec::Flatten)
        .push(
            "fc",
            LayerSpec::Linear {
                in_features: 2,
                out_features: 3,
                bias: false,
            },
        );
    let params = HashMap::from([
        ("conv1.weight".to_string(), t(&[2., -1.], &[2, 1, 1, 1])),
        ("conv1.bias".to_string(), t(&[0., 1.], &[2])),
        ("fc.weight".to_string(), t(&w, &[3, 2])),
    ]);
    Network::from_parts(&spec, params).unwrap()
}

const W: [f32; 6] = [1.0, 0.5, -1.0, 2.0, 0.5, -3.0];
const X: [f32; 4] = [0.1, 0.4, 0.7, 1.0];

fn hand_cam(c: usize) -> Vec<f32> {
    X.iter()
        .map(|x| W[2 * c] * 2.0 * x + W[2 * c + 1] * (1.0 - x))
        .collect()
}

#[test]
fn cam_matches_hand_computation_and_decomposes_the_logit() {
    let net = gap_net(W);
    let x = t(&X, &[1, 1, 2, 2]);
    for c in 0..3 {
        let m = Cam::default().map(&net, &x, &Target::class(c)).unwrap();
        assert_eq!(m.map.dims(), &[1, 1, 2, 2]);
        assert_eq!(m.layer, "relu1");
        assert_close(&flat(&m.map), &hand_cam(c), 1e-6);
        assert_close(&flat(&m.weights), &W[2 * c..2 * c + 2], 0.0);
        // No bias: the map's mean is the logit.
        let mean: f32 = hand_cam(c).iter().sum::<f32>() / 4.0;
        assert_close(&flat(&m.score), &[mean], 1e-6);
    }
    // The sum of logits weighs with the column sums of W.
    let m = Cam::default()
        .map(&net, &x, &Target::class(0).with_score(Score::SumOfLogits))
        .unwrap();
    let sum: Vec<f32> = (0..4)
        .map(|i| (0..3).map(|c| hand_cam(c)[i]).sum())
        .collect();
    assert_close(&flat(&m.map), &sum, 1e-6);
}

#[test]
fn grad_cam_is_relu_of_cam_over_z_on_a_gap_head() {
    let net = gap_net(W);
    let x = t(&X, &[1, 1, 2, 2]);
    for c in 0..3 {
        let target = Target::class(c);
        let g = GradCam::new("relu1").map(&net, &x, &target).unwrap();
        let expected: Vec<f32> = hand_cam(c).iter().map(|v| v.max(0.0) / 4.0).collect();
        assert_close(&flat(&g.map), &expected, 1e-6);
        // α_k = W_ck / Z.
        assert_close(
            &flat(&g.weights),
            &[W[2 * c] / 4.0, W[2 * c + 1] / 4.0],
            1e-6,
        );
        // Without the final ReLU, Grad-CAM is exactly CAM / Z.
        let signed = GradCam {
            relu: false,
            ..GradCam::new("relu1")
        }
        .map(&net, &x, &target)
        .unwrap();
        let cam: Vec<f32> = hand_cam(c).iter().map(|v| v / 4.0).collect();
        assert_close(&flat(&signed.map), &cam, 1e-6);
    }
}

#[test]
fn grad_cam_is_proportional_to_cam_on_a_random_gap_network() {
    // Zoo model G's architecture (GAP over 10×10×128, linear head) with random weights.
    let net = Network::init(&zoo::spec("G").unwrap(), 3, &Device::Cpu).unwrap();
    let mut rng = Rng::new(5);
    let x = random(&mut rng, &[3, 1, 40, 40]);
    let target = Target::classes(vec![1, 4, 9]);
    let cam = Cam::default().map(&net, &x, &target).unwrap();
    let gc = GradCam::default().map(&net, &x, &target).unwrap();
    assert_eq!(gc.layer, "relu3");
    assert_eq!(gc.map.dims(), &[3, 1, 10, 10]);
    let expected = (cam.map.relu().unwrap() / 100.0).unwrap();
    let (a, b) = (flat(&gc.map), flat(&expected));
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-5 * scale, "{x} vs {y}");
    }
}

#[test]
fn upsampling_matches_hand_computed_values() {
    // [[0, 1], [2, 3]] → 3×3 with aligned corners: corners kept, midpoints averaged.
    let m = t(&[0., 1., 2., 3.], &[1, 1, 2, 2]);
    let up = upsample_bilinear(&m, (3, 3), Corners::Aligned).unwrap();
    assert_close(&flat(&up), &[0., 0.5, 1., 1., 1.5, 2., 2., 2.5, 3.], 1e-6);
    // Half-pixel centres to 4×4: source coordinates (i + ½)/2 − ½ = −¼ → 0, ¼, ¾, 5/4 → 1.
    // Value at (r, c) = 2r + c.
    let up = upsample_bilinear(&m, (4, 4), Corners::HalfPixel).unwrap();
    let p = [0.0f32, 0.25, 0.75, 1.0];
    let expected: Vec<f32> = p
        .iter()
        .flat_map(|r| p.iter().map(move |c| 2.0 * r + c))
        .collect();
    assert_close(&flat(&up), &expected, 1e-6);
    // A 1×1 map becomes a constant; any map to its own size is unchanged.
    let one = upsample_bilinear(&t(&[2.5], &[1, 1, 1, 1]), (3, 2), Corners::Aligned).unwrap();
    assert_close(&flat(&one), &[2.5; 6], 0.0);
    let same = upsample_bilinear(&m, (2, 2), Corners::HalfPixel).unwrap();
    assert_close(&flat(&same), &flat(&m), 1e-6);
    assert!(upsample_bilinear(&m, (0, 4), Corners::Aligned).is_err());
}

#[test]
fn upsampling_agrees_with_candles_kernel() {
    let mut rng = Rng::new(1);
    let m = random(&mut rng, &[2, 3, 10, 10]);
    for (corners, align) in [(Corners::Aligned, true), (Corners::HalfPixel, false)] {
        let ours = upsample_bilinear(&m, (40, 40), corners).unwrap();
        let theirs = m.upsample_bilinear2d(40, 40, align).unwrap();
        assert_close(&flat(&ours), &flat(&theirs), 1e-5);
    }
}

#[test]
fn attribute_returns_input_sized_single_channel_maps_for_batches() {
    let net = Network::init(&zoo::spec("H").unwrap(), 2, &Device::Cpu).unwrap();
    let mut rng = Rng::new(7);
    let x = random(&mut rng, &[3, 1, 40, 40]);
    let target = Target::classes(vec![0, 5, 7]);
    for method in [
        &GradCam::default() as &dyn Attribution,
        &GradCamPlusPlus::default(),
        &GradCam::new("pool2"),
    ] {
        let batch = method.attribute(&net, &x, &target).unwrap();
        assert_eq!(batch.dims(), &[3, 1, 40, 40]);
        // A batch gives the same maps as its examples one by one.
        for (n, c) in [0usize, 5, 7].into_iter().enumerate() {
            let xn = x.narrow(0, n, 1).unwrap();
            let one = method.attribute(&net, &xn, &Target::class(c)).unwrap();
            assert_close(&flat(&batch.narrow(0, n, 1).unwrap()), &flat(&one), 1e-4);
        }
    }
    let g = Network::init(&zoo::spec("G").unwrap(), 2, &Device::Cpu).unwrap();
    let cam = Cam::default().attribute(&g, &x, &target).unwrap();
    assert_eq!(cam.dims(), &[3, 1, 40, 40]);
}

#[test]
fn grad_cam_pp_alpha_matches_the_closed_form_and_vanishes_without_gradient() {
    // One channel, S = 1 + 2 + 3 + 4 = 10. g = (0.1, 0, −0.2, 0.05):
    // α = 1/(2 + 10·0.1) = 1/3, 0 (g = 0), 0 (g < 0), 1/(2 + 10·0.05) = 0.4.
    let a = t(&[1., 2., 3., 4.], &[1, 1, 2, 2]);
    let g = t(&[0.1, 0.0, -0.2, 0.05], &[1, 1, 2, 2]);
    let alpha = GradCamPlusPlus::alpha(&a, &g).unwrap();
    assert_close(&flat(&alpha), &[1.0 / 3.0, 0.0, 0.0, 0.4], 1e-6);
    // The unsimplified form g²/(2g² + S g³) agrees where g > 0.
    for (gv, av) in [(0.1f32, 1.0 / 3.0), (0.05, 0.4)] {
        let full = gv * gv / (2.0 * gv * gv + 10.0 * gv.powi(3));
        assert!((full - av).abs() < 1e-6);
    }
    // Negative activations: 2 + S g ≤ 0 must not produce an infinite or negative weight.
    let a = t(&[-10., -10., 0., 0.], &[1, 1, 2, 2]);
    let g = t(&[0.1, 0.2, 0.3, 0.0], &[1, 1, 2, 2]);
    let alpha = flat(&GradCamPlusPlus::alpha(&a, &g).unwrap());
    // S = −20: d = 2 − 2 = 0, 2 − 4 < 0, 2 − 6 < 0 → all 0.
    assert_close(&alpha, &[0.0, 0.0, 0.0, 0.0], 0.0);
    assert!(GradCamPlusPlus::alpha(&a, &g.reshape((1, 4)).unwrap()).is_err());
}

#[test]
fn grad_cam_pp_is_zero_where_the_gradient_is_zero() {
    // Class 2 of this head ignores channel 1 (W_21 = 0): that channel's gradient, α and
    // weight are exactly zero. A class with W_c = 0 has a zero gradient everywhere: the whole
    // map is zero (and finite — the unguarded 0/0 of the original would give NaN).
    let net = gap_net([1.0, 0.5, -1.0, 2.0, 0.5, 0.0]);
    let x = t(&X, &[1, 1, 2, 2]);
    let m = GradCamPlusPlus::new("relu1")
        .map(&net, &x, &Target::class(2))
        .unwrap();
    let w = flat(&m.weights);
    assert_eq!(w[1], 0.0);
    assert!(w[0] > 0.0);
    let zero = gap_net([1.0, 0.5, -1.0, 2.0, 0.0, 0.0]);
    let m = GradCamPlusPlus::new("relu1")
        .map(&zero, &x, &Target::class(2))
        .unwrap();
    assert!(flat(&m.map).iter().all(|v| *v == 0.0));
    assert!(flat(&m.weights).iter().all(|v| *v == 0.0));
}

#[test]
fn grad_cam_pp_matches_hand_weights_and_stays_finite_for_huge_logits() {
    // Class 0: g = (W_00, W_01)/4 = (0.25, 0.125) at every location; S₀ = Σ 2x = 4.4,
    // S₁ = Σ (1 − x) = 1.8. w_k = 4 · g_k / (2 + S_k g_k).
    let net = gap_net(W);
    let x = t(&X, &[1, 1, 2, 2]);
    let m = GradCamPlusPlus::new("relu1")
        .map(&net, &x, &Target::class(0))
        .unwrap();
    let w0 = 4.0 * 0.25 / (2.0 + 4.4 * 0.25);
    let w1 = 4.0 * 0.125 / (2.0 + 1.8 * 0.125);
    assert_close(&flat(&m.weights), &[w0, w1], 1e-5);
    let expected: Vec<f32> = X
        .iter()
        .map(|x| (w0 * 2.0 * x + w1 * (1.0 - x)).max(0.0))
        .collect();
    assert_close(&flat(&m.map), &expected, 1e-5);
    // Logits of ~1e4: exp(s) overflows f32, the stabilised map does not.
    let big = gap_net(W.map(|w| w * 1e4));
    let m = GradCamPlusPlus::new("relu1")
        .map(&big, &x, &Target::class(0))
        .unwrap();
    assert!(flat(&m.score)[0] > 1e3);
    let v = flat(&m.map);
    assert!(v.iter().all(|v| v.is_finite() && *v >= 0.0));
    assert!(v.iter().any(|v| *v > 0.0));
}

#[test]
fn bad_layers_and_networks_give_errors_that_name_the_reason() {
    let h = Network::init(&zoo::spec("H").unwrap(), 0, &Device::Cpu).unwrap();
    let x = Tensor::zeros((1, 1, 40, 40), DType::F32, &Device::Cpu).unwrap();
    let target = Target::class(3);
    let e = GradCam::new("conv9")
        .attribute(&h, &x, &target)
        .unwrap_err()
        .to_string();
    assert!(e.contains("grad_cam") && e.contains("conv9"), "{e}");
    assert!(e.contains("conv1, relu1, pool1"), "{e}");
    let e = GradCamPlusPlus::new("fc4")
        .attribute(&h, &x, &target)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not a feature map") && e.contains("relu3"),
        "{e}"
    );
    // CAM on H (flatten → FC 625 → ReLU → FC 10) names the missing head.
    let e = Cam::default()
        .attribute(&h, &x, &target)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("global average pooling") && e.contains("relu4"),
        "{e}"
    );
    // CAM only explains logits.
    let g = Network::init(&zoo::spec("G").unwrap(), 0, &Device::Cpu).unwrap();
    let e = Cam::default()
        .attribute(&g, &x, &target.clone().with_score(Score::Softmax))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Softmax"), "{e}");
    // Wrong input shape, bad class.
    let x28 = Tensor::zeros((1, 1, 28, 28), DType::F32, &Device::Cpu).unwrap();
    assert!(GradCam::default().attribute(&h, &x28, &target).is_err());
    assert!(GradCam::default()
        .attribute(&h, &x, &Target::class(10))
        .is_err());
    // A network whose last layer is not linear (model F ends in GAP).
    let f = Network::init(&zoo::spec("F").unwrap(), 0, &Device::Cpu).unwrap();
    let e = Cam::default()
        .attribute(&f, &x28, &target)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not linear"), "{e}");
}

#[test]
fn xgrad_cam_weights_by_hand_and_equals_grad_cam_on_a_gap_head() {
    // Two channels of 2 × 2: w_0 = (1·1 + 3·(−1)) / 4 = −0.5 (g weighted by A), the empty
    // channel gets 0 whatever its gradient.
    let a = t(&[1.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0], &[1, 2, 2, 2]);
    let g = t(&[1.0, 5.0, -1.0, 2.0, 7.0, 7.0, 7.0, 7.0], &[1, 2, 2, 2]);
    assert_close(
        &flat(&XGradCam::weights(&a, &g).unwrap()),
        &[-0.5, 0.0],
        1e-7,
    );
    assert!(XGradCam::weights(&a, &g.narrow(1, 0, 1).unwrap()).is_err());
    // On a GAP + linear head the gradient is W_ck / Z everywhere, so the A-weighted mean is the
    // plain mean: XGrad-CAM = Grad-CAM.
    let net = gap_net(W);
    let x = t(&X, &[1, 1, 2, 2]);
    for c in 0..3 {
        let xg = XGradCam::new("relu1")
            .map(&net, &x, &Target::class(c))
            .unwrap();
        let gc = GradCam::new("relu1")
            .map(&net, &x, &Target::class(c))
            .unwrap();
        assert_close(&flat(&xg.weights), &flat(&gc.weights), 1e-6);
        assert_close(&flat(&xg.map), &flat(&gc.map), 1e-6);
    }
}

#[test]
fn xgrad_cam_conserves_the_logit_on_a_bias_free_network() {
    // Zoo model H's architecture has no biases: above relu3 the logit is positively homogeneous
    // in A, so Σ_ij of the signed map is the logit itself. Grad-CAM's is not.
    let net = Network::init(&zoo::spec("H").unwrap(), 7, &Device::Cpu).unwrap();
    let mut rng = Rng::new(8);
    let x = random(&mut rng, &[3, 1, 40, 40]);
    let target = Target::classes(vec![0, 3, 8]);
    let signed = XGradCam {
        relu: false,
        ..XGradCam::new("relu3")
    };
    let m = signed.map(&net, &x, &target).unwrap();
    let sums = flat(&m.map.sum((1, 2, 3)).unwrap());
    assert_close(&sums, &flat(&m.score), 1e-4);
    let gc = GradCam {
        relu: false,
        ..GradCam::new("relu3")
    }
    .map(&net, &x, &target)
    .unwrap();
    let gc_sums = flat(&gc.map.sum((1, 2, 3)).unwrap());
    assert!(gc_sums
        .iter()
        .zip(flat(&m.score))
        .any(|(a, s)| (a - s).abs() > 1e-2 * s.abs().max(1e-3)));
    // The attribution is the ReLU'd map stretched to the input: [N, 1, 40, 40].
    let up = XGradCam::new("relu3").attribute(&net, &x, &target).unwrap();
    assert_eq!(up.dims(), &[3, 1, 40, 40]);
}
