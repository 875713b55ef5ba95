//! CAM, Grad-CAM, Grad-CAM++, XGrad-CAM, HiResCAM, LayerCAM and Score-CAM on hand-set
//! networks, and bilinear upsampling against hand-computed values and candle's own kernel.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::*;
use crate::attribution::{Attribution, Score};
use crate::model::Padding;
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
/// [0, 1] simply 2x and 1 − x; relu1; then the `head` layers and fc (no bias) from `features`
/// to `classes` with weight `fc`.
fn two_channel_net(
    name: &str,
    head: &[(&str, LayerSpec)],
    (features, classes): (usize, usize),
    fc: &[f32],
) -> Network {
    let mut spec = NetworkSpec::new(name, [1, 2, 2])
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
        .push("relu1", LayerSpec::Relu);
    for (layer, kind) in head {
        spec = spec.push(layer, kind.clone());
    }
    let spec = spec.push(
        "fc",
        LayerSpec::Linear {
            in_features: features,
            out_features: classes,
            bias: false,
        },
    );
    let params = HashMap::from([
        ("conv1.weight".to_string(), t(&[2., -1.], &[2, 1, 1, 1])),
        ("conv1.bias".to_string(), t(&[0., 1.], &[2])),
        ("fc.weight".to_string(), t(fc, &[classes, features])),
    ]);
    Network::from_parts(&spec, params).unwrap()
}

