use super::*;

/// Bounding box of non-white pixels.
fn ink(c: &Canvas) -> Option<(u32, u32, u32, u32)> {
    let mut b: Option<(u32, u32, u32, u32)> = None;
    for y in 0..c.height() {
        for x in 0..c.width() {
            if c.pixel(x, y)[0] < 128 {
                let (x0, y0, x1, y1) = b.unwrap_or((x, y, x, y));
                b = Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y)));
            }
        }
    }
    b
}

#[test]
fn text_anchors_follow_the_font_metrics() {
    let font = Font(40.0);
    let mut c = Canvas::new("t", 200, 100).unwrap();
    c.text(
        "HIH",
        (100.0, 50.0),
        font,
        (HAlign::Center, VAlign::Middle),
        [0; 3],
    )
    .unwrap();
    let (x0, y0, x1, y1) = ink(&c).unwrap();
    let (cx, cy) = ((x0 + x1) as f64 / 2.0, (y0 + y1) as f64 / 2.0);
    assert!((cx - 100.0).abs() <= 2.0, "centre x {cx}");
    assert!((cy - 50.0).abs() <= 1.5, "centre y {cy}");
    assert!(
        ((y1 - y0 + 1) as f64 - font.cap()).abs() <= 2.0,
        "cap height {y0}..{y1}"
    );

    let mut c = Canvas::new("t", 200, 100).unwrap();
    c.text("H", (10.0, 0.0), font, (HAlign::Left, VAlign::Top), [0; 3])
        .unwrap();
    let (x0, y0, _, _) = ink(&c).unwrap();
    assert!(
        y0 <= 1 && (10..=15).contains(&x0),
        "top-left ink at {x0},{y0}"
    );
}

#[test]
fn vertical_text_is_centred() {
    let mut c = Canvas::new("t", 100, 200).unwrap();
    c.vtext("HHH", (50.0, 100.0), Font(30.0), [0; 3]).unwrap();
    let (x0, y0, x1, y1) = ink(&c).unwrap();
    assert!(y1 - y0 > x1 - x0, "runs vertically");
    assert!((((x0 + x1) as f64) / 2.0 - 50.0).abs() <= 1.5);
    assert!((((y0 + y1) as f64) / 2.0 - 100.0).abs() <= 3.0);
}
