"""The PostgreSQL store (psycopg2): the library's conformance suites, and the ledger's own promises.

Needs the throwaway server of ``scripts/test`` (or ``scripts/with-postgres``),
which exports ``POSTGRES_*``. Each test gets a schema of its own, dropped
afterwards, so tests never see each other's tables.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import pytest

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    InfrastructureFactory,
    IntegrityError,
    OperationalError,
    StoredEvent,
    Tracking,
)
from eventsourcing.tests import persistence as suites
from eventsourcing.tests import projection as projection_suites
from eventsourcing.utils import Environment

from contractledger.store import postgres
from contractledger.store.errors import StoreConfigurationError
from contractledger.store.hashchain import GENESIS, link, verify

pytestmark = pytest.mark.postgres

MODULE = "contractledger.store.postgres"
ROOT = Path(__file__).resolve().parents[2]
SERVER_KEYS = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD")


# --- the server, and a schema per test -------------------------------------------------------


def server_settings() -> dict[str, str]:
    """The throwaway server's settings; fails (never skips) when there is none."""
    missing = [key for key in SERVER_KEYS if not os.environ.get(key)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set: these tests need a PostgreSQL server. "
            "Run them through scripts/test (or scripts/with-postgres), which starts a throwaway one.",
            pytrace=False,
        )
    return {key: os.environ[key] for key in SERVER_KEYS}


def connect(*, superuser: bool = False) -> psycopg2.extensions.connection:
    settings = server_settings()
    user, password = settings["POSTGRES_USER"], settings["POSTGRES_PASSWORD"]
    if superuser:
        user = os.environ.get("POSTGRES_SUPERUSER", "")
        password = os.environ.get("POSTGRES_SUPERUSER_PASSWORD", "")
        if not user:
            pytest.fail("POSTGRES_SUPERUSER not set: run these tests through scripts/test.", pytrace=False)
    conn = psycopg2.connect(
        host=settings["POSTGRES_HOST"],
        port=settings["POSTGRES_PORT"],
        dbname=settings["POSTGRES_DBNAME"],
        user=user,
        password=password,
    )
    conn.autocommit = True
    return conn


def new_schema() -> str:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with connect() as conn:
        conn.cursor().execute(f'CREATE SCHEMA "{name}"')
    conn.close()
    return name


def drop_schema(name: str) -> None:
    conn = connect()
    try:
        conn.cursor().execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        conn.close()


def store_env(schema: str, **more: str) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": MODULE, **server_settings(), "POSTGRES_SCHEMA": schema, **more}


class FreshSchema:
    """Mixin for the library's TestCase suites: a new schema and factory per test."""

    env: Any

    def setUp(self) -> None:
        self.schema = new_schema()
        self.env = store_env(self.schema)
        self.factories: list[postgres.PostgresFactory] = []
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        try:
            super().tearDown()  # type: ignore[misc]
        finally:
            for factory in self.factories:
                factory.close()
            drop_schema(self.schema)

    def construct_factory(self) -> postgres.PostgresFactory:
        factory = InfrastructureFactory.construct(Environment(env=self.env))
        self.factories.append(factory)
        return factory


# --- the library's conformance suites -------------------------------------------------------


class TestAggregateRecorder(FreshSchema, suites.AggregateRecorderTestCase):
    def create_recorder(self) -> postgres.PostgresAggregateRecorder:
        return self.construct_factory().aggregate_recorder("snapshots")


