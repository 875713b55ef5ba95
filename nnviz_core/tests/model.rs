//! Networks: hand-computed forwards, SAME padding and pooling against direct loops, zoo shapes,
//! model files.

use std::collections::HashMap;

use nnviz_core::candle::{Device, Tensor};
use nnviz_core::model::{Layer, LayerSpec, Network, NetworkSpec, Padding};
use nnviz_core::{zoo, Rng};

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape, &dev()).unwrap()
}

fn flat(x: &Tensor) -> Vec<f32> {
    x.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn assert_close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let scale = 1f32.max(x.abs()).max(y.abs());
        assert!((x - y).abs() <= tol * scale, "element {i}: {x} vs {y}");
    }
}

#[test]
fn hand_computed_mlp() {
    // x = (1, 2); z1 = W1 x + b1 = (1−2+0, 2+2−1) = (−1, 3); a1 = (0, 3); y = 1·0 + 1·3 + 0.5 = 3.5
    let spec = NetworkSpec::new("tiny", [1, 1, 2])
        .push("flatten", LayerSpec::Flatten)
        .push(
            "fc1",
            LayerSpec::Linear {
                in_features: 2,
                out_features: 2,
                bias: true,
            },
        )
        .push("relu1", LayerSpec::Relu)
        .push(
            "fc2",
            LayerSpec::Linear {
                in_features: 2,
                out_features: 1,
                bias: true,
            },
        );
    let params = HashMap::from([
        ("fc1.weight".to_string(), t(&[1., -1., 2., 1.], &[2, 2])),
        ("fc1.bias".to_string(), t(&[0., -1.], &[2])),
        ("fc2.weight".to_string(), t(&[1., 1.], &[1, 2])),
        ("fc2.bias".to_string(), t(&[0.5], &[1])),
    ]);
    let net = Network::from_parts(&spec, params).unwrap();
    let y = net.forward(&t(&[1., 2.], &[1, 1, 1, 2])).unwrap();
    assert_eq!(flat(&y), vec![3.5]);
    let trace = net.forward_trace(&t(&[1., 2.], &[1, 1, 1, 2])).unwrap();
    assert_eq!(trace.activations.len(), 5);
    assert_eq!(flat(&trace.activations[2]), vec![-1., 3.]);
    assert_eq!(flat(&trace.activations[3]), vec![0., 3.]);
    // forward_range from the ReLU output reproduces the logits
    let y2 = net.forward_range(&trace.activations[3], 3..4).unwrap();
    assert_eq!(flat(&y2), vec![3.5]);
    assert!(net.forward_range(&trace.activations[3], 3..9).is_err());
}

#[test]
fn hand_computed_same_conv_and_pools() {
    let x = t(&[1., 2., 3., 4., 5., 6., 7., 8., 9.], &[1, 1, 3, 3]);
    let ones = t(&[1.; 4], &[1, 1, 2, 2]);
    let conv = |padding| Layer::Conv2d {
        weight: ones.clone(),
        bias: None,
        stride: 1,
        padding,
    };
    assert_eq!(
        flat(&conv(Padding::Valid).forward(&x).unwrap()),
        vec![12., 16., 24., 28.]
    );
    // SAME, k = 2 on 3: one cell of padding, after (bottom/right)
    assert_eq!(
        flat(&conv(Padding::Same).forward(&x).unwrap()),
        vec![12., 16., 9., 24., 28., 15., 15., 17., 9.]
    );
    let avg = Layer::AvgPool2d {
        kernel: 2,
        stride: 2,
        padding: Padding::Same,
    };
    assert_eq!(flat(&avg.forward(&x).unwrap()), vec![3., 4.5, 7.5, 9.]);
    let max = Layer::MaxPool2d {
        kernel: 2,
        stride: 2,
        padding: Padding::Same,
    };
    assert_eq!(flat(&max.forward(&x).unwrap()), vec![5., 6., 8., 9.]);
    // padded cells never win, even when every real value is negative
    assert_eq!(
        flat(&max.forward(&x.neg().unwrap()).unwrap()),
        vec![-1., -3., -7., -9.]
    );
}

fn same_pads(n: usize, k: usize, s: usize) -> (usize, usize, usize) {
    let out = n.div_ceil(s);
    let total = ((out - 1) * s + k).saturating_sub(n);
    (total / 2, total - total / 2, out)
}

