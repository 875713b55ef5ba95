"""End-to-end runs of the `nnviz` binary (built by `cargo test --release --features cli`)."""
import ast
import json
import math
import os
import pathlib
import struct
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "release" / "nnviz"


def nnviz(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=e, timeout=600)


@pytest.fixture(scope="module", autouse=True)
def built():
    if not BIN.exists():
        subprocess.run(["cargo", "build", "--release", "--features", "cli", "--bin", "nnviz"], cwd=ROOT, check=True)


def test_help_everywhere():
    for args in [["--help"], ["train", "--help"], ["info", "--help"], ["data", "check", "--help"], ["zoo", "--help"],
                 ["methods", "--help"], ["explain", "--help"], ["render", "--help"], ["init", "--help"]]:
        r = nnviz(*args)
        assert r.returncode == 0, r.stderr
        assert "Usage" in r.stdout


def test_data_check_verifies_checksums():
    r = nnviz("data", "check")
    assert r.returncode == 0, r.stderr
    assert "train-images-idx3-ubyte" in r.stdout and "ok" in r.stdout


def test_data_check_fails_with_a_reason_on_a_corrupt_file(tmp_path):
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    for f in (ROOT / "data" / "mnist").iterdir():
        (mnist / f.name).write_bytes(f.read_bytes())
    (mnist / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    r = nnviz("data", "check", env={"NNVIZ_DATA": str(tmp_path)})
    assert r.returncode != 0
    assert "t10k-labels-idx1-ubyte" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_zoo_lists_every_model():
    r = nnviz("zoo")
    assert r.returncode == 0, r.stderr
    for name in ["A", "B0", "B1", "C", "D0", "D1", "D2", "E", "F", "G", "H"]:
        assert f"\n{name} " in r.stdout


def test_unknown_model_and_missing_file_fail_cleanly(tmp_path):
    r = nnviz("train", "Z9", env={"NNVIZ_DATA": str(tmp_path)})
    assert r.returncode != 0 and "Z9" in r.stderr and "D0" in r.stderr
    r = nnviz("info", str(tmp_path / "missing.safetensors"))
    assert r.returncode != 0 and "missing.safetensors" in r.stderr
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    r = nnviz("info", str(junk))
    assert r.returncode != 0 and "junk.safetensors" in r.stderr
    assert "panicked" not in r.stderr


def test_train_then_info(tmp_path):
    # Train the MLP into a scratch data dir (MNIST files linked in), then describe the file.
    (tmp_path / "mnist").symlink_to(ROOT / "data" / "mnist")
    env = {"NNVIZ_DATA": str(tmp_path)}
    r = nnviz("train", "A", "--epochs", "1", env=env)
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout
    model = tmp_path / "models" / "A.safetensors"
    assert model.exists()
    r = nnviz("info", str(model))
    assert r.returncode == 0, r.stderr
    assert "454230 parameters" in r.stdout and "fc1" in r.stdout and "test accuracy" in r.stdout
    # a second run loads the cache instead of training
    r = nnviz("train", "A", "--epochs", "1", env=env)
    assert r.returncode == 0 and "loaded A" in r.stdout, r.stdout


def test_bench_epochs_times_one_zoo_epoch_and_caches_nothing(tmp_path):
    # One real epoch of E (the fastest zoo CNN) on full MNIST: a table row with its time and a
    # test accuracy an epoch of E reaches; no weights are written; unknown ids fail by name.
    (tmp_path / "mnist").symlink_to(ROOT / "data" / "mnist")
    env = {"NNVIZ_DATA": str(tmp_path)}
    r = nnviz("bench", "--epochs", "E", env=env)
    assert r.returncode == 0, r.stderr
    row = [l for l in r.stdout.splitlines() if l.startswith("| E |")]
    assert len(row) == 1, r.stdout
    cells = [c.strip() for c in row[0].strip("|").split("|")]
    assert cells[1] == "60000" and float(cells[2]) > 0 and float(cells[3]) > 0.95, row
    assert not (tmp_path / "models").exists()
    r = nnviz("bench", "--epochs", "E,Q", env=env)  # checked before E trains
    assert r.returncode != 0 and 'unknown model "Q"' in r.stderr, r.stderr


def test_a_cache_with_another_recipe_is_retrained(tmp_path):
    (tmp_path / "mnist").symlink_to(ROOT / "data" / "mnist")
    env = {"NNVIZ_DATA": str(tmp_path)}
    assert nnviz("train", "A", "--epochs", "1", env=env).returncode == 0
    r = nnviz("train", "A", "--epochs", "2", env=env)
    assert r.returncode == 0, r.stderr
    assert "training configuration differs" in r.stdout, r.stdout


# --- explain / render -------------------------------------------------------------------------
# Arrays are written and read here without numpy (not a dependency of the tests): a .npy file is
# a magic, a header dict and raw little-endian values; safetensors is a JSON header and raw data.

METHODS = [
    "gradient", "input-x-gradient", "integrated-gradients", "smoothgrad", "guided-backprop",
    "deconvnet", "lrp-epsilon", "lrp-zplus", "lrp-alpha2beta1", "lrp-epsilon-plus",
    "deep-taylor", "deeplift", "cam", "grad-cam", "grad-cam-plus-plus", "xgrad-cam", "hires-cam",
    "layer-cam", "score-cam", "occlusion", "gradient-shap", "guided-grad-cam",
    "feature-ablation", "shapley-values", "shapley-sampling", "kernel-shap", "lime",
]
# Fewer evaluations than the defaults keep CI fast; the defaults are exercised by the Rust tests.
FAST = {"integrated-gradients": ["--param", "steps=8"], "smoothgrad": ["--param", "samples=4"],
        "gradient-shap": ["--param", "samples=4"],
        "shapley-values": ["--param", "patch=14"],  # 4 features, 16 coalitions
        "shapley-sampling": ["--param", "samples=2"], "kernel-shap": ["--param", "samples=40"],
        # the untrained network's scores are ~1e-2: Captum's Lasso penalty (0.01) would zero every
        # value, so the plain weighted regression
        "lime": ["--param", "samples=40", "--param", "alpha=0"],
        "occlusion": ["--param", "window=7", "--param", "stride=7"]}


def write_npy(path, values, shape, descr="<f4", fortran=False, version=1):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, fortran, "".join(f"{d}, " for d in shape).rstrip(" "))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    fmt = {"<f4": "f", "<i8": "q", "<f8": "d"}[descr]
    pre = b"\x93NUMPY" + bytes([version, 0]) + (
        struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header)))
    path.write_bytes(pre + header.encode() + struct.pack(f"<{len(values)}{fmt}", *values))


