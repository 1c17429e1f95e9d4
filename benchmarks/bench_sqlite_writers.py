"""Several processes saving to one SQLite ledger: the writers' queue against SQLite's own busy handler.

    python benchmarks/bench_sqlite_writers.py [--processes 4] [--saves 200] [--rounds 3]   (scripts/bench-sqlite-writers)

Each process saves one-event commands (``register_party``) as fast as it can,
all starting together, as gunicorn's workers do under a steady load of
commands. Measured in the same run, rounds alternated: with the writers'
queue (``store/sqlite/writers.py``, the served configuration), without it
(SQLite's busy handler alone: what the store did before), and one process
alone (no contention at all). Prints saves per second, each save's p50 and
p99, and the ratios of the queue's rate to the others'.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _saver(path: str, saves: int, queued: bool, ready: object, go: object, results: object) -> None:
    os.environ.update({"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": path})
    from contractledger.store.sqlite import datastore as sqlite_datastore

    if not queued:
        sqlite_datastore.writer_queue_for = lambda path: None  # type: ignore[assignment,return-value]
    from contractledger.domain.actor import Actor
    from contractledger.domain.ledger import ContractLedger

    ledger = ContractLedger(dict(os.environ))
    system = Actor.system()
    ledger.register_party(system, "carrier", {"name": "warm"})
    ready.put(True)  # type: ignore[attr-defined]
    go.wait()  # type: ignore[attr-defined]
    took = []
    for n in range(saves):
        started = time.perf_counter()
        ledger.register_party(system, "carrier", {"name": f"Carrier {n}"})
        took.append(time.perf_counter() - started)
    ledger.close()
    results.put(took)  # type: ignore[attr-defined]


def run(processes: int, saves: int, queued: bool) -> tuple[float, float, float]:
    folder = tempfile.mkdtemp(prefix="bench-writers-")
    path = str(Path(folder) / "ledger.sqlite3")
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    workers = [context.Process(target=_saver, args=(path, saves, queued, ready, go, results)) for _ in range(processes)]
    workers[0].start()
    ready.get()  # the first makes the tables alone
    for worker in workers[1:]:
        worker.start()
    for _ in workers[1:]:
        ready.get()
    started = time.perf_counter()
    go.set()
    took = sorted(t for _ in workers for t in results.get())
    wall = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return processes * saves / wall, took[len(took) // 2] * 1000, took[int(len(took) * 0.99)] * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4, help="processes saving at once (default 4)")
    parser.add_argument("--saves", type=int, default=200, help="saves per process per round (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each measuring all three (default 3)")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    print(f"{args.processes} processes x {args.saves} one-event saves, {args.rounds} rounds alternated; "
          f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, load average {load:.2f}")
    measured: dict[str, list[tuple[float, float, float]]] = {"queued": [], "busy handler": [], "one process": []}
    for _ in range(args.rounds):
        measured["queued"].append(run(args.processes, args.saves, queued=True))
        measured["busy handler"].append(run(args.processes, args.saves, queued=False))
        measured["one process"].append(run(1, args.saves * args.processes // 2, queued=True))
    print(f"\n{'writers':<16}{'saves/s':>10}{'p50 ms':>10}{'p99 ms':>10}   (medians over the rounds)")
    for name, rows in measured.items():
        rate, p50, p99 = (statistics.median(r[i] for r in rows) for i in range(3))
        print(f"{name:<16}{rate:>10.0f}{p50:>10.2f}{p99:>10.2f}")
    for other in ("busy handler", "one process"):
        ratios = [q[0] / o[0] for q, o in zip(measured["queued"], measured[other])]
        print(f"queued / {other}: {statistics.median(ratios):.2f}x (per round: {', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
