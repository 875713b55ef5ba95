use super::super::examples::{digit, relevance};
use super::*;
use candle_core::{DType, Device};

fn size(png: &super::super::Png) -> (u32, u32) {
    let img = image::load_from_memory(png.as_bytes()).unwrap();
    (img.width(), img.height())
}

#[test]
fn digit_overlays_render_and_count() {
    let maps = Tensor::cat(&(0..10).map(relevance).collect::<Vec<_>>(), 0).unwrap();
    let ims = Tensor::cat(&(0..10).map(digit).collect::<Vec<_>>(), 0).unwrap();
    let g = Grid::digit_overlays(&ims, &maps).unwrap();
    let (w, h) = size(&g.cmap(Colormap::Hot).render().unwrap());
    assert!(h > w, "5 rows × 2 columns: {w}×{h}");
    let err = Grid::digit_overlays(&ims, maps.narrow(0, 0, 9).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("10 images and 10 maps, got 10 and 9"), "{err}");
}

#[test]
fn digits_grid_renders_ten_maps() {
    let maps = Tensor::cat(&(0..10).map(relevance).collect::<Vec<_>>(), 0).unwrap();
    assert_eq!(maps.dims(), [10, 1, 28, 28]);
    let png = Grid::digits(&maps).unwrap().render().unwrap();
    let (w, h) = size(&png);
    assert!(w > 2 * 140 && h > 5 * 140, "{w}x{h}");
    let v: Vec<Tensor> = (0..10).map(|d| relevance(d).squeeze(0).unwrap()).collect();
    Grid::digits(&v)
        .unwrap()
        .cmap(Colormap::HotR)
        .render()
        .unwrap();
}

#[test]
fn wrong_counts_are_errors() {
    let nine = Tensor::zeros((9, 28, 28), DType::F32, &Device::Cpu).unwrap();
    let e = Grid::digits(&nine).unwrap_err().to_string();
    assert_eq!(e, "Grid::digits: expected 10 maps (one per digit), got 9");
    let g = Grid::new(1, 1)
        .panel(image(&digit(0)).unwrap())
        .panel(image(&digit(1)).unwrap());
    let e = g.render().unwrap_err().to_string();
    assert!(e.contains("2 panels do not fit 1x1"), "{e}");
    let a = vec![digit(0), digit(1)];
    let b = vec![digit(0)];
    let e = Grid::compare(&[("A", &a), ("B", &b)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"B\" has 1 maps"), "{e}");
    assert!(Grid::new(0, 3).render().is_err());
}

#[test]
fn comparisons_strips_and_shared_grids_render() {
    let inputs: Vec<Tensor> = (0..3).map(digit).collect();
    let maps: Vec<Tensor> = (0..3).map(relevance).collect();
    let g = Grid::compare_with_input(&inputs, &[("LRP", &maps), ("Other", &maps)]).unwrap();
    let g = g.row_labels(["a", "b", "c"]).title("Comparison");
    assert_eq!(g.col_labels, ["Input", "LRP", "Other"]);
    g.clone().cmap(Colormap::Bwr).shared(true).render().unwrap();
    assert!(
        g.row_labels(["1", "2", "3", "4"]).render().is_err(),
        "too many row labels"
    );
    let strip = Grid::strip((0..5).map(|d| image(&digit(d)).unwrap()));
    let (w, h) = size(&strip.render().unwrap());
    assert!(w > 5 * 140 && h < 200, "{w}x{h}");
    Grid::new(2, 2)
        .panel(Panel::Empty)
        .panel(image(&digit(3)).unwrap())
        .render()
        .unwrap();
}