class TestApplicationRecorder(FreshSchema, suites.ApplicationRecorderTestCase):
    def create_recorder(self) -> postgres.PostgresApplicationRecorder:
        return self.construct_factory().application_recorder()

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestApplicationRecorderWithTextIds(FreshSchema, suites.ApplicationRecorderTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.env["ORIGINATOR_ID_TYPE"] = "text"

    def new_originator_id(self) -> str:
        return f"contract-{uuid.uuid4()}"

    def create_recorder(self) -> postgres.PostgresApplicationRecorder:
        return self.construct_factory().application_recorder()


class TestTrackingRecorder(FreshSchema, suites.TrackingRecorderTestCase):
    def create_recorder(self) -> postgres.PostgresTrackingRecorder:
        return self.construct_factory().tracking_recorder()


class TestProcessRecorder(FreshSchema, suites.ProcessRecorderTestCase):
    def create_recorder(self) -> postgres.PostgresProcessRecorder:
        return self.construct_factory().process_recorder()


class TestNonInterleavingNotificationIds(FreshSchema, suites.NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> postgres.PostgresApplicationRecorder:
        return self.construct_factory().application_recorder()


class CustomTrackingRecorder(postgres.PostgresTrackingRecorder):
    """A view class, as a projection would give the factory."""


class TestInfrastructureFactory(FreshSchema, suites.InfrastructureFactoryTestCase):
    def setUp(self) -> None:
        self.schema = new_schema()
        self.env = Environment(env=store_env(self.schema))
        self.factories = []
        suites.InfrastructureFactoryTestCase.setUp(self)

    def expected_factory_class(self) -> type[postgres.PostgresFactory]:
        return postgres.PostgresFactory

    def expected_aggregate_recorder_class(self) -> type[postgres.PostgresAggregateRecorder]:
        return postgres.PostgresAggregateRecorder

    def expected_application_recorder_class(self) -> type[postgres.PostgresApplicationRecorder]:
        return postgres.PostgresApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[postgres.PostgresTrackingRecorder]:
        return postgres.PostgresTrackingRecorder

    def tracking_recorder_subclass(self) -> type[postgres.PostgresTrackingRecorder]:
        return CustomTrackingRecorder

    def expected_process_recorder_class(self) -> type[postgres.PostgresProcessRecorder]:
        return postgres.PostgresProcessRecorder


class PostgresEventCounters(postgres.PostgresTrackingRecorder, projection_suites.EventCountersView):
    """The suites' event-counters view, on this store: counters and tracking in one transaction."""

    def __init__(self, datastore: postgres.PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        table = self.tracking_table_name.replace("_tracking", "_counters")
        self.counters_table = f'"{datastore.schema}"."{table}"'
        self.create_statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.counters_table} (name text PRIMARY KEY, counter bigint NOT NULL)"
        )

    def get_created_event_counter(self) -> int:
        return self._count("created")

    def get_subsequent_event_counter(self) -> int:
        return self._count("subsequent")

    def incr_created_event_counter(self, tracking: Tracking) -> None:
        self._increment("created", tracking)

    def incr_subsequent_event_counter(self, tracking: Tracking) -> None:
        self._increment("subsequent", tracking)

    def _count(self, name: str) -> int:
        with self.datastore.connection() as raw:
            cursor = raw.cursor()
            cursor.execute(f"SELECT counter FROM {self.counters_table} WHERE name = %s", (name,))
            row = cursor.fetchone()
        return row[0] if row else 0

    def _increment(self, name: str, tracking: Tracking) -> None:
        with self.datastore.transaction() as cursor:
            self._insert_tracking(cursor, tracking)
            cursor.execute(
                f"INSERT INTO {self.counters_table} VALUES (%s, 1) "
                f"ON CONFLICT (name) DO UPDATE SET counter = {self.counters_table}.counter + 1",
                (name,),
            )


class TestEventCountersView(FreshSchema, projection_suites.EventCountersViewTestCase):
    def construct_event_counters_view(self) -> PostgresEventCounters:
        return self.construct_factory().tracking_recorder(PostgresEventCounters)


class TestAggregateEventCountersProjection(FreshSchema, projection_suites.AggregateEventCountersProjectionTestCase):
    view_class = PostgresEventCounters
    env: ClassVar[dict[str, str]]


class TestEventSourcedProjection(FreshSchema, projection_suites.EventSourcedProjectionTestCase):
    env: ClassVar[dict[str, str]]


# --- a ledger to attack -----------------------------------------------------------------------


@pytest.fixture
def schema() -> Iterator[str]:
    name = new_schema()
    yield name
    drop_schema(name)


@pytest.fixture
def ledger(schema: str) -> Iterator[postgres.PostgresApplicationRecorder]:
    """An application recorder holding five events (notification ids 1 to 5)."""
    factory = InfrastructureFactory.construct(Environment("ContractLedger", store_env(schema)))
    recorder = factory.application_recorder()
    originator = uuid.uuid4()
    recorder.insert_events(
        [StoredEvent(originator, version, f"topic{version}", f"state{version}".encode()) for version in range(1, 6)]
    )
    yield recorder
    factory.close()


def ledger_table(schema: str) -> str:
    return f'"{schema}"."contractledger_events"'


def first_broken(recorder: postgres.PostgresApplicationRecorder) -> int | None:
    verdict = verify(recorder.chained_events())
    return verdict.first_broken_notification_id


def tamper(schema: str, *statements: str | tuple[str, tuple[Any, ...]]) -> None:
    """As the superuser, with the guard lifted for this session only ({table} is the ledger)."""
    conn = connect(superuser=True)
    try:
        cursor = conn.cursor()
        cursor.execute("SET session_replication_role = replica")
        for statement in statements:
            sql, params = statement if isinstance(statement, tuple) else (statement, None)
            cursor.execute(sql.format(table=ledger_table(schema)), params)
    finally:
        conn.close()


def test_each_stored_hash_links_the_event_to_the_one_before_it(ledger, schema) -> None:
    previous = GENESIS
    events = list(ledger.chained_events())
    assert [e.notification_id for e in events] == [1, 2, 3, 4, 5]
    for e in events:
        previous = link(previous, e.originator_id, e.originator_version, e.topic, e.state)
        assert e.stored_hash == previous
    assert verify(events).sentence() == "intact: 5 events, hash chain unbroken"


def test_a_rolled_back_insert_leaves_no_hole_and_no_broken_link(ledger) -> None:
    clash = StoredEvent(ledger.select_notifications(1, 1)[0].originator_id, 1, "again", b"clash")
    with pytest.raises(IntegrityError):
        ledger.insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"s"), clash])
    assert ledger.insert_events([StoredEvent(uuid.uuid4(), 1, "after", b"rollback")]) == [6]
    assert verify(ledger.chained_events()).intact


