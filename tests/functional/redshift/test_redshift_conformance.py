"""The conformance check itself: what Redshift refuses (or what would break a load there) is
refused, each time for the documented reason, and valid Redshift SQL passes.

Every statement the harness, the dry runs and the ``--sql`` scripts send goes through
:func:`tests.support.redshift_conformance.assert_conforms`; these tests keep that check
honest with the slips a review found it letting through."""

from __future__ import annotations

import pytest

from tests.support import redshift_allowlist
from tests.support.redshift_conformance import Statement, assert_conforms, problems

COPY = (
    "COPY staging_songs FROM 's3://bkt/manifests/staging_songs-0123456789abcdef.manifest' "
    "WITH CREDENTIALS AS 'aws_iam_role=arn:aws:iam::123456789012:role/dwhRole' "
    "{format} MANIFEST BLANKSASNULL EMPTYASNULL COMPUPDATE OFF MAXERROR AS 1 "
    "STATUPDATE OFF REGION 'us-west-2'{extra}"
)
LOCK = Statement("LOCK loads, staging_events, staging_songs")


def copy(extra: str = "", format: str = "FORMAT AS JSON AS 'auto'") -> Statement:
    return Statement(COPY.format(format=format, extra=extra))


@pytest.mark.parametrize(
    "format",
    [
        "FORMAT JSON 'auto'",
        "FORMAT AS JSON AS 'auto'",
        "FORMAT AS JSON 'auto ignorecase'",
        "JSON 's3://bkt/log_json_path.json'",
    ],
)
def test_copy_format_json_in_each_spelling_conforms(format: str) -> None:
    """``FORMAT JSON 'auto'`` is valid COPY syntax; it used to be taken for the json type."""
    assert problems(copy(format=format)) == []
    assert assert_conforms([LOCK, copy(format=format)]) == 2


@pytest.mark.parametrize("option", ["IGNOREBLANKLINES", "REMOVEQUOTES", "CSV", "DELIMITER ','"])
def test_copy_options_not_supported_with_json_are_refused(option: str) -> None:
    name = option.split()[0]
    with pytest.raises(
        AssertionError, match=rf"COPY option {name} is not supported with JSON \(\"Data format"
    ):
        assert_conforms([copy(f" {option}")])


def test_a_copy_option_off_the_list_is_refused_even_if_sqlfluff_takes_it() -> None:
    found = problems(copy(" EXPLICIT_IDS"))
    assert any("COPY option EXPLICIT_IDS is not on the allowed list" in p for p in found), found


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT count(*) FILTER (WHERE staging_events.page = 'NextSong') AS plays "
            "FROM staging_events",
            "keyword FILTER in function is not on the allowed list",
        ),
        (
            "SELECT DISTINCT ON (staging_events.user_id) staging_events.user_id, "
            "staging_events.level FROM staging_events "
            "ORDER BY staging_events.user_id, staging_events.ts DESC",
            "keyword ON in select_clause_modifier is not on the allowed list",
        ),
        ("SELECT to_regclass('songplays') IS NOT NULL", "function TO_REGCLASS is not on"),
        ("SELECT string_agg(artists.name, ',') FROM artists", "function STRING_AGG is not on"),
        ("SET search_path TO public", "setting search_path is not on the allowed list"),
        (
            "SELECT staging_events.user_agent ->> 'os' FROM staging_events",
            "operator ->> is not on the allowed list",
        ),
    ],
)
def test_what_is_not_on_the_allowed_list_is_refused(sql: str, expected: str) -> None:
    with pytest.raises(AssertionError, match="statements Redshift would refuse") as failed:
        assert_conforms([Statement(sql)])
    assert expected in str(failed.value)
    assert "redshift_allowed.toml" in str(failed.value)


