"""Open every page of the built book in headless Chromium and check what a reader would see.

Talks to Chromium over the DevTools protocol through ``--remote-debugging-pipe`` (messages are JSON
separated by NUL bytes on file descriptors 3 and 4), so no extra package is needed. For each page:

- it loads (HTTP 200, load event) from a local server on 127.0.0.1;
- no JavaScript exception, no ``console.error`` and no failed request to the local server;
- every image is loaded with a non-zero size, and a notebook page shows as many output figures as
  the notebook holds;
- no error output cell (traceback) is rendered;
- no cell output holds stray text: no stderr output, no warning (``UserWarning: ...``) and no
  traceback, except in a cell tagged as meant to show one (:data:`EXPECTED_OUTPUT_TAGS`);
- a full-page screenshot is written.

Requests to other hosts (for example the MathJax script from a CDN) are blocked so the check is the
same offline and online; they are listed as ``external`` but are not failures.

Run as a script after building the book: ``python tests/browser_check.py _build/html`` (``make
book`` executes the notebooks, then builds ``_build/html`` from what they printed; ``make
check-book`` checks that build).
"""

from __future__ import annotations

import base64
import fcntl
import functools
import http.server
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

EXPECTED_OUTPUT_TAGS = ("raises-exception", "shows-warning")
"""Cell tags of code meant to show a traceback or a warning; their outputs are not checked for
stray text (MyST-NB renders a cell's tags as ``tag_<name>`` classes)."""

STRAY_TEXT = re.compile(
    r"Traceback \(most recent call last\)"
    r"|\b(?:[A-Z]\w*)?Warning:"            # UserWarning: ..., TqdmWarning: ..., Warning: ...
    r"|\bWARNING\b"                         # the logging module's level name
    r"|\b[A-Z]\w*(?:Error|Exception): "     # ValueError: ... as printed by a traceback
)
"""Text that only a warning or an uncaught error prints."""


def find_chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


# --------------------------------------------------------------------------------------------------
# Table of contents and static checks of the built HTML
# --------------------------------------------------------------------------------------------------


def toc_files(toc_path: Path) -> list[str]:
    """Every ``file`` entry of a Jupyter Book ``_toc.yml`` (root first), without extension."""
    toc = yaml.safe_load(Path(toc_path).read_text(encoding="utf-8"))
    out = [str(toc["root"])]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                out.append(str(entry["file"]))
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts") or []:
        walk(part.get("chapters"))
    return [f.rsplit(".", 1)[0] if f.endswith((".md", ".ipynb")) else f for f in out]