def test_the_chain_holds_under_concurrent_writers_and_is_read_in_pages(ledger) -> None:
    ledger.page_size = 7
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(20):
                originator = uuid.uuid4()
                ledger.insert_events([StoredEvent(originator, v, "t", b"s" * v) for v in range(1, 4)])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    verdict = verify(ledger.chained_events())
    assert verdict.intact and verdict.events_checked == 5 + 4 * 20 * 3
    assert ledger.max_notification_id() == verdict.events_checked


def test_writers_in_two_processes_never_fork_the_chain(ledger, schema) -> None:
    # A second factory stands for another process: each recorder's remembered
    # last link goes stale whenever the other one writes.
    other_factory = InfrastructureFactory.construct(Environment("ContractLedger", store_env(schema)))
    try:
        other = other_factory.application_recorder()
        ids = []
        for turn in range(10):
            writer = ledger if turn % 2 else other
            ids += writer.insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"s"), StoredEvent(uuid.uuid4(), 1, "t", b"s")])
        assert ids == list(range(6, 26))
        assert verify(ledger.chained_events()).intact
    finally:
        other_factory.close()


def test_a_live_subscriber_sees_every_event_once_and_in_order_while_writers_race(ledger) -> None:
    sizes = [1, 3, 1, 60, 2, 1, 20, 1]  # one round trip, two, and COPY
    writers, rounds = 4, 5
    expected = 5 + writers * rounds * sum(sizes)
    seen: list[int] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(rounds):
                for size in sizes:
                    originator = uuid.uuid4()
                    ledger.insert_events([StoredEvent(originator, v, "t", b"s") for v in range(size)])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    with ledger.subscribe(gt=None) as subscription:
        threads = [threading.Thread(target=write) for _ in range(writers)]
        for thread in threads:
            thread.start()
        for notification in subscription:
            seen.append(notification.id)
            if notification.id == expected:
                break
        for thread in threads:
            thread.join()
    assert not errors
    assert seen == list(range(1, expected + 1))
    assert verify(ledger.chained_events()).intact


