"""The view engine on a real view database: batches with their position in
one transaction, one runner per view, unhandled events stop the runner,
read-your-writes waits, blue/green rebuilds."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

sys.path.insert(0, str(Path(__file__).parent))

from contractledger.projections.engine import positions
from contractledger.projections.engine.rebuild import compare, rebuild
from contractledger.projections.engine.replay import verify_against_live
from contractledger.projections.engine.runner import ViewRunner
from contractledger.projections.engine.service import run_views
from contractledger.projections.engine.view import UnhandledEvent, View, handles
from contractledger.projections.engine.view_database import (
    ViewDatabase,
    ViewRunnerAlreadyRunning,
)
from contractledger.projections.engine.queries import reading
from contractledger.projections.engine.waiting import wait_until_applied
from views_scenario import postgres_views, sqlite_views  # noqa: E402


class Tally(Aggregate):
    @event("Opened")
    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1

    @event("Renamed")
    def rename(self, label: str) -> None:
        self.label = label


class TallyView(View):
    name = "tallies"
    tables = ("tally",)
    follows = (Tally,)
    ignores = (Tally.Renamed,)

    def schema(self) -> list[str]:
        return [f"CREATE TABLE IF NOT EXISTS {self.t['tally']} (id TEXT PRIMARY KEY, label TEXT, count BIGINT)"]

    @handles(Tally.Opened)
    def opened(self, tx: Any, e: Any, notification_id: int) -> None:
        tx.execute(f"INSERT INTO {self.t['tally']} (id, label, count) VALUES (?, ?, 0)", (str(e.originator_id), e.label))

    @handles(Tally.Counted)
    def counted(self, tx: Any, e: Any, notification_id: int) -> None:
        tx.execute(f"UPDATE {self.t['tally']} SET count = count + 1 WHERE id = ?", (str(e.originator_id),))


class StrictTallyView(TallyView):
    name = "strict_tallies"
    ignores = ()


class IndexedTallyView(TallyView):
    name = "indexed_tallies"

    def schema(self) -> list[str]:
        return [*super().schema(), f"CREATE INDEX IF NOT EXISTS {self.t['tally']}_label ON {self.t['tally']} (label)"]


def index_names(database: ViewDatabase) -> set[str]:
    if database.dialect == "postgres":
        return {name for (name,) in database.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
    return {name for (name,) in database.query("SELECT name FROM sqlite_master WHERE type = 'index'")}


class Tallies(Application[UUID]):
    pass


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: Any, tmp_path: Any) -> Any:
    yield from (sqlite_views(tmp_path) if request.param == "sqlite" else postgres_views())


def counts(database: ViewDatabase, view: View) -> dict[str, int]:
    return {label: int(count) for label, count in database.query(f"SELECT label, count FROM {view.t['tally']}")}


def record_tallies(app: Tallies, n: int, counts_each: int) -> list[Tally]:
    tallies = []
    for i in range(n):
        tally = Tally(f"t{i}")
        for _ in range(counts_each):
            tally.count_one()
        app.save(tally)
        tallies.append(tally)
    return tallies


def test_catching_up_applies_every_event_once_and_tracks_the_last_position(database: ViewDatabase) -> None:
    app = Tallies()
    record_tallies(app, 5, 3)
    view = TallyView()
    batches: list[int] = []
    runner = ViewRunner(app.recorder, app.mapper, database, [view], batch_size=4, on_batch=lambda n, last: batches.append(n))
    runner.prepare()
    assert runner.catch_up() == app.recorder.max_notification_id()
    assert counts(database, view) == {f"t{i}": 3 for i in range(5)}
    assert batches == [4, 4, 4, 4, 4]
    # a second runner over the same tables starts where the first stopped
    again = ViewRunner(app.recorder, app.mapper, database, [TallyView()])
    again.prepare()
    assert again.position == 20
    assert again.catch_up() == 20
    assert counts(database, view) == {f"t{i}": 3 for i in range(5)}


def test_a_failing_batch_leaves_the_view_and_its_position_as_they_were(database: ViewDatabase) -> None:
    app = Tallies()
    record_tallies(app, 2, 1)
    runner = ViewRunner(app.recorder, app.mapper, database, [StrictTallyView()])
    runner.prepare()
    runner.catch_up()
    tally = app.repository.get(record_tallies(app, 1, 0)[0].id)
    tally.count_one()
    tally.rename("renamed")
    app.save(tally)
    with pytest.raises(UnhandledEvent) as refused:
        runner.catch_up()
    assert "Renamed" in str(refused.value)
    assert f"notification id {app.recorder.max_notification_id()}" in str(refused.value)
    with database.transaction(write=False) as tx:
        assert positions.position(tx, "strict_tallies", 1) == 4
    assert counts(database, StrictTallyView()) == {"t0": 1, "t1": 1}


def test_a_second_runner_on_the_same_view_refuses_to_start(database: ViewDatabase) -> None:
    app = Tallies()
    first = ViewRunner(app.recorder, app.mapper, database, [TallyView()])
    first.acquire()
    try:
        with pytest.raises(ViewRunnerAlreadyRunning):
            ViewRunner(app.recorder, app.mapper, database, [TallyView()]).acquire()
    finally:
        first.release()
    second = ViewRunner(app.recorder, app.mapper, database, [TallyView()])
    second.acquire()
    second.release()


def test_a_runner_that_released_its_view_lets_the_next_one_take_it_at_once(database: ViewDatabase) -> None:
    # rebuild-views --verify releases a generation and takes it again at once:
    # on PostgreSQL a lock that went only with its session's end was still held
    # by the closing backend now and then ("another runner is already applying")
    app = Tallies()
    for _ in range(200):
        runner = ViewRunner(app.recorder, app.mapper, database, [TallyView()])
        runner.acquire()
        runner.release()


@pytest.mark.postgres
def test_runners_of_two_ledgers_in_two_schemas_of_one_database_do_not_block_each_other() -> None:
    # Two deployments (or two test runs) in schemas of one database each run
    # their own views runner: the lock that keeps a second runner off a view
    # is the view's in its own schema, not every schema's of that name.
    first, second = postgres_views(), postgres_views()
    try:
        one, other = next(first), next(second)
        app = Tallies()
        runner = ViewRunner(app.recorder, app.mapper, one, [TallyView()])
        runner.acquire()
        try:
            beside = ViewRunner(app.recorder, app.mapper, other, [TallyView()])
            beside.acquire()  # the same view's name, in the other schema
            beside.release()
            with pytest.raises(ViewRunnerAlreadyRunning):  # while in the same schema, a second one is refused
                ViewRunner(app.recorder, app.mapper, one, [TallyView()]).acquire()
        finally:
            runner.release()
    finally:
        for made in (first, second):
            next(made, None)  # closes the database and drops its schema


def test_following_live_applies_new_events_and_wakes_a_waiting_reader(database: ViewDatabase) -> None:
    app = Tallies()
    view = TallyView()
    runner = ViewRunner(app.recorder, app.mapper, database, [view])
    with database.transaction() as tx:
        positions.ensure_schema(tx)
        positions.make_live(tx, "tallies", 1)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        record_tallies(app, 3, 2)
        head = app.recorder.max_notification_id()
        assert wait_until_applied(database, head, ["tallies"], timeout=5)
        assert counts(database, view) == {"t0": 2, "t1": 2, "t2": 2}
        assert not wait_until_applied(database, head + 1, ["tallies"], timeout=0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_rebuild_fills_a_new_generation_and_switches_to_it(database: ViewDatabase) -> None:
    app = Tallies()
    record_tallies(app, 4, 2)
    live = ViewRunner(app.recorder, app.mapper, database, [TallyView(1)])
    live.prepare()
    live.catch_up()
    with database.transaction() as tx:
        positions.make_live(tx, "tallies", 1)
    done = rebuild(app.recorder, app.mapper, database, TallyView, batch_size=3)
    assert (done.generation, done.previous_generation, done.position) == (2, 1, 12)
    with database.transaction(write=False) as tx:
        assert positions.live_generation(tx, "tallies") == 2
    assert compare(database, TallyView, 1, 2) == []


def test_readers_name_the_live_tables_which_each_switch_moves_with_the_pointer(database: ViewDatabase) -> None:
    # a read looks no generation up: it names the live tables (views over the live
    # generation's, moved in the switch's transaction); the same statement, prepared
    # once on PostgreSQL, reads each new generation after its switch
    app = Tallies()
    record_tallies(app, 2, 1)
    with database.transaction() as tx:
        positions.ensure_schema(tx)
        positions.make_live(tx, "tallies", 1)
    live = ViewRunner(app.recorder, app.mapper, database, [TallyView(1)])
    live.prepare()
    live.catch_up()

    def read() -> dict[str, int]:
        with reading(database) as r:
            tally = r.tables(TallyView)["tally"]
            return {label: int(n) for label, n in r.rows(f"SELECT label, count FROM {tally}", keyed=True)}

    assert read() == {"t0": 1, "t1": 1}
    Tally_ = Tally("t2")
    app.save(Tally_)  # the live runner is stopped: only a rebuild sees it
    assert read() == {"t0": 1, "t1": 1}
    assert rebuild(app.recorder, app.mapper, database, TallyView).generation == 2
    assert read() == {"t0": 1, "t1": 1, "t2": 0}
    Tally_.count_one()
    app.save(Tally_)
    assert rebuild(app.recorder, app.mapper, database, TallyView).generation == 3  # drops generation 1
    assert read() == {"t0": 1, "t1": 1, "t2": 1}


def test_a_view_forgotten_whole_drops_its_live_names_first_and_builds_again_from_nothing(database: ViewDatabase) -> None:
    # bench-views forgets every view between runs: PostgreSQL refused to drop the live
    # generation's tables while the live names (database views) still read them
    app = Tallies()
    record_tallies(app, 3, 1)
    rebuild(app.recorder, app.mapper, database, TallyView)
    with database.transaction() as tx:
        for statement in TallyView.unalias_statements():
            tx.execute(statement)
        for statement in TallyView(1).drop_statements():
            tx.execute(statement)
        tx.execute("DELETE FROM view_generations WHERE view = ?", ("tallies",))
        tx.execute("DELETE FROM view_positions WHERE view = ?", ("tallies",))
    assert rebuild(app.recorder, app.mapper, database, TallyView).generation == 1
    with reading(database) as r:
        assert len(r.rows(f"SELECT id FROM {r.tables(TallyView)['tally']}")) == 3


def test_a_prepared_read_follows_a_live_name_moved_to_a_table_of_other_columns(database: ViewDatabase) -> None:
    # a new generation may change a column's type: PostgreSQL then refuses the statement
    # prepared before ("cached plan must not change result type"); the read runs it afresh
    with database.transaction() as tx:
        tx.execute("CREATE TABLE moved__g1 (label TEXT, n BIGINT)")
        tx.execute("INSERT INTO moved__g1 VALUES ('a', 1)")
        tx.execute("CREATE TABLE moved__g2 (label TEXT, n TEXT)")
        tx.execute("INSERT INTO moved__g2 VALUES ('a', 'one')")
        tx.execute("CREATE VIEW moved__live AS SELECT * FROM moved__g1")
    sql = "SELECT label, n FROM moved__live WHERE label = ?"

    def keyed_read() -> list[tuple[Any, ...]]:
        with reading(database) as read:
            return read.rows(sql, ("a",), keyed=True)

    assert keyed_read() == [("a", 1)]
    assert keyed_read() == [("a", 1)]
    with database.transaction() as tx:
        tx.execute("DROP VIEW moved__live")
        tx.execute("CREATE VIEW moved__live AS SELECT * FROM moved__g2")
    assert keyed_read() == [("a", "one")]
    assert keyed_read() == [("a", "one")]


def test_a_rebuild_measures_each_view_s_work_and_a_short_one_does_not_overwrite_a_long_one(database: ViewDatabase) -> None:
    # what shares views out among parallel rebuild workers: measured, not written by hand
    app = Tallies()
    record_tallies(app, 10, 9)  # 100 events
    rebuild(app.recorder, app.mapper, database, TallyView, batch_size=7)
    with database.transaction(write=False) as tx:
        tx.execute("SELECT view, seconds, events FROM view_rebuild_work")
        ((view, seconds, events),) = tx.fetchall()
        measured = positions.rebuild_work(tx)
    assert (view, events) == ("tallies", 100) and seconds > 0
    assert measured == {"tallies": pytest.approx(seconds / 100)}
    record_tallies(app, 1, 0)
    with database.transaction() as tx:  # a last stretch of one event says little of a view's weight
        positions.record_rebuild_work(tx, {"tallies": (5.0, 1)})
    with database.transaction(write=False) as tx:
        assert positions.rebuild_work(tx) == {"tallies": pytest.approx(seconds / 100)}


def test_a_rebuild_builds_the_secondary_indexes_once_the_tables_are_filled_and_before_it_switches(
    database: ViewDatabase,
) -> None:
    app = Tallies()
    record_tallies(app, 4, 2)

    def index(generation: int) -> str:
        return f"{IndexedTallyView(generation).t['tally']}_label"

    switched = rebuild(app.recorder, app.mapper, database, IndexedTallyView, batch_size=3)
    assert (switched.generation, switched.position) == (1, 12)
    assert index(1) in index_names(database)  # the live generation has what its queries need
    record_tallies(app, 1, 1)
    unswitched = rebuild(app.recorder, app.mapper, database, IndexedTallyView, batch_size=3, switch=False)
    assert (unswitched.generation, unswitched.position) == (2, 14)
    assert index(2) not in index_names(database)  # filled without keeping an index up to date
    assert database.query(f"SELECT COUNT(*), SUM(count) FROM {IndexedTallyView(2).t['tally']}") == [(5, 9)]
    # resuming from a position, the handlers may need it: it is there from the start
    resuming = ViewRunner(app.recorder, app.mapper, database, [IndexedTallyView(2)])
    resuming.prepare(indexes=False)
    assert index(2) in index_names(database)
    # a runner preparing a view (not a rebuild) creates everything at once
    ViewRunner(app.recorder, app.mapper, database, [IndexedTallyView(7)]).prepare()
    assert index(7) in index_names(database)


def test_events_that_every_view_of_a_runner_ignores_are_not_decoded(database: ViewDatabase) -> None:
    app = Tallies()
    tally = record_tallies(app, 2, 1)[0]
    decoded: list[str] = []

    def runner_for(view: View) -> ViewRunner:
        runner = ViewRunner(app.recorder, app.mapper, database, [view], batch_size=3)
        decode_all = runner.decoder.decode_all
        runner.decoder.decode_all = lambda page: decoded.extend(n.topic for n in page) or decode_all(page)  # type: ignore[method-assign]
        return runner

    runner = runner_for(TallyView())
    runner.prepare()
    runner.catch_up()
    for label in ("a", "b", "c", "d"):  # the last batches hold nothing but events the view ignores
        tally = app.repository.get(tally.id)
        tally.rename(label)
        app.save(tally)
    assert runner.catch_up() == app.recorder.max_notification_id() == 8
    assert decoded and not any(topic.endswith("Tally.Renamed") for topic in decoded)
    assert counts(database, TallyView()) == {"t0": 1, "t1": 1}
    with database.transaction(write=False) as tx:
        assert positions.position(tx, "tallies", 1) == 8
    # a view that does not list them as ignored still meets them, and stops
    strict = runner_for(StrictTallyView(2))
    strict.prepare()
    with pytest.raises(UnhandledEvent, match="Renamed"):
        strict.catch_up()


def tallies_on_postgres(database: Any) -> Tallies:
    """The Tallies application storing its events in the view database's schema."""
    import os

    env = {k: v for k, v in os.environ.items() if k.startswith("POSTGRES_")}
    return Tallies(env={**env, "PERSISTENCE_MODULE": "contractledger.store.postgres", "POSTGRES_SCHEMA": database._schema})


