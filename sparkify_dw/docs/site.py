"""The warehouse's documentation as a static site, as ``sparkify-dw docs [--out DIR]``
writes it (default ``./site``; :mod:`sparkify_dw.cli.docs` is the command).

Everything comes from the code that builds and loads the warehouse: tables, columns, keys
and descriptions from the models; Redshift's DISTSTYLE/DISTKEY/SORTKEY/ENCODE from their
``redshift_*`` dialect options; the diagram from the foreign keys (:mod:`sparkify_dw.erd`);
lineage from the JSONPaths file and the transform's statements (:mod:`sparkify_dw.lineage`);
the checks and the analytics questions with their SQL compiled for the configured backend.
When the warehouse is reachable (read-only, as ``status`` opens it) the pages also show
row counts, the last loads and the checks' results now.

The site is plain HTML and one SVG with a local stylesheet: no script, no CDN, no server;
it opens from ``file://``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from sparkify_dw import analytics, checks, erd, lineage, schema
from sparkify_dw.backends import registry
from sparkify_dw.config import Settings
from sparkify_dw.db import row_counts
from sparkify_dw.errors import ConfigError, SchemaError, one_line
from sparkify_dw.models import PHYSICAL_DESIGN, STAGING_TABLES, STAR_TABLES, metadata
from sparkify_dw.status.freshness import (
    READ_WAIT,
    readonly_engine,
    recent_loads,
    utcnow,
)

if TYPE_CHECKING:
    import jinja2  # the docs extra: imported when the site is written

LOADS_SHOWN = 20
GROUPS = {"staging": "Staging", "star": "Star schema", "ledger": "Load ledger"}


@dataclass
class Live:
    """What the warehouse says now, or why it couldn't be asked (``note``)."""

    reachable: bool
    note: str
    counts: dict[str, int] = field(default_factory=dict)
    loads: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, checks.CheckResult] = field(default_factory=dict)

    def last_load(self, group: str) -> dict[str, Any] | None:
        """The newest load that wrote a table of ``group``: a successful stage (staging) or
        transform (star); any load for the ledger."""
        step = {"staging": "stage", "star": "transform"}.get(group)
        for load in self.loads:
            if step is None or (
                load["status"] == "succeeded" and step in str(load["steps"]).split(",")
            ):
                return load
        return None


def read_live(settings: Settings, *, run_checks: bool = True, wait: float = READ_WAIT) -> Live:
    """Row counts, recent loads and check results, read-only; never raises for an absent
    or unreachable warehouse (the site is written without them, saying why)."""
    try:
        engine = readonly_engine(settings)
    except ConfigError as exc:
        return Live(False, settings.mask(str(exc)))
    from sparkify_dw import backends

    try:
        # Not for ever behind a running load: at most ``wait`` seconds.
        with backends.for_settings(settings, wait=wait).reading(engine) as conn:
            schema.require_head(conn)
            counts = row_counts(conn, metadata.sorted_tables)
            loads = recent_loads(conn, LOADS_SHOWN)
            results = checks.run_checks(conn) if run_checks else []
    except (ConfigError, SchemaError, sa.exc.SQLAlchemyError, OSError) as exc:
        return Live(False, settings.mask(one_line(exc)))
    finally:
        engine.dispose()
    return Live(True, f"{utcnow():%Y-%m-%d %H:%M} UTC", counts, loads, {r.name: r for r in results})


def group_of(table: sa.Table) -> str:
    """``staging``, ``star`` or ``ledger``."""
    return "staging" if table in STAGING_TABLES else "star" if table in STAR_TABLES else "ledger"


def compile_sql(stmt: sa.ClauseElement, dialect: sa.Dialect) -> str:
    """The statement as the backend would run it, values inlined where they can be, laid
    out one clause per line (:func:`format_sql`)."""
    try:
        text = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except (sa.exc.CompileError, NotImplementedError):
        return format_sql(str(stmt.compile(dialect=dialect)))
    if dialect.paramstyle in ("format", "pyformat"):
        # The compiler doubles % for a driver that formats parameters in; with every value
        # inlined there are none, and a reader must see LIKE '%Edge/%', not '%%Edge/%%'.
        text = text.replace("%%", "%")
    return format_sql(text)


def format_sql(text: str) -> str:
    """SQL laid out for reading: a clause per line, select lists and conditions indented.

    sqlparse works on tokens and only changes whitespace, so the page shows the statement
    as compiled; a parser that regenerates SQL (sqlglot) rewrote Redshift's
    ``COLLATE(x, 'case_sensitive')`` into syntax Redshift refuses."""
    import sqlparse

    return str(sqlparse.format(text.strip(), reindent=True, indent_width=2)).strip()


def _physical(table: sa.Table) -> dict[str, str]:
    opts = table.dialect_options[PHYSICAL_DESIGN]
    distkey, sortkey = opts["distkey"], opts["sortkey"]
    style = opts["diststyle"] or ("KEY" if distkey else "AUTO")
    if isinstance(sortkey, list | tuple):
        sortkey = ", ".join(sortkey)
    return {"diststyle": style, "distkey": distkey or "-", "sortkey": sortkey or "-"}


def _keys(column: sa.Column[Any]) -> list[str]:
    keys = ["PK"] if column.primary_key else []
    keys += [
        f"FK -> {fk.column.table.name}.{fk.column.name}"
        for fk in sorted(column.foreign_keys, key=lambda f: f.target_fullname)
    ]
    if any(column.name in u for u in _uniques(column.table)):
        keys.append("UNIQUE key")
    return keys


def _uniques(table: sa.Table) -> list[list[str]]:
    return [
        [c.name for c in const.columns]
        for const in table.constraints
        if isinstance(const, sa.UniqueConstraint)
    ]


