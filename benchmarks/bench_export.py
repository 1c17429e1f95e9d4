"""``scripts/bench-export``: the auditor's export of the whole ledger over HTTP,
its rate and the serving worker's peak memory, on each store.

    python benchmarks/bench_export.py [--events N] [--seed S] [--format jsonl|csv] [--store sqlite|postgres]

The ledger is the workload of ``bench_views`` (generated once per seed and
size into ``var/bench/`` and reused; PostgreSQL gets a copy of its stored
events in a schema reused while the server lives). Served by gunicorn with
one worker, the worker alone answering, so its memory is the export's. An
auditor's ``GET /ledger/export`` is read to its end over a socket: the
answer's bytes, its lines, the time to the first byte and to the last, and
the verdict (its last line), which must prove exactly the events exported.
The worker's resident memory is sampled while the answer streams, after its
peak is reset (``/proc/PID/clear_refs``); memory flat on a long export means
the peak does not grow with the events exported.

The baseline, in the same run on the same store: the command line's export
(``scripts/export-history --all``, the same function) of the same ledger to a
file, in this process,
the strongest path there is to the same bytes (no HTTP, no socket). The
report prints the HTTP export's rate as a ratio of it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_http import STORE_KEYS, _free_port, wait_until  # noqa: E402
from bench_views import ensure_postgres_copy, ensure_workload, machine, sqlite_env  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.clock import SystemClock  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.http.tokens import TokenRegistry  # noqa: E402
from contractledger.projections.engine.view_database import view_database_for  # noqa: E402
from contractledger.runtime.serve import gunicorn_arguments  # noqa: E402
from contractledger.store.settings import Settings  # noqa: E402

MEMORY_EVERY = 0.05  # seconds between samples of the worker's resident memory


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def auditor_token(env: dict[str, str]) -> str:
    ledger = ContractLedger(env)
    views = view_database_for(env)
    tokens = TokenRegistry(views, SystemClock(), ledger)
    tokens.ensure_schema()
    secret = tokens.issue(Actor(Role.AUDITOR, "bench-auditor"), timedelta(hours=6)).secret
    views.close()
    ledger.close()
    return secret


def _kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def _worker_of(arbiter: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = subprocess.run(["pgrep", "-P", str(arbiter)], capture_output=True, text=True).stdout.split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def export_over_http(port: int, token: str, export_format: str, worker: int) -> dict[str, float]:
    """One whole export read to its end; the worker's memory sampled meanwhile."""
    before = _kib(worker, "VmRSS")
    try:
        with open(f"/proc/{worker}/clear_refs", "w") as refs:
            refs.write("5")  # the peak (VmHWM) starts again from now
        peak_reset = True
    except OSError:
        peak_reset = False
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(_kib(worker, "VmRSS"))
            time.sleep(MEMORY_EVERY)

    sampler = threading.Thread(target=sample, daemon=True)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.monotonic()
    sampler.start()
    connection.request("GET", f"/ledger/export?format={export_format}", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"the export answered {response.status}: {response.read()[:300]!r}")
    first_byte = None
    size = lines = 0
    tail = b""
    while True:
        chunk = response.read(1 << 16)
        if not chunk:
            break
        if first_byte is None:
            first_byte = time.monotonic() - started
        size += len(chunk)
        lines += chunk.count(b"\n")
        tail = (tail + chunk)[-4096:]
    elapsed = time.monotonic() - started
    done.set()
    sampler.join()
    connection.close()
    peak = _kib(worker, "VmHWM") if peak_reset else max(samples)
    return {
        "seconds": elapsed, "first_byte": first_byte or elapsed, "bytes": size, "lines": lines,
        "rss_before": before, "rss_peak": max(peak, max(samples, default=0)), "rss_last": samples[-1] if samples else before,
        "verdict": _verdict(tail, export_format),
    }


def _verdict(tail: bytes, export_format: str) -> dict[str, object]:
    last = tail.rstrip(b"\r\n").rsplit(b"\n", 1)[-1].decode()
    if export_format == "jsonl":
        return json.loads(last)["verdict"]
    import csv

    row = next(csv.reader([last]))
    return json.loads(next(cell for cell in row if cell.startswith("{")))


