//! Every attribution method by name, with its parameters, their defaults and `key=value`
//! parsing: what `nnviz methods` lists and `nnviz explain --method NAME --param key=value` builds.
//!
//! ```
//! use nnviz_core::methods::registry;
//! let params = registry::parse_params(&["steps=16".to_string()])?;
//! let ig = registry::build("integrated-gradients", &params)?; // a Box<dyn Attribution>
//! assert!(registry::build("integrated-gradients", &registry::parse_params(&["step=16".into()])?).is_err());
//! # Ok::<(), nnviz_core::Error>(())
//! ```
//!
//! Unknown methods, unknown parameters and values that do not parse are errors that list what
//! is valid. The settings a name stands for are the library's defaults (those of
//! [`crate::bench::suite`]); see each method's own documentation for the formula and paper.

use crate::attribution::Attribution;
use crate::methods::{
    Baseline, Cam, FeatureAblation, GradCam, GradCamPlusPlus, GradientShap, GradientTransform,
    GuidedGradCam, HiResCam, InputXGradient, IntegratedGradients, KernelShap, LayerCam, Lime,
    LimeDistance, Noise, Occlusion, Quadrature, References, Saliency, ScoreCam,
    ShapleyValueSampling, ShapleyValues, SmoothGrad, SmoothGradVariant, XGradCam,
};
use crate::relevance::{Composite, Deconvnet, DeepLift, DeepTaylor, GuidedBackprop, Lrp, Rule};
use crate::{Error, Result};

/// One parameter of a method: its name, its default (as text) and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    /// The default value as it would be written after `=` (`""`: none, see `help`).
    pub default: &'static str,
    pub help: &'static str,
}

/// One method: its name, a one-line description and its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    pub name: &'static str,
    pub summary: &'static str,
    pub params: &'static [Param],
}

const fn p(name: &'static str, default: &'static str, help: &'static str) -> Param {
    Param {
        name,
        default,
        help,
    }
}

// The features, absent value and pass size of the perturbation methods (feature ablation,
// Shapley sampling, KernelSHAP, LIME; exact Shapley values say their cost in their own `patch`).
const PATCH: Param = p(
    "patch",
    "7",
    "side of the square patches that form the features",
);
const ABSENT_BASELINE: Param = p("baseline", "0", "constant value of an absent pixel");
const PERTURBED_BATCH: Param = p(
    "batch-size",
    "500",
    "perturbed inputs per pass (memory bound)",
);
const CAM_LAYER: Param = p(
    "layer",
    "",
    "layer whose output is weighed (default: the last layer with a feature-map output)",
);
const CAM_RELU: Param = p(
    "relu",
    "true",
    "apply the final ReLU (false keeps negative evidence)",
);

