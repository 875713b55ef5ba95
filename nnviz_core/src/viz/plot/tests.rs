use super::*;

#[test]
fn two_series_with_legend() {
    let ys: Vec<f32> = (0..20).map(|i| (i as f32 / 3.0).sin()).collect();
    let p = LinePlot::new("Curves")
        .xlabel("step")
        .ylabel("value")
        .series_y("sin", &ys)
        .series("line", &[0.0, 19.0], &[-1.0, 1.0])
        .markers(true);
    let png = p.render().unwrap();
    let img = image::load_from_memory(png.as_bytes()).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (640, 420));
    let has = |c: Rgb| img.pixels().filter(|p| p.0 == c).count();
    assert!(
        has(CYCLE[0]) > 50 && has(CYCLE[1]) > 50,
        "both series colours are drawn"
    );
}

#[test]
fn twenty_series_get_twenty_colours() {
    let distinct: std::collections::HashSet<Rgb> = CYCLE.iter().copied().collect();
    assert_eq!(distinct.len(), 20);
    // Horizontal lines of equal length; the 11th must not reuse the 1st one's colour.
    let blue = |lines: usize| {
        let mut p = LinePlot::new("").legend(false).yrange(-1.0, 12.0);
        for i in 0..lines {
            p = p.series("", &[0.0, 10.0], &[i as f64, i as f64]);
        }
        let img = image::load_from_memory(p.render().unwrap().as_bytes())
            .unwrap()
            .to_rgb8();
        img.pixels().filter(|px| px.0 == CYCLE[0]).count()
    };
    let (one, eleven) = (blue(1), blue(11));
    assert!(one > 50 && eleven < one * 3 / 2, "{one} {eleven}");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let e = LinePlot::new("")
        .series("a", &[1.0, 2.0], &[1.0])
        .render()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("\"a\" has 2 x values but 1 y values"),
        "{e}"
    );
    assert!(LinePlot::new("").xrange(1.0, 1.0).render().is_err());
    assert!(LinePlot::new("t").size(30, 30).render().is_err());
    // Empty, constant, NaN-only and single-point plots render.
    LinePlot::new("").render().unwrap();
    LinePlot::new("c")
        .series_y("k", &[3.0, 3.0])
        .render()
        .unwrap();
    LinePlot::new("n")
        .series_y("n", &[f64::NAN, f64::INFINITY])
        .render()
        .unwrap();
    LinePlot::new("p")
        .series("p", &[1.0], &[2.0])
        .render()
        .unwrap();
}
