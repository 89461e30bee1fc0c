"""CreateCluster's rules (sparkify_dw.cluster.config), checked before any AWS call."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sparkify_dw.backends.redshift import cluster
from sparkify_dw.errors import ConfigError
from tests.unit.cluster.support import CLUSTER_ID, PASSWORD, client, run, write_cfg

# ------------------------------------------------ CreateCluster's rules, before any AWS call


def test_no_aws_records_and_stops_a_call(no_aws: list[str], tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="an AWS request was sent"):
        run("status", "--config", str(write_cfg(tmp_path)))
    assert len(no_aws) == 1  # the first operation, stopped: nothing more followed


def set_keys(path: Path, **values: str) -> Path:
    """Replace ``KEY=value`` lines of a dwh.cfg written by write_cfg."""
    lines = path.read_text().splitlines(keepends=True)
    for key, value in values.items():
        hits = [i for i, line in enumerate(lines) if line.startswith(f"{key}=")]
        assert len(hits) == 1, key
        lines[hits[0]] = f"{key}={value}\n"
    path.write_text("".join(lines))
    return path


def assert_refused(
    cfg: Path,
    calls: list[str],
    capsys: pytest.CaptureFixture[str],
    key: str,
    fragment: str,
    password: str = PASSWORD,
) -> None:
    """``create`` exits 2 with one line naming dwh.cfg and the key, calls no AWS
    operation, and never prints the password (nor had to scrub it)."""
    assert run("create", "--config", str(cfg), "--poll-interval", "0") == cluster.EXIT_CONFIG
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {cfg}: {key}")
    assert fragment in captured.err
    assert captured.err.count("\n") == 1
    assert calls == []
    assert password not in captured.out + captured.err
    assert "***" not in captured.err


NODES_AND_PORTS = [
    # NUM_NODES: CreateCluster's NumberOfNodes is 1-100.
    ({"NUM_NODES": "101"}, "[PROVISION] NUM_NODES", "a whole number from 1 to 100"),
    ({"NUM_NODES": "0"}, "[PROVISION] NUM_NODES", "a whole number from 1 to 100"),
    ({"NUM_NODES": "-2"}, "[PROVISION] NUM_NODES", "a whole number from 1 to 100"),
    ({"NUM_NODES": "2.5"}, "[PROVISION] NUM_NODES", "a whole number from 1 to 100"),
    ({"NUM_NODES": "two"}, "[PROVISION] NUM_NODES", "a whole number from 1 to 100"),
    # DB_PORT: ra3 nodes take 5431-5455 or 8191-8215 only ...
    (
        {"NODE_TYPE": "ra3.xlplus", "DB_PORT": "5430"},
        "[CLUSTER] DB_PORT",
        "ra3.xlplus nodes listen only on 5431-5455 or 8191-8215, not 5430",
    ),
    ({"NODE_TYPE": "ra3.xlplus", "DB_PORT": "5456"}, "[CLUSTER] DB_PORT", "5431-5455 or 8191"),
    ({"NODE_TYPE": "ra3.4xlarge", "DB_PORT": "8190"}, "[CLUSTER] DB_PORT", "5431-5455 or 8191"),
    ({"NODE_TYPE": "ra3.16xlarge", "DB_PORT": "8216"}, "[CLUSTER] DB_PORT", "5431-5455 or 8191"),
    ({"NODE_TYPE": "ra3.large", "DB_PORT": "1150"}, "[CLUSTER] DB_PORT", "5431-5455 or 8191"),
    # ... other node types (dc2) 1150-65535, and it must be a number.
    ({"DB_PORT": "1149"}, "[CLUSTER] DB_PORT", "Redshift ports are 1150-65535"),
    ({"DB_PORT": "65536"}, "[CLUSTER] DB_PORT", "Redshift ports are 1150-65535"),
    ({"DB_PORT": "port"}, "[CLUSTER] DB_PORT", "a whole number"),
]


@pytest.mark.parametrize("values, key, fragment", NODES_AND_PORTS)
def test_create_refuses_node_count_and_port(
    values: dict[str, str],
    key: str,
    fragment: str,
    no_aws: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = set_keys(write_cfg(tmp_path), **values)
    assert_refused(cfg, no_aws, capsys, key, fragment)


NAMES = [
    # DB_NAME: 1-64 lower-case letters, digits, underscores; no $ (URLs are built from it).
    ("DB_NAME", "Dwh", "1-64 lower-case letters, digits and underscores; try 'dwh'"),
    ("DB_NAME", "DWH_PROD", "try 'dwh_prod'"),
    ("DB_NAME", "dwh$1", "1-64 lower-case letters, digits and underscores"),
    ("DB_NAME", "dwh-prod", "1-64 lower-case letters, digits and underscores"),
    ("DB_NAME", "dwh.prod", "1-64 lower-case letters, digits and underscores"),
    ("DB_NAME", "d" * 65, "1-64 lower-case letters, digits and underscores"),
    ("DB_NAME", "dwé", "1-64 lower-case letters, digits and underscores"),
    ("DB_NAME", "Table", "1-64 lower-case letters"),  # no hint: 'table' is reserved
    # ... not a reserved word ...
    ("DB_NAME", "public", "'public' is a Redshift reserved word"),
    ("DB_NAME", "user", "'user' is a Redshift reserved word"),
    ("DB_NAME", "table", "'table' is a Redshift reserved word"),
    ("DB_NAME", "select", "'select' is a Redshift reserved word"),
    ("DB_NAME", "default", "'default' is a Redshift reserved word"),
    ("DB_NAME", "snapshot", "'snapshot' is a Redshift reserved word"),
    # ... and an identifier sparkify_dw can connect to.
    ("DB_NAME", "1dwh", "accepted by Redshift but not by sparkify_dw"),
    # DB_USER (MasterUsername): a lower-case letter, then a-z 0-9 _ + . @ -; 1-128.
    (
        "DB_USER",
        "DwhUser",
        "a lower-case letter first, then lower-case letters, digits and _ + . @ -; try 'dwhuser'",
    ),
    ("DB_USER", "1dwh", "a lower-case letter first"),
    ("DB_USER", "_dwh", "a lower-case letter first"),
    ("DB_USER", "dwh$user", "a lower-case letter first"),
    ("DB_USER", "dwh:user", "a lower-case letter first"),
    ("DB_USER", "dwh/user", "a lower-case letter first"),
    ("DB_USER", "dwh user", "a lower-case letter first"),
    ("DB_USER", "u" * 129, "1-128 characters"),
    ("DB_USER", "public", "'public' is a Redshift reserved word"),
    ("DB_USER", "user", "'user' is a Redshift reserved word"),
    ("DB_USER", "current_user", "'current_user' is a Redshift reserved word"),
    # Redshift takes + . @ - and 128 characters, the warehouse URL does not.
    ("DB_USER", "etl.user", "accepted by Redshift but not by sparkify_dw"),
    ("DB_USER", "etl+user@example-corp", "accepted by Redshift but not by sparkify_dw"),
    ("DB_USER", "u" * 128, "accepted by Redshift but not by sparkify_dw"),
]


@pytest.mark.parametrize("key, value, fragment", NAMES)
def test_create_refuses_database_and_user_names(
    key: str,
    value: str,
    fragment: str,
    no_aws: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = set_keys(write_cfg(tmp_path), **{key: value})
    assert_refused(cfg, no_aws, capsys, f"[CLUSTER] {key}: {value!r}", fragment)


def test_reserved_words_are_lower_case_data() -> None:
    words = cluster.REDSHIFT_RESERVED_WORDS
    assert {"user", "table", "select", "default", "snapshot", "tag"} <= words
    assert all(word == word.lower() and " " not in word for word in words)
    assert "public" not in words and "public" in cluster.RESERVED_NAMES
    assert "dwh" not in cluster.RESERVED_NAMES and "dev" not in cluster.RESERVED_NAMES


BAD_PASSWORDS = [
    "Ab1defg",  # 7 characters
    "Ab1" + "x" * 62,  # 65 characters
    "alllowercase1",  # no upper-case letter
    "ALLUPPERCASE1",  # no lower-case letter
    "NoDigitsHere",  # no digit
    "Abc'defg1",  # single quote
    'Abc"defg1',  # double quote
    "Abc\\defg1",  # backslash
    "Abc/defg1",  # slash
    "Abc@defg1",  # at sign
    "Abc defg1",  # space
    "Abc\tdefg1",  # not printable
    "Abcdéfg1",  # not ASCII
]


@pytest.mark.parametrize("password", BAD_PASSWORDS)
def test_create_refuses_password_without_printing_it(
    password: str, no_aws: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_cfg(tmp_path, password=password)
    assert cluster.load_config(cfg).db_password == password  # written as meant
    assert_refused(
        cfg,
        no_aws,
        capsys,
        "[CLUSTER] DB_PASSWORD",
        "does not meet Redshift's rules: 8-64 characters",
        password=password,
    )
    # Not in the traceback either, and not merely scrubbed out of the message.
    assert run("-v", "create", "--config", str(cfg)) == cluster.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "Traceback" in err and password not in err and "***" not in err
    with pytest.raises(ConfigError) as raised:
        cluster.create(cfg, out=io.StringIO())
    assert password not in str(raised.value)
    assert no_aws == []


ACCEPTED = [
    ({"NODE_TYPE": "ra3.xlplus", "DB_PORT": "5431", "NUM_NODES": "1"}, PASSWORD),
    ({"NODE_TYPE": "ra3.xlplus", "DB_PORT": "5455", "NUM_NODES": "100"}, "Aa1!#$%&"),
    (
        {"NODE_TYPE": "ra3.4xlarge", "DB_PORT": "8191", "DB_NAME": "d" * 64},
        "Aa1()*+,-.:;<=>?[]^_`{|}~",
    ),
    ({"NODE_TYPE": "ra3.4xlarge", "DB_PORT": "8215", "DB_USER": "u" * 127}, "Aa1" + "~" * 61),
    ({"DB_PORT": "1150", "DB_NAME": "_sparkify_2", "DB_USER": "etl_2"}, PASSWORD),
    ({"DB_PORT": "65535", "DB_NAME": "dev", "DB_USER": "awsuser"}, PASSWORD),
]


@pytest.mark.parametrize("values, password", ACCEPTED)
def test_create_accepts_the_limits(
    values: dict[str, str],
    password: str,
    aws_calls: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = set_keys(write_cfg(tmp_path, password=password), **values)
    assert run("create", "--config", str(cfg), "--poll-interval", "0") == 0
    captured = capsys.readouterr()
    assert "CreateCluster" in aws_calls  # the recorder sees calls when there are some
    assert password not in captured.out + captured.err
    described = client("redshift").describe_clusters(ClusterIdentifier=CLUSTER_ID)["Clusters"][0]
    assert described["Endpoint"]["Port"] == int(values["DB_PORT"])
    assert described["NodeType"] == values.get("NODE_TYPE", "dc2.large")
    assert described["NumberOfNodes"] == int(values.get("NUM_NODES", "2"))
    assert described["DBName"] == values.get("DB_NAME", "dwh")
    assert described["MasterUsername"] == values.get("DB_USER", "dwhuser")


def test_status_and_delete_take_a_resized_cluster(aws_calls: list[str], tmp_path: Path) -> None:
    # More than CreateCluster's 100 nodes is only refused by create.
    cfg = set_keys(write_cfg(tmp_path), NUM_NODES="128")
    assert run("status", "--config", str(cfg)) == cluster.EXIT_NO_CLUSTER
    assert run("delete", "--config", str(cfg)) == 0
    assert "DescribeClusters" in aws_calls
