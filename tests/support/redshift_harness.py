"""The Redshift code path as sent, run against a local PostgreSQL database.

What is real: the production engine factory (:func:`sparkify_dw.engines.create_engine`),
sqlalchemy-redshift's dialect, redshift_connector's parameter style and wire protocol
(through :class:`tests.redshift_relay.RedshiftRelay`), and the loader, Alembic, checks and
analytics code, unchanged. Every ``cursor.execute(text, parameters)`` is recorded exactly
as the driver receives it, before anything else happens, and the conformance checks
(:mod:`tests.redshift_conformance`) run over those records.

What PostgreSQL can't run is mapped to a local equivalent after recording, and only that:

* Redshift DDL clauses (DISTSTYLE, DISTKEY, SORTKEY, ENCODE, IDENTITY(seed, step)) are
  stripped or translated to PostgreSQL's identity column.
* ``SET analyze_threshold_percent`` becomes a no-op (PostgreSQL has no such setting).
* COPY from S3 (always through a manifest here) is emulated in Python: the manifest and
  the objects are read from moto's S3 server, records are mapped by the JSONPaths file or
  by column name ('auto'), typed with COPY's rules for the cases the tests use
  (BLANKSASNULL, EMPTYASNULL, integers, floats, VARCHAR lengths in bytes), good rows are
  inserted in the load's own transaction, rejected ones go to ``stl_load_errors`` and
  ``sys_load_error_detail`` outside it (as Redshift's system tables are), and MAXERROR
  fails the COPY when the errors reach it. A COPY sent with bind parameters is not
  emulated: it goes to PostgreSQL as sent and fails at ``$1``, as on Redshift.
* ``pg_last_copy_id()``, ``pg_last_copy_count()``, ``getdate()``, ``stl_load_errors``,
  ``sys_load_error_detail``, ``sys_load_history`` and the catalog views
  sqlalchemy-redshift's reflection reads (``svv_external_tables``,
  ``svv_external_schemas``) exist in the test database as small local stand-ins;
  ``pg_class.reldiststyle`` in the dialect's reflection query reads as 0 (EVEN).
* As on a provisioned cluster, each COPY has two ids: an STL one (``stl_load_errors``,
  ``pg_last_copy_id()``) and a different SYS one (``sys_load_error_detail``,
  ``sys_load_history``, which lists aborted COPYs too). The system tables are in UTC
  while the session's time zone is 13 hours ahead (``getdate()`` is the session's
  local time in whole seconds, as on Redshift), so code that mixes the ids or compares
  the tables with ``getdate()`` finds nothing here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import psycopg.sql
import sqlalchemy as sa

from sparkify_dw import engines
from tests.support.redshift_conformance import Statement
from tests.support.redshift_mapping import for_postgresql
from tests.support.redshift_relay import RedshiftRelay

SESSION_TIME_ZONE = "Pacific/Auckland"  # UTC+13 in December, +12 in June

SETUP = """
CREATE TABLE stl_load_errors (
    userid integer, slice integer, tbl integer, starttime timestamp, session integer,
    query integer, filename character(256), line_number bigint, colname character(127),
    type character(10), col_length character(10), position integer,
    raw_line character(1024), raw_field_value character(1024), err_code integer,
    err_reason character(100));
CREATE TABLE sys_load_error_detail (
    user_id integer, query_id bigint, transaction_id bigint, session_id integer,
    database_name character(64), table_id integer, start_time timestamp,
    file_name character(256), line_number bigint, column_name character(127),
    column_type character(10), column_length character(10), position integer,
    error_code integer, error_message character(512));
CREATE TABLE sys_load_history (
    user_id integer, query_id bigint, transaction_id bigint, session_id integer,
    database_name text, status text, table_name text, start_time timestamp,
    end_time timestamp, loaded_rows bigint, error_count bigint);
CREATE VIEW svv_external_schemas AS
    SELECT 0::oid AS esoid, ''::name AS schemaname, 0::integer AS esowner WHERE false;
