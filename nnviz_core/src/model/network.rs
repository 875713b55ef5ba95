//! [`Network`]: an ordered list of named layers, with traced and partial forward passes.

use std::collections::HashMap;
use std::ops::Range;

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::layer::{init_param, Layer, LayerSpec};
use crate::{bail, Error, Result, Rng};

/// A named layer in a [`Network`].
#[derive(Debug, Clone)]
pub struct NamedLayer {
    pub name: String,
    pub layer: Layer,
}

/// A named layer spec in a [`NetworkSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedLayerSpec {
    pub name: String,
    #[serde(flatten)]
    pub spec: LayerSpec,
}

/// The architecture of a network: what a model file's JSON metadata holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Model name (the zoo's id, e.g. `"D0"`, or any user name).
    pub name: String,
    /// Input shape without the batch axis, `[C, H, W]`.
    pub input: [usize; 3],
    pub layers: Vec<NamedLayerSpec>,
}

impl NetworkSpec {
    /// Starts a spec for inputs of shape `[c, h, w]`.
    pub fn new(name: &str, input: [usize; 3]) -> Self {
        NetworkSpec {
            name: name.to_string(),
            input,
            layers: vec![],
        }
    }

    /// Appends a layer (builder style).
    pub fn push(mut self, name: &str, spec: LayerSpec) -> Self {
        self.layers.push(NamedLayerSpec {
            name: name.to_string(),
            spec,
        });
        self
    }

    /// Output shape of every layer (without the batch axis); checks the whole chain and that
    /// layer names are unique.
    pub fn shapes(&self) -> Result<Vec<Vec<usize>>> {
        let mut seen = std::collections::HashSet::new();
        let mut shape = self.input.to_vec();
        let mut out = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            if !seen.insert(l.name.as_str()) {
                bail!(
                    "network {}: layer name {:?} is used twice",
                    self.name,
                    l.name
                );
            }
            shape = l.spec.output_shape(&shape).map_err(|e| {
                Error::invalid(format!("network {}: layer {}: {e}", self.name, l.name))
            })?;
            out.push(shape.clone());
        }
        Ok(out)
    }

    /// Every parameter `("layer.suffix", shape)` in order, PyTorch naming.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.layers
            .iter()
            .flat_map(|l| {
                l.spec
                    .param_shapes()
                    .into_iter()
                    .map(move |(s, shape)| (format!("{}.{s}", l.name), shape))
            })
            .collect()
    }

    /// Number of scalar parameters.
    pub fn param_count(&self) -> usize {
        self.param_shapes()
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
    }
}

/// The activations of a forward pass: `a[0]` is the input, `a[i+1]` the output of layer `i`.
#[derive(Debug, Clone)]
pub struct Trace {
    pub activations: Vec<Tensor>,
}

impl Trace {
    /// Input of layer `i`.
    pub fn input(&self, i: usize) -> Option<&Tensor> {
        self.activations.get(i)
    }
    /// Output of layer `i`.
    pub fn output(&self, i: usize) -> Option<&Tensor> {
        self.activations.get(i + 1)
    }
    /// The network's output (logits for the zoo models).
    pub fn logits(&self) -> Option<&Tensor> {
        self.activations.last()
    }
}

/// An ordered list of named layers. Inputs are NCHW.
#[derive(Debug, Clone)]
pub struct Network {
    pub name: String,
    /// Input shape without the batch axis, `[C, H, W]`.
    pub input: [usize; 3],
    pub layers: Vec<NamedLayer>,
}

impl Network {
    /// A network with freshly initialised parameters (Glorot-uniform weights, zero biases),
    /// fully determined by `seed`.
    pub fn init(spec: &NetworkSpec, seed: u64, device: &Device) -> Result<Network> {
        spec.shapes()?;
        let mut rng = Rng::new(seed);
        let mut params = HashMap::new();
        for (name, shape) in spec.param_shapes() {
            let suffix = name.rsplit('.').next().unwrap_or("");
            let t = init_param(&shape, suffix, &mut rng, device)?;
            params.insert(name, t);
        }
        Network::from_parts(spec, params)
    }

