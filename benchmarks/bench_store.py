"""Event-store throughput, ours against its ceilings, in one run on one PostgreSQL.

    python benchmarks/bench_store.py [--rounds N]     (scripts/bench-store)

Needs ``POSTGRES_*`` (``scripts/bench-store`` starts a throwaway server when
they are not set). Measures events per second of:

* the ledger's ``save`` (``ContractLedger``) on our psycopg2 store, one event per transaction and
  batches of 10, 100 and 1000 events (one ``save`` of that many new aggregates);
* the same with ``CONTRACTLEDGER_TAMPER_EVIDENCE=off`` (no hash chain, no
  append-only guard), to show what those cost;
* raw psycopg2 into an equivalent table, one row per transaction with the same
  ``LOCK TABLE ... IN EXCLUSIVE MODE`` and ``NOTIFY``: in one round trip (the
  three in one statement string, one implicit transaction: the ceiling the
  one-event target is measured against), and in four (each its own
  statement, then COMMIT: shown beside it), and
  ``psycopg2.extras.execute_values`` of 1000 rows per transaction (same lock
  and notify);
* the library's own psycopg 3 store (``eventsourcing.postgres``) and our
  SQLite store (``contractledger.store.sqlite``) on the same workloads, when
  they import;
* for ours and the library's, ``recorder.insert_events`` of 1000 stored
  events without an Application: the store's own share of a large save.

This machine is shared and its disk's fsync latency wanders, so the
workloads run interleaved, transaction by transaction, spread evenly over
each round and shuffled at every step; the table shows each workload's median over the rounds, and each
ratio is the median of its per-round ratios (both sides measured over the
same stretch of time).
Durability is never traded: ``synchronous_commit`` stays on.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg2
import psycopg2.extras

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from contractledger.domain.ledger import ContractLedger

BATCHES = (1, 10, 100, 1000)
# Events per round for each batch size: about the same time per workload.
EVENTS_PER_ROUND = {1: 300, 10: 1000, 100: 3000, 1000: 5000}
RAW_ROWS_PER_ROUND = 300
ONE_TRIP_RAW = "raw psycopg2: 1 row/txn, LOCK+INSERT+NOTIFY in 1 round trip"
FOUR_TRIPS_RAW = "raw psycopg2: 1 row/txn, LOCK, INSERT, NOTIFY, COMMIT: 4 round trips"
EXECUTE_VALUES_ROWS_PER_ROUND = 5000


class BenchLedger(ContractLedger):
    """The ledger whose saves are measured: its own ``save`` (each workload in a
    schema of its own, so the one application name never meets another's tables)."""


@dataclass
class Workload:
    """One line of the table: a name, and a unit of work done many times per round.

    ``unit`` does one transaction and returns (events, seconds it took).
    """

    name: str
    unit: Callable[[], tuple[int, float]]
    units_per_round: int
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


_shuffle = random.Random(20261121).shuffle


def run_round(workloads: list[Workload]) -> None:
    """Every workload's units, spread evenly across the round and interleaved.

    Each workload's sample is then taken over the same stretch of time as
    every other's, so a burst of load on the shared machine hits all alike.
    """
    steps = max(w.units_per_round for w in workloads)
    done = {w.name: 0 for w in workloads}
    events = {w.name: 0 for w in workloads}
    seconds = {w.name: 0.0 for w in workloads}
    order = list(workloads)
    for step in range(1, steps + 1):
        # A fresh order each step: what runs just before a workload (another
        # store's fsync, a big COPY) must not always be the same thing.
        _shuffle(order)
        for w in order:
            while done[w.name] < step * w.units_per_round // steps:
                count, took = w.unit()
                done[w.name] += 1
                events[w.name] += count
                seconds[w.name] += took
    for w in workloads:
        w.samples.append(events[w.name] / seconds[w.name])


def server_settings() -> dict[str, str]:
    keys = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD")
    missing = [key for key in keys if not os.environ.get(key)]
    if missing:
        raise SystemExit(f"bench-store: {', '.join(missing)} not set; run it through scripts/bench-store.")
    return {key: os.environ[key] for key in keys}


def connect() -> psycopg2.extensions.connection:
    s = server_settings()
    return psycopg2.connect(
        host=s["POSTGRES_HOST"],
        port=s["POSTGRES_PORT"],
        dbname=s["POSTGRES_DBNAME"],
        user=s["POSTGRES_USER"],
        password=s["POSTGRES_PASSWORD"],
    )


def fresh_schema(conn: psycopg2.extensions.connection, name: str) -> str:
    with conn.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        cursor.execute(f'CREATE SCHEMA "{name}"')
    conn.commit()
    return name


def machine(conn: psycopg2.extensions.connection) -> list[str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    settings = {}
    with conn.cursor() as cursor:
        for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method", "shared_buffers"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
    conn.commit()
    return [
        f"cpu: {cpu}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}",
        f"PostgreSQL {settings['server_version']}: fsync={settings['fsync']}, "
        f"synchronous_commit={settings['synchronous_commit']}, wal_sync_method={settings['wal_sync_method']}, "
        f"shared_buffers={settings['shared_buffers']}",
        f"python {platform.python_version()}, psycopg2 {psycopg2.__version__.split()[0]}",
    ]


def save_unit(app: Application, batch: int) -> Callable[[], tuple[int, float]]:
    """One ``app.save`` of ``batch`` new aggregates (one event each), created untimed."""

    def unit() -> tuple[int, float]:
        group = [Aggregate() for _ in range(batch)]
        started = time.perf_counter()
        app.save(*group)
        return batch, time.perf_counter() - started

    return unit


def insert_unit(app: Application, batch: int) -> Callable[[], tuple[int, float]]:
    """The store alone: one ``recorder.insert_events`` of ``batch`` stored events, made untimed."""
    state = state_like(app)
    topic = "eventsourcing.domain:Aggregate.Created"

    def unit() -> tuple[int, float]:
        events = [StoredEvent(uuid.uuid4(), 1, topic, state) for _ in range(batch)]
        started = time.perf_counter()
        app.recorder.insert_events(events)
        return batch, time.perf_counter() - started

    return unit


def state_like(app: Application) -> bytes:
    """A state of the size the application stores for a new aggregate."""
    aggregate = Aggregate()
    return app.mapper.to_stored_event(aggregate.collect_events()[0]).state


def raw_units(
    conn: psycopg2.extensions.connection, schema: str, state: bytes
) -> tuple[Callable[[], tuple[int, float]], Callable[[], tuple[int, float]]]:
    table = f'"{schema}"."raw_events"'
    with conn.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {table} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
            "topic text NOT NULL, state bytea NOT NULL, notification_id bigserial, hash bytea, "
            "PRIMARY KEY (originator_id, originator_version))"
        )
        cursor.execute(f'CREATE UNIQUE INDEX ON {table} (notification_id)')
    conn.commit()
    psycopg2.extras.register_uuid(conn_or_curs=conn)
    topic = "eventsourcing.domain:Aggregate.Created"
    insert = f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES "

    cursor = conn.cursor()

    def one_row_per_transaction() -> tuple[int, float]:
        originator_id = uuid.uuid4()
        started = time.perf_counter()
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        cursor.execute(insert + "(%s, %s, %s, %s)", (originator_id, 1, topic, state))
        cursor.execute("NOTIFY raw_events")
        conn.commit()
        return 1, time.perf_counter() - started

    def execute_values_1000() -> tuple[int, float]:
        rows = [(uuid.uuid4(), 1, topic, state) for _ in range(1000)]
        started = time.perf_counter()
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        psycopg2.extras.execute_values(cursor, insert + "%s", rows, page_size=1000)
        cursor.execute("NOTIFY raw_events")
        conn.commit()
        return 1000, time.perf_counter() - started

    return one_row_per_transaction, execute_values_1000


def raw_one_round_trip(conn: psycopg2.extensions.connection, schema: str, state: bytes) -> Callable[[], tuple[int, float]]:
    """The strongest one-row ceiling: LOCK, INSERT and NOTIFY in one statement
    string, which PostgreSQL runs as one implicit transaction and commits at its
    end (no BEGIN or COMMIT of their own): one round trip, as ours takes for a
    small append. Into the same raw table as the four-round-trip workload."""
    conn.autocommit = True
    psycopg2.extras.register_uuid(conn_or_curs=conn)
    table = f'"{schema}"."raw_events"'
    topic = "eventsourcing.domain:Aggregate.Created"
    statement = (
        f"LOCK TABLE {table} IN EXCLUSIVE MODE; "
        f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s); "
        "NOTIFY raw_events"
    )
    cursor = conn.cursor()

    def one_row_in_one_round_trip() -> tuple[int, float]:
        originator_id = uuid.uuid4()
        started = time.perf_counter()
        cursor.execute(statement, (originator_id, 1, topic, state))
        return 1, time.perf_counter() - started

    return one_row_in_one_round_trip


