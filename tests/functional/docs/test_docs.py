"""The docs site: pages from the models, lineage from the loader's inputs, live data
read-only, nothing fetched from anywhere."""

from __future__ import annotations

import html
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sqlalchemy as sa

from sparkify_dw import analytics, checks, config, docs, erd, lineage
from sparkify_dw.models import metadata
from tests.support.helpers import run_load

SVG_NS = "http://www.w3.org/2000/svg"


def build(out: Path, *args: str) -> str:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = docs.main(["--out", str(out), *args], out=stdout, err=stderr)
    assert code == 0, stderr.getvalue()
    return stdout.getvalue()


def text(path: Path) -> str:
    """A page's text with tags dropped and entities decoded, for content checks."""
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text()))


@pytest.fixture
def loaded_duckdb(duckdb_url: sa.URL) -> sa.URL:
    from sparkify_dw import schema

    schema.upgrade(duckdb_url)
    run_load(duckdb_url)
    return duckdb_url


def test_site_without_a_warehouse(tmp_path: Path) -> None:
    out = tmp_path / "site"
    said = build(out, "--url", f"duckdb:///{tmp_path / 'absent.duckdb'}")
    assert "no warehouse at" in said
    assert not (tmp_path / "absent.duckdb").exists()
    pages = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert pages == {
        "index.html",
        "diagram.html",
        "lineage.html",
        "checks.html",
        "loads.html",
        "analytics.html",
        "style.css",
        "schema.svg",
        *(f"tables/{t}.html" for t in metadata.tables),
    }
    index = (out / "index.html").read_text()
    for table in metadata.tables.values():
        assert f'href="tables/{table.name}.html"' in index
        assert (table.comment or "") in text(out / "index.html")
    assert "no snapshot of the warehouse: no warehouse at" in index
    assert "not run" in (out / "checks.html").read_text()


def test_table_page_has_columns_keys_descriptions_and_redshift_design(tmp_path: Path) -> None:
    build(tmp_path, "--no-warehouse")
    page = text(tmp_path / "tables" / "songplays.html")
    for column in metadata.tables["songplays"].columns:
        assert column.name in page and (column.comment or "") in page
    assert "DISTSTYLE KEY" in " ".join(page.split())
    assert "FK -> users.user_id" in page and "FK -> time.start_time" in page
    assert "az64" in page and "zstd" in page and "IDENTITY(1, 1)" in page
    assert "(start_time, user_id, session_id, item_in_session)" in page
    users = " ".join(text(tmp_path / "tables" / "users.html").split())
    assert "DISTSTYLE ALL" in users and "SORTKEY user_id" in users
    assert "referenced by songplays.user_id" in users
    staging = text(tmp_path / "tables" / "staging_events.html")
    assert "JSON $['userId']" in staging and "JSON $['ts']" in staging


def test_diagram_draws_every_table_and_foreign_key(tmp_path: Path) -> None:
    build(tmp_path, "--no-warehouse")
    svg = (tmp_path / "schema.svg").read_text()
    root = ET.fromstring(svg)
    links = root.findall(f".//{{{SVG_NS}}}a")
    assert sorted(a.get("href") or "" for a in links) == sorted(
        f"tables/{t}.html" for t in metadata.tables
    )
    fks = {
        f"{t.name}.{fk.parent.name} -> {fk.column.table.name}.{fk.column.name}"
        for t in metadata.tables.values()
        for fk in t.foreign_keys
    }
    edges = {
        p.findtext(f"{{{SVG_NS}}}title")
        for p in root.iter(f"{{{SVG_NS}}}path")
        if p.get("marker-end")
    }
    undeclared = "songplays.load_id -> loads.load_id (not a declared foreign key)"
    assert edges == fks | {undeclared} and len(fks) == 7
    dashed = root.find(f".//{{{SVG_NS}}}g[@class='undeclared']")
    assert dashed is not None and dashed.get("stroke-dasharray")
    assert [p.findtext(f"{{{SVG_NS}}}title") for p in dashed] == [undeclared]
    assert svg in (tmp_path / "diagram.html").read_text()


