"""A loopback TCP relay that lets the Redshift driver talk to a local PostgreSQL.

Why: the Redshift code path (``redshift_connector`` and sqlalchemy-redshift's
``redshift+redshift_connector://`` dialect) binds parameters, escapes and frames
statements its own way, and some bugs only show "as sent" (a COPY sent with a bind
parameter fails on Redshift with ``syntax error at or near "$1"``; a literal-compiled
test never sees it). PostgreSQL 15 speaks the same wire protocol, except for two
things the relay rewrites and nothing else:

* the client's StartupMessage: redshift_connector adds ``client_protocol_version``,
  ``driver_version``, ``os_version`` and ``driver_discovery_version``, which PostgreSQL
  refuses (FATAL 42704, unrecognized configuration parameter). The relay keeps only
  the parameters in ``STARTUP_PARAMETERS`` and drops the rest.
* the server's ParameterStatus ``server_version``: redshift_connector parses it with
  ``packaging.version.parse`` and "15.20 (Debian 15.20-0+deb12u1)" is not a version.
  The relay reports ``8.0.2``, what Redshift reports.

An SSLRequest (or GSSENCRequest) is answered ``N`` by the relay itself: the link to
the client is loopback, and the driver then carries on in plain text. A
CancelRequest is forwarded unchanged on a fresh upstream connection. After the
server's first ReadyForQuery, bytes pass through unchanged both ways.

Connecting with redshift_connector (PostgreSQL with trust auth, no password)::

    redshift_connector.connect(host="127.0.0.1", port=relay.port, user="root",
                               database=db, password="", ssl=False)

``ssl=False`` is required: the driver defaults to ``ssl=True`` with
``sslmode="verify-full"`` and gives up when the relay answers ``N``. ``password=""``
(or leaving it out, which means the same) is enough because trust auth never asks
for one; a server that did ask would get an empty password. Nothing else is needed:
the driver falls back to its base text protocol when the server does not report
``server_protocol_version``, as PostgreSQL does not.

With SQLAlchemy use :func:`redshift_engine`: the dialect defaults to ``ssl=True`` /
``sslmode="verify-full"`` (overridden with ``connect_args={"ssl": False}``), and its
initialization (``PGDialect.initialize``) runs queries of its own on first connect;
see that function for what PostgreSQL makes of them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import struct
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import sqlalchemy as sa

PROTOCOL_3_0 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
# Startup parameters PostgreSQL accepts and the drivers send; compared case-insensitively.
STARTUP_PARAMETERS = frozenset(
    name.lower()
    for name in (
        "user",
        "database",
        "application_name",
        "client_encoding",
        "options",
        "DateStyle",
        "TimeZone",
        "extra_float_digits",
        "replication",
    )
)
REDSHIFT_SERVER_VERSION = "8.0.2"
_MAX_STARTUP = 10_000  # PostgreSQL's own limit on a startup packet
_JOIN_TIMEOUT = 5.0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("peer closed during start-up")
        data += chunk
    return bytes(data)


def rewrite_startup(packet: bytes) -> tuple[bytes, list[str]]:
    """A protocol 3.0 StartupMessage without the parameters PostgreSQL does not know,
    and the names dropped. ``packet`` is the whole message, length word included."""
    fields = packet[8:].split(b"\0")
    pairs = list(zip(fields[0:-2:2], fields[1:-2:2], strict=True))  # ends with b"", b""
    kept: list[tuple[bytes, bytes]] = []
    dropped: list[str] = []
    for name, value in pairs:
        if name.decode("latin-1").lower() in STARTUP_PARAMETERS:
            kept.append((name, value))
        else:
            dropped.append(name.decode("latin-1"))
    body = struct.pack("!i", PROTOCOL_3_0) + b"".join(k + b"\0" + v + b"\0" for k, v in kept)
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body, dropped


def rewrite_server_messages(data: bytes, server_version: str) -> tuple[bytes, bytes, bool]:
    """Split the server's start-up stream into typed messages (type byte, int32 length),
    giving ParameterStatus ``server_version`` the value ``server_version``.

    Returns the complete messages (rewritten), the rest of ``data``, and whether a
    ReadyForQuery was among them: the start-up phase is then over and the rest is
    passed on unparsed. Reads may split messages or carry several; the caller keeps
    the rest and prepends it to the next read."""
    out = bytearray()
    while len(data) >= 5:
        kind, length = data[:1], struct.unpack("!i", data[1:5])[0]
        if len(data) < 1 + length:
            break
        message, data = data[: 1 + length], data[1 + length :]
        if kind == b"S" and message[5:].split(b"\0")[0] == b"server_version":
            body = b"server_version\0" + server_version.encode() + b"\0"
            message = b"S" + struct.pack("!i", len(body) + 4) + body
        out += message
        if kind == b"Z":
            return bytes(out), data, True
    return bytes(out), data, False


class RedshiftRelay:
    """Listens on 127.0.0.1:``port`` and relays each client to ``upstream`` PostgreSQL
    (a loopback host, or a Unix-socket directory such as /var/run/postgresql)."""

    def __init__(
        self,
        upstream_host: str = "127.0.0.1",
        upstream_port: int = 5432,
        server_version: str = REDSHIFT_SERVER_VERSION,
    ) -> None:
        # A host starting with "/" is a socket directory, as in libpq (CI may use one).
        self._unix_path = (
            f"{upstream_host}/.s.PGSQL.{upstream_port}" if upstream_host.startswith("/") else None
        )
        if self._unix_path is None and not _is_loopback(upstream_host):
            raise ValueError(f"upstream must be a loopback address, not {upstream_host!r}")
        self.upstream = (upstream_host, upstream_port)
        self.server_version = server_version
        self.dropped_parameters: set[str] = set()  # startup parameters dropped so far
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        # close() writes to _wake so the accept loop's select() returns: no polling.
        self._wake_r, self._wake = socket.socketpair()
        self._lock = threading.Lock()
        self._closing = False
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._accept_thread = self._start(self._accept_loop, "accept")

    def __enter__(self) -> RedshiftRelay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, close every socket, join the threads (a bounded wait)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True  # from now on _track refuses new sockets
        self._wake.send(b"x")
        self._accept_thread.join(_JOIN_TIMEOUT)
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            self._shutdown(sock)  # wakes the threads blocked in recv()
        for thread in threads:
            thread.join(_JOIN_TIMEOUT)
        for sock in (self._listener, self._wake, self._wake_r, *sockets):
            sock.close()

    # -- plumbing ---------------------------------------------------------------------

    def _start(self, target: Callable[..., None], name: str, *args: Any) -> threading.Thread:
        thread = threading.Thread(
            target=target, args=args, name=f"redshift-relay-{name}", daemon=True
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return thread

    def _track(self, sock: socket.socket) -> bool:
        """Register a socket for close(); False (and the socket closed) if closing."""
        with self._lock:
            if not self._closing:
                self._sockets.add(sock)
                return True
        sock.close()
        return False

    def _release(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._sockets.discard(sock)
        for sock in socks:
            sock.close()

    @staticmethod
    def _shutdown(sock: socket.socket, how: int = socket.SHUT_RDWR) -> None:
        with contextlib.suppress(OSError):  # already closed or reset
            sock.shutdown(how)

    def _accept_loop(self) -> None:
        while True:
            ready, _, _ = select.select([self._listener, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                client, address = self._listener.accept()
            except OSError:
                return
            if self._track(client):
                self._start(self._serve, f"conn-{address[1]}", client)

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        pump: threading.Thread | None = None
        try:
            packet = self._read_startup(client)
            if packet is None:
                return
            upstream = self._connect_upstream()
            if not self._track(upstream):
                return
            code = struct.unpack("!i", packet[4:8])[0]
            if code == CANCEL_REQUEST:
                upstream.sendall(packet)  # the server answers by closing
                upstream.recv(1)
                return
            if code == PROTOCOL_3_0:
                packet, dropped = rewrite_startup(packet)
                with self._lock:
                    self.dropped_parameters.update(dropped)
            upstream.sendall(packet)
            pump = self._start(self._pump, "c2s", client, upstream)
            self._relay_server(upstream, client)
        except OSError:
            pass  # a peer went away, or close() shut the sockets: end this connection
        finally:
            # The server side has ended: end the client side too, which also wakes the
            # client-to-server thread, then close both once nothing uses them.
            socks = [client] if upstream is None else [client, upstream]
            for sock in socks:
                self._shutdown(sock)
            if pump is not None:
                pump.join(_JOIN_TIMEOUT)
            self._release(*socks)

    def _connect_upstream(self) -> socket.socket:
        if self._unix_path is None:
            return socket.create_connection(self.upstream)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self._unix_path)
        except OSError:
            sock.close()
            raise
        return sock

    def _read_startup(self, client: socket.socket) -> bytes | None:
        """The client's first real start-up packet, SSL/GSS encryption requests refused."""
        while True:
            length = struct.unpack("!i", _recv_exact(client, 4))[0]
            if not 8 <= length <= _MAX_STARTUP:
                return None
            packet = struct.pack("!i", length) + _recv_exact(client, length - 4)
            if struct.unpack("!i", packet[4:8])[0] not in (SSL_REQUEST, GSSENC_REQUEST):
                return packet
            client.sendall(b"N")

    def _relay_server(self, upstream: socket.socket, client: socket.socket) -> None:
        """Server to client: rewrite the start-up phase message by message, then copy."""
        pending = b""
        while chunk := upstream.recv(65536):
            out, pending, ready = rewrite_server_messages(pending + chunk, self.server_version)
            if ready:
                client.sendall(out + pending)
                self._pump(upstream, client)
                return
            client.sendall(out)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        """Copy bytes until ``src`` ends, then pass the end on (half close)."""
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
            self._shutdown(dst, socket.SHUT_WR)
        except OSError:
            self._shutdown(src)
            self._shutdown(dst)