/// Direct-loop TensorFlow-SAME convolution.
#[allow(clippy::too_many_arguments)]
fn conv_ref(
    x: &[f32],
    (n, c, h, w): (usize, usize, usize, usize),
    wt: &[f32],
    (o, kh, kw): (usize, usize, usize),
    b: &[f32],
    s: usize,
) -> (Vec<f32>, usize, usize) {
    let (top, _, oh) = same_pads(h, kh, s);
    let (left, _, ow) = same_pads(w, kw, s);
    let mut y = vec![0f32; n * o * oh * ow];
    for ni in 0..n {
        for oi in 0..o {
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = b[oi];
                    for ci in 0..c {
                        for p in 0..kh {
                            for q in 0..kw {
                                let r = (i * s + p) as isize - top as isize;
                                let col = (j * s + q) as isize - left as isize;
                                if r < 0 || col < 0 || r >= h as isize || col >= w as isize {
                                    continue;
                                }
                                acc += x[((ni * c + ci) * h + r as usize) * w + col as usize]
                                    * wt[((oi * c + ci) * kh + p) * kw + q];
                            }
                        }
                    }
                    y[((ni * o + oi) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    (y, oh, ow)
}

/// Direct-loop SAME pooling over valid cells only.
fn pool_ref(
    x: &[f32],
    (n, c, h, w): (usize, usize, usize, usize),
    k: usize,
    s: usize,
    max: bool,
) -> Vec<f32> {
    let (top, _, oh) = same_pads(h, k, s);
    let (left, _, ow) = same_pads(w, k, s);
    let mut y = vec![];
    for nc in 0..n * c {
        for i in 0..oh {
            for j in 0..ow {
                let (mut best, mut sum, mut cnt) = (f32::NEG_INFINITY, 0f32, 0);
                for p in 0..k {
                    for q in 0..k {
                        let r = (i * s + p) as isize - top as isize;
                        let col = (j * s + q) as isize - left as isize;
                        if r < 0 || col < 0 || r >= h as isize || col >= w as isize {
                            continue;
                        }
                        let v = x[(nc * h + r as usize) * w + col as usize];
                        best = best.max(v);
                        sum += v;
                        cnt += 1;
                    }
                }
                y.push(if max { best } else { sum / cnt as f32 });
            }
        }
    }
    y
}

fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.normal()).collect()
}

#[test]
fn same_convolution_matches_direct_loops() {
    let mut rng = Rng::new(3);
    // (n, c, h, w, o, k, stride): symmetric, asymmetric (4×4 s2 on 7, 2×2 s2 on 7), odd sizes
    for &(n, c, h, w, o, k, s) in &[
        (2, 3, 7, 7, 4, 3, 1),
        (1, 1, 28, 28, 2, 4, 2),
        (2, 2, 7, 7, 3, 4, 2),
        (1, 3, 7, 9, 2, 2, 2),
        (1, 2, 5, 6, 2, 3, 2),
        (1, 1, 6, 5, 1, 1, 1),
    ] {
        let xv = random(&mut rng, n * c * h * w);
        let wv = random(&mut rng, o * c * k * k);
        let bv = random(&mut rng, o);
        let (want, oh, ow) = conv_ref(&xv, (n, c, h, w), &wv, (o, k, k), &bv, s);
        let layer = Layer::Conv2d {
            weight: t(&wv, &[o, c, k, k]),
            bias: Some(t(&bv, &[o])),
            stride: s,
            padding: Padding::Same,
        };
        let got = layer.forward(&t(&xv, &[n, c, h, w])).unwrap();
        assert_eq!(got.dims(), &[n, o, oh, ow]);
        assert_close(&flat(&got), &want, 1e-5);
    }
}

#[test]
fn same_pooling_matches_direct_loops() {
    let mut rng = Rng::new(4);
    for &(n, c, h, w, k, s) in &[
        (2, 3, 7, 7, 2, 2),
        (1, 2, 8, 8, 3, 2),
        (1, 1, 5, 5, 3, 1),
        (1, 2, 28, 28, 2, 2),
        (1, 1, 9, 6, 2, 2),
    ] {
        let xv = random(&mut rng, n * c * h * w);
        let x = t(&xv, &[n, c, h, w]);
        for max in [true, false] {
            let layer = if max {
                Layer::MaxPool2d {
                    kernel: k,
                    stride: s,
                    padding: Padding::Same,
                }
            } else {
                Layer::AvgPool2d {
                    kernel: k,
                    stride: s,
                    padding: Padding::Same,
                }
            };
            let got = layer.forward(&x).unwrap();
            assert_close(&flat(&got), &pool_ref(&xv, (n, c, h, w), k, s, max), 1e-5);
        }
    }
}

#[test]
fn zoo_architectures_have_the_originals_parameter_counts() {
    let want = [
        ("A", 454_230),
        ("B0", 1_192_960),
        ("B1", 1_195_018),
        ("C", 1_379_557),
        ("D0", 1_378_698),
        ("D1", 1_379_557),
        ("D2", 1_378_698),
        ("E", 436_202),
        ("F", 131_050),
        ("G", 93_952),
        ("H", 8_098_698),
    ];
    assert_eq!(want.len(), zoo::NAMES.len());
    for (name, count) in want {
        let spec = zoo::spec(name).unwrap();
        let shapes = spec.shapes().unwrap();
        assert_eq!(
            shapes.last().unwrap(),
            &vec![10],
            "{name} ends in 10 logits"
        );
        assert_eq!(spec.param_count(), count, "{name}");
    }
    let err = zoo::spec("Z9").unwrap_err().to_string();
    assert!(err.contains("Z9") && err.contains("D0"), "{err}");
}

#[test]
fn forward_of_every_zoo_model_has_the_right_shape() {
    for name in zoo::NAMES {
        let net = Network::init(&zoo::spec(name).unwrap(), 1, &dev()).unwrap();
        let [c, h, w] = net.input;
        let x = Tensor::zeros((2, c, h, w), nnviz_core::candle::DType::F32, &dev()).unwrap();
        assert_eq!(net.forward(&x).unwrap().dims(), &[2, 10], "{name}");
        let wrong =
            Tensor::zeros((2, c, h + 1, w), nnviz_core::candle::DType::F32, &dev()).unwrap();
        let err = net.forward(&wrong).unwrap_err().to_string();
        assert!(err.contains("expected input"), "{err}");
    }
}

#[test]
fn initialisation_and_dropout_are_seeded() {
    let spec = zoo::spec("E").unwrap();
    let a = Network::init(&spec, 5, &dev()).unwrap();
    let b = Network::init(&spec, 5, &dev()).unwrap();
    let c = Network::init(&spec, 6, &dev()).unwrap();
    let wa = flat(&a.parameters()[0].1);
    assert_eq!(wa, flat(&b.parameters()[0].1));
    assert_ne!(wa, flat(&c.parameters()[0].1));
    let x = Tensor::ones((3, 1, 28, 28), nnviz_core::candle::DType::F32, &dev()).unwrap();
    let y1 = a.forward_train(&x, &mut Rng::new(1)).unwrap();
    let y2 = a.forward_train(&x, &mut Rng::new(1)).unwrap();
    let y3 = a.forward_train(&x, &mut Rng::new(2)).unwrap();
    assert_eq!(flat(&y1), flat(&y2));
    assert_ne!(flat(&y1), flat(&y3));
    // evaluation mode ignores dropout
    assert_eq!(flat(&a.forward(&x).unwrap()), flat(&a.forward(&x).unwrap()));
}

#[test]
fn layer_lookup_names_every_layer() {
    let net = zoo::untrained("G").unwrap();
    assert_eq!(net.layer_index("conv3").unwrap(), 6);
    let err = net.layer_index("conv9").unwrap_err().to_string();
    assert!(
        err.contains("conv9") && err.contains("conv1, relu1, pool1"),
        "{err}"
    );
}

#[test]
fn model_file_round_trip_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.safetensors");
    let net = Network::init(&zoo::spec("G").unwrap(), 9, &dev()).unwrap();
    let meta = HashMap::from([("nnviz.test_accuracy".to_string(), "0.5".to_string())]);
    net.save_with(&path, &meta).unwrap();
    let file = nnviz_core::model::load_file(&path, &dev()).unwrap();
    assert_eq!(file.test_accuracy(), Some(0.5));
    let back = file.network;
    assert_eq!(back.spec().unwrap(), net.spec().unwrap());
    for ((n1, t1), (n2, t2)) in net.parameters().iter().zip(back.parameters().iter()) {
        assert_eq!(n1, n2);
        assert_eq!(flat(t1), flat(t2));
    }
    let names: Vec<String> = net.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "conv1.weight",
            "conv1.bias",
            "conv2.weight",
            "conv2.bias",
            "conv3.weight",
            "conv3.bias",
            "fc.weight"
        ]
    );

    // a file whose tensors do not match the architecture in its metadata
    let arch = serde_json_arch(&net);
    let bad_path = dir.path().join("bad.safetensors");
    let w = Tensor::zeros((10, 64), nnviz_core::candle::DType::F32, &dev()).unwrap();
    let extra = Tensor::zeros(3, nnviz_core::candle::DType::F32, &dev()).unwrap();
    let mut md = HashMap::new();
    md.insert("nnviz.format".to_string(), "nnviz-network/1".to_string());
    md.insert("nnviz.architecture".to_string(), arch);
    let bytes = safetensors_bytes(vec![("fc.weight", w), ("junk", extra)], md);
    std::fs::write(&bad_path, bytes).unwrap();
    let err = Network::load(&bad_path).unwrap_err().to_string();
    assert!(err.contains("bad.safetensors"), "{err}");
    assert!(err.contains("missing conv1.weight [32, 1, 3, 3]"), "{err}");
    assert!(
        err.contains("fc.weight: expected shape [10, 128], found [10, 64]"),
        "{err}"
    );
    assert!(err.contains("unexpected tensor junk"), "{err}");

    // not a safetensors file at all; a missing file
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"hello").unwrap();
    let err = Network::load(&junk).unwrap_err().to_string();
    assert!(
        err.contains("junk.safetensors") && err.contains("not a valid nnviz model file"),
        "{err}"
    );
    let err = Network::load(dir.path().join("nope.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope.safetensors"), "{err}");
}

