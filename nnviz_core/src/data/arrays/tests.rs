use super::*;

#[test]
fn format_follows_the_extension() {
    assert_eq!(Format::of(Path::new("a.NPY")).unwrap(), Format::Npy);
    assert_eq!(
        Format::of(Path::new("a.safetensors")).unwrap(),
        Format::Safetensors
    );
    let e = Format::of(Path::new("a.png")).unwrap_err().to_string();
    assert!(e.contains("a.png") && e.contains(".npy"), "{e}");
}

#[test]
fn safetensors_round_trip_with_metadata_and_integer_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.safetensors");
    let x = Tensor::arange(0f32, 8., &Device::Cpu)
        .unwrap()
        .reshape((2, 1, 2, 2))
        .unwrap();
    let y = Tensor::new(&[3i64, 7], &Device::Cpu).unwrap();
    let meta = HashMap::from([("k".to_string(), "v".to_string())]);
    write_safetensors(&path, &[("input", &x), ("targets", &y)], &meta).unwrap();
    let all = read_all(&path).unwrap();
    assert_eq!(all.metadata.get("k").map(String::as_str), Some("v"));
    assert_eq!(all.tensors.len(), 2);
    let back = read_images(&path, "input").unwrap();
    assert_eq!(
        back.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        x.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    );
    assert_eq!(
        read_named(&path, "targets")
            .unwrap()
            .to_vec1::<i64>()
            .unwrap(),
        vec![3, 7]
    );
    // two tensors and neither called "attribution": an error listing them
    let e = read_named(&path, "attribution").unwrap_err().to_string();
    assert!(e.contains("input, targets"), "{e}");
    // images must be float and 4-D
    let e = read_images(&path, "targets").unwrap_err().to_string();
    assert!(e.contains("float32"), "{e}");
}

#[test]
fn a_single_npy_array_is_read_whatever_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    npy::write_npy(
        &path,
        &Tensor::zeros((3, 5), DType::F32, &Device::Cpu).unwrap(),
    )
    .unwrap();
    let e = read_images(&path, "input").unwrap_err().to_string();
    assert!(
        e.contains("x.npy") && e.contains("[3, 5]") && e.contains("N×C×H×W"),
        "{e}"
    );
}

#[test]
fn garbage_safetensors_is_an_error_naming_the_file() {
    let e = parse_safetensors(b"\x08\0\0\0\0\0\0\0{}", Path::new("g.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("g.safetensors"), "{e}");
}
