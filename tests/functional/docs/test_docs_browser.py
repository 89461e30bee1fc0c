"""The docs site in a real browser: Debian's Chromium, headless, driven by Playwright.

Every page opens from disk with no console error and no request leaving ``file://``; the
table pages, the diagram and the lineage render what they should. The diagram's screenshot
is kept under the test's tmp dir and, when ``SPARKIFY_DW_DOCS_SCREENSHOT`` names a file,
written there too (that is how ``docs/schema.png`` is made).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import lineage, schema
from sparkify_dw.cli import run
from sparkify_dw.models import metadata
from tests.support.fixtures import IN_CI
from tests.support.helpers import run_load

CHROMIUM = os.environ.get("SPARKIFY_DW_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_ENV = "SPARKIFY_DW_DOCS_SCREENSHOT"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site of a loaded DuckDB warehouse (row counts, loads and checks included)."""
    work = tmp_path_factory.mktemp("docs")
    url = sa.URL.create("duckdb", database=str(work / "warehouse.duckdb"))
    schema.upgrade(url)
    run_load(url)
    out = work / "site"
    assert run(["docs", "--out", str(out), "--url", url.render_as_string()]) == 0
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """A page opened from disk, with the console errors and every request it made."""

    def __init__(self, browser: object, path: Path, width: int = 1700, height: int = 1000) -> None:
        from playwright.sync_api import Browser

        assert isinstance(browser, Browser)
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.requests: list[str] = []
        # Anything not from disk is refused, and recorded (the assertion says which).
        self.context.route(lambda url: not url.startswith("file://"), lambda route: route.abort())
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        response = self.page.goto(path.as_uri())
        assert response is not None and response.ok
        self.page.wait_for_load_state("load")

    def clean(self) -> None:
        assert self.errors == []
        assert [u for u in self.requests if not u.startswith("file://")] == []

    def close(self) -> None:
        self.context.close()


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


@pytest.mark.slow  # every page in a real browser: 16 s
def test_every_page_opens_offline_without_errors(site: Path, browser: object) -> None:
    assert len(pages(site)) == 6 + len(metadata.tables)
    for path in pages(site):
        visit = Visit(browser, path)
        try:
            visit.clean()
            # The stylesheet applied (it sets the header's background), so it was found.
            color = visit.page.eval_on_selector(
                "header", "e => getComputedStyle(e).backgroundColor"
            )
            assert color == "rgb(31, 42, 54)", path
        finally:
            visit.close()


def test_table_pages_render_every_column(site: Path, browser: object) -> None:
    for table in metadata.tables.values():
        visit = Visit(browser, site / "tables" / f"{table.name}.html")
        try:
            visit.clean()
            rows = visit.page.locator("table.columns tbody tr")
            assert rows.count() == len(table.columns)
            names = rows.locator("td:first-child").all_inner_texts()
            assert names == [c.name for c in table.columns]
            assert visit.page.locator("h1").inner_text().startswith(table.name)
        finally:
            visit.close()


def test_diagram_renders_and_links(site: Path, browser: object, tmp_path: Path) -> None:
    visit = Visit(browser, site / "diagram.html")
    try:
        visit.clean()
        svg = visit.page.locator("#diagram svg")
        box = svg.bounding_box()
        assert box is not None and box["width"] > 1000 and box["height"] > 400
        tables = visit.page.locator("#diagram svg a.table")
        assert tables.count() == len(metadata.tables)
        for i in range(tables.count()):
            table_box = tables.nth(i).bounding_box()
            assert table_box is not None and table_box["width"] > 100
        edges = visit.page.locator("#diagram svg g.foreign-keys path")
        assert edges.count() == sum(len(t.foreign_keys) for t in metadata.tables.values())
        # Wide enough for the whole diagram: the page would otherwise scroll it.
        visit.page.set_viewport_size({"width": int(box["width"]) + 120, "height": 1000})
        shot = tmp_path / "schema.png"
        svg.screenshot(path=str(shot))
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
        width = int.from_bytes(data[16:20], "big")  # the IHDR chunk: the whole diagram
        assert width >= int(box["width"]) - 1
        target = os.environ.get(SCREENSHOT_ENV)
        if target:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, target)
        # A box is a link to its table's page, which opens from disk too.
        visit.page.locator("#diagram svg a.table", has_text="songplays").first.click()
        visit.page.wait_for_load_state("load")
        assert visit.page.url.endswith("/tables/songplays.html")
        visit.clean()
    finally:
        visit.close()


LAPTOP = (1280, 800)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.parametrize("page", ["index.html", "tables/songplays.html", "diagram.html"])
def test_screenshots_at_1280_by_800_show_the_page_whole_across(
    site: Path, browser: object, tmp_path: Path, page: str
) -> None:
    """What a laptop shows: the index, a table page and the diagram at 1,280 x 800, none
    scrolling sideways. The diagram's bounding box fits the viewport's width, every table
    in it too (at 1,744 px wide, users and the whole ledger were off-screen). Screenshots
    are kept under the test's tmp dir, and copied to ``$SPARKIFY_DW_DOCS_SCREENSHOTS``
    (a folder) when set."""
    width, height = LAPTOP
    visit = Visit(browser, site / page, width, height)
    try:
        visit.clean()
        shot = tmp_path / (page.replace("/", "-").removesuffix(".html") + ".png")
        visit.page.screenshot(path=str(shot))
        data = shot.read_bytes()
        assert _png_size(data) == LAPTOP and len(data) > 10_000
        across = visit.page.evaluate("document.documentElement.scrollWidth")
        assert across <= width, f"{page} scrolls sideways: {across}px"
        if page == "diagram.html":
            box = visit.page.locator("#diagram svg").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
            assert box["y"] < height  # it starts on the first screen
            tables = visit.page.locator("#diagram svg a.table")
            assert tables.count() == len(metadata.tables)
            for i in range(tables.count()):
                table = tables.nth(i).bounding_box()
                assert table is not None and table["x"] >= 0
                assert table["x"] + table["width"] <= width
            # Not shrunk to fit: its text is as legible as designed (12 px monospace).
            natural = float(visit.page.locator("#diagram svg").get_attribute("width") or 0)
            assert box["width"] == pytest.approx(natural, abs=1)
        folder = os.environ.get("SPARKIFY_DW_DOCS_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, Path(folder) / shot.name)
    finally:
        visit.close()


def test_lineage_page_renders_the_chains(site: Path, browser: object) -> None:
    visit = Visit(browser, site / "lineage.html")
    try:
        visit.clean()
        rows = visit.page.locator("#star-lineage tbody tr")
        assert rows.count() == len(lineage.star_sources())
        start = rows.filter(has_text="songplays.start_time").first.inner_text()
        assert "$['ts']" in start and "staging_events.ts" in start
        raw = visit.page.locator("#raw-lineage tbody tr")
        assert raw.count() == len(metadata.tables["staging_events"].columns) + len(
            metadata.tables["staging_songs"].columns
        )
    finally:
        visit.close()
