"""Listing source files, parsing JSONPaths, framing JSON records."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sparkify_dw.errors import SourceError
from sparkify_dw.framing import iter_records
from sparkify_dw.sources import Reader, parse_jsonpath, read_jsonpaths
from tests.support.helpers import SAMPLE


def frames(data: str | bytes) -> list[tuple[int, str | None, str]]:
    raw = data.encode() if isinstance(data, str) else data
    return list(iter_records(io.BytesIO(raw)))


def good(data: str | bytes) -> list[tuple[int, str]]:
    return [(n, text) for n, reason, text in frames(data) if reason is None]


def test_newline_delimited_with_blank_lines() -> None:
    assert frames('{"a":1}\n\n  \n{"a":2}\n') == [(1, None, '{"a":1}'), (4, None, '{"a":2}')]


def test_concatenated_and_pretty_printed() -> None:
    text = '{"a":1}{"a":2} {"a":3}\n{\n  "a": 4,\n  "b": [1,\n 2]\n}\n{"a":5}'
    assert [n for n, _ in good(text)] == [1, 1, 1, 2, 7]
    assert good(text)[3][1].startswith("{\n") and good(text)[3][1].endswith("}")


@pytest.mark.parametrize(
    ("text", "line"),
    [('{"a":1}\n{"a":\n', 2), ('{"a":1}\n{"a" 1}\n', 2), ('{"a":1}\nnot json\n{"a":2}', 2)],
)
def test_malformed_is_rejected_at_its_line_and_framing_goes_on(text: str, line: int) -> None:
    rejected = [(n, reason) for n, reason, _ in frames(text) if reason]
    assert len(rejected) == 1
    assert rejected[0][0] == line and rejected[0][1].startswith("malformed JSON")
    assert good(text)[0] == (1, '{"a":1}')
    assert all(n != line for n, _ in good(text))


def test_truncated_line_costs_one_record() -> None:
    # A cut-off line followed by good ones: only the cut-off line is rejected.
    result = frames('{"a":1}\n{"a": {"b"\n{"c":2}\n{"d":3}\n')
    assert [(n, r is None) for n, r, _ in result] == [(1, True), (2, False), (3, True), (4, True)]


def test_bom_invalid_utf8_and_crlf() -> None:
    result = frames(b'\xef\xbb\xbf{"a":1}\r\n\xff\xfe{"b":2}\r\n{"c":3}\r\n')
    assert result[0] == (1, None, '{"a":1}')
    assert result[1][0] == 2 and result[1][1] is not None and "invalid UTF-8" in result[1][1]
    assert result[2] == (3, None, '{"c":3}')


def test_nul_in_rejected_text_is_replaced() -> None:
    ((_, reason, text),) = frames(b'{"a":"\x00"}\n')
    assert reason is not None and "\x00" not in text


def listed(source: str) -> list[Path]:
    """The local files the loader lists for ``source``."""
    files = Reader().list(source, "log_data")
    assert all(
        f.path == f.uri and f.remote is None and f.version.startswith("mtime:") for f in files
    )
    return [Path(f.uri) for f in files]


def test_list_directory_skips_hidden_and_non_json(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "a" / "x.json").write_text("{}")
    (tmp_path / "a" / ".ipynb_checkpoints" / "x-checkpoint.json").write_text("{}")
    (tmp_path / ".hidden.json").write_text("{}")
    (tmp_path / "README.md").write_text("hi")
    assert listed(str(tmp_path)) == [tmp_path / "a" / "x.json"]
    assert "ignored 1 file(s) not named *.json" in caplog.text
    assert listed(f"file://{tmp_path}/a/*.json") == [tmp_path / "a" / "x.json"]


def test_a_local_file_has_no_s3_object(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    [f] = Reader().list(str(tmp_path), "log_data")
    with pytest.raises(SourceError, match="not a listed S3 object"):
        _ = f.s3_object


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "no such file or directory"),
        (lambda p: p, "no \\*.json files"),
        (lambda p: p / "*.nothing", "the pattern matches no file"),
    ],
)
def test_list_errors(tmp_path: Path, make: object, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        listed(str(make(tmp_path)))  # type: ignore[operator]


def test_sample_jsonpaths() -> None:
    paths = read_jsonpaths(str(SAMPLE / "log_json_path.json"), expected=18)
    assert paths[0] == ("artist",) and paths[-1] == ("userId",)


@pytest.mark.parametrize(
    ("expr", "steps"), [("$['a']", ("a",)), ("$.a.b", ("a", "b")), ('$["a b"][0]', ("a b", 0))]
)
def test_parse_jsonpath(expr: str, steps: tuple[object, ...]) -> None:
    assert parse_jsonpath(expr) == steps


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"paths": []}', "expected"),
        ('{"jsonpaths": ["$.a"]}', "has 1 paths, staging_events has 18"),
        ('{"jsonpaths": ["$.a", "a"' + ', "$.b"' * 16 + "]}", "must start with"),
    ],
)
def test_bad_jsonpaths_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "paths.json"
    path.write_text(content)
    with pytest.raises(SourceError, match=message):
        read_jsonpaths(str(path), expected=18)
