use super::*;
use candle_core::{DType, Device};

fn decode(png: &Png) -> image::RgbImage {
    image::load_from_memory(png.as_bytes()).unwrap().to_rgb8()
}

#[test]
fn cells_have_the_colormap_colours() {
    // Row 0: -1, 0, 1; row 1: 0.5, NaN, -0.5.
    let v = [-1f32, 0.0, 1.0, 0.5, f32::NAN, -0.5];
    let t = Tensor::from_slice(&v, (2, 3), &Device::Cpu).unwrap();
    let hm = heatmap(&t).unwrap().scale(10).title("t");
    let spec = hm.spec(None).unwrap();
    let l = spec.layout().unwrap();
    let png = hm.render().unwrap();
    let img = decode(&png);
    assert_eq!((img.width(), img.height()), (png.width(), png.height()));
    assert_eq!((png.width(), png.height()), (l.w as u32, l.h as u32));
    let at = |cx: u32, cy: u32| {
        img.get_pixel(l.img_x as u32 + cx * 10 + 5, l.img_y as u32 + cy * 10 + 5)
            .0
    };
    assert_eq!(at(2, 0), [128, 0, 0], "+max is seismic's top colour");
    assert_eq!(at(0, 0), [0, 0, 77], "-max is seismic's bottom colour");
    assert_eq!(at(1, 0), [255, 255, 255], "zero is white");
    assert_eq!(at(1, 1), super::super::colormap::NAN_COLOR);
}

#[test]
fn degenerate_maps_render() {
    let z = Tensor::zeros((1, 1, 28, 28), DType::F32, &Device::Cpu).unwrap();
    let png = heatmap(&z).unwrap().render().unwrap();
    assert!(png.width() > 140 && png.height() >= 140 + 16);
    let c = Tensor::full(3f32, (5, 5), &Device::Cpu).unwrap();
    for cmap in Colormap::ALL {
        Heatmap::new(&c).unwrap().cmap(cmap).render().unwrap();
    }
    let n = Tensor::full(f32::NAN, (4, 4), &Device::Cpu).unwrap();
    heatmap(&n).unwrap().render().unwrap();
    let e = heatmap(&n)
        .unwrap()
        .scale(5000)
        .render()
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("heatmap: a 4x4 map at 5000 px per cell"),
        "{e}"
    );
}

#[test]
fn wrong_shapes_name_the_shape() {
    let t = Tensor::zeros((2, 3, 5, 5), DType::F32, &Device::Cpu).unwrap();
    let e = heatmap(&t).unwrap_err().to_string();
    assert!(
        e.starts_with("heatmap: expected a 2-D map") && e.contains("[2, 3, 5, 5]"),
        "{e}"
    );
    let e = image(&Tensor::zeros(5, DType::F32, &Device::Cpu).unwrap()).unwrap_err();
    assert!(e.to_string().starts_with("image: "), "{e}");
}

#[test]
fn images_are_gray_without_colorbar() {
    let t = Tensor::from_slice(&[0f32, 1.0, 0.5, 0.25], (1, 2, 2), &Device::Cpu).unwrap();
    let hm = image(&t).unwrap().scale(4);
    let spec = hm.spec(None).unwrap();
    assert!(spec.colorbar.is_none());
    assert_eq!(&spec.pic.rgb[..3], &[0, 0, 0]);
    assert_eq!(&spec.pic.rgb[4 * 3..4 * 3 + 3], &[255, 255, 255]);
    let t = Tensor::from_slice(&[-2f32, 2.0], (1, 2), &Device::Cpu).unwrap();
    assert_eq!(image(&t).unwrap().range, Range::MinMax);
}

#[test]
fn evcxr_display_text_is_a_png() {
    use base64::Engine as _;
    let t = Tensor::ones((3, 3), DType::F32, &Device::Cpu).unwrap();
    let s = super::super::png::display_text("heatmap", heatmap(&t).unwrap().render());
    assert!(s.starts_with("EVCXR_BEGIN_CONTENT image/png\n"));
    let b64 = s.lines().nth(1).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}