def test_a_process_recorder_keeps_the_chain_across_tracked_and_untracked_appends(schema) -> None:
    factory = InfrastructureFactory.construct(Environment(env=store_env(schema)))
    try:
        recorder = factory.process_recorder()
        for position, size in enumerate([1, 2, 60, 1], start=1):
            originator = uuid.uuid4()
            events = [StoredEvent(originator, v, "t", b"s") for v in range(size)]
            recorder.insert_events(events, tracking=Tracking("upstream", position))
            recorder.insert_events([StoredEvent(uuid.uuid4(), 0, "untracked", b"u")])
        with pytest.raises(IntegrityError):
            recorder.insert_events([StoredEvent(uuid.uuid4(), 0, "t", b"s")], tracking=Tracking("upstream", 4))
        assert recorder.max_tracking_id("upstream") == 4
        verdict = verify(recorder.chained_events())
        assert verdict.intact and verdict.events_checked == 64 + 4 == recorder.max_notification_id()
    finally:
        factory.close()


def test_an_append_survives_its_prepared_statement_being_deallocated(ledger) -> None:
    ledger.insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"s")])
    with ledger.datastore.connection() as raw:
        raw.cursor().execute("DEALLOCATE ALL")
    assert ledger.insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"s")]) == [7]
    assert verify(ledger.chained_events()).intact


@pytest.mark.parametrize("count", [1, 20, 50])
def test_a_uuid_given_as_text_in_any_case_is_chained_as_it_reads_back(ledger, count) -> None:
    events = [StoredEvent(str(uuid.uuid4()).upper(), 1, "t", b"s") for _ in range(count)]
    ledger.insert_events(events)
    assert verify(ledger.chained_events()).intact


@pytest.mark.parametrize("count", [1, 20, 49, 50, 1000])
def test_appends_of_any_size_keep_every_byte_and_every_link(ledger, count) -> None:
    awkward_topic = "a\tb\nc\\d\re 'quoted' % done"
    events = [
        StoredEvent(uuid.uuid4(), 1, f"{awkward_topic} {i}", bytes(range(256)) + i.to_bytes(4, "big"))
        for i in range(count)
    ]
    ids = ledger.insert_events(events)
    assert ids == list(range(6, 6 + count))
    stored = ledger.select_notifications(6, count)
    assert [(n.id, n.originator_id, n.topic, n.state) for n in stored] == [
        (i, e.originator_id, e.topic, e.state) for i, e in zip(ids, events)
    ]
    assert verify(ledger.chained_events()).intact


def test_states_read_as_text_are_the_same_bytes_and_a_page_that_is_not_utf8_is_read_as_bytes(ledger) -> None:
    json_states = [StoredEvent(uuid.uuid4(), 1, "json", '{"name":"Zoë \\u00e9","n":%d}'.encode() % i) for i in range(3)]
    ledger.insert_events(json_states)

    def read(**options: Any) -> list[tuple[Any, ...]]:
        page = ledger.select_notifications(5, 10, inclusive_of_start=False, **options)
        return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in page]

    as_bytes = read()
    assert [row[4] for row in as_bytes] == [e.state for e in json_states]
    assert read(utf8_states=True) == as_bytes
    # a state that is not UTF-8 (a cipher's or a compressor's bytes) in the page: read as bytes, unchanged
    ledger.insert_events([StoredEvent(uuid.uuid4(), 1, "binary", b"\xff\x00\xfe")])
    assert read(utf8_states=True) == read()
    assert read(utf8_states=True)[-1][4] == b"\xff\x00\xfe"


@pytest.mark.parametrize("who", ["the ledger user", "the superuser"])
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET state = 'x'", "DELETE FROM {table} WHERE notification_id = 3", "TRUNCATE {table}"],
    ids=["UPDATE", "DELETE", "TRUNCATE"],
)
def test_the_database_refuses_to_change_or_remove_stored_events(ledger, schema, who, statement) -> None:
    conn = connect(superuser=who == "the superuser")
    try:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege) as refused:
            conn.cursor().execute(statement.format(table=ledger_table(schema)))
    finally:
        conn.close()
    assert "is append-only" in str(refused.value)
    assert refused.value.diag.message_hint.startswith("Stored events are never changed")
    assert verify(ledger.chained_events()).intact