def _origin(
    group: str,
    table: sa.Table,
    column: sa.Column[Any],
    raw_of: dict[str, str],
    source: lineage.StarSource | None,
) -> list[dict[str, str]]:
    """Where a column's value comes from: links to staging columns or a JSON path."""
    name = f"{table.name}.{column.name}"
    if group == "staging":
        return [{"text": f"JSON {raw_of[name]}", "href": ""}] if name in raw_of else []
    if source is not None and source.staging:
        return [{"text": s, "href": "{}.html#{}".format(*s.split("."))} for s in source.staging]
    if source is not None:
        return [{"text": "the loader (not from staging)", "href": ""}]
    if column.identity is not None or column.dialect_options[PHYSICAL_DESIGN]["identity"]:
        return [{"text": "generated by the warehouse", "href": ""}]
    return [{"text": "written by the loader" if group == "ledger" else "", "href": ""}]


def table_pages(
    dialect: sa.Dialect, raw: list[lineage.RawField], star: list[lineage.StarSource], live: Live
) -> list[dict[str, Any]]:
    """One dict per table for the templates, in dependency order within each group."""
    raw_of = {f"{f.table}.{f.column}": f.path for f in raw}
    star_of = {(s.table, s.column): s for s in star}
    referenced_by: dict[str, list[str]] = {}
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            referenced_by.setdefault(fk.column.table.name, []).append(
                f"{table.name}.{fk.parent.name}"
            )
    pages = []
    tables = [
        *STAGING_TABLES,
        *STAR_TABLES,
        *(t for t in metadata.sorted_tables if group_of(t) == "ledger"),
    ]
    for table in tables:
        group = group_of(table)
        columns = []
        for c in table.columns:
            origin = _origin(group, table, c, raw_of, star_of.get((table.name, c.name)))
            identity = c.dialect_options[PHYSICAL_DESIGN]["identity"]
            columns.append(
                {
                    "name": c.name,
                    "type": str(c.type.compile(dialect=dialect)),
                    "nullable": c.nullable,
                    "keys": _keys(c),
                    "encode": c.dialect_options[PHYSICAL_DESIGN]["encode"] or "",
                    "identity": f"IDENTITY{tuple(identity)}" if identity else "",
                    "description": c.comment or "",
                    "origin": origin,
                }
            )
        pages.append(
            {
                "name": table.name,
                "group": group,
                "group_title": GROUPS[group],
                "description": table.comment or "",
                "columns": columns,
                "physical": _physical(table),
                "rows": live.counts.get(table.name),
                "uniques": _uniques(table),
                "last_load": live.last_load(group) if live.reachable else None,
                "referenced_by": sorted(referenced_by.get(table.name, [])),
            }
        )
    return pages


def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("sparkify_dw", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def write_site(out: Path, settings: Settings, live: Live) -> list[Path]:
    """Write every page under ``out`` (created; existing pages replaced); the paths written."""
    dialect = settings.url.get_dialect()()
    raw, raw_error = lineage.raw_fields_or_error(settings)
    star = lineage.star_sources()
    tables = table_pages(dialect, raw, star, live)
    env = _environment()
    common = {
        "live": live,
        "backend": dialect.name,
        "warehouse": settings.display_url,
        "tables": tables,
        "groups": GROUPS,
        "head": schema.head(),
    }
    written: list[Path] = []

    def page(path: str, template: str, **context: Any) -> None:
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        root = "../" * path.count("/")
        target.write_text(
            env.get_template(template).render(root=root, **common, **context), encoding="utf-8"
        )
        written.append(target)

    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).parent.parent / "templates" / "style.css", out / "style.css")
    written.append(out / "style.css")
    engine = registry.for_dialect(dialect.name)
    svg = erd.svg(staging=engine.staging if engine else None)
    (out / "schema.svg").write_text(svg, encoding="utf-8")
    written.append(out / "schema.svg")
    page("index.html", "index.html", title="Sparkify data warehouse")
    page("diagram.html", "diagram.html", title="Diagram", svg=svg)
    for table in tables:
        page(f"tables/{table['name']}.html", "table.html", title=table["name"], table=table)
    page(
        "lineage.html",
        "lineage.html",
        title="Lineage",
        raw=raw,
        raw_error=raw_error,
        chains=_chains(raw, star),
        joins=lineage.join_columns(),
    )
    page("checks.html", "checks.html", title="Checks", checks=_checks(live, dialect))
    page("loads.html", "loads.html", title="Loads", loads=live.loads)
    page("analytics.html", "analytics.html", title="Analytics", questions=_questions(dialect))
    return written


def _chains(raw: Any, star: Any) -> list[dict[str, Any]]:
    """Each star column, the staging columns it comes from, and their raw JSON fields."""
    path_of = {f"{f.table}.{f.column}": f.path for f in raw}
    return [
        {
            "star": f"{s.table}.{s.column}",
            "how": s.how,
            "staging": list(s.staging),
            "raw": [path_of[name] for name in s.staging if name in path_of],
        }
        for s in star
    ]


def _checks(live: Live, dialect: sa.Dialect) -> list[dict[str, Any]]:
    """Each check: why it matters, what it found in the snapshot, its SQL."""
    return [
        {
            "name": c.name,
            "why": c.why,
            "result": live.results.get(c.name),
            "sql": compile_sql(c.offenders, dialect),
        }
        for c in checks.CHECKS
    ]


def _questions(dialect: sa.Dialect) -> list[dict[str, Any]]:
    """Each analytics question: what it answers and its SQL."""
    return [
        {
            "name": q.name,
            "title": q.title,
            "doc": q.description,
            "sql": compile_sql(q.query(), dialect),
        }
        for q in analytics.QUESTIONS.values()
    ]


DEFAULT_OUT = Path("site")