    /// Builds a network from its spec and named parameters. Missing, extra or mis-shaped
    /// tensors give one error listing what was expected and what was found.
    pub fn from_parts(spec: &NetworkSpec, mut params: HashMap<String, Tensor>) -> Result<Network> {
        crate::alloc::tune();
        spec.shapes()?;
        let expected = spec.param_shapes();
        let mut problems = vec![];
        for (name, shape) in &expected {
            match params.get(name) {
                None => problems.push(format!("missing {name} {shape:?}")),
                Some(t) if t.dims() != shape.as_slice() => problems.push(format!(
                    "{name}: expected shape {shape:?}, found {:?}",
                    t.dims()
                )),
                _ => {}
            }
        }
        let mut extra: Vec<&String> = params
            .keys()
            .filter(|k| !expected.iter().any(|(n, _)| n == *k))
            .collect();
        extra.sort();
        for k in extra {
            problems.push(format!("unexpected tensor {k}"));
        }
        if !problems.is_empty() {
            let want: Vec<String> = expected.iter().map(|(n, s)| format!("{n} {s:?}")).collect();
            bail!(
                "network {}: parameters do not match the architecture: {}; expected [{}]",
                spec.name,
                problems.join("; "),
                want.join(", ")
            );
        }
        let mut layers = Vec::with_capacity(spec.layers.len());
        for l in &spec.layers {
            let layer = Layer::from_spec(&l.spec, |suffix| {
                let key = format!("{}.{suffix}", l.name);
                params
                    .remove(&key)
                    .ok_or_else(|| Error::invalid(format!("network {}: missing {key}", spec.name)))
            })?;
            layers.push(NamedLayer {
                name: l.name.clone(),
                layer,
            });
        }
        Ok(Network {
            name: spec.name.clone(),
            input: spec.input,
            layers,
        })
    }

