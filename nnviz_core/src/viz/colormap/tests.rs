use super::*;

#[test]
fn seismic_anchors() {
    let c = Colormap::Seismic;
    assert_eq!(c.rgb(0.0), [0, 0, 77]);
    assert_eq!(c.rgb(0.25), [0, 0, 255]);
    assert_eq!(c.rgb(0.5), [255, 255, 255]);
    assert_eq!(c.rgb(0.75), [255, 0, 0]);
    assert_eq!(c.rgb(1.0), [128, 0, 0]);
    assert_eq!(c.rgb(-3.0), [0, 0, 77], "clamped below");
    assert_eq!(c.rgb(7.0), [128, 0, 0], "clamped above");
}

#[test]
fn bwr_anchors() {
    let c = Colormap::Bwr;
    assert_eq!(c.rgb(0.0), [0, 0, 255]);
    assert_eq!(c.rgb(0.5), [255, 255, 255]);
    assert_eq!(c.rgb(1.0), [255, 0, 0]);
    assert!(c.is_diverging() && Colormap::Seismic.is_diverging());
    assert!(!Colormap::Viridis.is_diverging());
}

#[test]
fn viridis_endpoints_and_middle() {
    let c = Colormap::Viridis;
    assert_eq!(c.rgb(0.0), [68, 1, 84]);
    assert_eq!(c.rgb(1.0), [253, 231, 37]);
    // matplotlib viridis(0.5) = (0.127568, 0.566949, 0.550556) -> (33, 145, 140).
    let m = c.rgb(0.5);
    let want = [33i32, 145, 140];
    for k in 0..3 {
        assert!((m[k] as i32 - want[k]).abs() <= 1, "{m:?} vs {want:?}");
    }
}

#[test]
fn gray_hot_and_nan() {
    assert_eq!(Colormap::Gray.rgb(0.0), [0, 0, 0]);
    assert_eq!(Colormap::Gray.rgb(1.0), [255, 255, 255]);
    assert_eq!(Colormap::GrayR.rgb(0.0), [255, 255, 255]);
    assert_eq!(Colormap::GrayR.rgb(1.0), [0, 0, 0]);
    assert_eq!(Colormap::Hot.rgb(0.0), [11, 0, 0]);
    assert_eq!(Colormap::Hot.rgb(1.0), [255, 255, 255]);
    assert_eq!(Colormap::HotR.rgb(0.0), [255, 255, 255]);
    for c in Colormap::ALL {
        assert_eq!(c.rgb(f32::NAN), NAN_COLOR);
    }
}

#[test]
fn names_round_trip() {
    for c in Colormap::ALL {
        assert_eq!(c.name().parse::<Colormap>().unwrap(), c);
    }
    assert_eq!("Grey_R".parse::<Colormap>().unwrap(), Colormap::GrayR);
    let e = "jet".parse::<Colormap>().unwrap_err().to_string();
    assert!(e.contains("\"jet\"") && e.contains("seismic"), "{e}");
}
