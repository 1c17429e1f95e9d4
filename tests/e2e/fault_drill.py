"""A fault drill against the real served ledger: a bounded concurrent write
load over HTTP (every command with an Idempotency-Key, every 2xx
recorded), one fault in the middle of it, and an audit afterwards.

The faults: SIGKILL of one gunicorn worker, of the views runner, of the
delivery worker; an immediate (crash-like) restart of PostgreSQL; SIGKILL
of the whole service, then starting it again. The audit checks what the
users depend on: every acknowledged command is in the ledger exactly once
(by the command id its events carry), nothing unacknowledged is half
applied, a retry with the same key replays the first answer, the views
equal a full rebuild (``rebuild-views --verify``), ``verify-ledger`` is
intact with the right count, and each peer's endpoint received every item
of its feed. It measures the time from the fault's end to the first
successful write and to the first read showing a write made after it.

Used by tests/e2e/test_faults.py (short loads, in the suite) and by
``scripts/fault-drill`` (longer loads, a table of the figures).
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))

from served import Server  # noqa: E402
from test_sync_delivery import Receiver  # noqa: E402
from views_scenario import ContractingWorld  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.domain.clock import SettableClock  # noqa: E402
from contractledger.http.idempotency import command_id  # noqa: E402
from contractledger.sync import feed  # noqa: E402

ROOT = Path(__file__).parents[2]
PEERS = ("manage", "contracting")
SECRET = "whsec_" + base64.b64encode(b"fault drill key").decode()
RETRYABLE = {0, 502, 503, 504}
RECOVERY_BOUND_SECONDS = 60.0
# The events one command of each kind records: the contract's (or bundle's and
# its contract's) and the command's record, kept for its repeats.
EVENTS_PER_COMMAND = {"writing_number": 2, "bundle": 3}


@dataclass
class Attempt:
    key: str
    kind: str
    path: str
    body: dict[str, Any]
    acknowledged: tuple[int, bytes] | None = None
    acknowledged_at: float | None = None
    position: int | None = None
    tries: int = 0


@dataclass
class Timeline:
    writes: list[tuple[float, bool]] = field(default_factory=list)
    reads: list[tuple[float, bool, float]] = field(default_factory=list)
    """(when, answered with the write, when that write was acknowledged)."""


class Load:
    """Writers over HTTP, each on contracts of its own (no two writers race one
    contract), and a reader asking for the newest acknowledged write."""

    def __init__(self, server: Server, world: ContractingWorld, token: str, writers: int, seed: int = 7) -> None:
        self.server = server
        self.world = world
        self.token = token
        self.writers = writers
        self.random = random.Random(seed)
        self.attempts: list[Attempt] = []
        self.unexpected: list[tuple[str, int, bytes]] = []
        self.timeline = Timeline()
        self.newest: tuple[str, int, float] | None = None
        self._lock = threading.Lock()
        self._stop_new = threading.Event()
        self._stop_reading = threading.Event()
        self._give_up_at = float("inf")
        self._threads: list[threading.Thread] = []
        self.advisors = [world.register("advisor", f"Advisor {n}", advisor_kind="individual") for n in range(writers)]
        self.contracts: list[list[str]] = [[] for _ in range(writers)]

    # -- the load -------------------------------------------------------------------------

    def start(self) -> None:
        for number in range(self.writers):
            self._settle(self._bundle(number, f"setup-{number}"), number)
        self._threads = [threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(self.writers)]
        self._threads.append(threading.Thread(target=self._read, daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, drain_seconds: float = 60.0) -> None:
        """No new commands; those in flight are retried until acknowledged (or the drain ends)."""
        self._give_up_at = time.monotonic() + drain_seconds
        self._stop_new.set()
        for thread in self._threads[:-1]:
            thread.join()
        self._stop_reading.set()
        self._threads[-1].join()

    def wait_for_recovery(self, since: float, bound: float) -> None:
        """Until a write succeeded after ``since`` and a read showed one (or ``bound`` seconds)."""
        deadline = since + bound
        while time.monotonic() < deadline:
            with self._lock:
                wrote = any(ok and t >= since for t, ok in self.timeline.writes[-200:])
                read = any(ok and written >= since for _, ok, written in self.timeline.reads[-50:])
            if wrote and read:
                return
            time.sleep(0.05)

    def _bundle(self, writer: int, key: str) -> Attempt:
        chain = [str(p) for p in self.world.chain(advisor=self.advisors[writer])]
        return Attempt(key, "bundle", "/bundles", {"chains": [chain], "initially_filled_by": "agency_admin"})

    def _write(self, writer: int) -> None:
        number = 0
        while not self._stop_new.is_set():
            number += 1
            key = f"w{writer}-{number}"
            if number % 4 == 0:
                attempt = self._bundle(writer, key)
            else:
                contract = self.random.choice(self.contracts[writer])
                attempt = Attempt(key, "writing_number", f"/contracts/{contract}/add-writing-number", {"writing_number": key})
            self._settle(attempt, writer)

    def _settle(self, attempt: Attempt, writer: int) -> None:
        with self._lock:
            self.attempts.append(attempt)
        while True:
            attempt.tries += 1
            answer = self.server.request(
                "POST", attempt.path, self.token, attempt.body, headers={"Idempotency-Key": attempt.key}
            )
            now = time.monotonic()
            ok = 200 <= answer.status < 300
            with self._lock:
                self.timeline.writes.append((now, ok))
            if ok:
                attempt.acknowledged = (answer.status, answer.body)
                attempt.acknowledged_at = now
                attempt.position = int(answer.headers["Ledger-Position"])
                if attempt.kind == "bundle":
                    self.contracts[writer].extend(answer.json["contract_ids"])
                contract = self.contracts[writer][-1] if attempt.kind == "bundle" else attempt.path.split("/")[2]
                with self._lock:
                    self.newest = (contract, attempt.position, now)
                return
            in_flight = answer.status == 409 and b"request.idempotency_key_in_flight" in answer.body
            if answer.status not in RETRYABLE and not in_flight:
                self.unexpected.append((attempt.key, answer.status, answer.body[:500]))
                return
            if now > self._give_up_at:
                return
            time.sleep(0.1)

    def _read(self) -> None:
        while not self._stop_reading.is_set():
            with self._lock:
                newest = self.newest
            if newest is not None:
                contract, position, acknowledged_at = newest
                answer = self.server.request("GET", f"/contracts/{contract}?wait_for={position}", self.token)
                with self._lock:
                    self.timeline.reads.append((time.monotonic(), answer.status == 200, acknowledged_at))
            time.sleep(0.05)


@dataclass
class Outcome:
    fault: str
    store: str
    write_recovery: float | None
    read_recovery: float | None
    acknowledged: int
    exactly_once: int
    lost: int
    duplicated: int
    half_applied: int
    unacknowledged: int
    replays_equal: int
    unexpected: list[tuple[str, int, bytes]]
    problems: list[str]
    log: str | None = None
    """Where the served processes' log was kept, when something went wrong."""

    def row(self) -> str:
        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        return (
            f"| {self.fault} | {self.store} | {seconds(self.write_recovery)} | {seconds(self.read_recovery)} | "
            f"{self.acknowledged} | {self.exactly_once} | {self.lost} | {self.duplicated} | "
            f"{self.half_applied} | {self.unacknowledged} |"
        )


