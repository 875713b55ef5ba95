use super::*;

#[test]
fn evcxr_content_is_a_base64_png() {
    let png = Png::from_rgb(3, 2, &[10; 18]).unwrap();
    let s = evcxr_content(png.as_bytes());
    assert!(s.starts_with("EVCXR_BEGIN_CONTENT image/png\n"), "{s}");
    assert!(s.ends_with("\nEVCXR_END_CONTENT"));
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 3);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(lines[1])
        .unwrap();
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).unwrap();
    assert_eq!((img.width(), img.height()), (3, 2));
    assert_eq!(img.to_rgb8().get_pixel(1, 1).0, [10, 10, 10]);
}

#[test]
fn errors_display_as_one_line() {
    let s = display_text("heatmap", Err(Error::invalid("boom")));
    assert_eq!(s, "heatmap: could not render: boom");
    let s = display_text("grid", Err(Error::invalid("two\nlines")));
    assert_eq!(s, "grid: could not render: two lines");
    assert!(Png::from_rgb(2, 2, &[0; 5]).is_err());
}

#[test]
fn save_writes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/x.png");
    let png = Png::from_rgb(1, 1, &[1, 2, 3]).unwrap();
    png.save(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), png.as_bytes());
}
