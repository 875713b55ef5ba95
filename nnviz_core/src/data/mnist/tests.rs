//! Tests of the IDX reader on tiny hand-made files, and of the committed MNIST files.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;

/// A valid 2×3×3 unsigned-byte IDX image file.
fn idx_2x3x3() -> Vec<u8> {
    let mut b = vec![0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3];
    b.extend(0..18u8);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The error message of parsing `bytes` as `name`, checked to name the file.
fn parse_err(bytes: &[u8], name: &str) -> String {
    let msg = parse_idx(bytes, Path::new(name)).unwrap_err().to_string();
    assert!(msg.contains(name), "{msg}");
    msg
}

#[test]
fn valid_idx_parses_to_dims_and_data() {
    let idx = parse_idx(&idx_2x3x3(), Path::new("x.idx")).unwrap();
    assert_eq!(idx.dims, vec![2, 3, 3]);
    assert_eq!(idx.data, (0..18).collect::<Vec<u8>>());
    let labels = parse_idx(&[0, 0, 8, 1, 0, 0, 0, 2, 7, 9], Path::new("l")).unwrap();
    assert_eq!((labels.dims, labels.data), (vec![2], vec![7, 9]));
}

#[test]
fn malformed_idx_errors_name_file_and_problem() {
    let mut b = idx_2x3x3();
    b[0] = 0x1f;
    assert!(parse_err(&b, "magic.idx").contains("bad IDX magic 0x1f000803"));
    let mut b = idx_2x3x3();
    b[2] = 0x0d;
    assert!(parse_err(&b, "type.idx").contains("data type code 0x0d"));
    let mut b = idx_2x3x3();
    b[3] = 5;
    assert!(parse_err(&b, "ndims.idx").contains("dimension count 5"));
    assert!(parse_err(&[0, 0, 8], "tiny.idx").contains("expected at least 4 bytes, found 3"));
    let msg = parse_err(&idx_2x3x3()[..10], "header.idx");
    assert!(
        msg.contains("truncated IDX header: expected 16 bytes"),
        "{msg}"
    );
    let msg = parse_err(&idx_2x3x3()[..30], "data.idx");
    assert!(
        msg.contains("truncated IDX data") && msg.contains("need 34 bytes, found 30"),
        "{msg}"
    );
    let mut b = idx_2x3x3();
    b.extend([1, 2]);
    let msg = parse_err(&b, "trailing.idx");
    assert!(
        msg.contains("trailing data") && msg.contains("(2 extra)"),
        "{msg}"
    );
    let huge = [
        0, 0, 8, 4, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255,
    ];
    assert!(parse_err(&huge, "huge.idx").contains("overflow"));
}

#[test]
fn gzipped_and_raw_files_read_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = idx_2x3x3();
    let sum = sha256_hex(&raw);
    let gz = write(tmp.path(), "x-idx3-ubyte.gz", &gzip(&raw));
    let plain = write(tmp.path(), "x-idx3-ubyte", &raw);
    for path in [&gz, &plain] {
        assert_eq!(read_idx_gz(path, Some(&sum)).unwrap().dims, vec![2, 3, 3]);
        assert_eq!(
            read_idx_gz(path, Some(&sum.to_uppercase()))
                .unwrap()
                .data
                .len(),
            18
        );
        assert_eq!(read_idx_gz(path, None).unwrap().data, raw[16..]);
    }
}

