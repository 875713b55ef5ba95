use super::*;
use candle_core::{DType, Device};

fn px(spec: &PanelSpec, x: usize, y: usize) -> [u8; 3] {
    let i = (y * spec.pic.w as usize + x) * 3;
    [spec.pic.rgb[i], spec.pic.rgb[i + 1], spec.pic.rgb[i + 2]]
}

#[test]
fn blends_and_fades() {
    let dev = Device::Cpu;
    let img = Tensor::from_slice(&[0f32, 1.0, 0.0, 1.0], (2, 2), &dev).unwrap();
    let map = Tensor::from_slice(&[1f32, 0.0, -1.0, 0.0], (2, 2), &dev).unwrap();
    let o = Overlay::new(&img, &map)
        .unwrap()
        .scale(2)
        .cmap(Colormap::Bwr);
    let s = o.spec(None).unwrap();
    assert_eq!((s.pic.w, s.pic.h), (4, 4));
    assert_eq!(px(&s, 0, 0), [128, 0, 0], "half red over black");
    assert_eq!(px(&s, 3, 0), [255, 255, 255], "half white over white");
    let s = o.clone().fade(true).spec(None).unwrap();
    assert_eq!(px(&s, 0, 0), [128, 0, 0], "full magnitude keeps alpha");
    assert_eq!(px(&s, 2, 0), [255, 255, 255], "zero is transparent");
    assert_eq!(px(&s, 0, 2), [0, 0, 128], "blue over black");
    let s = o.alpha(0.0).spec(None).unwrap();
    assert_eq!(px(&s, 0, 0), [0, 0, 0]);
}

#[test]
fn coarse_maps_are_stretched() {
    let dev = Device::Cpu;
    let img = Tensor::zeros((1, 1, 40, 40), DType::F32, &dev).unwrap();
    let map = Tensor::from_slice(&[1f32, 0.0, 0.0, 0.0], (2, 2), &dev).unwrap();
    let o = Overlay::new(&img, &map).unwrap().alpha(1.0);
    let s = o.spec(None).unwrap();
    assert_eq!((s.pic.w, s.pic.h), (120, 120));
    assert_eq!(px(&s, 59, 59), [128, 0, 0]);
    assert_eq!(px(&s, 60, 59), [255, 255, 255]);
    o.render().unwrap();
    let nan = Tensor::full(f32::NAN, (4, 4), &dev).unwrap();
    Overlay::new(&nan, &nan)
        .unwrap()
        .fade(true)
        .render()
        .unwrap();
}
