"""Captum's numbers for the cases of nnviz's LIME tests.

nnviz_core/src/methods/shapley/tests.rs (`lime_matches_captum`) builds the same network, inputs,
feature masks and coalitions from the same formulas and asserts the values printed here, so the
Rust implementation is checked against Captum 0.9's `Lime` without Python in CI. Rerun to
regenerate:

    /path/to/python-with-captum-and-sklearn scripts/compare_captum_lime.py

The network and inputs are those of scripts/compare_captum_shapley.py (a 16-6-3 ReLU MLP on 1x4x4
images). Captum draws its coalitions with torch; here a generator hands Captum the same 24
coalitions nnviz's test uses (feature j present in coalition s iff (5s + 3j + (s*j mod 7)) mod 4 < 2).
Cases: 2x2 patches (4 features) with a zero baseline and Captum's default kernel (cosine distance,
width 1) and Lasso (alpha 0.01); the irregular 6-feature mask with baseline 0.2, the Euclidean
distance of width 0.75 and alpha 0.002. scikit-learn's Lasso runs to a tight tolerance
(tol 1e-9, about float32 precision, which is what Captum hands it), so both sides report
the optimum, not an early stop.
"""
import re
import warnings

import numpy as np
import torch
from captum._utils.models.linear_model import SkLearnLasso
from captum.attr import Lime
from captum.attr._core.lime import get_exp_kernel_similarity_function

from compare_captum_shapley import IRREGULAR, PATCHES, TARGETS, X, N, Mlp, per_feature

SAMPLES = 24


def coalitions(m):
    return [[int((5 * s + 3 * j + (s * j) % 7) % 4 < 2) for j in range(m)] for s in range(SAMPLES)]


def short(t):
    """7 significant digits, trailing zeros dropped (what clippy accepts for an f32)."""
    return re.sub(r"(\d\.\d*?[1-9])0+e", r"\1e", f"{t:.6e}")


def main():
    warnings.filterwarnings("ignore", message="You are providing multiple inputs")
    # Captum hands scikit-learn float32 data, whose duality gap stalls near 1e-7 above the
    # requested 1e-9 tolerance: the values no longer move (tol 1e-12 prints the same digits).
    warnings.filterwarnings("ignore", message="Objective did not converge")
    net = Mlp().eval()
    x = torch.from_numpy(X).reshape(N, 1, 4, 4)
    cases = [
        ("patches", PATCHES, 0.0, "cosine", 1.0, 0.01),
        ("irregular", IRREGULAR, 0.2, "euclidean", 0.75, 0.002),
    ]
    for name, mask, baseline, distance, width, alpha in cases:
        m = int(mask.max()) + 1
        zs = coalitions(m)

        def perturb(_inputs, **_kwargs):
            for z in zs:
                yield torch.tensor([z])

        lime = Lime(
            net,
            interpretable_model=SkLearnLasso(alpha=alpha, tol=1e-9, max_iter=1_000_000),
            similarity_func=get_exp_kernel_similarity_function(distance, kernel_width=width),
            perturb_func=perturb,
        )
        fm = torch.from_numpy(mask).reshape(1, 1, 4, 4)
        a = lime.attribute(x, baselines=baseline, target=TARGETS, feature_mask=fm, n_samples=SAMPLES)
        print(f"{name} lime ({distance}, width {width}, alpha {alpha}):")
        for row in per_feature(a, mask):
            print("    [" + ", ".join(short(t) for t in row) + "],")


if __name__ == "__main__":
    main()
