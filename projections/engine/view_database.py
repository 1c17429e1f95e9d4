"""The database the views live in: the same PostgreSQL database or SQLite
file as the events, reached through one small interface so that every view's
SQL is written once.

View SQL is written with ``?`` placeholders and types both dialects share
(TEXT, INTEGER, BIGINT, DOUBLE PRECISION (never REAL: four bytes on PostgreSQL); JSON and timestamps as TEXT; booleans as 0/1;
``INSERT ... ON CONFLICT ... DO UPDATE``). The PostgreSQL adapter turns ``?``
into psycopg2's ``%s``, so view SQL must not contain a literal ``?`` or ``%``.

One type is the views' own, spelled where each column is declared:
``KEY_TEXT``, the text of an id, an ISO date or an instant, compared and
sorted byte by byte. Each dialect fills it in (:data:`KEY_TEXT`): PostgreSQL
creates the column as ``TEXT COLLATE "C"``, SQLite as ``TEXT`` (its own
order is already the bytes').
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import sqlite3
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eventsourcing.utils import Environment

from contractledger.store.errors import StoreConfigurationError, StoreUnavailable, is_transient_connect_failure
from contractledger.store.settings import APPLICATION_NAME, DEFAULT_SQLITE_FILE
from contractledger.store.sqlite.writers import writer_queue_for

if TYPE_CHECKING:  # the PostgreSQL store's package, psycopg2 with it, is imported only to use it
    from contractledger.store.postgres.settings import PostgresSettings

CHANGES_CHANNEL = "contractledger_view_changes"
VIEWS_CONNECT_TIMEOUT = 5  # seconds, unless POSTGRES_CONNECT_TIMEOUT is set


class ViewRunnerAlreadyRunning(RuntimeError):
    """Another runner holds this view: two runners would apply events twice."""


class ViewTransaction:
    """One open transaction on the view database."""

    def __init__(self, cursor: Any, translate: Any, dialect: str) -> None:
        self._cursor = cursor
        self._translate = translate
        self.dialect = dialect

    def serialise_schema_changes(self) -> None:
        """Two processes creating the same tables at once collide on
        PostgreSQL even with IF NOT EXISTS; take turns (until commit)."""
        if self.dialect == "postgres":
            self.execute("SELECT pg_advisory_xact_lock(hashtext('contractledger.view_schema'))")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._translate(sql), tuple(params))

    def execute_keyed(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A read by a unique key (one contract, one record, one party), whose plan is the same for every
        key: a read transaction on PostgreSQL prepares it once and keeps its plan."""
        self.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(self._translate(sql), [tuple(r) for r in rows])

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], on_conflict: str = ""
    ) -> None:
        """Writes many rows in as few round trips as the driver allows
        (psycopg2's execute_values on PostgreSQL; executemany on SQLite).
        ``on_conflict`` is appended as is, e.g.
        ``ON CONFLICT (id) DO UPDATE SET status = excluded.status``."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.dialect == "postgres":
            if len(rows) >= COPY_THRESHOLD:
                self._copy_rows(table, names, rows, on_conflict)
                return
            from psycopg2.extras import execute_values

            execute_values(
                self._cursor, f"INSERT INTO {table} ({names}) VALUES %s {on_conflict}", [tuple(r) for r in rows],
                page_size=1000,
            )
        else:
            marks = ", ".join("?" for _ in columns)
            self._cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks}) {on_conflict}", [tuple(r) for r in rows]
            )

    def _copy_rows(self, table: str, names: str, rows: Sequence[Sequence[Any]], on_conflict: str) -> None:
        """Many rows by COPY (about twice as fast as VALUES)."""
        self.copy_text(table, names, _copy_text(rows), on_conflict)

    def copy_text(self, table: str, names: str, text: str, on_conflict: str = "") -> None:
        """Rows already in COPY's text format (see ``_copy_text``), by COPY.
        Rows that may conflict go by COPY into a temporary table first, then
        one INSERT ... SELECT with the conflict clause. The text is handed to
        the driver in one piece (one read of the buffer, not one per 8 kB)."""
        data = io.StringIO(text)
        size = max(len(text), 8192)
        if not on_conflict:
            self._cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN", data, size)
            return
        staging = "staging_" + table.rsplit(".", 1)[-1]
        self._cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} (LIKE {table}) ON COMMIT DELETE ROWS"
        )
        self._cursor.copy_expert(f"COPY {staging} ({names}) FROM STDIN", data, size)
        self._cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} {on_conflict}; TRUNCATE {staging}"
        )

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def columns(self, table: str) -> set[str]:
        """The names of a table's columns (for a table made by an earlier version, to widen it)."""
        if self.dialect == "postgres":
            self.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = ?",
                (table,),
            )
            return {row[0] for row in self.fetchall()}
        self.execute(f"PRAGMA table_info({table})")
        return {row[1] for row in self.fetchall()}