/// [`two_channel_net`] with GAP, flatten and fc (2 → 3) with W = `w`.
/// Logit c = W_c0 · mean(2x) + W_c1 · mean(1 − x), and CAM_c(i,j) = W_c0 · 2x_ij + W_c1 (1 − x_ij).
fn gap_net(w: [f32; 6]) -> Network {
    two_channel_net(
        "gap",
        &[
            ("gap", LayerSpec::GlobalAvgPool),
            ("flatten", LayerSpec::Flatten),
        ],
        (2, 3),
        &w,
    )
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
        &HiResCam::default(),
        &LayerCam::new("relu2"),
        &ScoreCam {
            batch_size: 50,
            ..ScoreCam::default()
        },
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

/// [`two_channel_net`] with flatten and fc (8 → 2) with weight `v`: logit
/// c = Σ_{k,p} v[c][4k + p] A_k(p), so ∂z_c/∂A_k(p) = v[c][4k + p] differs between locations.
fn flat_net(v: [f32; 16]) -> Network {
    two_channel_net("flat", &[("flatten", LayerSpec::Flatten)], (8, 2), &v)
}

/// Class 0 has gradients of both signs, class 1 only non-negative ones.
const V: [f32; 16] = [
    1.0, -2.0, 0.5, 1.0, -1.0, 3.0, 2.0, -0.5, // class 0: channel 0, then channel 1
    0.5, 0.0, 1.0, 2.0, 1.0, 1.0, 0.0, 0.25, // class 1
];

/// A₀ = 2x and A₁ = 1 − x at the four locations of `X`.
fn flat_activations() -> [[f32; 4]; 2] {
    [X.map(|x| 2.0 * x), X.map(|x| 1.0 - x)]
}

#[test]
fn hires_cam_and_layer_cam_match_hand_computation() {
    // A₀ = (0.2, 0.8, 1.4, 2.0), A₁ = (0.9, 0.6, 0.3, 0.0). Class 0, location by location:
    // HiResCAM  0.2·1 + 0.9·(−1) = −0.7, 0.8·(−2) + 0.6·3 = 0.2, 1.4·0.5 + 0.3·2 = 1.3, 2·1 + 0 = 2;
    // LayerCAM  0.2·1 = 0.2, 0.6·3 = 1.8, 1.4·0.5 + 0.3·2 = 1.3, 2·1 = 2.
    let net = flat_net(V);
    let x = t(&X, &[1, 1, 2, 2]);
    let target = Target::class(0);
    let hi = HiResCam::new("relu1").map(&net, &x, &target).unwrap();
    assert_eq!(hi.layer, "relu1");
    assert_eq!(hi.map.dims(), &[1, 1, 2, 2]);
    assert_close(&flat(&hi.map), &[0.0, 0.2, 1.3, 2.0], 1e-6);
    // The location weights are the gradient, shaped like A.
    assert_eq!(hi.weights.dims(), &[1, 2, 2, 2]);
    assert_close(&flat(&hi.weights), &V[..8], 1e-6);
    let signed = HiResCam {
        relu: false,
        ..HiResCam::new("relu1")
    }
    .map(&net, &x, &target)
    .unwrap();
    assert_close(&flat(&signed.map), &[-0.7, 0.2, 1.3, 2.0], 1e-6);
    let lc = LayerCam::new("relu1").map(&net, &x, &target).unwrap();
    assert_close(&flat(&lc.map), &[0.2, 1.8, 1.3, 2.0], 1e-6);
    let relu_v: Vec<f32> = V[..8].iter().map(|v| v.max(0.0)).collect();
    assert_close(&flat(&lc.weights), &relu_v, 0.0);
    // The same from the definition for both classes, and Grad-CAM from the spatial means.
    let a = flat_activations();
    for c in 0..2 {
        let g = |k: usize, p: usize| V[8 * c + 4 * k + p];
        let hires: Vec<f32> = (0..4)
            .map(|p| (0..2).map(|k| g(k, p) * a[k][p]).sum::<f32>().max(0.0))
            .collect();
        let layer: Vec<f32> = (0..4)
            .map(|p| (0..2).map(|k| g(k, p).max(0.0) * a[k][p]).sum::<f32>())
            .collect();
        let mean = |k: usize| (0..4).map(|p| g(k, p)).sum::<f32>() / 4.0;
        let grad: Vec<f32> = (0..4)
            .map(|p| (0..2).map(|k| mean(k) * a[k][p]).sum::<f32>().max(0.0))
            .collect();
        let target = Target::class(c);
        let m = |method: &dyn Fn() -> CamMap| flat(&method().map);
        assert_close(
            &m(&|| HiResCam::new("relu1").map(&net, &x, &target).unwrap()),
            &hires,
            1e-6,
        );
        assert_close(
            &m(&|| LayerCam::new("relu1").map(&net, &x, &target).unwrap()),
            &layer,
            1e-6,
        );
        assert_close(
            &m(&|| GradCam::new("relu1").map(&net, &x, &target).unwrap()),
            &grad,
            1e-6,
        );
    }
    // Class 0: Grad-CAM's means (−0.25/4·…) differ from the location weights: the maps differ.
    let gc = GradCam::new("relu1").map(&net, &x, &target).unwrap();
    assert!(flat(&gc.map)
        .iter()
        .zip(flat(&hi.map))
        .any(|(a, b)| (a - b).abs() > 0.1));
}

#[test]
fn layer_cam_equals_hires_cam_where_every_gradient_is_non_negative() {
    // Class 1 of the hand network has ∂z/∂A ≥ 0 everywhere.
    let net = flat_net(V);
    let x = t(&[0.3, 0.9, 0.0, 0.5, 0.2, 0.6, 1.0, 0.1], &[2, 1, 2, 2]);
    let target = Target::class(1);
    let hi = HiResCam::new("relu1").map(&net, &x, &target).unwrap();
    let lc = LayerCam::new("relu1").map(&net, &x, &target).unwrap();
    assert_close(&flat(&lc.map), &flat(&hi.map), 0.0);
    assert_close(&flat(&lc.weights), &flat(&hi.weights), 0.0);
    // Class 0 has negative gradients: there the two differ.
    let hi0 = HiResCam::new("relu1")
        .map(&net, &x, &Target::class(0))
        .unwrap();
    let lc0 = LayerCam::new("relu1")
        .map(&net, &x, &Target::class(0))
        .unwrap();
    assert!(flat(&lc0.map)
        .iter()
        .zip(flat(&hi0.map))
        .any(|(a, b)| (a - b).abs() > 0.1));
    // LayerCAM is never below HiResCAM for non-negative activations.
    assert!(flat(&lc0.map)
        .iter()
        .zip(flat(&hi0.map))
        .all(|(l, h)| *l >= h - 1e-6));
}

#[test]
fn hires_cam_is_grad_cam_on_a_gap_head() {
    // ∂z_c/∂A_k(i,j) = W_ck / Z at every location: the location weights are their own mean, and
    // HiResCAM = Grad-CAM = ReLU(CAM) / Z — by hand on the small head, numerically on G.
    let net = gap_net(W);
    let x = t(&X, &[1, 1, 2, 2]);
    for c in 0..3 {
        let target = Target::class(c);
        let hi = HiResCam::new("relu1").map(&net, &x, &target).unwrap();
        let expected: Vec<f32> = hand_cam(c).iter().map(|v| v.max(0.0) / 4.0).collect();
        assert_close(&flat(&hi.map), &expected, 1e-6);
        let w: Vec<f32> = [W[2 * c] / 4.0, W[2 * c + 1] / 4.0]
            .iter()
            .flat_map(|w| [*w; 4])
            .collect();
        assert_close(&flat(&hi.weights), &w, 1e-6);
    }
    let g = Network::init(&zoo::spec("G").unwrap(), 3, &Device::Cpu).unwrap();
    let mut rng = Rng::new(11);
    let x = random(&mut rng, &[3, 1, 40, 40]);
    let target = Target::classes(vec![2, 6, 9]);
    let hi = HiResCam::default().map(&g, &x, &target).unwrap();
    let gc = GradCam::default().map(&g, &x, &target).unwrap();
    assert_eq!(hi.layer, "relu3");
    let (a, b) = (flat(&hi.map), flat(&gc.map));
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-5 * scale, "{x} vs {y}");
    }
}

