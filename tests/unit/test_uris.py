"""Sources parsed once into typed values: sparkify_dw.uris."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkify_dw.errors import ConfigError
from sparkify_dw.uris import S3_URI_RE, LocalPath, S3Uri, parse_source

PACKAGE = Path(__file__).resolve().parents[2] / "sparkify_dw"

GOOD = [
    "s3://udacity-dend",
    "s3://udacity-dend/",
    "s3://udacity-dend/log_data",
    "s3://udacity-dend/log_data/",
    "s3://my.bucket-1/a/b c/d.json",
    "s3://abc//x",
    "s3://sparkify-sample/manifests/staging_events-0123456789abcdef.manifest",
]
# What tests/functional/s3/test_s3.py and tests/unit/test_config.py have always seen refused.
BAD = [
    "s3://Upper/x",
    "s3://ab/x",
    "s3://b_ucket/x",
    "s3://bucket/a'b",
    's3://bucket/a"b',
    "s3://bucket/a;b",
    "s3://bucket/a\\b",
    "s3://bucket/a\nb",
    "s3://bucket/a\x00b",
    "s3://udacity-dend/log_data'; DELETE FROM users;--",
    "s3://",
    "s3:///key",
]


@pytest.mark.parametrize("text", GOOD)
def test_round_trip(text: str) -> None:
    uri = S3Uri.parse(text, "log_data")
    assert str(uri) == text
    assert S3Uri.parse(str(uri), "again") == uri
    assert parse_source(text, "log_data") == uri and uri.scheme == "s3"
    assert str(pickle.loads(pickle.dumps(uri))) == text  # settings may be copied or pickled


def test_parts() -> None:
    assert S3Uri.parse("s3://bkt", "x") == S3Uri("bkt") == S3Uri.parse("s3://bkt/", "x")
    assert S3Uri.parse("s3://bkt/a/b.json", "x") == S3Uri("bkt", "a/b.json")
    assert S3Uri.parse("s3://bkt/a/", "x").key == "a/"


@pytest.mark.parametrize("text", BAD)
def test_refused_with_one_line_naming_the_setting(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        S3Uri.parse(text, "$SPARKIFY_DW_LOG_DATA")
    message = str(info.value)
    assert message == (
        "$SPARKIFY_DW_LOG_DATA: not a valid S3 URI: quotes, semicolons, "
        "backslashes and control characters are not allowed"
    )
    with pytest.raises(ConfigError, match="not a valid S3 URI"):
        parse_source(text, "log_data")


@pytest.mark.parametrize("text", ["udacity-dend/log_data", "file:///tmp/x", "S3://b/x"])
def test_not_an_s3_uri(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^log_data: not an s3:// URI$"):
        S3Uri.parse(text, "log_data")


def test_no_unchecked_instance() -> None:
    """Built from parts, not parsed, an S3Uri is still checked: none can hold a quote."""
    for bucket, key in (("bkt", "a'b"), ("bkt", "a\nb"), ("B", "x"), ("bkt/x", "y")):
        with pytest.raises(ConfigError) as info:
            S3Uri(bucket, key)
        assert "\n" not in str(info.value) and "not a valid S3 URI" in str(info.value)
    with pytest.raises(ConfigError):
        S3Uri.parse("s3://bkt/m", "x").child("it's.manifest")


@given(
    st.text(alphabet=st.sampled_from("s3:/ab.-_'\\;\n\"xé"), max_size=20).map(
        lambda t: "s3://" + t if not t.startswith("s3:") else t
    )
)
def test_parse_is_the_pattern(text: str) -> None:
    """Parsing accepts exactly what the pattern COPY relied on accepts, and gives it back."""
    try:
        uri = S3Uri.parse(text, "x")
    except ConfigError as exc:
        assert "\n" not in str(exc) and not S3_URI_RE.fullmatch(text)
    else:
        assert S3_URI_RE.fullmatch(text) and str(uri) == text


@pytest.mark.parametrize(
    ("prefix", "inside"),
    [
        ("s3://bkt", "s3://bkt/m.manifest"),
        ("s3://bkt/", "s3://bkt/m.manifest"),
        ("s3://bkt/m", "s3://bkt/m/x.manifest"),
        ("s3://bkt/m/", "s3://bkt/m/x.manifest"),
    ],
)
def test_child_and_holds(prefix: str, inside: str) -> None:
    where = S3Uri.parse(prefix, "MANIFEST_PREFIX")
    name = inside.rsplit("/", 1)[1]
    assert str(where.child(name)) == inside
    assert where.holds(inside) and where.holds(str(where.child("deeper/y")))
    assert not where.holds("s3://bkt2/m/x.manifest")
    if where.key:
        assert not where.holds("s3://bkt/m_old/x.manifest")  # a sibling prefix is not in it


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("/data/log_data", "/data/log_data"),
        ("file:///data/song_data", "/data/song_data"),
        ("data/*.json", "data/*.json"),
    ],
)
def test_local_paths(text: str, path: str) -> None:
    source = parse_source(text, "log_data")
    assert source == LocalPath(text) and source.scheme == "file"
    assert isinstance(source, LocalPath) and source.path == path and str(source) == text
    assert parse_source(source, "again") is source  # a parsed one is not parsed again


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://host/logs", "log_data: unsupported source scheme (use a path, file:// or s3://)"),
        ("/tmp/a\x00b", "log_data: path contains a NUL byte"),
    ],
)
def test_bad_local_paths(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_source(text, "log_data")
    assert str(info.value) == message
    with pytest.raises(ConfigError):
        LocalPath(text)


def test_an_s3_uri_is_no_local_path() -> None:
    with pytest.raises(ConfigError, match="an s3:// URI, not a local path"):
        LocalPath("s3://bkt/log_data")


SCHEME_TEST = re.compile(
    r"""(startswith|removeprefix|endswith)\(\s*(f?["'])s3://|["']s3://["']\s+(not\s+)?in\b"""
)


def test_the_s3_scheme_is_tested_in_one_module() -> None:
    """Outside sparkify_dw/uris.py no code tests text for ``s3://``: it uses the types."""
    found = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "uris.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SCHEME_TEST.search(line)
    ]
    assert found == []
    assert SCHEME_TEST.search('if source.startswith("s3://"):')  # the check can fail
    assert SCHEME_TEST.search("return 's3://' in text")
