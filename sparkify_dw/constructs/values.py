"""Value expressions that differ per dialect: epoch milliseconds as a timestamp, a strict
cast that never errors and judges alike on every engine, a value's length in UTF-8 bytes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Interval, String, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TIMESTAMP, TypeEngine

from sparkify_dw.constructs.dispatch import engine_first, function_constructs


def literal_text(compiler: SQLCompiler, value: str) -> str:
    """``value`` as a quoted SQL string literal in the compiler's dialect."""
    return compiler.render_literal_value(value, String())  # type: ignore[no-any-return]


# --- epoch milliseconds to a UTC timestamp ----------------------------------------------------


class epoch_ms_to_timestamp(FunctionElement[Any]):
    """``ts`` (epoch milliseconds, BIGINT) as a TIMESTAMP with millisecond precision.

    Integer arithmetic only: ``ts / 1000`` on BIGINT is integer division on PostgreSQL
    and Redshift, so the milliseconds are added separately and nothing is rounded.
    """

    type = TIMESTAMP()
    inherit_cache = True
    name = "epoch_ms_to_timestamp"


@compiles(epoch_ms_to_timestamp)
def _epoch_ms_default(element: epoch_ms_to_timestamp, compiler: SQLCompiler, **kw: Any) -> str:
    found = engine_first(element, compiler, **kw)
    if found is not None:
        return found
    ms = next(iter(element.clauses))
    epoch = literal_column("TIMESTAMP 'epoch'", TIMESTAMP())
    second = literal_column("INTERVAL '1 second'", Interval())
    milli = literal_column("INTERVAL '1 millisecond'", Interval())
    # // on integers is integer division; MOD() rather than %, which some drivers escape.
    expr = epoch + (ms // 1000) * second + func.mod(ms, 1000) * milli
    return f"({compiler.process(expr, **kw)})"


# --- a strict cast: NULL instead of an error, and the same verdict on every engine -------
#
# The engines hand over a JSON number's text differently: DuckDB re-prints the double it
# parsed (1e1 becomes '10.0'), PostgreSQL's jsonb keeps the exact decimal ('10'). So the
# rules are about values, which both see alike:
#   * an integer column takes a whole number of magnitude below 2**53 (and in the column's
#     range), however it is spelled: 1e1, 10.0 and "10" are 10; 1.5 is rejected. Spellings
#     with a fraction or exponent are judged by their double value, as DuckDB parsed them;
#   * a double column takes any number up to 1.7e308 in magnitude; one below 2.3e-308
#     (1e-400) is 0, as DuckDB reads it;
#   * text that isn't a decimal number, or has an exponent of 5 digits or more, or is longer
#     than 3,000 characters, is no number.

_INTEGER_RE = r"[ \t]*[+-]?[0-9]+[ \t]*"
_DOUBLE_RE = r"[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?0*[0-9]{1,4})?[ \t]*"
_PLAIN_DOUBLE_RE = r"[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[ \t]*"  # no exponent
SHORT_CHARS = {"SMALLINT": 4, "INTEGER": 9, "BIGINT": 15, "DOUBLE": 60}  # always in range
MAX_NUMBER_CHARS = 3000  # jsonb prints 1e-999 with 1,001 digits: well within numeric's range
EXACT = 2**53  # integers a double holds exactly
_INT_RANGES = {
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INTEGER": (-(2**31), 2**31 - 1),
    "BIGINT": (-(EXACT - 1), EXACT - 1),
}
TINY, HUGE = "2.3e-308", "1.7e308"  # below: 0; above: not a double


class strict_cast(FunctionElement[Any]):
    """``text`` as ``type_`` by the rules above, else NULL (never an error).

    Engines disagree on what else to accept (DuckDB rounds '1.5' to an integer, reads
    '0x10' and '1_000'; PostgreSQL 15 rejects them and has no TRY_CAST), so the accepted
    syntax is spelled out once here: what a JSON number looks like.
    """

    inherit_cache = False
    name = "strict_cast"

    def __init__(self, text: ColumnElement[Any], type_: TypeEngine[Any]) -> None:
        super().__init__(text)
        self.type = type_
        self.target = type_


def _type_name(compiler: SQLCompiler, type_: TypeEngine[Any]) -> str:
    return compiler.dialect.type_compiler_instance.process(type_)


# --- a value's length in UTF-8 bytes --------------------------------------------------------


class byte_length(FunctionElement[int]):
    """The UTF-8 length of a text: Redshift's VARCHAR(n) counts bytes, so every backend
    measures bytes and rejects the same values."""

    type = Integer()
    inherit_cache = True
    name = "byte_length"


function_constructs(strict_cast, byte_length)  # each engine's visitors: its package
