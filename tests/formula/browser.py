"""Headless Chromium for the offline HTML pages whose formulas :mod:`verigrad.formula.mathml`
renders (``verigrad answers --html``, ``verigrad grade --html``).

:func:`open_page` loads a page with every request leaving the machine made to fail and
returns the DOM Chromium built, its console messages and failed loads, and what a probe
script (added to a copy of the page, never to the page itself) measured of each ``<math>``
element: its computed ``display`` (``math`` or ``block math`` only where the browser lays
MathML out) and its rendered size. :func:`screenshot` takes a picture of the page.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# LaTeX that must not survive as text (the worked numbers write sums as ASCII, sum_{i,j})
RAW_LATEX = ("\\frac", "\\sum", "^{", "\\partial", "\\hat", "\\mathrm", "\\left", "$")

# where Chromium would fetch from elsewhere: nothing may; name lookups fail
_OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND"]
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
_QUIET = ["--disable-background-networking", "--disable-component-update", "--disable-sync"]

_PROBE = """<script>
var rows = Array.from(document.querySelectorAll('math')).map(function (m) {
  var box = m.getBoundingClientRect();
  return [getComputedStyle(m).display, box.width, box.height];
});
var out = document.createElement('pre');
out.id = 'mathml-probe';
out.textContent = JSON.stringify(rows);
document.body.appendChild(out);
</script>"""


def chromium():
    """The Chromium (or Chrome) executable on the PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Opened:
    returncode: int
    dom: str  # the page as Chromium parsed it (probe output removed)
    console: list  # console messages: a page without script should have none
    failed_loads: list  # requests that failed (a reference outside the page)
    math: list  # per <math>: (computed display, width px, height px)
    stderr: str


def open_page(page: Path, timeout: float = 120) -> Opened:
    """Load ``page`` (a file) offline in headless Chromium and report what it did."""
    source = page.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as work:
        probed = Path(work) / page.name
        probed.write_text(source.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
        result = subprocess.run(
            [chromium(), *_FLAGS, *_QUIET, *_OFFLINE, "--enable-logging=stderr"]
            + [f"--user-data-dir={work}/profile", "--dump-dom", probed.as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    dom = result.stdout
    found = re.search(r"<pre id=\"mathml-probe\">(.*?)</pre>", dom, flags=re.S)
    math = [tuple(row) for row in json.loads(html.unescape(found.group(1)))] if found else []
    dom = re.sub(r"<script>.*?</script>|<pre id=\"mathml-probe\">.*?</pre>", "", dom, flags=re.S)
    lines = result.stderr.splitlines()
    return Opened(
        returncode=result.returncode,
        dom=dom,
        console=[line for line in lines if "CONSOLE" in line],
        failed_loads=[line for line in lines if "net::ERR" in line or "Failed to load" in line],
        math=math,
        stderr=result.stderr,
    )


def screenshot(page: Path, shot: Path, width: int = 1200, height: int = 1600) -> None:
    """A ``width`` x ``height`` PNG of the top of ``page``, taken offline."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium(), *_FLAGS, *_OFFLINE, f"--user-data-dir={profile}"]
            + [f"--screenshot={shot}", f"--window-size={width},{height}", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


def check_rendered(opened, page: str, path: Path, tmp_path: Path, raw_latex) -> None:
    """The checks both pages share: every ``<math>`` in ``page`` laid out by the browser with
    a size, no ``raw_latex`` left in the visible text, and a screenshot that is a rendered page
    (a PNG of some weight, not a blank one)."""
    assert len(opened.math) == page.count("<math") > 0
    assert all(width > 0 and height > 0 for _, width, height in opened.math)
    text = text_outside_math(opened.dom)
    assert [bad for bad in raw_latex if bad in text] == []
    shot = tmp_path / "shot.png"
    screenshot(path, shot)
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert shot.stat().st_size > 20_000


def text_outside_math(page: str) -> str:
    """What a reader sees as text, formulas left out: no style, no ``<math>``, no images."""
    page = re.sub(r"<style>.*?</style>|<math\b.*?</math>|<img[^>]*>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))
