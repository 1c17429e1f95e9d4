"""The SQLite store: it passes the library's conformance suites, follows the
ledger live (in this process and from others), keeps several views in one
file apart, refuses to change stored events, shows tampering in its hash
chain, and refuses bad configuration at start-up."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    Notification,
    OperationalError,
    StoredEvent,
    Subscription,
    Tracking,
)
from eventsourcing.projection import ProjectionRunner
from eventsourcing.tests import persistence as persistence_suites
from eventsourcing.tests import projection as projection_suites
from eventsourcing.utils import Environment

from contractledger.store import hashchain
from contractledger.store.errors import StoreConfigurationError
from contractledger.store.sqlite import (
    SQLiteLedgerAggregateRecorder,
    SQLiteLedgerApplicationRecorder,
    SQLiteLedgerFactory,
    SQLiteLedgerProcessRecorder,
    SQLiteLedgerTrackingRecorder,
)

MODULE = "contractledger.store.sqlite"


# ---------------------------------------------------------------- support


class InTemporaryDirectory:
    """Gives each test its own directory for database files, and closes what it opened."""

    def setUp(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="contractledger-sqlite-")
        self.ledger_path = os.path.join(self.directory, "ledger.db")
        self.opened: list[SQLiteLedgerFactory] = []
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        for factory in self.opened:
            factory.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    settings: dict[str, str] = {}

    def factory(self, db_name: str | None = None) -> SQLiteLedgerFactory:
        factory = InfrastructureFactory.construct(
            {"PERSISTENCE_MODULE": MODULE, "SQLITE_DBNAME": db_name or self.ledger_path, **self.settings}
        )
        assert isinstance(factory, SQLiteLedgerFactory)
        self.opened.append(factory)
        return factory


class SQLiteEventCountersView(SQLiteLedgerTrackingRecorder, projection_suites.EventCountersView):
    """Counts events in a table named after its tracking table, in the same transaction."""

    tracking_table_name = "event_counters_tracking"

    @property
    def counters_table_name(self) -> str:
        return self.tracking_table_name.removesuffix("_tracking")

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.counters_table_name} "
            "(name TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID",
        ]

    def get_created_event_counter(self) -> int:
        return self._count("created")

    def get_subsequent_event_counter(self) -> int:
        return self._count("subsequent")

    def incr_created_event_counter(self, tracking: Tracking) -> None:
        self._increment("created", tracking)

    def incr_subsequent_event_counter(self, tracking: Tracking) -> None:
        self._increment("subsequent", tracking)

    def _count(self, name: str) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT count FROM {self.counters_table_name} WHERE name=?", (name,))
            row = c.fetchone()
            return row[0] if row else 0

    def _increment(self, name: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            c.execute(
                f"INSERT INTO {self.counters_table_name} VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET count = count + 1",
                (name,),
            )


class SecondEventCountersView(SQLiteEventCountersView):
    """The same counting, kept apart in the same file by its own table names."""

    tracking_table_name = "second_counters_tracking"


class SecondEventCountersProjection(projection_suites.AggregateEventCountersProjection):
    name = "secondcounters"


def stored_events(count: int, topic: str = "topic", originator_id: UUID | None = None) -> list[StoredEvent]:
    originator_id = originator_id or uuid4()
    return [StoredEvent(originator_id, version, topic, f"state {version}".encode()) for version in range(1, count + 1)]


def next_within(subscription: Subscription[Any], seconds: float = 20.0) -> Notification:
    """The next notification, failing the test (rather than hanging it) if none comes."""
    timer = threading.Timer(seconds, subscription.stop)
    timer.start()
    try:
        return next(subscription)
    except StopIteration:
        pytest.fail(f"no notification arrived within {seconds} s")
    finally:
        timer.cancel()


@pytest.fixture
def ledger_path(tmp_path: Any) -> str:
    return str(tmp_path / "ledger.db")


@pytest.fixture
def open_factory(ledger_path: str) -> Iterator[Callable[..., SQLiteLedgerFactory]]:
    opened: list[InfrastructureFactory[Any]] = []

    def open_factory(db_name: str | None = None) -> SQLiteLedgerFactory:
        factory = InfrastructureFactory.construct({"PERSISTENCE_MODULE": MODULE, "SQLITE_DBNAME": db_name or ledger_path})
        opened.append(factory)
        assert isinstance(factory, SQLiteLedgerFactory)
        return factory

    yield open_factory
    for factory in opened:
        factory.close()


@pytest.fixture
def recorder(open_factory: Callable[..., SQLiteLedgerFactory]) -> SQLiteLedgerApplicationRecorder:
    return open_factory().application_recorder()


def raw_connection(path: str) -> sqlite3.Connection:
    """A client that is not our store: what an operator or an attacker with the file has."""
    return sqlite3.connect(path, isolation_level=None)


# ---------------------------------------------------------------- the library's conformance suites


class TestAggregateRecorder(InTemporaryDirectory, persistence_suites.AggregateRecorderTestCase):
    def create_recorder(self) -> SQLiteLedgerAggregateRecorder:
        return self.factory().aggregate_recorder("snapshots")


class TestApplicationRecorderOnFile(
    InTemporaryDirectory, persistence_suites.ApplicationRecorderTestCase[SQLiteLedgerApplicationRecorder]
):
    def create_recorder(self) -> SQLiteLedgerApplicationRecorder:
        return self.factory().application_recorder()

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestApplicationRecorderInMemory(TestApplicationRecorderOnFile):
    def create_recorder(self) -> SQLiteLedgerApplicationRecorder:
        return self.factory(":memory:").application_recorder()


class TestApplicationRecorderWithTextOriginatorIds(TestApplicationRecorderOnFile):
    settings = {"ORIGINATOR_ID_TYPE": "text"}

    def new_originator_id(self) -> str:
        return f"contract-{uuid4()}"


class TestTrackingRecorder(InTemporaryDirectory, persistence_suites.TrackingRecorderTestCase):
    def create_recorder(self) -> SQLiteLedgerTrackingRecorder:
        return self.factory().tracking_recorder()


class TestProcessRecorder(InTemporaryDirectory, persistence_suites.ProcessRecorderTestCase):
    def create_recorder(self) -> SQLiteLedgerProcessRecorder:
        return self.factory().process_recorder()


class TestNonInterleavingNotificationIdsOnFile(
    InTemporaryDirectory, persistence_suites.NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> SQLiteLedgerApplicationRecorder:
        return self.factory().application_recorder()


class TestInfrastructureFactory(persistence_suites.InfrastructureFactoryTestCase[SQLiteLedgerFactory]):
    class ViewWithItsOwnTable(SQLiteLedgerTrackingRecorder):
        tracking_table_name = "view_with_its_own_table_tracking"

    def setUp(self) -> None:
        self.env = Environment("TestCase")
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = MODULE
        self.env[SQLiteLedgerFactory.SQLITE_DBNAME] = ":memory:"
        super().setUp()

    def expected_factory_class(self) -> type[SQLiteLedgerFactory]:
        return SQLiteLedgerFactory

    def expected_aggregate_recorder_class(self) -> type[SQLiteLedgerAggregateRecorder]:
        return SQLiteLedgerAggregateRecorder

    def expected_application_recorder_class(self) -> type[SQLiteLedgerApplicationRecorder]:
        return SQLiteLedgerApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[SQLiteLedgerTrackingRecorder]:
        return SQLiteLedgerTrackingRecorder

    def tracking_recorder_subclass(self) -> type[SQLiteLedgerTrackingRecorder]:
        return self.ViewWithItsOwnTable

    def expected_process_recorder_class(self) -> type[SQLiteLedgerProcessRecorder]:
        return SQLiteLedgerProcessRecorder


class TestEventCountersView(InTemporaryDirectory, projection_suites.EventCountersViewTestCase):
    def construct_event_counters_view(self) -> SQLiteEventCountersView:
        view = self.factory().tracking_recorder(SQLiteEventCountersView)
        assert isinstance(view, SQLiteEventCountersView)
        return view


class TestAggregateEventCountersProjection(
    InTemporaryDirectory, projection_suites.AggregateEventCountersProjectionTestCase
):
    view_class = SQLiteEventCountersView

    def setUp(self) -> None:
        super().setUp()
        # The application's events and the view share one file.
        self.env = {"PERSISTENCE_MODULE": MODULE, "SQLITE_DBNAME": self.ledger_path}  # type: ignore[misc]


class TestEventSourcedProjection(InTemporaryDirectory, projection_suites.EventSourcedProjectionTestCase):
    def setUp(self) -> None:
        super().setUp()
        # An event-sourced projection has a ledger of its own: its own file.
        self.env = {  # type: ignore[misc]
            "PERSISTENCE_MODULE": MODULE,
            "SQLITE_DBNAME": self.ledger_path,
            "COUNTERS_SQLITE_DBNAME": os.path.join(self.directory, "counters.db"),
        }


# ---------------------------------------------------------------- following the ledger live


def test_a_waiting_subscriber_receives_an_event_committed_in_this_process_after_it_started(
    recorder: SQLiteLedgerApplicationRecorder,
) -> None:
    recorder.insert_events(stored_events(2))
    with recorder.subscribe(gt=recorder.max_notification_id()) as subscription:
        writer = threading.Timer(0.05, recorder.insert_events, args=(stored_events(1, topic="later"),))
        writer.start()
        notification = next_within(subscription)
        writer.join()
    assert (notification.id, notification.topic) == (3, "later")


WRITER_IN_ANOTHER_PROCESS = """
import sys
from uuid import UUID
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
factory = InfrastructureFactory.construct(
    {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": sys.argv[1]}
)
factory.application_recorder().insert_events([StoredEvent(UUID(sys.argv[2]), 1, "written-elsewhere", b"{}")])
factory.close()
"""


def test_a_subscriber_receives_an_event_written_by_another_process(
    recorder: SQLiteLedgerApplicationRecorder, ledger_path: str, tmp_path: Any
) -> None:
    originator_id = uuid4()
    with recorder.subscribe(gt=None) as subscription:
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER_IN_ANOTHER_PROCESS, ledger_path, str(originator_id)], cwd=tmp_path
        )
        try:
            notification = next_within(subscription, seconds=60)
        finally:
            assert writer.wait(timeout=60) == 0
    assert (notification.originator_id, notification.topic) == (originator_id, "written-elsewhere")


SEVERAL_WRITES_IN_ANOTHER_PROCESS = """
import sys
from uuid import uuid4
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
factory = InfrastructureFactory.construct(
    {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": sys.argv[1]}
)
recorder = factory.application_recorder()
for size in [1, 2, 3] * 8:
    originator_id = uuid4()
    recorder.insert_events([StoredEvent(originator_id, v, "elsewhere", b"{}") for v in range(1, size + 1)])
factory.close()
"""


def test_a_subscriber_gets_every_event_once_in_order_while_two_other_processes_write(
    recorder: SQLiteLedgerApplicationRecorder, ledger_path: str, tmp_path: Any
) -> None:
    expected_total = 2 * 8 * (1 + 2 + 3)
    received: list[Notification] = []
    with recorder.subscribe(gt=None) as subscription:
        writers = [
            subprocess.Popen([sys.executable, "-c", SEVERAL_WRITES_IN_ANOTHER_PROCESS, ledger_path], cwd=tmp_path)
            for _ in range(2)
        ]
        try:
            while len(received) < expected_total:
                received.append(next_within(subscription, seconds=60))
        finally:
            assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    assert [n.id for n in received] == list(range(1, expected_total + 1))
    assert hashchain.verify(recorder.chained_events()).intact


def test_a_writer_waits_for_another_clients_write_lock_instead_of_failing(
    recorder: SQLiteLedgerApplicationRecorder, ledger_path: str
) -> None:
    other = sqlite3.connect(ledger_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(0.3, other.execute, args=("ROLLBACK",))
    releaser.start()
    try:
        assert recorder.insert_events(stored_events(1)) == [1]
    finally:
        releaser.join()
        other.close()


def test_a_subscriber_gets_every_event_exactly_once_in_order_while_several_threads_write(
    recorder: SQLiteLedgerApplicationRecorder,
) -> None:
    writers, writes_per_writer = 4, 40
    written: list[tuple[UUID | str, int]] = []
    written_lock = threading.Lock()

    def write() -> None:
        for size in [1, 3, 2] * (writes_per_writer // 3) + [1] * (writes_per_writer % 3):
            events = stored_events(size)
            recorder.insert_events(events)
            with written_lock:
                written.extend((e.originator_id, e.originator_version) for e in events)

    expected_total = writers * sum([1, 3, 2] * (writes_per_writer // 3) + [1] * (writes_per_writer % 3))
    received: list[Notification] = []
    with recorder.subscribe(gt=None) as subscription:
        threads = [threading.Thread(target=write) for _ in range(writers)]
        for thread in threads:
            thread.start()
        while len(received) < expected_total:
            received.append(next_within(subscription))
        for thread in threads:
            thread.join()

    assert [n.id for n in received] == list(range(1, expected_total + 1))
    assert sorted((n.originator_id, n.originator_version) for n in received) == sorted(written)
    assert hashchain.verify(recorder.chained_events()).intact


def test_a_subscription_for_some_topics_delivers_only_those_in_order(
    recorder: SQLiteLedgerApplicationRecorder,
) -> None:
    for index in range(30):
        recorder.insert_events(stored_events(1, topic="wanted" if index % 5 == 0 else "other"))
    with recorder.subscribe(gt=None, topics=["wanted"]) as subscription:
        received = [next_within(subscription) for _ in range(6)]
        recorder.insert_events(stored_events(3, topic="other") + stored_events(1, topic="wanted"))
        received.append(next_within(subscription))
    assert [n.id for n in received] == [1, 6, 11, 16, 21, 26, 34]
    assert {n.topic for n in received} == {"wanted"}


def test_stopping_a_subscription_from_another_thread_ends_an_iteration_that_is_waiting(
    recorder: SQLiteLedgerApplicationRecorder,
) -> None:
    subscription = recorder.subscribe(gt=None)
    received: list[Notification] = []
    iterating = threading.Thread(target=lambda: received.extend(subscription))
    with subscription:
        iterating.start()
        subscription.stop()
        iterating.join(timeout=10)
    assert not iterating.is_alive()
    assert received == []


def test_a_projection_runner_catches_up_and_then_follows_events_written_after_it_started(ledger_path: str) -> None:
    env = {"PERSISTENCE_MODULE": MODULE, "SQLITE_DBNAME": ledger_path}
    with Application[UUID](env=env) as app:
        app.save(Aggregate())
    with ProjectionRunner(
        application_class=Application[UUID],
        projection_class=projection_suites.AggregateEventCountersProjection,
        view_class=SQLiteEventCountersView,
        env=env,
    ) as runner:
        runner.wait(1, timeout=20)
        aggregate = Aggregate()
        aggregate.trigger_event(Aggregate.Event)
        recordings = runner.app.save(aggregate)
        runner.wait(recordings[-1].notification.id, timeout=20)
        view = runner.projection.view
        assert (view.get_created_event_counter(), view.get_subsequent_event_counter()) == (2, 1)


CLOSE_WHILE_OTHER_THREADS_READ = """
import os, sys, threading
from uuid import uuid4
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
for round in range(40):
    factory = InfrastructureFactory.construct(
        {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": os.path.join(sys.argv[1], f"{round}.db")}
    )
    recorder = factory.application_recorder()
    recorder.insert_events([StoredEvent(uuid4(), 1, "t", b"{}")])
    stop = threading.Event()
    def read():
        while not stop.is_set():
            try:
                recorder.select_notifications(0, 10)
            except Exception:
                return
    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    factory.close()
    stop.set()
    for reader in readers:
        reader.join()
"""


def test_closing_the_factory_while_other_threads_are_reading_does_not_crash_the_interpreter(tmp_path: Any) -> None:
    # In a child process, because the failure this guards against is a segfault.
    finished = subprocess.run(
        [sys.executable, "-c", CLOSE_WHILE_OTHER_THREADS_READ, str(tmp_path)], cwd=tmp_path, timeout=120
    )
    assert finished.returncode == 0


def test_every_factory_on_one_file_in_this_process_wakes_the_same_subscribers(
    open_factory: Callable[..., SQLiteLedgerFactory], ledger_path: str
) -> None:
    writer, reader = open_factory(), open_factory(f"file:{ledger_path}")
    assert writer.datastore.commit_signal is reader.datastore.commit_signal
    with reader.application_recorder().subscribe(gt=None) as subscription:
        writer.application_recorder().insert_events(stored_events(1, topic="from the writer"))
        assert next_within(subscription).topic == "from the writer"


def test_memory_gives_each_factory_its_own_ledger_unless_shared_by_name(
    open_factory: Callable[..., SQLiteLedgerFactory],
) -> None:
    first, second = (open_factory(":memory:").application_recorder() for _ in range(2))
    first.insert_events(stored_events(1))
    assert (first.max_notification_id(), second.max_notification_id()) == (1, None)
    shared = "file:contractledger-test-shared?mode=memory&cache=shared"
    one, other = (open_factory(shared).application_recorder() for _ in range(2))
    one.insert_events(stored_events(2))
    assert other.max_notification_id() == 2


# ---------------------------------------------------------------- several views in one file


def test_two_views_in_one_file_track_the_same_application_each_at_its_own_position(
    open_factory: Callable[..., SQLiteLedgerFactory], ledger_path: str
) -> None:
    factory = open_factory()
    first = factory.tracking_recorder(SQLiteEventCountersView)
    second = factory.tracking_recorder(SecondEventCountersView)
    assert isinstance(first, SQLiteEventCountersView) and isinstance(second, SecondEventCountersView)

    first.incr_created_event_counter(Tracking("Ledger", 1))
    first.incr_subsequent_event_counter(Tracking("Ledger", 2))
    second.incr_created_event_counter(Tracking("Ledger", 1))

    assert (first.max_tracking_id("Ledger"), second.max_tracking_id("Ledger")) == (2, 1)
    assert (first.get_subsequent_event_counter(), second.get_subsequent_event_counter()) == (1, 0)
    second.incr_subsequent_event_counter(Tracking("Ledger", 2))
    with pytest.raises(IntegrityError):
        first.incr_subsequent_event_counter(Tracking("Ledger", 2))
    with raw_connection(ledger_path) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"event_counters_tracking", "second_counters_tracking"} <= tables


def test_a_view_can_be_given_its_tracking_table_when_constructed(
    open_factory: Callable[..., SQLiteLedgerFactory],
) -> None:
    datastore = open_factory().datastore
    audit = SQLiteLedgerTrackingRecorder(datastore, tracking_table_name="audit_tracking")
    feed = SQLiteLedgerTrackingRecorder(datastore, tracking_table_name="feed_tracking")
    audit.create_table()
    feed.create_table()
    audit.insert_tracking(Tracking("Ledger", 7))
    assert (audit.max_tracking_id("Ledger"), feed.max_tracking_id("Ledger")) == (7, None)


def test_views_that_declare_no_table_are_kept_apart_by_their_projection_name(ledger_path: str) -> None:
    env = {"PERSISTENCE_MODULE": MODULE, "SQLITE_DBNAME": ledger_path}
    factories = [InfrastructureFactory.construct(Environment(name, env)) for name in ("Statuses", "Feeds")]
    try:
        statuses, feeds = (factory.tracking_recorder() for factory in factories)
        statuses.insert_tracking(Tracking("Ledger", 9))
        assert (statuses.max_tracking_id("Ledger"), feeds.max_tracking_id("Ledger")) == (9, None)
        assert (statuses.tracking_table_name, feeds.tracking_table_name) == ("statuses_tracking", "feeds_tracking")
    finally:
        for factory in factories:
            factory.close()


def test_two_projection_runners_on_one_file_each_follow_the_application_from_their_own_position(
    ledger_path: str, open_factory: Callable[..., SQLiteLedgerFactory]
) -> None:
    env = {"PERSISTENCE_MODULE": MODULE, "SQLITE_DBNAME": ledger_path}
    with Application[UUID](env=env) as app:
        first_id = app.save(Aggregate())[-1].notification.id
        with ProjectionRunner(
            application_class=Application[UUID],
            projection_class=projection_suites.AggregateEventCountersProjection,
            view_class=SQLiteEventCountersView,
            env=env,
        ) as first:
            first.wait(first_id, timeout=20)
        # Only the second view runs while these are written.
        later_id = app.save(Aggregate(), Aggregate())[-1].notification.id
        with ProjectionRunner(
            application_class=Application[UUID],
            projection_class=SecondEventCountersProjection,
            view_class=SecondEventCountersView,
            env=env,
        ) as second:
            second.wait(later_id, timeout=20)
            first_view = open_factory().tracking_recorder(SQLiteEventCountersView)
            assert isinstance(first_view, SQLiteEventCountersView)
            assert first_view.max_tracking_id(app.name) == first_id
            assert first_view.get_created_event_counter() == 1
            assert second.projection.view.get_created_event_counter() == 3


# ---------------------------------------------------------------- append-only, enforced by the database


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE stored_events SET state = x'00' WHERE notification_id = 2",
        "DELETE FROM stored_events WHERE notification_id = 2",
        "DELETE FROM stored_events",
    ],
    ids=["update", "delete-one", "delete-all"],
)
def test_the_database_refuses_to_change_or_remove_stored_events_whatever_the_client(
    recorder: SQLiteLedgerApplicationRecorder, ledger_path: str, statement: str
) -> None:
    recorder.insert_events(stored_events(3))
    with raw_connection(ledger_path) as raw:
        with pytest.raises(sqlite3.IntegrityError, match="stored_events is append-only"):
            raw.execute(statement)
    assert [n.state for n in recorder.select_notifications(None, 10)] == [b"state 1", b"state 2", b"state 3"]


def test_snapshots_stay_deletable_because_they_are_a_cache(
    open_factory: Callable[..., SQLiteLedgerFactory], ledger_path: str
) -> None:
    snapshots = open_factory().aggregate_recorder("snapshots")
    snapshots.insert_events(stored_events(1))
    with raw_connection(ledger_path) as raw:
        raw.execute("DELETE FROM stored_snapshots")


# ---------------------------------------------------------------- the hash chain


def test_each_stored_hash_chains_the_event_onto_the_one_before_it(
    recorder: SQLiteLedgerApplicationRecorder, ledger_path: str
) -> None:
    events = stored_events(2) + stored_events(1)
    recorder.insert_events(events[:2])
    recorder.insert_events(events[2:])
    with raw_connection(ledger_path) as raw:
        stored = [row[0] for row in raw.execute("SELECT hash FROM stored_events ORDER BY notification_id")]
    previous = hashchain.GENESIS
    for event, stored_hash in zip(events, stored, strict=True):
        previous = hashchain.link(previous, event.originator_id, event.originator_version, event.topic, event.state)
        assert stored_hash == previous


def test_an_untouched_ledger_verifies_intact_across_pages(recorder: SQLiteLedgerApplicationRecorder) -> None:
    recorder.chain_page_size = 2
    for _ in range(3):
        recorder.insert_events(stored_events(2))
    verdict = hashchain.verify(recorder.chained_events())
    assert (verdict.intact, verdict.events_checked) == (True, 6)


TAMPERINGS = {
    "change-one-state": (["UPDATE stored_events SET state = x'7b7d' WHERE notification_id = 3"], 3),
    "delete-one-event": (["DELETE FROM stored_events WHERE notification_id = 3"], 4),
    "swap-two-events": (
        [
            "CREATE TEMP TABLE swap AS SELECT notification_id, topic, state FROM stored_events "
            "WHERE notification_id IN (2, 4)",
            "UPDATE stored_events SET topic = (SELECT topic FROM swap WHERE notification_id = 6 - "
            "stored_events.notification_id), state = (SELECT state FROM swap WHERE notification_id = 6 - "
            "stored_events.notification_id) WHERE notification_id IN (2, 4)",
        ],
        2,
    ),
    "change-the-last-topic": (["UPDATE stored_events SET topic = 'forged' WHERE notification_id = 5"], 5),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS), ids=list(TAMPERINGS))
def test_tampering_by_someone_with_the_file_is_named_at_the_first_broken_notification_id(
    recorder: SQLiteLedgerApplicationRecorder, ledger_path: str, tampering: str
) -> None:
    for number in range(1, 6):
        recorder.insert_events(stored_events(1, topic=f"topic {number}"))
    statements, first_broken = TAMPERINGS[tampering]
    with raw_connection(ledger_path) as raw:
        raw.execute("DROP TRIGGER stored_events_refuse_update")
        raw.execute("DROP TRIGGER stored_events_refuse_delete")
        for statement in statements:
            raw.execute(statement)
    verdict = hashchain.verify(recorder.chained_events())
    assert (verdict.intact, verdict.first_broken_notification_id) == (False, first_broken)


# ---------------------------------------------------------------- bad configuration fails at start-up


def refused(db_name: str | None) -> StoreConfigurationError:
    env = {"PERSISTENCE_MODULE": MODULE}
    if db_name is not None:
        env["SQLITE_DBNAME"] = db_name
    with pytest.raises(StoreConfigurationError) as caught:
        InfrastructureFactory.construct(env)
    error = caught.value
    assert error.setting == "SQLITE_DBNAME"
    assert "SQLITE_DBNAME" in str(error)
    assert str(error).endswith(".") and ". " not in str(error), "one sentence"
    return error


def test_a_file_in_a_directory_that_does_not_exist_is_refused(tmp_path: Any) -> None:
    path = str(tmp_path / "missing" / "ledger.db")
    assert path in str(refused(path))


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Any) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are notes, not a ledger\n" * 100)
    error = refused(str(path))
    assert str(path) in str(error) and "not an SQLite database" in str(error)


def test_a_database_opened_read_only_is_refused(recorder: SQLiteLedgerApplicationRecorder, ledger_path: str) -> None:
    error = refused(f"file:{ledger_path}?mode=ro")
    assert ledger_path in str(error) and "read-only" in str(error)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write any directory")
def test_a_file_in_a_directory_we_cannot_write_is_refused(tmp_path: Any) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        path = str(locked / "ledger.db")
        assert path in str(refused(path))
    finally:
        locked.chmod(0o755)


def test_a_directory_named_as_the_database_is_refused(tmp_path: Any) -> None:
    assert str(tmp_path) in str(refused(str(tmp_path)))


def test_a_missing_database_name_is_refused() -> None:
    refused(None)


def test_a_lock_timeout_that_is_not_a_number_is_refused(ledger_path: str) -> None:
    with pytest.raises(StoreConfigurationError, match="SQLITE_LOCK_TIMEOUT is 'soon'") as caught:
        InfrastructureFactory.construct(
            {"PERSISTENCE_MODULE": MODULE, "SQLITE_DBNAME": ledger_path, "SQLITE_LOCK_TIMEOUT": "soon"}
        )
    assert caught.value.setting == "SQLITE_LOCK_TIMEOUT"


def test_with_create_table_off_a_missing_file_is_refused_and_not_created(tmp_path: Any) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(StoreConfigurationError, match="does not exist") as caught:
        InfrastructureFactory.construct({"PERSISTENCE_MODULE": MODULE, "SQLITE_DBNAME": str(path), "CREATE_TABLE": "no"})
    assert caught.value.setting == "SQLITE_DBNAME" and str(path) in str(caught.value)
    assert not path.exists()


def test_a_file_whose_events_table_another_store_made_is_refused_when_the_ledger_starts(
    open_factory: Callable[..., SQLiteLedgerFactory], ledger_path: str
) -> None:
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    library_datastore = SQLiteDatastore(ledger_path)
    SQLiteApplicationRecorder(library_datastore).create_table()
    library_datastore.close()
    with pytest.raises(StoreConfigurationError, match="no hash chain") as caught:
        open_factory().application_recorder()
    assert caught.value.setting == "SQLITE_DBNAME" and ledger_path in str(caught.value)


def test_writers_in_other_processes_queue_behind_the_writers_lock_and_go_the_moment_it_is_let_go(
    open_factory: Callable[..., Any], ledger_path: str, tmp_path: Any
) -> None:
    # The kernel's queue (store/sqlite/writers.py): while the turn is held, a writer in another
    # process waits even though SQLite's own lock is free; let go, and it writes at once.
    import fcntl

    reader = open_factory().application_recorder()  # made (its tables written) before the turn is held
    holder = os.open(f"{ledger_path}.writers", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    writer = subprocess.Popen([sys.executable, "-c", WRITER_IN_ANOTHER_PROCESS, ledger_path, str(uuid4())], cwd=tmp_path)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            writer.wait(timeout=3)  # it queues (without the queue it wrote at once)
        assert reader.max_notification_id() in (None, 0)
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    assert writer.wait(timeout=60) == 0
    assert reader.max_notification_id() == 1


def test_threads_of_one_process_take_turns_too_and_every_write_lands_once(open_factory: Callable[..., Any]) -> None:
    recorder = open_factory().application_recorder()

    def write(n: int) -> None:
        for _ in range(n):
            recorder.insert_events([StoredEvent(uuid4(), 1, "threaded", b"{}")])

    threads = [threading.Thread(target=write, args=(25,)) for _ in range(4)]
    [t.start() for t in threads]
    [t.join(timeout=60) for t in threads]
    assert recorder.max_notification_id() == 100
    assert hashchain.verify(recorder.chained_events()).intact


def test_a_thread_that_writes_while_it_has_its_turn_goes_on_as_before(
    open_factory: Callable[..., Any], ledger_path: str
) -> None:
    # Two ledgers on one file in one process share their turn: a write nested in another's
    # transaction meets SQLite's own lock (a busy error after its timeout), never waits for itself.
    outer = open_factory().application_recorder()
    impatient = InfrastructureFactory.construct(
        {"PERSISTENCE_MODULE": MODULE, "SQLITE_DBNAME": ledger_path, "SQLITE_LOCK_TIMEOUT": "1"}
    )
    inner = impatient.application_recorder()
    with outer.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"SELECT 1 FROM {outer.events_table_name} LIMIT 1")
        with pytest.raises(OperationalError):
            inner.insert_events([StoredEvent(uuid4(), 1, "nested", b"{}")])
    impatient.close()
