"""The Redshift driver and dialect, as sent, against PostgreSQL through RedshiftRelay.

These pin what the harness can and can't stand for: connect, selects, bind
parameters, transactions and concurrent connections behave as on Redshift, and a
COPY sent with a bind parameter fails the way Redshift fails it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redshift_connector
import sqlalchemy as sa
from redshift_connector.error import InterfaceError, ProgrammingError

from tests.support.redshift_relay import (
    RedshiftRelay,
    redshift_engine,
    rewrite_server_messages,
    rewrite_startup,
)

DRIVER_ONLY_PARAMETERS = {
    "client_protocol_version",
    "driver_version",
    "os_version",
    "driver_discovery_version",
}


def upstream(pg_url: sa.URL) -> tuple[str, int]:
    """The test server's host (or socket directory, ``?host=/path``) and port."""
    host = pg_url.host or pg_url.query.get("host") or "127.0.0.1"
    return (host if isinstance(host, str) else host[0]), pg_url.port or 5432


@pytest.fixture
def relay(pg_url: sa.URL) -> Iterator[RedshiftRelay]:
    with RedshiftRelay(*upstream(pg_url)) as running:
        yield running


def rs_connect(relay: RedshiftRelay, pg_url: sa.URL) -> Any:
    """A redshift_connector connection as documented in tests/support/redshift_relay.py."""
    return redshift_connector.connect(
        host="127.0.0.1",
        port=relay.port,
        user=pg_url.username,
        database=pg_url.database,
        password="",
        ssl=False,
    )


def test_rewrite_startup_keeps_known_parameters_only() -> None:
    body = b"\x00\x03\x00\x00user\0root\0driver_version\0x\0DateStyle\0ISO\0\0"
    packet = (len(body) + 4).to_bytes(4, "big") + body
    rewritten, dropped = rewrite_startup(packet)
    expected = b"\x00\x03\x00\x00user\0root\0DateStyle\0ISO\0\0"
    assert rewritten == (len(expected) + 4).to_bytes(4, "big") + expected
    assert dropped == ["driver_version"]


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + (len(body) + 4).to_bytes(4, "big") + body


def test_server_messages_are_rewritten_whatever_the_reads() -> None:
    """One message per read, several per read, or one byte per read: same output."""
    before = (
        _message(b"R", b"\0\0\0\0")
        + _message(b"S", b"server_version\x0015.20 (Debian 15.20-0+deb12u1)\0")
        + _message(b"S", b"TimeZone\0UTC\0")
        + _message(b"K", b"\0\0\0\x07\0\0\0\x09")
        + _message(b"Z", b"I")
    )
    after_ready = b"T\0\0\0\x06\0\0"  # not parsed: passed on as is
    expected = (
        before.replace(
            _message(b"S", b"server_version\x0015.20 (Debian 15.20-0+deb12u1)\0"),
            _message(b"S", b"server_version\x008.0.2\0"),
        )
        + after_ready
    )
    for size in (1, 3, 7, len(before) + len(after_ready)):
        stream, out, pending, ready = before + after_ready, b"", b"", False
        while not ready:
            chunk, stream = stream[:size], stream[size:]
            sent, pending, ready = rewrite_server_messages(pending + chunk, "8.0.2")
            out += sent
        assert out + pending + stream == expected, size


def test_redshift_connector_selects_binds_and_rolls_back(
    relay: RedshiftRelay, pg_url: sa.URL
) -> None:
    conn = rs_connect(relay, pg_url)
    try:
        cur = conn.cursor()
        cur.execute("select 1")
        assert cur.fetchall() == ([1],)
        cur.execute("select %s::int + 1", (41,))
        assert cur.fetchone() == [42]
        cur.execute("create table t (a int)")
        conn.commit()
        cur.execute("insert into t values (%s)", (7,))
        conn.rollback()
        cur.execute("select count(*) from t")
        assert cur.fetchone() == [0]
    finally:
        conn.close()
    assert relay.dropped_parameters == DRIVER_ONLY_PARAMETERS


def test_copy_with_a_bind_parameter_fails_as_on_redshift(
    relay: RedshiftRelay, pg_url: sa.URL
) -> None:
    conn = rs_connect(relay, pg_url)
    try:
        cur = conn.cursor()
        cur.execute("create table t (a int)")
        with pytest.raises(ProgrammingError, match=r'at or near "\$1"'):
            cur.execute("COPY t FROM %s", ("s3://b/k",))
        conn.rollback()
        cur.execute("select 1")  # the connection is still usable
        assert cur.fetchone() == [1]
    finally:
        conn.close()