class PreparedReadTransaction(ViewTransaction):
    """A read on PostgreSQL: a read by a key prepared once per connection, any other planned for its values.

    A status read's query is planned in about twice the time it runs; prepared
    (``execute_keyed``), it is planned once (PostgreSQL keeps its generic plan,
    as good for every key) and each read then costs its execution alone. A
    list's rows depend on whose they are: a plan fit for an advisor's handful
    of rows was 7-12x slower for a carrier's thousands (transfer requests 20.5
    -> 2.9 ms at 25,000 contracts), so a list (``execute``) is sent as it is
    and planned for the values it is given each time. (Before, every read was
    prepared and planned afresh at each execution, force_custom_plan: a status
    read cost PostgreSQL 0.51 ms of CPU instead of 0.24 and served 1,092
    instead of 1,429 reads/s at 32 connections.) A statement PostgreSQL
    cannot prepare (a parameter whose type nothing says) runs as it is."""

    def __init__(self, cursor: Any, dialect: str, statements: "PreparedStatements") -> None:
        super().__init__(cursor, _to_pyformat, dialect)
        self._statements = statements

    def execute_keyed(self, sql: str, params: Sequence[Any] = ()) -> None:
        import psycopg2.errors

        params = tuple(params)
        execution = self._statements.execution_of(self._cursor, sql)
        if execution is None:
            super().execute(sql, params)
            return
        try:
            self._cursor.execute(execution, params)
        except psycopg2.errors.FeatureNotSupported:
            # "cached plan must not change result type": a switch moved a live name to
            # a table of other columns; this statement is prepared again next time
            self._statements.forget(self._cursor, sql)
            super().execute(sql, params)


class PreparedStatements:
    """The statements prepared on one connection, the least used forgotten past
    ``LIMIT``: each by its name and the EXECUTE that runs it (built once)."""

    LIMIT = 256

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._prepared: OrderedDict[str, tuple[str, str] | None] = OrderedDict()
        self._made = 0

    def execution_of(self, cursor: Any, sql: str) -> str | None:
        """The EXECUTE of ``sql`` (prepared now if it is new), with a ``%s`` per
        parameter; None for a statement PostgreSQL cannot prepare."""
        import psycopg2.errors

        prepared = self._prepared.get(sql, False)
        if prepared is not False:
            self._prepared.move_to_end(sql)
            return None if prepared is None else prepared[1]
        self._made += 1
        name = f"contractledger_read_{self._made}"
        count = sql.count("?")
        numbered = iter(range(1, count + 1))
        try:
            cursor.execute(f"PREPARE {name} AS {_PLACEHOLDER.sub(lambda _: f'${next(numbered)}', sql)}")
        except (psycopg2.errors.IndeterminateDatatype, psycopg2.errors.DatatypeMismatch):
            self._prepared[sql] = None  # typed only by its value: run as it is, every time
        else:
            self._prepared[sql] = (name, f"EXECUTE {name} ({', '.join('%s' for _ in range(count))})" if count else f"EXECUTE {name}")
        if len(self._prepared) > self.LIMIT:
            _, forgotten = self._prepared.popitem(last=False)
            if forgotten is not None:
                cursor.execute(f"DEALLOCATE {forgotten[0]}")
        return None if self._prepared.get(sql) is None else self._prepared[sql][1]

    def forget(self, cursor: Any, sql: str) -> None:
        prepared = self._prepared.pop(sql, None)
        if prepared is not None:
            cursor.execute(f"DEALLOCATE {prepared[0]}")


