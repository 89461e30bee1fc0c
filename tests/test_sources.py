"""Listing source files, parsing JSONPaths, framing JSON records."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sparkify_dw.sources import (
    RecordError,
    SourceError,
    iter_records,
    list_files,
    parse_jsonpath,
    read_jsonpaths,
)
from tests.helpers import SAMPLE


def frames(text: str) -> list[tuple[int, str]]:
    return list(iter_records(io.StringIO(text)))


def test_newline_delimited_with_blank_lines() -> None:
    assert frames('{"a":1}\n\n  \n{"a":2}\n') == [(1, '{"a":1}'), (4, '{"a":2}')]


def test_concatenated_and_pretty_printed() -> None:
    text = '{"a":1}{"a":2} {"a":3}\n{\n  "a": 4,\n  "b": [1,\n 2]\n}\n{"a":5}'
    assert [n for n, _ in frames(text)] == [1, 1, 1, 2, 7]
    assert frames(text)[3][1].startswith("{\n") and frames(text)[3][1].endswith("}")


@pytest.mark.parametrize(("text", "line"), [('{"a":1}\n{"a":\n', 2), ('{"a":1}\n{"a" 1}\n', 2),
                                            ('{"a":1}\nnot json\n{"a":2}', 2)])
def test_malformed_names_its_line(text: str, line: int) -> None:
    with pytest.raises(RecordError) as info:
        frames(text)
    assert info.value.line == line and "malformed JSON" in info.value.reason


def test_list_files_directory_skips_hidden_and_non_json(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "a" / "x.json").write_text("{}")
    (tmp_path / "a" / ".ipynb_checkpoints" / "x-checkpoint.json").write_text("{}")
    (tmp_path / ".hidden.json").write_text("{}")
    (tmp_path / "README.md").write_text("hi")
    assert list_files(str(tmp_path)) == [tmp_path / "a" / "x.json"]
    assert "ignored 1 file(s) not named *.json" in caplog.text
    assert list_files(f"file://{tmp_path}/a/*.json") == [tmp_path / "a" / "x.json"]


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p / "missing", "no such file or directory"),
    (lambda p: p, "no \\*.json files"),
    (lambda p: p / "*.nothing", "the pattern matches no file"),
])
def test_list_files_errors(tmp_path: Path, make: object, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        list_files(str(make(tmp_path)))  # type: ignore[operator]


def test_sample_jsonpaths() -> None:
    paths = read_jsonpaths(str(SAMPLE / "log_json_path.json"), expected=18)
    assert paths[0] == ("artist",) and paths[-1] == ("userId",)


@pytest.mark.parametrize(("expr", "steps"), [("$['a']", ("a",)), ("$.a.b", ("a", "b")),
                                             ('$["a b"][0]', ("a b", 0))])
def test_parse_jsonpath(expr: str, steps: tuple[object, ...]) -> None:
    assert parse_jsonpath(expr) == steps


@pytest.mark.parametrize(("content", "message"), [
    ("{", "not valid JSON"),
    ('{"paths": []}', "expected"),
    ('{"jsonpaths": ["$.a"]}', "has 1 paths, staging_events has 18"),
    ('{"jsonpaths": ["$.a", "a"' + ', "$.b"' * 16 + "]}", "must start with"),
])
def test_bad_jsonpaths_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "paths.json"
    path.write_text(content)
    with pytest.raises(SourceError, match=message):
        read_jsonpaths(str(path), expected=18)
