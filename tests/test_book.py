"""The book: table of contents, configuration, citations, committed notebooks, nbval sanitising,
and the rendered pages checked in a real browser (headless Chromium).

The browser check builds the book from the committed notebooks. To check a book built otherwise,
for example by ``make book`` from freshly executed notebooks, name its HTML folder in
``MGLWKD_BOOK_HTML``: ``MGLWKD_BOOK_HTML=_build/html pytest tests/test_book.py -m browser`` (or
``make check-book``, the same check as a script).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import browser_check
from browser_check import broken_internal_links, notebook_figure_count, toc_files

REPO_ROOT = Path(__file__).resolve().parents[1]

TOC = toc_files(REPO_ROOT / "_toc.yml")
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
OUTLINE = ("overview", "prerequisites", "imports", "summary", "what's next", "references")
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def _source(path: Path) -> Path:
    for suffix in (".md", ".ipynb"):
        if (path.parent / (path.name + suffix)).exists():
            return path.parent / (path.name + suffix)
    raise FileNotFoundError(path)


def _load_nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _markdown_text(path: Path) -> str:
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    return "\n".join("".join(c["source"]) for c in _load_nb(path)["cells"] if c["cell_type"] == "markdown")


def _bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", (REPO_ROOT / "references.bib").read_text(encoding="utf-8"), re.M))


# --------------------------------------------------------------------------------------------------
# Table of contents and configuration
# --------------------------------------------------------------------------------------------------


def test_toc_root_is_the_intro():
    assert TOC[0] == "book/intro"


@pytest.mark.parametrize("entry", TOC)
def test_every_toc_entry_exists(entry):
    matches = [p for p in (REPO_ROOT / f"{entry}.md", REPO_ROOT / f"{entry}.ipynb") if p.exists()]
    assert len(matches) == 1, f"_toc.yml lists {entry!r}: expected exactly one of {entry}.md / {entry}.ipynb"


def test_every_notebook_and_page_is_in_the_toc():
    listed = set(TOC)
    pages = [p for p in sorted((REPO_ROOT / "book").glob("*.md"))] + NOTEBOOKS
    missing = [str(p.relative_to(REPO_ROOT)) for p in pages if str(p.relative_to(REPO_ROOT).with_suffix("")) not in listed]
    assert not missing, f"not in _toc.yml (the book would skip them): {missing}"


def test_notebooks_appear_in_pipeline_order():
    order = [e for e in TOC if e.startswith("notebooks/")]
    assert order == sorted(order), f"notebooks in _toc.yml must follow their file (pipeline) order: {order}"


def test_config_renders_committed_outputs_and_fails_on_errors():
    cfg = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert cfg["execute"]["execute_notebooks"] == "off"  # make book runs papermill first
    assert cfg["execute"]["raise_on_error"] is True
    assert cfg["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert cfg["bibtex_bibfiles"] == ["references.bib"]
    assert cfg["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert cfg["repository"]["branch"] == "main" and cfg["repository"]["url"].startswith("https://")
    for pattern in (".venv", "_build", ".cache", "README.md", "tests", "benchmarks", "requirements", "results"):
        assert pattern in cfg["exclude_patterns"], pattern
    for name, folder in cfg["sphinx"].get("local_extensions", {}).items():
        assert (REPO_ROOT / folder / f"{name}.py").is_file()


def test_makefile_builds_with_warnings_as_errors():
    make = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"jupyter-book build \. .*--warningiserror", make)
    assert re.search(r"papermill --cwd notebooks -p preset", make)


# --------------------------------------------------------------------------------------------------
# Bibliography and credits
# --------------------------------------------------------------------------------------------------


def test_bibliography_entries_are_complete():
    text = (REPO_ROOT / "references.bib").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=@)", text[text.index("@"):])
    assert len(entries) == len(_bib_keys()) >= 16
    for entry in entries:
        key = re.match(r"@\w+\{([^,]+),", entry).group(1)
        for field in ("author", "title", "year"):
            assert re.search(rf"^\s*{field}\s*=", entry, re.M), f"{key}: no {field}"
    for key in ("hong2025mglwkd", "reyesortiz2016hapt", "mateysanz2023spsw", "adams2017persistence",
                "baars1988gwt", "locatello2020slot", "hinton2015kd", "zagoruyko2016wrn"):
        assert key in _bib_keys()
    assert "10.1109/TNNLS.2025.3640274" in text


@pytest.mark.parametrize("entry", TOC)
def test_every_citation_resolves(entry):
    text = _markdown_text(_source(REPO_ROOT / entry))
    cited = {k.strip() for group in CITE.findall(text) for k in group.split(",")}
    unknown = cited - _bib_keys()
    assert not unknown, f"{entry}: cited but not in references.bib: {sorted(unknown)}"


def test_exactly_one_bibliography_directive():
    # Two {bibliography} directives listing the same keys give duplicate-citation warnings.
    sources = [REPO_ROOT / "book" / "references.md", *NOTEBOOKS,
               *(p for p in (REPO_ROOT / "book").glob("*.md") if p.name != "references.md")]
    pages = [p.relative_to(REPO_ROOT).as_posix() for p in sources if "{bibliography}" in _markdown_text(p)]
    assert pages == ["book/references.md"], (
        f"only book/references.md may hold a {{bibliography}} directive (the others cite with {{cite}}): {pages}")


def test_intro_credits_the_paper_and_both_data_sets_with_licences():
    intro = (REPO_ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    for needle in ("hong2025mglwkd", "reyesortiz2016hapt", "mateysanz2023spsw", "make book", "make test", "Binder"):
        assert needle in intro
    assert intro.count("CC BY 4.0") >= 2


# --------------------------------------------------------------------------------------------------
# Committed notebooks
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_executed_top_to_bottom(path):
    cells = [c for c in _load_nb(path)["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in cells]
    assert cells and None not in counts, f"{path.name}: unexecuted code cells (run it with papermill)"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: not run top to bottom once: {counts}"
    errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: committed with an error output: {errors[0].get('ename')}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_quick_preset_parameter_cell(path):
    cells = [c for c in _load_nb(path)["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    assert re.search(r"""^preset\s*=\s*["']quick["']""", "".join(cells[0]["source"]), re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_outline(path):
    nb = _load_nb(path)
    headings = [line.lstrip("#").strip().lower() for c in nb["cells"] if c["cell_type"] == "markdown"
                for line in "".join(c["source"]).splitlines() if line.startswith("#")]
    assert headings and nb["cells"][0]["source"][0].startswith("# "), f"{path.name}: first cell must hold the title"
    # "Resources and references" (the Pythia template's wording) counts as References.
    def has(heading: str, part: str) -> bool:
        return heading.startswith(part) or (part == "references" and heading.endswith(part))

    missing = [h for h in OUTLINE if not any(has(x, h) for x in headings)]
    assert not missing, f"{path.name}: outline sections missing: {missing}"
    positions = [next(i for i, x in enumerate(headings) if has(x, h)) for h in OUTLINE]
    assert positions == sorted(positions), f"{path.name}: outline sections out of order"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


# --------------------------------------------------------------------------------------------------
# nbval sanitising
# --------------------------------------------------------------------------------------------------


def _sanitize(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((REPO_ROOT / "nbval_sanitize.cfg").read_text(encoding="utf-8"))
    assert len(patterns) >= 6
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize(
    ("here", "there"),
    [
        ("<Figure at 0x7f3a2b1c4d50>", "<Figure at 0x55d0c0ffee12>"),
        ("100%|##########| 10/10 [00:01<00:00,  9.52it/s]", "100%|##########| 10/10 [00:03<00:00,  3.10it/s]"),
        ("PIs computed in 12.3 s (1,234 windows/s)", "PIs computed in 4.1 s (3,210 windows/s)"),
        ("latency 0.42 ms per window", "latency 1.7 ms per window"),
        ("run at 2025-11-25 19:33:20", "run at 2026-01-02T08:00:01"),
        ("cache: /tmp/pytest-of-root/pytest-3/cache/pi_ab12.npz", "cache: /tmp/tmpx81k2/pi_cd34.npz"),
        ("elapsed 0:01:23", "elapsed 0:02:05"),
        ('#T_580ad_row3_col2 { <td id="T_580ad_row0_col1">', '#T_3935b_row3_col2 { <td id="T_3935b_row0_col1">'),
    ],
)
def test_sanitizer_removes_volatile_output(here, there):
    assert _sanitize(here) == _sanitize(there)


@pytest.mark.parametrize(
    "stable",
    ["x (7352, 3, 128) float32", "accuracy 0.9132, macro F1 0.9087", "50 Hz, 30 subjects, 61 recordings",
     "sha256 b95d262ea039261a", "WALKING  1226  496", "parameters: 61,374"],
)
def test_sanitizer_keeps_stable_output(stable):
    assert _sanitize(stable) == stable


# --------------------------------------------------------------------------------------------------
# The rendered book in a real browser
# --------------------------------------------------------------------------------------------------


def _chromium() -> str:
    exe = browser_check.find_chromium()
    if exe is None:
        pytest.fail("headless Chromium is needed for the browser check: install Debian's 'chromium' "
                    "package (the Makefile target 'browser-deps' does it), or deselect with -m 'not browser'")
    return exe


def _jupyter_book() -> str:
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else (shutil.which("jupyter-book") or "jupyter-book")


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    """The book built from the committed notebooks (no execution), warnings as errors; or the built
    HTML folder named by ``MGLWKD_BOOK_HTML``."""
    given = os.environ.get("MGLWKD_BOOK_HTML")
    if given:
        html = Path(given).resolve()
        assert (html / "index.html").is_file(), f"MGLWKD_BOOK_HTML={given}: no index.html there (run make book)"
        return html
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        [_jupyter_book(), "build", str(REPO_ROOT), "--path-output", str(out), "--warningiserror", "--keep-going"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"jupyter-book build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    html = out / "_build" / "html"
    assert (html / "index.html").is_file()
    return html


@pytest.fixture(scope="module")
def browser_reports(built_book) -> dict[str, browser_check.PageReport]:
    exe = _chromium()
    shots = REPO_ROOT / "_build" / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)
    reports = browser_check.check_book(built_book, REPO_ROOT, shots, executable=exe)
    return {r.page: r for r in reports}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("page", TOC)
def test_page_renders_in_chromium(browser_reports, page):
    report = browser_reports[page]
    assert not report.errors, f"{page} in Chromium:\n  " + "\n  ".join(report.errors)
    assert report.status == 200 and report.title
    assert report.screenshot is not None and report.screenshot.is_file()
    ipynb = REPO_ROOT / f"{page}.ipynb"
    if ipynb.exists():
        assert report.output_images >= notebook_figure_count(ipynb)


@pytest.mark.browser
@pytest.mark.slow
def test_every_toc_page_has_a_screenshot(browser_reports):
    shots = sorted(p.name for p in (REPO_ROOT / "_build" / "screenshots").glob("*.png"))
    assert shots == sorted(page.replace("/", "__") + ".png" for page in TOC)


@pytest.mark.browser  # shares the built book with the browser check
@pytest.mark.slow
def test_built_book_has_no_broken_internal_links(built_book):
    problems = broken_internal_links(built_book)
    assert not problems, "\n".join(problems[:30])
    for page in TOC:
        assert (built_book / f"{page}.html").is_file()


# --------------------------------------------------------------------------------------------------
# The checks themselves catch what they are meant to catch
# --------------------------------------------------------------------------------------------------


def test_link_checker_reports_missing_files_and_anchors(tmp_path):
    (tmp_path / "a.html").write_text('<p id="top"><a href="b.html#there">b</a> <a href="#top">t</a>'
                                     '<img src="img/missing.png"> <a href="https://example.org/x">x</a></p>')
    (tmp_path / "b.html").write_text('<p id="here"><a href="a.html#nowhere">a</a> <a href="c.html">c</a></p>')
    problems = broken_internal_links(tmp_path)
    assert len(problems) == 4, problems
    assert any("img/missing.png" in p for p in problems)
    assert any("'there'" in p for p in problems) and any("'nowhere'" in p for p in problems)
    assert any("c.html" in p for p in problems)


@pytest.mark.browser
def test_browser_check_catches_a_broken_page(tmp_path):
    exe = _chromium()
    site = tmp_path / "site"
    (site / "notebooks").mkdir(parents=True)
    (site / "notebooks" / "bad.html").write_text(textwrap.dedent("""\
        <html><head><title>bad</title></head><body><main>
        <p>Some text long enough to count as a page body for the check to look at.</p>
        <div class="cell_output"><img src="missing.png" alt="a figure that is not there"></div>
        <div class="output traceback"><pre>ValueError: boom</pre></div>
        <div class="cell"><div class="cell_output"><div class="output stderr"><pre>/tmp/ipykernel_1/2.py:4: TqdmWarning: IProgress not found</pre></div></div></div>
        <div class="cell"><div class="cell_output"><pre>/tmp/x.py:1: UserWarning: printed on stdout</pre></div></div>
        <div class="cell tag_shows-warning"><div class="cell_output"><div class="output stderr"><pre>RepairWarning: repaired input (meant to be shown)</pre></div></div></div>
        <script>console.error("something went wrong"); undefinedFunction();</script>
        </main></body></html>"""))
    server, origin = browser_check.serve(site)
    try:
        with browser_check.Browser(exe, tmp_path / "profile") as browser:
            report = browser_check.check_page(browser, origin + "notebooks/bad.html", "notebooks/bad", origin,
                                              tmp_path / "bad.png", expected_figures=1)
    finally:
        server.shutdown()
        server.server_close()
    text = "\n".join(report.errors)
    assert "image not loaded" in text and "missing.png" in text
    assert "error output cell" in text and "boom" in text
    assert "console.error: something went wrong" in text
    assert "undefinedFunction" in text
    assert "0 output figures shown, the notebook holds 1" in text
    assert "stderr output: /tmp/ipykernel_1/2.py:4: TqdmWarning: IProgress not found" in text
    assert "warning or traceback text in an output: /tmp/x.py:1: UserWarning: printed on stdout" in text
    assert "meant to be shown" not in text
    assert report.screenshot is not None and report.screenshot.stat().st_size > 1000


@pytest.mark.parametrize(
    "text",
    ["Traceback (most recent call last):\n  File ...", "x.py:3: UserWarning: careful", "Warning: deprecated",
     "WARNING:root:something", "ValueError: boom", "onnxruntime.InvalidArgumentException: bad"],
)
def test_stray_text_is_found_in_outputs(text):
    problems = browser_check.stray_output_problems([{"tags": [], "stderr": [], "text": "ok\n" + text}])
    assert len(problems) == 1 and problems[0].startswith("warning or traceback text in an output: ")


@pytest.mark.parametrize(
    "text",
    ["accuracy 0.9132, macro F1 0.9087", "signal teacher accuracy in [0.80, 0.92]: yes", "mean absolute error: 0.3",
     "warnings: 0", "RepairWarning count 2", "no Error here"],
)
def test_ordinary_output_is_not_stray(text):
    assert browser_check.stray_output_problems([{"tags": [], "stderr": [], "text": text}]) == []


def test_any_stderr_output_is_stray_unless_the_cell_is_tagged():
    out = {"tags": [], "stderr": ["a message on stderr\n"], "text": "a message on stderr"}
    assert browser_check.stray_output_problems([out]) == ["stderr output: a message on stderr"]
    for tag in browser_check.EXPECTED_OUTPUT_TAGS:
        assert browser_check.stray_output_problems([dict(out, tags=[tag, "other"])]) == []
    assert browser_check.stray_output_problems([{"tags": [], "stderr": ["  \n"], "text": ""}]) == []


@pytest.mark.browser  # shares the built book with the browser check
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_pages_launch_on_binder(built_book, path):
    cfg = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo = cfg["repository"]["url"].removeprefix("https://github.com/")
    page = (built_book / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
    expected = f"https://mybinder.org/v2/gh/{repo}/{cfg['repository']['branch']}?urlpath=lab/tree/notebooks/{path.name}"
    assert expected in page, f"{path.name}: no Binder launch link {expected}"
