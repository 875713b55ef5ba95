"""Quantus's numbers for the cases of nnviz's localisation and complexity tests.

nnviz_core/src/metrics/tests.rs (`localisation_and_complexity_match_quantus`) builds the same
maps and masks from the same formulas and asserts the values printed here, so the Rust
implementation is checked against Quantus 0.6 without Python in CI. Rerun to regenerate:

    /path/to/python-with-quantus scripts/compare_quantus.py

Where the two libraries' conventions differ (module docs of metrics::localisation), the inputs
are chosen so that both definitions coincide: mass accuracy is given the positive part of the
map (nnviz counts positive relevance only; Quantus sums raw values), and the maps have no ties.
"""
import warnings

import numpy as np
import quantus

warnings.filterwarnings("ignore")
N, H, W = 3, 6, 6


def maps():
    i = np.arange(H * W, dtype=np.float32)
    rows = [np.sin(np.float32(0.9) * i + np.float32(1.3 * n + 0.2)) + np.float32(0.3) * np.cos(np.float32(2.1) * i)
            for n in range(N)]
    return np.stack(rows).astype(np.float32).reshape(N, 1, H, W)


def masks():
    i = np.arange(H * W)
    return np.stack([((i * 6 + n * 5) % 11) < 4 for n in range(N)]).astype(np.float32).reshape(N, 1, H, W)


a, s = maps(), masks()
x = np.zeros_like(a)
y = np.zeros(N, dtype=int)


def run(metric, a_batch):
    return [float(v) for v in metric(model=None, x_batch=x, y_batch=y, a_batch=a_batch.copy(), s_batch=s)]


raw = dict(abs=False, normalise=False, disable_warnings=True)
out = {
    "pointing": run(quantus.PointingGame(**raw), a),
    "mass": run(quantus.RelevanceMassAccuracy(**raw), np.maximum(a, 0)),
    "rank": run(quantus.RelevanceRankAccuracy(**raw), a),
    "auc": run(quantus.AUC(**raw), a),
    "sparseness": run(quantus.Sparseness(disable_warnings=True), a),
    "complexity": run(quantus.Complexity(disable_warnings=True), a),
}
print(f"quantus {quantus.__version__}")
for k, v in out.items():
    print(f"{k}: [{', '.join(f'{x:.7}' for x in v)}]")