@pytest.mark.parametrize(
    ("url", "label"),
    [
        (None, "staging (DuckDB's JSON reader, INSERT … SELECT)"),
        (
            "postgresql+psycopg://u@127.0.0.1:9/x",
            "staging (COPY … FROM STDIN, typed by PostgreSQL's JSON functions)",
        ),
        (
            "redshift+redshift_connector://u:pw@h:5439/dev",
            "staging (COPY from S3 JSON through a manifest)",
        ),
    ],
)
def test_the_staging_group_says_how_this_backend_stages(
    tmp_path: Path, url: str | None, label: str
) -> None:
    build(tmp_path, "--no-warehouse", *(["--url", url] if url else []))
    svg = (tmp_path / "schema.svg").read_text()
    labels = [t for t in re.findall(r">([^<>]+)</text>", svg) if t.startswith("staging (")]
    assert labels == [label]


def test_the_diagram_is_in_rows_that_fit_a_laptop_screen() -> None:
    """1,280 px wide screens show it whole (it was 1,744 px: users and the whole ledger
    were off-screen), with loads under the fact that references it."""
    boxes = {b.table.name: b for b in erd.layout()}
    root = ET.fromstring(erd.svg())
    width = float(root.get("width") or 0)
    assert 0 < width <= 1100 and root.get("viewBox") == f"0 0 {width:.0f} {root.get('height')}"
    assert max(b.x + b.width for b in boxes.values()) < width
    staging = max(boxes[n].y + boxes[n].height for n in ("staging_events", "staging_songs"))
    star = [boxes[n] for n in ("songplays", "users", "songs", "artists", "time")]
    ledger = [boxes[n] for n in ("loads", "load_files", "load_errors")]
    assert staging < min(b.y for b in star)
    assert max(b.y + b.height for b in star) < min(b.y for b in ledger)
    loads, fact = boxes["loads"], boxes["songplays"]
    assert loads.x < fact.x + fact.width and fact.x < loads.x + loads.width  # under it


def test_layout_keeps_boxes_apart() -> None:
    boxes = erd.layout()
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a.x + a.width <= b.x
                or b.x + b.width <= a.x
                or a.y + a.height <= b.y
                or b.y + b.height <= a.y
            )
            assert apart, (a.table.name, b.table.name)
    fact = next(b for b in boxes if b.kind == "fact")
    assert fact.table.name == "songplays"
    left = [b for b in boxes if b.kind == "dimension" and b.x < fact.x]
    right = [b for b in boxes if b.kind == "dimension" and b.x > fact.x]
    assert left and right  # dimensions on both sides of the fact
    songs_side = {
        b.table.name for b in (left if any(b.table.name == "songs" for b in left) else right)
    }
    assert "artists" in songs_side  # songs -> artists stays on one side


def test_lineage_follows_the_transform_and_the_jsonpaths_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = {f"{s.table}.{s.column}": s.staging for s in lineage.star_sources()}
    assert sources["songplays.start_time"] == ("staging_events.ts",)
    assert sources["time.weekday"] == ("staging_events.ts",)
    assert sources["songplays.song_id"] == ("staging_songs.song_id",)
    assert sources["artists.name"] == ("staging_songs.artist_name",)
    assert sources["users.level"] == ("staging_events.level",)
    assert sources["songplays.load_id"] == ()
    assert "songplays.songplay_id" not in sources  # generated, not written by the transform
    written = {
        f"{t.name}.{c.name}"
        for t in (metadata.tables[n] for n in ("artists", "songs", "users", "time", "songplays"))
        for c in t.columns
    }
    assert set(sources) == written - {"songplays.songplay_id"}
    assert "staging_songs.duration" in lineage.join_columns()["songplays"]

    # A different JSONPaths file gives a different lineage: it is read, not restated.
    paths = json.loads(Path(str(config.resolve().log_jsonpath)).read_text())["jsonpaths"]
    paths[-1] = "$.user.id"
    custom = tmp_path / "paths.json"
    custom.write_text(json.dumps({"jsonpaths": paths}))
    site = tmp_path / "site"
    monkeypatch.setenv(config.ENV_LOG_JSONPATH, str(custom))
    build(site, "--no-warehouse")
    page = " ".join(text(site / "lineage.html").split())
    assert "$['user']['id'] staging_events.user_id songplays.user_id" in page
    assert "$['user']['id'] staging_events.user_id users.user_id" in page
    assert "$['userId']" not in page