SKIP_LEVEL = (
    "SELECT songs.song_id FROM songs WHERE NOT EXISTS (SELECT 1 FROM songplays "
    "WHERE NOT EXISTS (SELECT 1 FROM time WHERE time.start_time = songplays.start_time "
    "AND songs.song_id = songplays.song_id))"
)
ONE_LEVEL = (
    "SELECT songs.song_id FROM songs WHERE NOT EXISTS (SELECT 1 FROM songplays "
    "WHERE songplays.song_id = songs.song_id)"
)
WINDOW = (
    "SELECT songplays.songplay_id FROM songplays WHERE songplays.start_time NOT IN "
    "(SELECT max(time.start_time) OVER () FROM time WHERE time.hour = "
    "EXTRACT(hour FROM songplays.start_time))"
)
SKIP_THROUGH_ALIAS = (
    "SELECT e.user_id FROM staging_events AS e WHERE NOT EXISTS (SELECT 1 FROM users AS u "
    "WHERE u.user_id IN (SELECT songplays.user_id FROM songplays "
    "WHERE songplays.session_id = e.session_id))"
)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (SKIP_LEVEL, "skip-level correlated reference songs.song_id: it skips 1 query block"),
        (SKIP_THROUGH_ALIAS, "skip-level correlated reference e.session_id"),
        (WINDOW, "a correlated subquery contains a window function"),
    ],
)
def test_correlated_subqueries_redshift_cannot_decorrelate_are_refused(
    sql: str, expected: str
) -> None:
    with pytest.raises(AssertionError, match=expected) as failed:
        assert_conforms([Statement(sql)])
    assert "Correlated subqueries" in str(failed.value)


def test_correlation_one_level_up_and_uncorrelated_windows_conform() -> None:
    uncorrelated = (
        "SELECT s.song_id FROM (SELECT songs.song_id, row_number() OVER "
        "(PARTITION BY songs.title ORDER BY songs.song_id) AS n FROM songs) AS s WHERE s.n = 1"
    )
    assert assert_conforms([Statement(ONE_LEVEL), Statement(uncorrelated)]) == 2


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO songplays (songplay_id, start_time, user_id, level, session_id, "
        "item_in_session, load_id) VALUES (1, getdate(), 1, 'free', 1, 0, 1)",
        "INSERT INTO songplays (songplay_id, start_time, user_id, level, session_id, "
        "item_in_session, load_id) SELECT songplays.songplay_id + 1, songplays.start_time, "
        "songplays.user_id, songplays.level, songplays.session_id, songplays.item_in_session, "
        "songplays.load_id FROM songplays",
        "UPDATE songplays SET songplay_id = 7 WHERE songplays.songplay_id = 1",
    ],
)
def test_an_explicit_value_for_an_identity_column_is_refused(sql: str) -> None:
    with pytest.raises(AssertionError, match=r"IDENTITY column songplays\.songplay_id"):
        assert_conforms([Statement(sql)])


def test_identity_columns_are_known_from_a_create_table_in_the_same_run() -> None:
    create = Statement("CREATE TABLE t (id BIGINT IDENTITY(1,1) NOT NULL, x INTEGER)")
    with pytest.raises(AssertionError, match=r"IDENTITY column t\.id"):
        assert_conforms([create, Statement("INSERT INTO t (id, x) VALUES (1, 2)")])
    assert assert_conforms([create, Statement("INSERT INTO t (x) VALUES (2)")]) == 2


TRUNCATE = Statement("TRUNCATE staging_events")
ALTER_TYPE = Statement("ALTER TABLE users ALTER COLUMN first_name TYPE VARCHAR(512)")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (TRUNCATE, "TRUNCATE inside a transaction: it commits the transaction"),
        (ALTER_TYPE, "ALTER COLUMN … TYPE inside a transaction"),
    ],
)
def test_what_commits_or_is_refused_in_a_transaction_is_refused_there(
    statement: Statement, expected: str
) -> None:
    # As the driver sends a load: one transaction from the first statement on.
    with pytest.raises(AssertionError, match=expected):
        assert_conforms([LOCK, statement, copy()])
    # As a script: between BEGIN and COMMIT.
    with pytest.raises(AssertionError, match=expected):
        assert_conforms([Statement("BEGIN"), statement, Statement("COMMIT")])
    # Outside any transaction it is valid Redshift SQL.
    alone = Statement(statement.text, autocommit=True)
    assert assert_conforms([Statement("BEGIN"), LOCK, Statement("COMMIT"), alone]) == 4


def test_the_allowed_list_cites_a_page_for_every_entry() -> None:
    rules = redshift_allowlist.allowed()
    cited = {page for entries in rules.sections.values() for page in entries.values()}
    assert cited <= set(rules.pages)
    assert set(rules.pages) <= cited | {"r_correlated_subqueries", "r_INSERT_30"}
    assert rules.base == "https://docs.aws.amazon.com/redshift/latest/dg/"
    assert not {"CSV", "DELIMITER", "REMOVEQUOTES", "IGNOREBLANKLINES"} & set(
        rules.sections["copy_json_options"]
    )