    /// The architecture.
    pub fn spec(&self) -> Result<NetworkSpec> {
        Ok(NetworkSpec {
            name: self.name.clone(),
            input: self.input,
            layers: self
                .layers
                .iter()
                .map(|l| {
                    Ok(NamedLayerSpec {
                        name: l.name.clone(),
                        spec: l.layer.spec()?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    /// Every parameter with its PyTorch-style name (`"conv1.weight"`, `"fc2.bias"`).
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        self.layers
            .iter()
            .flat_map(|l| {
                l.layer
                    .params()
                    .into_iter()
                    .map(move |(s, t)| (format!("{}.{s}", l.name), t.clone()))
            })
            .collect()
    }

    /// Number of scalar parameters.
    pub fn param_count(&self) -> usize {
        self.parameters().iter().map(|(_, t)| t.elem_count()).sum()
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.parameters()
            .first()
            .map(|(_, t)| t.device().clone())
            .unwrap_or(Device::Cpu)
    }

    /// A copy of the network on another device.
    pub fn to_device(&self, device: &Device) -> Result<Network> {
        let mut net = self.clone();
        for l in &mut net.layers {
            for p in l.layer.params_mut() {
                *p = p.to_device(device)?;
            }
        }
        Ok(net)
    }

    /// Index of the layer called `name`; the error lists every layer name.
    pub fn layer_index(&self, name: &str) -> Result<usize> {
        self.layers
            .iter()
            .position(|l| l.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.layers.iter().map(|l| l.name.as_str()).collect();
                Error::invalid(format!(
                    "network {}: no layer named {name:?}; layers are [{}]",
                    self.name,
                    names.join(", ")
                ))
            })
    }

    /// Checks that `x` is `[N, C, H, W]` with this network's `[C, H, W]`.
    pub fn check_input(&self, x: &Tensor) -> Result<()> {
        let d = x.dims();
        if d.len() != 4 || d[1..] != self.input {
            bail!(
                "network {}: expected input [N, {}, {}, {}], got {:?}",
                self.name,
                self.input[0],
                self.input[1],
                self.input[2],
                d
            );
        }
        Ok(())
    }

    /// Evaluation-mode forward pass.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.check_input(x)?;
        self.forward_range(x, 0..self.layers.len())
    }

    /// Training-mode forward pass: dropout masks are drawn from `rng`.
    pub fn forward_train(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        self.check_input(x)?;
        let mut a = x.clone();
        for l in &self.layers {
            a = l.layer.forward_with(&a, Some(rng))?;
        }
        Ok(a)
    }

    /// Runs layers `range` (evaluation mode) on `x`, the input of layer `range.start`.
    pub fn forward_range(&self, x: &Tensor, range: Range<usize>) -> Result<Tensor> {
        if range.start > range.end || range.end > self.layers.len() {
            bail!(
                "network {}: layer range {range:?} is outside 0..{}",
                self.name,
                self.layers.len()
            );
        }
        let mut a = x.clone();
        for l in &self.layers[range] {
            a = l.layer.forward(&a).map_err(|e| {
                Error::invalid(format!("network {}: layer {}: {e}", self.name, l.name))
            })?;
        }
        Ok(a)
    }

    /// Forward pass keeping every layer's input and output.
    pub fn forward_trace(&self, x: &Tensor) -> Result<Trace> {
        self.check_input(x)?;
        let mut activations = Vec::with_capacity(self.layers.len() + 1);
        activations.push(x.clone());
        for (i, l) in self.layers.iter().enumerate() {
            let a = self.forward_range(&activations[i], i..i + 1).map_err(|e| {
                Error::invalid(format!("forward_trace: layer {} ({}): {e}", i, l.name))
            })?;
            activations.push(a);
        }
        Ok(Trace { activations })
    }

    /// The same network with every untracked parameter under a new tensor id from the calling
    /// code's copy of candle, sharing the weights' storage (no copy). Only an evcxr notebook
    /// needs it: a network made in an earlier cell and differentiated with candle's autograd in
    /// this one (see [`crate::grad::fresh_id`]); nnviz's methods call it where they use autograd.
    pub fn with_fresh_ids(&self) -> Result<Network> {
        let mut net = self.clone();
        for l in &mut net.layers {
            l.layer = l.layer.with_fresh_ids()?;
        }
        Ok(net)
    }

    /// Turns every parameter into a trainable candle [`Var`] (for the optimiser) and makes the
    /// layers use them, so that optimiser steps update the network in place.
    pub fn make_trainable(&mut self) -> Result<Vec<Var>> {
        let mut vars = vec![];
        for l in &mut self.layers {
            for p in l.layer.params_mut() {
                let v = Var::from_tensor(p)?;
                *p = v.as_tensor().clone();
                vars.push(v);
            }
        }
        Ok(vars)
    }

    /// Detaches every parameter from the autograd graph (after training).
    pub fn freeze(&mut self) {
        for l in &mut self.layers {
            for p in l.layer.params_mut() {
                *p = p.detach();
            }
        }
    }

    /// A printable table: index, name, kind, output shape, parameters.
    pub fn summary(&self) -> Result<String> {
        let spec = self.spec()?;
        let shapes = spec.shapes()?;
        let mut s = format!(
            "network {}  input {:?}  {} parameters\n",
            self.name,
            self.input,
            self.param_count()
        );
        s.push_str(&format!(
            "{:>3}  {:<10} {:<16} {:<16} {:>10}\n",
            "#", "name", "kind", "output", "params"
        ));
        for (i, (l, shape)) in self.layers.iter().zip(&shapes).enumerate() {
            let n: usize = l.layer.params().iter().map(|(_, t)| t.elem_count()).sum();
            s.push_str(&format!(
                "{:>3}  {:<10} {:<16} {:<16} {:>10}\n",
                i,
                l.name,
                l.layer.kind(),
                format!("{shape:?}"),
                n
            ));
        }
        Ok(s)
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.summary() {
            Ok(s) => f.write_str(&s),
            Err(e) => write!(f, "network {} (summary failed: {e})", self.name),
        }
    }
}
