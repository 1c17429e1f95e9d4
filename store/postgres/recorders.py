"""The PostgreSQL store's recorders: the events, the tracking of views and
processes, and the subscription that follows the log.

How an application's events are inserted. Every inserting transaction takes
``LOCK TABLE ... IN EXCLUSIVE MODE``, which serialises inserting transactions
(readers are not blocked): the transaction that takes id n+1 starts after the
one holding n has committed, so ids are contiguous and commit in order, a
reader following the log never skips an event that commits later, and never
waits on a hole (a rolled-back transaction leaves none: the next one takes its
ids again). Ids and hashes are computed here, from the last link of the chain.

In two round trips, reading the last link under the lock::

    BEGIN; LOCK TABLE ... IN EXCLUSIVE MODE;
        SELECT notification_id, hash FROM ... ORDER BY notification_id DESC LIMIT 1
    NOTIFY ...; INSERT INTO ... VALUES (...), (...); COMMIT

or, for small appends when the recorder knows the last link from its previous
append, in one round trip (one implicit transaction): lock, then insert rows
chained to the known link *only if* it is still the last one under the lock,
returning the actual last link otherwise, to try again::

    LOCK TABLE ... IN EXCLUSIVE MODE; EXECUTE append_1(...)

where ``append_1`` is prepared once per connection as::

    WITH last AS (SELECT ... LIMIT 1), appended AS (INSERT ... SELECT ... WHERE
        last is the known link RETURNING 1)
    SELECT count(appended), last, pg_notify(...) when appended

Either way the database holds the lock while it checks the link the new rows
are chained to, so the chain cannot fork or skip; the second form saves a
round trip per transaction when one process does most of the writing, and
the prepared statement saves planning it each time (most of its cost).

``POSTGRES_LOCK_TIMEOUT`` is set for the session when a connection opens
(``lock_timeout``), rather than by ``SET LOCAL`` in every transaction.
"""

from __future__ import annotations

import hashlib
import io
import select
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
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
from eventsourcing.utils import retry

from contractledger.store.hashchain import CHECKPOINTS_TABLE, GENESIS, ChainedEvent, link
from contractledger.store.notifications import OriginatorIds, StatePage, notification
from contractledger.store.postgres.datastore import PgConnection, PostgresDatastore
from contractledger.store.postgres.errors import translate
from contractledger.store.postgres.schema import (
    DDL_LOCK_KEY,
    append_only_guard,
    events_table,
    qualified,
    quote_ident,
    snapshots_table,
    tracking_table,
)
from contractledger.store.postgres.settings import MAX_IDENTIFIER_LENGTH

_TRANSIENT = (InterfaceError, OperationalError)


