"""The shape of the package: small modules, imports that run one way, presentation kept in report/,
and an ``__all__`` in every module that lists exactly its public names.

See the package map in book/reproducing.md.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mglwkd_lite"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
MAX_LINES = 620  # "about 600"


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported module, at module level?, line) for every import of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module, is_package = _name(path), path.name == "__init__.py"
    top = {id(n) for n in tree.body}
    # Imports under `if TYPE_CHECKING:` at module level count as module level (they never run).
    for n in tree.body:
        if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
            top |= {id(m) for m in ast.walk(n)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            names = [f"{target}.{a.name}" for a in node.names]
            # `from . import x` imports the submodule x; `from .m import f` imports m.
            internal = [n for n in names if _name_is_module(n)] or [target]
            out += [(t, id(node) in top, node.lineno) for t in internal]
    return out


def _name_is_module(dotted: str) -> bool:
    rel = Path(*dotted.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").exists() or (PACKAGE.parent / rel / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        me = _name(path)
        graph[me] = {t for t, _, _ in _imports(path)
                     if t.startswith("mglwkd_lite") and t != me and not me.startswith(t + ".")}
    return graph


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_small(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.name}: {n} lines; split it (see the package map)"


def test_no_package_import_inside_a_function():
    late = [f"{_name(p)}:{line} imports {t}" for p in MODULES for t, top, line in _imports(p)
            if t.startswith("mglwkd_lite") and not top]
    assert not late, "imports inside functions hide a cycle: " + "; ".join(late)


def test_imports_run_one_way():
    graph = _graph()
    seen: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, set())):
            if nxt not in graph:
                continue
            if seen.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in seen:
                visit(nxt, stack + [nxt])
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node, [node])


def test_stage_modules_never_import_the_presentation_or_the_command_line():
    graph = _graph()
    upward = [f"{m} imports {t}" for m, targets in graph.items() for t in targets
              if not m.startswith(("mglwkd_lite.report", "mglwkd_lite.cli", "mglwkd_lite.__main__"))
              and t.startswith(("mglwkd_lite.report", "mglwkd_lite.cli"))]
    assert not upward, upward


def test_figures_are_drawn_only_in_report():
    drawing = [f"{_name(p)}:{line}" for p in MODULES for t, _, line in _imports(p)
               if t.split(".")[0] == "matplotlib" and not _name(p).startswith("mglwkd_lite.report")]
    assert not drawing, f"matplotlib imported outside mglwkd_lite.report: {drawing}"


# ------------------------------------------------------------------------------------ __all__

REEXPORT = re.compile(r"re-export", re.IGNORECASE)
PACKAGE_REEXPORTS = re.compile(r"re-export|available from here", re.IGNORECASE)


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements that run when the module is imported: its body, and the bodies of its top-level
    ``if`` / ``try`` / ``with`` blocks (not functions or classes)."""
    out = []
    for node in body:
        out.append(node)
        for field in ("body", "orelse", "finalbody"):
            if isinstance(node, (ast.If, ast.Try, ast.With)) and field in node._fields:
                out += _top_level(getattr(node, field))
        for handler in getattr(node, "handlers", []):
            out += _top_level(handler.body)
    return out