def read_npy(path):
    b = path.read_bytes()
    assert b[:6] == b"\x93NUMPY"
    n = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + n].decode())
    fmt = {"<f4": "f", "<i8": "q"}[h["descr"]]
    count = math.prod(h["shape"])
    return list(h["shape"]), list(struct.unpack(f"<{count}{fmt}", b[10 + n:]))


def read_safetensors(path):
    b = path.read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, t in header.items():
        s, e = t["data_offsets"]
        fmt = {"F32": "f", "I64": "q"}[t["dtype"]]
        count = math.prod(t["shape"])
        out[name] = (t["shape"], list(struct.unpack(f"<{count}{fmt}", b[8 + n + s:8 + n + e])))
    return out, meta


def images(n, size, channels=1, seed=0):
    # deterministic pseudo-random pixels in [0, 1)
    x, out = seed + 1, []
    for _ in range(n * channels * size * size):
        x = (1103515245 * x + 12345) % 2**31
        out.append(x / 2**31)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("explain")
    # untrained networks: F (all-convolutional, 28x28) and G (GAP + linear head for CAM, 40x40)
    for name in ["F", "G"]:
        r = nnviz("init", name, "--out", str(d / f"{name}.safetensors"))
        assert r.returncode == 0, r.stderr
    write_npy(d / "x.npy", images(2, 28), (2, 1, 28, 28))
    write_npy(d / "x40.npy", images(2, 40), (2, 1, 40, 40))
    return d