fn serde_json_arch(net: &Network) -> String {
    // The architecture JSON exactly as save() writes it.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.safetensors");
    net.save(&p).unwrap();
    nnviz_core::model::io::read_metadata(&p).unwrap()["nnviz.architecture"].clone()
}

fn safetensors_bytes(tensors: Vec<(&str, Tensor)>, md: HashMap<String, String>) -> Vec<u8> {
    // The safetensors layout by hand: 8-byte header length, JSON header, raw little-endian data.
    let mut header = serde_json::Map::new();
    let mut data = vec![];
    for (name, t) in &tensors {
        let v = flat(t);
        let start = data.len();
        for x in &v {
            data.extend_from_slice(&x.to_le_bytes());
        }
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": t.dims(), "data_offsets": [start, data.len()]}),
        );
    }
    header.insert("__metadata__".into(), serde_json::to_value(md).unwrap());
    let h = serde_json::to_vec(&header).unwrap();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&data);
    out
}

#[test]
fn max_pool_gradient_goes_to_the_winner_on_every_path() {
    // The CPU kernel (f32) and the device-generic candle path (f64 here) must agree, and a
    // single winner gets the whole gradient (candle 0.11.1's own backward would give it 1/k²).
    use nnviz_core::candle::{DType, Var};
    let mut rng = Rng::new(21);
    let xv: Vec<f32> = (0..2 * 3 * 7 * 7).map(|_| rng.normal()).collect();
    let layer = Layer::MaxPool2d {
        kernel: 2,
        stride: 2,
        padding: Padding::Same,
    };
    let grad = |dtype: DType| -> Vec<f32> {
        let x = Var::from_tensor(&t(&xv, &[2, 3, 7, 7]).to_dtype(dtype).unwrap()).unwrap();
        let y = layer.forward(x.as_tensor()).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        flat(&g.get(x.as_tensor()).unwrap().to_dtype(DType::F32).unwrap())
    };
    let (g32, g64) = (grad(DType::F32), grad(DType::F64));
    assert_eq!(g32, g64);
    assert_eq!(
        g32.iter().sum::<f32>(),
        (2 * 3 * 4 * 4) as f32,
        "one unit of gradient per window"
    );
    assert!(g32.iter().all(|&v| v == 0.0 || v == 1.0));

    // Ties (a constant background gives whole windows of equal values; here values rounded to
    // {−1, 0, 1, 2}): the first maximal cell of each window (row-major) gets the whole gradient
    // on both paths — on a GPU only the candle path exists, and it must agree with the CPU.
    let tied: Vec<f32> = xv
        .iter()
        .map(|v| v.round().clamp(-1.0, 2.0) + 0.0)
        .collect(); // no −0
    for padding in [Padding::Same, Padding::Valid] {
        let layer = Layer::MaxPool2d {
            kernel: 2,
            stride: 2,
            padding,
        };
        let grad = |dtype: DType| -> (Vec<f32>, Vec<f32>) {
            let x = Var::from_tensor(&t(&tied, &[2, 3, 7, 7]).to_dtype(dtype).unwrap()).unwrap();
            let y = layer.forward(x.as_tensor()).unwrap();
            let g = y.sum_all().unwrap().backward().unwrap();
            (
                flat(&y.to_dtype(DType::F32).unwrap()),
                flat(&g.get(x.as_tensor()).unwrap().to_dtype(DType::F32).unwrap()),
            )
        };
        let ((y32, g32), (y64, g64)) = (grad(DType::F32), grad(DType::F64));
        assert_eq!(y32, y64, "{padding:?}");
        assert_eq!(
            g32, g64,
            "{padding:?}: tied windows must pick the same winner"
        );
        // Reference: the first maximal cell of each window, by direct loops.
        let (oh, ow, pad) = match padding {
            Padding::Same => (4, 4, true),
            _ => (3, 3, false),
        };
        let mut expect = vec![0f32; tied.len()];
        for nc in 0..6 {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut best: Option<(f32, usize)> = None;
                    for dy in 0..2 {
                        for dx in 0..2 {
                            let (iy, ix) = (2 * oy + dy, 2 * ox + dx);
                            if iy >= 7 || ix >= 7 {
                                assert!(pad);
                                continue;
                            }
                            let i = nc * 49 + iy * 7 + ix;
                            if best.is_none_or(|(b, _)| tied[i] > b) {
                                best = Some((tied[i], i));
                            }
                        }
                    }
                    expect[best.unwrap().1] += 1.0;
                }
            }
        }
        assert_eq!(g32, expect, "{padding:?}");
    }
}