def _own_names(tree: ast.Module) -> set[str]:
    """Names the module itself binds at top level: assignments (``X = ...``, ``X: T = ...``) and
    ``def`` / ``class`` statements, private ones included."""
    names = set()
    for node in _top_level(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
        for target in targets:
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def _import_sources(path: Path, tree: ast.Module) -> dict[str, tuple[str, ast.ImportFrom]]:
    """Name bound by a top-level ``from ... import`` -> (the module it comes from, the statement)."""
    module, is_package = _name(path), path.name == "__init__.py"
    return {a.asname or a.name: (_resolve(module, is_package, node), node)
            for node in _top_level(tree.body) if isinstance(node, ast.ImportFrom) for a in node.names}


def _docstring(dotted: str) -> str:
    try:
        return inspect.getdoc(importlib.import_module(dotted)) or ""
    except ImportError:
        return ""


def _documented_reexport(path: Path, tree: ast.Module, source: str, node: ast.ImportFrom) -> bool:
    """Whether the module (or the one it imports from) says that it re-exports names of ``source``.

    Any one of: a comment saying "re-export" on the lines of the import statement; the module's
    docstring saying "re-export" and naming ``source``; ``source``'s docstring saying "re-export" and
    naming this module; or, for a package, its docstring saying that the names of its submodules are
    re-exported (or "available from here") and ``source`` being one of its submodules.
    """
    me = _name(path)
    lines = path.read_text(encoding="utf-8").splitlines()[node.lineno - 1:node.end_lineno]
    if any("#" in line and REEXPORT.search(line.split("#", 1)[1]) for line in lines):
        return True
    mine, theirs = ast.get_docstring(tree) or "", _docstring(source)
    if REEXPORT.search(mine) and source in mine:
        return True
    if REEXPORT.search(theirs) and me in theirs:
        return True
    return path.name == "__init__.py" and source.startswith(me + ".") and bool(PACKAGE_REEXPORTS.search(mine))


def all_problems(path: Path) -> dict[str, list[str]]:
    """What keeps a module's ``__all__`` from listing exactly its public names (empty when nothing).

    Public names are the functions and classes the module defines (``obj.__module__`` is the module;
    imported ones are not its own), the constants it assigns at top level (from its AST), and the
    names it re-exports *and documents as re-exported* (:func:`_documented_reexport`). Names with a
    leading underscore are private and never required.
    """
    name = _name(path)
    module = importlib.import_module(name)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    listed = getattr(module, "__all__", None)
    if listed is None:
        return {"no __all__": [name]}
    defined = {k for k, v in vars(module).items() if not k.startswith("_")
               and (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == name}
    own = _own_names(tree)
    defined |= {n for n in own if not n.startswith("_")}  # constants: top-level assignments
    sources = _import_sources(path, tree)
    problems = {
        "listed in __all__ but not in the module": sorted(n for n in set(listed) if not hasattr(module, n)),
        "listed in __all__ twice": sorted({n for n in listed if list(listed).count(n) > 1}),
        "defined here and public, but not in __all__": sorted(defined - set(listed)),
        "re-exported in __all__ without saying so": sorted(
            n for n in set(listed) - own - defined
            if hasattr(module, n) and not (n in sources and _documented_reexport(path, tree, *sources[n]))),
    }
    return {k: v for k, v in problems.items() if v}


# Modules that others are editing now: their gaps are recorded here, exactly, instead of fixed. The
# strict xfail turns into a failure as soon as a module is fixed (then delete its entry), and
# test_the_recorded_all_gaps_are_exact fails as soon as a gap changes.
ALL_GAPS_LEFT_TO_THEIR_EDITORS: dict[str, dict[str, list[str]]] = {
}


def _all_params() -> list:
    params = []
    for path in MODULES:
        if path.name == "__main__.py":
            continue
        gap = ALL_GAPS_LEFT_TO_THEIR_EDITORS.get(_name(path))
        marks = [pytest.mark.xfail(strict=True, reason=f"known __all__ gap of {_name(path)}: {gap}")] if gap else []
        params.append(pytest.param(path, marks=marks,
                                   id=str(path.relative_to(PACKAGE)) + ("-known-all-gap" if gap else "")))
    return params


@pytest.mark.parametrize("path", _all_params())
def test_all_lists_exactly_the_public_names(path):
    problems = all_problems(path)
    assert not problems, f"{path.relative_to(PACKAGE.parent)}: " + "; ".join(
        f"{what}: {', '.join(names)}" for what, names in problems.items())


def test_the_recorded_all_gaps_are_exact():
    by_name = {_name(p): p for p in MODULES}
    for name, gap in ALL_GAPS_LEFT_TO_THEIR_EDITORS.items():
        assert all_problems(by_name[name]) == gap, f"{name}: the recorded __all__ gap changed"


def test_the_all_check_finds_what_it_documents(tmp_path, monkeypatch):
    """A module with each kind of gap, checked as if it were a module of the package."""
    package = tmp_path / "layout_sample"
    package.mkdir()
    (package / "__init__.py").write_text('"""Sample package."""\n__all__ = []\n')
    (package / "_source.py").write_text('"""Source."""\n__all__ = ["A", "B", "C"]\nA = B = C = 1\n')
    (package / "gappy.py").write_text(
        '"""A module with gaps."""\n'
        "from ._source import A\n"
        "from ._source import B  # re-exported: part of the interface\n"
        "from os.path import join\n"
        '__all__ = ["A", "B", "f", "f", "GHOST", "__version__"]\n'
        '__version__ = "1"\n'
        "LIMIT = 3\n_PRIVATE = 4\n"
        "def f():\n    pass\n"
        "class K:\n    pass\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert all_problems(package / "gappy.py") == {
            "listed in __all__ but not in the module": ["GHOST"],
            "listed in __all__ twice": ["f"],
            "defined here and public, but not in __all__": ["K", "LIMIT"],
            "re-exported in __all__ without saying so": ["A"],
        }
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == "layout_sample"]:
            del sys.modules[name]
