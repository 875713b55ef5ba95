use super::*;

#[test]
fn font_tables_parse() {
    let m = metrics().expect("DejaVu Sans tables");
    assert_eq!(m.height, 1901.0 + 483.0);
    assert!(m.glyph('A').is_some_and(|g| g > 0));
    assert_ne!(m.glyph('A'), m.glyph('B'));
    // 'i' and 'H' sit well inside their advance.
    assert!(
        m.lsb('i') > 0.05 && m.lsb('H') > 0.05,
        "{} {}",
        m.lsb('i'),
        m.lsb('H')
    );
    let f = Font(20.0);
    let g = f.glyphs("a b").unwrap();
    assert_eq!(g.len(), 2);
    assert!(g[1].1 > g[0].1 + f.width("a").unwrap());
    // Kerning moves the second glyph of "Ta", not the third of "Tay".
    let g = f.glyphs("Tay").unwrap();
    let (ta, t, a) = (
        f.width("Ta").unwrap(),
        f.width("T").unwrap(),
        f.width("a").unwrap(),
    );
    assert!(ta < t + a - 1.0, "DejaVu kerns T-a");
    let lsb = |c| (m.lsb(c) * 20.0).floor();
    assert!((g[1].1 - (ta - a + lsb('a'))).abs() < 1e-9);
    assert!((g[2].1 - (ta + lsb('y'))).abs() < 0.05, "{g:?}");
}
