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
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from eventsourcing.persistence import (
    Connection,
    ConnectionPool,
    ConnectionUnavailableError,
    PersistenceError,
)

from contractledger.store.errors import StoreConfigurationError
from contractledger.store.postgres_errors import configuration_error, translated
from contractledger.store.postgres_schema import DDL_LOCK_KEY, quote_ident
from contractledger.store.postgres_settings import PostgresSettings

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


class PgConnection(Connection[Any]):
    """One psycopg2 connection, owned by the process that opened it."""

    def __init__(self, raw: psycopg2.extensions.connection, max_age: float | None = None) -> None:
        super().__init__(max_age=max_age)
        self.raw = raw
        self.pid = os.getpid()
        _live_connections.add(self)

    def commit(self) -> None:
        if self.raw.info.transaction_status in _IN_TRANSACTION:
            self.raw.cursor().execute("COMMIT")

    def rollback(self) -> None:
        if self.raw.info.transaction_status in _IN_TRANSACTION:
            self.raw.cursor().execute("ROLLBACK")

    def cursor(self) -> psycopg2.extensions.cursor:
        return self.raw.cursor()

    def _close(self) -> None:
        if self.pid == os.getpid():
            self.raw.close()
        else:
            self.detach()
        super()._close()

    def detach(self) -> None:
        """Lets go of a connection inherited from a parent, leaving its session alone."""
        if self.raw.closed:
            self._closed = True
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
        self._closed = True


class PgConnectionPool(ConnectionPool[PgConnection]):
    """The library's connection pool, made fork-safe, with POSTGRES_MAX_WAITING."""

    def __init__(
        self,
        connect: Callable[[], psycopg2.extensions.connection],
        *,
        pool_size: int,
        max_overflow: int,
        pool_timeout: float,
        max_age: float | None,
        pre_ping: bool,
        max_waiting: int = 0,
    ) -> None:
        self._connect = connect
        self._options: dict[str, Any] = {
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_timeout": pool_timeout,
            "max_age": max_age,
            "pre_ping": pre_ping,
        }
        super().__init__(**self._options)
        self._max_waiting = max_waiting
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        self._pid = os.getpid()
        _live_pools.add(self)

    def get_connection(self, timeout: float | None = None, *, is_writer: bool | None = None) -> PgConnection:
        if self._pid != os.getpid():
            self.start_afresh_after_fork()
        if not self._max_waiting:
            return super().get_connection(timeout, is_writer=is_writer)
        with self._waiting_lock:
            if self._waiting >= self._max_waiting and self.num_in_pool == 0 and self._is_use_full:
                msg = f"{self._waiting} requests already waiting for a connection (POSTGRES_MAX_WAITING)"
                raise ConnectionUnavailableError(msg)
            self._waiting += 1
        try:
            return super().get_connection(timeout, is_writer=is_writer)
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    def _create_connection(self) -> PgConnection:
        return PgConnection(self._connect(), max_age=self.max_age)

    def start_afresh_after_fork(self) -> None:
        """In a forked child: forgets the parent's connections and locks."""
        inherited = list(self._pool) + list(self._in_use.values())
        # New locks and queues: the parent's may have been held by a thread
        # that does not exist in this process.
        ConnectionPool.__init__(self, **self._options)
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        self._pid = os.getpid()
        for conn in inherited:
            conn.detach()


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

    @contextmanager
    def connection(self) -> Iterator[LedgerConnection]:
        """A pooled connection, in autocommit mode, errors translated.

        Whatever happens inside, the connection goes back to the pool clean:
        an open transaction is rolled back, a broken connection is dropped.
        """
        with translated():
            conn = self.pool.get_connection()
        try:
            with translated():
                yield conn.raw
        finally:
            self._put_back(conn)

    def _put_back(self, conn: PgConnection) -> None:
        raw = conn.raw
        if not raw.closed:
            status = raw.info.transaction_status
            if status in _IN_TRANSACTION:
                try:
                    raw.cursor().execute("ROLLBACK")
                except psycopg2.Error:
                    conn.close()
            elif status != _IDLE:
                conn.close()
        else:
            conn.close()
        try:
            self.pool.put_connection(conn)
        except Exception:  # noqa: BLE001 - a pool closed meanwhile must not hide the caller's error
            conn.close()

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