class ViewDatabase(ABC):
    dialect: str

    @abstractmethod
    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[ViewTransaction]:
        """A transaction that commits when the block ends, rolls back on error."""

    @abstractmethod
    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Holds a lock named ``name`` across processes for the block, or
        raises ViewRunnerAlreadyRunning at once when another holder has it."""

    @abstractmethod
    def announce_change(self, tx: ViewTransaction) -> None:
        """Inside a write transaction: wake waiters in other processes when it commits."""

    @abstractmethod
    def wait_for_change(self, timeout: float) -> None:
        """Blocks until a view transaction may have committed, or the timeout."""

    @abstractmethod
    def close(self) -> None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction(write=False) as tx:
            tx.execute(sql, params)
            return tx.fetchall()


class SqliteViewDatabase(ViewDatabase):
    """Views in a SQLite file (WAL mode, so readers never block the runner).

    Other processes learn of changes by polling ``PRAGMA data_version``, which
    changes when another connection commits; the step is a few milliseconds.
    """

    dialect = "sqlite"
    POLL_STEP = 0.003
    CACHE_KIB = 65536

    def __init__(self, path: str) -> None:
        self.path = path
        self._writers = None if path.startswith(("file:", ":")) else writer_queue_for(path)
        self._local = threading.local()
        self._changed = threading.Condition()
        self._locks: dict[str, Any] = {}
        try:
            self._connection()
        except sqlite3.Error as error:
            raise StoreConfigurationError(
                "SQLITE_DBNAME", f"SQLITE_DBNAME={path!r} cannot be opened for the views ({error})."
            ) from None

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != os.getpid():
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            # A rebuild touches indexes far larger than SQLite's default 2 MB
            # page cache; 64 MB keeps their upper levels in memory.
            connection.execute(f"PRAGMA cache_size=-{self.CACHE_KIB}")
            self._local.connection = connection
            self._local.pid = os.getpid()
        return connection

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[ViewTransaction]:
        if write and self._writers is not None:
            # the file's writers take turns, the ledger's and the views' together (store/sqlite/writers.py)
            with self._writers.turn(), self._transaction(write=True) as tx:
                yield tx
            return
        with self._transaction(write=write) as tx:
            yield tx

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[ViewTransaction]:
        connection = self._connection()
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield ViewTransaction(cursor, _for_sqlite, self.dialect)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        else:
            connection.execute("COMMIT")
            if write:
                with self._changed:
                    self._changed.notify_all()
        finally:
            cursor.close()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        folder = os.path.dirname(os.path.abspath(self.path)) if not self.path.startswith(("file:", ":")) else tempfile.gettempdir()
        lock_path = os.path.join(folder, f".{os.path.basename(self.path)}.{name}.lock")
        handle = open(lock_path, "a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ViewRunnerAlreadyRunning(
                    f"another runner is already applying events to {name!r}; "
                    "stop it first (two runners would apply events twice)"
                ) from None
            yield
        finally:
            handle.close()

    def announce_change(self, tx: ViewTransaction) -> None:
        pass  # data_version changes by itself on commit

    def wait_for_change(self, timeout: float) -> None:
        connection = self._connection()
        before = connection.execute("PRAGMA data_version").fetchone()[0]
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            with self._changed:
                if self._changed.wait(min(self.POLL_STEP, remaining)):
                    return
            if connection.execute("PRAGMA data_version").fetchone()[0] != before:
                return

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


class PostgresViewDatabase(ViewDatabase):
    """Views in the ledger's PostgreSQL database.

    Waiters LISTEN on one channel; the runner NOTIFYs it inside each batch's
    transaction, so a waiter wakes when the batch commits, not on a timer.
    """

    dialect = "postgres"

    def __init__(self, connect_kwargs: Mapping[str, Any], schema: str | None = None) -> None:
        import psycopg2  # noqa: F401  (imported here: SQLite users need not have it)

        self._connect_kwargs = dict(connect_kwargs)
        self._schema = schema
        self._local = threading.local()
        self._listener: Any = None
        self._listener_pid: int | None = None
        self._listener_lock = threading.Lock()
        self._lock_connections: dict[str, Any] = {}
        self._connected_once = False
        self._connection()

    def _connect(self) -> Any:
        import psycopg2

        try:
            connection = psycopg2.connect(**self._connect_kwargs)
        except psycopg2.OperationalError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else "no reason given"
            # once connected, the settings are known good: a failure now is the server going away
            transient = self._connected_once or is_transient_connect_failure(str(error))
            kind = StoreUnavailable if transient else StoreConfigurationError
            raise kind(
                "POSTGRES_HOST",
                f"Cannot connect to PostgreSQL for the views (POSTGRES_HOST/POSTGRES_PORT/POSTGRES_USER): {first_line}.",
            ) from None
        with connection.cursor() as cursor:
            if self._schema:
                cursor.execute(f'SET search_path TO "{self._schema}"')
            # The views' reads are short, indexed and repeated: compiling one with LLVM costs more than running
            # it. PostgreSQL compiles any statement whose estimated cost passes jit_above_cost, which a page over
            # a big book's tables does (a page answered in 0.6 ms took 41 ms at 25,000 contracts, 23 ms of it JIT).
            cursor.execute("SET jit = off")
            # Each worker's read runs in its own backend: handing one to parallel workers takes the cores the
            # other connections' reads are waiting for (a carrier's /monitoring page at 250,000 contracts planned
            # a parallel scan of every record, and answered in 840 ms p50 at 32 connections on two cores).
            cursor.execute("SET max_parallel_workers_per_gather = 0")
        connection.commit()
        self._connected_once = True
        return connection

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is not None and not connection.closed and _ended_by_the_server(connection):
            connection.close()
        # A connection opened before a fork must never be used in the child.
        if connection is None or connection.closed or getattr(self._local, "pid", None) != os.getpid():
            connection = self._connect()
            self._local.connection = connection
            self._local.pid = os.getpid()
        return connection

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[ViewTransaction]:
        import psycopg2
        import psycopg2.extensions

        connection = self._connection()
        if not write and connection.status == psycopg2.extensions.STATUS_READY:
            # A read sees what READ COMMITTED would show it statement by statement
            # anyway: in autocommit each statement is one round trip, with no BEGIN
            # before it and no COMMIT after (a status GET: 2 round trips, not 6).
            connection.autocommit = True
            cursor = connection.cursor()
            statements = getattr(self._local, "statements", None)
            if statements is None or statements.connection is not connection:
                statements = self._local.statements = PreparedStatements(connection)
            try:
                yield PreparedReadTransaction(cursor, self.dialect, statements)
            except BaseException:
                if connection.closed == 0 and connection.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_UNKNOWN:
                    connection.close()
                raise
            finally:
                cursor.close()
                if connection.closed == 0:
                    connection.autocommit = False
            return
        cursor = connection.cursor()
        try:
            yield ViewTransaction(cursor, _to_pyformat, self.dialect)
        except BaseException:
            try:
                connection.rollback()
            except psycopg2.Error:  # the connection itself is gone (the server restarted): the next one is new
                connection.close()
            raise
        else:
            connection.commit()
        finally:
            cursor.close()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        import psycopg2

        connection = self._connect()
        connection.autocommit = True
        # An advisory lock is the whole database's: its key names the schema
        # too, so the runners of ledgers in two schemas each hold their own.
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_schema()")
                key = f"contractledger.view:{cursor.fetchone()[0]}.{name}"
                cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,))
                if not cursor.fetchone()[0]:
                    raise ViewRunnerAlreadyRunning(
                        f"another runner is already applying events to {name!r}; "
                        "stop it first (two runners would apply events twice)"
                    )
            try:
                yield
            finally:
                # Unlocked before the close: a closed session's backend lets its
                # locks go only once it has exited, a moment after close()
                # returns, and the next holder (rebuild-views --verify takes a
                # generation again at once) would find it still held.
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
                except psycopg2.Error:
                    pass  # the session is gone (the server restarted), and its lock with it
        finally:
            connection.close()

    def announce_change(self, tx: ViewTransaction) -> None:
        tx.execute(f"NOTIFY {CHANGES_CHANNEL}")

    def _listening_connection(self) -> Any:
        with self._listener_lock:
            if self._listener is None or self._listener.closed or self._listener_pid != os.getpid():
                listener = self._connect()
                listener.autocommit = True
                with listener.cursor() as cursor:
                    cursor.execute(f"LISTEN {CHANGES_CHANNEL}")
                self._listener, self._listener_pid = listener, os.getpid()
            return self._listener

    def start_listening(self) -> None:
        """LISTEN before reading a position, so no change slips between the read and the wait."""
        self._listening_connection()

    def wait_for_change(self, timeout: float) -> None:
        listener = self._listening_connection()
        with self._listener_lock:
            listener.poll()
            if listener.notifies:
                listener.notifies.clear()
                return
        ready, _, _ = select.select([listener], [], [], timeout)
        if ready:
            with self._listener_lock:
                listener.poll()
                listener.notifies.clear()

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None and not connection.closed:
            connection.close()
        if self._listener is not None and not self._listener.closed:
            self._listener.close()


def _ended_by_the_server(connection: Any) -> bool:
    """Whether an idle connection was ended by the server (a restart, an
    administrator): its socket then has the server's goodbye (or its end) to
    read, which a live idle connection never has. Costs a syscall, not a round
    trip; the request that would otherwise have found out answers normally."""
    import psycopg2
    import psycopg2.extensions

    if connection.get_transaction_status() != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
        return False
    try:
        for _ in range(3):  # the server's last message, then the end of the stream
            readable, _, _ = select.select([connection], [], [], 0)
            if not readable:
                break
            connection.poll()  # a notice or a parameter status: harmless; the end: an error
    except (psycopg2.Error, OSError, ValueError):
        return True
    return bool(connection.closed)


# Bulk writes of at least this many rows go by COPY on PostgreSQL.
COPY_THRESHOLD = 100
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    """A value in COPY's text format (the types views write: text, integers, NULL)."""
    if value is None:
        return "\\N"
    if type(value) is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return "\\\\x" + bytes(value).hex()
    return str(value).translate(_COPY_ESCAPES)


