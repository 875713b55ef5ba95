//! [`Composite`]: which [`Rule`] each layer gets, resolved into a printable [`Plan`].
//!
//! A composite is an ordered list of `(selector, rule)` pairs and a fallback. For every layer the
//! first pair whose selector matches wins; a layer no pair matches gets the fallback's rule for
//! its kind. Selectors pick layers by kind ([`LayerKind`], including the groups "affine" and
//! "pooling"), by the first layer of a kind (the input layer that deep Taylor's z^B rule is for),
//! by index or by name. Presets follow the literature: [`Composite::epsilon_plus`] and
//! [`Composite::epsilon_alpha2_beta1`] (Kohlbrenner et al. 2020), [`Composite::deep_taylor`]
//! (Montavon et al. 2017), [`Composite::guided_backprop`], [`Composite::deconvnet`],
//! [`Composite::deep_lift`].

use super::rules::Rule;
use crate::model::Layer;
use crate::{bail, Network, Result};

/// A kind of layer, or a group of kinds, for [`Selector`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    Linear,
    Conv2d,
    Relu,
    MaxPool2d,
    AvgPool2d,
    GlobalAvgPool,
    Flatten,
    Dropout,
    /// Linear or conv2d: the layers with weights.
    Affine,
    /// Max-, average or global average pooling.
    Pooling,
}

impl LayerKind {
    /// Whether `layer` is of this kind.
    pub fn matches(&self, layer: &Layer) -> bool {
        match self {
            LayerKind::Linear => matches!(layer, Layer::Linear { .. }),
            LayerKind::Conv2d => matches!(layer, Layer::Conv2d { .. }),
            LayerKind::Relu => matches!(layer, Layer::Relu),
            LayerKind::MaxPool2d => matches!(layer, Layer::MaxPool2d { .. }),
            LayerKind::AvgPool2d => matches!(layer, Layer::AvgPool2d { .. }),
            LayerKind::GlobalAvgPool => matches!(layer, Layer::GlobalAvgPool),
            LayerKind::Flatten => matches!(layer, Layer::Flatten),
            LayerKind::Dropout => matches!(layer, Layer::Dropout { .. }),
            LayerKind::Affine => matches!(layer, Layer::Linear { .. } | Layer::Conv2d { .. }),
            LayerKind::Pooling => matches!(
                layer,
                Layer::MaxPool2d { .. } | Layer::AvgPool2d { .. } | Layer::GlobalAvgPool
            ),
        }
    }
}

/// Which layers a composite entry applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Every layer of this kind.
    Kind(LayerKind),
    /// The first layer (from the input) of this kind.
    FirstOf(LayerKind),
    /// The layer at this index.
    Index(usize),
    /// The layer with this name.
    Name(String),
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Kind(k) => write!(f, "every {k:?}"),
            Selector::FirstOf(k) => write!(f, "first {k:?}"),
            Selector::Index(i) => write!(f, "layer #{i}"),
            Selector::Name(n) => write!(f, "layer {n:?}"),
        }
    }
}

/// The rules of layers no entry matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fallback {
    /// Relevance propagation: LRP-0 on affine layers, pass-through for ReLU, flatten and dropout,
    /// winner-take-all for max-pooling, proportional for average pooling.
    #[default]
    Relevance,
    /// The plain gradient everywhere (guided backprop, deconvnet and DeepLIFT change the ReLUs).
    Gradient,
}

impl Fallback {
    /// The rule this fallback gives `layer`.
    pub fn rule_for(&self, layer: &Layer) -> Rule {
        match self {
            Fallback::Gradient => Rule::Gradient,
            Fallback::Relevance => match layer {
                Layer::Linear { .. } | Layer::Conv2d { .. } => Rule::Zero,
                Layer::Relu | Layer::Flatten | Layer::Dropout { .. } => Rule::Pass,
                Layer::MaxPool2d { .. } => Rule::WinnerTakeAll,
                Layer::AvgPool2d { .. } | Layer::GlobalAvgPool => Rule::Proportional,
            },
        }
    }
}

/// Rules by layer: the first matching entry wins, else the fallback.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    /// Shown in the plan's header.
    pub name: String,
    pub entries: Vec<(Selector, Rule)>,
    pub fallback: Fallback,
}

impl Composite {
    /// A composite with no entries yet.
    pub fn new(name: &str, fallback: Fallback) -> Composite {
        Composite {
            name: name.to_string(),
            entries: vec![],
            fallback,
        }
    }

    /// Appends an entry (builder style); earlier entries take precedence.
    pub fn with(mut self, selector: Selector, rule: Rule) -> Composite {
        self.entries.push((selector, rule));
        self
    }

    /// One rule on every affine layer, relevance fallback elsewhere (LRP-0, LRP-ε, z⁺, …).
    pub fn uniform(rule: Rule) -> Composite {
        Composite::new(&format!("{rule} everywhere"), Fallback::Relevance)
            .with(Selector::Kind(LayerKind::Affine), rule)
    }

    /// ε on linear layers, z⁺ on convolutions (Kohlbrenner et al. 2020, "Towards Best Practice
    /// in Explaining Neural Network Decisions with LRP").
    pub fn epsilon_plus(epsilon: f32) -> Composite {
        Composite::new("epsilon_plus", Fallback::Relevance)
            .with(Selector::Kind(LayerKind::Linear), Rule::Epsilon(epsilon))
            .with(Selector::Kind(LayerKind::Conv2d), Rule::ZPlus)
    }