/// Every method, in the order `nnviz methods` prints them.
pub const METHODS: &[MethodInfo] = &[
    MethodInfo {
        name: "gradient",
        summary: "gradient of the target score w.r.t. the input (Simonyan et al. 2014)",
        params: &[p(
            "transform",
            "raw",
            "raw, abs (saliency map) or square (sensitivity)",
        )],
    },
    MethodInfo {
        name: "input-x-gradient",
        summary: "input ⊙ gradient (Shrikumar et al. 2016)",
        params: &[],
    },
    MethodInfo {
        name: "integrated-gradients",
        summary: "path integral of the gradient from a baseline (Sundararajan et al. 2017)",
        params: &[
            p("steps", "50", "number of quadrature points"),
            p("baseline", "0", "constant value of the baseline image"),
            p(
                "quadrature",
                "gauss-legendre",
                "gauss-legendre, riemann-left, riemann-right, riemann-middle or riemann-trapezoid",
            ),
            p(
                "batch-size",
                "500",
                "interpolation points per pass (memory bound)",
            ),
        ],
    },
    MethodInfo {
        name: "gradient-shap",
        summary:
            "expected gradients: random points on paths from random baselines (Lundberg & Lee 2017)",
        params: &[
            p(
                "samples",
                "50",
                "draws per example (a baseline, a point on its path, noise)",
            ),
            p(
                "baseline",
                "0",
                "constant value of the single reference image",
            ),
            p("stdev", "0", "σ of the Gaussian noise added to the input"),
            p("seed", "0", "seed of the draws"),
            p("batch-size", "500", "path points per pass (memory bound)"),
        ],
    },
    MethodInfo {
        name: "smoothgrad",
        summary: "gradient averaged over noisy copies of the input (Smilkov et al. 2017)",
        params: &[
            p("samples", "50", "number of noisy copies"),
            p(
                "noise",
                "0.15",
                "noise level σ / (max(x) − min(x)) per example",
            ),
            p(
                "variant",
                "mean",
                "mean (SmoothGrad), squared (SmoothGrad²) or vargrad",
            ),
            p("seed", "0", "seed of the noise"),
            p("batch-size", "500", "noisy inputs per pass (memory bound)"),
        ],
    },
    MethodInfo {
        name: "occlusion",
        summary:
            "mean score drop when a sliding window is set to a baseline (Zeiler & Fergus 2014)",
        params: &[
            p("window", "4", "side of the square window (every channel)"),
            p("stride", "2", "step between window positions, 1..=window"),
            p("baseline", "0", "constant value of an occluded pixel"),
            p(
                "batch-size",
                "500",
                "occluded inputs per pass (memory bound)",
            ),
        ],
    },
    MethodInfo {
        name: "feature-ablation",
        summary:
            "score drop when one patch at a time is set to a baseline (Captum FeatureAblation)",
        params: &[
            PATCH,
            ABSENT_BASELINE,
            PERTURBED_BATCH,
        ],
    },
    MethodInfo {
        name: "shapley-values",
        summary: "exact Shapley values of patches over all 2^M coalitions (Shapley 1953; M ≤ 16)",
        params: &[
            p(
                "patch",
                "7",
                "side of the square patches that form the features: 2^M passes per image \
                 (65 536 for 16 patches of 7×7 on 28×28, 512 for 9 of 10×10)",
            ),
            ABSENT_BASELINE,
            PERTURBED_BATCH,
        ],
    },
    MethodInfo {
        name: "shapley-sampling",
        summary: "Shapley values of patches from random feature orderings (Castro et al. 2009)",
        params: &[
            PATCH,
            p("samples", "25", "random orderings of the features"),
            p("seed", "0", "seed of the orderings"),
            ABSENT_BASELINE,
            PERTURBED_BATCH,
        ],
    },
    MethodInfo {
        name: "kernel-shap",
        summary:
            "Shapley values of patches by Shapley-kernel weighted regression (Lundberg & Lee 2017)",
        params: &[
            PATCH,
            p(
                "samples",
                "200",
                "coalitions drawn from the Shapley kernel (all when fewer)",
            ),
            p("seed", "0", "seed of the coalitions"),
            ABSENT_BASELINE,
            PERTURBED_BATCH,
        ],
    },
    MethodInfo {
        name: "lime",
        summary: "weighted Lasso on random patch coalitions near the input (Ribeiro et al. 2016; Captum's defaults)",
        params: &[
            PATCH,
            p("samples", "200", "random coalitions (each patch present with probability ½)"),
            p("distance", "cosine", "kernel distance between x and x(z): cosine | euclidean"),
            p("kernel-width", "1", "width w of the kernel exp(−d²/2w²)"),
            p("alpha", "0.01", "Lasso penalty, in the score's units (0: weighted least squares)"),
            p("seed", "0", "seed of the coalitions"),
            ABSENT_BASELINE,
            PERTURBED_BATCH,
        ],
    },
    MethodInfo {
        name: "guided-backprop",
        summary:
            "backprop passing only positive gradients through ReLUs (Springenberg et al. 2015)",
        params: &[],
    },
    MethodInfo {
        name: "deconvnet",
        summary: "backprop with ReLU applied to the backward signal (Zeiler & Fergus 2014)",
        params: &[],
    },
    MethodInfo {
        name: "lrp-epsilon",
        summary: "LRP-ε on every layer (Bach et al. 2015)",
        params: &[p("epsilon", "0.25", "stabiliser ε ≥ 0")],
    },
    MethodInfo {
        name: "lrp-zplus",
        summary: "LRP z⁺ (= α1β0 without bias) on every layer",
        params: &[],
    },
    MethodInfo {
        name: "lrp-alpha2beta1",
        summary: "LRP-α2β1 on every layer",
        params: &[],
    },
    MethodInfo {
        name: "lrp-epsilon-plus",
        summary: "composite: LRP-ε on dense layers, z⁺ on convolutions (Kohlbrenner et al. 2020)",
        params: &[p("epsilon", "0.25", "ε of the dense layers")],
    },
    MethodInfo {
        name: "deep-taylor",
        summary:
            "deep Taylor decomposition: z^B on the first layer, z⁺ above (Montavon et al. 2017)",
        params: &[
            p("low", "0", "lower bound of the input values"),
            p("high", "1", "upper bound of the input values"),
        ],
    },
    MethodInfo {
        name: "deeplift",
        summary: "DeepLIFT, Rescale rule, against a constant reference (Shrikumar et al. 2017)",
        params: &[p("baseline", "0", "constant value of the reference image")],
    },
    MethodInfo {
        name: "cam",
        summary: "class activation map of a GAP + linear head (Zhou et al. 2016), [N,1,H,W]",
        params: &[],
    },
    MethodInfo {
        name: "grad-cam",
        summary: "Grad-CAM (Selvaraju et al. 2017), [N,1,H,W]",
        params: &[CAM_LAYER, CAM_RELU],
    },
    MethodInfo {
        name: "xgrad-cam",
        summary: "XGrad-CAM, activation-weighted gradients (Fu et al. 2020), [N,1,H,W]",
        params: &[CAM_LAYER, CAM_RELU],
    },
    MethodInfo {
        name: "grad-cam-plus-plus",
        summary: "Grad-CAM++ (Chattopadhyay et al. 2018), [N,1,H,W]",
        params: &[CAM_LAYER, CAM_RELU],
    },
    MethodInfo {
        name: "hires-cam",
        summary: "HiResCAM, gradient ⊙ activation per location (Draelos & Carin 2020), [N,1,H,W]",
        params: &[CAM_LAYER, CAM_RELU],
    },
    MethodInfo {
        name: "layer-cam",
        summary: "LayerCAM, positive gradient ⊙ activation (Jiang et al. 2021), [N,1,H,W]",
        params: &[CAM_LAYER, CAM_RELU],
    },
    MethodInfo {
        name: "guided-grad-cam",
        summary: "guided backprop ⊙ upsampled Grad-CAM (Selvaraju et al. 2017), [N,C,H,W]",
        params: &[CAM_LAYER, CAM_RELU],
    },
    MethodInfo {
        name: "score-cam",
        summary: "Score-CAM, softmax of masked-input scores (Wang et al. 2020), [N,1,H,W]",
        params: &[
            CAM_LAYER,
            CAM_RELU,
            p(
                "softmax",
                "true",
                "normalise the channel scores by a softmax over channels (false: raw scores)",
            ),
            p("batch-size", "500", "masked inputs per pass (memory bound)"),
        ],
    },
];

