"""The ledger's recorders on SQLite: append-only, hash-chained events, and views' positions."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import (
    DataError,
    IntegrityError,
    Notification,
    ProcessRecorder,
    StoredEvent,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteRecorder,
)

from contractledger.store.errors import StoreConfigurationError
from contractledger.store.hashchain import CHECKPOINTS_TABLE, GENESIS, ChainedEvent, link
from contractledger.store.notifications import OriginatorIds, notification
from contractledger.store.sqlite.config import SQLITE_DBNAME
from contractledger.store.sqlite.datastore import SQLiteLedgerDatastore
from contractledger.store.sqlite.subscription import SQLiteLedgerSubscription

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def checked_table_name(name: str) -> str:
    """Returns ``name`` if it is safe to write unquoted into SQL, else raises ValueError."""
    if not _IDENTIFIER.fullmatch(name):
        msg = f"Table name {name!r} must be letters, digits and underscores, not starting with a digit"
        raise ValueError(msg)
    return name


class Scan(NamedTuple):
    """Notifications found after a position, and how far the read looked."""

    notifications: list[Notification]
    scanned_to: int


class SQLiteLedgerAggregateRecorder(SQLiteAggregateRecorder):
    """Records aggregate sequences without a ledger order: in practice, snapshots.

    Unlike the events table, this table stays mutable and has no hash chain:
    snapshots are a cache that can always be rebuilt from the events, so
    deleting them loses nothing.
    """

    def __init__(self, datastore: SQLiteLedgerDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, checked_table_name(events_table_name))


class SQLiteLedgerApplicationRecorder(SQLiteApplicationRecorder):
    """The ledger's event log: append-only, hash-chained, subscribable.

    Each row carries ``hash = link(hash of the row before it, its content)``,
    computed inside the writing transaction, which holds SQLite's write lock
    from its first statement. Triggers make the database itself refuse UPDATE
    and DELETE (including ``DELETE FROM`` without WHERE, whose truncate
    optimisation SQLite disables on tables with triggers), whoever the client.

    Notification ids are an explicit ``INTEGER PRIMARY KEY`` rather than the
    implicit rowid, which VACUUM may renumber.
    """

    chain_page_size = 1000

    def __init__(self, datastore: SQLiteLedgerDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, checked_table_name(events_table_name))
        self.datastore: SQLiteLedgerDatastore
        self._originator_ids = OriginatorIds()
        table = self.events_table_name
        self.insert_events_statement = (
            f"INSERT INTO {table} (notification_id, originator_id, originator_version, "
            "topic, state, hash) VALUES (?,?,?,?,?,?)"
        )
        self.select_chain_head_statement = (
            f"SELECT notification_id, hash FROM {table} ORDER BY notification_id DESC LIMIT 1"
        )
        self.select_max_notification_id_statement = f"SELECT MAX(notification_id) FROM {table}"
        self.select_chain_statement = (
            "SELECT notification_id, originator_id, originator_version, topic, state, hash "
            f"FROM {table} WHERE notification_id>? AND notification_id<=? ORDER BY notification_id LIMIT ?"
        )

    def construct_create_table_statements(self) -> list[str]:
        table = self.events_table_name
        refusal = f"{table} is append-only: stored events cannot be %s"
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "notification_id INTEGER PRIMARY KEY, "
            "originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, "
            "topic TEXT NOT NULL, "
            "state BLOB NOT NULL, "
            "hash BLOB NOT NULL, "
            "UNIQUE (originator_id, originator_version))",
            f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{refusal % 'changed'}'); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{refusal % 'deleted'}'); END",
        ]

    def _create_table(self, c: SQLiteCursor) -> None:
        super()._create_table(c)
        c.execute(f"PRAGMA table_info({self.events_table_name})")
        if not {"notification_id", "hash"} <= {row["name"] for row in c.fetchall()}:
            location = self.datastore.location
            raise StoreConfigurationError(
                SQLITE_DBNAME,
                f"{SQLITE_DBNAME} names '{location.path or location.uri}', whose {self.events_table_name} "
                "table was not made by this store (it has no hash chain).",
            )

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        notification_ids = super().insert_events(stored_events, **kwargs)
        if stored_events:
            self.datastore.commit_signal.notify()
        return notification_ids

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        c.execute(self.select_chain_head_statement)
        head = c.fetchone()
        last_id, previous = (head[0], bytes(head[1])) if head else (0, GENESIS)
        rows = []
        for offset, event in enumerate(stored_events, start=1):
            stored_id = event.originator_id.hex if isinstance(event.originator_id, UUID) else event.originator_id
            # Hash the id as a reader will get it back, so verification agrees.
            previous = link(
                previous,
                self._readable_originator_id(stored_id),
                event.originator_version,
                event.topic,
                event.state,
            )
            rows.append((last_id + offset, stored_id, event.originator_version, event.topic, event.state, previous))
        c.executemany(self.insert_events_statement, rows)
        return [row[0] for row in rows]

    def _readable_originator_id(self, stored_id: str) -> UUID | str:
        try:
            return self.convert_originator_id(stored_id)
        except ValueError:
            msg = f"Originator id {stored_id!r} is not a UUID, and ORIGINATOR_ID_TYPE is 'uuid'"
            raise DataError(msg) from None

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        conditions, params = [], []
        if start is not None:
            conditions.append("notification_id>=?" if inclusive_of_start else "notification_id>?")
            params.append(start)
        if stop is not None:
            conditions.append("notification_id<=?")
            params.append(stop)
        with self.datastore.transaction(commit=False) as c:
            return self._select_notifications(c, conditions, params, topics, limit)

    def scan_notifications(self, after: int, limit: int, topics: Sequence[str] = ()) -> Scan:
        """Notifications after ``after`` (matching ``topics``, if any), in one read.

        ``scanned_to`` is the position a next scan can start from: the largest
        id this read could see when fewer than ``limit`` matched, so a
        subscription filtering by topic does not re-read non-matching events.
        """
        with self.datastore.transaction(commit=False) as c:
            max_id = self._max_notification_id(c) or 0
            if max_id <= after:
                return Scan([], after)
            notifications = self._select_notifications(
                c, ["notification_id>?", "notification_id<=?"], [after, max_id], topics, limit
            )
        if len(notifications) == limit:
            return Scan(notifications, notifications[-1].id)
        return Scan(notifications, max_id)

    def _select_notifications(
        self,
        c: SQLiteCursor,
        conditions: list[str],
        params: list[Any],
        topics: Sequence[str],
        limit: int,
    ) -> list[Notification]:
        conditions, params = list(conditions), list(params)
        if topics:
            conditions.append(f"topic IN ({','.join('?' * len(topics))})")
            params.extend(topics)
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        c.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {self.events_table_name} {where}ORDER BY notification_id LIMIT ?",
            [*params, limit],
        )
        if self.datastore.originator_id_type != "uuid":
            return [notification(i, o, v, t, s) for i, o, v, t, s in c.fetchall()]
        originator = self._originator_ids
        return [notification(i, originator(o), v, t, s) for i, o, v, t, s in c.fetchall()]

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> SQLiteLedgerSubscription:
        return SQLiteLedgerSubscription(self, gt=gt, topics=topics)

    def witnessed_hashes(self) -> dict[int, bytes]:
        """The hashes the chain watch witnessed in this file, by position (none before it has run)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (CHECKPOINTS_TABLE,))
            if c.fetchone() is None:
                return {}
            c.execute(f"SELECT position, hash FROM {CHECKPOINTS_TABLE}")
            return {int(position): bytes.fromhex(hashed) for position, hashed in c.fetchall()}

    def chained_events(self, after: int = 0, up_to: int | None = None) -> Iterator[ChainedEvent]:
        """Every stored event with its stored hash, in notification id order
        (those after position ``after``, up to ``up_to`` when given).

        Read in pages (one short read transaction each), so a long ledger is
        verified in constant memory without holding a read snapshot open.
        """
        last = up_to if up_to is not None else 2**63 - 1
        while True:
            with self.datastore.transaction(commit=False) as c:
                c.execute(self.select_chain_statement, (after, last, self.chain_page_size))
                rows = c.fetchall()
            for row in rows:
                yield ChainedEvent(
                    notification_id=row[0],
                    originator_id=self.convert_originator_id(row[1]),
                    originator_version=row[2],
                    topic=row[3],
                    state=bytes(row[4]),
                    stored_hash=bytes(row[5]),
                )
            if len(rows) < self.chain_page_size:
                return
            after = rows[-1][0]