@pytest.mark.parametrize("bad_state", [b'{"not json', b"\xff\xfe"], ids=["not JSON", "not UTF-8"])
def test_a_runner_reading_pages_in_columns_stops_on_a_state_that_does_not_decode_naming_its_event(bad_state: bytes) -> None:
    from eventsourcing.persistence import StoredEvent

    from contractledger.projections.engine.runner import UndecodableEvent

    for database in postgres_views():
        app = tallies_on_postgres(database)
        record_tallies(app, 3, 1)  # notification ids 1 to 6
        counted = app.recorder.select_notifications(2, 1)[0].topic
        assert counted.endswith("Tally.Counted")
        app.recorder.insert_events([StoredEvent(uuid4(), 1, counted, bad_state)])  # id 7
        runner = ViewRunner(app.recorder, app.mapper, database, [TallyView()], batch_size=4)
        runner.prepare()
        with pytest.raises(UndecodableEvent, match="notification id 7 "):
            runner.catch_up()
        assert counts(database, TallyView()) == {"t0": 1, "t1": 1}  # the batch before it (1 to 4) applied
        with database.transaction(write=False) as tx:
            assert positions.position(tx, "tallies", 1) == 4


def test_a_runner_on_postgres_reads_pages_in_columns_without_the_states_of_ignored_topics() -> None:
    """On PostgreSQL a catch-up reads each page in columns (no object per
    stored event): the states of topics every view ignores stop being sent
    once they are known, and a view that does not ignore them still stops on
    them."""
    for database in postgres_views():
        app = tallies_on_postgres(database)
        tally = record_tallies(app, 2, 1)[0]
        for label in ("a", "b", "c", "d", "e", "f"):
            tally = app.repository.get(tally.id)
            tally.rename(label)
            app.save(tally)
        last = Tally("t2")
        last.count_one()
        last.count_one()
        app.save(last)
        head = app.recorder.max_notification_id()
        assert head == 13

        runner = ViewRunner(app.recorder, app.mapper, database, [TallyView()], batch_size=3)
        asked: list[tuple[str, ...]] = []
        pages: list[Any] = []
        select_state_page = app.recorder.select_state_page

        def spy(after: int, limit: int, stop: Any = None, skip_topics: Any = ()) -> Any:
            asked.append(tuple(skip_topics))
            page = select_state_page(after, limit, stop, skip_topics)
            pages.append(page)
            return page

        app.recorder.select_state_page = spy  # type: ignore[method-assign]
        runner.decoder.decode_all = None  # type: ignore[assignment]  (not used when pages are read in columns)
        runner.prepare()
        assert runner.catch_up() == head
        assert counts(database, TallyView()) == {"t0": 1, "t1": 1, "t2": 2}
        assert not asked[0] and any(any(t.endswith("Tally.Renamed") for t in skipped) for skipped in asked)
        assert sum(len(page) for page in pages) == head  # every event counted, skipped or not
        assert any(len(page.ids) < len(page) for page in pages)  # states of renames not sent
        with database.transaction(write=False) as tx:
            assert positions.position(tx, "tallies", 1) == head

        strict = ViewRunner(app.recorder, app.mapper, database, [StrictTallyView(2)], batch_size=3)
        strict.prepare()
        with pytest.raises(UnhandledEvent, match="Renamed"):
            strict.catch_up()


