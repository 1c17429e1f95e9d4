"""Connections to the ledger's SQLite file, and the in-process commit signal.

Every writing transaction starts with ``BEGIN IMMEDIATE``: it takes SQLite's
single write lock before its first read, so the chain head it reads (the last
notification id and hash) cannot change before it commits, and a writer never
fails half-way with SQLITE_BUSY on upgrading a read lock. Writers therefore
commit notification ids in increasing order, which is what lets a subscriber
read ``id > last seen`` without ever skipping a later-committed smaller id.
WAL mode lets readers run beside the writer; the busy timeout makes a writer
wait for another process's write lock instead of failing.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from threading import Condition, Lock
from typing import Literal

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTransaction,
)

from contractledger.store.sqlite.config import SQLiteLocation, check_usable, locate
from contractledger.store.sqlite.writers import WriterQueue, writer_queue_for

DEFAULT_POLL_INTERVAL = 0.02
"""Seconds between a subscriber's checks for events written by other processes."""


class CommitSignal:
    """Counts commits of events to one database in this process, and wakes waiters.

    Subscribers in the same process wake on :meth:`notify` at once; writers in
    other processes cannot reach it, so subscribers also wake every poll
    interval and look for themselves.
    """

    def __init__(self) -> None:
        self.condition = Condition()
        self._commits = 0

    @property
    def commits(self) -> int:
        with self.condition:
            return self._commits

    def notify(self) -> None:
        with self.condition:
            self._commits += 1
            self.condition.notify_all()

    def wait(self, seen: int, timeout: float, stopped: Callable[[], bool]) -> None:
        """Returns after a commit later than ``seen``, on stop, or after ``timeout``."""
        with self.condition:
            self.condition.wait_for(lambda: stopped() or self._commits != seen, timeout)


_signals: weakref.WeakValueDictionary[str, CommitSignal] = weakref.WeakValueDictionary()
_signals_lock = Lock()


def commit_signal_for(location: SQLiteLocation) -> CommitSignal:
    """The one signal for a database in this process, shared by all its datastores."""
    with _signals_lock:
        signal = _signals.get(location.key)
        if signal is None:
            signal = CommitSignal()
            _signals[location.key] = signal
        return signal


class SQLiteLedgerTransaction(SQLiteTransaction):
    """A transaction that takes the write lock at BEGIN when it will commit."""

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if self.commit else "BEGIN")
        except sqlite3.Error as error:
            cursor.sqlite_cursor.close()
            # The base class's exit is where sqlite3 errors become the
            # library's persistence errors (e.g. a busy timeout, OperationalError).
            self.__exit__(type(error), error, error.__traceback__)
            raise
        return cursor


class SQLiteLedgerConnection(SQLiteConnection):
    """A pooled connection whose writing transactions begin immediately, each
    in its turn among the file's writers (``store/sqlite/writers.py``)."""

    def __init__(self, sqlite_conn: sqlite3.Connection, max_age: float | None, writers: WriterQueue | None) -> None:
        super().__init__(sqlite_conn=sqlite_conn, max_age=max_age)
        self.writers = writers

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[SQLiteCursor]:
        if commit and self.writers is not None:
            with self.writers.turn(), SQLiteLedgerTransaction(self, commit=commit) as curs, curs:
                yield curs
            return
        with SQLiteLedgerTransaction(self, commit=commit) as curs, curs:
            yield curs


class SQLiteLedgerConnectionPool(SQLiteConnectionPool):
    """Opens connections in WAL mode with a busy timeout, writing in turn with the file's other writers."""

    writers: WriterQueue | None = None

    def _create_connection(self) -> SQLiteLedgerConnection:
        try:
            connection = sqlite3.connect(
                database=self.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,
                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
            )
        except (sqlite3.Error, TypeError) as error:
            raise InterfaceError(error) from error
        try:
            if not self.is_sqlite_memory_mode:
                # Idempotent and cheap once the file is in WAL mode; checked per
                # connection so a file replaced behind our back is caught too.
                connection.execute("PRAGMA journal_mode=WAL").fetchone()
                self.is_journal_mode_wal = True
        except sqlite3.Error as error:
            connection.close()
            raise OperationalError(error) from error
        connection.row_factory = sqlite3.Row
        return SQLiteLedgerConnection(sqlite_conn=connection, max_age=self.max_age, writers=self.writers)

    def close(self) -> None:
        """Closes idle connections now, and each one in use when its user returns it.

        The library's pool also closes connections that other threads are
        using; closing an sqlite3 connection under a statement running in
        another thread crashes the interpreter (seen: a segfault when a
        factory closed while a reader thread was mid-query).
        """
        with self._put_condition:
            if self._closed:
                return
            while self._pool:
                self._pool.popleft().close()
            self._closed = True

    def put_connection(self, conn: SQLiteConnection) -> None:
        if self.closed:
            # Its user has finished with it: only now is closing it safe.
            conn.close()
        super().put_connection(conn)


class SQLiteLedgerDatastore(SQLiteDatastore):
    """The ledger's SQLite file: its connection pool, and its commit signal.

    Construction checks that the file is a writable SQLite database (see
    :func:`~contractledger.store.sqlite.config.check_usable`), so that bad
    configuration fails at start-up with a StoreConfigurationError; unless
    ``create``, the file must already exist.
    """

    def __init__(
        self,
        db_name: str,
        *,
        lock_timeout: int | None = None,
        pool_size: int = 5,
        max_overflow: int = 10,
        pool_timeout: float = 5.0,
        max_age: float | None = None,
        pre_ping: bool = False,
        originator_id_type: Literal["uuid", "text"] = "uuid",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        create: bool = True,
    ):
        # Deliberately not calling the base initialiser: it builds the library's
        # own pool, whose connections begin writing transactions lazily.
        self.location = locate(db_name)
        check_usable(self.location, lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT, create=create)
        self.pool = SQLiteLedgerConnectionPool(
            db_name=self.location.uri,
            lock_timeout=lock_timeout,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            max_age=max_age,
            pre_ping=pre_ping,
        )
        if self.location.path is not None:
            self.pool.writers = writer_queue_for(self.location.path)
        self.single_row_tracking = True
        self.originator_id_type = originator_id_type
        self.poll_interval = poll_interval
        self.commit_signal = commit_signal_for(self.location)

    def close(self) -> None:
        # Also reached from __del__ when construction was refused before the pool existed.
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.close()
