"""What a downgrade would destroy, counted before it runs: no data is dropped by default.

Why the offline script: it is exactly what Alembic would send, so the tables and columns it
drops are read from its own ``DROP TABLE`` and ``DROP COLUMN`` statements, whichever
migration holds them, with no list kept by hand.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field

import click
import sqlalchemy as sa

from sparkify_dw.config import Settings
from sparkify_dw.errors import ConfigError

_DROP_TABLE = re.compile(r"^DROP TABLE (?:IF EXISTS )?\"?(\w+)\"?", re.IGNORECASE | re.MULTILINE)
_CREATE_TABLE = re.compile(r"^CREATE TABLE \"?(\w+)\"?", re.IGNORECASE | re.MULTILINE)
_DROP_COLUMN = re.compile(r"^ALTER TABLE \"?(\w+)\"? DROP COLUMN", re.IGNORECASE | re.MULTILINE)


@dataclass
class Loss:
    """The tables a downgrade drops (or loses a column of) and the rows each holds."""

    current: str | None
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def held(self) -> dict[str, int]:
        return {t: n for t, n in self.rows.items() if n}

    def text(self) -> str:
        if not self.rows:
            return "it drops nothing"
        return ", ".join(
            f"{t} ({n:,} row{'' if n == 1 else 's'})" for t, n in sorted(self.rows.items())
        )


def what_it_drops(settings: Settings, revision: str) -> Loss:
    """The tables and columns going from the warehouse's revision to ``revision`` drops,
    with their row counts (read as every reader reads: nothing written, and a warehouse
    that isn't there is one line, never a new empty one)."""
    from alembic import command

    from sparkify_dw import backends, schema

    engine = backends.for_settings(settings).read_engine()
    try:
        with engine.connect() as conn:
            current = schema.current_revision(conn)
            if current is None:
                return Loss(None)
            cfg = schema.alembic_config()
            cfg.attributes["url"] = settings.url
            cfg.attributes["configure_logging"] = False
            script = io.StringIO()
            cfg.output_buffer = script
            quiet = logging.getLogger("alembic")
            level = quiet.level
            quiet.setLevel(logging.ERROR)  # the script's own notes are for the real run
            try:
                command.downgrade(cfg, f"{current}:{revision}", sql=True)
            finally:
                quiet.setLevel(level)
            sql = script.getvalue()
            names = _dropped_tables(sql) | set(_DROP_COLUMN.findall(sql))
            names.discard("alembic_version")
            inspector = sa.inspect(conn)
            rows = {
                name: int(
                    conn.execute(
                        sa.select(sa.func.count()).select_from(sa.table(name))
                    ).scalar_one()
                )
                for name in sorted(names)
                if inspector.has_table(name)
            }
            return Loss(current, rows)
    finally:
        engine.dispose()


def _dropped_tables(sql: str) -> set[str]:
    """Tables the script drops and does not create again after: a table rebuilt by a
    reviewed migration (set aside, dropped, created, filled again) keeps its rows."""
    created = [(m.start(), m.group(1)) for m in _CREATE_TABLE.finditer(sql)]
    return {
        m.group(1)
        for m in _DROP_TABLE.finditer(sql)
        if not any(at > m.start() and name == m.group(1) for at, name in created)
    }


def confirm(loss: Loss, revision: str, *, yes: bool, interactive: bool) -> None:
    """Go on only if nothing with rows is dropped and the target isn't ``base``, or when
    told so: ``--yes``, or a yes at a terminal. Otherwise a one-line refusal (exit 2)."""
    if yes or (not loss.held and revision != "base"):
        return
    what = f"downgrade to {revision} from {loss.current or 'no schema'}: {loss.text()}"
    if interactive:
        click.echo(what, err=True)
        if click.confirm("Drop them?", default=False, err=True):
            return
        raise ConfigError(f"{what}; not confirmed, nothing changed")
    raise ConfigError(f"{what}; run it again with --yes to drop them")