def test_a_killed_rebuild_resumes_where_it_stopped(database: ViewDatabase) -> None:
    app = Tallies()
    record_tallies(app, 6, 1)

    class Killed(Exception):
        pass

    def kill_after_two_batches(n: int, last: int) -> None:
        if last >= 4:
            raise Killed

    with pytest.raises(Killed):
        rebuild(app.recorder, app.mapper, database, TallyView, batch_size=2, on_batch=kill_after_two_batches)
    resumed = rebuild(app.recorder, app.mapper, database, TallyView, batch_size=2)
    assert (resumed.generation, resumed.resumed_from, resumed.position) == (1, 4, 12)
    assert counts(database, TallyView(1)) == {f"t{i}": 1 for i in range(6)}


def test_verify_reports_a_difference_between_generations(database: ViewDatabase) -> None:
    app = Tallies()
    record_tallies(app, 2, 1)
    rebuild(app.recorder, app.mapper, database, TallyView)
    rebuild(app.recorder, app.mapper, database, TallyView)
    assert compare(database, TallyView, 1, 2) == []
    with database.transaction() as tx:
        tx.execute(f"UPDATE {TallyView(2).t['tally']} SET count = 7 WHERE label = 't0'")
    assert compare(database, TallyView, 1, 2) == ["tallies.tally: same row count (2) but different content"]
    with database.transaction() as tx:
        tx.execute(f"DELETE FROM {TallyView(2).t['tally']} WHERE label = 't0'")
    assert compare(database, TallyView, 1, 2) == ["tallies.tally: 2 rows in generation 1, 1 in 2"]


