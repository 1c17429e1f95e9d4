"""Connections to PostgreSQL through psycopg2: a pool that survives forking.

gunicorn (with ``--preload``) and ``multiprocessing`` fork a process that may
already hold connections. A connection's socket is then shared by parent and
child, and the child must never use it, nor even close it (closing sends the
server a goodbye on the parent's session). So every connection remembers the
process that opened it; in a child, inherited connections are detached (their
socket replaced by ``/dev/null`` before closing) and the pool starts afresh,
opening its own connections lazily on first use. This happens right after the
fork (``os.register_at_fork``), and again on any use from another process.

Connections are in autocommit mode: a statement outside ``BEGIN`` commits by
itself in one round trip, and a transaction is written out as SQL, so several
statements travel in one round trip (see the application recorder).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    ConnectionUnavailableError,
    PersistenceError,
)

from contractledger.store.errors import StoreConfigurationError
from contractledger.store.postgres.errors import configuration_error, translate, translated
from contractledger.store.postgres.schema import DDL_LOCK_KEY, quote_ident
from contractledger.store.postgres.settings import PostgresSettings

_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
_IN_TRANSACTION = (
    psycopg2.extensions.TRANSACTION_STATUS_INTRANS,
    psycopg2.extensions.TRANSACTION_STATUS_INERROR,
)

_live_connections: weakref.WeakSet[PgConnection] = weakref.WeakSet()
_live_pools: weakref.WeakSet[PgConnectionPool] = weakref.WeakSet()


class LedgerConnection(psycopg2.extensions.connection):
    """A psycopg2 connection that remembers the statements it has prepared."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: set[str] = set()


class PgConnection:
    """One psycopg2 connection, owned by the process that opened it."""

    __slots__ = ("__weakref__", "opened", "pid", "raw")

    def __init__(self, raw: LedgerConnection) -> None:
        self.raw = raw
        self.pid = os.getpid()
        self.opened = time.monotonic()
        _live_connections.add(self)

    @property
    def closed(self) -> bool:
        return bool(self.raw.closed)

    def close(self) -> None:
        if self.pid == os.getpid():
            self.raw.close()
        else:
            self.detach()

    def detach(self) -> None:
        """Lets go of a connection inherited from a parent, leaving its session alone."""
        if self.raw.closed:
            return
        try:
            fd = self.raw.fileno()
        except psycopg2.Error:
            fd = -1
        if fd >= 0:
            devnull = os.open(os.devnull, os.O_RDWR)
            try:
                # Keep the descriptor number taken (by /dev/null) so that
                # libpq's goodbye, and its close, reach nothing that matters.
                os.dup2(devnull, fd)
            finally:
                os.close(devnull)
        self.raw.close()