def argmax(row):
    return max(range(len(row)), key=lambda i: row[i])


def test_methods_lists_every_method_with_defaults():
    r = nnviz("methods")
    assert r.returncode == 0, r.stderr
    for m in METHODS:
        assert f"\n{m} " in "\n" + r.stdout, m
    assert "steps (default 50)" in r.stdout and "epsilon (default 0.25)" in r.stdout


@pytest.mark.parametrize("method", METHODS)
def test_explain_every_method(files, method):
    model, x, size = ("G", "x40.npy", 40) if method == "cam" else ("F", "x.npy", 28)
    out = files / f"{method}.safetensors"
    r = nnviz("explain", "--model", str(files / f"{model}.safetensors"), "--method", method,
              "--input", str(files / x), "--out", str(out), *FAST.get(method, []))
    assert r.returncode == 0, r.stderr
    t, meta = read_safetensors(out)
    shape, a = t["attribution"]
    channels = 1  # one input channel; CAM methods return one map per image as well
    assert shape == [2, channels, size, size]
    assert all(math.isfinite(v) for v in a)
    assert any(v != 0 for v in a), "an all-zero attribution"
    lshape, logits = t["logits"]
    assert lshape == [2, 10]
    tshape, targets = t["targets"]
    assert tshape == [2]
    assert targets == [argmax(logits[0:10]), argmax(logits[10:20])]
    assert meta["nnviz.method"] == method


def test_explain_fixed_and_file_targets_and_npy_sidecars(files):
    model = str(files / "F.safetensors")
    r = nnviz("explain", "--model", model, "--method", "gradient", "--input", str(files / "x.npy"),
              "--target", "3", "--out", str(files / "g3.npy"))
    assert r.returncode == 0, r.stderr
    shape, _ = read_npy(files / "g3.npy")
    assert shape == [2, 1, 28, 28]
    assert read_npy(files / "g3.targets.npy") == ([2], [3, 3])
    assert read_npy(files / "g3.logits.npy")[0] == [2, 10]
    write_npy(files / "t.npy", [1, 7], (2,), descr="<i8")
    r = nnviz("explain", "--model", model, "--method", "lrp-epsilon", "--param", "epsilon=0.1",
              "--input", str(files / "x.npy"), "--target", str(files / "t.npy"),
              "--out", str(files / "t.safetensors"))
    assert r.returncode == 0, r.stderr
    t, meta = read_safetensors(files / "t.safetensors")
    assert t["targets"] == ([2], [1, 7])
    assert json.loads(meta["nnviz.params"]) == {"epsilon": "0.1"}
    # the gradient of a different class differs
    a1 = read_npy(files / "g3.npy")[1]
    r = nnviz("explain", "--model", model, "--method", "gradient", "--input", str(files / "x.npy"),
              "--target", "4", "--out", str(files / "g4.npy"))
    assert r.returncode == 0 and read_npy(files / "g4.npy")[1] != a1


