use super::*;

fn norm(range: Range, cmap: Colormap, data: &[f32]) -> Norm {
    Norm::resolve("test", range, cmap, Stats::of(data)).unwrap()
}

#[test]
fn auto_is_symmetric_for_diverging_maps() {
    let n = norm(Range::Auto, Colormap::Seismic, &[-0.3, 0.7, 0.1]);
    assert_eq!((n.lo, n.hi), (-0.7, 0.7));
    assert_eq!(n.t(0.0), 0.5);
    assert_eq!(Colormap::Seismic.rgb(n.t(0.0)), [255, 255, 255]);
    assert_eq!(n.t(0.7), 1.0);
    assert_eq!(n.t(-0.7), 0.0);
}

#[test]
fn auto_is_min_max_for_sequential_maps() {
    let n = norm(Range::Auto, Colormap::Viridis, &[2.0, 4.0, f32::NAN, 3.0]);
    assert_eq!((n.lo, n.hi), (2.0, 4.0));
    assert_eq!(n.t(3.0), 0.5);
    let n = norm(Range::Symmetric, Colormap::Viridis, &[2.0, 4.0]);
    assert_eq!((n.lo, n.hi), (-4.0, 4.0));
    let n = norm(Range::MinMax, Colormap::Seismic, &[2.0, 4.0]);
    assert_eq!((n.lo, n.hi), (2.0, 4.0));
}

#[test]
fn degenerate_ranges_are_widened() {
    let n = norm(Range::Auto, Colormap::Seismic, &[0.0; 9]);
    assert_eq!((n.lo, n.hi), (-1.0, 1.0));
    assert_eq!(n.t(0.0), 0.5);
    let n = norm(Range::Auto, Colormap::Viridis, &[5.0; 4]);
    assert!(n.lo < 5.0 && n.hi > 5.0 && (n.t(5.0) - 0.5).abs() < 1e-6);
    let n = norm(Range::Auto, Colormap::Hot, &[f32::NAN, f32::INFINITY]);
    assert_eq!((n.lo, n.hi), (-1.0, 1.0));
    assert!(n.t(f32::NAN).is_nan());
    assert_eq!(n.t(f32::INFINITY), 1.0);
}

#[test]
fn fixed_ranges_are_checked() {
    let n = norm(Range::Fixed(0.0, 1.0), Colormap::Gray, &[7.0]);
    assert_eq!((n.lo, n.hi), (0.0, 1.0));
    assert_eq!(n.t(7.0), 1.0);
    let e = Norm::resolve(
        "heatmap",
        Range::Fixed(1.0, 0.0),
        Colormap::Gray,
        Stats::of(&[]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("heatmap: range Fixed(1, 0)"), "{e}");
    assert!(Norm::resolve(
        "h",
        Range::Fixed(f32::NAN, 1.0),
        Colormap::Gray,
        Stats::of(&[])
    )
    .is_err());
}