TABLE_HEAD = (
    "| fault | store | first write (s) | first read (s) | acknowledged | exactly once | lost | duplicated | "
    "half-applied | unacknowledged |\n|---|---|---|---|---|---|---|---|---|---|"
)


# -- the faults ------------------------------------------------------------------------------


def kill_child(name: str) -> Callable[[Server], float]:
    def fault(server: Server) -> float:
        pid = server.children()[name]
        os.kill(pid, signal.SIGKILL)
        return time.monotonic()

    return fault


def restart_postgres(server: Server) -> float:
    subprocess.run([os.environ["POSTGRES_TEST_CONTROL"], "restart"], check=True, timeout=120)
    return time.monotonic()  # the server accepts connections again


def kill_service(server: Server) -> float:
    server.process.kill()
    server.process.wait(timeout=30)
    time.sleep(0.5)  # the children go with it (their parent-death signal)
    server.start(wait=False)
    return time.monotonic()


FAULTS: dict[str, Callable[[Server], float]] = {
    "SIGKILL a gunicorn worker": kill_child("worker_1"),
    "SIGKILL the views runner": kill_child("views_runner"),
    "SIGKILL the delivery worker": kill_child("delivery_worker"),
    "PostgreSQL restart -m immediate": restart_postgres,
    "SIGKILL the service, start it again": kill_service,
}
POSTGRES_ONLY = {"PostgreSQL restart -m immediate"}