class PgConnectionPool:
    """A fork-safe pool of psycopg2 connections, with the library's settings.

    Keeps up to ``pool_size`` idle connections and opens up to
    ``pool_size + max_overflow`` in all; a request beyond that waits up to
    ``pool_timeout`` seconds, unless ``max_waiting`` requests already wait.
    The most recently returned connection is issued first (its prepared
    statements are warm). A connection older than ``max_age`` is closed
    when next taken from the pool, and with ``pre_ping`` a connection is
    checked with ``SELECT 1`` before it is issued.

    The library's own ``ConnectionPool`` would do, but costs about 10
    microseconds per checkout and a timer thread per connection; this one
    takes one uncontended lock each way.
    """

    def __init__(
        self,
        connect: Callable[[], LedgerConnection],
        *,
        pool_size: int,
        max_overflow: int,
        pool_timeout: float,
        max_age: float | None,
        pre_ping: bool,
        max_waiting: int = 0,
    ) -> None:
        self._connect = connect
        self.pool_size = pool_size
        self.max_size = pool_size + max_overflow
        self.pool_timeout = pool_timeout
        self.max_age = max_age
        self.pre_ping = pre_ping
        self.max_waiting = max_waiting
        self._start()
        _live_pools.add(self)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._returned = threading.Condition(self._lock)
        self._idle: list[PgConnection] = []
        self._all: set[PgConnection] = set()
        self._opening = 0
        self._waiting = 0
        self._closed = False

    def get_connection(self) -> PgConnection:
        """An open connection for this thread's exclusive use, until put back."""
        if self._pid != os.getpid():
            self.start_afresh_after_fork()
        deadline = time.monotonic() + self.pool_timeout
        while True:
            conn = self._take_or_reserve(deadline)
            if conn is None:
                return self._open_reserved()
            if self.max_age is not None and time.monotonic() - conn.opened > self.max_age:
                self._discard(conn)
                continue
            if self.pre_ping and not self._answers(conn):
                self._discard(conn)
                continue
            return conn

    def _take_or_reserve(self, deadline: float) -> PgConnection | None:
        """An idle connection, or None having reserved room to open one."""
        with self._lock:
            while True:
                if self._closed:
                    raise ConnectionPoolClosedError
                if self._idle:
                    return self._idle.pop()
                if len(self._all) + self._opening < self.max_size:
                    self._opening += 1
                    return None
                if self.max_waiting and self._waiting >= self.max_waiting:
                    msg = f"{self._waiting} requests already wait for a connection (POSTGRES_MAX_WAITING)"
                    raise ConnectionUnavailableError(msg)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    msg = f"Timed out after {self.pool_timeout:g}s waiting for a connection (POSTGRES_POOL_SIZE)"
                    raise ConnectionUnavailableError(msg)
                self._waiting += 1
                try:
                    self._returned.wait(remaining)
                finally:
                    self._waiting -= 1

    def _open_reserved(self) -> PgConnection:
        try:
            conn = PgConnection(self._connect())
        except BaseException:
            with self._lock:
                self._opening -= 1
                self._returned.notify()
            raise
        with self._lock:
            self._opening -= 1
            self._all.add(conn)
        return conn

    @staticmethod
    def _answers(conn: PgConnection) -> bool:
        try:
            conn.raw.cursor().execute("SELECT 1")
        except psycopg2.Error:
            return False
        return True

    def put_connection(self, conn: PgConnection) -> None:
        """Takes a connection back: kept for reuse, or closed when broken or surplus."""
        if conn.pid != os.getpid():
            conn.detach()
            return
        with self._lock:
            keep = conn in self._all and not self._closed and not conn.closed and len(self._idle) < self.pool_size
            if keep:
                self._idle.append(conn)
            else:
                self._all.discard(conn)
            self._returned.notify()
        if not keep:
            conn.close()

    def _discard(self, conn: PgConnection) -> None:
        with self._lock:
            self._all.discard(conn)
            self._returned.notify()
        conn.close()

    def close(self) -> None:
        """Closes idle connections now, and the others as they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            for conn in idle:
                self._all.discard(conn)
            self._returned.notify_all()
        for conn in idle:
            conn.close()

    def start_afresh_after_fork(self) -> None:
        """In a forked child: forgets the parent's connections and locks."""
        inherited = list(self._all)
        # New locks and lists: the parent's lock may have been held by a
        # thread that does not exist in this process.
        self._start()
        for conn in inherited:
            conn.detach()


class _Checkout:
    """The context manager of :meth:`PostgresDatastore.connection` (a class: cheaper than a generator)."""

    __slots__ = ("_conn", "_datastore")

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore

    def __enter__(self) -> LedgerConnection:
        try:
            self._conn = self._datastore.pool.get_connection()
        except psycopg2.Error as error:
            raise translate(error) from error
        return self._conn.raw

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self._datastore._put_back(self._conn)
        if isinstance(exc, psycopg2.Error):
            raise translate(exc) from exc


def _after_fork_in_child() -> None:
    for pool in list(_live_pools):
        pool.start_afresh_after_fork()
    for conn in list(_live_connections):
        if conn.pid != os.getpid():
            conn.detach()


os.register_at_fork(after_in_child=_after_fork_in_child)


