use super::*;

#[test]
fn atomic_write_creates_dirs_replaces_and_leaves_no_temp_files() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("a/b/file.bin");
    atomic_write(&path, b"first").unwrap();
    atomic_write(&path, b"second").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    let names: Vec<_> = std::fs::read_dir(tmp.path().join("a/b"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("file.bin")]);
}

#[test]
fn data_dir_holds_the_mnist_files() {
    if std::env::var_os("NNVIZ_DATA").is_none() {
        assert!(data_dir().join("mnist/SHA256SUMS").is_file());
    }
}