# -- one drill ----------------------------------------------------------------------------------


def drill(directory: Path, store: str, fault: str, before: float = 1.0, after: float = 2.0, writers: int = 4) -> Outcome:
    receivers = {peer: Receiver() for peer in PEERS}
    settings: dict[str, str] = {}
    for peer, receiver in receivers.items():
        settings[f"CONTRACTLEDGER_SYNC_{peer.upper()}_ENDPOINT"] = receiver.url
        settings[f"CONTRACTLEDGER_SYNC_{peer.upper()}_SECRETS"] = SECRET
    server = Server(directory, store=store, settings=settings)
    try:
        world = ContractingWorld(server.ledger, SettableClock(server.ledger.clock.now()))
        admin = world.aga_admin
        load = Load(server, world, server.token(admin), writers)
        load.start()
        time.sleep(before)
        fault_ended = FAULTS[fault](server)
        load.wait_for_recovery(fault_ended, RECOVERY_BOUND_SECONDS)
        time.sleep(after)
        load.stop()
        server.wait_until_up(60)
        server.reopen()  # the test's own connections may have died with the database
        outcome = audit(server, load, fault, store, fault_ended, admin, receivers)
        if outcome.problems or outcome.unexpected:
            outcome.log = keep_log(server.directory / "serve.log", fault, store)
        return outcome
    finally:
        try:
            server.stop()
        finally:
            for receiver in receivers.values():
                receiver.stop()


def audit(
    server: Server, load: Load, fault: str, store: str, fault_ended: float, admin: Actor, receivers: dict[str, Receiver]
) -> Outcome:
    problems: list[str] = []
    caused = events_by_cause(server)
    acknowledged = [a for a in load.attempts if a.acknowledged is not None]
    unacknowledged = [a for a in load.attempts if a.acknowledged is None]
    counts = Counter()
    for attempt in load.attempts:
        recorded = len(caused.get(command_id(admin, attempt.key), []))
        expected = EVENTS_PER_COMMAND[attempt.kind]
        if attempt.acknowledged is not None:
            counts["exactly_once" if recorded == expected else "lost" if recorded == 0 else "other"] += 1
        if recorded > expected:
            counts["duplicated"] += 1
        if 0 < recorded < expected:
            counts["half_applied"] += 1
    # a retry with the same key replays the first answer
    replays_equal = 0
    for attempt in acknowledged:
        again = server.request("POST", attempt.path, load.token, attempt.body, headers={"Idempotency-Key": attempt.key})
        if (again.status, again.body) == attempt.acknowledged and again.headers.get("Idempotent-Replayed") == "true":
            replays_equal += 1
        else:
            problems.append(f"replay of {attempt.key}: {again.status} {again.body[:200]!r} != {attempt.acknowledged!r}")
    head = server.position()
    # the views equal a full rebuild, and the chain is intact with the right count
    rebuilt = run_script(server, "rebuild-views", "--verify")
    if rebuilt.returncode != 0 or "DIFFERENT" in rebuilt.stdout:
        problems.append(f"rebuild-views --verify: {rebuilt.returncode} {rebuilt.stdout[-1000:]} {rebuilt.stderr[-1000:]}")
    verified = run_script(server, "verify-ledger")
    if verified.returncode != 0 or f"intact: {head} events" not in verified.stdout:
        problems.append(f"verify-ledger: {verified.returncode} {verified.stdout} {verified.stderr[-500:]}")
    # every item of each peer's feed reached its endpoint (at least once)
    for peer, receiver in receivers.items():
        wanted = {json.loads(item)["id"] for _, item in feed.read_raw(server.views, peer, 0, 10_000_000)}
        deadline = time.monotonic() + 60
        while not wanted <= set(receiver.ids()) and time.monotonic() < deadline:
            time.sleep(0.2)
        missing = wanted - set(receiver.ids())
        if missing:
            problems.append(f"{peer}: {len(missing)} of {len(wanted)} feed items never reached its endpoint")
    writes_after = [t for t, ok in load.timeline.writes if ok and t >= fault_ended]
    reads_after = [t for t, ok, written in load.timeline.reads if ok and written >= fault_ended]
    return Outcome(
        fault=fault,
        store=store,
        write_recovery=(min(writes_after) - fault_ended) if writes_after else None,
        read_recovery=(min(reads_after) - fault_ended) if reads_after else None,
        acknowledged=len(acknowledged),
        exactly_once=counts["exactly_once"],
        lost=counts["lost"],
        duplicated=counts["duplicated"],
        half_applied=counts["half_applied"],
        unacknowledged=len(unacknowledged),
        replays_equal=replays_equal,
        unexpected=load.unexpected,
        problems=problems,
    )


