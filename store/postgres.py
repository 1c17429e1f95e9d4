"""The ledger's PostgreSQL store: an eventsourcing 9.5 persistence module on psycopg2.

Select it with ``PERSISTENCE_MODULE=contractledger.store.postgres``; it reads
the same settings as the library's own (psycopg 3) module: ``POSTGRES_DBNAME``,
``POSTGRES_HOST``, ``POSTGRES_PORT``, ``POSTGRES_USER``, ``POSTGRES_PASSWORD``,
``POSTGRES_SCHEMA``, ``POSTGRES_POOL_SIZE``... (see
:mod:`contractledger.store.postgres_settings`). A bad setting fails when the
factory is constructed, with one sentence naming it.

What it adds to the library's design:

* Every stored event carries its link in the ledger's hash chain
  (:mod:`contractledger.store.hashchain`), computed inside the inserting
  transaction while it holds the table lock, and :meth:`chained_events`
  streams the chain for ``scripts/verify-ledger``.
* The stored-events table is append-only, enforced by the database
  (:mod:`contractledger.store.postgres_schema`).

How an application's events are inserted, in two round trips::

    BEGIN; SET LOCAL lock_timeout ...; LOCK TABLE ... IN EXCLUSIVE MODE;
        SELECT notification_id, hash FROM ... ORDER BY notification_id DESC LIMIT 1
    NOTIFY ...; INSERT INTO ... VALUES (...), (...); COMMIT

The EXCLUSIVE lock serialises inserting transactions (readers are not
blocked), so the transaction that takes id n+1 starts after the one holding n
has committed: ids are contiguous and commit in order, and a reader following
the log never skips an event that commits later, nor waits on a hole (a
rolled-back transaction leaves none: its ids are taken again by the next).
"""

from __future__ import annotations

import select
from collections.abc import Iterator, Sequence
from threading import Thread
from typing import Any, cast
from uuid import UUID

import psycopg2
import psycopg2.extensions

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    InterfaceError,
    ListenNotifySubscription,
    Notification,
    OperationalError,
    ProcessRecorder,
    ProgrammingError,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic, retry

from contractledger.store.hashchain import GENESIS, ChainedEvent, link
from contractledger.store.postgres_datastore import PgConnection, PostgresDatastore
from contractledger.store.postgres_errors import translate
from contractledger.store.postgres_schema import (
    DDL_LOCK_KEY,
    append_only_guard,
    events_table,
    qualified,
    quote_ident,
    snapshots_table,
    tracking_table,
)
from contractledger.store.postgres_settings import MAX_IDENTIFIER_LENGTH, read_flag, read_settings

_TRANSIENT = (InterfaceError, OperationalError)


def _escape_percent(sql: str) -> str:
    # Static SQL that travels with parameters: psycopg2 reads % as a placeholder.
    return sql.replace("%", "%%")


class PostgresRecorder:
    """What every recorder of this store shares: the datastore, and its tables' DDL."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.datastore = datastore
        self.create_statements: list[str] = []

    @staticmethod
    def check_identifier_length(name: str) -> None:
        if len(name.encode()) > MAX_IDENTIFIER_LENGTH:
            msg = f"Identifier too long: {name}"
            raise ProgrammingError(msg)

    def create_table(self) -> None:
        """Creates this recorder's tables (and guard) when missing; safe to race."""
        with self.datastore.transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            for statement in self.create_statements:
                cursor.execute(statement)


