"""Captum's numbers for the cases of nnviz's Shapley / feature-ablation tests.

nnviz_core/src/methods/shapley/tests.rs (`feature_ablation_and_shapley_values_match_captum`)
builds the same network, inputs and feature masks from the same formulas and asserts the values
printed here, so the Rust implementation is checked against Captum 0.9 without Python in CI.
Rerun to regenerate:

    /path/to/python-with-captum scripts/compare_captum_shapley.py

The network is a 16-6-3 ReLU MLP on 1x4x4 images with weights given by closed formulas (the same
as scripts/compare_captum_metrics.py). Two cases: 2x2 patches (4 features) with a zero baseline,
and an irregular 6-feature mask with the constant baseline 0.2. `ShapleyValues` enumerates all
M! orderings (720 for M = 6). Captum assigns a feature's value to each of its pixels; the values
printed are per feature (read at each feature's first pixel), targets 0 and 2.
"""
import re

import numpy as np
import torch
from captum.attr import FeatureAblation, ShapleyValues

torch.set_default_dtype(torch.float32)
N = 2
TARGETS = torch.tensor([0, 2])


def f32(v):
    return np.asarray(v, dtype=np.float32)


def formula(shape, fn):
    idx = np.indices(shape).astype(np.float32)
    return f32(fn(*idx))


W1 = formula((6, 16), lambda o, i: 0.5 * np.sin(np.float32(0.37) * (o * 16 + i) + np.float32(0.1)))
B1 = formula((6,), lambda o: 0.1 * np.cos(np.float32(1.3) * o))
W2 = formula((3, 6), lambda o, i: 0.6 * np.cos(np.float32(0.71) * (o * 6 + i) + np.float32(0.2)))
B2 = formula((3,), lambda o: 0.05 * (o - 1))
X = formula((N, 16), lambda n, j: 0.5 + 0.5 * np.sin(np.float32(1.1) * j + np.float32(0.7) * n))

PATCHES = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
IRREGULAR = np.array([[0, 0, 1, 1], [0, 2, 2, 1], [3, 2, 5, 5], [3, 3, 4, 5]])


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(16, 6)
        self.fc2 = torch.nn.Linear(6, 3)
        with torch.no_grad():
            self.fc1.weight.copy_(torch.from_numpy(W1))
            self.fc1.bias.copy_(torch.from_numpy(B1))
            self.fc2.weight.copy_(torch.from_numpy(W2))
            self.fc2.bias.copy_(torch.from_numpy(B2))

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.reshape(x.shape[0], -1))))


def short(t):
    """7 significant digits, trailing zeros dropped (what clippy accepts for an f32)."""
    return re.sub(r"(\d\.\d*?[1-9])0+e", r"\1e", f"{t:.6e}")


def per_feature(attr, mask):
    m = mask.max() + 1
    flat = mask.reshape(-1)
    firsts = [int(np.argmax(flat == j)) for j in range(m)]
    a = attr.reshape(N, -1).detach().numpy()
    # Captum gives every pixel of a feature the same value: check, then read one per feature.
    for j in range(m):
        cols = a[:, flat == j]
        assert np.allclose(cols, cols[:, :1]), "pixels of one feature differ"
    return a[:, firsts]


def main():
    net = Mlp().eval()
    x = torch.from_numpy(X).reshape(N, 1, 4, 4)
    for name, mask, baseline in [("patches", PATCHES, 0.0), ("irregular", IRREGULAR, 0.2)]:
        fm = torch.from_numpy(mask).reshape(1, 1, 4, 4)
        fa = FeatureAblation(net).attribute(x, baselines=baseline, target=TARGETS, feature_mask=fm)
        sv = ShapleyValues(net).attribute(x, baselines=baseline, target=TARGETS, feature_mask=fm)
        for label, a in [("feature_ablation", fa), ("shapley_values", sv)]:
            v = per_feature(a, mask)
            print(f"{name} {label}:")
            for row in v:
                print("    [" + ", ".join(short(t) for t in row) + "],")


if __name__ == "__main__":
    main()