def redshift_engine(
    relay: RedshiftRelay, database: str, user: str = "root", **kw: Any
) -> sa.Engine:
    """A ``redshift+redshift_connector://`` engine on ``database`` through ``relay``.

    The production dialect, unchanged. It needs only ``connect_args={"ssl": False}``:
    its ``create_connect_args`` defaults to ``ssl=True, sslmode="verify-full"``. (A URL
    query ``?ssl=false`` also connects, but only because the driver tests ``ssl is
    True`` and gets the string "false"; ``?ssl=true`` would not turn SSL on either.)

    Dialect initialization on first connect runs ``select pg_catalog.version()``,
    ``select current_schema()`` and ``show transaction isolation level``; all three
    succeed on PostgreSQL 15, so nothing is patched. What differs from Redshift:
    ``version()`` is PostgreSQL's own (the relay rewrites only ParameterStatus), so
    ``dialect.server_version_info`` is (15, n) where Redshift gives (8, 0, 2). The
    DDL of this project's models compiles the same either way; pinning (8, 0, 2)
    would break PostgreSQL-side reflection (``relhasoids`` queries), so it is left.
    Reflection through sqlalchemy-redshift (``inspect(engine).get_table_names()``)
    fails: it reads Redshift catalog columns (``pg_class.reldiststyle``,
    ``svv_external_tables``).

    ``NullPool`` by default, as in ``sparkify_dw.schema.create_engine``: nothing stays
    connected through the relay after a test; ``kw`` goes to ``create_engine``.
    """
    url = sa.URL.create(
        "redshift+redshift_connector",
        username=user,
        host="127.0.0.1",
        port=relay.port,
        database=database,
    )
    connect_args = {"ssl": False, **kw.pop("connect_args", {})}
    kw.setdefault("poolclass", sa.pool.NullPool)
    return sa.create_engine(url, connect_args=connect_args, **kw)