def test_live_data_from_a_loaded_warehouse(loaded_duckdb: sa.URL, tmp_path: Path) -> None:
    database = Path(loaded_duckdb.database or "")
    before = database.stat().st_mtime_ns, database.stat().st_size
    said = build(tmp_path, "--url", loaded_duckdb.render_as_string())
    assert re.search(r"warehouse: \d{4}-\d\d-\d\d \d\d:\d\d UTC", said), said
    assert (database.stat().st_mtime_ns, database.stat().st_size) == before  # read-only
    index = text(tmp_path / "index.html")
    assert "3,478" in index and "35" in index
    # A snapshot, and says so; the footer names the command that writes the site.
    assert re.search(r"snapshot taken at \d{4}-\d\d-\d\d \d\d:\d\d UTC", index)
    assert "live data" not in index
    assert "Generated by sparkify-dw docs from" in " ".join(index.split())
    songplays = " ".join(text(tmp_path / "tables" / "songplays.html").split())
    assert "rows 3,478" in songplays and "last load #1 succeeded" in songplays
    checks_page = text(tmp_path / "checks.html")
    assert checks_page.count("PASS") == len(checks.CHECKS)
    loads = " ".join(text(tmp_path / "loads.html").split())
    assert "#1" in loads and "succeeded" in loads and "stage,transform,check" in loads


def test_sql_is_compiled_for_the_configured_backend(tmp_path: Path) -> None:
    build(tmp_path / "duck", "--no-warehouse")
    build(
        tmp_path / "rs",
        "--no-warehouse",
        "--url",
        "redshift+redshift_connector://awsuser:pw-s3cret@h:5439/dev",
    )
    duck = text(tmp_path / "duck" / "checks.html")
    rs = text(tmp_path / "rs" / "checks.html")
    assert "epoch_ms(staging_events.ts)" in duck
    assert "TIMESTAMP 'epoch'" in rs and "epoch_ms(" not in rs
    page = text(tmp_path / "rs" / "analytics.html")
    for question in analytics.QUESTIONS.values():
        assert question.title in page and question.name in page
        assert question.description in page and "``bind``" not in page  # not help()'s text
    assert page.count("SELECT") >= len(analytics.QUESTIONS)
    # Laid out one clause per line, as compiled: Redshift's COLLATE() form kept, and a
    # LIKE pattern's % not doubled by the driver's escaping.
    top = re.search(
        r"<pre>(SELECT songs\.song_id.*?)</pre>",
        (tmp_path / "rs" / "analytics.html").read_text(),
        re.S,
    )
    assert top is not None
    lines = html.unescape(top[1]).splitlines()
    assert [ln.split()[0] for ln in lines if not ln.startswith(" ")] == [
        "SELECT",
        "FROM",
        "JOIN",
        "LEFT",
        "GROUP",
        "ORDER",
        "LIMIT",
    ]
    assert max(len(ln) for ln in lines) < 80
    assert "COLLATE(songs.song_id, 'case_sensitive')" in html.unescape(top[1])
    assert "LIKE '%Edge/%'" in page and "%%" not in page
    for path in (tmp_path / "rs").rglob("*"):
        if path.is_file():
            assert "pw-s3cret" not in path.read_text()


def test_nothing_is_fetched_from_elsewhere(tmp_path: Path) -> None:
    build(tmp_path, "--no-warehouse")
    for path in tmp_path.rglob("*"):
        if not path.is_file():
            continue
        content = path.read_text().replace(f'xmlns="{SVG_NS}"', "")
        assert "<script" not in content, path
        assert not re.search(r"(src|href)\s*=\s*\"(https?:)?//", content), path
        assert "@import" not in content and "url(http" not in content, path


def test_unreachable_warehouse_is_a_note_without_the_password(tmp_path: Path) -> None:
    said = build(tmp_path, "--url", "postgresql+psycopg://u:s3cret-pw@127.0.0.1:9/x")
    assert "warehouse: connection failed" in said and "s3cret-pw" not in said
    assert "no snapshot of the warehouse: connection failed" in text(tmp_path / "index.html")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert "s3cret-pw" not in path.read_text()