def test_snapshots_stay_mutable_because_they_are_a_cache(schema) -> None:
    factory = InfrastructureFactory.construct(Environment(env=store_env(schema)))
    try:
        factory.aggregate_recorder("snapshots").insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"s")])
    finally:
        factory.close()
    conn = connect()
    try:
        conn.cursor().execute(f'DELETE FROM "{schema}"."stored_snapshots"')
    finally:
        conn.close()


def test_verify_names_the_event_whose_state_was_changed_behind_the_guard(ledger, schema) -> None:
    tamper(schema, "UPDATE {table} SET state = 'forged' WHERE notification_id = 3")
    assert first_broken(ledger) == 3


def test_verify_names_the_event_after_one_that_was_deleted(ledger, schema) -> None:
    tamper(schema, "DELETE FROM {table} WHERE notification_id = 3")
    assert first_broken(ledger) == 4


def test_verify_names_the_first_of_two_swapped_events(ledger, schema) -> None:
    tamper(
        schema,
        "UPDATE {table} SET notification_id = -2 WHERE notification_id = 2",
        "UPDATE {table} SET notification_id = 2 WHERE notification_id = 4",
        "UPDATE {table} SET notification_id = 4 WHERE notification_id = -2",
    )
    assert [e.notification_id for e in ledger.chained_events()] == [1, 2, 3, 4, 5]
    assert first_broken(ledger) == 2


def test_verify_names_the_first_of_two_events_whose_contents_were_swapped(ledger, schema) -> None:
    conn = connect(superuser=True)
    try:
        cursor = conn.cursor()
        cursor.execute(
            f"SELECT notification_id, originator_id::text, originator_version, topic, state "
            f"FROM {ledger_table(schema)} WHERE notification_id IN (2, 4) ORDER BY notification_id"
        )
        second, fourth = cursor.fetchall()
    finally:
        conn.close()
    content = "originator_id = %s::uuid, originator_version = %s, topic = %s, state = %s"
    tamper(
        schema,
        # Out of the way first: (originator id, version) stays unique at every step.
        "UPDATE {table} SET originator_version = -2 WHERE notification_id = 2",
        ("UPDATE {table} SET " + content + " WHERE notification_id = 4", tuple(second[1:])),
        ("UPDATE {table} SET " + content + " WHERE notification_id = 2", tuple(fourth[1:])),
    )
    events = list(ledger.chained_events())
    assert (events[1].topic, events[3].topic) == (fourth[3], second[3])
    assert first_broken(ledger) == 2


def run_verify(
    schema: str, *arguments: str, command: list[str] | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "PERSISTENCE_", "SQLITE_"))}
    env.update(store_env(schema, **settings))
    return subprocess.run(
        (command or [sys.executable, "-m", "contractledger.store.verify"]) + list(arguments),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_the_verify_command_exits_0_on_an_intact_ledger_and_1_naming_the_break(ledger, schema) -> None:
    intact = run_verify(schema, command=[str(ROOT / "scripts" / "verify-ledger")])
    assert (intact.returncode, intact.stdout.strip()) == (0, "intact: 5 events, hash chain unbroken"), intact.stderr
    tamper(schema, "UPDATE {table} SET topic = 'forged' WHERE notification_id = 2")
    broken = run_verify(schema)
    assert broken.returncode == 1, broken.stderr
    assert broken.stdout.startswith("BROKEN: the hash chain breaks at notification id 2 (after 1 intact events)")


def test_the_verify_command_exits_2_with_one_sentence_when_the_ledger_is_missing(schema) -> None:
    missing = run_verify(schema, "--application", "NoSuchApp")
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert missing.stderr.startswith("verify-ledger: cannot read the ledger of NoSuchApp:")
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1


def test_the_verify_command_exits_2_with_one_sentence_when_the_server_is_unreachable(schema) -> None:
    unreachable = run_verify(schema, POSTGRES_PORT="1")
    assert unreachable.returncode == 2
    assert unreachable.stderr.strip() == (
        "verify-ledger: Cannot connect to PostgreSQL at 127.0.0.1:1 (POSTGRES_HOST/POSTGRES_PORT): connection refused."
    )


# --- forking -----------------------------------------------------------------------------------


def test_a_forked_child_never_uses_the_parents_connection(schema) -> None:
    factory = InfrastructureFactory.construct(Environment(env=store_env(schema, POSTGRES_POOL_SIZE="1")))
    recorder = factory.application_recorder()

    def backend_pid() -> int:
        with factory.datastore.connection() as raw:
            cursor = raw.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    parent_backend = backend_pid()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        status = 1
        try:
            recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "from the child", b"x")])
            os.write(write, str(backend_pid()).encode())
            factory.close()
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    _, status = os.waitpid(child, 0)
    child_backend = int(os.read(read, 64) or b"0")
    os.close(read)
    try:
        assert os.waitstatus_to_exitcode(status) == 0
        assert child_backend not in (0, parent_backend)
        # The parent's session survived the child's use and exit of the pool.
        assert backend_pid() == parent_backend
        assert recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "from the parent", b"y")]) == [2]
    finally:
        factory.close()


