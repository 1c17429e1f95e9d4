"""Faults on the read side, on PostgreSQL and SQLite: a views runner killed
(SIGKILL) in the middle of a batch and restarted, a rebuild while commands
keep arriving, and a replay started twice on one view, each ending with every
view equal to a full replay of the log (row counts and content checksums,
``projections.engine.rebuild.compare``).

The ledger is filled by the workload generator (a few thousand events,
through the real use cases), generated once in memory and copied into each
test's store; the generator then goes on issuing commands on that store.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

import pytest

from contractledger.domain.clock import SettableClock
from contractledger.domain.ledger import ContractLedger
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # the workload generator, not shipped
from workload import Workload, deterministic_ids  # noqa: E402
from contractledger.projections.engine import positions
from bench_views import copy_events  # noqa: E402
from contractledger.runtime.catalogue import VIEWS
from contractledger.projections.engine.rebuild import compare, generations, rebuild, rebuild_all
from contractledger.projections.engine.runner import ViewRunner
from contractledger.projections.engine.service import live_generations
from contractledger.projections.engine.view_database import (
    PostgresViewDatabase,
    SqliteViewDatabase,
    ViewDatabase,
    ViewRunnerAlreadyRunning,
    postgres_connect_kwargs,
)
from contractledger.projections.engine.waiting import applied_positions

START = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
EVENTS = 3000


class World:
    """A ledger on the store under test, its view database, and the workload
    that filled it (which can go on issuing commands)."""

    def __init__(self, env: dict[str, str], database: ViewDatabase, workload: Workload, ledger: ContractLedger) -> None:
        self.env = env
        self.database = database
        self.workload = workload
        self.ledger = ledger

    @property
    def head(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0


def _filled_memory_workload(seed: int) -> tuple[Workload, ContractLedger, random.Random]:
    clock = SettableClock(START)
    memory = ContractLedger({"PERSISTENCE_MODULE": "eventsourcing.popo", "AGGREGATE_CACHE_MAXSIZE": "100000"}, clock=clock)
    rng = random.Random(seed)
    workload = Workload(memory, clock, seed)
    with deterministic_ids(rng):
        workload.build_world()
        while (memory.recorder.max_notification_id() or 0) < EVENTS:
            workload.step()
    return workload, memory, rng


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: Any, tmp_path: Any) -> Iterator[World]:
    workload, memory, _ = _filled_memory_workload(seed=7)
    if request.param == "sqlite":
        env = {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": str(tmp_path / "ledger.sqlite3")}
        cleanup = None
    else:
        if not os.environ.get("POSTGRES_HOST"):
            pytest.fail("PostgreSQL tests need the throwaway server: run them through scripts/with-postgres")
        import psycopg2

        schema = f"faults_{uuid4().hex[:12]}"
        admin = psycopg2.connect(**postgres_connect_kwargs(os.environ))
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {schema}")
        env = {k: v for k, v in os.environ.items() if k.startswith("POSTGRES_")}
        env.update(PERSISTENCE_MODULE="contractledger.store.postgres", POSTGRES_SCHEMA=schema)

        def cleanup() -> None:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA {schema} CASCADE")
            admin.close()

    ledger = ContractLedger(env, clock=workload.clock)
    copy_events(memory.recorder, ledger.recorder)
    workload.ledger = ledger  # from here on, commands go to the store under test
    if request.param == "sqlite":
        database: ViewDatabase = SqliteViewDatabase(env["SQLITE_DBNAME"])
    else:
        database = PostgresViewDatabase(postgres_connect_kwargs(os.environ), env["POSTGRES_SCHEMA"])
    yield World(env, database, workload, ledger)
    database.close()
    ledger.close()
    if cleanup is not None:
        cleanup()


def assert_live_views_equal_a_full_replay(world: World) -> None:
    """Every live view, brought to the head, equals a fresh replay of the whole log."""
    live = live_generations(world.database, VIEWS)
    runner = ViewRunner(world.ledger.recorder, world.ledger.mapper, world.database, [v(live[v.name]) for v in VIEWS])
    # As a restarted runner does (service.run_views): wait while the killed
    # runner's database session still holds its lock. PostgreSQL ends that
    # session, and releases the lock, only when it next reads the socket.
    deadline = time.monotonic() + 10
    while True:
        try:
            runner.acquire()
            break
        except ViewRunnerAlreadyRunning:
            assert time.monotonic() < deadline, "the killed runner's lock was never released"
            time.sleep(0.05)
    try:
        runner.prepare()
        runner.catch_up()
    finally:
        runner.release()
    head = world.head
    assert all(runner.applied[v.name] == head for v in VIEWS)
    replayed = rebuild_all(world.ledger.recorder, world.ledger.mapper, world.database, VIEWS, switch=False)
    for view_class, fresh in zip(VIEWS, replayed):
        assert fresh.position == head
        assert fresh.generation != live[view_class.name]
        assert compare(world.database, view_class, live[view_class.name], fresh.generation) == []


# ---- a runner killed in the middle of a batch -------------------------------------------

RUNNER = """
import os, sys, threading, time
from contractledger.domain.ledger import ContractLedger
from contractledger.runtime.catalogue import VIEWS
from contractledger.projections.engine.rows import BufferedView
from contractledger.projections.engine.service import run_views
from contractledger.projections.engine.view_database import view_database_for