class PostgresAggregateRecorder(PostgresRecorder, AggregateRecorder):
    """Events by aggregate only (snapshots): no log order, no hash chain, mutable."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore)
        self.check_identifier_length(events_table_name)
        self.events_table_name = events_table_name
        self.events_table = qualified(datastore.schema, events_table_name)
        self.create_statements.extend(self._events_table_statements())
        self._insert_prefix = _escape_percent(
            f"INSERT INTO {self.events_table} (originator_id, originator_version, topic, state) VALUES "
        )
        self._select_prefix = _escape_percent(
            f"SELECT originator_id, originator_version, topic, state FROM {self.events_table} "
        )

    def _events_table_statements(self) -> list[str]:
        return snapshots_table(self.datastore.schema, self.events_table_name, self.datastore.settings.originator_id_type)

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if stored_events:
            params: list[Any] = []
            for e in stored_events:
                params.extend((e.originator_id, e.originator_version, e.topic, e.state))
            with self.datastore.connection() as raw:
                raw.cursor().execute(
                    self._insert_prefix + ",".join(["(%s,%s,%s,%s)"] * len(stored_events)), params
                )
        return None

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        statement = self._select_prefix + "WHERE originator_id = %s"
        params: list[Any] = [originator_id]
        if gt is not None:
            statement += " AND originator_version > %s"
            params.append(gt)
        if lte is not None:
            statement += " AND originator_version <= %s"
            params.append(lte)
        statement += " ORDER BY originator_version DESC" if desc else " ORDER BY originator_version ASC"
        if limit is not None:
            statement += " LIMIT %s"
            params.append(limit)
        with self.datastore.connection() as raw:
            cursor = raw.cursor()
            cursor.execute(statement, params)
            rows = cursor.fetchall()
        return [
            StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2], state=bytes(row[3]))
            for row in rows
        ]


class PostgresApplicationRecorder(PostgresAggregateRecorder, ApplicationRecorder):
    """The ledger: events in notification id order, hash-chained, append-only."""

    page_size = 1000

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.tamper_evidence = datastore.settings.tamper_evidence
        if self.tamper_evidence:
            self.create_statements.extend(append_only_guard(datastore.schema, events_table_name))
        self.channel_name = f"{datastore.schema}_{events_table_name}"[:MAX_IDENTIFIER_LENGTH]
        table = self.events_table
        self._lock_statements = (
            f"SET LOCAL lock_timeout = '{datastore.settings.lock_timeout}s'; "
            f"LOCK TABLE {table} IN EXCLUSIVE MODE; "
        )
        self._last_link = f"SELECT notification_id, hash FROM {table} ORDER BY notification_id DESC LIMIT 1"
        self._begin_and_lock = "BEGIN; " + self._lock_statements + self._last_link
        self._insert_prefix = _escape_percent(
            f"NOTIFY {quote_ident(self.channel_name)}; "
            f"INSERT INTO {table} (notification_id, originator_id, originator_version, topic, state, hash) VALUES "
        )
        self._columns = "notification_id, originator_id, originator_version, topic, state"
        self._select_notifications_prefix = _escape_percent(f"SELECT {self._columns} FROM {table}")

    def _events_table_statements(self) -> list[str]:
        return events_table(self.datastore.schema, self.events_table_name, self.datastore.settings.originator_id_type)

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self.datastore.connection() as raw:
            return self._insert_events(raw.cursor(), stored_events, **kwargs)

    def _insert_events(
        self, cursor: psycopg2.extensions.cursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return None
        # Round trip 1: begin, lock, and read the last link of the chain.
        cursor.execute(self._begin_and_lock)
        last_id, previous = self._last_position(cursor.fetchone())
        # Round trip 2: the rows, with their links, and the commit.
        self._execute_insert(cursor, stored_events, last_id, previous)
        return list(range(last_id + 1, last_id + 1 + len(stored_events)))

    @staticmethod
    def _last_position(row: tuple[int, Any] | None) -> tuple[int, bytes]:
        if row is None:
            return 0, GENESIS
        return row[0], bytes(row[1]) if row[1] is not None else GENESIS

    def _execute_insert(
        self,
        cursor: psycopg2.extensions.cursor,
        stored_events: Sequence[StoredEvent],
        last_id: int,
        previous: bytes,
    ) -> None:
        params: list[Any] = []
        notification_id = last_id
        chained = self.tamper_evidence
        for e in stored_events:
            notification_id += 1
            if chained:
                previous = link(previous, e.originator_id, e.originator_version, e.topic, e.state)
            params.extend(
                (notification_id, e.originator_id, e.originator_version, e.topic, e.state, previous if chained else None)
            )
        cursor.execute(
            self._insert_prefix + ",".join(["(%s,%s,%s,%s,%s,%s)"] * len(stored_events)) + "; COMMIT",
            params,
        )

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        conditions: list[str] = []
        params: list[Any] = []
        if start is not None:
            conditions.append("notification_id >= %s" if inclusive_of_start else "notification_id > %s")
            params.append(start)
        if stop is not None:
            conditions.append("notification_id <= %s")
            params.append(stop)
        if topics:
            conditions.append("topic = ANY(%s)")
            params.append(list(topics))
        statement = self._select_notifications_prefix
        if conditions:
            statement += " WHERE " + " AND ".join(conditions)
        statement += " ORDER BY notification_id LIMIT %s"
        params.append(limit)
        with self.datastore.connection() as raw:
            cursor = raw.cursor()
            cursor.execute(statement, params)
            rows = cursor.fetchall()
        return [
            Notification(
                id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3], state=bytes(row[4])
            )
            for row in rows
        ]

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def max_notification_id(self) -> int | None:
        with self.datastore.connection() as raw:
            cursor = raw.cursor()
            cursor.execute(f"SELECT max(notification_id) FROM {self.events_table}")
            return cursor.fetchone()[0]

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> Subscription[ApplicationRecorder]:
        return PostgresSubscription(recorder=self, gt=gt, topics=topics)

    def chained_events(self) -> Iterator[ChainedEvent]:
        """The ledger in notification id order, with stored hashes, read page by page."""
        statement = _escape_percent(
            f"SELECT {self._columns}, hash FROM {self.events_table} "
        ) + "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        after = -(2**63)
        while True:
            with self.datastore.connection() as raw:
                cursor = raw.cursor()
                cursor.execute(statement, (after, self.page_size))
                rows = cursor.fetchall()
            for row in rows:
                yield ChainedEvent(
                    notification_id=row[0],
                    originator_id=row[1],
                    originator_version=row[2],
                    topic=row[3],
                    state=bytes(row[4]),
                    stored_hash=bytes(row[5]) if row[5] is not None else b"",
                )
            if len(rows) < self.page_size:
                return
            after = rows[-1][0]


class PostgresSubscription(ListenNotifySubscription[PostgresApplicationRecorder]):
    """Notifications after ``gt``, live: LISTEN wakes the puller after each commit.

    The LISTEN is in place before the first pull, so an event committed
    between the two is not missed.
    """

    def __init__(self, recorder: PostgresApplicationRecorder, gt: int | None = None, topics: Sequence[str] = ()):
        self._listener: PgConnection = recorder.datastore.listen_connection()
        try:
            self._listener.raw.cursor().execute(f"LISTEN {quote_ident(recorder.channel_name)}")
        except psycopg2.Error as error:
            self._listener.close()
            raise translate(error) from error
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._listen_thread = Thread(target=self._listen, daemon=True)
        self._listen_thread.start()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._listen_thread.join()

    def _listen(self) -> None:
        raw = self._listener.raw
        try:
            while not self._has_been_stopped and not self._thread_error:
                # Wake at least every 0.1s to notice stop().
                readable, _, _ = select.select([raw], [], [], 0.1)
                if readable:
                    raw.poll()
                    if raw.notifies:
                        raw.notifies.clear()
                        self._has_been_notified.set()
        except psycopg2.Error as error:
            if self._thread_error is None:
                self._thread_error = translate(error)
            self.stop()
        except BaseException as error:
            if self._thread_error is None:
                self._thread_error = error
            self.stop()
        finally:
            self._listener.close()


class PostgresTrackingRecorder(PostgresRecorder, TrackingRecorder):
    """Which notification of each upstream application has been processed (one row each).

    Views built on this store subclass it: do the view's writes and
    :meth:`_insert_tracking` in one ``self.datastore.transaction()``.
    """

    def __init__(
        self, datastore: PostgresDatastore, *, tracking_table_name: str = "notification_tracking", **kwargs: Any
    ) -> None:
        super().__init__(datastore, **kwargs)
        self.check_identifier_length(tracking_table_name)
        self.tracking_table_name = tracking_table_name
        self.tracking_table = qualified(datastore.schema, tracking_table_name)
        self.create_statements.extend(tracking_table(datastore.schema, tracking_table_name))
        # A position only moves forward: an equal or lower one updates no row.
        self._upsert_tracking = _escape_percent(
            f"INSERT INTO {self.tracking_table} AS t (application_name, notification_id) "
        ) + (
            "VALUES (%s, %s) ON CONFLICT (application_name) DO UPDATE "
            "SET notification_id = EXCLUDED.notification_id "
            "WHERE t.notification_id < EXCLUDED.notification_id RETURNING 1"
        )
        self._select_tracking = _escape_percent(
            f"SELECT notification_id FROM {self.tracking_table} "
        ) + "WHERE application_name = %s"

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def insert_tracking(self, tracking: Tracking) -> None:
        with self.datastore.connection() as raw:
            self._insert_tracking(raw.cursor(), tracking)

    def _insert_tracking(self, cursor: psycopg2.extensions.cursor, tracking: Tracking) -> None:
        cursor.execute(self._upsert_tracking, (tracking.application_name, tracking.notification_id))
        if cursor.fetchone() is None:
            raise self._tracking_conflict(tracking)

    @staticmethod
    def _tracking_conflict(tracking: Tracking) -> IntegrityError:
        return IntegrityError(
            f"Failed to record tracking for {tracking.application_name} {tracking.notification_id}: "
            "that position, or a later one, is already recorded"
        )

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def max_tracking_id(self, application_name: str) -> int | None:
        with self.datastore.connection() as raw:
            cursor = raw.cursor()
            cursor.execute(self._select_tracking, (application_name,))
            row = cursor.fetchone()
        return None if row is None else row[0]


class PostgresProcessRecorder(PostgresTrackingRecorder, PostgresApplicationRecorder, ProcessRecorder):
    """A process application's events and its upstream position, in one transaction."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ) -> None:
        super().__init__(datastore, tracking_table_name=tracking_table_name, events_table_name=events_table_name)
        # Round trip 1 with tracking: begin, lock, move the position, read the last link.
        self._begin_lock_and_track = (
            "BEGIN; "
            + _escape_percent(self._lock_statements)
            + "WITH tracked AS ("
            + self._upsert_tracking
            + ") SELECT (SELECT count(*) FROM tracked), last.notification_id, last.hash "
            "FROM (SELECT 1) AS one LEFT JOIN ("
            + _escape_percent(self._last_link)
            + ") AS last ON true"
        )

    def _insert_events(
        self, cursor: psycopg2.extensions.cursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        tracking: Tracking | None = kwargs.get("tracking")
        if tracking is None:
            return super()._insert_events(cursor, stored_events)
        if not stored_events:
            self._insert_tracking(cursor, tracking)
            return None
        cursor.execute(self._begin_lock_and_track, (tracking.application_name, tracking.notification_id))
        tracked, last_id, last_hash = cursor.fetchone()
        if not tracked:
            raise self._tracking_conflict(tracking)
        last_id, previous = self._last_position(None if last_id is None else (last_id, last_hash))
        self._execute_insert(cursor, stored_events, last_id, previous)
        return list(range(last_id + 1, last_id + 1 + len(stored_events)))


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