def test_the_views_runner_catches_up_in_large_batches_then_follows_in_small_ones(
    database: ViewDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    # A served ledger's views far behind (a new view, a restored copy) catch up
    # in a rebuild's batches (a batch's rows summed once, one commit), and new
    # events then go in the live batch, as soon as they arrive.
    app = Tallies()
    record_tallies(app, 60, 9)  # 600 events behind
    stop = threading.Event()
    thread = threading.Thread(
        target=run_views, args=(app.recorder, app.mapper, database, [TallyView], stop),
        kwargs={"batch_size": 10, "catch_up_batch_size": 250},
    )
    with caplog.at_level("INFO", logger="contractledger.views"):
        thread.start()
        try:
            assert wait_until_applied(database, 600, ["tallies"], timeout=10)
            late = Tally("late")
            late.count_one()
            app.save(late)  # two events, recorded live
            assert wait_until_applied(database, 602, ["tallies"], timeout=10)
        finally:
            stop.set()
            thread.join(timeout=10)
    logged = [r.getMessage() for r in caplog.records]
    caught_up, live = logged[:3], logged[3:]
    assert caught_up == [
        f"applied a batch of {n} event(s), up to position {last}" for n, last in ((250, 250), (250, 500), (100, 600))
    ]
    assert live in (
        ["applied a batch of 2 event(s), up to position 602"],
        ["applied a batch of 1 event(s), up to position 601", "applied a batch of 1 event(s), up to position 602"],
    )
    assert counts(database, TallyView()) == {**{f"t{i}": 9 for i in range(60)}, "late": 1}


def test_the_views_runner_follows_a_rebuild_onto_the_new_generation(database: ViewDatabase) -> None:
    app = Tallies()
    record_tallies(app, 2, 1)
    stop = threading.Event()
    thread = threading.Thread(target=run_views, args=(app.recorder, app.mapper, database, [TallyView], stop))
    thread.start()
    try:
        assert wait_until_applied(database, app.recorder.max_notification_id(), ["tallies"], timeout=5)
        rebuilt = rebuild(app.recorder, app.mapper, database, TallyView)
        assert rebuilt.generation == 2
        assert counts(database, TallyView(2)) == {"t0": 1, "t1": 1}
        late = Tally("late")
        late.count_one()
        app.save(late)
        assert wait_until_applied(database, app.recorder.max_notification_id(), ["tallies"], timeout=5)
        assert counts(database, TallyView(2)) == {"t0": 1, "t1": 1, "late": 1}
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_second_views_runner_waits_and_takes_over_without_applying_twice(database: ViewDatabase) -> None:
    app = Tallies()
    first_stop, second_stop = threading.Event(), threading.Event()
    first = threading.Thread(target=run_views, args=(app.recorder, app.mapper, database, [TallyView], first_stop))
    first.start()
    time.sleep(0.3)
    second = threading.Thread(
        target=run_views,
        args=(app.recorder, app.mapper, database, [TallyView], second_stop),
        kwargs={"wait_for_other_runner": 0.05},
    )
    second.start()
    try:
        record_tallies(app, 3, 2)
        assert wait_until_applied(database, app.recorder.max_notification_id(), ["tallies"], timeout=5)
        first_stop.set()
        first.join(timeout=10)
        late = Tally("late")
        for _ in range(4):
            late.count_one()
        app.save(late)
        assert wait_until_applied(database, app.recorder.max_notification_id(), ["tallies"], timeout=5)
    finally:
        first_stop.set()
        second_stop.set()
        first.join(timeout=10)
        second.join(timeout=10)
    assert counts(database, TallyView(1)) == {"t0": 2, "t1": 2, "t2": 2, "late": 4}


def test_many_rows_are_written_and_upserted_in_bulk(database: ViewDatabase) -> None:
    with database.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS bulk_rows (id TEXT PRIMARY KEY, n BIGINT)")
        tx.insert_rows("bulk_rows", ("id", "n"), [(f"r{i}", i) for i in range(2500)])
        tx.insert_rows(
            "bulk_rows", ("id", "n"), [("r1", 100), ("new", 7)],
            on_conflict="ON CONFLICT (id) DO UPDATE SET n = excluded.n",
        )
    rows = dict(database.query("SELECT id, n FROM bulk_rows"))
    assert len(rows) == 2501
    assert (rows["r1"], rows["r2"], rows["new"]) == (100, 2, 7)


def test_verify_compares_a_rebuild_with_the_live_view_at_one_position(database: ViewDatabase) -> None:
    app = Tallies()
    record_tallies(app, 3, 2)
    rebuild(app.recorder, app.mapper, database, TallyView)  # generation 1, live
    record_tallies(app, 1, 1)  # the live view is now behind; nobody runs it
    aside = rebuild(app.recorder, app.mapper, database, TallyView, switch=False)
    assert verify_against_live(app.recorder, app.mapper, database, TallyView, aside.generation, wait=0.1) == []
    with database.transaction() as tx:
        tx.execute(f"UPDATE {TallyView(1).t['tally']} SET count = 99 WHERE label = 't1'")
    assert verify_against_live(app.recorder, app.mapper, database, TallyView, aside.generation, wait=0.1) == [
        "tallies.tally: same row count (4) but different content"
    ]


def test_the_views_reads_on_postgresql_are_never_compiled_with_jit_nor_run_in_parallel() -> None:
    """A page's estimated cost over a big book passes PostgreSQL's jit_above_cost, and compiling it took longer
    than answering it (23 of 41 ms for a page answered in 0.6 ms at 25,000 contracts): every connection of the
    view database, for reads and writes and in every thread, runs with jit off. No read is handed to parallel
    workers: the other connections' reads need the cores."""
    asked = "SELECT current_setting('jit'), current_setting('max_parallel_workers_per_gather')"
    expected = [("off", "0")]
    for database in postgres_views():
        assert database.query(asked) == expected
        with database.transaction() as tx:
            tx.execute(asked)
            assert [tx.fetchone()] == expected
        seen: list[Any] = []
        thread = threading.Thread(target=lambda: seen.extend(database.query(asked)))
        thread.start()
        thread.join()
        assert seen == expected


def test_a_list_read_on_postgresql_is_planned_for_its_values_and_a_keyed_read_once() -> None:
    """A list's rows depend on whose they are: a plan kept for every party (a prepared statement's generic
    plan) fit for an advisor's handful of rows was 7-12x slower for a carrier's thousands (transfer requests
    20.5 -> 2.9 ms, mixed bundles 10.8 -> 1.2 ms at 25,000 contracts), so a list is never prepared. A read by a
    unique key (one contract's status or history) has one plan for every key: it is prepared once per
    connection, and then costs its execution alone (PostgreSQL's CPU per status read 0.51 -> 0.24 ms)."""
    prepared = "SELECT count(*) FROM pg_prepared_statements WHERE position('planned_here' in statement) > 0"
    for database in postgres_views():
        with reading(database) as read:
            for _ in range(7):
                read.rows("SELECT 'planned_here_list' WHERE 1 = ?", (1,))
            assert read.rows(prepared) == [(0,)]
            for _ in range(7):
                read.rows("SELECT 'planned_here_keyed' WHERE 1 = ?", (1,), keyed=True)
            assert read.rows(prepared) == [(1,)]
