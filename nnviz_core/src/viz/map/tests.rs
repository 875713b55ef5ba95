use super::*;

#[test]
fn shapes_and_channels() {
    let dev = Device::Cpu;
    let t = Tensor::arange(0f32, 6.0, &dev).unwrap();
    let m = Map::from_tensor("h", &t.reshape((2, 3)).unwrap(), Channels::Sum).unwrap();
    assert_eq!((m.h, m.w, m.at(1, 2)), (2, 3, 5.0));
    let m = Map::from_tensor("h", &t.reshape((1, 1, 2, 3)).unwrap(), Channels::Sum).unwrap();
    assert_eq!(m.data, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let t3 = t.reshape((2, 1, 3)).unwrap();
    let m = Map::from_tensor("h", &t3, Channels::Sum).unwrap();
    assert_eq!((m.h, m.w, m.data.clone()), (1, 3, vec![3.0, 5.0, 7.0]));
    let m = Map::from_tensor("h", &t3, Channels::Mean).unwrap();
    assert_eq!(m.data, [1.5, 2.5, 3.5]);
    let m = Map::from_tensor(
        "h",
        &t.to_dtype(DType::F64).unwrap().reshape((3, 2)).unwrap(),
        Channels::Sum,
    );
    assert_eq!(m.unwrap().at(2, 1), 5.0);
}

#[test]
fn wrong_shapes_are_named() {
    let t = Tensor::zeros((2, 1, 3, 3), DType::F32, &Device::Cpu).unwrap();
    let e = Map::from_tensor("heatmap", &t, Channels::Sum)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "heatmap: expected a 2-D map [H,W], [C,H,W] or [1,C,H,W], got [2, 1, 3, 3]"
    );
    let t = Tensor::zeros(7, DType::F32, &Device::Cpu).unwrap();
    assert!(Map::from_tensor("heatmap", &t, Channels::Sum).is_err());
    let t = Tensor::zeros((0, 3), DType::F32, &Device::Cpu).unwrap();
    let e = Map::from_tensor("heatmap", &t, Channels::Sum)
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn batches() {
    let t = Tensor::zeros((10, 1, 4, 4), DType::F32, &Device::Cpu).unwrap();
    assert_eq!(t.tensors().unwrap().len(), 10);
    assert_eq!(TensorBatch::tensors(&&t).unwrap()[3].dims(), [1, 4, 4]);
    let v = vec![t.get(0).unwrap(), t.get(1).unwrap()];
    assert_eq!(v.tensors().unwrap().len(), 2);
    assert_eq!(v[..].tensors().unwrap().len(), 2);
    let e = t
        .get(0)
        .unwrap()
        .get(0)
        .unwrap()
        .tensors()
        .unwrap_err()
        .to_string();
    assert!(e.contains("[4, 4]"), "{e}");
}
