"""The ledger's embedded persistence module: eventsourcing 9.5 on one SQLite file.

Select it with ``PERSISTENCE_MODULE=contractledger.store.sqlite`` and name the
file with ``SQLITE_DBNAME`` (a path, a ``file:`` URI, or ``:memory:``). Other
settings: ``SQLITE_LOCK_TIMEOUT`` (seconds a writer waits for another's write
lock, default 5), ``ORIGINATOR_ID_TYPE`` (``uuid`` or ``text``),
``CREATE_TABLE`` (default yes), and the library's recorder-topic settings.

What it adds to the library's SQLite module: a live subscription (so
``ProjectionRunner`` runs on it), a hash chain over the events, append-only
events enforced by the database, per-view tracking tables, and start-up
checks of the file. See the ``sqlite_*`` modules beside this one.

The events table is ``stored_events`` and snapshots go to ``stored_snapshots``
whatever the application's name, so an event-sourced projection (a process
application, with events of its own) needs its own file, e.g. through a
prefixed setting such as ``COUNTERS_SQLITE_DBNAME``. Views (tracking recorders)
can share the application's file: each keeps its position in the tracking
table its class declares, or else in ``<projection name>_tracking``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, TypeVar, cast

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment, EnvType, resolve_topic, strtobool

from contractledger.store.errors import StoreConfigurationError
from contractledger.store.sqlite_config import SQLITE_DBNAME
from contractledger.store.sqlite_datastore import SQLiteLedgerDatastore
from contractledger.store.sqlite_recorders import (
    SQLiteLedgerAggregateRecorder,
    SQLiteLedgerApplicationRecorder,
    SQLiteLedgerProcessRecorder,
    SQLiteLedgerTrackingRecorder,
)
from contractledger.store.sqlite_subscription import SQLiteLedgerSubscription

SQLITE_LOCK_TIMEOUT = "SQLITE_LOCK_TIMEOUT"
ORIGINATOR_ID_TYPE = "ORIGINATOR_ID_TYPE"
CREATE_TABLE = "CREATE_TABLE"

__all__ = [
    "SQLiteLedgerAggregateRecorder",
    "SQLiteLedgerApplicationRecorder",
    "SQLiteLedgerDatastore",
    "SQLiteLedgerFactory",
    "SQLiteLedgerProcessRecorder",
    "SQLiteLedgerSubscription",
    "SQLiteLedgerTrackingRecorder",
]

_Recorder = TypeVar("_Recorder", bound=type)


class SQLiteLedgerFactory(InfrastructureFactory[SQLiteLedgerTrackingRecorder]):
    """Builds the ledger's SQLite recorders from the environment.

    The file is checked when the factory is constructed: a missing setting,
    a missing directory, an unwritable or read-only file, or a file that is
    not a database raises StoreConfigurationError naming SQLITE_DBNAME.
    """

    SQLITE_DBNAME = SQLITE_DBNAME
    SQLITE_LOCK_TIMEOUT = SQLITE_LOCK_TIMEOUT
    ORIGINATOR_ID_TYPE = ORIGINATOR_ID_TYPE
    CREATE_TABLE = CREATE_TABLE

    aggregate_recorder_class = SQLiteLedgerAggregateRecorder
    application_recorder_class = SQLiteLedgerApplicationRecorder
    tracking_recorder_class = SQLiteLedgerTrackingRecorder
    process_recorder_class = SQLiteLedgerProcessRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        self.datastore = SQLiteLedgerDatastore(
            db_name=self.env.get(self.SQLITE_DBNAME) or "",
            lock_timeout=self._lock_timeout(),
            originator_id_type=self._originator_id_type(),
            create=self.env_create_table(),
        )

    def _lock_timeout(self) -> int | None:
        return lock_timeout(self.env)

    def _originator_id_type(self) -> Literal["uuid", "text"]:
        return originator_id_type(self.env)

    def aggregate_recorder(self, purpose: str = "events") -> SQLiteLedgerAggregateRecorder:
        recorder = self.aggregate_recorder_class(self.datastore, events_table_name="stored_" + purpose)
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> SQLiteLedgerApplicationRecorder:
        recorder_class = self._recorder_class(
            self.APPLICATION_RECORDER_TOPIC, self.application_recorder_class
        )
        recorder = recorder_class(self.datastore)
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[SQLiteLedgerTrackingRecorder] | None = None
    ) -> SQLiteLedgerTrackingRecorder:
        recorder_class = tracking_recorder_class or self._recorder_class(
            self.TRACKING_RECORDER_TOPIC, self.tracking_recorder_class
        )
        if not issubclass(recorder_class, SQLiteLedgerTrackingRecorder):
            msg = f"{recorder_class.__qualname__} is not an SQLiteLedgerTrackingRecorder"
            raise TypeError(msg)
        recorder = recorder_class(self.datastore, tracking_table_name=self._tracking_table_name())
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def process_recorder(self) -> SQLiteLedgerProcessRecorder:
        recorder_class = self._recorder_class(self.PROCESS_RECORDER_TOPIC, self.process_recorder_class)
        recorder = recorder_class(self.datastore, tracking_table_name=self._tracking_table_name())
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def _tracking_table_name(self) -> str:
        """``<name>_tracking`` after the projection (or application) this factory serves.

        As in the PostgreSQL module: views run by differently named projections
        keep their positions apart in one file, unless the view class declares
        its own table.
        """
        name = re.sub(r"\W", "_", self.env.name.lower())
        return f"{name}_tracking" if name else "tracking"

    def _recorder_class(self, setting: str, default: _Recorder) -> _Recorder:
        topic = self.env.get(setting)
        if not topic:
            return default
        recorder_class = resolve_topic(topic)
        if not (isinstance(recorder_class, type) and issubclass(recorder_class, default)):
            raise StoreConfigurationError(
                setting, f"{setting} is '{topic}', which is not a subclass of {default.__qualname__}."
            )
        return cast(_Recorder, recorder_class)

    def env_create_table(self) -> bool:
        return create_table(self.env)

    def close(self) -> None:
        self.datastore.close()


def lock_timeout(env: Mapping[str, str]) -> int | None:
    """``SQLITE_LOCK_TIMEOUT``: whole seconds (None: the library's default, 5)."""
    value = (env.get(SQLITE_LOCK_TIMEOUT) or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise StoreConfigurationError(
            SQLITE_LOCK_TIMEOUT, f"{SQLITE_LOCK_TIMEOUT} is '{value}', but must be a whole number of seconds."
        ) from None


def originator_id_type(env: Mapping[str, str]) -> Literal["uuid", "text"]:
    value = (env.get(ORIGINATOR_ID_TYPE) or "uuid").lower()
    if value not in ("uuid", "text"):
        raise StoreConfigurationError(
            ORIGINATOR_ID_TYPE, f"{ORIGINATOR_ID_TYPE} is '{value}', but must be 'uuid' or 'text'."
        )
    return cast(Literal["uuid", "text"], value)


def create_table(env: Mapping[str, str]) -> bool:
    value = env.get(CREATE_TABLE) or "yes"
    try:
        return bool(strtobool(value.strip()))
    except ValueError:
        raise StoreConfigurationError(
            CREATE_TABLE, f"{CREATE_TABLE} is '{value}', but must be yes or no (or true/false, on/off, 1/0)."
        ) from None


def check_settings(env: Mapping[str, str]) -> None:
    """The SQLite store's own settings, checked before it opens (StoreConfigurationError)."""
    lock_timeout(env), originator_id_type(env), create_table(env)