class _LinkParser(HTMLParser):
    """Collects ``href``/``src`` values and element ids of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in ("href", "src") and tag in ("a", "img", "link", "script", "source", "iframe"):
                self.links.append((tag, value))
            elif name in ("id", "name"):
                self.ids.add(value)


def _parse_html(path: Path) -> _LinkParser:
    parser = _LinkParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def broken_internal_links(html_root: Path) -> list[str]:
    """Internal links of every built page whose target file (or ``#anchor``) does not exist.

    External schemes (http, https, mailto, data, javascript) are skipped; for links to another
    built page the fragment must be an ``id`` in that page.
    """
    html_root = Path(html_root)
    pages = sorted(p for p in html_root.rglob("*.html") if "_static" not in p.parts)
    parsed: dict[Path, _LinkParser] = {p.resolve(): _parse_html(p) for p in pages}
    problems = []
    for page, parser in parsed.items():
        for tag, link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("//"):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if parts.path.endswith("/") or (target.is_dir() and parts.path):
                target = target / "index.html"
            rel = page.relative_to(html_root.resolve())
            if not target.exists():
                problems.append(f"{rel}: <{tag}> {link!r} -> missing file")
                continue
            if parts.fragment and target.suffix == ".html" and tag == "a":
                ids = parsed.get(target)
                if ids is None:
                    ids = parsed[target] = _parse_html(target)
                if unquote(parts.fragment) not in ids.ids:
                    problems.append(f"{rel}: <a> {link!r} -> no element with id {parts.fragment!r}")
    return problems


def notebook_figure_count(ipynb: Path) -> int:
    """Number of image outputs (png, jpeg, svg) committed in a notebook."""
    nb = json.loads(Path(ipynb).read_text(encoding="utf-8"))
    count = 0
    for cell in nb.get("cells", []):
        if "remove-output" in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if any(k in data for k in ("image/png", "image/jpeg", "image/svg+xml")):
                count += 1
    return count


# --------------------------------------------------------------------------------------------------
# A minimal DevTools-protocol client over a pipe
# --------------------------------------------------------------------------------------------------


class CDPError(RuntimeError):
    """A DevTools command failed or timed out, or the browser went away."""


def _high_fd(fd: int) -> int:
    """Duplicate ``fd`` to a descriptor number of at least 10 and close the original."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    """Headless Chromium driven through ``--remote-debugging-pipe``."""

    def __init__(self, executable: str, user_data_dir: Path, width: int = 1280, height: int = 900):
        cmd_r, cmd_w = os.pipe()  # we write commands, the browser reads fd 3
        evt_r, evt_w = os.pipe()  # the browser writes fd 4, we read
        # Move the browser's ends above 9 so the shell can map them onto 3 and 4 without clashes.
        cmd_r, evt_w = (_high_fd(fd) for fd in (cmd_r, evt_w))
        args = [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--mute-audio",
            "--hide-scrollbars",
            # Only the local server is reachable: the check does not depend on the network.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--window-size={width},{height}",
            f"--user-data-dir={user_data_dir}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # The shell moves our two pipe ends to the descriptors Chromium expects (3 and 4).
        shell = f'exec "$@" 3<&{cmd_r} 4>&{evt_w} {cmd_r}<&- {evt_w}>&-'
        self._proc = subprocess.Popen(
            [shutil.which("bash") or "/bin/bash", "-c", shell, "bash", *args],
            pass_fds=(cmd_r, evt_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(cmd_r)
        os.close(evt_w)
        self._out = os.fdopen(cmd_w, "wb", buffering=0)
        self._in = os.fdopen(evt_r, "rb", buffering=0)
        self._next_id = 0
        self._lock = threading.Lock()
        self._pending: dict[int, queue.Queue] = {}
        self._events: queue.Queue = queue.Queue()
        self._stderr_tail: list[str] = []
        threading.Thread(target=self._reader, daemon=True).start()
        threading.Thread(target=self._stderr_reader, daemon=True).start()

    # -- plumbing ----------------------------------------------------------------------------------

    def _reader(self) -> None:
        buf = b""
        while True:
            chunk = self._in.read(65536)
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    box = self._pending.pop(msg["id"], None)
                    if box is not None:
                        box.put(msg)
                else:
                    self._events.put(msg)
        for box in list(self._pending.values()):
            box.put({"error": {"message": "browser closed the pipe"}})

    def _stderr_reader(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr_tail = (self._stderr_tail + [line.decode(errors="replace").rstrip()])[-30:]

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60.0) -> dict:
        """Send one command and wait for its result."""
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
            box: queue.Queue = queue.Queue()
            self._pending[msg_id] = box
            msg = {"id": msg_id, "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            try:
                self._out.write(json.dumps(msg).encode() + b"\0")
            except BrokenPipeError as exc:
                raise CDPError(f"browser exited; stderr tail:\n{self.stderr_tail()}") from exc
        try:
            reply = box.get(timeout=timeout)
        except queue.Empty as exc:
            raise CDPError(f"{method}: no reply within {timeout} s") from exc
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def events(self, timeout: float = 0.0):
        """Drain the events received so far (waiting up to ``timeout`` for the first one)."""
        out = []
        try:
            out.append(self._events.get(timeout=timeout) if timeout else self._events.get_nowait())
            while True:
                out.append(self._events.get_nowait())
        except queue.Empty:
            pass
        return out

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr_tail)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except CDPError:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        for fh in (self._out, self._in):
            try:
                fh.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------------------------------
# Checking one page
# --------------------------------------------------------------------------------------------------

_PAGE_STATE_JS = """
(async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) { img.loading = 'eager'; }
  await Promise.all(imgs.map(img => img.complete ? null :
      new Promise(ok => { img.addEventListener('load', ok); img.addEventListener('error', ok);
                          setTimeout(ok, 10000); })));
  const vis = el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
  return JSON.stringify({
    title: document.title,
    readyState: document.readyState,
    images: imgs.map(img => ({src: img.currentSrc || img.src, complete: img.complete,
                              naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
                              box: vis(img),
                              inOutput: !!img.closest('.cell_output, .output')})),
    errorCells: Array.from(document.querySelectorAll(
        '.output.traceback, .output.error, div.traceback, .cell_output .ansi-red-intense-fg'))
        .map(el => el.textContent.slice(0, 300)),
    outputs: Array.from(document.querySelectorAll('.cell_output')).map(out => {
      const cell = out.closest('.cell');
      return {tags: cell ? Array.from(cell.classList).filter(c => c.startsWith('tag_')).map(c => c.slice(4)) : [],
              stderr: Array.from(out.querySelectorAll('.output.stderr')).map(el => (el.querySelector('pre') || el).textContent),
              text: out.innerText};
    }),
    mainText: (document.querySelector('main, article, .bd-article') || document.body).innerText.length,
  });
})()
"""


def stray_output_problems(outputs: list[dict]) -> list[str]:
    """Stray text in a page's cell outputs: stderr output, warnings, tracebacks.

    Parameters
    ----------
    outputs : list of dict
        One per rendered cell output: ``tags`` (the cell's tags), ``stderr`` (texts of its stderr
        streams) and ``text`` (all the text it shows).

    Returns
    -------
    list of str
        One problem per offending output, with the start of the offending text; none for a cell
        tagged with one of :data:`EXPECTED_OUTPUT_TAGS`.
    """
    problems = []
    for out in outputs:
        if set(out.get("tags", ())) & set(EXPECTED_OUTPUT_TAGS):
            continue
        stderr = [" ".join(t.split()) for t in out.get("stderr", ()) if t.strip()]
        if stderr:
            problems.append(f"stderr output: {stderr[0][:200]}")
            continue
        match = STRAY_TEXT.search(out.get("text", ""))
        if match:
            around = " ".join(out["text"][max(0, match.start() - 60):match.end() + 140].split())
            problems.append(f"warning or traceback text in an output: {around}")
    return problems


@dataclass
class PageReport:
    """What the browser saw on one page."""

    page: str
    url: str
    status: int | None = None
    title: str = ""
    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    output_images: int = 0
    screenshot: Path | None = None


def _is_local(url: str, origin: str) -> bool:
    return url.startswith(origin) or url.startswith("data:") or url.startswith("about:")


def _is_implicit_favicon(url: str, origin: str) -> bool:
    """The browser asks for ``/favicon.ico`` by itself when a page declares no icon."""
    return url == origin + "favicon.ico"


def check_page(browser: Browser, url: str, page: str, origin: str, screenshot: Path,
               expected_figures: int | None = None, timeout: float = 60.0) -> PageReport:
    """Load ``url`` in a fresh tab and collect the :class:`PageReport`."""
    report = PageReport(page=page, url=url)
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
        browser.events()  # discard what about:blank produced
        nav = browser.send("Page.navigate", {"url": url}, session=session)
        if nav.get("errorText"):
            report.errors.append(f"navigation failed: {nav['errorText']}")
            return report
        loaded = False
        deadline = time.monotonic() + timeout
        requests: dict[str, str] = {}
        events = []
        while time.monotonic() < deadline and not loaded:
            batch = browser.events(timeout=0.5)
            events.extend(batch)
            loaded = any(e.get("method") == "Page.loadEventFired" and e.get("sessionId") == session for e in batch)
        if not loaded:
            report.errors.append(f"no load event within {timeout} s")
        state = json.loads(browser.send("Runtime.evaluate", {
            "expression": _PAGE_STATE_JS, "awaitPromise": True, "returnByValue": True,
        }, session=session, timeout=timeout)["result"]["value"])
        time.sleep(0.3)  # let late console messages arrive
        events.extend(browser.events())
        # Full-page screenshot: grow the viewport to the page height (capped), then capture it.
        metrics = browser.send("Page.getLayoutMetrics", session=session)
        height = int(min(max(metrics["cssContentSize"]["height"], 900), 16000))
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        time.sleep(0.3)
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session, timeout=timeout)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        report.screenshot = screenshot
        events.extend(browser.events())
    finally:
        try:
            browser.send("Target.closeTarget", {"targetId": target}, timeout=10)
        except CDPError:
            pass

    report.title = state["title"]
    report.images = state["images"]
    for e in events:
        if e.get("sessionId") != session:
            continue
        method, params = e.get("method"), e.get("params", {})
        if method == "Network.requestWillBeSent":
            requests[params["requestId"]] = params["request"]["url"]
        elif method == "Network.responseReceived":
            resp = params["response"]
            if resp["url"] == url:
                report.status = resp["status"]
            if resp["status"] >= 400 and _is_local(resp["url"], origin) and not _is_implicit_favicon(resp["url"], origin):
                report.errors.append(f"HTTP {resp['status']} for {resp['url']}")
        elif method == "Network.loadingFailed":
            failed = requests.get(params["requestId"], "?")
            if _is_local(failed, origin):
                report.errors.append(f"request failed: {failed} ({params.get('errorText')})")
            else:
                report.external.append(failed)
        elif method == "Runtime.exceptionThrown":
            det = params["exceptionDetails"]
            text = det.get("exception", {}).get("description") or det.get("text")
            report.errors.append(f"JavaScript exception: {text}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            report.errors.append(f"console.{params['type']}: {args}")
        elif method == "Log.entryAdded":
            entry = params["entry"]
            if entry.get("level") == "error":
                src = entry.get("url", "")
                if _is_implicit_favicon(src, origin):
                    continue
                if entry.get("source") == "network" and src and not _is_local(src, origin):
                    if src not in report.external:
                        report.external.append(src)
                else:
                    report.errors.append(f"console ({entry.get('source')}): {entry.get('text')} {src}".rstrip())

    if report.status != 200:
        report.errors.append(f"page status {report.status}, expected 200")
    for img in report.images:
        if not _is_local(img["src"], origin):
            continue
        if not img["complete"] or img["naturalWidth"] == 0 or img["naturalHeight"] == 0:
            report.errors.append(f"image not loaded: {img['src']}")
    report.output_images = sum(
        1 for img in report.images if img["inOutput"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0
    )
    if expected_figures is not None and report.output_images < expected_figures:
        report.errors.append(f"{report.output_images} output figures shown, the notebook holds {expected_figures}")
    for text in state["errorCells"]:
        report.errors.append(f"error output cell: {text.strip()[:200]}")
    report.errors.extend(stray_output_problems(state["outputs"]))
    if state["mainText"] < 50:
        report.errors.append("page body is (nearly) empty")
    if report.screenshot is None or report.screenshot.stat().st_size < 1000:
        report.errors.append("screenshot missing or empty")
    return report


# --------------------------------------------------------------------------------------------------
# The whole book
# --------------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) from a daemon thread; returns (server, origin)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def check_book(html_root: Path, repo_root: Path, screenshot_dir: Path, executable: str | None = None) -> list[PageReport]:
    """Check every table-of-contents page of a built book; one report per page (root first)."""
    executable = executable or find_chromium()
    if executable is None:
        raise FileNotFoundError("Chromium not found (install Debian's 'chromium' package)")
    pages = toc_files(repo_root / "_toc.yml")
    server, origin = serve(html_root)
    reports = []
    try:
        with tempfile.TemporaryDirectory(prefix="book-browser-") as profile, Browser(executable, Path(profile)) as browser:
            for page in pages:
                ipynb = repo_root / f"{page}.ipynb"
                expected = notebook_figure_count(ipynb) if ipynb.exists() else None
                shot = screenshot_dir / (page.replace("/", "__") + ".png")
                reports.append(check_page(browser, origin + page + ".html", page, origin, shot, expected))
    finally:
        server.shutdown()
        server.server_close()
    return reports


def main(argv: list[str]) -> int:
    html_root = Path(argv[1]) if len(argv) > 1 else Path("_build/html")
    repo_root = Path(__file__).resolve().parents[1]
    reports = check_book(html_root, repo_root, repo_root / "_build" / "screenshots")
    bad = 0
    for r in reports:
        flag = "ok " if not r.errors else "BAD"
        print(f"{flag} {r.page}: {len(r.images)} images ({r.output_images} figures), "
              f"{len(r.external)} external requests blocked -> {r.screenshot}")
        for err in r.errors:
            print(f"    {err}")
        bad += bool(r.errors)
    for problem in broken_internal_links(html_root):
        print(f"BAD link {problem}")
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
