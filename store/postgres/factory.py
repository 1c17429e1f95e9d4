"""Builds the PostgreSQL store's recorders from the environment: the
eventsourcing library finds :class:`PostgresFactory` in
``contractledger.store.postgres`` (``PERSISTENCE_MODULE``). Constructing it
reads the settings (:mod:`contractledger.store.postgres.settings`) and checks
the server; each recorder it makes refuses a schema whose log is split over
two tables."""

from __future__ import annotations

from typing import cast

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic

from contractledger.store.errors import StoreConfigurationError
from contractledger.store.postgres.datastore import PostgresDatastore
from contractledger.store.postgres.recorders import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from contractledger.store.postgres.schema import qualified
from contractledger.store.postgres.settings import read_flag, read_settings


def refuse_other_logs(datastore: PostgresDatastore, events_table_name: str, schema_key: str) -> None:
    """Refuses a schema that holds events in another ledger table than this one.

    The log is one table; a second one (the tables of an application named
    otherwise, e.g. a subclass under its own name) means some process wrote
    where nothing reads, and serving either would hide part of the ledger.
    """
    with datastore.connection() as raw:
        cursor = raw.cursor()
        cursor.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND c.relname LIKE '%%\\_events' AND c.relname <> %s "
            "AND (SELECT count(*) FROM pg_attribute AS a WHERE a.attrelid = c.oid AND NOT a.attisdropped "
            "     AND a.attname IN ('notification_id', 'hash', 'state', 'originator_version')) = 4 "
            "ORDER BY c.relname",
            (datastore.schema, events_table_name),
        )
        for (other,) in cursor.fetchall():
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {qualified(datastore.schema, other)})")
            if cursor.fetchone()[0]:
                ours = qualified(datastore.schema, events_table_name)
                raise StoreConfigurationError(
                    schema_key,
                    f"Schema {datastore.schema!r} ({schema_key}) holds ledger events in {qualified(datastore.schema, other)} "
                    f"as well as in {ours}, the one log every process reads and writes: "
                    f"move the events of {other} into {events_table_name} or drop it before serving.",
                )


class PostgresFactory(InfrastructureFactory[PostgresTrackingRecorder]):
    """Builds the store's recorders; checks the settings and the server when constructed."""

    aggregate_recorder_class = PostgresAggregateRecorder
    application_recorder_class = PostgresApplicationRecorder
    tracking_recorder_class = PostgresTrackingRecorder
    process_recorder_class = PostgresProcessRecorder

    CREATE_TABLE = "CREATE_TABLE"

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self.settings = read_settings(self.env)
        self.datastore = PostgresDatastore(self.settings)
        try:
            self.datastore.check()
        except BaseException:
            self.datastore.close()
            raise

    def _events_table_name(self, purpose: str = "events") -> str:
        return (self.env.name.lower() or "stored") + "_" + purpose

    def _tracking_table_name(self) -> str:
        return (self.env.name.lower() or "notification") + "_tracking"

    def env_create_table(self) -> bool:
        # Read each time: CREATE_TABLE may change after construction (the conformance suite does).
        return read_flag(self.env, self.CREATE_TABLE, True)

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = type(self).aggregate_recorder_class(
            datastore=self.datastore, events_table_name=self._events_table_name(purpose)
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        recorder_class: type[PostgresApplicationRecorder] = (
            resolve_topic(topic) if topic else type(self).application_recorder_class
        )
        assert issubclass(recorder_class, PostgresApplicationRecorder), recorder_class
        recorder = recorder_class(datastore=self.datastore, events_table_name=self._events_table_name())
        if self.env_create_table():
            recorder.create_table()
        refuse_other_logs(self.datastore, recorder.events_table_name, self.settings.key("POSTGRES_SCHEMA"))
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[PostgresTrackingRecorder] | None = None
    ) -> PostgresTrackingRecorder:
        if tracking_recorder_class is None:
            topic = self.env.get(self.TRACKING_RECORDER_TOPIC)
            tracking_recorder_class = resolve_topic(topic) if topic else type(self).tracking_recorder_class
        assert tracking_recorder_class is not None
        assert issubclass(tracking_recorder_class, PostgresTrackingRecorder), tracking_recorder_class
        recorder = tracking_recorder_class(datastore=self.datastore, tracking_table_name=self._tracking_table_name())
        if self.env_create_table():
            recorder.create_table()
        return cast(PostgresTrackingRecorder, recorder)

    def process_recorder(self) -> ProcessRecorder:
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        recorder_class: type[PostgresProcessRecorder] = (
            resolve_topic(topic) if topic else type(self).process_recorder_class
        )
        assert issubclass(recorder_class, PostgresProcessRecorder), recorder_class
        recorder = recorder_class(
            datastore=self.datastore,
            events_table_name=self._events_table_name(),
            tracking_table_name=self._tracking_table_name(),
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def close(self) -> None:
        self.datastore.close()

