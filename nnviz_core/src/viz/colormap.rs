//! Colormaps: matplotlib's `seismic`, `bwr`, `viridis`, `hot` (and `hot_r`), `gray` and `gray_r`.
//!
//! A colormap turns a normalised value `t` in `[0, 1]` into an RGB colour. Values outside
//! `[0, 1]` are clamped; NaN becomes [`NAN_COLOR`], a neutral grey. Channels are rounded to the
//! nearest byte, so `seismic(0)` is `(0, 0, 77)` (matplotlib's anchor `(0, 0, 0.3)`).

/// An RGB colour, one byte a channel.
pub type Rgb = [u8; 3];

/// The colour of NaN values: a neutral light grey, distinct from every map's centre colour.
pub const NAN_COLOR: Rgb = [190, 190, 190];

/// A colormap. Diverging maps ([`Seismic`](Colormap::Seismic), [`Bwr`](Colormap::Bwr)) are
/// meant for signed relevance centred on zero; the others are sequential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Colormap {
    /// matplotlib `seismic`: dark blue → blue → white → red → dark red (diverging).
    #[default]
    Seismic,
    /// matplotlib `bwr`: blue → white → red (diverging).
    Bwr,
    /// matplotlib `viridis` (perceptually uniform, dark purple → yellow).
    Viridis,
    /// matplotlib `hot`: black → red → yellow → white.
    Hot,
    /// matplotlib `hot_r`: `hot` reversed (white for low values), as in the original tutorial.
    HotR,
    /// matplotlib `gray`: black → white.
    Gray,
    /// matplotlib `gray_r`: white → black.
    GrayR,
}

/// `seismic` anchors at t = 0, 0.25, 0.5, 0.75, 1 (matplotlib `_seismic_data`).
const SEISMIC: [[f32; 3]; 5] = [
    [0.0, 0.0, 0.3],
    [0.0, 0.0, 1.0],
    [1.0, 1.0, 1.0],
    [1.0, 0.0, 0.0],
    [0.5, 0.0, 0.0],
];

/// `bwr` anchors at t = 0, 0.5, 1 (matplotlib `_bwr_data`).
const BWR: [[f32; 3]; 3] = [[0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0]];

/// matplotlib's 256-entry `viridis` table (CC0), every 5th entry: entry `k` is the colour at
/// `t = k / 51`. Linear interpolation between them stays within 0.7/255 of the full table.
#[rustfmt::skip]
#[allow(clippy::approx_constant)]
const VIRIDIS: [[f32; 3]; 52] = [
    [0.2670, 0.0049, 0.3294], [0.2738, 0.0315, 0.3589], [0.2788, 0.0621, 0.3866],
    [0.2819, 0.0897, 0.4124], [0.2832, 0.1157, 0.4361], [0.2826, 0.1409, 0.4575],
    [0.2803, 0.1657, 0.4765], [0.2762, 0.1901, 0.4930], [0.2706, 0.2141, 0.5071],
    [0.2637, 0.2376, 0.5188], [0.2556, 0.2607, 0.5283], [0.2468, 0.2832, 0.5359],
    [0.2374, 0.3052, 0.5419], [0.2278, 0.3266, 0.5465], [0.2181, 0.3474, 0.5500],
    [0.2086, 0.3678, 0.5527], [0.1994, 0.3876, 0.5546], [0.1906, 0.4071, 0.5561],
    [0.1823, 0.4262, 0.5571], [0.1743, 0.4450, 0.5578], [0.1666, 0.4637, 0.5581],
    [0.1592, 0.4822, 0.5581], [0.1519, 0.5007, 0.5576], [0.1448, 0.5191, 0.5566],
    [0.1378, 0.5375, 0.5549], [0.1312, 0.5559, 0.5525], [0.1254, 0.5743, 0.5491],
    [0.1211, 0.5927, 0.5446], [0.1194, 0.6111, 0.5390], [0.1214, 0.6295, 0.5320],
    [0.1281, 0.6477, 0.5235], [0.1402, 0.6659, 0.5134], [0.1579, 0.6838, 0.5017],
    [0.1807, 0.7014, 0.4882], [0.2080, 0.7187, 0.4729], [0.2394, 0.7356, 0.4557],
    [0.2741, 0.7520, 0.4366], [0.3119, 0.7678, 0.4156], [0.3524, 0.7830, 0.3926],
    [0.3952, 0.7975, 0.3678], [0.4401, 0.8111, 0.3410], [0.4870, 0.8239, 0.3123],
    [0.5356, 0.8358, 0.2819], [0.5857, 0.8467, 0.2499], [0.6369, 0.8565, 0.2166],
    [0.6889, 0.8654, 0.1827], [0.7414, 0.8734, 0.1496], [0.7938, 0.8807, 0.1200],
    [0.8456, 0.8873, 0.0997], [0.8963, 0.8936, 0.0963], [0.9456, 0.8998, 0.1128],
    [0.9932, 0.9062, 0.1439],
];

