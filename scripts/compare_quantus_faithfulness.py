"""Quantus's numbers for the case of nnviz's faithfulness-correlation test.

nnviz_core/src/metrics/tests.rs (`faithfulness_correlation_matches_quantus`) builds the same
network, inputs, maps and subsets from the same formulas and asserts the values printed here, so
metrics::FaithfulnessCorrelation is checked against Quantus 0.6's FaithfulnessCorrelation without
Python in CI. Rerun to regenerate:

    /path/to/python-with-quantus-and-torch scripts/compare_quantus_faithfulness.py

The network and inputs are those of scripts/compare_captum_metrics.py (a 16-6-3 ReLU MLP on 1x4x4
images, classes 0 and 2). Quantus draws each image's subset with np.random.choice, run after run
and image after image within a run; here np.random.choice hands it the subsets nnviz's test uses:
in run s, image i loses the 5 pixels j with the smallest (5j + 3s + 7i) mod 17. Cases: logits with
baseline 0, softmax probabilities with baseline 0.2; 12 runs.
"""
import warnings

import numpy as np
import quantus
import torch

from compare_captum_metrics import N, TARGETS, X, Mlp, formula

RUNS, SUBSET, D = 12, 5, 16
# The map: A[n, j] = sin(0.8 j + 1.9 n) + 0.3 cos(2.3 j)
A = formula((N, D), lambda n, j: np.sin(np.float32(0.8) * j + np.float32(1.9) * n)
            + np.float32(0.3) * np.cos(np.float32(2.3) * j)).reshape(N, 1, 4, 4)


def subset(s, i):
    return np.array(sorted(range(D), key=lambda j: (5 * j + 3 * s + 7 * i) % 17)[:SUBSET])


def main():
    warnings.filterwarnings("ignore")
    x = X.reshape(N, 1, 4, 4)
    y = TARGETS.numpy()
    for softmax, baseline in ((False, 0.0), (True, 0.2)):
        queue = iter([subset(s, i) for s in range(RUNS) for i in range(N)])
        real_choice = np.random.choice
        np.random.choice = lambda n, k, replace=True: next(queue)
        try:
            metric = quantus.FaithfulnessCorrelation(nr_runs=RUNS, subset_size=SUBSET,
                                                     perturb_baseline=baseline,
                                                     return_aggregate=False, disable_warnings=True)
            # Quantus applies the softmax itself when asked; the model returns logits.
            out = metric(model=Mlp(False).eval(), x_batch=x, y_batch=y, a_batch=A.copy(),
                         device="cpu", softmax=softmax, channel_first=True)
        finally:
            np.random.choice = real_choice
        name = "softmax" if softmax else "logit"
        print(f"quantus {quantus.__version__} faithfulness_correlation {name} baseline {baseline}: "
              f"[{', '.join(repr(float(v)) for v in out)}]")


if __name__ == "__main__":
    main()