/// The device under test: the GPU when built with `cuda` and one is present (see tests/gpu.rs).
fn dev() -> Device {
    nnviz_core::device()
}

#[test]
fn internal_passes_keep_the_largest_activation_within_the_cpu_budget() {
    use nnviz_core::alloc::{inputs_per_pass, CPU_PASS_BYTES};
    // The reference CNN's largest activation is conv1's output: 32 × 28 × 28 f32 = 100 352 bytes.
    let net = Network::init(&nnviz_core::bench::reference_cnn(), 0, &Device::Cpu).unwrap();
    let fit = CPU_PASS_BYTES / (32 * 28 * 28 * 4);
    assert_eq!(fit, 167);
    assert_eq!(inputs_per_pass(&net, 500).unwrap(), fit);
    assert_eq!(inputs_per_pass(&net, 100).unwrap(), 100);
    assert_eq!(inputs_per_pass(&net, 0).unwrap(), 1);
    // One input larger than the budget still makes a pass of one.
    let spec = NetworkSpec::new("wide", [1, 400, 400]).push(
        "conv",
        LayerSpec::Conv2d {
            in_channels: 1,
            out_channels: 32,
            kernel: [3, 3],
            stride: 1,
            padding: Padding::Same,
            bias: false,
        },
    );
    let wide = Network::init(&spec, 0, &Device::Cpu).unwrap();
    assert_eq!(inputs_per_pass(&wide, 64).unwrap(), 1);
}