/// The names of every method, comma-separated.
pub fn names() -> String {
    METHODS
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The description of the method `name`, or an error listing the known methods.
pub fn info(name: &str) -> Result<&'static MethodInfo> {
    METHODS
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| Error::invalid(format!("unknown method {name:?}; methods: {}", names())))
}

/// Splits `key=value` arguments; an argument without `=` or with an empty key is an error.
pub fn parse_params(args: &[String]) -> Result<Vec<(String, String)>> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(Error::invalid(format!(
                "parameter {a:?} is not of the form key=value"
            ))),
        })
        .collect()
}

/// The parameters given for one method, checked against its list, with typed getters that fall
/// back to the defaults.
struct Given<'a> {
    info: &'static MethodInfo,
    values: &'a [(String, String)],
}

impl<'a> Given<'a> {
    fn new(info: &'static MethodInfo, values: &'a [(String, String)]) -> Result<Given<'a>> {
        for (i, (k, _)) in values.iter().enumerate() {
            if !info.params.iter().any(|p| p.name == k) {
                let valid = if info.params.is_empty() {
                    "it takes no parameters".to_string()
                } else {
                    format!(
                        "its parameters are {}",
                        info.params
                            .iter()
                            .map(|p| p.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                return Err(Error::invalid(format!(
                    "method {}: unknown parameter {k:?}; {valid}",
                    info.name
                )));
            }
            if values[..i].iter().any(|(k2, _)| k2 == k) {
                return Err(Error::invalid(format!(
                    "method {}: parameter {k:?} given twice",
                    info.name
                )));
            }
        }
        Ok(Given { info, values })
    }

    /// The given or default text of `key` (`None`: no value and no default).
    fn text(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| {
                self.info
                    .params
                    .iter()
                    .find(|p| p.name == key)
                    .map(|p| p.default)
                    .filter(|d| !d.is_empty())
            })
    }

    fn bad(&self, key: &str, v: &str, want: &str) -> Error {
        Error::invalid(format!(
            "method {}: parameter {key}={v:?} is not {want}",
            self.info.name
        ))
    }

    fn parsed<T: std::str::FromStr>(&self, key: &str, want: &str) -> Result<T> {
        let v = self.text(key).unwrap_or_default();
        v.parse().map_err(|_| self.bad(key, v, want))
    }

    fn finite(&self, key: &str) -> Result<f32> {
        let x: f32 = self.parsed(key, "a number")?;
        if !x.is_finite() {
            let v = self.text(key).unwrap_or_default();
            return Err(self.bad(key, v, "a finite number"));
        }
        Ok(x)
    }

    fn non_negative(&self, key: &str) -> Result<f32> {
        let x = self.finite(key)?;
        if x < 0.0 {
            let v = self.text(key).unwrap_or_default();
            return Err(self.bad(key, v, "a number ≥ 0"));
        }
        Ok(x)
    }

    fn count(&self, key: &str) -> Result<usize> {
        let n: usize = self.parsed(key, "a whole number ≥ 1")?;
        if n == 0 {
            return Err(self.bad(key, "0", "a whole number ≥ 1"));
        }
        Ok(n)
    }

    fn choice<T: Copy>(&self, key: &str, options: &[(&str, T)]) -> Result<T> {
        let v = self.text(key).unwrap_or_default();
        options
            .iter()
            .find(|(name, _)| *name == v)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.bad(key, v, &format!("one of {}", names.join(", ")))
            })
    }
}

