"""Every reference to the project's code in the notebooks and the book names something that exists.

Where references are looked for: the markdown *and* code cells of ``notebooks/*.ipynb`` (read as
JSON) and the pages ``book/*.md``. What counts as a reference, precisely:

1. **A code span that is a dotted name** (prose): ```name.attr```, ```name.attr(...)``` or
   ```Class.field="value"```, i.e. the span is ``a.b[.c...]``, optionally followed by a call's
   arguments in parentheses or by ``=`` and a value, and its first part ``a`` is a *root*:

   - ``mglwkd_lite``;
   - the last part of any module or subpackage of the package (``distill``, ``pipeline``,
     ``report``, ``checks``, ``results``, ...), so ``report.results.teacher_gaps`` and
     ``distill.DistillConfig`` are references; a part shared by several modules (``checks``:
     ``report.checks`` and ``deploy.checks``) resolves when any of them holds the rest;
   - a class that some module of the package lists in its ``__all__`` (``DistillConfig.weights``,
     ``TrainConfig.lr_steps``);
   - in a notebook, a name its code cells import from the package (``TP`` for
     ``from mglwkd_lite import topology as TP``).

   A span whose last part is a file extension (``checks.py``, ``band_spread.json``) is a file name,
   not a reference; a dotted name later in a span (``Normaliser.fit(train.x)``: ``train.x``) is an
   argument, not a reference.
2. **A Sphinx / MyST cross-reference role** of the Python domain (``{func}``, ``{class}``,
   ``{meth}``, ``{attr}``, ``{mod}``, ``{data}``, ``{const}``, ``{exc}``, ``{obj}``, also with a
   ``py:`` prefix) whose target (``~`` and ``Title <target>`` forms understood) starts with a root
   as in 1. Roles that name other libraries (``{func}`numpy.mean```) are not checked.
3. **Code** (code cells, and ``python`` / ``py`` / ``ipython3`` fences in markdown), parsed with
   :mod:`ast` (IPython magics and shell lines blanked): every ``import mglwkd_lite...`` and
   ``from mglwkd_lite... import name``, and every attribute chain ``x.y.z`` (a call ``x.y(...)`` or
   a plain access) whose ``x`` is a name such an import binds, unless that name is also assigned
   in the same notebook or fence.

How a reference resolves: part by part with :func:`getattr`, importing ``module.part`` with
:mod:`importlib` when a module does not hold ``part`` as an attribute (``report.results``). A part
read from a module must be public there -- in its ``__all__``, or a submodule -- so a name a module
merely imports for its own use (``pipeline.PIConfig``) does not count as that module's. A part read
from a class may also be a dataclass field without a default.

Every unresolved reference is reported with its file, its cell (index and id) or line, and the
reference as written.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = REPO_ROOT / "mglwkd_lite"
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
PAGES = sorted((REPO_ROOT / "book").glob("*.md"))

FILE_EXTENSIONS = {
    "py", "json", "csv", "npz", "npy", "yml", "yaml", "toml", "md", "ipynb", "cfg", "txt", "pt", "pth",
    "onnx", "html", "png", "svg", "pdf", "bib", "cff", "ini", "sh", "zip", "gz", "tar", "log",
}
PY_ROLES = {"func", "class", "meth", "attr", "mod", "data", "const", "exc", "obj"}
CODE_FENCES = {"python", "py", "python3", "ipython", "ipython3"}

DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
SPAN = re.compile(r"(?<![`}\w])`([^`\n]+)`(?!`)")  # a one-backtick code span, not a role's target
SPAN_REFERENCE = re.compile(rf"^({DOTTED})(?:\(.*\)|\s*=.*)?$", re.DOTALL)
ROLE = re.compile(r"\{(?:py:)?([a-z]+)\}`([^`]+)`")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})\s*\{?(?P<lang>[\w-]*)\}?[^\n]*\n"
                   r"(?P<body>.*?)^(?P=indent)(?P=ticks)[ \t]*$", re.DOTALL | re.MULTILINE)


class Reference(NamedTuple):
    where: str  # "notebooks/04_workspace.ipynb, markdown cell 10 (id ...), line 3"
    text: str  # as written
    dotted: str  # what is resolved
    roots: tuple[str, ...]  # the candidate modules or objects of the first part, dotted


# ---------------------------------------------------------------------------------------------- roots


def _module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[-1] != "__main__":
            names.append(".".join(parts))
    return names


@lru_cache(maxsize=None)
def _roots() -> dict[str, tuple[str, ...]]:
    """First part of a reference -> the dotted paths it may stand for (modules, then classes)."""
    roots: dict[str, list[str]] = {"mglwkd_lite": ["mglwkd_lite"]}
    for name in _module_names():
        roots.setdefault(name.rsplit(".", 1)[-1], []).append(name)
    classes: dict[str, list[str]] = {}
    for name in _module_names():
        module = importlib.import_module(name)
        for public in getattr(module, "__all__", ()):
            obj = getattr(module, public, None)
            if inspect.isclass(obj) and f"{obj.__module__}.{obj.__qualname__}" not in classes.get(public, []):
                classes.setdefault(public, []).append(f"{obj.__module__}.{obj.__qualname__}")
    for cls, paths in classes.items():
        roots.setdefault(cls, []).extend(paths)
    return {k: tuple(dict.fromkeys(v)) for k, v in roots.items()}


# ---------------------------------------------------------------------------------------------- resolving


def _is_public(module: Any, name: str) -> bool:
    return name in getattr(module, "__all__", ()) or inspect.ismodule(getattr(module, name, None))


def _step(obj: Any, part: str) -> tuple[bool, Any, str]:
    """(found, next object, why not) for one part of a dotted name."""
    if inspect.ismodule(obj):
        if not hasattr(obj, part):
            try:
                importlib.import_module(f"{obj.__name__}.{part}")
            except ModuleNotFoundError:
                return False, None, f"{obj.__name__} has no {part!r}"
        if not _is_public(obj, part):
            home = getattr(getattr(obj, part), "__module__", None)
            return False, None, (f"{part!r} is not public in {obj.__name__} (not in its __all__"
                                 + (f"; it is defined in {home}" if home and home != obj.__name__ else "") + ")")
        return True, getattr(obj, part), ""
    if hasattr(obj, part):
        return True, getattr(obj, part), ""
    if dataclasses.is_dataclass(obj) and part in {f.name for f in dataclasses.fields(obj)}:
        return True, None, ""  # a field without a default: no class attribute, still a real name
    name = getattr(obj, "__qualname__", type(obj).__name__)
    return False, None, f"{name} has no attribute {part!r}"


def _object(dotted: str) -> Any:
    """The module or object at ``dotted`` (a root, known to exist): its longest importable prefix, then attributes."""
    names = dotted.split(".")
    for i in range(len(names), 0, -1):
        try:
            obj = importlib.import_module(".".join(names[:i]))
        except ModuleNotFoundError:
            continue
        for part in names[i:]:
            obj = getattr(obj, part)
        return obj
    raise ModuleNotFoundError(dotted)


def resolve(ref: Reference) -> str:
    """'' when the reference resolves under one of its roots, else why not (under each root)."""
    if not ref.roots:
        return ref.text
    _, *rest = ref.dotted.split(".")
    reasons = []
    for root in ref.roots:
        obj, ok, why = _object(root), True, ""
        for part in rest:
            ok, obj, why = _step(obj, part)
            if not ok:
                break
        if ok:
            return ""
        reasons.append(why if len(ref.roots) == 1 else f"as {root}: {why}")
    return "; ".join(reasons)


# ---------------------------------------------------------------------------------------------- finding


def _prose_references(text: str, where: str, aliases: dict[str, str]) -> Iterator[Reference]:
    """References of kinds 1 and 2 in markdown ``text`` (code fences are left to :func:`_code_references`)."""
    prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for pattern in (SPAN, ROLE):
        for match in pattern.finditer(prose):
            if pattern is SPAN:
                m = SPAN_REFERENCE.match(match.group(1).strip())
                if not m:
                    continue
                dotted = m.group(1)
            else:
                if match.group(1) not in PY_ROLES:
                    continue
                target = re.sub(r"^.*<(.+)>$", r"\1", match.group(2).strip(), flags=re.DOTALL).lstrip("~.!")
                if not re.fullmatch(rf"{DOTTED}|[A-Za-z_]\w*", target):
                    continue
                dotted = target
            if "." in dotted and dotted.rsplit(".", 1)[-1] in FILE_EXTENSIONS:
                continue
            first = dotted.split(".")[0]
            roots = tuple(dict.fromkeys(((aliases[first],) if first in aliases else ()) + _roots().get(first, ())))
            if roots:
                line = prose.count("\n", 0, match.start()) + 1
                yield Reference(f"{where}, line {line}", match.group(0), dotted, roots)


def _parse(source: str) -> ast.Module:
    """The code with IPython magics and shell lines blanked (line numbers kept), each node knowing its parent."""
    lines = ["" if re.match(r"\s*[%!]", line) else line for line in source.splitlines()]
    tree = ast.parse("\n".join(lines))
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child.parent = node  # type: ignore[attr-defined]
    return tree


def _imports(tree: ast.AST) -> tuple[list[tuple[ast.stmt, str, str, str]], set[str]]:
    """(node, bound name, what the name is bound to, what is imported) for every import from the
    package, and every name assigned (or defined) in ``tree``."""
    bound, assigned = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                if top == "mglwkd_lite":
                    bound.append((node, a.asname or top, a.name if a.asname else top, a.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").split(".")[0] == "mglwkd_lite":
                for a in node.names:
                    if a.name != "*":
                        bound.append((node, a.asname or a.name, f"{node.module}.{a.name}", f"{node.module}.{a.name}"))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            assigned.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            assigned.add(node.name)
        elif isinstance(node, ast.arg):
            assigned.add(node.arg)
    return bound, assigned


def _chain(node: ast.Attribute) -> str | None:
    """``x.y.z`` for an attribute chain on a name, None for one on a call, a subscript, ..."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def _code_references(blocks: list[tuple[str, str]]) -> Iterator[Reference]:
    """References of kind 3 in ``blocks`` of ``(where, source)`` that share one namespace (a notebook)."""
    trees = []
    for where, source in blocks:
        try:
            trees.append((where, source, _parse(source)))
        except SyntaxError as error:
            yield Reference(f"{where}, line {error.lineno}", f"code that does not parse ({error.msg})", "", ())
    names: dict[str, str] = {}
    assigned: set[str] = set()
    for where, source, tree in trees:
        bound, store = _imports(tree)
        assigned |= store
        for node, name, target, imported in bound:
            names[name] = target
            text = ast.get_source_segment(source, node) or imported
            yield Reference(f"{where}, line {node.lineno}", text, imported, ("mglwkd_lite",))
    names = {k: v for k, v in names.items() if k not in assigned}
    for where, _, tree in trees:
        seen = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and not isinstance(node.parent, ast.Attribute):
                dotted = _chain(node)
                if dotted and dotted.split(".")[0] in names and (node.lineno, dotted) not in seen:
                    seen.add((node.lineno, dotted))
                    yield Reference(f"{where}, line {node.lineno}", dotted, dotted, (names[dotted.split(".")[0]],))


