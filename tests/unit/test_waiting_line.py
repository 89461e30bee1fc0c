"""A command that waits says so once: on stderr at a terminal, in the log (``-v``) elsewhere."""

from __future__ import annotations

import io
import logging

import pytest

from sparkify_dw import output


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_at_a_terminal_the_line_is_on_stderr(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    err = Terminal()
    monkeypatch.setattr("sys.stderr", err)
    with caplog.at_level(logging.INFO, logger="sparkify_dw.waiting"):
        output.waiting("waiting up to 5s for a load")
    assert err.getvalue() == "waiting up to 5s for a load\n" and not caplog.records


def test_elsewhere_it_is_an_info_log_record(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    with caplog.at_level(logging.INFO, logger="sparkify_dw.waiting"):
        output.waiting("waiting up to 5s for a load")
    assert err.getvalue() == ""
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "waiting up to 5s for a load")
    ]