def app_env(schema: str, **more: str) -> dict[str, str]:
    return {**server_settings(), "POSTGRES_SCHEMA": schema, **more}


def build(rounds: int) -> tuple[list[str], list[Workload], list[str], list[Callable[[], None]]]:
    conn = connect()
    header = machine(conn)
    notes: list[str] = []
    apps: list[Application] = []
    closers: list[Callable[[], None]] = []
    workloads: list[Workload] = []

    def stores(label: str, env: dict[str, str], *, recorder_alone: bool = False) -> None:
        app = BenchLedger(env=env)
        apps.append(app)
        closers.append(app.close)
        for _ in range(3):  # warm up: tables, pools, prepared statements
            app.save(Aggregate())
        for batch in BATCHES:
            what = "1 event" if batch == 1 else f"batch of {batch}"
            workloads.append(Workload(f"{label}: save {what}", save_unit(app, batch), EVENTS_PER_ROUND[batch] // batch))
        if recorder_alone:
            workloads.append(
                Workload(
                    f"{label}: insert_events of 1000, no Application",
                    insert_unit(app, 1000),
                    EVENTS_PER_ROUND[1000] // 1000,
                )
            )

    ours = "contractledger.store.postgres"
    stores("ours (psycopg2)", app_env(fresh_schema(conn, "bench_ours"), PERSISTENCE_MODULE=ours), recorder_alone=True)
    stores(
        "ours, chain+guard off",
        app_env(fresh_schema(conn, "bench_ours_off"), PERSISTENCE_MODULE=ours, CONTRACTLEDGER_TAMPER_EVIDENCE="off"),
    )
    raw_conn = connect()
    closers.append(raw_conn.close)
    raw_schema = fresh_schema(conn, "bench_raw")
    one_row, execute_values = raw_units(raw_conn, raw_schema, state_like(apps[0]))
    one_trip_conn = connect()
    closers.append(one_trip_conn.close)
    one_trip = raw_one_round_trip(one_trip_conn, raw_schema, state_like(apps[0]))
    workloads.append(Workload(ONE_TRIP_RAW, one_trip, RAW_ROWS_PER_ROUND))
    workloads.append(Workload(FOUR_TRIPS_RAW, one_row, RAW_ROWS_PER_ROUND))
    workloads.append(Workload("raw execute_values: 1000 rows/txn", execute_values, EXECUTE_VALUES_ROWS_PER_ROUND // 1000))
    try:
        import eventsourcing.postgres  # noqa: F401 - only to know whether psycopg 3 is installed
    except ImportError as error:
        notes.append(f"library psycopg3 store skipped: {error} (install the 'bench' extra)")
    else:
        stores(
            "library (psycopg3)",
            app_env(fresh_schema(conn, "bench_library"), PERSISTENCE_MODULE="eventsourcing.postgres"),
            recorder_alone=True,
        )
    try:
        import contractledger.store.sqlite  # noqa: F401 - written elsewhere; measured when present
    except ImportError as error:
        notes.append(f"SQLite store skipped: contractledger.store.sqlite does not import ({error})")
    else:
        folder = tempfile.mkdtemp(prefix="contractledger-bench-")
        stores(
            "ours (SQLite)",
            {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": os.path.join(folder, "bench.sqlite3")},
        )
        notes.append(f"SQLite file in {folder} (local disk, same fsync)")
    conn.close()
    notes.append(
        "ours: appends of up to 20 events take 1 round trip (a prepared insert checked against the last link "
        "under the lock), 21 to 49 take 2 (lock and read the last link; insert and commit), 50 or more go by COPY"
    )
    notes.append(f"{rounds} rounds; per round: " + ", ".join(f"{EVENTS_PER_ROUND[b]} events in batches of {b}" for b in BATCHES)
                 + f"; raw: {RAW_ROWS_PER_ROUND} single rows, {EXECUTE_VALUES_ROWS_PER_ROUND} rows by 1000")
    return header, workloads, notes, closers


@dataclass(frozen=True)
class Target:
    """A ratio the store should reach, and the two workloads it compares."""

    label: str
    numerator: str
    denominator: str
    minimum: float | None = None
    maximum_cost: float | None = None

    def value(self, by_name: dict[str, Workload]) -> float | None:
        top, bottom = by_name.get(self.numerator), by_name.get(self.denominator)
        if top is None or bottom is None:
            return None
        return statistics.median(t / b for t, b in zip(top.samples, bottom.samples))


TARGETS = (
    # the strongest one-row ceiling is the one-round-trip raw insert; the four-round-trip one is shown beside it
    Target("ours 1 event / raw 1 row in 1 round trip", "ours (psycopg2): save 1 event", ONE_TRIP_RAW, minimum=0.9),
    Target("(not a target) ours 1 event / raw 1 row in 4 round trips", "ours (psycopg2): save 1 event", FOUR_TRIPS_RAW),
    Target(
        "ours 1 event / library psycopg3 1 event",
        "ours (psycopg2): save 1 event",
        "library (psycopg3): save 1 event",
        minimum=1.5,
    ),
    Target(
        "ours batch 1000 / execute_values 1000",
        "ours (psycopg2): save batch of 1000",
        "raw execute_values: 1000 rows/txn",
        minimum=0.5,
    ),
    Target(
        "(not a target) ours insert_events of 1000, no Application / execute_values 1000",
        "ours (psycopg2): insert_events of 1000, no Application",
        "raw execute_values: 1000 rows/txn",
    ),
    *(
        Target(
            f"chain+guard cost, {what}",
            f"ours (psycopg2): save {what}",
            f"ours, chain+guard off: save {what}",
            maximum_cost=0.10,
        )
        for what in ("1 event", "batch of 10", "batch of 100", "batch of 1000")
    ),
)


def report(header: list[str], workloads: list[Workload], notes: list[str]) -> str:
    lines = ["Event store benchmark (benchmarks/bench_store.py)", *header, ""]
    width = max(len(w.name) for w in workloads)
    lines.append(f"{'workload':<{width}}  {'events/s':>9}  {'min':>9}  {'max':>9}")
    for w in workloads:
        lines.append(f"{w.name:<{width}}  {w.median:>9.0f}  {min(w.samples):>9.0f}  {max(w.samples):>9.0f}")
    lines.append("")
    by_name = {w.name: w for w in workloads}
    for target in TARGETS:
        value = target.value(by_name)
        if value is None:
            lines.append(f"{target.label}: not measured")
        elif target.minimum is not None:
            verdict = "met" if value >= target.minimum else "MISSED"
            lines.append(f"{target.label}: {value:.2f} (target >= {target.minimum}) {verdict}")
        elif target.maximum_cost is None:
            lines.append(f"{target.label}: {value:.2f}")
        else:
            cost = 1 - value
            verdict = "met" if cost <= (target.maximum_cost or 0) else "MISSED"
            lines.append(f"{target.label}: {cost:+.1%} (target <= {target.maximum_cost:.0%}) {verdict}")
    lines.append("")
    lines.extend(f"note: {note}" for note in notes)
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    lines.append(f"load average at the end: {load:.2f} on {cores} cores")
    if load > cores:
        lines.append(
            "note: the machine was busier than its cores during the run; absolute rates are low and "
            "ratios lean towards whichever side spends less CPU in Python"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-store", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    arguments = parser.parse_args(argv)
    header, workloads, notes, closers = build(arguments.rounds)
    try:
        for number in range(1, arguments.rounds + 1):
            run_round(workloads)
            print(f"round {number}/{arguments.rounds} done", file=sys.stderr, flush=True)
    finally:
        for close in closers:
            close()
    print(report(header, workloads, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