/// The address of a CPU `f32` tensor's buffer: equal for two tensors that share storage.
fn buffer_address(t: &Tensor) -> usize {
    use nnviz_core::candle::{CpuStorage, Storage};
    let (storage, _) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(CpuStorage::F32(v)) => v.as_ptr() as usize,
        _ => panic!("expected a CPU f32 tensor"),
    }
}

#[test]
fn fresh_ids_alias_the_weights_under_new_ids_and_keep_variables() {
    use nnviz_core::grad::fresh_id;
    let net = Network::init(&zoo::spec("E").unwrap(), 3, &dev()).unwrap();
    let fresh = net.with_fresh_ids().unwrap();
    for ((name, a), (_, b)) in net.parameters().iter().zip(fresh.parameters().iter()) {
        assert_ne!(a.id(), b.id(), "{name}: same tensor id");
        assert_eq!(buffer_address(a), buffer_address(b), "{name}: copied");
        assert!(!b.track_op(), "{name}: the alias is tracked");
    }
    let x = Tensor::ones((2, 1, 28, 28), nnviz_core::candle::DType::F32, &dev()).unwrap();
    assert_eq!(
        flat(&net.forward(&x).unwrap()),
        flat(&fresh.forward(&x).unwrap())
    );

    // A non-contiguous tensor is copied under its new id; the values stay.
    let t2 = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]).t().unwrap();
    let f2 = fresh_id(&t2).unwrap();
    assert_ne!(t2.id(), f2.id());
    assert_eq!(t2.to_vec2::<f32>().unwrap(), f2.to_vec2::<f32>().unwrap());

    // A variable (what an optimiser looks up) and a tracked result keep their ids.
    let v = nnviz_core::candle::Var::new(&[1f32, 2.0], &dev()).unwrap();
    assert_eq!(fresh_id(v.as_tensor()).unwrap().id(), v.id());
    let y = (v.as_tensor() * 2.0).unwrap();
    assert_eq!(fresh_id(&y).unwrap().id(), y.id());
    let mut trainable = net.clone();
    let vars = trainable.make_trainable().unwrap();
    let kept = trainable.with_fresh_ids().unwrap();
    for (var, (name, p)) in vars.iter().zip(kept.parameters().iter()) {
        assert_eq!(var.id(), p.id(), "{name}: a trainable weight was re-keyed");
    }
}