    /// ε on linear layers, α2β1 on convolutions (Kohlbrenner et al. 2020).
    pub fn epsilon_alpha2_beta1(epsilon: f32) -> Composite {
        Composite::new("epsilon_alpha2_beta1", Fallback::Relevance)
            .with(Selector::Kind(LayerKind::Linear), Rule::Epsilon(epsilon))
            .with(
                Selector::Kind(LayerKind::Conv2d),
                Rule::AlphaBeta {
                    alpha: 2.0,
                    beta: 1.0,
                },
            )
    }

    /// Deep Taylor decomposition (Montavon et al. 2017): z^B on the first affine layer (inputs
    /// in `[low, high]`), z⁺ on every other affine layer, proportional max-pooling (the
    /// original's §2.4 choice, after Montavon et al.).
    pub fn deep_taylor(low: f32, high: f32) -> Composite {
        Composite::new("deep_taylor", Fallback::Relevance)
            .with(
                Selector::FirstOf(LayerKind::Affine),
                Rule::ZBox { low, high },
            )
            .with(Selector::Kind(LayerKind::Affine), Rule::ZPlus)
            .with(Selector::Kind(LayerKind::MaxPool2d), Rule::Proportional)
    }

    /// The plain gradient at every layer: the chain rule, layer by layer (what
    /// [`crate::grad::vjp`] computes).
    pub fn gradient() -> Composite {
        Composite::new("gradient", Fallback::Gradient)
    }

    /// Guided backpropagation (Springenberg et al. 2014): guided ReLUs, gradient elsewhere.
    pub fn guided_backprop() -> Composite {
        Composite::new("guided_backprop", Fallback::Gradient)
            .with(Selector::Kind(LayerKind::Relu), Rule::GuidedRelu)
    }

    /// Deconvnet (Zeiler & Fergus 2014): deconvnet ReLUs, gradient (transposed convolutions and
    /// switch-routed max-pooling) elsewhere.
    pub fn deconvnet() -> Composite {
        Composite::new("deconvnet", Fallback::Gradient)
            .with(Selector::Kind(LayerKind::Relu), Rule::DeconvRelu)
    }

    /// DeepLIFT Rescale (Shrikumar et al. 2017): rescale ReLUs and max-pooling, the linear rule
    /// (the gradient) on affine layers and average pooling.
    pub fn deep_lift() -> Composite {
        Composite::new("deep_lift", Fallback::Gradient)
            .with(Selector::Kind(LayerKind::Relu), Rule::Rescale)
            .with(Selector::Kind(LayerKind::MaxPool2d), Rule::Rescale)
    }

    /// The rule of every layer of `net`. A matched rule that does not apply to its layer is an
    /// error naming both; so is a selector that matches no layer.
    pub fn resolve(&self, net: &Network) -> Result<Plan> {
        let first = |k: &LayerKind| net.layers.iter().position(|l| k.matches(&l.layer));
        for (sel, _) in &self.entries {
            let hit = match sel {
                Selector::Kind(k) | Selector::FirstOf(k) => first(k).is_some(),
                Selector::Index(i) => *i < net.layers.len(),
                Selector::Name(n) => net.layers.iter().any(|l| &l.name == n),
            };
            if !hit {
                let names: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
                // A kind the network lacks is fine (epsilon_plus on an MLP has no conv).
                if matches!(sel, Selector::Index(_) | Selector::Name(_)) {
                    bail!(
                        "composite {}: {sel} matches no layer of network {}; layers are [{}]",
                        self.name,
                        net.name,
                        names.join(", ")
                    );
                }
            }
        }
        let mut steps = Vec::with_capacity(net.layers.len());
        for (i, l) in net.layers.iter().enumerate() {
            let matched = self.entries.iter().find(|(sel, _)| match sel {
                Selector::Kind(k) => k.matches(&l.layer),
                Selector::FirstOf(k) => first(k) == Some(i),
                Selector::Index(j) => *j == i,
                Selector::Name(n) => *n == l.name,
            });
            let rule = match matched {
                Some((sel, rule)) => {
                    if !rule.applies_to(&l.layer) {
                        bail!(
                            "composite {}: rule {rule} (for {sel}) does not apply to layer {i} ({}, a {} layer)",
                            self.name,
                            l.name,
                            l.layer.kind()
                        );
                    }
                    *rule
                }
                None => self.fallback.rule_for(&l.layer),
            };
            steps.push(PlanStep {
                index: i,
                name: l.name.clone(),
                kind: l.layer.kind(),
                rule,
            });
        }
        Ok(Plan {
            composite: self.name.clone(),
            network: net.name.clone(),
            steps,
        })
    }
}

/// One layer of a [`Plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct PlanStep {
    pub index: usize,
    pub name: String,
    pub kind: &'static str,
    pub rule: Rule,
}

/// The rule of every layer, in layer order; prints as a table layer → kind → rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub composite: String,
    pub network: String,
    pub steps: Vec<PlanStep>,
}

impl Plan {
    /// Whether some rule needs a reference input (DeepLIFT).
    pub fn needs_reference(&self) -> bool {
        self.steps.iter().any(|s| s.rule.needs_reference())
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "composite {} on network {}",
            self.composite, self.network
        )?;
        writeln!(f, "{:>3}  {:<10} {:<16} rule", "#", "layer", "kind")?;
        for s in &self.steps {
            writeln!(
                f,
                "{:>3}  {:<10} {:<16} {}",
                s.index, s.name, s.kind, s.rule
            )?;
        }
        Ok(())
    }
}