def _fences(text: str, where: str) -> list[tuple[str, str]]:
    """``(where, code)`` of every Python fence in markdown ``text``, the code padded to its line in ``text``."""
    blocks = []
    for m in FENCE.finditer(text):
        if m.group("lang").lower() in CODE_FENCES or m.group("lang") == "code-cell":
            first = text.count("\n", 0, m.start("body"))
            body = re.sub(r"^(:\w[^\n]*\n)+", lambda b: "\n" * b.group(0).count("\n"), m.group("body"))
            blocks.append((f"{where}, code fence at line {first}", "\n" * first + body))
    return blocks


def _cell_where(path: Path, index: int, cell: dict) -> str:
    ident = f" (id {cell['id']})" if "id" in cell else ""
    return f"{path.relative_to(REPO_ROOT)}, {cell['cell_type']} cell {index}{ident}"


def notebook_references(path: Path) -> list[Reference]:
    """Every reference in a notebook: its code cells (one namespace), then its markdown cells."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [(_cell_where(path, i, c), "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "code"]
    refs = list(_code_references(code))
    aliases: dict[str, str] = {}
    for _, source in code:
        try:
            aliases.update({name: target for _, name, target, _ in _imports(_parse(source))[0]})
        except SyntaxError:
            continue
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            text, where = "".join(cell["source"]), _cell_where(path, i, cell)
            refs += _prose_references(text, where, aliases)
            for fence_where, body in _fences(text, where):
                refs += _code_references([(fence_where, body)])
    return refs


def page_references(path: Path) -> list[Reference]:
    """Every reference in a page of the book: its prose, then its Python fences (one namespace each)."""
    text = path.read_text(encoding="utf-8")
    where = str(path.relative_to(REPO_ROOT))
    refs = list(_prose_references(text, where, {}))
    for fence_where, body in _fences(text, where):
        refs += _code_references([(fence_where, body)])
    return refs


# ---------------------------------------------------------------------------------------------- tests


def _unresolved(refs: list[Reference]) -> list[str]:
    out = []
    for ref in refs:
        why = resolve(ref)
        if why:
            out.append(f"{ref.where}: {ref.text} -> {why}")
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_reference_in_a_notebook_resolves(path):
    refs = notebook_references(path)
    unresolved = _unresolved(refs)
    assert not unresolved, f"{len(unresolved)} stale reference(s) to the package:\n" + "\n".join(unresolved)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_reference_in_a_book_page_resolves(path):
    unresolved = _unresolved(page_references(path))
    assert not unresolved, f"{len(unresolved)} stale reference(s) to the package:\n" + "\n".join(unresolved)


def test_the_notebooks_and_pages_do_reference_the_package():
    """The patterns find references at all (a broken pattern would pass every file silently)."""
    counts = {p.name: len(notebook_references(p)) for p in NOTEBOOKS}
    assert all(counts.values()), f"no references found in {[n for n, c in counts.items() if not c]}"
    prose = [r for p in NOTEBOOKS for r in notebook_references(p) if "markdown cell" in r.where]
    assert len(prose) >= 20, f"only {len(prose)} references found in the notebooks' markdown"


SAMPLE = """\
The wiring is `pipeline.distill_or_load(method, data)` and `report.results.teacher_gaps`;
`mglwkd_lite.train.fit` trains, {func}`mglwkd_lite.data.prepare` and {func}`~mglwkd_lite.stats.paired_comparison`
prepare. Not references: `Normaliser.fit(train.x)`'s argument, `checks.py`, `torch.nn.Linear`,
{func}`numpy.mean`. Stale: `distill.workspace_maps`, `pipeline.PIConfig`, `DistillConfig.no_such_field`,
{class}`mglwkd_lite.train.NoSuchClass`.