impl Colormap {
    /// Every colormap, in declaration order.
    pub const ALL: [Colormap; 7] = [
        Colormap::Seismic,
        Colormap::Bwr,
        Colormap::Viridis,
        Colormap::Hot,
        Colormap::HotR,
        Colormap::Gray,
        Colormap::GrayR,
    ];

    /// The colour at normalised position `t` (clamped to `[0, 1]`; NaN gives [`NAN_COLOR`]).
    pub fn rgb(&self, t: f32) -> Rgb {
        if t.is_nan() {
            return NAN_COLOR;
        }
        let t = t.clamp(0.0, 1.0);
        let c = match self {
            Colormap::Seismic => uniform(&SEISMIC, t),
            Colormap::Bwr => uniform(&BWR, t),
            Colormap::Viridis => uniform(&VIRIDIS, t),
            Colormap::Hot => hot(t),
            Colormap::HotR => hot(1.0 - t),
            Colormap::Gray => [t, t, t],
            Colormap::GrayR => [1.0 - t, 1.0 - t, 1.0 - t],
        };
        c.map(to_byte)
    }

    /// Whether the map is diverging (centred on zero): `Auto` ranges are then symmetric.
    pub fn is_diverging(&self) -> bool {
        matches!(self, Colormap::Seismic | Colormap::Bwr)
    }

    /// matplotlib's name for the map (`"seismic"`, `"gray_r"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Colormap::Seismic => "seismic",
            Colormap::Bwr => "bwr",
            Colormap::Viridis => "viridis",
            Colormap::Hot => "hot",
            Colormap::HotR => "hot_r",
            Colormap::Gray => "gray",
            Colormap::GrayR => "gray_r",
        }
    }
}

impl std::fmt::Display for Colormap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Colormap {
    type Err = crate::Error;

    /// Parses matplotlib's name (`"seismic"`, `"bwr"`, `"viridis"`, `"hot"`, `"hot_r"`,
    /// `"gray"`/`"grey"`, `"gray_r"`/`"grey_r"`).
    fn from_str(s: &str) -> crate::Result<Colormap> {
        let name = s.trim().to_ascii_lowercase().replace("grey", "gray");
        Colormap::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Colormap::ALL.iter().map(|c| c.name()).collect();
                crate::Error::invalid(format!(
                    "colormap: unknown name {s:?}, expected one of {}",
                    known.join(", ")
                ))
            })
    }
}

fn to_byte(x: f32) -> u8 {
    (x.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Linear interpolation in a table of equally spaced anchors (t in [0, 1]).
fn uniform(table: &[[f32; 3]], t: f32) -> [f32; 3] {
    let n = table.len() - 1;
    let x = t * n as f32;
    let i = (x.floor() as usize).min(n.saturating_sub(1));
    let f = x - i as f32;
    let (a, b) = (table[i], table[(i + 1).min(n)]);
    [
        a[0] + (b[0] - a[0]) * f,
        a[1] + (b[1] - a[1]) * f,
        a[2] + (b[2] - a[2]) * f,
    ]
}

/// matplotlib `hot` (`_hot_data`): red ramps 0.0416 → 1 on [0, 0.365079], green 0 → 1 on
/// [0.365079, 0.746032], blue 0 → 1 on [0.746032, 1].
fn hot(t: f32) -> [f32; 3] {
    let ramp = |lo: f32, hi: f32, from: f32| {
        if t <= lo {
            from
        } else if t >= hi {
            1.0
        } else {
            from + (1.0 - from) * (t - lo) / (hi - lo)
        }
    };
    [
        ramp(0.0, 0.365079, 0.0416),
        ramp(0.365079, 0.746032, 0.0),
        ramp(0.746032, 1.0, 0.0),
    ]
}

#[cfg(test)]
mod tests;
