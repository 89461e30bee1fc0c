"""strict_cast gives the same verdict on DuckDB and PostgreSQL, value by value."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sparkify_dw.constructs import strict_cast

VALUES = [
    "12",
    " 12 ",
    "-7",
    "+3",
    "007",
    "1.5",
    "1e3",
    "2147483647",
    "2147483648",
    "-2147483648",
    "99999999999999999999",
    "abc",
    "",
    "0x10",
    "1_000",
    "NaN",
    "Infinity",
    "1e400",
    "1e-400",
    "1e-310",
    "0e999",
    "1.75e308",
    "0.5",
    ".5",
    "5.",
    "-0.0",
    "1E+2",
    "244.18841",
    "1540919166796.0",
    "1541105830796",
    # values that once split the engines, and the rules' edges
    "1e1",
    "1.5436000100e12",
    "1e-20000",
    "1e1000000",
    "1e9999",
    "9007199254740991",
    "9007199254740993",
    "1.00000000000000001",
    "2.5e-308",
    "1.7e308",
    "-1e-400",
    "1" * 3001,
]
TYPES = [sa.Integer(), sa.BigInteger(), sa.Double(), sa.SmallInteger()]
# A whole number in range, however spelled; below 2.3e-308 is 0.
EXPECTED_INTEGER = {
    "12": 12,
    " 12 ": 12,
    "-7": -7,
    "+3": 3,
    "007": 7,
    "2147483647": 2147483647,
    "-2147483648": -2147483648,
    "1e3": 1000,
    "1e-400": 0,
    "1e-310": 0,
    "0e999": 0,
    "5.": 5,
    "-0.0": 0,
    "1E+2": 100,
    "1e1": 10,
    "-1e-400": 0,
    "1.00000000000000001": 1,
}


def casts(url: sa.URL, type_: sa.types.TypeEngine[object]) -> list[object]:
    values = sa.values(sa.column("v", sa.Text), name="vals").data([(v,) for v in VALUES])
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(values.c.v, strict_cast(values.c.v, type_))).all()
    engine.dispose()
    found = dict(rows)
    return [found[v] for v in VALUES]


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: type(t).__name__)
def test_same_verdict_on_both_engines(
    duckdb_url: sa.URL, pg_url: sa.URL, type_: sa.types.TypeEngine[object]
) -> None:
    on_duckdb, on_pg = casts(duckdb_url, type_), casts(pg_url, type_)
    assert on_duckdb == on_pg
    if isinstance(type_, sa.Integer) and type(type_) is sa.Integer:
        assert dict(zip(VALUES, on_pg, strict=True)) == {v: EXPECTED_INTEGER.get(v) for v in VALUES}
    if isinstance(type_, sa.Double):
        result = dict(zip(VALUES, on_pg, strict=True))
        assert result["1e3"] == 1000.0 and result["1e400"] is None and result["NaN"] is None
        assert result["1540919166796.0"] == 1540919166796.0 and result["abc"] is None
        assert result["1e-400"] == 0 and result["1e-20000"] is None and result["1.7e308"]
    if isinstance(type_, sa.BigInteger):
        result = dict(zip(VALUES, on_pg, strict=True))
        assert result["1.5436000100e12"] == 1543600010000 and result["1e3"] == 1000
        assert result["9007199254740991"] == 2**53 - 1 and result["9007199254740993"] is None
