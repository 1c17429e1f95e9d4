"""The ledger's embedded persistence module: eventsourcing 9.5 on one SQLite file.

Select it with ``PERSISTENCE_MODULE=contractledger.store.sqlite`` and name the
file with ``SQLITE_DBNAME`` (a path, a ``file:`` URI, or ``:memory:``). Other
settings: ``SQLITE_LOCK_TIMEOUT`` (seconds a writer waits for another's write
lock, default 5), ``ORIGINATOR_ID_TYPE`` (``uuid`` or ``text``),
``CREATE_TABLE`` (default yes), and the library's recorder-topic settings.

What it adds to the library's SQLite module: a live subscription (so
``ProjectionRunner`` runs on it), a hash chain over the events, append-only
events enforced by the database, per-view tracking tables, and start-up
checks of the file. See the modules of this package.

The events table is ``stored_events`` and snapshots go to ``stored_snapshots``
whatever the application's name, so an event-sourced projection (a process
application, with events of its own) needs its own file, e.g. through a
prefixed setting such as ``COUNTERS_SQLITE_DBNAME``. Views (tracking recorders)
can share the application's file: each keeps its position in the tracking
table its class declares, or else in ``<projection name>_tracking``.

This package's modules: ``factory`` (the :class:`SQLiteLedgerFactory` the
library finds here, and the store's settings), ``config`` (where
``SQLITE_DBNAME`` points and whether the ledger can use it), ``datastore``
(connections and the commit signal), ``recorders`` (the events and views'
positions), ``subscription`` (following the log) and ``writers`` (the queue in
which a file's writers take turns). The names below are the module's public
ones, as they were when it was one file: recorder topics such as
``contractledger.store.sqlite:SQLiteLedgerApplicationRecorder`` still resolve.
"""

from contractledger.store.sqlite.config import SQLITE_DBNAME
from contractledger.store.sqlite.datastore import SQLiteLedgerDatastore
from contractledger.store.sqlite.factory import (
    CREATE_TABLE,
    ORIGINATOR_ID_TYPE,
    SQLITE_LOCK_TIMEOUT,
    SQLiteLedgerFactory,
    check_settings,
    create_table,
    lock_timeout,
    originator_id_type,
)
from contractledger.store.sqlite.recorders import (
    SQLiteLedgerAggregateRecorder,
    SQLiteLedgerApplicationRecorder,
    SQLiteLedgerProcessRecorder,
    SQLiteLedgerTrackingRecorder,
)
from contractledger.store.sqlite.subscription import SQLiteLedgerSubscription

__all__ = [
    "CREATE_TABLE",
    "ORIGINATOR_ID_TYPE",
    "SQLITE_DBNAME",
    "SQLITE_LOCK_TIMEOUT",
    "SQLiteLedgerAggregateRecorder",
    "SQLiteLedgerApplicationRecorder",
    "SQLiteLedgerDatastore",
    "SQLiteLedgerFactory",
    "SQLiteLedgerProcessRecorder",
    "SQLiteLedgerSubscription",
    "SQLiteLedgerTrackingRecorder",
    "check_settings",
    "create_table",
    "lock_timeout",
    "originator_id_type",
]
