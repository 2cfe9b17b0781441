"""No code path can unpickle: every ``np.load`` passes ``allow_pickle=False``, every ``torch.load``
passes ``weights_only=True``, and nothing calls ``pickle``/``joblib``/``pandas`` unpickling loaders.

The scan parses every Python file and every notebook code cell of the repository (syntax trees, not
text, so strings and comments do not count). A hostile bundle (a pickle whose loading would run code)
is refused by ``load_bundle`` and ``predict`` without running it.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import warnings
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", "_build", ".cache", ".git", ".hypothesis", ".pytest_cache", "__pycache__", ".ipynb_checkpoints"}
# Call targets that unpickle whatever they are given.
UNPICKLERS = {
    "pickle.load", "pickle.loads", "pickle.Unpickler", "cPickle.load", "cPickle.loads", "dill.load",
    "dill.loads", "joblib.load", "pd.read_pickle", "pandas.read_pickle", "np.loads", "numpy.loads",
    "cloudpickle.load", "cloudpickle.loads", "torch.serialization.load",
}


def _files(suffix: str) -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.split("\n")
        paths = [REPO_ROOT / p for p in out if p.endswith(suffix)]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        paths = [p for p in REPO_ROOT.rglob(f"*{suffix}") if not SKIP_DIRS & set(p.relative_to(REPO_ROOT).parts)]
    return sorted(p for p in paths if p.is_file())


def _notebook_source(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    lines = []
    for cell in cells:
        if cell["cell_type"] == "code":
            # IPython magics and shell escapes are not Python: blank them, keep line numbers.
            src = "".join(cell["source"]).splitlines()
            lines += ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in src] + [""]
    return "\n".join(lines)


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _const_kw(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value.value if isinstance(kw.value, ast.Constant) else "<not a constant>"
    return "<missing>"


def unsafe_calls(source: str, where: str) -> list[str]:
    """Every unsafe loading call in ``source`` as ``'where:line: what'``."""
    tree = ast.parse(source)
    problems = []
    aliases: dict[str, str] = {}  # local name -> dotted origin, from imports
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        head, _, tail = name.partition(".")
        full = aliases.get(head, head) + (f".{tail}" if tail else "")
        full = full.replace("numpy.", "np.", 1) if full.startswith("numpy.") else full
        where_line = f"{where}:{node.lineno}"
        if full in ("np.load",) and _const_kw(node, "allow_pickle") is not False:
            problems.append(f"{where_line}: np.load without allow_pickle=False")
        elif full == "torch.load" and _const_kw(node, "weights_only") is not True:
            problems.append(f"{where_line}: torch.load without weights_only=True")
        elif full in UNPICKLERS or full.replace("np.", "numpy.", 1) in UNPICKLERS:
            problems.append(f"{where_line}: {full} unpickles")
        elif _const_kw(node, "allow_pickle") is True:
            problems.append(f"{where_line}: allow_pickle=True")
    return problems


PY_FILES = _files(".py")
NOTEBOOKS = _files(".ipynb")


def test_scan_covers_the_package_and_tests():
    names = {p.relative_to(REPO_ROOT).as_posix() for p in PY_FILES}
    assert {"mglwkd_lite/_io.py", "tests/test_safety.py"} <= names


@pytest.mark.parametrize("path", PY_FILES + NOTEBOOKS, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_no_unsafe_loading(path):
    source = _notebook_source(path) if path.suffix == ".ipynb" else path.read_text(encoding="utf-8")
    problems = unsafe_calls(source, path.relative_to(REPO_ROOT).as_posix())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("snippet", "found"),
    [
        ("import numpy as np\nnp.load('a.npz')", "np.load without allow_pickle=False"),
        ("import numpy\nnumpy.load('a.npy', allow_pickle=True)", "np.load without allow_pickle=False"),
        ("import torch\ntorch.load('m.pt')", "torch.load without weights_only=True"),
        ("import torch\ntorch.load('m.pt', weights_only=False)", "torch.load without weights_only=True"),
        ("from torch import load\nload('m.pt')", "torch.load without weights_only=True"),
        ("import pickle\npickle.load(open('x', 'rb'))", "pickle.load unpickles"),
        ("from pickle import loads as l\nl(b'')", "pickle.loads unpickles"),
        ("import joblib\njoblib.load('x.joblib')", "joblib.load unpickles"),
        ("import pandas as pd\npd.read_pickle('x')", "pandas.read_pickle unpickles"),
        ("f(allow_pickle=True)", "allow_pickle=True"),
    ],
)
def test_scanner_finds_unsafe_forms(snippet, found):
    problems = unsafe_calls(snippet, "snippet.py")
    assert len(problems) == 1 and found in problems[0], problems


@pytest.mark.parametrize(
    "snippet",
    [
        "import numpy as np\nnp.load('a.npz', allow_pickle=False)",
        "import torch\ntorch.load('m.pt', weights_only=True, map_location='cpu')",
        "x = 'torch.load(path) and pickle.load are mentioned in text only'",
        "import onnx\nonnx.load('m.onnx')",
    ],
)
def test_scanner_accepts_safe_forms(snippet):
    assert unsafe_calls(snippet, "snippet.py") == []


# A hostile bundle: loading it must not run its code.


class _Payload:
    """Unpickling this object would create ``marker`` (a harmless stand-in for any code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _hostile(path: Path, marker: Path, protocol: int) -> Path:
    import pickle

    # Written with pickle.dumps (writing is harmless); a bundle dict whose format field holds the code.
    path.write_bytes(pickle.dumps({"format": _Payload(marker), "version": 2}, protocol=protocol))
    return path


@pytest.mark.parametrize("protocol", [2, 4])
def test_a_malicious_pickle_bundle_runs_no_code_and_is_refused_in_one_line(tmp_path, protocol, capsys):
    from mglwkd_lite import cli, deploy

    marker = tmp_path / "created_by_the_pickle"
    bundle = _hostile(tmp_path / "evil.pt", marker, protocol)
    with pytest.raises(deploy.DeployError, match="not a readable model bundle"):
        deploy.load_bundle(bundle)
    assert not marker.exists()
    recording = tmp_path / "rec.csv"
    recording.write_text("time,x,y,z\n" + "".join(f"{i / 50},0,0,1\n" for i in range(300)))
    with warnings.catch_warnings(record=True) as stray:
        warnings.simplefilter("always")
        rc = cli.main(["predict", str(recording), "--model", str(bundle), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("error: ") and not stray
    assert "weights_only" not in err and not marker.exists()
