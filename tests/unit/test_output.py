"""One renderer (sparkify_dw.output): every command's tables, JSON and numbers.

``analytics``, ``history``, ``errors``, ``check`` and ``status`` hand it data; a number
reads the same whichever prints it."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

from sparkify_dw import output, status
from sparkify_dw.check import report
from sparkify_dw.checks import CheckResult


def test_cells() -> None:
    assert output.cell(1234567) == "1,234,567"
    assert output.cell(Decimal("1234")) == "1,234"
    assert output.cell(0.000288) == "0.0288%"  # a share
    assert output.cell(1234.5) == "1,234.50"
    assert output.cell(None) == "" and output.cell(True) == "true"
    assert output.cell(dt.datetime(2018, 11, 21, 23, 57, 45, 123)) == "2018-11-21 23:57:45"
    assert output.cell("a\tb") != "a\tb"  # shown, not acted on


def test_a_table_has_a_header_a_rule_and_numbers_on_the_right() -> None:
    lines = output.table_lines(["name", "plays"], [["a", 5], ["bbbb", 1234]])
    assert lines == ["name  plays", "----  -----", "a         5", "bbbb  1,234"]
    assert output.table_lines(["name"], []) == ["name", "----", "(no rows)"]
    out = io.StringIO()
    output.print_table(["n"], [[1]], out)
    assert out.getvalue() == "n\n-\n1\n"


def test_json_is_indented_with_iso_times_and_exact_numbers() -> None:
    out = io.StringIO()
    output.print_json({"at": dt.datetime(2018, 11, 1), "n": Decimal("3"), "x": Decimal("0.5")}, out)
    assert json.loads(out.getvalue()) == {"at": "2018-11-01T00:00:00", "n": 3, "x": 0.5}
    assert out.getvalue().startswith("{\n  ")


def test_check_and_status_print_numbers_as_the_tables_do() -> None:
    big = 1234567
    result = CheckResult("users.pk_unique", big, ("user_id",), ((1,),))
    headers, rows = report([result])
    assert output.cell(big) in "\n".join(output.table_lines(headers, rows))
    now = dt.datetime(2018, 11, 22)
    found = status.Status(
        warehouse="w",
        now=now,
        last_success=None,
        last_load={"load_id": 1, "status": "failed", "message": None},
        last_load_rejected=big,
        newest_event=None,
        rows={"songplays": big},
        checks_run=0,
    )
    text = "\n".join(output.field_lines(found.fields()))
    assert text.count(output.cell(big)) == 2
