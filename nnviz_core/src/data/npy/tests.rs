use super::*;
use std::path::PathBuf;

fn p() -> PathBuf {
    PathBuf::from("x.npy")
}

/// A `.npy` file written by hand: version, header text (padded by the caller or not), data.
fn handmade(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    b.extend_from_slice(&[major, 0]);
    if major == 1 {
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        b.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn err(bytes: &[u8]) -> String {
    parse_npy(bytes, &p()).unwrap_err().to_string()
}

#[test]
fn reads_a_handmade_version_1_file() {
    let b = handmade(
        1,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 3), }\n",
        &f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, -6.5]),
    );
    let t = parse_npy(&b, &p()).unwrap();
    assert_eq!(t.dims(), &[1, 1, 2, 3]);
    assert_eq!(
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        vec![1.0, 2.0, 3.0, 4.0, 5.0, -6.5]
    );
}

#[test]
fn reads_version_2_headers_and_integer_arrays() {
    let b = handmade(
        2,
        "{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (3,)}",
        &[7i64, -1, 9]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<_>>(),
    );
    let t = parse_npy(&b, &p()).unwrap();
    assert_eq!(t.to_vec1::<i64>().unwrap(), vec![7, -1, 9]);
    let b = handmade(
        1,
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
        &[3i32, 4]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        parse_npy(&b, &p()).unwrap().to_vec1::<i64>().unwrap(),
        vec![3, 4]
    );
}

#[test]
fn writes_numpys_layout_and_reads_it_back() {
    let t = Tensor::new(&[[1f32, 2., 3.], [4., 5., 6.]], &Device::Cpu).unwrap();
    let b = npy_bytes(&t).unwrap();
    // numpy's own header for this array: 60 characters padded to a 128-byte preamble.
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    assert_eq!(u16::from_le_bytes([b[8], b[9]]), 118);
    let header = std::str::from_utf8(&b[10..128]).unwrap();
    assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
    assert!(header.ends_with(" \n"));
    assert_eq!(b.len(), 128 + 24);
    let back = parse_npy(&b, &p()).unwrap();
    assert_eq!(back.to_vec2::<f32>().unwrap(), t.to_vec2::<f32>().unwrap());
    // 1-D and integer arrays.
    let c = Tensor::new(&[3u32, 1, 4], &Device::Cpu).unwrap();
    let b = npy_bytes(&c).unwrap();
    assert!(std::str::from_utf8(&b[10..70])
        .unwrap()
        .contains("'<i8', 'fortran_order': False, 'shape': (3,)"));
    assert_eq!(
        parse_npy(&b, &p()).unwrap().to_vec1::<i64>().unwrap(),
        vec![3, 1, 4]
    );
}

#[test]
fn write_npy_is_atomic_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    let t = Tensor::arange(0f32, 24., &Device::Cpu)
        .unwrap()
        .reshape((2, 1, 3, 4))
        .unwrap();
    write_npy(&path, &t).unwrap();
    let back = read_npy(&path).unwrap();
    assert_eq!(back.dims(), &[2, 1, 3, 4]);
    assert_eq!(
        back.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    );
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn bad_files_are_errors_naming_the_file_and_the_problem() {
    let good = handmade(
        1,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n",
        &f32_bytes(&[1.0; 4]),
    );
    // truncated data
    let e = err(&good[..good.len() - 3]);
    assert!(
        e.contains("x.npy") && e.contains("truncated") && e.contains("16"),
        "{e}"
    );
    // truncated header
    let e = err(&good[..20]);
    assert!(e.contains("truncated"), "{e}");
    // no magic
    assert!(err(b"PK\x03\x04 zip file").contains("magic"));
    // wrong dtype
    let b = handmade(
        1,
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
        &[0u8; 16],
    );
    let e = err(&b);
    assert!(e.contains("'<f8'") || e.contains("\"<f8\""), "{e}");
    assert!(e.contains("float32"), "{e}");
    let b = handmade(
        1,
        "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
        &[0u8; 8],
    );
    assert!(err(&b).contains(">f4"));
    // Fortran order
    let b = handmade(
        1,
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
        &f32_bytes(&[1.0; 4]),
    );
    assert!(err(&b).contains("Fortran"), "{}", err(&b));
    // version 9
    let mut b = good.clone();
    b[6] = 9;
    assert!(err(&b).contains("version 9.0"));
    // too much data
    let mut b = good.clone();
    b.extend_from_slice(&[0, 0, 0, 0]);
    assert!(err(&b).contains("20"), "{}", err(&b));
    // absurd shape: no allocation, an error
    let b = handmade(
        1,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }",
        &[],
    );
    assert!(err(&b).contains("too large") || err(&b).contains("needs"));
    // missing keys, bad shapes
    for h in [
        "{'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f4', 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }",
        "not a dict",
    ] {
        let e = err(&handmade(1, h, &[0u8; 8]));
        assert!(e.contains("x.npy") && e.contains("header"), "{h}: {e}");
    }
    // unreadable file
    let e = read_npy("/nonexistent/dir/y.npy").unwrap_err().to_string();
    assert!(e.contains("y.npy"), "{e}");
}
