"""Sphinx extension: drop repeated ``<script>`` entries from each HTML page.

With Sphinx 7.4, inline scripts that extensions add while the environment is read (sphinx-thebe's
configuration, sphinx-togglebutton's selector) are listed twice on every page, once with the file
name ``None`` and once with ``""``, so Sphinx's own de-duplication misses them. The repeated
``const THEBE_JS_URL`` declaration is a JavaScript ``SyntaxError`` in the reader's console; keeping
the first copy of each identical script removes it without changing anything else.
"""

from __future__ import annotations

from typing import Any


def _key(script: Any) -> tuple:
    attrs = getattr(script, "attributes", {}) or {}
    # An inline script is registered once with filename None and once with "" (same script).
    return (getattr(script, "filename", str(script)) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))


def unique_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app) -> dict[str, Any]:
    # Late priority: run after the extensions that add scripts to the page context.
    app.connect("html-page-context", unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
