"""Headless Chromium for the report tests: lay a page out at a given width and read measurements back.

The page is copied with a small script appended that measures the layout (the browser's
own: scrollWidth, bounding boxes) and writes the result as JSON into the DOM, which
``--dump-dom`` prints. Debian's ``chromium`` package (.ci/run installs it); tests skip
with a reason where it is absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]

MEASURE = r"""
<script>
addEventListener('load', () => {
  const vw = innerWidth, vh = innerHeight, doc = document.documentElement;
  const tables = [...document.querySelectorAll('table')].map(t => {
    const r = t.getBoundingClientRect();
    return {id: t.id || t.className || '', width: Math.round(r.width), right: Math.round(r.right),
            scrollWidth: t.scrollWidth};
  });
  const summary = document.querySelector('#summary-table');
  const sb = summary ? summary.getBoundingClientRect() : null;
  const rows = summary ? [...summary.querySelectorAll('tbody tr')].map(tr =>
    [...tr.children].map(c => c.textContent.trim())) : [];
  const heads = summary ? [...summary.querySelectorAll('thead th')].map(c => c.textContent.trim()) : [];
  const out = {viewport: [vw, vh], docScrollWidth: doc.scrollWidth, docScrollHeight: doc.scrollHeight, tables,
               summaryBottom: sb ? Math.round(sb.bottom) : null, summaryHeads: heads, summaryRows: rows,
               banner: !!document.querySelector('#tiny-banner')};
  const pre = document.createElement('pre'); pre.id = 's1kit-measure';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>
"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str], timeout: int = 120) -> str:
    exe = chromium()
    assert exe, "chromium not installed"
    with tempfile.TemporaryDirectory(prefix="s1kit-chromium-") as profile:
        proc = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def measure(page: Path, width: int = 1280, height: int = 800) -> dict:
    """Lay ``page`` out at ``width`` x ``height`` and return the measurements of MEASURE."""
    probe = page.with_name(page.stem + ".measure.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    try:
        dom = _run([f"--window-size={width},{height}", "--virtual-time-budget=10000", "--dump-dom",
                    probe.resolve().as_uri()])
    finally:
        probe.unlink()
    start = dom.index('<pre id="s1kit-measure">') + len('<pre id="s1kit-measure">')
    text = dom[start:dom.index("</pre>", start)]
    return json.loads(text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 1600) -> Path:
    """A PNG of the top ``height`` px of ``page`` at ``width`` px."""
    _run([f"--window-size={width},{height}", "--virtual-time-budget=10000", f"--screenshot={out.resolve()}",
          page.resolve().as_uri()])
    return out
