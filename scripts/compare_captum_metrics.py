"""Captum's numbers for the cases of nnviz's sensitivity and infidelity tests.

nnviz_core/src/metrics/tests.rs (`sensitivity_and_infidelity_match_captum`) builds the same
network, inputs and perturbations from the same formulas and asserts the values printed here, so
the Rust implementation is checked against Captum 0.9 without Python in CI. Rerun to regenerate:

    /path/to/python-with-captum scripts/compare_captum_metrics.py

The network is a 16-6-3 ReLU MLP on 4x4 images with weights given by closed formulas. The
perturbations are passed to Captum through its `perturb_func` hook; Captum repeats every example
`S` times in a row (example-major), nnviz draws sample-major, hence the reordering below.
"""
import numpy as np
import torch
from captum.attr import InputXGradient, Saliency
from captum.metrics import infidelity, sensitivity_max

torch.set_default_dtype(torch.float32)
N, S_SENS, S_INF, D = 2, 4, 5, 16
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
X = formula((N, D), lambda n, j: 0.5 + 0.5 * np.sin(np.float32(1.1) * j + np.float32(0.7) * n))
# sample-major: [s, n, j]
DELTA = formula((S_SENS, N, D), lambda s, n, j: 0.1 * np.sin(np.float32(2.3) * j + np.float32(1.7) * s + np.float32(0.9) * n))
PERT = formula((S_INF, N, D), lambda s, n, j: 0.2 * np.sin(np.float32(1.9) * j + np.float32(0.8) * s + np.float32(1.1) * n))


class Mlp(torch.nn.Module):
    def __init__(self, softmax):
        super().__init__()
        self.fc1 = torch.nn.Linear(16, 6)
        self.fc2 = torch.nn.Linear(6, 3)
        with torch.no_grad():
            self.fc1.weight.copy_(torch.from_numpy(W1))
            self.fc1.bias.copy_(torch.from_numpy(B1))
            self.fc2.weight.copy_(torch.from_numpy(W2))
            self.fc2.bias.copy_(torch.from_numpy(B2))
        self.softmax = softmax

    def forward(self, x):
        z = self.fc2(torch.relu(self.fc1(x.reshape(x.shape[0], -1))))
        return torch.softmax(z, dim=1) if self.softmax else z


def example_major(a):
    """[S, N, ...] -> [N*S, 1, 4, 4] in Captum's repeat_interleave order."""
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(a, 0, 1))).reshape(-1, 1, 4, 4)


def main():
    x = torch.from_numpy(X).reshape(N, 1, 4, 4)
    for softmax in (False, True):
        model = Mlp(softmax)
        name = "softmax" if softmax else "logit"
        for mname, method, kw in (("gradient", Saliency(model), {"abs": False}), ("input_x_gradient", InputXGradient(model), {})):
            sens = sensitivity_max(method.attribute, x, perturb_func=lambda inp: inp + example_major(DELTA),
                                   n_perturb_samples=S_SENS, target=TARGETS, **kw)
            print(f"sensitivity_max {name} {mname}: {[float(v) for v in sens]}")
            attr = method.attribute(x, target=TARGETS, **kw).detach()
            pert = example_major(PERT)
            for normalize in (False, True):
                inf = infidelity(model, lambda inp: (pert, inp - pert), x, attr, target=TARGETS,
                                 n_perturb_samples=S_INF, normalize=normalize)
                print(f"infidelity {name} {mname} normalize={normalize}: {[float(v) for v in inf]}")


if __name__ == "__main__":
    main()