#[test]
fn signed_hires_cam_sums_to_activation_times_gradient_and_to_the_logit() {
    // Zoo model H's architecture has no biases: above relu3 the logit is positively homogeneous
    // in A (Euler: z = Σ A ⊙ ∂z/∂A), so the signed map sums to the logit.
    let net = Network::init(&zoo::spec("H").unwrap(), 7, &Device::Cpu).unwrap();
    let mut rng = Rng::new(9);
    let x = random(&mut rng, &[3, 1, 40, 40]);
    let target = Target::classes(vec![1, 4, 8]);
    let m = HiResCam {
        relu: false,
        ..HiResCam::new("relu3")
    }
    .map(&net, &x, &target)
    .unwrap();
    let sums = flat(&m.map.sum((1, 2, 3)).unwrap());
    let i = net.layer_index("relu3").unwrap();
    let lg = crate::grad::layer_vjp(&net, &x, i, &target).unwrap();
    let ag = flat(&(&lg.activation * &lg.grad).unwrap().sum((1, 2, 3)).unwrap());
    assert_close(&sums, &ag, 1e-5);
    assert_close(&sums, &flat(&m.score), 1e-4);
    assert_close(&flat(&m.weights), &flat(&lg.grad), 0.0);
    // With the ReLU: the positive part, and [N, 1, 40, 40] from attribute.
    let pos = HiResCam::new("relu3").map(&net, &x, &target).unwrap();
    assert_close(&flat(&pos.map), &flat(&m.map.relu().unwrap()), 0.0);
    let up = HiResCam::new("relu3").attribute(&net, &x, &target).unwrap();
    assert_eq!(up.dims(), &[3, 1, 40, 40]);
}

#[test]
fn score_cam_masks_are_normalised_channels_and_zero_for_constant_ones() {
    // Channel 0 spans [1, 4]: (a − 1)/3; channel 1 is constant: all zeros; channel 2 is 0/1.
    let a = t(
        &[1., 2., 3., 4., 0.5, 0.5, 0.5, 0.5, 0., 1., 0., 0.],
        &[1, 3, 2, 2],
    );
    let m = ScoreCam::masks(&a, (2, 2), Corners::Aligned).unwrap();
    assert_close(
        &flat(&m),
        &[0., 1. / 3., 2. / 3., 1., 0., 0., 0., 0., 0., 1., 0., 0.],
        1e-6,
    );
    // Upsampled 2×2 → 3×3 with aligned corners: the corners keep 0 and 1, the centre is ½.
    let up = ScoreCam::masks(&a.narrow(1, 0, 1).unwrap(), (3, 3), Corners::Aligned).unwrap();
    assert_close(
        &flat(&up),
        &[
            0.,
            1. / 6.,
            1. / 3.,
            1. / 3.,
            0.5,
            2. / 3.,
            2. / 3.,
            5. / 6.,
            1.,
        ],
        1e-6,
    );
    let v = flat(
        &ScoreCam::masks(
            &random(&mut Rng::new(2), &[2, 5, 4, 4]),
            (9, 7),
            Corners::HalfPixel,
        )
        .unwrap(),
    );
    assert!(v.iter().all(|v| (0.0..=1.0).contains(v)));
}

/// The logits of [`gap_net`] at one 2×2 input, written out: z_c = W_c0 mean(ReLU(2x)) +
/// W_c1 mean(ReLU(1 − x)).
fn gap_logits(x: &[f32]) -> [f32; 3] {
    let m0 = x.iter().map(|x| (2.0 * x).max(0.0)).sum::<f32>() / 4.0;
    let m1 = x.iter().map(|x| (1.0 - x).max(0.0)).sum::<f32>() / 4.0;
    [0, 1, 2].map(|c| W[2 * c] * m0 + W[2 * c + 1] * m1)
}