# --- the pool ----------------------------------------------------------------------------------


@pytest.fixture
def pool_settings(schema) -> Iterator[Any]:
    """Builds a datastore with the given settings; closes them all afterwards."""
    factories: list[postgres.PostgresFactory] = []

    def datastore(**settings: str) -> postgres.PostgresDatastore:
        factory = InfrastructureFactory.construct(Environment(env=store_env(schema, **settings)))
        factories.append(factory)
        return factory.datastore

    yield datastore
    for factory in factories:
        factory.close()


def backend(datastore: postgres.PostgresDatastore) -> int:
    with datastore.connection() as raw:
        cursor = raw.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_pool_reuses_one_connection_for_one_thread_at_a_time(pool_settings) -> None:
    datastore = pool_settings()
    assert len({backend(datastore) for _ in range(5)}) == 1


def test_a_request_beyond_pool_size_and_overflow_waits_then_times_out(pool_settings) -> None:
    datastore = pool_settings(POSTGRES_POOL_SIZE="1", POSTGRES_MAX_OVERFLOW="0", POSTGRES_CONNECT_TIMEOUT="1")
    with datastore.connection():
        with pytest.raises(OperationalError, match="Timed out after 1s waiting for a connection"):
            with datastore.connection():
                pass
    backend(datastore)


def test_max_waiting_refuses_a_request_at_once_when_enough_already_wait(pool_settings) -> None:
    datastore = pool_settings(
        POSTGRES_POOL_SIZE="1", POSTGRES_MAX_OVERFLOW="0", POSTGRES_MAX_WAITING="1", POSTGRES_CONNECT_TIMEOUT="5"
    )
    waiter_started = threading.Event()
    got: list[int] = []

    def wait_for_one() -> None:
        waiter_started.set()
        got.append(backend(datastore))

    with datastore.connection():
        waiter = threading.Thread(target=wait_for_one)
        waiter.start()
        waiter_started.wait()
        deadline = time.monotonic() + 5
        while datastore.pool._waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(OperationalError, match="already wait for a connection"):
            with datastore.connection():
                pass
    waiter.join()
    assert len(got) == 1


def test_a_connection_older_than_conn_max_age_is_replaced(pool_settings) -> None:
    datastore = pool_settings(POSTGRES_CONN_MAX_AGE="0.2")
    first = backend(datastore)
    assert backend(datastore) == first
    time.sleep(0.3)
    assert backend(datastore) != first


def test_pre_ping_replaces_a_connection_the_server_closed(pool_settings) -> None:
    datastore = pool_settings(POSTGRES_PRE_PING="yes")
    first = backend(datastore)
    conn = connect(superuser=True)
    try:
        conn.cursor().execute("SELECT pg_terminate_backend(%s)", (first,))
    finally:
        conn.close()
    time.sleep(0.1)
    assert backend(datastore) not in (first, None)


def test_a_connection_the_server_closed_is_dropped_and_the_next_call_reconnects(pool_settings) -> None:
    datastore = pool_settings()
    first = backend(datastore)
    conn = connect(superuser=True)
    try:
        conn.cursor().execute("SELECT pg_terminate_backend(%s)", (first,))
    finally:
        conn.close()
    time.sleep(0.1)
    with pytest.raises(OperationalError):
        backend(datastore)
    assert backend(datastore) != first