CREATE VIEW svv_external_tables AS
    SELECT ''::name AS schemaname, ''::name AS tablename WHERE false;
CREATE FUNCTION getdate() RETURNS timestamp
    AS $$ SELECT date_trunc('second', clock_timestamp())::timestamp $$ LANGUAGE sql;
CREATE FUNCTION pg_last_copy_id() RETURNS integer
    AS $$ SELECT coalesce(nullif(current_setting('harness.last_copy_id', true), ''), '-1')::integer
    $$ LANGUAGE sql;
CREATE FUNCTION pg_last_copy_count() RETURNS bigint
    AS $$ SELECT coalesce(nullif(current_setting('harness.last_copy_count', true), ''), '0')::bigint
    $$ LANGUAGE sql;
"""

_DDL = [
    (re.compile(r"\s+DISTSTYLE\s+(EVEN|ALL|KEY|AUTO)\b", re.I), ""),
    (re.compile(r"\s+DISTKEY\s*\(\s*\w+\s*\)", re.I), ""),
    (re.compile(r"\s+(COMPOUND\s+|INTERLEAVED\s+)?SORTKEY\s*\([^)]*\)", re.I), ""),
    (re.compile(r"\s+ENCODE\s+\w+", re.I), ""),
    (re.compile(r"\bIDENTITY\s*\(\s*\d+\s*,\s*\d+\s*\)", re.I), "GENERATED BY DEFAULT AS IDENTITY"),
]
_COPY = re.compile(
    r"^\s*COPY\s+(?P<table>\w+)\s*\((?P<columns>[^)]*)\)\s+FROM\s+'(?P<source>[^']*)'"
    r".*?FORMAT\s+AS\s+JSON\s+AS\s+'(?P<paths>[^']*)'",
    re.I | re.S,
)
_MAXERROR = re.compile(r"\bMAXERROR\s+(AS\s+)?(\d+)", re.I)


@dataclass
class CopyError:
    line: int
    column: str
    reason: str
    raw: str


@dataclass
class Harness:
    """Records what the Redshift path sends; maps what PostgreSQL can't run."""

    relay: RedshiftRelay
    database: str
    admin_url: str  # a psycopg URL of the same database, for the system-table stand-ins
    s3_client: Any
    sent: list[Statement] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)
    fail_on: Callable[[str], bool] | None = None  # make a matching statement fail
    # STL and SYS number queries apart, as on a provisioned cluster (AWS: "STL_QUERY");
    # pg_last_copy_id() gives the STL one.
    _stl_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    _sys_ids: Iterator[int] = field(default_factory=lambda: itertools.count(7_000_000, 7))

    def engine(self) -> sa.Engine:
        """A production engine (adapted dialect) through the relay, recording as it goes."""
        url = sa.URL.create(
            "redshift+redshift_connector",
            username="root",
            host="127.0.0.1",
            port=self.relay.port,
            database=self.database,
        )
        engine = engines.create_engine(url, connect_args={"ssl": False}, poolclass=sa.pool.NullPool)
        sa.event.listen(engine, "before_cursor_execute", self._before, retval=True)
        return engine

    def setup(self) -> None:
        """The stand-ins, and a session time zone 13 hours ahead of UTC (Redshift's default
        is UTC; a cluster's users may set another): the system tables stay in UTC, so
        anything that compares them with GETDATE() finds nothing."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(SETUP)
            database = psycopg.sql.Identifier(self.database)
            conn.execute(
                psycopg.sql.SQL("ALTER DATABASE {} SET timezone TO {}").format(
                    database, psycopg.sql.Literal(SESSION_TIME_ZONE)
                )
            )

    # --- recording and mapping ------------------------------------------------------------

    def _before(
        self,
        conn: sa.Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> tuple[str, Any]:
        params = tuple(parameters) if isinstance(parameters, (list, tuple)) else parameters
        self.sent.append(Statement(statement, params))
        if self.fail_on is not None and self.fail_on(statement):
            return ("DO $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$", ())
        upper = statement.lstrip().upper()
        if upper.startswith("COPY") and not parameters:
            return self._copy(cursor, statement)
        if upper.startswith(("CREATE TABLE", "ALTER TABLE")):
            for pattern, replacement in _DDL:
                statement = pattern.sub(replacement, statement)
        elif upper.startswith("SET ANALYZE_THRESHOLD_PERCENT"):
            return ("SELECT 1", ())
        elif "c.reldiststyle" in statement:  # sqlalchemy-redshift's reflection query
            statement = _reflection_for_postgresql(statement)
        statement = for_postgresql(statement)
        return statement, parameters

    def _copy(self, cursor: Any, statement: str) -> tuple[str, Any]:
        match = _COPY.match(statement)
        assert match and " MANIFEST" in statement.upper(), f"unexpected COPY: {statement}"
        self.copies.append(statement)
        table = match["table"]
        columns = [c.strip() for c in match["columns"].split(",")]
        maxerror = int(m[2]) if (m := _MAXERROR.search(statement)) else 0
        manifest = json.loads(self._read(match["source"]))
        paths = (
            None
            if match["paths"].lower() == "auto"
            else [_field(p) for p in json.loads(self._read(match["paths"]))["jsonpaths"]]
        )
        types = self._column_types(cursor, table, columns)
        rows: list[dict[str, Any]] = []
        errors: list[tuple[str, CopyError]] = []
        for entry in manifest["entries"]:
            url = entry["url"]
            for line, raw, record in _records(self._read(url)):
                row, error = _typed(record, raw, line, columns, paths, types)
                if error is not None:
                    errors.append((url, error))
                else:
                    rows.append(row)
        stl_id, sys_id = next(self._stl_ids), next(self._sys_ids)
        cursor.execute("SELECT pg_backend_pid()")
        session = int(cursor.fetchone()[0])
        failed = bool(errors) and len(errors) >= maxerror
        self._keep_history(table, sys_id, session, len(rows), len(errors), failed)
        if errors:
            self._keep_errors(table, stl_id, sys_id, session, errors)
        if failed:
            message = (
                f"Load into table ''{table}'' failed.  Check ''sys_load_error_detail'' "
                "system table for details."
            )
            return (f"DO $$ BEGIN RAISE EXCEPTION '{message}'; END $$", ())
        if rows:
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} "
                f"FROM json_populate_recordset(NULL::{table}, %s::json)",
                (json.dumps(rows),),
            )
        cursor.execute(
            "SELECT set_config('harness.last_copy_id', %s, false), "
            "set_config('harness.last_copy_count', %s, false)",
            (str(stl_id), str(len(rows))),
        )
        return ("SELECT 1", ())

    def _read(self, uri: str) -> str:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        body = self.s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return str(body.decode("utf-8"))

    @staticmethod
    def _column_types(cursor: Any, table: str, columns: list[str]) -> dict[str, tuple[str, int]]:
        cursor.execute(
            "SELECT column_name, data_type, coalesce(character_maximum_length, 0) "
            "FROM information_schema.columns WHERE table_name = %s",
            (table,),
        )
        found = {name: (kind, int(length)) for name, kind, length in cursor.fetchall()}
        return {c: found[c] for c in columns}

    def _keep_history(
        self, table: str, sys_id: int, session: int, loaded: int, rejected: int, failed: bool
    ) -> None:
        """The COPY's SYS_LOAD_HISTORY row, committed at once like the error tables."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO sys_load_history (query_id, session_id, status, table_name, "
                "start_time, end_time, loaded_rows, error_count) VALUES (%s, %s, %s, %s, %s, "
                "%s, %s, %s)",
                (
                    sys_id,
                    session,
                    "aborted" if failed else "completed",
                    table,
                    now,
                    now,
                    0 if failed else loaded,
                    rejected,
                ),
            )

    def _keep_errors(
        self,
        table: str,
        stl_id: int,
        sys_id: int,
        session: int,
        errors: list[tuple[str, CopyError]],
    ) -> None:
        """Into both system tables, committed at once: a rollback keeps them, as on Redshift."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for url, e in errors:
                conn.execute(
                    "INSERT INTO stl_load_errors (session, query, starttime, filename, "
                    "line_number, colname, err_reason, raw_line) VALUES (%s, %s, %s, %s, %s, "
                    "%s, %s, %s)",
                    (
                        session,
                        stl_id,
                        now,
                        url,
                        e.line,
                        e.column,
                        e.reason,
                        e.raw.encode("ascii", "replace").decode()[:1024],
                    ),
                )
                conn.execute(
                    "INSERT INTO sys_load_error_detail (session_id, query_id, start_time, "
                    "file_name, line_number, column_name, error_message) VALUES (%s, %s, %s, "
                    "%s, %s, %s, %s)",
                    (session, sys_id, now, url, e.line, e.column, e.reason),
                )

    def sent_since(self, prefix: str) -> list[Statement]:
        """What was sent from the first statement starting with ``prefix`` on."""
        starts = [i for i, s in enumerate(self.sent) if s.text.lstrip().startswith(prefix)]
        return self.sent[starts[0] :] if starts else []

    def clear(self) -> None:
        self.sent.clear()
        self.copies.clear()


def _reflection_for_postgresql(sql: str) -> str:
    """sqlalchemy-redshift's relation query, as PostgreSQL can run it: no reldiststyle,
    a boolean WHERE, and no output names in WHERE (Redshift allows them)."""
    first, _, second = sql.partition("UNION")
    first = (
        first.replace("c.reldiststyle", "0")
        .replace("AND schema =", "AND n.nspname =")
        .replace("AND relname =", "AND c.relname =")
    )
    second = (
        second.replace("where 1 ", "where true ")
        .replace("AND schema =", "AND s.schemaname =")
        .replace("AND relname =", "AND t.tablename =")
    )
    return f"{first}UNION{second}"


def _field(path: str) -> str:
    m = re.fullmatch(r"\$\[['\"]([^'\"]+)['\"]\]|\$\.(\w+)", path.strip())
    assert m, f"JSONPaths expression the harness does not emulate: {path}"
    return m[1] or m[2]


def _records(text: str) -> Iterator[tuple[int, str, Any]]:
    """(last line number, raw text, parsed value or None) of each JSON value in ``text``."""
    decoder = json.JSONDecoder()
    pos, line = 0, 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            line += text[pos] == "\n"
            pos += 1
        if pos >= len(text):
            return
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            yield line, text[pos:end], None
            pos = end
            continue
        raw = text[pos:end]
        line += raw.count("\n")
        yield line, raw, value
        pos = end


def _typed(
    record: Any,
    raw: str,
    line: int,
    columns: list[str],
    paths: list[str] | None,
    types: dict[str, tuple[str, int]],
) -> tuple[dict[str, Any], CopyError | None]:
    """A staging row from one record with COPY's JSON rules, or why COPY rejects it."""
    if not isinstance(record, dict):
        return {}, CopyError(line, "", "Invalid JSONPath format: Member is not an object.", raw)
    keys = paths if paths is not None else columns
    row: dict[str, Any] = {}
    for column, key in zip(columns, keys, strict=True):
        value = record.get(key)
        kind, length = types[column]
        if isinstance(value, str) and value.strip() == "":
            value = None  # BLANKSASNULL, EMPTYASNULL
        if value is None:
            row[column] = None
        elif kind in ("integer", "bigint", "smallint"):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, str))
                or (isinstance(value, str) and not re.fullmatch(r"\s*[+-]?\d+\s*", value))
            ):
                return {}, CopyError(
                    line, column, f"Invalid digit, Value '{value}', Type: {kind.title()}", raw
                )
            row[column] = int(value)
        elif kind in ("double precision", "real", "numeric"):
            try:
                row[column] = float(value)
            except (TypeError, ValueError):
                return {}, CopyError(
                    line, column, f"Invalid digit, Value '{value}', Type: Double", raw
                )
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            if length and len(text.encode("utf-8")) > length:
                return {}, CopyError(line, column, "String length exceeds DDL length", raw)
            row[column] = text
    return row, None