# The driver's own SSLContext() call warns on Python 3.10+.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_driver_defaults_to_ssl_and_gives_up(relay: RedshiftRelay, pg_url: sa.URL) -> None:
    """Why ``ssl=False`` is needed: the relay answers an SSLRequest with ``N``."""
    with pytest.raises(InterfaceError, match="refuses SSL"):
        redshift_connector.connect(
            host="127.0.0.1",
            port=relay.port,
            user=pg_url.username,
            database=pg_url.database,
            password="",
        )


def test_sqlalchemy_dialect_connects_and_binds(relay: RedshiftRelay, pg_url: sa.URL) -> None:
    assert pg_url.database is not None
    engine = redshift_engine(relay, pg_url.database, user=pg_url.username or "root")
    try:
        assert engine.dialect.name == "redshift"
        assert engine.dialect.driver == "redshift_connector"
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar() == 1
            value = sa.bindparam("v", 41, type_=sa.Integer)
            assert conn.execute(sa.select(value + 1)).scalar() == 42
            conn.exec_driver_sql("create table t (a int, b varchar(10))")
            conn.exec_driver_sql("insert into t values (1, 'one'), (2, 'two')")
            t = sa.table("t", sa.column("a", sa.Integer), sa.column("b", sa.String))
            assert conn.execute(sa.select(t.c.b).where(t.c.a == 2)).scalar_one() == "two"
            conn.rollback()
            assert conn.execute(sa.text("select cast(:v as integer) * 2"), {"v": 21}).scalar() == 42
        assert engine.dialect.default_schema_name == "public"
    finally:
        engine.dispose()


def test_two_connections_at_once(relay: RedshiftRelay, pg_url: sa.URL) -> None:
    """One connection blocked on a lock does not hold up the other."""
    holder, waiter = rs_connect(relay, pg_url), rs_connect(relay, pg_url)
    holder.autocommit = waiter.autocommit = True
    errors: list[BaseException] = []

    def wait_for_lock() -> None:
        try:
            waiter.cursor().execute("select pg_advisory_lock(4242)")
        except BaseException as exc:
            errors.append(exc)

    try:
        cur = holder.cursor()
        cur.execute("select pg_backend_pid()")
        holder_pid = cur.fetchone()[0]
        cur.execute("select pg_advisory_lock(4242)")
        thread = threading.Thread(target=wait_for_lock, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while True:  # the holder keeps answering while the waiter is blocked
            cur.execute(
                "select count(*) from pg_locks where locktype = 'advisory'"
                " and not granted and pid <> %s",
                (holder_pid,),
            )
            if cur.fetchone()[0] == 1:
                break
            assert time.monotonic() < deadline, "the second connection never queued"
            time.sleep(0.05)
        cur.execute("select pg_advisory_unlock(4242)")
        thread.join(10)
        assert not thread.is_alive() and not errors
    finally:
        holder.close()
        waiter.close()


def test_ssl_request_and_cancel_request_pass(relay: RedshiftRelay, pg_url: sa.URL) -> None:
    """libpq's sslmode=prefer sends an SSLRequest first; its cancel goes to the relay."""
    dsn = (
        f"host=127.0.0.1 port={relay.port} user={pg_url.username} "
        f"dbname={pg_url.database} sslmode=prefer"
    )
    with psycopg.connect(dsn) as conn:
        assert conn.info.parameter_status("server_version") == "8.0.2"
        timer = threading.Timer(0.5, conn.cancel_safe)
        timer.start()
        try:
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("select pg_sleep(30)")
        finally:
            timer.cancel()


def test_close_ends_open_connections_and_threads(pg_url: sa.URL) -> None:
    relay = RedshiftRelay(*upstream(pg_url))
    conn = rs_connect(relay, pg_url)
    relay.close()
    try:
        with pytest.raises(InterfaceError):
            conn.cursor().execute("select 1")
    finally:
        with contextlib.suppress(InterfaceError):
            conn.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("redshift-relay")]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", relay.port), timeout=5)


def test_upstream_must_be_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        RedshiftRelay("192.0.2.1")