def export_in_process(env: dict[str, str], export_format: str, directory: Path) -> dict[str, float]:
    """The baseline: the command line's export (the same function) of the same
    ledger to a file, in this process, timed from the first read to the last write."""
    from contractledger.projections import audit_export

    output = directory / f"export.{export_format}"
    ledger = ContractLedger(env)
    started = time.monotonic()
    _, pieces = audit_export.export(ledger.recorder, ledger.mapper, audit_export.Selection(), export_format)
    with open(output, "w", encoding="utf-8", newline="") as file:
        for piece in pieces:
            file.write(piece)
    seconds = time.monotonic() - started
    ledger.close()
    size = output.stat().st_size
    output.unlink()
    return {"seconds": seconds, "bytes": size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench-export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the ledger (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1, help="the workload's seed (default 1)")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="the export's format (default jsonl)")
    parser.add_argument(
        "--store", choices=("sqlite", "postgres"), action="append",
        help="the stores to export from (default: both when POSTGRES_* is set, which scripts/bench-export does)",
    )
    args = parser.parse_args(argv)
    stores = args.store or (["sqlite", "postgres"] if os.environ.get("POSTGRES_HOST") else ["sqlite"])
    source_path = ensure_workload(args.events, args.seed)
    directory = Path(tempfile.mkdtemp(prefix="bench-export-"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(STORE_KEYS)}
    results = []
    try:
        for store in stores:
            if store == "sqlite":
                ledger_file = directory / "ledger.sqlite3"
                shutil.copyfile(source_path, ledger_file)
                env = {**base_env, **sqlite_env(str(ledger_file))}
            else:
                source = ContractLedger(sqlite_env(source_path))
                env = {**os.environ, **ensure_postgres_copy(source.recorder, args.events, args.seed)}
                source.close()
            token = auditor_token(env)
            say(f"{store}: the command line's export (the baseline) ...")
            baseline = export_in_process(env, args.format, directory)
            port = _free_port()
            served_env = {**env, "CONTRACTLEDGER_BIND": f"127.0.0.1:{port}", "CONTRACTLEDGER_WORKERS": "1"}
            arbiter = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--timeout", "600", *gunicorn_arguments(Settings.read(served_env))],
                cwd=directory, env=served_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            try:
                wait_until(f"http://127.0.0.1:{port}/health")
                worker = _worker_of(arbiter.pid)
                say(f"{store}: the export over HTTP ...")
                served = export_over_http(port, token, args.format, worker)
            finally:
                arbiter.terminate()
                arbiter.wait(timeout=60)
            results.append((store, baseline, served))
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    for line in machine(None):
        print(line)
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) after the run; {args.events:,} events, seed {args.seed}, "
          f"{args.format}\n")
    print(f"{'store':9} {'path':22} {'seconds':>8} {'events/s':>10} {'MB/s':>7} {'first byte s':>13} "
          f"{'worker RSS MB: before':>22} {'peak':>6} {'vs CLI':>7}")
    ok = True
    for store, baseline, served in results:
        verdict = served["verdict"]
        events = int(verdict["events_exported"])
        cli_rate = events / baseline["seconds"]
        rate = events / served["seconds"]
        print(f"{store:9} {'command line (file)':22} {baseline['seconds']:8.1f} {cli_rate:10,.0f} "
              f"{baseline['bytes'] / baseline['seconds'] / 1e6:7.1f} {'-':>13} {'-':>22} {'-':>6} {'1.00x':>7}")
        print(f"{store:9} {'HTTP GET /ledger/export':22} {served['seconds']:8.1f} {rate:10,.0f} "
              f"{served['bytes'] / served['seconds'] / 1e6:7.1f} {served['first_byte']:13.2f} "
              f"{served['rss_before'] / 1024:22.1f} {served['rss_peak'] / 1024:6.1f} {rate / cli_rate:6.2f}x")
        same_bytes = served["bytes"] == baseline["bytes"]
        print(f"          verdict: {verdict['sentence']}; {served['lines']:,} lines; "
              f"the same bytes as the command line: {'yes' if same_bytes else 'NO'}")
        ok = ok and bool(verdict["intact"]) and events == verdict["up_to_position"] and same_bytes
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
