"""View rebuild and live-lag benchmark (``scripts/bench-views``).

    python benchmarks/bench_views.py [--events N] [--seed S] [--lag-commands N]

Needs ``POSTGRES_*`` (``scripts/bench-views`` starts a throwaway server when
they are not set). Prints the machine, then events, seconds and events per
second of:

* reading and decoding the log alone (the ceiling of any rebuild);
* our rebuild of every view (``projections.engine.rebuild``) on PostgreSQL and on SQLite;
* the library's ``ProjectionRunner`` (``eventsourcing.projection``) with a
  view that writes one transaction per event, on our PostgreSQL tracking
  recorder, over the same events (or its first N events: ``--library-events``);
* the ratios against the targets (>= 20,000 events/s, >= 15x the library);

and, with ``--lag-commands``, the live lag: commands issued one at a time
through ContractLedger on PostgreSQL while ``run_views`` follows live, from
each command's commit to every view having applied it (p50, p99).

The workload (``benchmarks/workload.py``, filled through
``benchmarks/bulk_load.py``) is generated once per seed and size into a SQLite
ledger file under ``var/bench/`` and reused; PostgreSQL gets a copy of those
stored events, in large appends through our recorder (the hash chain is
computed as for any append), in a schema named by seed and size that is
reused while the server lives.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from eventsourcing.persistence import StoredEvent

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE_DIR = os.environ.get("CONTRACTLEDGER_BENCH_DIR", os.path.join(HERE, "var", "bench"))
START = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
COPY_BATCH = 10_000
CATALOGUE = "contractledger.runtime.catalogue:VIEWS"  # where parallel rebuild workers find the views


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---- the workload, generated once -----------------------------------------------------


def workload_file(events: int, seed: int) -> str:
    # v2: the generator's calendar no longer grows with the scale (an older file is another book)
    return os.path.join(CACHE_DIR, f"workload-s{seed}-n{events}-v2.sqlite3")


def sqlite_env(path: str) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": path}


def ensure_workload(events: int, seed: int) -> str:
    """The SQLite ledger file holding the generated workload, generated when missing
    (through the ledger's rules, many commands per transaction: ``bulk_load.fill``)."""
    from bulk_load import fill

    path = workload_file(events, seed)
    if os.path.exists(path):
        return path
    os.makedirs(CACHE_DIR, exist_ok=True)
    say(f"generating {events:,} events (seed {seed}) into {path}, kept for later runs")
    partial = path + ".partial"
    for leftover in (partial, partial + "-wal", partial + "-shm"):
        if os.path.exists(leftover):
            os.remove(leftover)
    started = time.monotonic()

    def progress(recorded: int) -> None:
        if recorded % 50_000 < 300:
            rate = recorded / (time.monotonic() - started)
            say(f"  generated {recorded:,} events ({rate:,.0f} events/s)")

    summary, _ = fill(sqlite_env(partial), events=events, seed=seed, progress=progress)
    say(f"  generated {summary.events:,} events in {time.monotonic() - started:.0f} s")
    os.replace(partial, path)
    return path


def stored_pages(recorder: Any, batch: int = COPY_BATCH, until: int | None = None) -> Iterator[list[StoredEvent]]:
    position = 0
    while True:
        page = recorder.select_notifications(start=position, limit=batch, stop=until, inclusive_of_start=False)
        if not page:
            return
        yield [StoredEvent(n.originator_id, n.originator_version, n.topic, n.state) for n in page]
        position = page[-1].id


def copy_events(source: Any, target: Any, until: int | None = None) -> int:
    """Appends the source's events to the target in large batches (each batch
    chained by the target's own insert, as any append is)."""
    copied = 0
    for page in stored_pages(source, until=until):
        target.insert_events(page)
        copied += len(page)
    return copied


# ---- where things run -----------------------------------------------------------------


def machine(pg_connect: Mapping[str, Any] | None) -> list[str]:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    lines = [f"CPU: {model}, {os.cpu_count()} cores; Python {platform.python_version()}; {platform.platform()}"]
    if pg_connect is not None:
        import psycopg2

        connection = psycopg2.connect(**pg_connect)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            settings = []
            for name in ("synchronous_commit", "shared_buffers", "max_wal_size"):
                cursor.execute(f"SHOW {name}")
                settings.append(f"{name}={cursor.fetchone()[0]}")
        connection.close()
        lines.append(f"PostgreSQL {version} ({', '.join(settings)})")
    import sqlite3

    lines.append(f"SQLite {sqlite3.sqlite_version}")
    return lines


def postgres_env(schema: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith("POSTGRES_")}
    env["PERSISTENCE_MODULE"] = "contractledger.store.postgres"
    env["POSTGRES_SCHEMA"] = schema
    return env


def pg_admin(statement: str, *, superuser: bool = False) -> None:
    import psycopg2

    from contractledger.projections.engine.view_database import postgres_connect_kwargs

    connect = postgres_connect_kwargs(os.environ)
    if superuser:
        connect.update(user=os.environ["POSTGRES_SUPERUSER"], password=os.environ.get("POSTGRES_SUPERUSER_PASSWORD", ""))
    connection = psycopg2.connect(**connect)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def settle_postgres() -> str:
    """A checkpoint, so that a measurement starts with no dirty pages left by
    the one before (a rebuild leaves gigabytes for the checkpointer to write
    while the next line runs: measured 21,100 events/s fresh, 20,000 right
    after another rebuild). Needs the superuser (with-postgres provides one);
    without it, says so."""
    if not os.environ.get("POSTGRES_SUPERUSER"):
        return "no checkpoint between lines (POSTGRES_SUPERUSER not set)"
    pg_admin("CHECKPOINT", superuser=True)
    return "a checkpoint before each PostgreSQL line"


def ensure_postgres_copy(source: Any, events: int, seed: int) -> dict[str, str]:
    """The environment of a PostgreSQL ledger holding the same events as ``source``."""
    from contractledger.domain.ledger import ContractLedger

    schema = f"bench_s{seed}_n{events}"
    head = source.max_notification_id() or 0
    pg_admin(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    env = postgres_env(schema)
    ledger = ContractLedger(env)
    present = ledger.recorder.max_notification_id() or 0
    ledger.close()
    if present != head:
        if present:
            pg_admin(f"DROP SCHEMA {schema} CASCADE")
            pg_admin(f"CREATE SCHEMA {schema}")
        ledger = ContractLedger(env)
        say(f"copying {head:,} events into PostgreSQL schema {schema}")
        started = time.monotonic()
        copy_events(source, ledger.recorder)
        say(f"  copied in {time.monotonic() - started:.0f} s")
        ledger.close()
    # The server's own upkeep of a freshly filled table (autovacuum marking a
    # million rows visible, statistics) happens now, not in the middle of a line
    ledger = ContractLedger(env)
    table = ledger.recorder.events_table
    ledger.close()
    pg_admin(f"VACUUM (ANALYZE) {table}")
    return env


# ---- measurements -------------------------------------------------------------------


@dataclass
class Line:
    name: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def read_and_decode(recorder: Any, mapper: Any, library: bool = False, until: int | None = None, batch: int = 40_000) -> Line:
    """Reading every event and decoding it, nothing else: the ceiling of a
    rebuild (with the cycle collector as a catch-up runs it, for both decoders)."""

    from contractledger.domain.event_decoding import BatchDecoder
    from contractledger.projections.engine.runner import batch_collections

    decoder = BatchDecoder(mapper)
    in_columns = not library and decoder.fast and hasattr(recorder, "select_state_page")  # as a runner reads
    started = time.monotonic()
    position = done = 0
    with batch_collections() as after_batch:
        while True:
            if in_columns:
                columns = recorder.select_state_page(position, batch, until)
                if not columns:
                    break
                decoder.decode_page(columns)
                done += len(columns)
                position = columns.last_id
            else:
                page = recorder.select_notifications(start=position, limit=batch, stop=until, inclusive_of_start=False)
                if not page:
                    break
                if library:
                    [mapper.to_domain_event(n) for n in page]
                else:
                    decoder.decode_all(page)
                done += len(page)
                position = page[-1].id
            after_batch()
    return Line("", done, time.monotonic() - started)


def read_side_views() -> tuple[type, ...]:
    """The read side's views (issue 4): contract status, history, monitoring
    and debt, tasks and notifications, directory, bundle consistency."""
    from contractledger.projections.bundle_consistency import BundleConsistencyView
    from contractledger.projections.contract_history import ContractHistoryView
    from contractledger.projections.contract_status import ContractStatusView
    from contractledger.projections.directory import DirectoryView
    from contractledger.projections.oversight_records import OversightRecordsView
    from contractledger.projections.tasks_and_notifications import TasksAndNotificationsView

    return (
        ContractStatusView, ContractHistoryView, OversightRecordsView, TasksAndNotificationsView, DirectoryView,
        BundleConsistencyView,
    )


def forget_views(env: Mapping[str, str], views: Any) -> None:
    """Drops every generation of the views, so that the next rebuild starts from nothing."""
    from contractledger.projections.engine import positions
    from contractledger.projections.engine.rebuild import generations
    from contractledger.projections.engine.view_database import view_database_for

    database = view_database_for(dict(env))
    with database.transaction() as tx:
        positions.ensure_schema(tx)
    for view_class in views:
        with database.transaction() as tx:
            for statement in view_class.unalias_statements():
                tx.execute(statement)
        for generation in generations(database, view_class.name):
            with database.transaction() as tx:
                for statement in view_class(generation).drop_statements():
                    tx.execute(statement)
        with database.transaction() as tx:
            tx.execute("DELETE FROM view_positions WHERE view = ?", (view_class.name,))
            tx.execute("DELETE FROM view_generations WHERE view = ?", (view_class.name,))
    database.close()


def rebuild_views(env: Mapping[str, str], batch: int, workers: int, views: Any) -> Line:
    """Our rebuild of the views from nothing to the head: in one pass
    (``workers`` 1) or shared out among processes, then switched together."""
    from contractledger.domain.ledger import ContractLedger
    from contractledger.projections.engine.progress import Progress
    from contractledger.projections.engine.rebuild import rebuild_all, rebuild_in_parallel
    from contractledger.projections.engine.view_database import view_database_for

    VIEWS = views
    forget_views(env, VIEWS)
    ledger = ContractLedger(dict(env))
    head = ledger.recorder.max_notification_id() or 0
    progress = Progress("all views", head)
    started = time.monotonic()
    if workers > 1:
        done = rebuild_in_parallel(
            env, VIEWS, catalogue=CATALOGUE, workers=workers, batch_size=batch, on_batch=progress.advance
        )
    else:
        database = view_database_for(dict(env))
        done = rebuild_all(ledger.recorder, ledger.mapper, database, VIEWS, batch_size=batch, on_batch=progress.advance)
        database.close()
    seconds = time.monotonic() - started
    progress.finish()
    ledger.close()
    assert all(d.position == head for d in done), done
    return Line("", head, seconds)


def served_runner_catch_up(env: Mapping[str, str], views: Any, events: int, batch: int) -> Line:
    """The views runner as ``serve`` starts it on views built from nothing
    (``run_views``: the live generations, their tables and indexes made at
    once, then a catch-up in batches of ``batch``), over the log's first ``events``."""
    from contractledger.domain.ledger import ContractLedger
    from contractledger.projections.engine.runner import ViewRunner
    from contractledger.projections.engine.service import live_generations
    from contractledger.projections.engine.view_database import view_database_for

    forget_views(env, views)
    ledger = ContractLedger(dict(env))
    database = view_database_for(dict(env))
    started = time.monotonic()
    bound = live_generations(database, views)
    runner = ViewRunner(ledger.recorder, ledger.mapper, database, [v(bound[v.name]) for v in views],
                        catch_up_batch_size=batch)
    runner.acquire()
    try:
        runner.prepare()
        position = runner.catch_up(until=events)
    finally:
        runner.release()
    seconds = time.monotonic() - started
    database.close()
    ledger.close()
    return Line("", position, seconds)


def library_runner(env: Mapping[str, str], events: int) -> Line:
    """The library's ProjectionRunner with a one-transaction-per-event counting
    view on our PostgreSQL tracking recorder, over the log's first ``events``."""
    from eventsourcing.projection import ProjectionRunner

    from contractledger.domain.ledger import ContractLedger

    name = f"bench_counts_{os.getpid()}_{int(time.time())}"
    view_class, projection_class = _counting_classes(name)
    with ProjectionRunner(
        application_class=ContractLedger, projection_class=projection_class, view_class=view_class, env=dict(env)
    ) as runner:
        started = time.monotonic()
        while True:
            applied = runner.view.max_tracking_id(ContractLedger.name) or 0
            if applied >= events:
                break
            runner.run_forever(timeout=0.05)
        seconds = time.monotonic() - started
        count = runner.view.count()
    return Line("", count, seconds)


def _counting_classes(name: str) -> tuple[type, type]:
    from functools import singledispatchmethod

    from eventsourcing.projection import Projection

    from contractledger.store.postgres import PostgresTrackingRecorder

    class CountingView(PostgresTrackingRecorder):
        """Counts events, one view transaction per event (the library's model)."""

        def __init__(self, datastore: Any, **kwargs: Any) -> None:
            super().__init__(datastore, **kwargs)
            self.counts_table = f"{datastore.schema}.{name}"
            self.create_statements.append(
                f"CREATE TABLE IF NOT EXISTS {self.counts_table} (topic TEXT PRIMARY KEY, count BIGINT NOT NULL)"
            )

        def incr(self, topic: str, tracking: Any) -> None:
            with self.datastore.transaction() as cursor:
                cursor.execute(
                    f"INSERT INTO {self.counts_table} (topic, count) VALUES (%s, 1)"
                    " ON CONFLICT (topic) DO UPDATE SET count = excluded.count + "
                    f"{self.counts_table}.count",
                    (topic,),
                )
                self._insert_tracking(cursor, tracking)

        def count(self) -> int:
            with self.datastore.transaction() as cursor:
                cursor.execute(f"SELECT COALESCE(SUM(count), 0) FROM {self.counts_table}")
                return int(cursor.fetchone()[0])

    class CountingProjection(Projection[CountingView]):
        topics = ()

        @singledispatchmethod
        def process_event(self, domain_event: Any, tracking: Any) -> None:
            self.view.incr(type(domain_event).__qualname__, tracking)

    CountingProjection.name = name
    return CountingView, CountingProjection


# ---- live lag -------------------------------------------------------------------------


def _run_views_process(env: dict[str, str], ready: Any, stop_file: str) -> None:
    """The views' runner, as the serve command starts it, in its own process."""
    from contractledger.domain.ledger import ContractLedger
    from contractledger.runtime.catalogue import VIEWS
    from contractledger.projections.engine.service import run_views
    from contractledger.projections.engine.view_database import view_database_for

    ledger = ContractLedger(env)
    database = view_database_for(env)
    stop = threading.Event()

    def watch() -> None:
        ready.set()
        while not os.path.exists(stop_file):
            time.sleep(0.1)
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        run_views(ledger.recorder, ledger.mapper, database, VIEWS, stop)
    finally:
        database.close()
        ledger.close()


def live_lag(commands: int, seed: int) -> dict[str, float]:
    """Commands one at a time through ContractLedger on PostgreSQL while the
    views' runner follows live in another process; for each, the time from
    its commit (its save returned) to every view having applied it (the
    read-your-writes wait returned)."""
    import multiprocessing
    import random
    import tempfile

    from contractledger.domain.clock import SettableClock
    from contractledger.domain.ledger import ContractLedger
    from workload import Workload, deterministic_ids
    from contractledger.runtime.catalogue import VIEWS
    from contractledger.projections.engine.view_database import view_database_for
    from contractledger.projections.engine.waiting import wait_until_applied

    schema = f"lag_{os.getpid()}_{int(time.time())}"
    pg_admin(f"CREATE SCHEMA {schema}")
    env = postgres_env(schema)
    clock = SettableClock(START)
    ledger = ContractLedger(env, clock=clock)
    database = view_database_for(env)
    names = [v.name for v in VIEWS]
    stop_file = os.path.join(tempfile.mkdtemp(), "stop")
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    runner = context.Process(target=_run_views_process, args=(env, ready, stop_file), daemon=True)
    lags: list[float] = []
    try:
        rng = random.Random(seed)
        workload = Workload(ledger, clock, seed)
        with deterministic_ids(rng):
            workload.build_world()
            for _ in range(200):
                workload.step()
            runner.start()
            ready.wait(60)
            head = ledger.recorder.max_notification_id() or 0
            if not wait_until_applied(database, head, names, timeout=120):
                raise RuntimeError("the views' runner did not catch up with the warm-up")
            while len(lags) < commands:
                before = ledger.recorder.max_notification_id() or 0
                workload.step()
                committed = time.monotonic()
                after = ledger.recorder.max_notification_id() or 0
                if after == before:
                    continue  # refused by the rules: nothing recorded
                if not wait_until_applied(database, after, names, timeout=10):
                    raise RuntimeError(f"the views did not apply {after} within 10 s")
                lags.append(time.monotonic() - committed)
    finally:
        with open(stop_file, "w"):
            pass
        runner.join(timeout=15)
        if runner.is_alive():
            runner.terminate()
        database.close()
        ledger.close()
        pg_admin(f"DROP SCHEMA {schema} CASCADE")
    ordered = sorted(lags)
    return {
        "commands": len(lags),
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max": ordered[-1],
        "mean": statistics.mean(ordered),
    }


# ---- the run ----------------------------------------------------------------------------

TARGET_RATE = 20_000
TARGET_RATIO = 15


def main(argv: list[str] | None = None) -> int:
    import shutil
    import tempfile

    from contractledger.domain.ledger import ContractLedger
    from contractledger.projections.engine.view_database import postgres_connect_kwargs

    parser = argparse.ArgumentParser(prog="scripts/bench-views", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the generated log (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=40_000, help="events per view transaction in rebuilds (default 40,000)")
    parser.add_argument(
        "--library-events", type=int, default=50_000,
        help="events the library's ProjectionRunner processes (default 50,000; 0: all)",
    )
    parser.add_argument("--lag-commands", type=int, default=1000, help="commands for the live lag (0: skip)")
    parser.add_argument(
        "--runner-events", type=int, default=100_000,
        help="events serve's views runner catches up from nothing, beside the rebuild (default 100,000; 0: skip)",
    )
    parser.add_argument(
        "--runner-batch", type=int, default=40_000,
        help="the runner's catch-up batch (default 40,000, as serve runs it; 1,000 was serve's before)",
    )
    parser.add_argument("--skip-rebuild", action="store_true", help="only the live lag")
    parser.add_argument(
        "--all-catalogue", action="store_true",
        help="rebuild every view of the catalogue (sync feeds included), not only the read side's six",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1,
        help="rebuild processes, measured beside the one-process rebuild (default: the cores)",
    )
    args = parser.parse_args(argv)
    if not os.environ.get("POSTGRES_HOST"):
        print("bench-views: POSTGRES_* not set (run it through scripts/bench-views)", file=sys.stderr)
        return 2
    pg = postgres_connect_kwargs(os.environ)
    if args.all_catalogue:
        from contractledger.runtime.catalogue import VIEWS as views
    else:
        views = read_side_views()
    out: list[str] = ["", "== contractledger view benchmark ==", *machine(pg), f"load average at start: {_load()}"]

    if not args.skip_rebuild:
        path = ensure_workload(args.events, args.seed)
        source = ContractLedger(sqlite_env(path))
        head = source.recorder.max_notification_id() or 0
        env = ensure_postgres_copy(source.recorder, args.events, args.seed)
        ledger = ContractLedger(env)
        out.append(f"events: {head:,} generated by benchmarks/workload.py (seed {args.seed}), batch {args.batch:,} events")
        out.append(f"views rebuilt: {', '.join(v.name for v in views)}")
        out.append(f"PostgreSQL lines: {settle_postgres()}")

        rows: list[tuple[str, Line]] = []
        say("reading and decoding the log (PostgreSQL)")
        rows.append(("read + decode, PostgreSQL (ours)", read_and_decode(ledger.recorder, ledger.mapper)))
        say("reading and decoding the log (SQLite)")
        rows.append(("read + decode, SQLite (ours)", read_and_decode(source.recorder, source.mapper)))
        sample = min(head, 100_000)
        rows.append((f"read + decode, PostgreSQL (library mapper, first {sample:,})",
                     read_and_decode(ledger.recorder, ledger.mapper, library=True, until=sample)))

        results: dict[tuple[str, int], Line] = {}
        for workers in sorted({1, args.workers}):
            say(f"rebuilding every view on PostgreSQL ({workers} process{'es' if workers > 1 else ''})")
            settle_postgres()
            line = results["PostgreSQL", workers] = rebuild_views(env, args.batch, workers, views)
            rows.append((f"rebuild all views, PostgreSQL, {workers} process{'es' if workers > 1 else ''}", line))
        for workers in sorted({1, args.workers}):
            say(f"rebuilding every view on SQLite, views in a copy of the ledger file ({workers} process(es))")
            folder = tempfile.mkdtemp(prefix="bench-views-")
            copy = os.path.join(folder, "ledger.sqlite3")
            shutil.copyfile(path, copy)
            settle_postgres()  # nor the PostgreSQL server's writes of the line before
            line = results["SQLite", workers] = rebuild_views(sqlite_env(copy), args.batch, workers, views)
            shutil.rmtree(folder, ignore_errors=True)
            rows.append((f"rebuild all views, SQLite, {workers} process{'es' if workers > 1 else ''}", line))
        ours_pg = max((line for (store, _), line in results.items() if store == "PostgreSQL"), key=lambda l: l.rate)
        ours_sqlite = max((line for (store, _), line in results.items() if store == "SQLite"), key=lambda l: l.rate)

        if args.runner_events:
            runner_events = min(head, args.runner_events)
            say(f"serve's views runner catching up from nothing over {runner_events:,} events, batch {args.runner_batch:,}")
            settle_postgres()
            caught = served_runner_catch_up(env, views, runner_events, args.runner_batch)
            rows.append((f"serve's runner from nothing, PostgreSQL (first {caught.events:,})", caught))
        library_events = head if args.library_events <= 0 else min(head, args.library_events)
        say(f"the library's ProjectionRunner, one transaction per event, over {library_events:,} events")
        settle_postgres()
        library = library_runner(env, library_events)
        rows.append((f"library ProjectionRunner, PostgreSQL (first {library.events:,})", library))
        ledger.close()
        source.close()

        out.append("")
        out.append(f"{'measure':<58} {'events':>10} {'seconds':>9} {'events/s':>10}")
        for name, line in rows:
            out.append(f"{name:<58} {line.events:>10,} {line.seconds:>9.1f} {line.rate:>10,.0f}")
        out.append("")
        ratio = ours_pg.rate / library.rate if library.rate else float("inf")
        out.append(
            f"rebuild on PostgreSQL: {ours_pg.rate:,.0f} events/s, target >= {TARGET_RATE:,}: "
            f"{'MET' if ours_pg.rate >= TARGET_RATE else 'NOT MET'}"
        )
        out.append(
            f"rebuild / library ProjectionRunner: {ratio:.1f}x, target >= {TARGET_RATIO}x: "
            f"{'MET' if ratio >= TARGET_RATIO else 'NOT MET'}"
        )
        out.append(f"rebuild on SQLite: {ours_sqlite.rate:,.0f} events/s ({ours_sqlite.rate / library.rate:.1f}x the library)")
        if args.runner_events:
            out.append(
                f"serve's runner from nothing on PostgreSQL: {caught.rate:,.0f} events/s, "
                f"{caught.rate / ours_pg.rate:.2f}x the rebuild (a served ledger's views catch up at this rate)"
            )
        if head < 1_000_000:
            out.append(f"NOTE: measured on {head:,} events, not the 1,000,000 the target names")
    if args.lag_commands:
        say(f"live lag over {args.lag_commands:,} commands")
        lag = live_lag(args.lag_commands, args.seed)
        out.append("")
        out.append(
            f"live lag, commit -> every view applied (PostgreSQL, LISTEN/NOTIFY), {lag['commands']:,} commands: "
            f"p50 {lag['p50'] * 1000:.1f} ms, p99 {lag['p99'] * 1000:.1f} ms, max {lag['max'] * 1000:.1f} ms; "
            f"target p99 < 50 ms: {'MET' if lag['p99'] < 0.05 else 'NOT MET'}"
        )
    out.append(f"load average at end: {_load()} (the machine is shared: other work slows every line alike)")
    print("\n".join(out), flush=True)
    return 0


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg()) + f" on {os.cpu_count()} cores"
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
