"""Catch-up on PostgreSQL writes batch k while batch k+1 is applied
(projections/engine/write_pipeline.py): reads still see every earlier batch, a batch
that reads its own writes still sees them, and a write that fails leaves the
view and its position at the last batch that committed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg2
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

sys.path.insert(0, str(Path(__file__).parent))

from contractledger.projections.engine import positions
from contractledger.projections.engine.runner import ViewRunner
from contractledger.projections.engine.view import View, handles
from contractledger.projections.engine.view_database import ViewDatabase
from contractledger.projections.engine.write_pipeline import DeferredTransaction, WritePipeline
from views_scenario import postgres_views  # noqa: E402


class Counter(Aggregate):
    @event("Opened")
    def __init__(self, label: str) -> None:
        self.label = label

    @event("Counted")
    def count_one(self) -> None:
        pass


class Counters(Application[UUID]):
    pass


class ReadModifyWriteView(View):
    """Reads the current count with a SELECT before every write: wrong at once
    if a read could miss a batch in flight, or this batch's own writes."""

    name = "read_modify_write"
    tables = ("counts",)
    follows = (Counter,)

    def schema(self) -> list[str]:
        return [f"CREATE TABLE IF NOT EXISTS {self.t['counts']} (id TEXT PRIMARY KEY, label TEXT, n BIGINT)"]

    @handles(Counter.Opened)
    def opened(self, tx: Any, e: Any, notification_id: int) -> None:
        tx.execute(f"INSERT INTO {self.t['counts']} (id, label, n) VALUES (?, ?, 0)", (str(e.originator_id), e.label))

    @handles(Counter.Counted)
    def counted(self, tx: Any, e: Any, notification_id: int) -> None:
        tx.execute(f"SELECT n FROM {self.t['counts']} WHERE id = ?", (str(e.originator_id),))
        row = tx.fetchone()
        assert row is not None, "the row written by an earlier event must be visible"
        tx.execute(f"UPDATE {self.t['counts']} SET n = ? WHERE id = ?", (row[0] + 1, str(e.originator_id)))


class DuplicatingView(View):
    """Writes every Opened twice from the third one on: the database refuses
    the batch holding it (a duplicate key), only when the writer sends it."""

    name = "duplicating"
    tables = ("rows",)
    follows = (Counter,)
    ignores = (Counter.Counted,)

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.seen = 0

    def schema(self) -> list[str]:
        return [f"CREATE TABLE IF NOT EXISTS {self.t['rows']} (id TEXT PRIMARY KEY)"]

    @handles(Counter.Opened)
    def opened(self, tx: Any, e: Any, notification_id: int) -> None:
        self.seen += 1
        times = 2 if self.seen >= 3 else 1
        for _ in range(times):
            tx.execute(f"INSERT INTO {self.t['rows']} (id) VALUES (?)", (str(e.originator_id),))


@pytest.fixture
def database() -> Any:
    yield from postgres_views()


def record(app: Counters, counters: int, counts_each: int) -> None:
    for i in range(counters):
        counter = Counter(f"c{i}")
        for _ in range(counts_each):
            counter.count_one()
        app.save(counter)


def counts(database: ViewDatabase, view: View) -> dict[str, int]:
    return {label: int(n) for label, n in database.query(f"SELECT label, n FROM {view.t['counts']}")}


@pytest.mark.parametrize("batch_size", [1, 3, 7, 1000])
def test_reads_see_every_earlier_batch_and_the_batch_s_own_writes(database: ViewDatabase, batch_size: int) -> None:
    app = Counters()
    record(app, 6, 5)
    view = ReadModifyWriteView()
    runner = ViewRunner(app.recorder, app.mapper, database, [view], batch_size=batch_size)
    runner.prepare()
    assert runner.catch_up() == 36
    assert counts(database, view) == {f"c{i}": 5 for i in range(6)}
    with database.transaction(write=False) as tx:
        assert positions.position(tx, view.name, 1) == 36


def test_a_write_refused_by_the_database_leaves_the_last_committed_batch(database: ViewDatabase) -> None:
    app = Counters()
    record(app, 5, 0)  # five Opened events: the third is written twice
    batches: list[int] = []
    view = DuplicatingView()
    runner = ViewRunner(
        app.recorder, app.mapper, database, [view], batch_size=2, on_batch=lambda n, last: batches.append(last)
    )
    runner.prepare()
    with pytest.raises(psycopg2.IntegrityError):
        runner.catch_up()
    # batch 1 (events 1-2) committed; batch 2 (events 3-4) was refused by the database
    assert batches == [2]
    assert runner.position == 2
    with database.transaction(write=False) as tx:
        assert positions.position(tx, view.name, 1) == 2
    assert len(database.query(f"SELECT id FROM {view.t['rows']}")) == 2


def test_a_deferred_batch_commits_only_through_the_writer(database: ViewDatabase) -> None:
    with database.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS pipeline_probe (n BIGINT)")
    pipeline = WritePipeline(database)
    committed: list[int] = []
    try:
        with pipeline.batch() as tx:
            assert isinstance(tx, DeferredTransaction)
            tx.insert_rows("pipeline_probe", ("n",), [(n,) for n in range(500)])
            tx.execute("INSERT INTO pipeline_probe (n) VALUES (?)", (500,))
        # nothing is written before the batch is handed over
        assert database.query("SELECT count(*) FROM pipeline_probe") == [(0,)]
        pipeline.submit(tx, lambda: committed.append(1))
        pipeline.wait()
        assert committed == [1]
        assert database.query("SELECT count(*), max(n) FROM pipeline_probe") == [(501, 500)]
    finally:
        pipeline.close()