def keep_log(log: Path, fault: str, store: str) -> str:
    """The served processes' log, but the request lines, kept where a failing run can be read afterwards."""
    folder = Path(os.environ.get("CONTRACTLEDGER_DRILL_LOGS", "/tmp/contractledger-fault-drill"))
    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / f"{store}-{''.join(c if c.isalnum() else '-' for c in fault.lower())}.log"
    with open(log, errors="replace") as source, open(kept, "w") as target:
        target.writelines(line for line in source if not line.startswith('{"request_id"'))
    return str(kept)


def events_by_cause(server: Server) -> dict[str, list[Any]]:
    """Every event in the store, by the command id that caused it."""
    found: dict[str, list[Any]] = {}
    recorder, mapper = server.ledger.recorder, server.ledger.mapper
    after = 0
    while True:
        page = recorder.select_notifications(start=after, limit=1000, inclusive_of_start=False)
        if not page:
            return found
        for notification in page:
            event = mapper.to_domain_event(notification)
            found.setdefault(getattr(event, "causation_id", None) or "", []).append(event)
        after = page[-1].id


def run_script(server: Server, name: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / name), *arguments], env=server.env, cwd=server.directory,
        capture_output=True, text=True, timeout=300,
    )


def main(argv: list[str] | None = None) -> int:
    import argparse
    import platform
    import tempfile

    parser = argparse.ArgumentParser(prog="scripts/fault-drill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=float, default=4.0, help="seconds of load before the fault (default 4)")
    parser.add_argument("--after", type=float, default=8.0, help="seconds of load after it (default 8)")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers (default 4)")
    parser.add_argument("--store", choices=("sqlite", "postgres"), action="append", help="default: both")
    parser.add_argument("--fault", action="append", help="only faults whose name contains this (repeatable)")
    args = parser.parse_args(argv)
    stores = args.store or ["sqlite", "postgres"]
    faults = [f for f in FAULTS if not args.fault or any(part.lower() in f.lower() for part in args.fault)]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average {os.getloadavg()}")
    print(f"load: {args.writers} writers, {args.before:g} s before the fault and {args.after:g} s after it\n")
    print(TABLE_HEAD)
    failed = False
    for store in stores:
        for fault in faults:
            if fault in POSTGRES_ONLY and store != "postgres":
                continue
            with tempfile.TemporaryDirectory() as directory:
                outcome = drill(Path(directory), store, fault, args.before, args.after, args.writers)
            print(outcome.row(), flush=True)
            noted = [*(f"unexpected answer: {u}" for u in outcome.unexpected[:5]), *outcome.problems[:5]]
            if outcome.log:
                noted.append(f"the served processes' log: {outcome.log}")
            for line in noted:
                print(f"    {line}")
            failed = failed or bool(outcome.problems or outcome.unexpected or outcome.lost or outcome.duplicated)
    print(f"\nload average after: {os.getloadavg()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
