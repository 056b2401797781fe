"""Real browser checks (issue 33): headless Chromium opens what cwl-dask and its docs make.

The assertions are on the DOM and on what the page logged (through the DevTools protocol),
never on pixels; each screenshot is saved in the test's tmp dir for a person to look at.
Without chromium (or mkdocs, for the site) the tests skip saying so; in CI they fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser import Page, browser, required
from conftest import ROOT, SAMPLES, served


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    with browser(tmp_path / "chromium-profile") as opened:
        yield opened


@pytest.fixture
def report(cwl_dask, tmp_path: Path) -> Path:
    """The --report page of a real run of the hello sample."""
    pytest.importorskip("bokeh", reason="--report needs bokeh (the dashboard extra)")
    html = tmp_path / "report.html"
    hello = SAMPLES / "hello"
    done = cwl_dask(
        "run", "--no-container", "--quiet", "--report", html, "--outdir", tmp_path / "out",
        hello / "hello.cwl", hello / "params.yml",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    return html


def test_the_report_opens_offline_with_the_step_table_and_no_console_errors(
    page: Page, report: Path, tmp_path: Path
) -> None:
    visit = page.open(report.as_uri())
    page.screenshot(tmp_path / "report.png")
    table = page.evaluate(
        """(() => {
        const section = document.querySelector('body > #cwl-dask-summary');
        if (!section) return null;
        const rows = [...section.querySelectorAll('tbody tr')].map(
            r => [...r.cells].map(c => c.textContent));
        return {
            header: [...section.querySelectorAll('thead th')].map(c => c.textContent),
            rows: rows,
            shown: section.getBoundingClientRect().height > 0,
        };
    })()"""
    )
    assert table is not None, "no #cwl-dask-summary section directly in the page's body"
    assert table["header"][:3] == ["step", "invocations", "failed"]
    assert [row[:3] for row in table["rows"]] == [["hello", "1", "0"]]
    assert table["shown"]
    assert visit.errors == []
    assert [url for url in visit.requests if not url.startswith(("file:", "data:"))] == []


def test_the_report_shows_dasks_performance_report_under_the_table(
    page: Page, report: Path
) -> None:
    page.open(report.as_uri())
    found = page.evaluate(
        """(() => {
        const tabs = [...document.body.querySelectorAll('*')].find(e => e.shadowRoot);
        const table = document.querySelector('#cwl-dask-summary').getBoundingClientRect();
        return {
            documents: Bokeh.documents.length,
            tabs: Bokeh.documents[0].roots()[0].tabs.map(t => t.title),
            below: tabs.getBoundingClientRect().top >= table.bottom,
        };
    })()"""
    )
    assert found["documents"] == 1
    assert found["tabs"][:2] == ["Summary", "Task Stream"]
    assert found["below"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site, built by mkdocs (strict) into a tmp dir and served on 127.0.0.1."""
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        required("the site checks need mkdocs (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", ROOT / "mkdocs.yml", "-d", out],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    with served(out) as url:
        yield url


def test_the_sites_index_says_what_cwl_dask_is_and_links_every_section(
    page: Page, site: str, tmp_path: Path
) -> None:
    visit = page.open(f"{site}/index.html")
    page.screenshot(tmp_path / "index.png")
    found = page.evaluate(
        """({
        title: document.querySelector('article h1').textContent.trim(),
        text: document.querySelector('article').innerText,
        nav: [...document.querySelectorAll('nav.md-nav--primary a.md-nav__link')]
            .map(a => a.getAttribute('href')),
    })"""
    )
    assert found["title"].startswith("cwl-dask")
    assert "every tool invocation as one Dask task" in found["text"]
    for target in ("getting-started.html", "tutorial.html", "cli.html", "api.html",
                   "backends.html", "zoo.html", "object-storage.html", "reliability.html",
                   "security.html", "benchmarks.html", "development.html"):  # fmt: skip
        assert target in found["nav"], target
    assert visit.errors == []


def test_the_tutorial_shows_the_graph_the_report_and_the_commands(
    page: Page, site: str, tmp_path: Path
) -> None:
    visit = page.open(f"{site}/tutorial.html")
    page.screenshot(tmp_path / "tutorial.png")
    found = page.evaluate(
        """({
        title: document.querySelector('article h1').textContent.trim(),
        images: [...document.querySelectorAll('article img')].map(
            i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]),
        code: [...document.querySelectorAll('article pre code')].map(c => c.textContent),
    })"""
    )
    assert found["title"].startswith("Tutorial")
    assert ["eo-ndvi-graph.png", True] in found["images"]
    assert ["eo-ndvi-report.png", True] in found["images"]
    assert any("cwl-dask run --no-container" in code for code in found["code"])
    assert any(code.startswith("cwl-dask graph") for code in found["code"])
    assert visit.errors == [], json.dumps(visit.errors, indent=1)