pause_at, flag, pause_view = int(sys.argv[1]), sys.argv[2], sys.argv[3]
original = BufferedView.apply_all

def apply_all(self, tx, events):
    if self.name == pause_view and any(i == pause_at for i, _ in events):
        # apply part of this batch inside its open transaction, then stop and wait for the kill
        original(self, tx, [(i, e) for i, e in events if i < pause_at])
        open(flag, "w").close()
        time.sleep(600)
    return original(self, tx, events)

BufferedView.apply_all = apply_all
env = dict(os.environ)
ledger = ContractLedger(env)
run_views(ledger.recorder, ledger.mapper, view_database_for(env), VIEWS, threading.Event(), batch_size=int(sys.argv[4]))
"""


def test_a_runner_killed_in_the_middle_of_a_batch_restarts_to_views_equal_a_full_replay(world: World, tmp_path: Any) -> None:
    head = world.head
    batch = 250
    pause_at = 2 * head // 3 + batch // 2  # in the middle of a batch, after several have committed
    flag = str(tmp_path / "paused")
    child = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(pause_at), flag, "tasks_and_notifications", str(batch)],
        env={**os.environ, **world.env},
    )
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(flag):
            assert child.poll() is None, "the runner stopped before reaching the batch"
            assert time.monotonic() < deadline, "the runner never reached the batch"
            time.sleep(0.02)
        before = applied_positions(world.database)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    # Killed mid-batch: every view stands at the last committed batch, none of the open one.
    after = applied_positions(world.database)
    assert after == before
    assert set(after) == {v.name for v in VIEWS}
    last_committed = max(n for n in range(0, pause_at, batch) if n < pause_at)
    assert all(position == last_committed for position in after.values()), (after, last_committed)
    # Commands keep arriving while the runner is down; then it is restarted.
    for _ in range(40):
        world.workload.step()
    assert_live_views_equal_a_full_replay(world)


def test_a_runner_killed_at_random_moments_always_restarts_to_views_equal_a_full_replay(world: World) -> None:
    rng = random.Random(3)
    code = (
        "import os, threading; from contractledger.domain.ledger import ContractLedger;"
        "from contractledger.runtime.catalogue import VIEWS;"
        "from contractledger.projections.engine.service import run_views;"
        "from contractledger.projections.engine.view_database import view_database_for;"
        "env = dict(os.environ); ledger = ContractLedger(env);"
        "run_views(ledger.recorder, ledger.mapper, view_database_for(env), VIEWS, threading.Event(), batch_size=97)"
    )
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, **world.env})
        time.sleep(rng.uniform(1.0, 2.5))  # start-up, then somewhere in the catch-up or the live following
        for _ in range(5):
            world.workload.step()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert_live_views_equal_a_full_replay(world)


# ---- a rebuild while commands arrive ------------------------------------------------------


def test_a_rebuild_while_commands_keep_arriving_ends_equal_to_a_full_replay(world: World) -> None:
    # the live generation, built first
    live = live_generations(world.database, VIEWS)
    runner = ViewRunner(world.ledger.recorder, world.ledger.mapper, world.database, [v(live[v.name]) for v in VIEWS])
    runner.prepare()
    runner.catch_up()
    stop = threading.Event()
    issued: list[int] = []
    failures: list[BaseException] = []

    def commands() -> None:
        try:
            while not stop.is_set():
                world.workload.step()
                issued.append(world.head)
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    writer = threading.Thread(target=commands)
    writer.start()
    try:
        time.sleep(0.3)
        rebuilt = rebuild_all(world.ledger.recorder, world.ledger.mapper, world.database, VIEWS, batch_size=200)
    finally:
        stop.set()
        writer.join(timeout=30)
    assert not failures, failures
    assert len(issued) > 5  # commands really did arrive during the rebuild
    now_live = live_generations(world.database, VIEWS)
    assert now_live == {r.view: r.generation for r in rebuilt}
    assert all(r.generation != live[r.view] for r in rebuilt)
    assert_live_views_equal_a_full_replay(world)


def test_a_rebuild_outpaced_by_commands_still_switches_and_the_runner_takes_the_rest(world: World) -> None:
    # More than a batch of new events is recorded after each of the
    # rebuild's first batches, and after every batch it applies past the head
    # it started from: a rebuild that chased the head would never switch. It
    # rebuilds up to the head it found, then (the last stretch, before the
    # switch) up to the head it finds then, switches, and the live runner
    # (here, the helper below, as serve's runner does) applies the rest.
    batches = 0
    head_before = world.head
    first = 5  # outrun batches at the start: the last stretch then has about as many to apply
    enough = head_before // 20 + 2 * first + 10  # a rebuild that stops at each head it found is done by then

    def commands_outrun_the_rebuild(events: int, position: int) -> None:
        nonlocal batches
        batches += 1
        assert batches < enough, "the rebuild is still chasing the head"
        if batches > first and position <= head_before:
            return  # the rest of the first stretch: no commands, so the test stays quick
        start = world.head
        while world.head <= start + 20:
            world.workload.step()

    rebuilt = rebuild_all(
        world.ledger.recorder, world.ledger.mapper, world.database, VIEWS,
        batch_size=20, on_batch=commands_outrun_the_rebuild,
    )
    assert world.head > head_before + 2 * first * 20  # commands really did outrun it, in both stretches
    assert all(head_before < r.position < world.head for r in rebuilt)  # it stopped at the last head it found
    assert live_generations(world.database, VIEWS) == {r.view: r.generation for r in rebuilt}
    assert_live_views_equal_a_full_replay(world)


# ---- a replay started twice --------------------------------------------------------------


def test_a_replay_started_twice_on_one_view_refuses_the_second_and_stays_correct(world: World) -> None:
    view_class = next(v for v in VIEWS if v.name == "contract_status")
    first_batch_done = threading.Event()
    release = threading.Event()
    results: list[Any] = []

    def slow(events: int, position: int) -> None:
        first_batch_done.set()
        release.wait(10)

    def first() -> None:
        try:
            results.append(rebuild(world.ledger.recorder, world.ledger.mapper, world.database, view_class, batch_size=500, on_batch=slow))
        except BaseException as error:  # pragma: no cover - reported below
            results.append(error)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert first_batch_done.wait(20)
        with pytest.raises(ViewRunnerAlreadyRunning):
            rebuild(world.ledger.recorder, world.ledger.mapper, world.database, view_class, batch_size=500)
        # the script says so and exits 1, leaving the first one alone
        from contractledger.runtime.rebuild_views import main as replay_main

        saved = dict(os.environ)
        os.environ.update(world.env)
        try:
            assert replay_main([view_class.name]) == 1
        finally:
            os.environ.clear()
            os.environ.update(saved)
    finally:
        release.set()
        thread.join(timeout=30)
    (done,) = results
    assert not isinstance(done, BaseException), done
    assert done.position == world.head
    assert generations(world.database, view_class.name) == [done.generation]
    with world.database.transaction(write=False) as tx:
        assert positions.live_generation(tx, view_class.name) == done.generation
    fresh = rebuild(world.ledger.recorder, world.ledger.mapper, world.database, view_class, switch=False)
    assert compare(world.database, view_class, done.generation, fresh.generation) == []


# ---- a rebuild shared out among processes --------------------------------------------------


def test_a_rebuild_shared_out_among_processes_equals_a_one_process_replay(world: World) -> None:
    from contractledger.projections.engine.rebuild import rebuild_in_parallel

    rebuilt = rebuild_in_parallel(world.env, VIEWS, catalogue="contractledger.runtime.catalogue:VIEWS", workers=2, batch_size=400)
    head = world.head
    assert all(r.position == head for r in rebuilt)
    assert live_generations(world.database, VIEWS) == {r.view: r.generation for r in rebuilt}
    replayed = rebuild_all(world.ledger.recorder, world.ledger.mapper, world.database, VIEWS, switch=False)
    for view_class, mine, fresh in zip(VIEWS, rebuilt, replayed):
        assert compare(world.database, view_class, mine.generation, fresh.generation) == []