def _copy_text(rows: Sequence[Sequence[Any]]) -> str:
    """Rows in COPY's text format. Most values are plain text and integers:
    joined as they are, then checked as a whole (no value may hold a tab,
    newline, carriage return or backslash, which would need escaping); when
    the check fails, every value is escaped one by one."""
    text = "".join(
        ["\t".join([v if type(v) is str else ("\\N" if v is None else _copy_field(v)) for v in row]) + "\n" for row in rows]
    )
    width = len(rows[0])
    nulls = sum(row.count(None) for row in rows)
    if (
        all(len(row) == width for row in rows)
        and text.count("\t") == len(rows) * (width - 1)
        and text.count("\n") == len(rows)
        and "\r" not in text
        and text.count("\\") == nulls
    ):
        return text
    return "".join(["\t".join([_copy_field(v) for v in row]) + "\n" for row in rows])


KEY_TEXT = "KEY_TEXT"
"""A text column holding an id, an ISO date or an instant: compared and sorted
as bytes, which is their order (ISO text order is time order). On PostgreSQL
it is ``TEXT COLLATE "C"``: the server then compares such columns by memcmp
instead of its linguistic collation, and the upserts and key lookups of a
rebuild and its index builds cost less (measured on 1,000,000 events: the
server's CPU 26-29 s to 24-25 s). Human text (names, reasons) is plain
``TEXT``, in the server's collation. All of a generation's tables are created
together, so a query never compares columns of two collations."""

