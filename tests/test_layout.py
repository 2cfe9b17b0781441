"""The shape of the package: small modules, imports that run one way, presentation kept in report/.

See the package map in book/reproducing.md.
"""

from __future__ import annotations

import ast
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


def test_every_module_declares_its_public_names():
    missing = [_name(p) for p in MODULES
               if p.name not in ("__main__.py",) and "__all__" not in p.read_text(encoding="utf-8")]
    assert not missing, f"modules without __all__: {missing}"
