"""End-to-end runs of the `nnviz` binary (built by `cargo test --release --features cli`)."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = ROOT / "target" / "release" / "nnviz"


def nnviz(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=e, timeout=600)


@pytest.fixture(scope="module", autouse=True)
def built():
    if not BIN.exists():
        subprocess.run(["cargo", "build", "--release", "--features", "cli", "--bin", "nnviz"], cwd=ROOT, check=True)


def test_help_everywhere():
    for args in [["--help"], ["train", "--help"], ["info", "--help"], ["data", "check", "--help"], ["zoo", "--help"]]:
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


def test_a_cache_with_another_recipe_is_retrained(tmp_path):
    (tmp_path / "mnist").symlink_to(ROOT / "data" / "mnist")
    env = {"NNVIZ_DATA": str(tmp_path)}
    assert nnviz("train", "A", "--epochs", "1", env=env).returncode == 0
    r = nnviz("train", "A", "--epochs", "2", env=env)
    assert r.returncode == 0, r.stderr
    assert "training configuration differs" in r.stdout, r.stdout
