//! `use nnviz_core::prelude::*;` brings the everyday names into scope.

pub use crate::attribution::{Attribution, Class, Score, Target};
pub use crate::candle::{DType, Device, IndexOp, Module, Tensor, D};
pub use crate::data::{ClutteredConfig, Dataset};
pub use crate::methods::{
    ActivationMaximization, AmInit, AmObjective, Baseline, Cam, Corners, FeatureAblation,
    FeatureMask, Features, GradCam, GradCamPlusPlus, GradientShap, GradientTransform,
    GuidedGradCam, HiResCam, InputXGradient, IntegratedGradients, KernelShap, LayerCam, Lime,
    Noise, Occlusion, Quadrature, Saliency, ScoreCam, ShapleyValueSampling, ShapleyValues,
    SmoothGrad, SmoothGradVariant, XGradCam,
};
pub use crate::model::{vae, zoo, Generator, Layer, Network, Padding, Vae, VaeRecipe};
pub use crate::relevance::{
    Composite, Deconvnet, DeepLift, DeepTaylor, GuidedBackprop, LayerKind, Lrp, Rule, Selector,
};
pub use crate::train::{TrainConfig, TrainReport};
pub use crate::viz::{self, Colormap, Grid, Heatmap, LinePlot, Overlay, Range};
pub use crate::{describe_device, device, Error, Result, Rng};
