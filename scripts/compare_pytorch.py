#!/usr/bin/env python3
"""Compare nnviz with PyTorch + Captum/Zennit on the same network, inputs and targets.

Optional tooling (issue #4), not part of CI: it needs torch, captum, zennit and numpy, e.g.

    python3 -m venv /opt/torchenv
    /opt/torchenv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    /opt/torchenv/bin/pip install captum zennit numpy

and an nnviz binary built with the `cli` feature (`cargo build --release --features cli`).

For every thread count t of --threads it runs

    RAYON_NUM_THREADS=t nnviz bench --device cpu --export DIR/t<t> --repeats R --train-steps S

(every attribution method of `nnviz_core::bench::suite` on the reference CNN with seeded weights
and the first 100 MNIST test images, explaining the predicted class's logit), then, with
`torch.set_num_threads(t)`, rebuilds the network in PyTorch from DIR/t<t>/model.safetensors alone
(the architecture JSON in its metadata), checks its logits against nnviz's, runs the
Captum/Zennit equivalent of every method on the same inputs and targets, times each with nnviz's
protocol (one warm-up run, median of the same number of runs) and prints per method the
agreement (max abs and relative L2 difference to nnviz's result) and the time ratio
nnviz / torch, as one Markdown table per thread count (also written to --out).

Exit status: 0 when every deterministic method agrees within its tolerance (and SmoothGrad within
its statistical bound), 1 when some disagree (listed at the end), 2 when nnviz or the setup failed.

Before the benchmark the script also checks the PyTorch rebuild on every zoo architecture
(`nnviz init` + `nnviz explain --method gradient` on random images: logits and input gradient);
and, on the trained zoo models D1 and D0 when cached ($NNVIZ_DATA/models/), the gradient and
DeepLIFT on 20 test images (where Captum's DeepLift as shipped shows its issue #1104); --no-zoo
skips both.
"""

import argparse
import collections
import copy
import datetime
import gzip
import json
import os
import pathlib
import platform
import struct
import subprocess
import sys
import tempfile
import time
import warnings



def die(msg):
    """Setup failures (no binary, nnviz failed, missing packages): exit status 2."""
    print(f"compare_pytorch: {msg}", file=sys.stderr)
    sys.exit(2)


try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    die(f"{e}; this script needs torch, captum, zennit and numpy (see its header)")

ROOT = pathlib.Path(__file__).resolve().parents[1]
ZOO = ["A", "B0", "B1", "C", "D0", "D1", "D2", "E", "F", "G", "H"]


# --------------------------------------------------------------------------------------------
# Reading nnviz's files
# --------------------------------------------------------------------------------------------

