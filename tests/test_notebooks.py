"""Executes every notebook headless with the Rust (evcxr) kernel.

A notebook fails if any cell errors, if it shows no image/png figure, or if it has no check
cell (a code cell tagged "check": it asserts that the from-scratch derivation equals the
library) or a check cell did not run or did not print "check passed".

evcxr reports a panic (a failed `assert!`) or a `?` error in a cell on stderr, not as an error
output, and carries on with the next cell; so any output mentioning a panic fails the notebook,
and every check cell must end by printing "check passed". Executed copies go to
artifacts/notebooks/.
"""
import os
import pathlib
import shutil
import warnings

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
OUT_DIR = ROOT / "artifacts" / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
SHARED_DEP = ':dep nnviz_core = { path = "../nnviz_core" }'


def kernel_env():
    """The kernel's environment: under pytest-xdist, a compile cache of its worker's own.

    evcxr's `:cache` (in $XDG_CACHE_HOME/evcxr) rewrites an entry's hit counter in place on
    every hit, so a kernel reading it while another writes it fails the cell ("Failed to wrap
    rustc: cannot parse integer from empty string"). Each worker gets its own copy, filled from
    the shared cache (which tests/run.sh warms with the first notebook) with the entries it lacks.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return None
    base = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
    own = base / f"nnviz-notebooks-{worker}"
    shared, copy = base / "evcxr", own / "evcxr"
    copy.mkdir(parents=True, exist_ok=True)
    if shared.is_dir():
        for entry in shared.iterdir():
            target = copy / entry.name
            if entry.is_dir() and not target.exists():
                tmp = copy / f".{entry.name}.tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(entry, tmp)
                tmp.rename(target)
    return {**os.environ, "XDG_CACHE_HOME": str(own)}


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_well_formed(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nbformat's warnings, e.g. a cell without an id
        nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "rust", "kernelspec must be 'rust'"
    cells = code_cells(nb)
    assert cells and cells[0].source.strip() == SHARED_DEP, "first code cell must be the shared :dep line"
    assert not any(":dep" in c.source for c in cells[1:]), "only the first cell may use :dep"
    checks = [c for c in cells if "check" in c.metadata.get("tags", [])]
    assert checks, "no cell tagged 'check'"
    assert all("check passed" in c.source for c in checks), "every check cell must print 'check passed'"


def execute(nb, name):
    """Runs `nb` in the notebooks folder (so that the shared `:dep` line resolves), keeps the
    executed copy as artifacts/notebooks/`name`, and fails on an error output or a panic."""
    client = NotebookClient(
        nb,
        timeout=1800,
        startup_timeout=180,
        kernel_name="rust",
        resources={"metadata": {"path": str(NB_DIR)}},
    )
    env = kernel_env()
    try:
        client.execute(**({"env": env} if env else {}))
    finally:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, OUT_DIR / name)
    cells = code_cells(nb)
    errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"error outputs: {errors}"
    streams = [(c, o.get("text", "")) for c in cells for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    panics = [(c.source[:80], t[:500]) for c, t in streams if "panicked at" in t]
    assert not panics, f"a cell panicked: {panics}"
    return cells


def stdout(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    cells = execute(nb, path.name)
    checks = [c for c in cells if "check" in c.metadata.get("tags", [])]
    assert checks, "no check cell"
    for c in checks:
        assert c.get("execution_count"), f"check cell did not run: {c.source[:80]!r}"
        out = stdout(c)
        assert "check passed" in out, f"check cell did not print 'check passed': {c.source[:80]!r}\n{out[-500:]}"
    pngs = [
        o for c in cells for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert pngs, "the notebook showed no image/png figure"


# The hazard of notebooks/README.md, "Gradients across cells", shown in a kernel: a tensor made in
# an earlier cell shares its id with the first tensor of the cell that runs `backward`, and their
# gradients land in one slot; `fresh_id` / `Network::with_fresh_ids` in that cell prevent it.
CROSS_CELL = [
    SHARED_DEP,
    """use nnviz_core::prelude::*;
use nnviz_core::candle::Var;
use nnviz_core::grad::fresh_id;
let w = Tensor::new(&[1f32, 2., 3.], &Device::Cpu)?;
let net = Network::init(&zoo::spec("E")?, 7, &Device::Cpu)?;
let x = Tensor::ones((1, 1, 28, 28), DType::F32, &Device::Cpu)?;""",
    """let v = Var::new(&[1f32, 1., 1.], &Device::Cpu)?;
let same_id = v.id() == w.id();
let g: Vec<f32> = (v.as_tensor() * &w)?.sum_all()?.backward()?.get(v.as_tensor()).unwrap().to_vec1()?;
println!("v made in this cell has w's id: {same_id}; d/dv sum(v * w) = {g:?}");
// the true gradient is w = (1, 2, 3); w's own gradient, v = (1, 1, 1), lands in the same slot
assert!(same_id, "ids no longer restart per cell: update notebooks/README.md");
assert_eq!(g, vec![2f32, 3., 4.]);
println!("collision shown");""",
    """let w = fresh_id(&w)?;
let v = Var::new(&[1f32, 1., 1.], &Device::Cpu)?;
let g: Vec<f32> = (v.as_tensor() * &w)?.sum_all()?.backward()?.get(v.as_tensor()).unwrap().to_vec1()?;
assert_eq!(g, vec![1f32, 2., 3.], "fresh_id did not separate the ids");
// a network from the earlier cell, differentiated here by candle's autograd, against the
// library's layer-by-layer gradient (which does not use candle's autograd on the CPU)
let scratch = {
    let (net, x) = (net.with_fresh_ids()?, fresh_id(&x)?);
    let xv = Var::from_tensor(&x)?;
    let s = net.forward(xv.as_tensor())?.narrow(1, 3, 1)?.sum_all()?;
    s.backward()?.get(xv.as_tensor()).unwrap().clone()
};
let lib = Saliency::default().attribute(&net, &x, &Target::class(3))?;
let d = (scratch - lib)?.abs()?.max_all()?.to_scalar::<f32>()?;
assert!(d < 1e-5, "scratch and library gradients differ by {d}");
println!("check passed");""",
]


def test_fresh_ids_separate_tensors_of_different_cells():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "rust", "display_name": "Rust", "language": "rust"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CROSS_CELL]
    cells = execute(nb, "cross-cell-tensor-ids.ipynb")
    assert "collision shown" in stdout(cells[2]), stdout(cells[2])[-500:]
    assert "check passed" in stdout(cells[3]), stdout(cells[3])[-500:]
