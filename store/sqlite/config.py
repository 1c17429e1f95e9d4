"""Where ``SQLITE_DBNAME`` points, and whether the ledger can use it.

A ledger that cannot write its file must refuse to start, in one sentence that
names the setting and the path, rather than fail on the first command.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import unquote, urlsplit
from uuid import uuid4

from contractledger.store.errors import StoreConfigurationError

SQLITE_DBNAME = "SQLITE_DBNAME"


@dataclass(frozen=True)
class SQLiteLocation:
    """A database as SQLite opens it, and as this process recognises it.

    ``uri`` is what connections open; ``path`` is the file (None when the
    database lives in memory); ``key`` identifies the database within this
    process, so that every writer to one file can wake that file's subscribers.
    """

    uri: str
    path: str | None
    key: str

    @property
    def in_memory(self) -> bool:
        return self.path is None


def locate(db_name: str | None) -> SQLiteLocation:
    """Interprets an ``SQLITE_DBNAME`` value: a path, a ``file:`` URI, or memory."""
    if not db_name:
        raise StoreConfigurationError(
            SQLITE_DBNAME,
            f"{SQLITE_DBNAME} is not set: name the ledger's SQLite file (or ':memory:').",
        )
    if db_name == ":memory:":
        # Plain ':memory:' gives every connection its own empty database, and the
        # pool (and every subscription) opens several: share one private
        # in-memory database among this store's connections instead.
        uri = f"file:contractledger-{uuid4().hex}?mode=memory&cache=shared"
        return SQLiteLocation(uri=uri, path=None, key=uri)
    if db_name.startswith("file:"):
        parts = urlsplit(db_name)
        path = unquote(parts.path)
        if path == ":memory:" or "mode=memory" in parts.query:
            return SQLiteLocation(uri=db_name, path=None, key=db_name)
        return SQLiteLocation(uri=db_name, path=path, key=_file_key(path))
    return SQLiteLocation(uri=db_name, path=db_name, key=_file_key(db_name))


def _file_key(path: str) -> str:
    return os.path.realpath(path) if path else path


def check_usable(location: SQLiteLocation, lock_timeout: float, *, create: bool = True) -> None:
    """Raises StoreConfigurationError unless the ledger can read and write the file.

    Opens the file the way the store will (WAL journal) and takes the write
    lock once, so a read-only file, an unwritable directory (WAL needs its
    ``-wal`` and ``-shm`` files beside the database) or a file that is not a
    database is refused at start-up. Unless ``create``, a missing file is
    refused rather than created: a reader pointed at the wrong path (say, the
    verifier) must not leave an empty ledger there.
    """
    if location.in_memory:
        return
    path = location.path or ""
    if not path:
        _refuse(path, "which is not a file path")
    if os.path.isdir(path):
        _refuse(path, "which is a directory, not a database file")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        _refuse(path, f"but its directory '{directory}' does not exist")
    if not create and not os.path.exists(path):
        _refuse(path, "which does not exist (and CREATE_TABLE is off, so it is not created)")
    try:
        connection = sqlite3.connect(
            location.uri, uri=True, isolation_level=None, timeout=lock_timeout
        )
    except sqlite3.Error as error:
        _refuse(path, f"which cannot be opened or created ({error}): check that '{directory}' is writable")
    try:
        _probe(connection)
    except sqlite3.DatabaseError as error:
        message = str(error)
        if "not a database" in message:
            _refuse(path, "which is not an SQLite database")
        if "readonly" in message:
            _refuse(path, "which is read-only, and the ledger must write to it")
        if "unable to open" in message:
            _refuse(path, f"which cannot be written: check that its directory '{directory}' is writable")
        if "locked" in message or "busy" in message:
            # Another process is writing: the file is evidently a usable database.
            return
        _refuse(path, f"which cannot be used ({message})")
    finally:
        connection.close()


def _probe(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA schema_version").fetchone()
    connection.execute("PRAGMA journal_mode=WAL").fetchone()
    # Taking the write lock alone succeeds on a read-only file; a rolled-back
    # schema change proves the file can really be written.
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute("CREATE TABLE contractledger_write_probe (x)")
    finally:
        connection.execute("ROLLBACK")


def _refuse(path: str, reason: str) -> NoReturn:
    raise StoreConfigurationError(SQLITE_DBNAME, f"{SQLITE_DBNAME} names '{path}', {reason}.")