class PostgresDatastore:
    """A database, a schema in it, and a pool of autocommit connections."""

    def __init__(self, settings: PostgresSettings) -> None:
        self.settings = settings
        self.schema = settings.schema
        self.pool = PgConnectionPool(
            self.connect,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=float(settings.connect_timeout),
            max_age=settings.conn_max_age,
            pre_ping=settings.pre_ping,
            max_waiting=settings.max_waiting,
        )

    def connect(self) -> LedgerConnection:
        """A new autocommit connection (raises psycopg2 errors)."""
        s = self.settings
        password = s.get_password() if s.get_password else s.password
        idle_ms = s.idle_in_transaction_session_timeout * 1000
        raw = psycopg2.connect(
            connection_factory=LedgerConnection,
            dbname=s.dbname,
            host=s.host,
            port=s.port,
            user=s.user,
            password=password,
            connect_timeout=s.connect_timeout,
            application_name="contractledger",
            # Set in the start-up packet: no round trip, and no SET LOCAL in every
            # inserting transaction (only the table lock ever waits in practice).
            options=f"-c idle_in_transaction_session_timeout={idle_ms} -c lock_timeout={s.lock_timeout * 1000}",
        )
        raw.autocommit = True
        psycopg2.extras.register_uuid(conn_or_curs=raw)
        return raw

    def connection(self) -> _Checkout:
        """``with datastore.connection() as raw``: a pooled connection, in
        autocommit mode, psycopg2 errors raised as the library's.

        Whatever happens inside, the connection goes back to the pool clean:
        an open transaction is rolled back, a broken connection is dropped.
        """
        return _Checkout(self)

    def _put_back(self, conn: PgConnection) -> None:
        raw = conn.raw
        if not raw.closed:
            status = raw.get_transaction_status()
            if status in _IN_TRANSACTION:
                try:
                    raw.cursor().execute("ROLLBACK")
                except psycopg2.Error:
                    conn.close()
            elif status != _IDLE:
                conn.close()
        self.pool.put_connection(conn)

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor inside BEGIN ... COMMIT; an exception rolls it back."""
        with self.connection() as raw:
            cursor = raw.cursor()
            cursor.execute("BEGIN")
            yield cursor
            cursor.execute("COMMIT")

    def listen_connection(self) -> PgConnection:
        """A connection of its own, outside the pool, for LISTEN."""
        with translated():
            return PgConnection(self.connect())

    def check(self) -> None:
        """Connects once and checks the schema, so a bad setting fails at start-up.

        Creates the schema when it is missing and CREATE_TABLE is on.
        Raises StoreConfigurationError, one sentence naming the setting.
        """
        s = self.settings
        schema_key = s.key("POSTGRES_SCHEMA")
        try:
            with self.connection() as raw:
                cursor = raw.cursor()
                cursor.execute(
                    "SELECT n.oid IS NOT NULL, has_schema_privilege(n.oid, 'USAGE'), "
                    "has_schema_privilege(n.oid, 'CREATE'), "
                    "has_database_privilege(current_database(), 'CREATE') "
                    "FROM (SELECT 1) AS one LEFT JOIN pg_namespace AS n ON n.nspname = %s",
                    (s.schema,),
                )
                exists, usage, create, create_schema = cursor.fetchone()
                if not exists and s.create_table and create_schema:
                    cursor.execute("BEGIN")
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
                    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(s.schema)}")
                    cursor.execute("COMMIT")
                    exists = usage = create = True
        except StoreConfigurationError:
            raise
        except (PersistenceError, psycopg2.Error) as error:
            raise configuration_error(error, s) from None
        if not exists:
            why = (
                f"and user {s.user!r} may not create it"
                if s.create_table
                else "and CREATE_TABLE is off"
            )
            raise StoreConfigurationError(
                "POSTGRES_SCHEMA",
                f"Schema {s.schema!r} ({schema_key}) does not exist in database {s.dbname!r}, {why}.",
            )
        if not usage:
            raise StoreConfigurationError(
                "POSTGRES_SCHEMA",
                f"User {s.user!r} has no rights on schema {s.schema!r} ({schema_key}): "
                "grant it USAGE (and CREATE, to create the tables).",
            )
        if s.create_table and not create:
            raise StoreConfigurationError(
                "POSTGRES_SCHEMA",
                f"User {s.user!r} may not create tables in schema {s.schema!r} ({schema_key}): "
                "grant it CREATE there, or create the tables once as their owner and set CREATE_TABLE=no.",
            )

    def close(self) -> None:
        self.pool.close()