#[test]
fn score_cam_matches_hand_computation() {
    // At relu1 (2×2, the input's size: upsampling changes nothing) the masks are
    // M₀ = (A₀ − 0.2)/1.8 = (0, ⅓, ⅔, 1) and M₁ = (A₁ − 0)/0.9 = (1, ⅔, ⅓, 0).
    let net = gap_net(W);
    let x = t(&X, &[1, 1, 2, 2]);
    let masks = [
        [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0],
        [1.0, 2.0 / 3.0, 1.0 / 3.0, 0.0],
    ];
    let a = flat_activations();
    for c in 0..3 {
        let f: Vec<f32> = masks
            .iter()
            .map(|m| {
                let xm: Vec<f32> = X.iter().zip(m).map(|(x, m)| x * m).collect();
                gap_logits(&xm)[c]
            })
            .collect();
        let e: Vec<f32> = f.iter().map(|v| v.exp()).collect();
        let w = [e[0] / (e[0] + e[1]), e[1] / (e[0] + e[1])];
        let map: Vec<f32> = (0..4)
            .map(|p| (w[0] * a[0][p] + w[1] * a[1][p]).max(0.0))
            .collect();
        let m = ScoreCam::new("relu1")
            .map(&net, &x, &Target::class(c))
            .unwrap();
        assert_eq!(m.weights.dims(), &[1, 2]);
        assert_close(&flat(&m.weights), &w, 1e-6);
        assert_close(&flat(&m.map), &map, 1e-6);
        assert_close(&flat(&m.score), &[gap_logits(&X)[c]], 1e-6);
        // Without the softmax the weights are the raw scores.
        let raw = ScoreCam {
            softmax: false,
            ..ScoreCam::new("relu1")
        }
        .map(&net, &x, &Target::class(c))
        .unwrap();
        assert_close(&flat(&raw.weights), &f, 1e-6);
    }
}

#[test]
fn score_cam_matches_brute_force_masking_in_any_batching() {
    // Model H's architecture at relu2 (64 channels of 20×20, upsampled to 40×40): every channel's
    // mask built and scored one input at a time, against the batched method.
    let net = Network::init(&zoo::spec("H").unwrap(), 3, &Device::Cpu).unwrap();
    let mut rng = Rng::new(4);
    let x = random(&mut rng, &[2, 1, 40, 40]);
    let classes = [3usize, 7];
    let l = net.layer_index("relu2").unwrap();
    let a = net.forward_range(&x, 0..l + 1).unwrap();
    let k = a.dim(1).unwrap();
    let mut expected_w = Vec::new();
    for (n, &c) in classes.iter().enumerate() {
        let mut f = Vec::with_capacity(k);
        for ch in 0..k {
            let ak = a.narrow(0, n, 1).unwrap().narrow(1, ch, 1).unwrap();
            let up = flat(&upsample_bilinear(&ak, (40, 40), Corners::Aligned).unwrap());
            let (lo, hi) = up
                .iter()
                .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
            let mask: Vec<f32> = up
                .iter()
                .map(|v| if hi > lo { (v - lo) / (hi - lo) } else { 0.0 })
                .collect();
            let xn = flat(&x.narrow(0, n, 1).unwrap());
            let xm: Vec<f32> = xn.iter().zip(&mask).map(|(x, m)| x * m).collect();
            let z = flat(&net.forward(&t(&xm, &[1, 1, 40, 40])).unwrap());
            f.push(z[c]);
        }
        let top = f.iter().fold(f32::MIN, |m, v| m.max(*v));
        let e: Vec<f32> = f.iter().map(|v| (v - top).exp()).collect();
        let total: f32 = e.iter().sum();
        expected_w.extend(e.iter().map(|v| v / total));
    }
    let target = Target::classes(classes.to_vec());
    let mut maps = Vec::new();
    for batch_size in [1, 7, 500] {
        let m = ScoreCam {
            batch_size,
            ..ScoreCam::new("relu2")
        }
        .map(&net, &x, &target)
        .unwrap();
        let w = flat(&m.weights);
        assert_close(&w, &expected_w, 1e-5);
        for n in 0..2 {
            let total: f32 = w[n * k..(n + 1) * k].iter().sum();
            assert!((total - 1.0).abs() < 1e-5, "weights sum to {total}");
        }
        maps.push(flat(&m.map));
    }
    assert_close(&maps[0], &maps[2], 1e-6);
    assert_close(&maps[1], &maps[2], 1e-6);
    // The map is ReLU(Σ_k w_k A_k), and attribute stretches it to [N, 1, 40, 40].
    let w = t(&expected_w, &[2, k]);
    let by_hand = a
        .broadcast_mul(&w.reshape((2, k, 1, 1)).unwrap())
        .unwrap()
        .sum_keepdim(1)
        .unwrap()
        .relu()
        .unwrap();
    assert_close(&maps[2], &flat(&by_hand), 1e-5);
    let up = ScoreCam::new("relu2").attribute(&net, &x, &target).unwrap();
    assert_eq!(up.dims(), &[2, 1, 40, 40]);
}

