"""Builds the SQLite store's recorders from the environment, and reads the
store's own settings: the library finds :class:`SQLiteLedgerFactory` in
``contractledger.store.sqlite`` (``PERSISTENCE_MODULE``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, TypeVar, cast

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment, EnvType, resolve_topic, strtobool

from contractledger.store.errors import StoreConfigurationError
from contractledger.store.sqlite.config import SQLITE_DBNAME
from contractledger.store.sqlite.datastore import SQLiteLedgerDatastore
from contractledger.store.sqlite.recorders import (
    SQLiteLedgerAggregateRecorder,
    SQLiteLedgerApplicationRecorder,
    SQLiteLedgerProcessRecorder,
    SQLiteLedgerTrackingRecorder,
)

SQLITE_LOCK_TIMEOUT = "SQLITE_LOCK_TIMEOUT"
ORIGINATOR_ID_TYPE = "ORIGINATOR_ID_TYPE"
CREATE_TABLE = "CREATE_TABLE"

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
