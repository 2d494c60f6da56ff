"""The tutorials run: every ```python block of every page in docs/tutorials, in order, in one
namespace per page (so a page reads top to bottom like a notebook), in a scratch directory.
And the site's navigation names only pages that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
NUMPY_REPR = re.compile(r"\bnp\.(?:float|int|uint|bool|str|complex)\w*\(|\bnp\.(?:True|False)_")
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```\s*$", re.M | re.S)


def python_blocks(page: Path) -> list:
    return FENCE.findall(page.read_text(encoding="utf-8"))


def test_there_is_a_tutorial_for_each_of_the_nine_sections():
    assert len(TUTORIALS) == 9
    for page in TUTORIALS:
        assert len(python_blocks(page)) >= 2, page.name


@pytest.mark.parametrize("page", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(page, tmp_path, monkeypatch, capsys):
    """Every block runs, and what the page prints is plain: no numpy scalar reprs
    (``np.float64(0.5)``) for a reader to decode."""
    monkeypatch.chdir(tmp_path)  # pictures a page draws land in the scratch directory
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"tutorial_{page.stem.replace('-', '_')}"}
    for number, block in enumerate(python_blocks(page), 1):
        code = compile(block, f"{page.name} block {number}", "exec")
        exec(code, namespace)  # noqa: S102 - our own documentation, run as a test
    printed = capsys.readouterr().out
    assert not NUMPY_REPR.search(printed), NUMPY_REPR.search(printed).group()


def test_site_navigation_names_existing_pages():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = re.findall(r":\s*([\w/.-]+\.md)\s*$", config, flags=re.M)
    assert len(pages) >= 9 + 10
    for page in pages:
        assert (ROOT / "docs" / page).is_file(), page
    for tutorial in TUTORIALS:
        assert f"tutorials/{tutorial.name}" in pages, tutorial.name