_KEY_TEXT_ON = {"postgres": 'TEXT COLLATE "C"', "sqlite": "TEXT"}


def _for_sqlite(sql: str) -> str:
    return sql.replace(KEY_TEXT, _KEY_TEXT_ON["sqlite"]) if KEY_TEXT in sql else sql


_PLACEHOLDER = re.compile(r"\?")
_translated: dict[str, str] = {}


def _to_pyformat(sql: str) -> str:
    translated = _translated.get(sql)
    if translated is None:
        translated = _PLACEHOLDER.sub("%s", sql).replace(KEY_TEXT, _KEY_TEXT_ON["postgres"])
        _translated[sql] = translated
    return translated


def postgres_connect_kwargs(env: Mapping[str, str]) -> dict[str, Any]:
    """psycopg2 connection arguments from the library's POSTGRES_* settings, read
    and checked by the store's own reader (StoreConfigurationError, one sentence)."""
    settings = postgres_settings(env)
    found = settings.key_names or {}
    return {  # psycopg2 takes the port as text or number alike
        "dbname": settings.dbname,
        "host": settings.host,
        "port": settings.port,
        "user": settings.user,
        "password": settings.get_password() if settings.get_password else settings.password,
        # the views give up sooner than the ledger's pool unless told otherwise
        "connect_timeout": settings.connect_timeout if "POSTGRES_CONNECT_TIMEOUT" in found else VIEWS_CONNECT_TIMEOUT,
    }


def postgres_settings(env: Mapping[str, str]) -> PostgresSettings:
    from contractledger.store.postgres.settings import read_settings

    return read_settings(Environment(APPLICATION_NAME, dict(env)))


def view_database_for(env: Mapping[str, str]) -> ViewDatabase:
    """The view database beside the configured event store."""
    module = env.get("PERSISTENCE_MODULE", "contractledger.store.sqlite")
    if module.endswith("postgres"):
        settings = postgres_settings(env)
        schema = settings.schema if "POSTGRES_SCHEMA" in (settings.key_names or {}) else None
        return PostgresViewDatabase(postgres_connect_kwargs(env), schema)
    return SqliteViewDatabase(env.get("SQLITE_DBNAME") or DEFAULT_SQLITE_FILE)