```python
from mglwkd_lite import distill as K
from mglwkd_lite.pipeline import no_such_function
K.DistillConfig(name="x").weights
K.distill_or_load(1)
```
"""


def test_the_patterns_find_what_they_document():
    refs = list(_prose_references(SAMPLE, "page.md", {})) + list(_code_references(_fences(SAMPLE, "page.md")))
    found = {r.dotted for r in refs}
    assert {"pipeline.distill_or_load", "report.results.teacher_gaps", "mglwkd_lite.train.fit",
            "mglwkd_lite.data.prepare", "Normaliser.fit", "distill.workspace_maps", "pipeline.PIConfig",
            "DistillConfig.no_such_field", "mglwkd_lite.train.NoSuchClass", "mglwkd_lite.distill",
            "mglwkd_lite.pipeline.no_such_function", "K.DistillConfig", "K.distill_or_load"} <= found
    assert not found & {"train.x", "checks.py", "torch.nn.Linear", "numpy.mean"}
    stale = {r.dotted for r in refs if resolve(r)}
    assert stale == {"distill.workspace_maps", "pipeline.PIConfig", "DistillConfig.no_such_field",
                     "mglwkd_lite.train.NoSuchClass", "mglwkd_lite.pipeline.no_such_function",
                     "K.distill_or_load"}, stale
    why = {r.dotted: resolve(r) for r in refs}
    assert "not public in mglwkd_lite.pipeline" in why["pipeline.PIConfig"]
    assert "mglwkd_lite.distill has no 'workspace_maps'" in why["distill.workspace_maps"]
