"""Sync lag benchmark (``scripts/bench-sync``): from a change's commit in the
ledger to each peer's endpoint receiving its item, on PostgreSQL.

    python -m contractledger.sync.bench_sync [--changes 1000] [--contracts 50] [--pause-ms 0]

Needs ``POSTGRES_*`` (``scripts/bench-sync`` starts a throwaway server when
they are not set). In a fresh schema it starts the views runner and the
delivery worker as their own processes (as the serve command does), two
receiving endpoints on loopback (one per peer, in this process), then makes
the changes one at a time through ContractLedger (a writing number added,
by turns to each contract). For every change and every peer it measures
from the moment the save returned (the commit) to the moment that peer's
endpoint received the item (its ``webhook-id`` names the change), and prints
p50, p99 and the worst, per peer and together, against the 100 ms target.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

from contractledger.domain.actor import Actor, Role
from contractledger.domain.ledger import ContractLedger
from contractledger.sync.cloudevents import item_id
from contractledger.sync.signing import verify

PEERS = ("contracting", "manage")
SECRET = "whsec_" + base64.b64encode(b"bench-sync signing key").decode()
TARGET_P99_MS = 100.0


class Endpoint:
    """A peer's endpoint: notes when each item arrived (and that its signature holds)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.bad_signatures = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                at = time.time()
                delivery_id = self.headers["webhook-id"]
                if not verify(SECRET, delivery_id, int(self.headers["webhook-timestamp"]), body, self.headers["webhook-signature"]):
                    endpoint.bad_signatures += 1
                endpoint.arrived.setdefault(delivery_id, at)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/contractledger"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(changes: int, contracts: int, pause: float) -> dict[str, Any]:
    from contractledger.projections.benchmark import pg_admin, postgres_env

    schema = f"bench_sync_{os.getpid()}_{int(time.time())}"
    pg_admin(f"CREATE SCHEMA {schema}")
    env = postgres_env(schema)
    endpoints = {peer: Endpoint() for peer in PEERS}
    for peer, endpoint in endpoints.items():
        env[f"CONTRACTLEDGER_SYNC_{peer.upper()}_ENDPOINT"] = endpoint.url
        env[f"CONTRACTLEDGER_SYNC_{peer.upper()}_SECRETS"] = SECRET
    ledger = ContractLedger(env)
    system = Actor.system()
    carrier = ledger.register_party(system, "carrier", {"name": "Northern Life"})
    staff = Actor(Role.CARRIER_STAFF, "bench", carrier)
    contract_ids: list[UUID] = []
    for number in range(contracts):
        advisor = ledger.register_party(system, "advisor", {"name": f"Advisor {number}"}, advisor_kind="individual")
        contract_ids += ledger.assign_contracts(staff, [[carrier, advisor]], "producer")["contract_ids"]
    children = [
        subprocess.Popen([sys.executable, "-m", "contractledger.projections.service"], env={**os.environ, **env},
                         stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "contractledger.sync.delivery", "run"], env={**os.environ, **env},
                         stderr=subprocess.DEVNULL),
    ]
    try:
        warm_up = [item_id(peer, c, 1) for peer in PEERS for c in contract_ids]
        _wait(lambda: all(i in endpoints[p].arrived for p, i in zip([p for p in PEERS for _ in contract_ids], warm_up)), 120)
        committed: list[tuple[str, str, float]] = []
        for number in range(changes):
            contract_id = contract_ids[number % len(contract_ids)]
            version = ledger.add_writing_number(staff, contract_id, f"WN-{number}")
            at = time.time()
            committed += [(peer, item_id(peer, contract_id, version), at) for peer in PEERS]
            if pause:
                time.sleep(pause)
        _wait(lambda: all(i in endpoints[p].arrived for p, i, _ in committed), 120)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)
        ledger.close()
        pg_admin(f"DROP SCHEMA {schema} CASCADE")
    lags: dict[str, list[float]] = {peer: [] for peer in PEERS}
    for peer, delivery_id, at in committed:
        lags[peer].append((endpoints[peer].arrived[delivery_id] - at) * 1000)
    every = [lag for values in lags.values() for lag in values]
    summary = {
        peer: {"p50_ms": statistics.median(v), "p99_ms": percentile(v, 0.99), "max_ms": max(v)} for peer, v in lags.items()
    }
    summary["both"] = {"p50_ms": statistics.median(every), "p99_ms": percentile(every, 0.99), "max_ms": max(every)}
    return {
        "changes": changes,
        "contracts": contracts,
        "deliveries": len(every),
        "bad_signatures": sum(e.bad_signatures for e in endpoints.values()),
        "lag": summary,
        "target_p99_ms": TARGET_P99_MS,
        "met": summary["both"]["p99_ms"] < TARGET_P99_MS,
    }


def _wait(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the items did not all arrive within {seconds:.0f} s")
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--contracts", type=int, default=50)
    parser.add_argument("--pause-ms", type=float, default=0.0, help="a pause between changes (0: back to back)")
    arguments = parser.parse_args(argv)
    if not os.environ.get("POSTGRES_HOST"):
        print("bench-sync: needs POSTGRES_* (run it through scripts/bench-sync)", file=sys.stderr)
        return 2
    result = run(arguments.changes, arguments.contracts, arguments.pause_ms / 1000)
    for name, figures in result["lag"].items():
        print(f"{name:12} p50 {figures['p50_ms']:7.1f} ms   p99 {figures['p99_ms']:7.1f} ms   max {figures['max_ms']:7.1f} ms")
    print(json.dumps(result))
    return 0 if result["met"] and not result["bad_signatures"] else 1


if __name__ == "__main__":
    sys.exit(main())
