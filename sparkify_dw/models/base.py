"""What every table shares: the column types, the constraint naming convention, the
declarative base, and the dialect whose physical design the tables carry."""

from __future__ import annotations

import warnings

from sqlalchemy import (
    MetaData,
    String,
    Table,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TIMESTAMP

from sparkify_dw import constructs  # noqa: F401  (registers per-dialect DDL)
from sparkify_dw.extras import installed

# The dialect whose physical design the tables carry (dist and sort keys, encodings, the
# identity column): what the docs site shows next to each table.
PHYSICAL_DESIGN = "redshift"

# Without sqlalchemy-redshift, SQLAlchemy can't validate the tables' Redshift options
# (``redshift_diststyle``, ``redshift_encode``…) and warns once per table and column. They
# only matter on Redshift, which needs that extra anyway: the warning is dropped.
if not installed("sqlalchemy_redshift"):
    warnings.filterwarnings(
        "ignore",
        message=r"Can't validate argument 'redshift_\w+'; can't locate any SQLAlchemy "
        r"dialect named 'redshift'",
    )

ID = String(18)  # Million Song Dataset ids: SO… / AR… are 18 characters
NAME = String(256)
TEXT = String(512)
TAG = String(32)
Timestamp = TIMESTAMP(timezone=False)  # UTC, millisecond precision
RAW_TEXT_CHARS = 1024  # a rejected record's text is kept up to this length, as stl_load_errors

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    _repr_columns: tuple[str, ...] = ()  # shown after the key, e.g. a song's title

    def __repr__(self) -> str:
        """``<Song SOZCTXZ12AB0182364 title='Setanta matins'>``: the primary key, then the
        few columns that say which row it is; nothing is loaded from the database for it."""
        state = sa_inspect(self)
        loaded = state.dict
        key = " ".join(
            str(loaded[c.key])
            for c in state.mapper.primary_key
            if c.key is not None and loaded.get(c.key) is not None
        )
        extra = " ".join(
            f"{name}={loaded[name]!r}" for name in self._repr_columns if name in loaded
        )
        return "<" + " ".join(p for p in (type(self).__name__, key, extra) if p) + ">"


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