class SQLiteLedgerTrackingRecorder(SQLiteRecorder, TrackingRecorder):
    """A view's position in each upstream application's ledger, one row per application.

    Several views can track one application in one file because each keeps
    its position in its own table: the ``tracking_table_name`` its class
    declares (a view whose own tables are named alongside should declare it),
    else the name given to the constructor (the factory gives
    ``<projection name>_tracking``), else ``tracking``. Views that end up with
    the same table share one position per application.
    """

    tracking_table_name: str = ""

    def __init__(self, datastore: SQLiteLedgerDatastore, *, tracking_table_name: str | None = None, **kwargs: Any):
        # Set before the base initialiser, which builds the CREATE statements.
        self.tracking_table_name = checked_table_name(
            type(self).tracking_table_name or tracking_table_name or "tracking"
        )
        super().__init__(datastore, **kwargs)
        self.datastore: SQLiteLedgerDatastore
        table = self.tracking_table_name
        self.insert_tracking_statement = (
            f"INSERT INTO {table} VALUES (:application_name, :notification_id) "
            "ON CONFLICT (application_name) DO UPDATE "
            "SET notification_id = :notification_id "
            f"WHERE {table}.notification_id < :notification_id "
            "RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = f"SELECT notification_id FROM {table} WHERE application_name=?"

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.tracking_table_name} ("
            "application_name TEXT PRIMARY KEY, "
            "notification_id INTEGER NOT NULL) "
            "WITHOUT ROWID"
        )
        return statements

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)

    def _insert_tracking(self, c: SQLiteCursor, tracking: Tracking) -> None:
        """Records the position, refusing one that is not beyond the recorded one."""
        c.execute(
            self.insert_tracking_statement,
            {"application_name": tracking.application_name, "notification_id": tracking.notification_id},
        )
        if c.fetchone() is None:
            msg = (
                f"{self.tracking_table_name}: already at or beyond notification "
                f"{tracking.notification_id} of {tracking.application_name}"
            )
            raise IntegrityError(msg)

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.select_max_tracking_id_statement, (application_name,))
            row = c.fetchone()
            return None if row is None else row[0]


class SQLiteLedgerProcessRecorder(SQLiteLedgerTrackingRecorder, SQLiteLedgerApplicationRecorder, ProcessRecorder):
    """Records a process application's new events and its upstream position atomically."""

    def __init__(
        self,
        datastore: SQLiteLedgerDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str | None = None,
    ):
        super().__init__(datastore, tracking_table_name=tracking_table_name, events_table_name=events_table_name)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        tracking: Tracking | None = kwargs.get("tracking")
        if tracking is not None:
            self._insert_tracking(c, tracking)
        return notification_ids