def test_a_closed_factory_refuses_further_use(pool_settings) -> None:
    datastore = pool_settings()
    backend(datastore)
    datastore.close()
    with pytest.raises(ConnectionPoolClosedError):
        backend(datastore)


# --- start-up errors ----------------------------------------------------------------------------


def start(env: dict[str, str], name: str = "") -> StoreConfigurationError:
    with pytest.raises(StoreConfigurationError) as failed:
        InfrastructureFactory.construct(Environment(name, env)).close()
    sentence = str(failed.value)
    assert "\n" not in sentence and sentence.endswith(".")
    return failed.value


def test_an_unreachable_server_is_named_by_host_and_port(schema) -> None:
    error = start(store_env(schema, POSTGRES_HOST="127.0.0.1", POSTGRES_PORT="1"))
    assert str(error) == (
        "Cannot connect to PostgreSQL at 127.0.0.1:1 (POSTGRES_HOST/POSTGRES_PORT): connection refused."
    )
    assert error.setting == "POSTGRES_HOST"


def test_a_server_that_never_answers_is_named_with_the_connect_timeout(schema) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nobody ever answers
        port = silent.getsockname()[1]
        error = start(store_env(schema, POSTGRES_HOST="127.0.0.1", POSTGRES_PORT=str(port), POSTGRES_CONNECT_TIMEOUT="2"))
    assert str(error) == (
        f"Cannot connect to PostgreSQL at 127.0.0.1:{port} (POSTGRES_HOST/POSTGRES_PORT): "
        "no answer within 2 seconds (POSTGRES_CONNECT_TIMEOUT)."
    )


def test_an_unknown_host_name_is_named(schema) -> None:
    error = start(store_env(schema, POSTGRES_HOST="no-such-host.invalid"))
    assert "no such host 'no-such-host.invalid'" in str(error) and "(POSTGRES_HOST)" in str(error)


def test_a_wrong_password_is_named(schema) -> None:
    error = start(store_env(schema, POSTGRES_PASSWORD="not-the-password"))
    assert error.setting == "POSTGRES_PASSWORD"
    assert "refused the login of user 'ledger' (POSTGRES_USER/POSTGRES_PASSWORD)" in str(error)


def test_a_missing_database_is_named(schema) -> None:
    error = start(store_env(schema, POSTGRES_DBNAME="no_such_db"))
    assert error.setting == "POSTGRES_DBNAME" and "no database 'no_such_db'" in str(error)


def test_a_schema_the_user_has_no_rights_on_is_named() -> None:
    name = f"locked_{uuid.uuid4().hex[:8]}"
    conn = connect(superuser=True)
    try:
        conn.cursor().execute(f'CREATE SCHEMA "{name}"')
        error = start(store_env(name))
        assert error.setting == "POSTGRES_SCHEMA"
        assert f"User 'ledger' has no rights on schema '{name}' (POSTGRES_SCHEMA)" in str(error)
        conn.cursor().execute(f'GRANT USAGE ON SCHEMA "{name}" TO ledger')
        error = start(store_env(name))
        assert f"User 'ledger' may not create tables in schema '{name}' (POSTGRES_SCHEMA)" in str(error)
    finally:
        conn.cursor().execute(f'DROP SCHEMA "{name}" CASCADE')
        conn.close()