#[test]
fn location_and_score_cams_reject_layers_without_feature_maps() {
    let h = Network::init(&zoo::spec("H").unwrap(), 0, &Device::Cpu).unwrap();
    let x = Tensor::zeros((1, 1, 40, 40), DType::F32, &Device::Cpu).unwrap();
    let target = Target::class(3);
    for (op, method) in [
        ("hires_cam", &HiResCam::new("fc4") as &dyn Attribution),
        ("layer_cam", &LayerCam::new("fc4")),
        ("score_cam", &ScoreCam::new("fc4")),
    ] {
        let e = method.attribute(&h, &x, &target).unwrap_err().to_string();
        assert!(
            e.contains(op) && e.contains("not a feature map") && e.contains("relu3"),
            "{e}"
        );
        let empty = x.narrow(0, 0, 0).unwrap();
        let e = method
            .attribute(&h, &empty, &target)
            .unwrap_err()
            .to_string();
        assert!(e.contains(op) && e.contains("the batch is empty"), "{e}");
    }
    let e = ScoreCam::new("conv9")
        .attribute(&h, &x, &target)
        .unwrap_err()
        .to_string();
    assert!(e.contains("conv9"), "{e}");
    // Location weights must match the activations' shape.
    let a = Tensor::zeros((1, 2, 3, 3), DType::F32, &Device::Cpu).unwrap();
    let w = Tensor::zeros((1, 2, 3, 2), DType::F32, &Device::Cpu).unwrap();
    assert!(weighted_sum(&a, &w).is_err());
}

#[test]
fn guided_grad_cam_matches_hand_computation() {
    // gap_net, class 0: ∂z₀/∂A = (W₀₀, W₀₁)/4 = (0.25, 0.125) everywhere, both positive, so guided
    // backprop passes them where the ReLU is open: GB = 2·0.25 − 0.125·1[1 − x > 0], i.e. 0.375
    // where x < 1 and 0.5 at x = 1. Grad-CAM = ReLU(1.5x + 0.5)/4 at the input's own 2×2 size.
    let net = gap_net(W);
    let x = t(&X, &[1, 1, 2, 2]);
    let got = GuidedGradCam::default()
        .attribute(&net, &x, &Target::class(0))
        .unwrap();
    assert_eq!(got.dims(), &[1, 1, 2, 2]);
    let want: Vec<f32> = X
        .iter()
        .map(|&x| {
            let gb = if x < 1.0 { 0.375 } else { 0.5 };
            gb * (1.5 * x + 0.5) / 4.0
        })
        .collect();
    assert_close(&flat(&got), &want, 1e-6);
}

#[test]
fn guided_grad_cam_is_guided_backprop_times_the_stretched_grad_cam() {
    let net = Network::init(&zoo::spec("H").unwrap(), 4, &Device::Cpu).unwrap();
    let x = random(&mut Rng::new(8), &[2, 1, 40, 40]);
    let target = Target::classes(vec![2, 7]);
    for relu in [true, false] {
        let ggc = GuidedGradCam {
            grad_cam: GradCam {
                relu,
                corners: Corners::HalfPixel,
                ..GradCam::new("relu3")
            },
        };
        let got = ggc.attribute(&net, &x, &target).unwrap();
        let gb = crate::relevance::GuidedBackprop
            .attribute(&net, &x, &target)
            .unwrap();
        let cam = ggc.grad_cam.attribute(&net, &x, &target).unwrap();
        assert_eq!(got.dims(), x.dims());
        assert_close(
            &flat(&got),
            &flat(&(gb * cam.broadcast_as(x.dims()).unwrap()).unwrap()),
            1e-6,
        );
    }
    assert!(GuidedGradCam::new("fc5")
        .attribute(&net, &x, &target)
        .unwrap_err()
        .to_string()
        .contains("not a feature map"));
}