def read_safetensors(path):
    """The tensors and the string metadata of a safetensors file (no dependency beyond numpy)."""
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
    tensors = {}
    for name, h in header.items():
        if h["dtype"] not in dtypes:
            raise ValueError(f"{path}: tensor {name} has dtype {h['dtype']}, expected F32")
        b, e = h["data_offsets"]
        arr = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=dtypes[h["dtype"]]).reshape(h["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def same_padding(n, k, s):
    """TensorFlow SAME: output ceil(n/s), total padding max((out-1)s + k - n, 0), odd cell after."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def padding_of(layer, h, w, kh, kw):
    """(top, bottom, left, right) of a conv or pooling layer on an h x w input."""
    p, s = layer["padding"], layer["stride"]
    if p == "valid":
        return 0, 0, 0, 0
    if p == "same":
        return (*same_padding(h, kh, s), *same_padding(w, kw, s))
    e = p["explicit"]
    return e["top"], e["bottom"], e["left"], e["right"]


class PadConv2d(nn.Conv2d):
    """Conv2d with asymmetric zero padding (TF SAME with an odd total)."""

    def __init__(self, cin, cout, kernel, stride, pad, bias):
        super().__init__(cin, cout, kernel, stride=stride, padding=0, bias=bias)
        self.pad4 = pad  # (left, right, top, bottom) for F.pad

    def forward(self, x):
        return F.conv2d(F.pad(x, self.pad4), self.weight, self.bias, self.stride)


class PadMaxPool2d(nn.MaxPool2d):
    """Max-pooling with asymmetric padding; padded cells are -inf and never win."""

    def __init__(self, k, s, pad):
        super().__init__(k, s)
        self.pad4 = pad

    def forward(self, x):
        return F.max_pool2d(F.pad(x, self.pad4, value=float("-inf")), self.kernel_size, self.stride)


class ValidAvgPool2d(nn.AvgPool2d):
    """Average over each window's valid (unpadded) cells, any padding."""

    def __init__(self, k, s, pad):
        super().__init__(k, s)
        self.pad4 = pad

    def forward(self, x):
        ones = torch.ones_like(x[:, :1])
        total = F.avg_pool2d(F.pad(x, self.pad4), self.kernel_size, self.stride)
        count = F.avg_pool2d(F.pad(ones, self.pad4), self.kernel_size, self.stride)
        return total / count


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


def build_network(path):
    """The network of an nnviz model file as an nn.Sequential named like nnviz's layers, built from
    the file alone (architecture JSON in the metadata, PyTorch names and layouts for the weights).
    Symmetric padding uses PyTorch's own modules (so that Captum recognises nn.ReLU/nn.MaxPool2d);
    asymmetric padding the Pad* subclasses above."""
    tensors, meta = read_safetensors(path)
    if meta.get("nnviz.format") != "nnviz-network/1":
        raise ValueError(f"{path}: not an nnviz model file (nnviz.format = {meta.get('nnviz.format')!r})")
    arch = json.loads(meta["nnviz.architecture"])
    shape = list(arch["input"])  # [C, H, W] or [F]
    mods = collections.OrderedDict()
    for L in arch["layers"]:
        kind, name = L["kind"], L["name"]
        if kind == "linear":
            m = nn.Linear(L["in_features"], L["out_features"], bias=L["bias"])
            shape = [L["out_features"]]
        elif kind == "conv2d":
            (kh, kw), s = L["kernel"], L["stride"]
            _, h, w = shape
            t, b, l, r = padding_of(L, h, w, kh, kw)
            if t == b and l == r:
                m = nn.Conv2d(L["in_channels"], L["out_channels"], (kh, kw), stride=s, padding=(t, l),
                              bias=L["bias"])
            else:
                m = PadConv2d(L["in_channels"], L["out_channels"], (kh, kw), s, (l, r, t, b), L["bias"])
            shape = [L["out_channels"], (h + t + b - kh) // s + 1, (w + l + r - kw) // s + 1]
        elif kind in ("max_pool2d", "avg_pool2d"):
            k, s = L["kernel"], L["stride"]
            c, h, w = shape
            t, b, l, r = padding_of(L, h, w, k, k)
            symmetric = t == b and l == r and max(t, l) <= k // 2
            if kind == "max_pool2d":
                m = nn.MaxPool2d(k, s, padding=(t, l)) if symmetric else PadMaxPool2d(k, s, (l, r, t, b))
            elif symmetric:
                m = nn.AvgPool2d(k, s, padding=(t, l), count_include_pad=False)
            else:
                m = ValidAvgPool2d(k, s, (l, r, t, b))
            m.nnviz_padding = (l, r, t, b)  # for the proportional pooling rule of deep Taylor
            shape = [c, (h + t + b - k) // s + 1, (w + l + r - k) // s + 1]
        elif kind == "relu":
            m = nn.ReLU()
        elif kind == "global_avg_pool":
            m = GlobalAvgPool()
            shape = [shape[0]]
        elif kind == "flatten":
            m = nn.Flatten()
            shape = [int(np.prod(shape))]
        elif kind == "dropout":
            m = nn.Dropout(L["rate"])  # identity in eval mode
        else:
            raise ValueError(f"{path}: layer {name}: unknown kind {kind!r}")
        mods[name] = m
    net = nn.Sequential(mods)
    net.load_state_dict(tensors, strict=True)
    net.arch = arch
    return net.eval()


def load_npy(path):
    return torch.from_numpy(np.load(path))


# --------------------------------------------------------------------------------------------
# The peers: the Captum / Zennit / torch equivalent of every case of nnviz_core::bench::suite
# --------------------------------------------------------------------------------------------

def one_hot(targets, k):
    return F.one_hot(targets, k).to(torch.float32)


def zennit_lrp(model, x, targets, rule_for):
    """Zennit's LRP with the rules rule_for(kind) -> Rule or None (None: the plain gradient), started
    from the target logit on the explained class (nnviz's, and classic LRP's, start), not Zennit's
    default one-hot."""
    from zennit.attribution import Gradient
    from zennit.core import Composite

    kinds = {L["name"]: L["kind"] for L in model.arch["layers"]}
    first_affine = next(L["name"] for L in model.arch["layers"] if L["kind"] in ("linear", "conv2d"))

    def module_map(ctx, name, module):
        return rule_for(kinds.get(name), name == first_affine, module)

    k = model.arch["layers"][-1]["out_features"]
    with Gradient(model=model, composite=Composite(module_map=module_map)) as attributor:
        _, rel = attributor(x, lambda out: one_hot(targets, k) * out)
    return rel.detach()


def lrp_rules(affine_rule):
    """nnviz's Composite::uniform(rule): the rule on every affine layer, Pass on ReLUs, the gradient
    (winner-take-all) at max-pooling, Norm (proportional) at average pooling."""
    from zennit.rules import Norm, Pass

    def rule_for(kind, first, module):
        if kind in ("conv2d", "linear"):
            return affine_rule(kind)
        if kind == "relu":
            return Pass()
        if kind in ("avg_pool2d", "global_avg_pool"):
            return Norm(stabilizer=1e-12)
        return None
    return rule_for


def proportional_pool_hook():
    """Deep Taylor's proportional max-pooling, r_j = a_j sum_k r_k / sum_{j' in k} a_j' (nnviz's
    Rule::Proportional): a Zennit hook on the max-pooling layer that redistributes with the
    window-average instead of the maximum. Zennit has no such rule; this uses only its Hook API."""
    from zennit.core import Hook, stabilize

    class ProportionalPool(Hook):
        def forward(self, module, input, output):
            self.stored_tensors["input"] = input

        def backward(self, module, grad_input, grad_output):
            a = self.stored_tensors["input"][0].detach().requires_grad_()
            with torch.enable_grad():
                pad = module.nnviz_padding
                ones = torch.ones_like(a[:, :1])
                z = (F.avg_pool2d(F.pad(a, pad), module.kernel_size, module.stride)
                     / F.avg_pool2d(F.pad(ones, pad), module.kernel_size, module.stride))
                s = grad_output[0] / stabilize(z.detach(), 1e-12)
                (c,) = torch.autograd.grad(z, a, s)
            return (a.detach() * c,)

        def copy(self):
            return ProportionalPool()

    return ProportionalPool()


def deep_taylor_rules(low=0.0, high=1.0):
    from zennit.rules import Pass, ZBox, ZPlus

    def rule_for(kind, first, module):
        if kind in ("conv2d", "linear"):
            return ZBox(low, high, stabilizer=1e-12) if first else ZPlus(stabilizer=1e-12)
        if kind == "relu":
            return Pass()
        if kind == "max_pool2d":
            return proportional_pool_hook()
        return None
    return rule_for


def vjp(layer, a, g):
    a = a.detach().requires_grad_()
    with torch.enable_grad():
        (out,) = torch.autograd.grad(layer(a), a, g)
    return out


def deep_lift_rescale(model, x, targets, tol=1e-6):
    """DeepLIFT Rescale against the black image, written out layer by layer in torch: the linear
    rule (the gradient) through affine, flatten and dropout layers, dy/da at ReLUs (the gradient
    where |da| < tol), and at max-pooling each window's M*dy routed to its winner at x (dy > 0)
    or at the reference (dy < 0), divided by that cell's da (summation-to-delta; the construction
    Captum uses, applied to the right activations). The 'corrected' peer of Captum issue #1104."""
    x0 = torch.zeros_like(x)
    acts, acts0 = [x], [x0]
    with torch.no_grad():
        for m in model:
            acts.append(m(acts[-1]))
            acts0.append(m(acts0[-1]))
    mult = one_hot(targets, acts[-1].shape[1])
    for i in reversed(range(len(model))):
        layer, a, a0, y, y0 = model[i], acts[i], acts0[i], acts[i + 1], acts0[i + 1]
        if isinstance(layer, nn.ReLU):
            da, dy = a - a0, y - y0
            far = da.abs() >= tol
            mult = mult * torch.where(far, dy / torch.where(far, da, torch.ones_like(da)), (a > 0).to(a))
        elif isinstance(layer, nn.MaxPool2d):
            da, dy = a - a0, y - y0
            routed = vjp(layer, a, mult * dy.clamp(min=0)) + vjp(layer, a0, mult * dy.clamp(max=0))
            far = da.abs() >= tol
            mult = torch.where(far, routed / torch.where(far, da, torch.ones_like(da)), vjp(layer, a, mult))
        else:
            mult = vjp(layer, a, mult)
    return ((x - x0) * mult).detach()


class _ReluGradAtZero(torch.autograd.Function):
    """ReLU whose backward passes the gradient where the input is exactly 0 (candle 0.11's
    convention, `x >= 0`; PyTorch, TensorFlow and JAX use `x > 0`)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x >= 0).to(g)


class ReluGradAtZero(nn.Module):
    def forward(self, x):
        return _ReluGradAtZero.apply(x)


def with_candle_relu(model):
    """A copy of `model` whose ReLUs have candle's derivative at 0 (a diagnostic)."""
    m = copy.deepcopy(model)
    for name, child in list(m.named_children()):
        if isinstance(child, nn.ReLU):
            setattr(m, name, ReluGradAtZero())
    return m


# nnviz's methods that differentiate through candle's autograd (the others use nnviz's own
# backward rules, with ReLU'(0) = 0).
AUTOGRAD = {"gradient", "input_x_gradient", "integrated_gradients", "smooth_grad", "grad_cam", "grad_cam_pp",
            "xgrad_cam", "hires_cam", "layer_cam", "gradient_shap"}


def feature_layer(model, name):
    return dict(model.named_children())[name]


def grad_cam(model, x, targets, layer):
    from captum.attr import LayerGradCam
    cam = LayerGradCam(model, feature_layer(model, layer)).attribute(x, target=targets)
    # Captum's LayerGradCam applies no ReLU; nnviz (and the paper) do, then stretch bilinearly
    # with aligned corners to the input's size.
    return F.interpolate(F.relu(cam), size=x.shape[2:], mode="bilinear", align_corners=True).detach()


def layer_activation_and_gradient(model, x, targets, layer):
    """The output A of `layer` and the gradient of the targets' logits with respect to it, detached."""
    acts = {}
    h = feature_layer(model, layer).register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
    try:
        out = model(x)
    finally:
        h.remove()
    a = acts["a"]
    (g,) = torch.autograd.grad(out.gather(1, targets[:, None]).sum(), a)
    return a.detach(), g.detach()


def grad_cam_pp(model, x, targets, layer):
    """Grad-CAM++ from the paper's closed form (Chattopadhyay et al. 2018, eq. 19) for Y = exp(s):
    alpha = g^2 / (2 g^2 + S_k g^3), w_k = sum_ij alpha relu(g), L = relu(sum_k w_k A_k), without the
    common positive factor exp(s) (as nnviz documents), alpha = 0 where g <= 0 or 2 + S_k g <= 0."""
    a, g = layer_activation_and_gradient(model, x, targets, layer)
    s = a.sum(dim=(2, 3), keepdim=True)
    denom = 2 * g ** 2 + s * g ** 3
    ok = (g > 0) & (2 + s * g > 0)
    alpha = torch.where(ok, g ** 2 / torch.where(ok, denom, torch.ones_like(denom)), torch.zeros_like(g))
    w = (alpha * F.relu(g)).sum(dim=(2, 3), keepdim=True)
    cam = F.relu((w * a).sum(dim=1, keepdim=True))
    return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=True)


def xgrad_cam(model, x, targets, layer):
    """XGrad-CAM from the paper's formula (Fu et al. 2020): w_k = sum_ij A_k g_k / sum_ij A_k (0 where
    sum_ij A_k = 0), L = relu(sum_k w_k A_k), stretched bilinearly with aligned corners."""
    a, g = layer_activation_and_gradient(model, x, targets, layer)
    s = a.sum(dim=(2, 3), keepdim=True)
    w = torch.where(s != 0, (a * g).sum(dim=(2, 3), keepdim=True) / torch.where(s != 0, s, torch.ones_like(s)),
                    torch.zeros_like(s))
    cam = F.relu((w * a).sum(dim=1, keepdim=True))
    return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=True)


def hires_cam(model, x, targets, layer):
    """HiResCAM from the paper's formula (Draelos & Carin 2020): L = relu(sum_k g_k * A_k), location by
    location, stretched bilinearly with aligned corners."""
    a, g = layer_activation_and_gradient(model, x, targets, layer)
    cam = F.relu((g * a).sum(dim=1, keepdim=True))
    return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=True)


def layer_cam(model, x, targets, layer):
    """LayerCAM from the paper's formula (Jiang et al. 2021): L = relu(sum_k relu(g_k) * A_k)."""
    a, g = layer_activation_and_gradient(model, x, targets, layer)
    cam = F.relu((F.relu(g) * a).sum(dim=1, keepdim=True))
    return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=True)