/// Builds the method `name` with `params` (`key`, `value` pairs, e.g. from [`parse_params`]);
/// parameters not given take the defaults listed in [`METHODS`].
pub fn build(name: &str, params: &[(String, String)]) -> Result<Box<dyn Attribution>> {
    let g = Given::new(info(name)?, params)?;
    let lrp = |rule| Box::new(Lrp::new(Composite::uniform(rule))) as Box<dyn Attribution>;
    let cam_layer = || g.text("layer").map(str::to_string);
    let cam_relu = || g.choice("relu", &[("true", true), ("false", false)]);
    Ok(match name {
        "gradient" => Box::new(Saliency {
            transform: g.choice(
                "transform",
                &[
                    ("raw", GradientTransform::Raw),
                    ("abs", GradientTransform::Abs),
                    ("square", GradientTransform::Square),
                ],
            )?,
        }),
        "input-x-gradient" => Box::new(InputXGradient),
        "integrated-gradients" => Box::new(IntegratedGradients {
            baseline: Baseline::Constant(g.finite("baseline")?),
            steps: g.count("steps")?,
            quadrature: g.choice(
                "quadrature",
                &[
                    ("gauss-legendre", Quadrature::GaussLegendre),
                    ("riemann-left", Quadrature::RiemannLeft),
                    ("riemann-right", Quadrature::RiemannRight),
                    ("riemann-middle", Quadrature::RiemannMiddle),
                    ("riemann-trapezoid", Quadrature::RiemannTrapezoid),
                ],
            )?,
            batch_size: g.count("batch-size")?,
        }),
        "gradient-shap" => Box::new(GradientShap {
            baselines: References::Constant(g.finite("baseline")?),
            samples: g.count("samples")?,
            stdev: g.non_negative("stdev")?,
            seed: g.parsed("seed", "a whole number ≥ 0")?,
            batch_size: g.count("batch-size")?,
        }),
        "smoothgrad" => Box::new(SmoothGrad {
            samples: g.count("samples")?,
            noise: Noise::Relative(g.non_negative("noise")?),
            variant: g.choice(
                "variant",
                &[
                    ("mean", SmoothGradVariant::Mean),
                    ("squared", SmoothGradVariant::Squared),
                    ("vargrad", SmoothGradVariant::VarGrad),
                ],
            )?,
            seed: g.parsed("seed", "a whole number ≥ 0")?,
            batch_size: g.count("batch-size")?,
            ..SmoothGrad::new(Saliency::default())
        }),
        "occlusion" => {
            let (side, stride) = (g.count("window")?, g.count("stride")?);
            Box::new(Occlusion {
                batch_size: g.count("batch-size")?,
                ..Occlusion::new((side, side), (stride, stride))
                    .with_baseline(Baseline::Constant(g.finite("baseline")?))
            })
        }
        "feature-ablation" => Box::new(FeatureAblation {
            batch_size: g.count("batch-size")?,
            ..FeatureAblation::new(g.count("patch")?)
                .with_baseline(Baseline::Constant(g.finite("baseline")?))
        }),
        "shapley-values" => Box::new(ShapleyValues {
            batch_size: g.count("batch-size")?,
            ..ShapleyValues::new(g.count("patch")?)
                .with_baseline(Baseline::Constant(g.finite("baseline")?))
        }),
        "shapley-sampling" => Box::new(ShapleyValueSampling {
            seed: g.parsed("seed", "a whole number ≥ 0")?,
            batch_size: g.count("batch-size")?,
            ..ShapleyValueSampling::new(g.count("patch")?, g.count("samples")?)
                .with_baseline(Baseline::Constant(g.finite("baseline")?))
        }),
        "kernel-shap" => Box::new(KernelShap {
            seed: g.parsed("seed", "a whole number ≥ 0")?,
            batch_size: g.count("batch-size")?,
            ..KernelShap::new(g.count("patch")?, g.count("samples")?)
                .with_baseline(Baseline::Constant(g.finite("baseline")?))
        }),
        "lime" => Box::new(Lime {
            distance: g.choice(
                "distance",
                &[
                    ("cosine", LimeDistance::Cosine),
                    ("euclidean", LimeDistance::Euclidean),
                ],
            )?,
            kernel_width: g.finite("kernel-width")? as f64,
            alpha: g.non_negative("alpha")? as f64,
            seed: g.parsed("seed", "a whole number ≥ 0")?,
            batch_size: g.count("batch-size")?,
            ..Lime::new(g.count("patch")?, g.count("samples")?)
                .with_baseline(Baseline::Constant(g.finite("baseline")?))
        }),
        "guided-backprop" => Box::new(GuidedBackprop),
        "deconvnet" => Box::new(Deconvnet),
        "lrp-epsilon" => lrp(Rule::Epsilon(g.non_negative("epsilon")?)),
        "lrp-zplus" => lrp(Rule::ZPlus),
        "lrp-alpha2beta1" => lrp(Rule::alpha_beta(2.0, 1.0)?),
        "lrp-epsilon-plus" => Box::new(Lrp::new(Composite::epsilon_plus(
            g.non_negative("epsilon")?,
        ))),
        "deep-taylor" => {
            let (low, high) = (g.finite("low")?, g.finite("high")?);
            if low > high {
                return Err(Error::invalid(format!(
                    "method deep-taylor: low={low} must not exceed high={high}"
                )));
            }
            Box::new(DeepTaylor { low, high })
        }
        "deeplift" => Box::new(DeepLift {
            baseline: Baseline::Constant(g.finite("baseline")?),
        }),
        "cam" => Box::<Cam>::default(),
        "grad-cam" => Box::new(GradCam {
            layer: cam_layer(),
            relu: cam_relu()?,
            ..GradCam::default()
        }),
        "xgrad-cam" => Box::new(XGradCam {
            layer: cam_layer(),
            relu: cam_relu()?,
            ..XGradCam::default()
        }),
        "grad-cam-plus-plus" => Box::new(GradCamPlusPlus {
            layer: cam_layer(),
            relu: cam_relu()?,
            ..GradCamPlusPlus::default()
        }),
        "hires-cam" => Box::new(HiResCam {
            layer: cam_layer(),
            relu: cam_relu()?,
            ..HiResCam::default()
        }),
        "layer-cam" => Box::new(LayerCam {
            layer: cam_layer(),
            relu: cam_relu()?,
            ..LayerCam::default()
        }),
        "guided-grad-cam" => Box::new(GuidedGradCam {
            grad_cam: GradCam {
                layer: cam_layer(),
                relu: cam_relu()?,
                ..GradCam::default()
            },
        }),
        "score-cam" => Box::new(ScoreCam {
            layer: cam_layer(),
            relu: cam_relu()?,
            softmax: g.choice("softmax", &[("true", true), ("false", false)])?,
            batch_size: g.count("batch-size")?,
            ..ScoreCam::default()
        }),
        other => {
            return Err(Error::invalid(format!(
                "unknown method {other:?}; methods: {}",
                names()
            )))
        }
    })
}

/// The method list as text: one line per method, then one indented line per parameter with its
/// default (what `nnviz methods` prints).
pub fn describe() -> String {
    let mut s = String::new();
    for m in METHODS {
        s += &format!("{:<20} {}\n", m.name, m.summary);
        for p in m.params {
            let d = if p.default.is_empty() {
                String::new()
            } else {
                format!(" (default {})", p.default)
            };
            s += &format!("    {}{d}: {}\n", p.name, p.help);
        }
    }
    s
}

#[cfg(test)]
mod tests;