def test_render_single_and_grid(files):
    src = files / "render.safetensors"
    r = nnviz("explain", "--model", str(files / "F.safetensors"), "--method", "gradient",
              "--input", str(files / "x.npy"), "--out", str(src))
    assert r.returncode == 0, r.stderr
    r = nnviz("render", str(src), "--out", str(files / "grid.png"), "--grid")
    assert r.returncode == 0, r.stderr
    assert (files / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = nnviz("render", str(src), "--out", str(files / "one.png"))
    assert r.returncode == 0, r.stderr
    for i in range(2):
        assert (files / f"one-{i}.png").read_bytes()[:4] == b"\x89PNG"
    r = nnviz("explain", "--model", str(files / "F.safetensors"), "--method", "gradient",
              "--input", str(files / "x.npy"), "--out", str(files / "render.npy"))
    assert r.returncode == 0, r.stderr
    r = nnviz("render", str(files / "render.npy"), "--out", str(files / "npy.png"), "--grid",
              "--cols", "1")
    assert r.returncode == 0, r.stderr
    assert (files / "npy.png").read_bytes()[:4] == b"\x89PNG"


def fails(r, *needles):
    assert r.returncode != 0, r.stdout
    assert "panicked" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    for n in needles:
        assert n in r.stderr, (n, r.stderr)


def test_explain_errors_name_the_values(files):
    model = str(files / "F.safetensors")

    def explain(*args, method="gradient", x=None):
        return nnviz("explain", "--model", model, "--method", method,
                     "--input", str(x or files / "x.npy"), "--out", str(files / "err.npy"), *args)

    write_npy(files / "rgb.npy", images(1, 28, channels=3), (1, 3, 28, 28))
    fails(explain(x=files / "rgb.npy"), "rgb.npy", "3 channel", "expects 1")
    write_npy(files / "big.npy", images(1, 32), (1, 1, 32, 32))
    fails(explain(x=files / "big.npy"), "big.npy", "32×32", "28×28")
    fails(explain("--target", "10"), "target class 10", "10 outputs")
    fails(explain("--target", "-1"), "target class -1")
    write_npy(files / "bad_t.npy", [1, 12], (2,), descr="<i8")
    fails(explain("--target", str(files / "bad_t.npy")), "bad_t.npy", "class 12", "image 1")
    write_npy(files / "short_t.npy", [1], (1,), descr="<i8")
    fails(explain("--target", str(files / "short_t.npy")), "short_t.npy", "[1]", "[2]")
    fails(explain("--target", "seven"), "seven")
    v = images(2, 28)
    v[28 * 28 + 5] = float("nan")
    write_npy(files / "nan.npy", v, (2, 1, 28, 28))
    fails(explain(x=files / "nan.npy"), "nan.npy", "NaN", "image 1", "column 5")
    v[28 * 28 + 5] = float("inf")
    write_npy(files / "inf.npy", v, (2, 1, 28, 28))
    fails(explain(x=files / "inf.npy"), "inf.npy", "inf")
    fails(explain(x=files / "missing.npy"), "missing.npy")
    (files / "junk.npy").write_bytes(b"\x93NUMPY\x01\x00\xff\x00{'descr'")
    fails(explain(x=files / "junk.npy"), "junk.npy", "truncated")
    write_npy(files / "f64.npy", images(1, 28), (1, 1, 28, 28), descr="<f8")
    fails(explain(x=files / "f64.npy"), "f64.npy", "<f8", "float32")
    write_npy(files / "fortran.npy", images(1, 28), (1, 1, 28, 28), fortran=True)
    fails(explain(x=files / "fortran.npy"), "fortran.npy", "Fortran")
    write_npy(files / "flat.npy", images(1, 28), (784,))
    fails(explain(x=files / "flat.npy"), "flat.npy", "[784]", "N×C×H×W")
    fails(explain(method="lrp"), '"lrp"', "lrp-epsilon", "grad-cam-plus-plus")
    fails(explain("--param", "step=3", method="integrated-gradients"), '"step"', "steps")
    fails(explain("--param", "steps=many", method="integrated-gradients"), "steps", "many")
    fails(explain("--param", "epsilon", method="lrp-epsilon"), "key=value")
    fails(explain("--score", "prob"), "prob", "softmax")
    fails(explain(method="cam"), "CAM", "global average pooling")
    fails(explain("--param", "layer=conv9", method="grad-cam"), "conv9")
    fails(explain("--param", "patch=4", method="shapley-values"), "49 features", "at most 16")
    r = nnviz("explain", "--model", str(files / "nope.safetensors"), "--method", "gradient",
              "--input", str(files / "x.npy"), "--out", str(files / "o.npy"))
    fails(r, "nope.safetensors")
    r = nnviz("explain", "--model", model, "--method", "gradient",
              "--input", str(files / "x.npy"), "--out", str(files / "o.png"))
    fails(r, "o.png", ".npy or .safetensors")
    fails(nnviz("render", str(files / "missing.safetensors"), "--out", str(files / "m.png")),
          "missing.safetensors")
    fails(nnviz("render", str(files / "flat.npy"), "--out", str(files / "m.png")), "flat.npy")


def test_evaluate_a_model_file(files, tmp_path):
    # The evaluation table for any model file on given images (2 images of untrained F: ~10 s).
    model = str(files / "F.safetensors")
    r = nnviz("evaluate", "--model", model, "--input", str(files / "x.npy"), "--images", "2", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "evaluation.md").read_text()
    rows = (tmp_path / "evaluation.csv").read_text().strip().splitlines()
    for name in ["integrated gradients", "deep Taylor", "Grad-CAM++", "occlusion", "random order"]:
        assert name in md, name
    assert "2 images" in md
    assert "faithfulness corr." in md and "224 values set to 0" in md
    assert rows[0].split(",")[4] == "faithfulness_correlation"
    assert len(rows) == 1 + 19 + 1, rows  # header, 19 methods, the random-order baseline
    fails(nnviz("evaluate", "--model", model, "--out", str(tmp_path)), "needs --input")
    fails(nnviz("evaluate", "--model", model, "--input", str(files / "x40.npy"), "--out", str(tmp_path)),
          "evaluate:", "40×40", "28×28")
    fails(nnviz("evaluate", "--model", model, "--input", str(files / "x.npy"), "--images", "0",
                "--out", str(tmp_path)), "--images")


def test_bench_export_writes_what_it_computed(tmp_path):
    # What scripts/compare_pytorch.py reads: the model, inputs, targets, logits, every method's
    # result and the times (batch 2, one timed run: a few seconds).
    out = tmp_path / "export"
    r = nnviz("bench", "--device", "cpu", "--batch", "2", "--repeats", "1", "--export", str(out),
              env={"RAYON_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    timings = json.loads((out / "timings.json").read_text())
    assert timings["batch"] == 2 and timings["threads"] == 1
    shape, x = read_npy(out / "inputs.npy")
    assert shape == [2, 1, 28, 28] and 0.0 <= min(x) and max(x) <= 1.0
    shape, targets = read_npy(out / "targets.npy")
    assert shape == [2] and all(0 <= t < 10 for t in targets)
    shape, logits = read_npy(out / "logits.npy")
    assert shape == [2, 10]
    assert targets == [argmax(logits[i * 10:(i + 1) * 10]) for i in range(2)]
    keys = [row["key"] for row in timings["rows"]]
    assert keys[0] == "forward" and len(keys) == 26, keys
    for row in timings["rows"]:
        assert row["repeats"] == 1 and row["threads"] == 1 and row["median_ms"] > 0, row
        if row["key"] == "forward":
            assert row["file"] is None
            continue
        assert row["file"] == f"{row['key']}.npy" and row["tolerance"] in (1e-4, 5e-3), row
        shape, values = read_npy(out / row["file"])
        assert shape == [2, 1, 28, 28], (row["key"], shape)
        assert all(math.isfinite(v) for v in values), row["key"]
    # The model file is self-describing: nnviz reads it back, and so does a plain safetensors parser.
    r = nnviz("info", str(out / "model.safetensors"))
    assert r.returncode == 0, r.stderr
    assert "conv1" in r.stdout and "fc4" in r.stdout
    tensors, meta = read_safetensors(out / "model.safetensors")
    assert tensors["conv1.weight"][0] == [32, 1, 3, 3] and tensors["fc3.weight"][0] == [1024, 3136]
    assert json.loads(meta["nnviz.architecture"])["name"] == "reference"
    # Errors: one line, before any work.
    plain = tmp_path / "plain"
    plain.write_text("x")
    fails(nnviz("bench", "--device", "cpu", "--export", str(plain)), "plain", "not a directory")
    fails(nnviz("bench", "--device", "both", "--export", str(out)), "--export", "--device cpu")
    fails(nnviz("bench", "--epochs", "C", "--export", str(out)), "--export", "--epochs")