#[test]
fn file_errors_name_file_and_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = idx_2x3x3();
    let gz = write(tmp.path(), "good.gz", &gzip(&raw));

    let wrong = "0".repeat(64);
    let msg = read_idx_gz(&gz, Some(&wrong)).unwrap_err().to_string();
    assert!(
        msg.contains("good.gz") && msg.contains("SHA-256 mismatch"),
        "{msg}"
    );
    assert!(
        msg.contains(&wrong) && msg.contains(&sha256_hex(&raw)),
        "{msg}"
    );

    let mut broken = gzip(&raw);
    let n = broken.len();
    broken[n - 12..].iter_mut().for_each(|b| *b ^= 0x55);
    let bad = write(tmp.path(), "corrupt.gz", &broken);
    let msg = read_idx_gz(&bad, None).unwrap_err().to_string();
    assert!(
        msg.contains("corrupt.gz") && msg.contains("corrupt gzip data"),
        "{msg}"
    );
    let cut = write(tmp.path(), "cut.gz", &gzip(&raw)[..15]);
    let msg = read_idx_gz(&cut, None).unwrap_err().to_string();
    assert!(
        msg.contains("cut.gz") && msg.contains("corrupt gzip data"),
        "{msg}"
    );

    let trunc = write(tmp.path(), "trunc.gz", &gzip(&raw[..20]));
    let msg = read_idx_gz(&trunc, None).unwrap_err().to_string();
    assert!(
        msg.contains("trunc.gz") && msg.contains("need 34 bytes, found 20"),
        "{msg}"
    );

    let err = read_idx_gz(&tmp.path().join("missing.gz"), None).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("missing.gz") && msg.contains("not found") && msg.contains("NNVIZ_DATA"),
        "{msg}"
    );
    assert!(
        matches!(err, Error::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
}

#[test]
fn checksum_files_parse_and_reject_garbage() {
    let tmp = tempfile::tempdir().unwrap();
    let a = "ab".repeat(32);
    let text = format!(
        "# comment\n{a}  a-idx1-ubyte\n\n{}  *b-idx3-ubyte\n",
        "CD".repeat(32)
    );
    write(tmp.path(), "SHA256SUMS", text.as_bytes());
    let sums = read_checksums(tmp.path()).unwrap();
    assert_eq!(sums.len(), 2);
    assert_eq!(sums["a-idx1-ubyte"], a);
    assert_eq!(sums["b-idx3-ubyte"], "cd".repeat(32));
    write(tmp.path(), "SHA256SUMS", b"xyz  a-idx1-ubyte\n");
    let msg = read_checksums(tmp.path()).unwrap_err().to_string();
    assert!(
        msg.contains("SHA256SUMS") && msg.contains("line 1") && msg.contains("\"xyz\""),
        "{msg}"
    );
    let msg = read_checksums(&tmp.path().join("nowhere"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("SHA256SUMS") && msg.contains("not found"),
        "{msg}"
    );
}

/// A fake MNIST directory: 3 training and 2 test images of 28×28 with checksums.
fn fake_mnist(dir: &Path, train_labels: &[u8]) {
    let images = |n: u8| {
        let mut b = vec![0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, 28, 0, 0, 0, 28];
        b.extend((0..n as usize * 784).map(|i| (i % 256) as u8));
        b
    };
    let labels = |l: &[u8]| {
        let mut b = vec![0, 0, 8, 1, 0, 0, 0, l.len() as u8];
        b.extend_from_slice(l);
        b
    };
    let contents = [images(3), labels(train_labels), images(2), labels(&[0, 9])];
    let mut sums = String::new();
    for (name, raw) in FILES.iter().zip(&contents) {
        write(dir, name, &gzip(raw));
        sums += &format!("{}  {}\n", sha256_hex(raw), name.trim_end_matches(".gz"));
    }
    write(dir, "SHA256SUMS", sums.as_bytes());
}

#[test]
fn load_and_check_a_small_fake_mnist() {
    let tmp = tempfile::tempdir().unwrap();
    fake_mnist(tmp.path(), &[1, 2, 3]);
    let d = load_mnist(tmp.path()).unwrap();
    assert_eq!(d.train_x.dims(), &[3, 1, 28, 28]);
    assert_eq!(d.test_y.to_vec1::<u32>().unwrap(), vec![0, 9]);
    let px: Vec<f32> = d.train_x.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(px[255], 1.0);
    assert_eq!(px[51], 51.0 / 255.0);
    let lines = check(tmp.path()).unwrap();
    assert_eq!(lines.len(), 6);
    assert!(
        lines[0].starts_with("train-images-idx3-ubyte.gz: ok, 3×28×28, sha256 "),
        "{lines:?}"
    );

    fake_mnist(tmp.path(), &[1, 2, 10]);
    let msg = load_mnist(tmp.path()).unwrap_err().to_string();
    assert!(
        msg.contains("train-labels-idx1-ubyte.gz") && msg.contains("label 10 at index 2"),
        "{msg}"
    );
    fake_mnist(tmp.path(), &[1, 2]);
    let msg = load_mnist(tmp.path()).unwrap_err().to_string();
    assert!(msg.contains("expected 3 labels"), "{msg}");

    fake_mnist(tmp.path(), &[1, 2, 3]);
    write(tmp.path(), FILES[2], &gzip(&idx_2x3x3()));
    let msg = check(tmp.path()).unwrap_err().to_string();
    assert!(
        msg.contains("t10k-images-idx3-ubyte.gz: FAILED") && msg.contains("SHA-256 mismatch"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(
        !msg.contains("train-images-idx3-ubyte.gz"),
        "only failures: {msg}"
    );
}

#[test]
fn the_committed_mnist_files_check_out() {
    let lines = check(&crate::data::data_dir().join("mnist")).unwrap();
    assert_eq!(
        lines[0],
        "train-images-idx3-ubyte.gz: ok, 60000×28×28, sha256 ba891046…"
    );
    assert_eq!(
        lines[3],
        "t10k-labels-idx1-ubyte.gz: ok, 10000, sha256 ff7bcfd4…"
    );
    assert_eq!(lines[4], "train split: ok, 60000 images with labels 0-9");
}
