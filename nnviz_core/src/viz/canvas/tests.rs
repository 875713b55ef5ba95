use super::*;

#[test]
fn antialiased_segment_covers_its_pixels() {
    let mut c = Canvas::new("t", 20, 20).unwrap();
    let clip = Clip {
        x0: 0.0,
        y0: 0.0,
        x1: 20.0,
        y1: 20.0,
    };
    c.shapes(
        &[Shape::Segment {
            a: (2.0, 10.5),
            b: (18.0, 10.5),
            width: 2.0,
        }],
        [0; 3],
        clip,
    );
    assert_eq!(c.pixel(10, 10), [0, 0, 0]);
    assert_eq!(c.pixel(10, 5), [255, 255, 255]);
    let mut c = Canvas::new("t", 20, 20).unwrap();
    let clip = Clip {
        x0: 0.0,
        y0: 0.0,
        x1: 5.0,
        y1: 20.0,
    };
    c.shapes(
        &[Shape::Segment {
            a: (-1e9, 10.5),
            b: (1e9, 10.5),
            width: 2.0,
        }],
        [0; 3],
        clip,
    );
    assert_eq!(c.pixel(2, 10), [0, 0, 0]);
    assert_eq!(c.pixel(8, 10), [255, 255, 255], "clipped");
    assert!(Canvas::new("fig", 0, 5).is_err());
}
