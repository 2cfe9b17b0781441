"""What the notebook regression check (``pytest --nbval notebooks``) compares.

- At most a tenth of all code cells of ``notebooks/*.ipynb`` is left uncompared (``NBVAL_IGNORE_OUTPUT``
  or ``NBVAL_SKIP``), and each such marker says why on the line after it::

      # NBVAL_IGNORE_OUTPUT
      # reason: the timings differ from run to run

  (nbval recognises only the bare marker, so the reason cannot share its line.) Trained scores are
  compared through the pass/fail lines of ``mglwkd_lite.report.checks`` instead of being ignored.
- Progress bars, which appear only when a model is trained rather than loaded from the cache, are
  not compared (``notebooks/conftest.py``).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP")
MARKER_TAGS = tuple(m.lower().replace("_", "-") for m in MARKERS)
REASON = re.compile(r"^#\s*reason:\s*(\S+(?:\s+\S+){2,})\s*$")  # three words at least
MAX_SHARE = 0.10


def _code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _marker_lines(cell: dict) -> list[tuple[int, str]]:
    """(line number, stripped line) of every comment line naming an nbval marker."""
    lines = [line.strip() for line in _source(cell).splitlines()]
    return [(i, line) for i, line in enumerate(lines) if line.startswith("#") and any(m in line for m in MARKERS)]


def _uncompared(cell: dict) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return bool(_marker_lines(cell)) or any(t in MARKER_TAGS for t in tags)


def test_at_most_a_tenth_of_code_cells_is_uncompared():
    cells = [(path.name, i, c) for path in NOTEBOOKS for i, c in enumerate(_code_cells(path))]
    ignored = [f"{name} code cell {i}" for name, i, c in cells if _uncompared(c)]
    assert cells
    assert len(ignored) <= MAX_SHARE * len(cells), (
        f"{len(ignored)} of {len(cells)} code cells are not compared by nbval (at most "
        f"{int(MAX_SHARE * len(cells))} may be): {ignored}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_uncompared_cell_says_why(path):
    problems = []
    for i, cell in enumerate(_code_cells(path)):
        tags = [t for t in cell.get("metadata", {}).get("tags", []) if t in MARKER_TAGS]
        if tags:
            problems.append(f"code cell {i}: tag {tags[0]!r} (use the comment marker, with its reason on the next line)")
        lines = [line.strip() for line in _source(cell).splitlines()]
        for n, line in _marker_lines(cell):
            if line.lstrip("#").strip() not in MARKERS:
                problems.append(f"code cell {i}: {line!r} is not a marker nbval recognises "
                                f"(only '# {line.lstrip('#').strip().split()[0].rstrip(':')}' alone on its line)")
            elif n + 1 >= len(lines) or not REASON.match(lines[n + 1]):
                problems.append(f"code cell {i}: {line!r} without '# reason: <why, in a few words>' on the next line")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------------
# Progress bars are not compared
# --------------------------------------------------------------------------------------------------


def _conftest():
    spec = importlib.util.spec_from_file_location("notebooks_conftest", REPO_ROOT / "notebooks" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bar(text: str) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "ab12", "version_major": 2,
                                                                   "version_minor": 0},
                     "text/plain": text}}


def test_progress_bar_outputs_are_recognised():
    conftest = _conftest()
    assert conftest.is_progress_bar(_bar("fit student:   0%|          | 0/6 [00:00<?, ?it/s]"))
    assert conftest.is_progress_bar(_bar(["0it [00:00, ?it/s]"]))
    assert not conftest.is_progress_bar(_bar("HBox(children=(Button(description='go'),))"))  # another widget
    assert not conftest.is_progress_bar({"output_type": "stream", "name": "stdout", "text": "epochs run: 6\n"})
    assert not conftest.is_progress_bar({"output_type": "display_data", "metadata": {},
                                         "data": {"text/plain": "  0%|          | 0/6 [00:00<?, ?it/s]"}})


@pytest.mark.slow
def test_nbval_ignores_a_bar_that_only_an_empty_cache_shows(tmp_path):
    """A cell committed without a bar passes when re-run with one, and the line beside it is still compared."""
    folder = tmp_path / "nb"
    folder.mkdir()
    shutil.copy(REPO_ROOT / "notebooks" / "conftest.py", folder / "conftest.py")
    code = textwrap.dedent("""\
        from tqdm.auto import tqdm
        for _ in tqdm(range(3), desc="fit"):  # as when the model is not in the cache
            pass
        print("epochs run: 3")""")
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(code, execution_count=1,
                                          outputs=[nbformat.v4.new_output("stream", name="stdout", text="epochs run: 3\n")])]
    nbformat.write(nb, folder / "bar.ipynb")
    run = [sys.executable, "-m", "pytest", "--nbval", str(folder), "-p", "no:cacheprovider", "-q",
           "--rootdir", str(folder)]
    passed = subprocess.run(run, capture_output=True, text=True, timeout=300, cwd=folder)
    assert passed.returncode == 0, passed.stdout[-3000:]
    nb.cells[0].outputs[0]["text"] = "epochs run: 2\n"  # a changed line still fails
    nbformat.write(nb, folder / "bar.ipynb")
    failed = subprocess.run(run, capture_output=True, text=True, timeout=300, cwd=folder)
    assert failed.returncode == 1 and "epochs run: 2" in failed.stdout, failed.stdout[-3000:]