def test_a_missing_schema_is_created_when_tables_may_be_created_and_named_when_not() -> None:
    name = f"created_{uuid.uuid4().hex[:8]}"
    try:
        InfrastructureFactory.construct(Environment(env=store_env(name))).close()
        error = start(store_env(f"{name}_absent", CREATE_TABLE="no"))
        assert error.setting == "POSTGRES_SCHEMA" and "does not exist" in str(error)
    finally:
        drop_schema(name)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("POSTGRES_PORT", "fivefourthreetwo"),
        ("POSTGRES_PORT", "70000"),
        ("POSTGRES_CONNECT_TIMEOUT", "soon"),
        ("POSTGRES_CONN_MAX_AGE", "0"),
        ("POSTGRES_POOL_SIZE", "-1"),
        ("POSTGRES_MAX_OVERFLOW", "1.5"),
        ("POSTGRES_MAX_WAITING", "many"),
        ("POSTGRES_LOCK_TIMEOUT", "5s"),
        ("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "x"),
        ("POSTGRES_PRE_PING", "perhaps"),
        ("CREATE_TABLE", "maybe"),
        ("ORIGINATOR_ID_TYPE", "integer"),
    ],
)
def test_a_bad_setting_is_named_in_one_sentence(schema, setting, value) -> None:
    error = start(store_env(schema, **{setting: value}))
    assert error.setting == setting
    assert str(error).startswith(f"{setting}={value!r} is not valid: expected ")


def test_a_setting_given_with_the_application_prefix_is_named_as_given(schema) -> None:
    error = start(store_env(schema, LEDGER_POSTGRES_POOL_SIZE="lots"), name="Ledger")
    assert str(error).startswith("LEDGER_POSTGRES_POOL_SIZE='lots' is not valid")


@pytest.mark.parametrize("setting", ["POSTGRES_DBNAME", "POSTGRES_HOST", "POSTGRES_USER", "POSTGRES_PASSWORD"])
def test_a_missing_required_setting_is_named(schema, setting) -> None:
    env = store_env(schema)
    del env[setting]
    error = start(env)
    assert error.setting == setting and str(error).startswith(f"{setting} is not set")


def test_an_application_runs_on_the_store_and_survives_a_restart(schema) -> None:
    env = store_env(schema)
    app = Application(env=env)
    aggregate = Aggregate()
    aggregate.trigger_event(Aggregate.Event)
    app.save(aggregate)
    app.close()
    again = Application(env=env)
    try:
        assert again.repository.get(aggregate.id).version == 2
        assert verify(again.recorder.chained_events()).events_checked == 2
    finally:
        again.close()


def test_a_page_in_columns_holds_what_the_notifications_hold(ledger) -> None:
    """``select_state_page`` gives the same events as ``select_notifications``,
    their states as one JSON array; states of skipped topics are not sent but
    their events count in the page's range; a state that is not UTF-8 makes
    the page unreadable this way (None), so the reader falls back."""
    states = [StoredEvent(uuid.uuid4(), 2, "json" if i % 2 else "skipped", b'{"name":"Zo\xc3\xab","n":%d}' % i) for i in range(6)]
    ledger.insert_events(states)  # notification ids 6 to 11
    notifications = ledger.select_notifications(5, 10, inclusive_of_start=False)
    page = ledger.select_state_page(5, 10)
    assert (len(page), page.after, page.last_id) == (6, 5, 11)
    assert list(page.ids) == [n.id for n in notifications]
    assert list(page.originator_ids) == [n.originator_id for n in notifications]
    assert list(page.versions) == [n.originator_version for n in notifications]
    assert list(page.topics) == [n.topic for n in notifications]
    assert json.loads(page.states) == [json.loads(n.state) for n in notifications]

    skipping = ledger.select_state_page(5, 10, skip_topics=["skipped"])
    assert (len(skipping), skipping.last_id) == (6, 11)
    assert list(skipping.ids) == [7, 9, 11] and set(skipping.topics) == {"json"}
    assert json.loads(skipping.states) == [{"name": "Zoë", "n": n} for n in (1, 3, 5)]
    only_skipped = ledger.select_state_page(5, 1, skip_topics=["skipped"])
    assert (len(only_skipped), only_skipped.last_id, list(only_skipped.ids), only_skipped.states) == (1, 6, [], "[]")
    assert ledger.select_state_page(9, 1, stop=9) is not None and len(ledger.select_state_page(9, 5, stop=10)) == 1

    end = ledger.select_state_page(11, 10)
    assert not end and end.last_id == 11
    ledger.insert_events([StoredEvent(uuid.uuid4(), 1, "binary", b"\xff\x00\xfe")])
    assert ledger.select_state_page(5, 10) is None
    assert ledger.select_state_page(5, 10, skip_topics=["binary"]) is not None  # its state is not even read