def _bytes_or_none(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A text field in COPY's text format."""
    return value.translate(_COPY_ESCAPES)


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


    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def select_from_latest_snapshot(
        self, snapshots: "PostgresAggregateRecorder", originator_id: UUID | str, *, lte: int | None = None
    ) -> tuple[StoredEvent | None, Sequence[StoredEvent]]:
        """An aggregate's latest snapshot (up to version ``lte``) in ``snapshots``'
        table and its events after it, in one round trip: the library reads
        them in two, although nearly every contract has no snapshot."""
        up_to = "" if lte is None else " AND originator_version <= %s"
        bound = [] if lte is None else [lte]
        statement = (
            f"WITH s AS (SELECT originator_id, originator_version, topic, state FROM {_escape_percent(snapshots.events_table)} "
            f"WHERE originator_id = %s{up_to} ORDER BY originator_version DESC LIMIT 1) "
            "SELECT 0, originator_id, originator_version, topic, state FROM s UNION ALL "
            f"SELECT 1, originator_id, originator_version, topic, state FROM {_escape_percent(self.events_table)} "
            f"WHERE originator_id = %s AND originator_version > COALESCE((SELECT originator_version FROM s), 0){up_to} "
            "ORDER BY 1, 3"
        )
        with self.datastore.connection() as raw:
            cursor = raw.cursor()
            cursor.execute(statement, [originator_id, *bound, originator_id, *bound])
            rows = cursor.fetchall()
        snapshot, events = None, []
        for kind, stored_id, version, topic, state in rows:
            stored = StoredEvent(originator_id=stored_id, originator_version=version, topic=topic, state=bytes(state))
            if kind == 0:
                snapshot = stored
            else:
                events.append(stored)
        return snapshot, events


class PostgresApplicationRecorder(PostgresAggregateRecorder, ApplicationRecorder):
    """The ledger: events in notification id order, hash-chained, append-only."""

    page_size = 1000
    # Appends of at most this many events first try one round trip (see _try_append_after).
    one_trip_limit = 20
    one_trip_attempts = 3
    # Appends of at least this many events go by COPY: about twice as fast as VALUES for many rows.
    copy_threshold = 50
    # select_notifications takes utf8_states (read the states as text)
    reads_utf8_states = True

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.tamper_evidence = datastore.settings.tamper_evidence
        if self.tamper_evidence:
            self.create_statements.extend(append_only_guard(datastore.schema, events_table_name))
        self.channel_name = f"{datastore.schema}_{events_table_name}"[:MAX_IDENTIFIER_LENGTH]
        table = self.events_table
        self._lock_statements = f"LOCK TABLE {table} IN EXCLUSIVE MODE; "
        self._last_link = f"SELECT notification_id, hash FROM {table} ORDER BY notification_id DESC LIMIT 1"
        self._begin_and_lock = "BEGIN; " + self._lock_statements + self._last_link
        notify = f"NOTIFY {quote_ident(self.channel_name)}; "
        columns = "notification_id, originator_id, originator_version, topic, state, hash"
        self._insert_prefix = _escape_percent(f"{notify}INSERT INTO {table} ({columns}) VALUES ")
        self._row = "(%s,%s,%s,%s,%s,%s)"
        self._copy_in = f"COPY {table} ({columns}) FROM STDIN"
        self._notify_and_commit = f"{notify}COMMIT"
        self._id_type = datastore.settings.originator_id_type
        self._conditional_head = (
            f"WITH last AS ({self._last_link}), "
            f"appended AS (INSERT INTO {table} ({columns}) SELECT * FROM (VALUES "
        )
        channel_literal = "'" + self.channel_name.replace("'", "''") + "'"
        self._conditional_select = (
            "SELECT (SELECT count(*) FROM appended), "
            "(SELECT notification_id FROM last), (SELECT hash FROM last), "
            # Subscribers are woken only when rows were appended.
            f"(SELECT pg_notify({channel_literal}, '') FROM appended LIMIT 1)"
        )
        self._lock_only = _escape_percent(self._lock_statements)
        self._conditional_inserts: dict[int, tuple[str, str, str]] = {}
        # The last link this recorder knows of: (notification id, stored hash).
        self._known_last: tuple[int, bytes | None] | None = None
        self._known_last_lock = threading.Lock()
        self._columns = "notification_id, originator_id, originator_version, topic, state"
        # Notifications read the id as text and make each UUID once per
        # recurring id (psycopg2's uuid cast runs Python code per row): a page
        # of 40,000 reads in 4 us an event instead of 10.
        self._originator_ids = OriginatorIds()
        listed = self._columns.replace("originator_id", "originator_id::text") if self._id_type == "uuid" else self._columns
        self._select_notifications_prefix = _escape_percent(f"SELECT {listed} FROM {table}")
        # The same, with each state read as UTF-8 text (see select_notifications).
        self._select_text_notifications_prefix = self._select_notifications_prefix.replace(
            " state FROM", " convert_from(state, 'UTF8') FROM"
        )
        # A page in columns (see select_state_page): the state of a skipped topic is not sent.
        self._select_state_page = (
            self._select_text_notifications_prefix.replace(
                "convert_from(state, 'UTF8')", "CASE WHEN topic <> ALL(%s) THEN convert_from(state, 'UTF8') END"
            )
            + " WHERE notification_id > %s"
        )

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
        if len(stored_events) <= self.one_trip_limit:
            for _ in range(self.one_trip_attempts):
                known = self._known_last
                if known is None:
                    break
                if self._try_append_after(cursor, stored_events, known):
                    return list(range(known[0] + 1, known[0] + 1 + len(stored_events)))
        # Round trip 1: begin, lock, and read the last link of the chain.
        cursor.execute(self._begin_and_lock)
        row = cursor.fetchone()
        last = (0, None) if row is None else (row[0], _bytes_or_none(row[1]))
        # Round trip 2: the rows, with their links, and the commit.
        self._append_after(cursor, stored_events, last)
        return list(range(last[0] + 1, last[0] + 1 + len(stored_events)))

    def _as_stored(self, originator_id: UUID | str) -> UUID | str:
        """The originator id as it will read back, so its link verifies later.

        A uuid column reads back a UUID whatever text spelt it ('ABC...' and
        'abc...' are one UUID), and the link hashes its text.
        """
        if self._id_type == "uuid" and not isinstance(originator_id, UUID):
            return UUID(str(originator_id))
        return originator_id

    def _rows(self, stored_events: Sequence[StoredEvent], last: tuple[int, bytes | None]) -> tuple[list[Any], bytes | None]:
        """The rows' parameters, numbered and chained after ``last``; and the new last hash."""
        params: list[Any] = []
        notification_id, previous = last[0], last[1] or GENESIS
        chained = self.tamper_evidence
        for e in stored_events:
            notification_id += 1
            # As text: psycopg2 adapts str in C (a UUID in Python), the column's type
            # converts it back, and link() hashes the text anyway.
            originator_id = str(self._as_stored(e.originator_id))
            if chained:
                previous = link(previous, originator_id, e.originator_version, e.topic, e.state)
            params.extend(
                (notification_id, originator_id, e.originator_version, e.topic, e.state, previous if chained else None)
            )
        return params, previous if chained else None

    def _append_after(
        self, cursor: psycopg2.extensions.cursor, stored_events: Sequence[StoredEvent], last: tuple[int, bytes | None]
    ) -> None:
        """Inside the locked transaction: inserts, notifies and commits."""
        if len(stored_events) >= self.copy_threshold:
            text, last_hash = self._copy_rows(stored_events, last)
            cursor.copy_expert(self._copy_in, io.StringIO(text), size=len(text) + 1)
            cursor.execute(self._notify_and_commit)
        else:
            params, last_hash = self._rows(stored_events, last)
            cursor.execute(self._insert_prefix + ",".join([self._row] * len(stored_events)) + "; COMMIT", params)
        self._remember(last[0] + len(stored_events), last_hash)

    def _copy_rows(
        self, stored_events: Sequence[StoredEvent], last: tuple[int, bytes | None]
    ) -> tuple[str, bytes | None]:
        """The rows in COPY's text format, numbered and chained after ``last``; and the new last hash."""
        lines: list[str] = []
        notification_id, previous = last[0], last[1] or GENESIS
        chained = self.tamper_evidence
        topics: dict[str, str] = {}
        for e in stored_events:
            notification_id += 1
            originator_id = str(self._as_stored(e.originator_id))
            if chained:
                previous = link(previous, originator_id, e.originator_version, e.topic, e.state)
                hash_field = "\\\\x" + previous.hex()
            else:
                hash_field = "\\N"
            # A UUID's text needs no escaping; a batch's topics repeat.
            originator = originator_id if self._id_type == "uuid" else _copy_text(originator_id)
            topic = topics.get(e.topic)
            if topic is None:
                topic = topics[e.topic] = _copy_text(e.topic)
            lines.append(
                f"{notification_id}\t{originator}\t{e.originator_version}\t{topic}\t"
                f"\\\\x{e.state.hex()}\t{hash_field}\n"
            )
        return "".join(lines), previous if chained else None

    def _try_append_after(
        self, cursor: psycopg2.extensions.cursor, stored_events: Sequence[StoredEvent], known: tuple[int, bytes | None]
    ) -> bool:
        """One round trip, one implicit transaction: lock, check that ``known`` is still
        the last link, and only then insert. False (nothing inserted) when it is not.

        The chain is the same as computed after reading the last link under the
        lock: the database refuses rows chained to anything but the actual last.
        """
        params, last_hash = self._rows(stored_events, known)
        params.extend(known)
        name, prepare, execute = self._conditional_insert(len(stored_events))
        prepared = cursor.connection.prepared
        if name not in prepared:
            cursor.execute(prepare)
            prepared.add(name)
        try:
            cursor.execute(execute, params)
        except psycopg2.errors.InvalidSqlStatementName:
            # Someone ran DEALLOCATE (or DISCARD ALL) on this connection.
            prepared.clear()
            cursor.execute(prepare)
            prepared.add(name)
            cursor.execute(execute, params)
        appended, actual_id, actual_hash, _ = cursor.fetchone()
        if appended:
            self._remember(known[0] + len(stored_events), last_hash)
            return True
        with self._known_last_lock:
            self._known_last = (actual_id or 0, _bytes_or_none(actual_hash))
        return False

    def _conditional_insert(self, count: int) -> tuple[str, str, str]:
        """(name, PREPARE statement, EXECUTE statement) of the one-trip append of ``count`` rows."""
        statements = self._conditional_inserts.get(count)
        if statements is None:
            types = ["bigint", self._id_type, "bigint", "text", "bytea", "bytea"]
            rows = ",".join(
                "(" + ",".join(f"${6 * row + column + 1}" for column in range(6)) + ")" for row in range(count)
            )
            known_id, known_hash = 6 * count + 1, 6 * count + 2
            body = (
                f"{self._conditional_head}{rows}) AS v "
                f"WHERE COALESCE((SELECT notification_id FROM last), 0) = ${known_id} "
                f"AND (SELECT hash FROM last) IS NOT DISTINCT FROM ${known_hash} RETURNING 1) "
                f"{self._conditional_select}"
            )
            # Named after the text, so recorders of one table share it on a connection.
            name = "contractledger_append_" + hashlib.sha1(body.encode()).hexdigest()[:20]
            prepare = f"PREPARE {name} ({', '.join(types * count + ['bigint', 'bytea'])}) AS {body}"
            execute = self._lock_only + f"EXECUTE {name} (" + ",".join(["%s"] * (6 * count + 2)) + ")"
            statements = self._conditional_inserts[count] = (name, prepare, execute)
        return statements

    def _remember(self, last_id: int, last_hash: bytes | None) -> None:
        with self._known_last_lock:
            if self._known_last is None or self._known_last[0] < last_id:
                self._known_last = (last_id, last_hash)

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
        utf8_states: bool = False,
    ) -> Sequence[Notification]:
        """As the library's recorders answer it. With ``utf8_states`` (the
        caller knows the states are JSON, neither compressed nor encrypted)
        each state travels as text: PostgreSQL sends bytea as hex, twice the
        bytes to send and decode (reading 1,000,000 events took 4.2 s that
        way, 2.0 s as text). A page with a state that is not UTF-8 is read
        again as bytes, so that the caller's decoding names the event."""
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
        clauses = (" WHERE " + " AND ".join(conditions) if conditions else "") + " ORDER BY notification_id LIMIT %s"
        params.append(limit)
        rows = None
        with self.datastore.connection() as raw:
            cursor = raw.cursor()
            if utf8_states:
                try:  # (autocommit: a failed statement leaves nothing to undo)
                    cursor.execute(self._select_text_notifications_prefix + clauses, params)
                    rows = cursor.fetchall()
                except psycopg2.errors.CharacterNotInRepertoire:
                    pass
            if rows is None:
                cursor.execute(self._select_notifications_prefix + clauses, params)
                rows = [(i, o, v, t, bytes(s)) for i, o, v, t, s in cursor.fetchall()]
            else:
                rows = [(i, o, v, t, s.encode()) for i, o, v, t, s in rows]
        if self._id_type != "uuid":
            return [notification(i, o, v, t, s) for i, o, v, t, s in rows]
        originator = self._originator_ids
        return [notification(i, originator(o), v, t, s) for i, o, v, t, s in rows]

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def select_state_page(
        self, after: int, limit: int, stop: int | None = None, skip_topics: Sequence[str] = ()
    ) -> StatePage | None:
        """The next ``limit`` events after ``after`` (up to ``stop``) as one
        :class:`StatePage`, for a reader that decodes the states as one JSON
        array: no object is made per event, and the states travel as text
        and are joined once (reading 1,000,000 events and joining their
        states took 2.8-2.9 s of Python CPU this way, 4.1-4.3 s as
        notifications). The states of ``skip_topics`` are not sent; their
        events still count in the page's ``count`` and ``last_id``. None
        when the page cannot be read this way (a state that is not UTF-8):
        the caller reads notifications instead."""
        sql = self._select_state_page
        params: list[Any] = [list(skip_topics), after]
        if stop is not None:
            sql += " AND notification_id <= %s"
            params.append(stop)
        sql += " ORDER BY notification_id LIMIT %s"
        params.append(limit)
        with self.datastore.connection() as raw:
            cursor = raw.cursor()
            try:  # (autocommit: a failed statement leaves nothing to undo)
                cursor.execute(sql, params)
            except psycopg2.errors.CharacterNotInRepertoire:
                return None
            rows = cursor.fetchall()
        if not rows:
            return StatePage(after, 0, after, [], [], [], [], "[]")
        count, last = len(rows), rows[-1][0]
        if any(row[4] is None for row in rows):
            rows = [row for row in rows if row[4] is not None]
            if not rows:
                return StatePage(after, count, last, [], [], [], [], "[]")
        ids, originators, versions, topics, states = zip(*rows)
        if self._id_type == "uuid":
            originators = tuple(map(self._originator_ids, originators))
        return StatePage(after, count, last, ids, originators, versions, topics, "[" + ",".join(states) + "]")

    @retry(_TRANSIENT, max_attempts=10, wait=0.2)
    def max_notification_id(self) -> int | None:
        with self.datastore.connection() as raw:
            cursor = raw.cursor()
            cursor.execute(f"SELECT max(notification_id) FROM {self.events_table}")
            return cursor.fetchone()[0]

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> Subscription[ApplicationRecorder]:
        return PostgresSubscription(recorder=self, gt=gt, topics=topics)

    def witnessed_hashes(self) -> dict[int, bytes]:
        """The hashes the chain watch witnessed in this schema, by position (none before it has run)."""
        table = qualified(self.datastore.schema, CHECKPOINTS_TABLE)
        with self.datastore.connection() as raw:
            cursor = raw.cursor()
            cursor.execute("SELECT to_regclass(%s)", (table,))
            if cursor.fetchone()[0] is None:
                return {}
            cursor.execute(f"SELECT position, hash FROM {table}")
            return {int(position): bytes.fromhex(hashed) for position, hashed in cursor.fetchall()}

    def chained_events(self, after: int | None = None, up_to: int | None = None) -> Iterator[ChainedEvent]:
        """The ledger in notification id order, with stored hashes, read page by
        page (the events after position ``after``, up to ``up_to`` when given)."""
        statement = _escape_percent(
            f"SELECT {self._columns}, hash FROM {self.events_table} "
        ) + "WHERE notification_id > %s AND notification_id <= %s ORDER BY notification_id LIMIT %s"
        after = -(2**63) if after is None else after
        last = 2**63 - 1 if up_to is None else up_to
        while True:
            with self.datastore.connection() as raw:
                cursor = raw.cursor()
                cursor.execute(statement, (after, last, self.page_size))
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
        self._listen_thread = threading.Thread(target=self._listen, daemon=True)
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
        last = (last_id or 0, _bytes_or_none(last_hash))
        self._append_after(cursor, stored_events, last)
        return list(range(last[0] + 1, last[0] + 1 + len(stored_events)))