def score_cam(model, x, targets, layer, per_pass=500):
    """Score-CAM as pytorch-grad-cam defines it (Wang et al. 2020): each channel of A upsampled with
    aligned corners, min-max normalised per image (a constant channel: a zero mask), the input
    masked by it and scored (the target's logit); weights = softmax over the channels of those
    scores; L = relu(sum_k w_k A_k). Masked inputs are evaluated about per_pass at a time (whole
    channels of the batch), as nnviz does."""
    acts = {}
    h = feature_layer(model, layer).register_forward_hook(lambda m, i, o: acts.__setitem__("a", o))
    try:
        with torch.no_grad():
            model(x)
    finally:
        h.remove()
    a = acts["a"]
    n, k = a.shape[:2]
    size = x.shape[2:]
    scores = []
    with torch.no_grad():
        step = max(per_pass // n, 1)
        for first in range(0, k, step):
            low = a[:, first:first + step]
            up = F.interpolate(low, size=size, mode="bilinear", align_corners=True)
            lo = up.amin(dim=(2, 3), keepdim=True)
            span = up.amax(dim=(2, 3), keepdim=True) - lo
            flat = (span == 0) | (low.amax(dim=(2, 3), keepdim=True) == low.amin(dim=(2, 3), keepdim=True))
            m = torch.where(flat, torch.zeros_like(up), (up - lo) / torch.where(flat, torch.ones_like(span), span))
            kc = m.shape[1]
            masked = (x[:, None] * m[:, :, None]).transpose(0, 1).reshape(kc * n, *x.shape[1:])
            z = model(masked).reshape(kc, n, -1)
            scores.append(z.gather(2, targets[None, :, None].expand(kc, n, 1))[..., 0].T)
        w = torch.softmax(torch.cat(scores, dim=1), dim=1)
        cam = F.relu((w[:, :, None, None] * a).sum(dim=1, keepdim=True))
        return F.interpolate(cam, size=size, mode="bilinear", align_corners=True)


def smooth_grad(model, x, targets, seed, samples=50, level=0.15, per_pass=5):
    """Captum NoiseTunnel(Saliency(abs=False)), 50 samples, 5 noisy copies of the batch per pass
    (nnviz: 500 inputs per pass). nnviz's sigma is 0.15 x each image's value range max - min;
    Captum takes one absolute sigma, so we pass 0.15 x the batch's mean range."""
    from captum.attr import NoiseTunnel, Saliency
    r = x.flatten(1)
    sigma = level * float((r.max(1).values - r.min(1).values).mean())
    torch.manual_seed(seed)
    return NoiseTunnel(Saliency(model)).attribute(
        x, nt_type="smoothgrad", nt_samples=samples, nt_samples_batch_size=per_pass, stdevs=sigma,
        target=targets, abs=False).detach()


def smooth_grad_moments(model, x, targets, samples, seed=1, level=0.15, per_pass=5):
    """Per-pixel mean and (unbiased) variance of the noisy gradients over `samples` draws, with nnviz's
    exact noise: sigma = level x (max - min) of each image. Plain torch autograd, float64 sums."""
    gen = torch.Generator().manual_seed(seed)
    r = x.flatten(1)
    sigma = (level * (r.max(1).values - r.min(1).values)).view(-1, 1, 1, 1)
    s1 = torch.zeros_like(x, dtype=torch.float64)
    s2 = torch.zeros_like(s1)
    done = 0
    while done < samples:
        k = min(per_pass, samples - done)
        noise = torch.randn((k * x.shape[0], *x.shape[1:]), generator=gen)
        xs = (x.repeat(k, 1, 1, 1) + sigma.repeat(k, 1, 1, 1) * noise).requires_grad_()
        out = model(xs)
        (g,) = torch.autograd.grad(out.gather(1, targets.repeat(k)[:, None]).sum(), xs)
        g = g.double().view(k, *x.shape)
        s1 += g.sum(0)
        s2 += (g ** 2).sum(0)
        done += k
    mean = s1 / samples
    return mean, (s2 / samples - mean ** 2) * samples / (samples - 1)


def gradient_shap(model, x, targets, seed, samples=50):
    """Captum GradientShap against one all-zero reference, no noise, 50 samples."""
    from captum.attr import GradientShap
    torch.manual_seed(seed)
    np.random.seed(seed)  # Captum draws the baseline index and alpha with NumPy
    return GradientShap(model).attribute(
        x, baselines=torch.zeros_like(x[:1]), n_samples=samples, stdevs=0.0, target=targets).detach()


def guided_grad_cam(model, x, targets, layer):
    """Captum GuidedBackprop times the Grad-CAM peer (ReLU, bilinear with aligned corners, as the paper
    stretches it; Captum's GuidedGradCam uses nearest-neighbour interpolation by default)."""
    from captum.attr import GuidedBackprop
    gb = GuidedBackprop(model).attribute(x, target=targets).detach()
    return gb * grad_cam(model, x, targets, layer)


def mean_z2(estimate, mean, var, n, big_n):
    """The mean over pixels of z^2 = (estimate - mean)^2 / (var (1/n + 1/N)): 1 in expectation when
    `estimate` is an n-sample average of the same noisy gradients whose N-sample mean and variance
    are `mean` and `var`. Pixels with zero variance are left out, and counted as `off` where the
    estimate differs from the mean there by more than 1e-6."""
    ok = var > 1e-20
    d = estimate.double() - mean
    off = int(((~ok) & (d.abs() > 1e-6)).sum())
    z2 = d ** 2 / torch.where(ok, var, torch.ones_like(var)) / (1 / n + 1 / big_n)
    return float(z2[ok].mean()), int(ok.sum()), off


def sigma_spread(x, level=0.15):
    r = x.flatten(1)
    rng = r.max(1).values - r.min(1).values
    return float((rng.max() - rng.min()) / rng.mean())


def patch_mask(x, p=7):
    """[1, 1, H, W] feature ids of p×p patches in row-major order (nnviz's Features::Patches)."""
    h, w = x.shape[-2:]
    cols = (w + p - 1) // p
    ids = (torch.arange(h)[:, None] // p) * cols + torch.arange(w)[None, :] // p
    return ids.reshape(1, 1, h, w)


def peers(args):
    """key -> (description, mode, fn(model, x, targets)); mode: exact | statistical | sampled
    (a method that draws its own samples: compared for time, its difference shown for scale)."""
    from captum.attr import (Deconvolution, DeepLift, FeatureAblation, GuidedBackprop, InputXGradient,
                             IntegratedGradients, KernelShap, Lime, Occlusion, Saliency,
                             ShapleyValueSampling)
    from zennit.rules import AlphaBeta, Epsilon, ZPlus

    eps_plus = lambda kind: Epsilon(0.25) if kind == "linear" else ZPlus(stabilizer=1e-12)  # noqa: E731
    return {
        "gradient": ("Captum Saliency(abs=False)", "exact",
                     lambda m, x, t: Saliency(m).attribute(x, target=t, abs=False).detach()),
        "input_x_gradient": ("Captum InputXGradient", "exact",
                             lambda m, x, t: InputXGradient(m).attribute(x, target=t).detach()),
        "integrated_gradients": (
            f"Captum IntegratedGradients, gausslegendre, 50 steps, baseline 0, internal batch {args.ig_batch}",
            "exact",
            lambda m, x, t: IntegratedGradients(m).attribute(
                x, baselines=torch.zeros_like(x), target=t, n_steps=50, method="gausslegendre",
                internal_batch_size=args.ig_batch).detach()),
        "smooth_grad": ("Captum NoiseTunnel(Saliency), σ = 0.15 × mean range, 50 samples", "statistical",
                        lambda m, x, t: smooth_grad(m, x, t, seed=0)),
        "guided_backprop": ("Captum GuidedBackprop", "exact",
                            lambda m, x, t: GuidedBackprop(m).attribute(x, target=t).detach()),
        "deconvnet": ("Captum Deconvolution", "exact",
                      lambda m, x, t: Deconvolution(m).attribute(x, target=t).detach()),
        "lrp_epsilon": ("Zennit Epsilon(0.25) on affine layers, from the logit", "exact",
                        lambda m, x, t: zennit_lrp(m, x, t, lrp_rules(lambda k: Epsilon(0.25)))),
        "lrp_zplus": ("Zennit ZPlus on affine layers, from the logit", "exact",
                      lambda m, x, t: zennit_lrp(m, x, t, lrp_rules(lambda k: ZPlus(stabilizer=1e-12)))),
        "lrp_alpha2_beta1": ("Zennit AlphaBeta(2, 1) on affine layers, from the logit", "exact",
                             lambda m, x, t: zennit_lrp(
                                 m, x, t, lrp_rules(lambda k: AlphaBeta(2.0, 1.0, stabilizer=1e-12)))),
        "lrp_epsilon_plus": ("Zennit Epsilon(0.25) on linear, ZPlus on conv, from the logit", "exact",
                             lambda m, x, t: zennit_lrp(m, x, t, lrp_rules(eps_plus))),
        "deep_taylor": ("Zennit ZBox(0, 1) first, ZPlus after, proportional max-pool hook", "exact",
                        lambda m, x, t: zennit_lrp(m, x, t, deep_taylor_rules())),
        "deep_lift": ("DeepLIFT rescale in torch (corrected; see the Captum row)", "exact",
                      lambda m, x, t: deep_lift_rescale(m, x, t)),
        "deep_lift_captum": ("Captum DeepLift 0.9 as shipped (issue #1104)", "info",
                             lambda m, x, t: DeepLift(m).attribute(
                                 x, baselines=torch.zeros_like(x), target=t).detach()),
        "grad_cam": ("Captum LayerGradCam(conv2) + ReLU + bilinear (aligned corners)", "exact",
                     lambda m, x, t: grad_cam(m, x, t, "conv2")),
        "grad_cam_pp": ("Grad-CAM++ written in torch from the paper's formula", "exact",
                        lambda m, x, t: grad_cam_pp(m, x, t, "conv2")),
        "xgrad_cam": ("XGrad-CAM written in torch from the paper's formula", "exact",
                      lambda m, x, t: xgrad_cam(m, x, t, "conv2")),
        "hires_cam": ("HiResCAM written in torch from the paper's formula", "exact",
                      lambda m, x, t: hires_cam(m, x, t, "conv2")),
        "layer_cam": ("LayerCAM written in torch from the paper's formula", "exact",
                      lambda m, x, t: layer_cam(m, x, t, "conv2")),
        "gradient_shap": ("Captum GradientShap, one all-zero reference, no noise, 50 samples (random, yet "
                          "exact here: see the notes)", "exact",
                          lambda m, x, t: gradient_shap(m, x, t, seed=0)),
        "guided_grad_cam": ("Captum GuidedBackprop ⊙ the Grad-CAM peer (bilinear, aligned corners)", "exact",
                            lambda m, x, t: guided_grad_cam(m, x, t, "conv2")),
        "score_cam": ("Score-CAM in torch, pytorch-grad-cam's definition, 500 masked inputs per pass", "exact",
                      lambda m, x, t: score_cam(m, x, t, "conv2")),
        "occlusion": ("Captum Occlusion, window (1, 4, 4), strides (1, 2, 2), baseline 0, "
                      f"{args.occlusion_batch} windows per pass", "exact",
                      lambda m, x, t: Occlusion(m).attribute(
                          x, sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2), baselines=0, target=t,
                          perturbations_per_eval=args.occlusion_batch).detach()),
        # nnviz evaluates 500 perturbed inputs per pass: 5 coalitions of 100 images for the methods
        # that perturb the whole batch at once; Captum's Lime and KernelShap explain one image at a
        # time, so all of its coalitions go in one pass.
        "feature_ablation": ("Captum FeatureAblation, 7×7 patches, baseline 0, 500 inputs per pass", "exact",
                             lambda m, x, t: FeatureAblation(m).attribute(
                                 x, baselines=0, target=t, feature_mask=patch_mask(x),
                                 perturbations_per_eval=max(1, 500 // len(x))).detach()),
        "shapley_sampling": ("Captum ShapleyValueSampling, 7×7 patches, 25 orderings, 500 inputs per pass",
                             "sampled",
                             lambda m, x, t: ShapleyValueSampling(m).attribute(
                                 x, baselines=0, target=t, feature_mask=patch_mask(x), n_samples=25,
                                 perturbations_per_eval=max(1, 500 // len(x))).detach()),
        "kernel_shap": ("Captum KernelShap, 7×7 patches, 200 coalitions, one pass per image", "sampled",
                        lambda m, x, t: KernelShap(m).attribute(
                            x, baselines=0, target=t, feature_mask=patch_mask(x), n_samples=200,
                            perturbations_per_eval=200).detach()),
        "lime": ("Captum Lime (cosine kernel of width 1, Lasso α = 0.01), 7×7 patches, 200 coalitions, "
                 "one pass per image", "sampled",
                 lambda m, x, t: Lime(m).attribute(
                     x, baselines=0, target=t, feature_mask=patch_mask(x), n_samples=200,
                     perturbations_per_eval=200).detach()),
    }


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------

def timed(fn, repeats):
    """nnviz's protocol: one warm-up run, then `repeats` runs; the median (upper middle) in ms."""
    out = fn()
    ms = []
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        out = fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return out, ms[len(ms) // 2]


def difference(a, b):
    """max |a - b| and ||a - b||_2 / ||b||_2 (b = nnviz's result), in float64."""
    a = a.detach().double().flatten()
    b = b.detach().double().flatten()
    if a.shape != b.shape:
        raise ValueError(f"{a.numel()} values against {b.numel()}")
    d = a - b
    den = float(b.norm())
    return float(d.abs().max()), float(d.norm()) / den if den > 0 else float(d.norm())


def run_nnviz(binary, args_list, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    r = subprocess.run([str(binary), *args_list], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        die(f"`nnviz {' '.join(args_list)}` failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def mnist_images(data_dir, split, n):
    """The first n MNIST images ([n, 1, 28, 28] in [0, 1]) and labels of `split` (train or t10k), as
    nnviz reads them."""
    base = pathlib.Path(data_dir)
    with gzip.open(base / f"{split}-images-idx3-ubyte.gz") as f:
        raw = f.read()
    x = np.frombuffer(raw, np.uint8, offset=16)[: n * 784].reshape(n, 1, 28, 28).astype(np.float32) / 255.0
    with gzip.open(base / f"{split}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n].astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def time_training(model_file, data_dir, steps):
    """`steps` Adam steps (lr 1e-3, batch 100, cross-entropy) from the exported initial weights, timed
    as nnviz times its training row: one run, no warm-up."""
    model = build_network(model_file).train()
    x, y = mnist_images(data_dir, "train", steps * 100)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = [(x[i * 100:(i + 1) * 100], y[i * 100:(i + 1) * 100]) for i in range(steps)]
    t0 = time.perf_counter()
    for xb, yb in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
    return (time.perf_counter() - t0) * 1e3


def fmt(v, spec):
    return "" if v is None else format(v, spec)


def compare_one(args, t, workdir):
    """One thread count: nnviz's export, then every peer. Returns (markdown, failures)."""
    out = workdir / f"t{t}"
    cmd = ["bench", "--device", "cpu", "--export", str(out), "--repeats", str(args.repeats),
           "--batch", str(args.batch), "--train-steps", str(args.train_steps)]
    print(f"== {t} thread(s): RAYON_NUM_THREADS={t} nnviz {' '.join(cmd)}", file=sys.stderr)
    run_nnviz(args.nnviz, cmd, {"RAYON_NUM_THREADS": str(t)})
    torch.set_num_threads(t)
    timings = json.loads((out / "timings.json").read_text())
    rows = {r["key"]: r for r in timings["rows"]}
    model = build_network(out / "model.safetensors")
    x = load_npy(out / "inputs.npy")
    targets = load_npy(out / "targets.npy").long()
    logits_nnviz = load_npy(out / "logits.npy")
    failures = []
    lines = [
        f"### {t} thread(s): nnviz {timings['device']}, torch {torch.get_num_threads()} thread(s), "
        f"batch {timings['batch']}",
        "",
        "| method | peer | max abs diff | rel L2 diff | bound | agrees | torch ms | nnviz ms | nnviz / torch |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]

    def line(name, peer, mx, rel, bound, verdict, tms, nms):
        ratio = nms / tms if (tms and nms is not None) else None
        lines.append(f"| {name} | {peer} | {fmt(mx, '.2e')} | {fmt(rel, '.2e')} | {bound} | {verdict} | "
                     f"{fmt(tms, '.1f')} | {fmt(nms, '.1f')} | {fmt(ratio, '.2f')} |")

    # forward: the rebuilt network's logits against nnviz's, and the forward time
    fwd = rows["forward"]
    with torch.no_grad():
        logits, tms = timed(lambda: model(x), fwd["repeats"])
    mx, rel = difference(logits, logits_nnviz)
    ok = rel <= 1e-5
    agree = bool((logits.argmax(1) == targets).all())
    if not ok or not agree:
        failures.append(f"forward: logits rel L2 {rel:.2e} > 1e-5 or another predicted class")
    line("forward only (logits)", "nn.Sequential rebuilt from model.safetensors", mx, rel, "1e-5",
         "yes" if ok and agree else "**NO**", tms, fwd["median_ms"])

    notes = []
    relu_diag = False
    table = peers(args)
    unknown = (args.methods or set()) - set(rows)
    if unknown:
        die(f"--methods: no method {', '.join(sorted(unknown))} in nnviz's bench; its keys: "
            f"{', '.join(r['key'] for r in timings['rows'] if r['file'])}")
    keys = [r["key"] for r in timings["rows"] if r["file"] and (args.methods is None or r["key"] in args.methods)]
    for key in keys + (["deep_lift_captum"] if "deep_lift" in keys else []):
        row = rows.get(key) or rows["deep_lift"]
        nn_result = load_npy(out / row["file"])
        if key not in table:
            line(row["name"], "no faithful peer equivalent", None, None, "", "n/a", None, row["median_ms"])
            continue
        desc, mode, fn = table[key]
        reps = row["repeats"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result, tms = timed(lambda: fn(model, x, targets), reps)
        if result.shape != nn_result.shape:
            failures.append(f"{row['name']}: torch shape {tuple(result.shape)} != nnviz {tuple(nn_result.shape)}")
            line(row["name"], desc, None, None, "", "**NO** (shape)", tms, row["median_ms"])
            continue
        mx, rel = difference(result, nn_result)
        name = row["name"] if key != "deep_lift_captum" else "DeepLIFT rescale (Captum as shipped)"
        diagnostic = None
        if mode == "exact":
            tol = row["tolerance"]
            ok = rel <= tol
            bound = f"{tol:g}"
            if not ok:
                why = ""
                if key in AUTOGRAD:
                    # Is it the derivative of ReLU at exactly 0? Rerun with candle's convention.
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        alt = fn(with_candle_relu(model), x, targets)
                    diagnostic = difference(alt, nn_result)
                    why = (f" (the same peer with ReLU'(0) = 1, candle's autograd convention: "
                           f"{diagnostic[1]:.2e})")
                failures.append(f"{row['name']}: relative L2 difference {rel:.2e} > {tol:g}{why}")
        elif mode == "statistical":
            # A 50-sample Monte Carlo estimate: per pixel, nnviz's value minus the mean of N = 250 noisy
            # gradients (nnviz's exact sigma convention), over the standard error, squared, averaged over
            # all pixels, is 1 in expectation when both estimate the same thing; a 20 % error in sigma
            # gives about 1.16. The relative L2 difference to Captum's own 50-sample estimate is shown
            # with the seed-to-seed difference of two Captum runs for scale.
            key_x = (x.numpy().tobytes(), targets.numpy().tobytes())
            if getattr(args, "_sg_moments", (None,))[0] != key_x:
                args._sg_moments = (key_x, smooth_grad_moments(model, x, targets, args.sg_reference))
            mean, var = args._sg_moments[1]
            z2, pixels, off = mean_z2(nn_result, mean, var, 50, args.sg_reference)
            z2_captum = mean_z2(result, mean, var, 50, args.sg_reference)[0]
            floor = difference(smooth_grad(model, x, targets, seed=1), result)[1]
            ok = abs(z2 - 1) <= 0.05 and off == 0
            bound = f"mean z² {z2:.3f} (1 ± 0.05)"
            notes.append(
                f"SmoothGrad: random noise, compared statistically. Per pixel z = (nnviz − m) / se, with m "
                f"the mean of {args.sg_reference} noisy gradients drawn in torch with nnviz's σ (0.15 × each "
                f"image's range) and se the standard error of a 50-sample mean: mean z² = {z2:.3f} over "
                f"{pixels} pixels ({off} pixels of zero variance differ; Captum's NoiseTunnel: {z2_captum:.3f}; 1 expected, a 20 % error in σ "
                f"gives ≈ 1.16). The relative L2 difference to Captum's 50-sample estimate, {rel:.2e}, is "
                f"that of two Captum runs with different seeds ({floor:.2e}): 50 samples leave that much "
                f"noise. Captum takes one σ for the batch (0.15 × the mean range); the ranges vary by "
                f"{100 * sigma_spread(x):.2f} %.")
            if not ok:
                failures.append(f"{row['name']}: mean z² {z2:.3f} against {args.sg_reference} torch samples "
                                f"(1 ± 0.05 expected); {off} zero-variance pixels differ")
        elif mode == "sampled":
            ok = None
            bound = "own draws"
            note = ("Shapley value sampling, KernelSHAP and LIME: each library draws its own orderings or "
                    "coalitions, so the values differ by sampling error (the relative L2 column shows how "
                    "much); the rows compare time for the same number of forward passes. On shared draws "
                    "they agree: nnviz's unit tests hold Captum's LIME on given coalitions and Captum's exact "
                    "Shapley values (2e-6), and feature ablation, deterministic, is compared above.")
            if note not in notes:
                notes.append(note)
        else:
            ok = None
            bound = "info"
            corrected = difference(table["deep_lift"][2](model, x, targets), nn_result)[1]
            notes.append(
                f"DeepLIFT: Captum 0.9's DeepLift as shipped differs from nnviz by {rel:.2e} relative L2, the "
                f"corrected rescale (torch, layer by layer) by {corrected:.2e}. Captum's row is informational: "
                f"its issue #1104 (ReLU followed by MaxPool) needs non-zero biases, which the seeded reference "
                f"CNN lacks; the trained-model section (model D1) shows it.")
        line(name, desc, mx, rel, bound, {True: "yes", False: "**NO**", None: "info"}[ok], tms, row["median_ms"])
        if diagnostic is not None:
            relu_diag = True
            line(f"↳ {row['name']}, ReLU′(0) = 1", "the same peer, ReLUs with candle's derivative at 0",
                 *diagnostic, f"{tol:g}", "yes" if diagnostic[1] <= tol else "**NO**", None, None)

    if "training" in rows and args.train_steps > 0:
        tr = rows["training"]
        tms = time_training(out / "model.safetensors", args.mnist, args.train_steps)
        line(f"training, {args.train_steps} Adam steps of 100", "torch.optim.Adam, cross-entropy", None, None,
             "", "not compared", tms, tr["median_ms"])
        notes.append("Training: times only (the same initial weights and batches; the trained weights are "
                     "not compared).")
    if relu_diag:
        notes.append(
            "ReLU′(0): nnviz's gradient-based methods differentiate through candle 0.11's autograd, whose "
            "ReLU backward passes the gradient where the input is exactly 0 (`x >= 0`); PyTorch (and "
            "TensorFlow, JAX, and nnviz's own LRP/guided-backprop/DeepLIFT rules) stop it there (`x > 0`). The "
            "seeded reference CNN has zero biases, so on blank background the pre-activations are exactly 0 "
            "and the two conventions give different gradients there. The ↳ rows rerun the peer with "
            "candle's convention.")
    notes.append("GradientSHAP draws random points αx on the path from the black image, but on the bias-free "
                 "reference CNN the gradient is the same at every αx (positive homogeneity), so every draw of "
                 "either library gives x ⊙ ∂s/∂x and the two agree to rounding whatever their random numbers. "
                 "nnviz's own tests check the draws on networks where they matter (completeness in "
                 "expectation, convergence to integrated gradients).")
    notes.append("The CAMs (Grad-CAM, Grad-CAM++, XGrad-CAM, HiResCAM, LayerCAM, Score-CAM) are maps "
                 "[N, 1, 28, 28]: conv2's map (14 × 14) with the ReLU, stretched bilinearly with aligned "
                 "corners, as nnviz computes them.")
    lines += [""] + [f"* {n}" for n in notes] + [""]
    return "\n".join(lines), failures


def check_zoo(args, workdir):
    """Rebuilds every zoo architecture (untrained, seeded) in torch and compares the logits and the
    input gradient on random images with `nnviz explain --method gradient`."""
    lines = ["### PyTorch rebuild of every zoo architecture (untrained, seed 0, 4 random images)", "",
             "| model | layers | logits rel L2 | gradient rel L2 | agrees |", "|---|---|---:|---:|---|"]
    failures = []
    for name in ZOO:
        f = workdir / f"zoo-{name}.safetensors"
        run_nnviz(args.nnviz, ["init", name, "--out", str(f)])
        model = build_network(f)
        gen = np.random.default_rng(0)
        x = gen.random((4, *model.arch["input"]), dtype=np.float32)
        xin = workdir / f"zoo-{name}-x.npy"
        np.save(xin, x)
        g = workdir / f"zoo-{name}-g.npy"
        run_nnviz(args.nnviz, ["explain", "--model", str(f), "--method", "gradient", "--input", str(xin),
                               "--out", str(g)])
        xt = torch.from_numpy(x).requires_grad_()
        logits = model(xt)
        t = load_npy(workdir / f"zoo-{name}-g.targets.npy").long()
        (grad,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), xt)
        rl = difference(logits, load_npy(workdir / f"zoo-{name}-g.logits.npy"))[1]
        rg = difference(grad, load_npy(g))[1]
        ok = rl <= 1e-5 and rg <= 1e-4
        if not ok:
            failures.append(f"zoo {name}: logits {rl:.2e}, gradient {rg:.2e}")
        kinds = " ".join(sorted({L["kind"] for L in model.arch["layers"]}))
        lines.append(f"| {name} | {kinds} | {rl:.2e} | {rg:.2e} | {'yes' if ok else '**NO**'} |")
    return "\n".join(lines) + "\n", failures


def check_trained(args, workdir, n=20):
    """On trained zoo models, when cached in $NNVIZ_DATA/models/: D1 (biases, ReLU -> max-pool): the
    gradient and DeepLIFT (the corrected rescale, and Captum as shipped); D0 (the same without
    biases): the gradient, where exact zeros before ReLUs are common. First n MNIST test images,
    predicted class, against `nnviz explain`."""
    from captum.attr import DeepLift, Saliency

    x, _ = mnist_images(args.mnist, "t10k", n)
    xin = workdir / "trained-x.npy"
    np.save(xin, x.numpy())
    lines = [f"### Trained zoo models, first {n} MNIST test images, predicted class", "",
             "| model | method | peer | max abs diff | rel L2 diff | bound | agrees | completeness error (peer) |",
             "|---|---|---|---:|---:|---:|---|---:|"]
    failures = []
    saliency = lambda m, t: Saliency(m).attribute(x, target=t, abs=False).detach()  # noqa: E731
    checks = [
        ("D1", "gradient", "Captum Saliency(abs=False)", saliency, False),
        ("D1", "deeplift", "DeepLIFT rescale in torch (corrected)", lambda m, t: deep_lift_rescale(m, x, t), False),
        ("D1", "deeplift", "Captum DeepLift 0.9 as shipped",
         lambda m, t: DeepLift(m).attribute(x, baselines=torch.zeros_like(x), target=t).detach(), True),
        ("D0", "gradient", "Captum Saliency(abs=False)", saliency, False),
    ]
    for name, method, peer, fn, informational in checks:
        f = pathlib.Path(args.mnist).parent / "models" / f"{name}.safetensors"
        if not f.exists():
            lines.append(f"| {name} | {method} | not cached at {f}: skipped | | | | | |")
            continue
        model = build_network(f)
        out = workdir / f"trained-{name}-{method}.npy"
        if not out.exists():
            run_nnviz(args.nnviz, ["explain", "--model", str(f), "--method", method, "--input", str(xin),
                                   "--out", str(out)])
        t = load_npy(workdir / f"trained-{name}-{method}.targets.npy").long()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = fn(model, t)
        mx, rel = difference(a, load_npy(out))
        complete = ""
        if method == "deeplift":
            with torch.no_grad():
                delta = (model(x) - model(torch.zeros_like(x))).gather(1, t[:, None])[:, 0]
            complete = f"{float((a.flatten(1).sum(1) - delta).abs().max()):.2e}"
        ok = rel <= 1e-4
        verdict = "info" if informational else ("yes" if ok else "**NO**")
        lines.append(f"| {name} | {method} | {peer} | {mx:.2e} | {rel:.2e} | {'info' if informational else '1e-4'} | "
                     f"{verdict} | {complete} |")
        if not ok and not informational:
            why = ""
            if method == "gradient":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    dmx, drel = difference(fn(with_candle_relu(model), t), load_npy(out))
                why = f" (the same peer with ReLU'(0) = 1, candle's autograd convention: {drel:.2e})"
                lines.append(f"| {name} | ↳ {method}, ReLU′(0) = 1 | the same peer, ReLUs with candle's "
                             f"derivative at 0 | {dmx:.2e} | {drel:.2e} | 1e-4 | {'yes' if drel <= 1e-4 else '**NO**'} | |")
            failures.append(f"trained {name}, {method}: relative L2 difference {rel:.2e} > 1e-4{why}")
    return "\n".join(lines) + "\n", failures


def main():
    target_dir = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    data_dir = pathlib.Path(os.environ.get("NNVIZ_DATA") or ROOT / "data")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nnviz", type=pathlib.Path, default=target_dir / "release" / "nnviz",
                   help="the nnviz binary (built with --features cli); default $CARGO_TARGET_DIR or target/")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--repeats", type=int, default=5,
                   help="timed runs per method after one warm-up (nnviz bench's; 3 at most for the 50-step methods)")
    p.add_argument("--batch", type=int, default=100, help="images (the first MNIST test images)")
    p.add_argument("--train-steps", type=int, default=50, help="Adam steps of 100 to time (0: none)")
    p.add_argument("--ig-batch", type=int, default=500,
                   help="Captum's internal_batch_size for integrated gradients (nnviz evaluates 500 inputs per pass)")
    p.add_argument("--occlusion-batch", type=int, default=5,
                   help="Captum Occlusion's perturbations_per_eval, windows per pass (nnviz evaluates 500 "
                        "occluded inputs per pass: 5 windows of the default 100 images)")
    p.add_argument("--sg-reference", type=int, default=250,
                   help="noisy gradients drawn in torch as SmoothGrad's statistical reference (default 250)")
    p.add_argument("--mnist", type=pathlib.Path, default=data_dir / "mnist", help="MNIST directory (training)")
    p.add_argument("--workdir", type=pathlib.Path, help="where the exports go (default: a temporary directory)")
    p.add_argument("--out", type=pathlib.Path, help="also write the Markdown report here")
    p.add_argument("--no-zoo", action="store_true", help="skip the zoo rebuild check and the trained-model check")
    p.add_argument("--methods", help="compare only these methods (comma-separated bench keys, e.g. "
                                      "hires_cam,score_cam); nnviz still runs its whole suite")
    args = p.parse_args()
    if args.methods is not None:
        args.methods = {m.strip() for m in args.methods.split(",") if m.strip()}
    if not args.nnviz.exists():
        die(f"no nnviz binary at {args.nnviz}; build it with `cargo build --release --features cli` "
            "or pass --nnviz")
    try:
        threads = [int(s) for s in args.threads.split(",") if s.strip()]
    except ValueError:
        die(f"--threads {args.threads!r} is not a comma-separated list of integers")
    if not threads or min(threads) < 1:
        die(f"--threads {args.threads!r} needs thread counts of at least 1")
    try:
        import captum
        import zennit  # noqa: F401
    except ImportError as e:
        die(f"{e}; this script needs torch, captum, zennit and numpy (see its header)")
    from importlib.metadata import version

    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="nnviz-compare-")
        args.workdir = pathlib.Path(tmp.name)
    args.workdir.mkdir(parents=True, exist_ok=True)
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor()) if pathlib.Path("/proc/cpuinfo").exists() else platform.processor()
    nnviz_version = run_nnviz(args.nnviz, ["--version"]).strip()
    report = [
        "## nnviz against PyTorch + Captum/Zennit",
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; {nnviz_version}; "
        f"torch {torch.__version__}, captum {captum.__version__}, zennit {version('zennit')}, "
        f"numpy {np.__version__}; {cpu}, {os.cpu_count()} logical CPUs. Reference CNN with nnviz's seeded "
        f"weights, the first {args.batch} MNIST test images, the predicted class's logit; median of "
        f"{args.repeats} runs after one warm-up (3 for the 50-step methods), both sides in one run.",
        "",
    ]
    failures = []
    if not args.no_zoo:
        for check in (check_zoo, check_trained):
            text, bad = check(args, args.workdir)
            report.append(text)
            failures += bad
            print(text, flush=True)
    for t in threads:
        text, bad = compare_one(args, t, args.workdir)
        report.append(text)
        failures += [f"{t} thread(s): {b}" for b in bad]
        print(text, flush=True)
    if failures:
        tail = "**Disagreements:**\n\n" + "\n".join(f"* {f}" for f in failures) + "\n"
    else:
        tail = "Every compared method agrees within its bound.\n"
    report.append(tail)
    print(tail)
    if args.out:
        args.out.write_text("\n".join(report))
        print(f"wrote {args.out}", file=sys.stderr)
    if tmp is not None:
        tmp.cleanup()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
