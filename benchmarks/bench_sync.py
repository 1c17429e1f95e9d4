"""Sync lag benchmark (``scripts/bench-sync``): from a command's answer over
HTTP to each peer's endpoint receiving its item, served as users serve it,
on SQLite and on PostgreSQL.

    python benchmarks/bench_sync.py [--changes 1000] [--contracts 50] [--pause-ms 0] [--store ...]

For each store, in a fresh SQLite file or PostgreSQL schema (PostgreSQL
needs ``POSTGRES_*``; ``scripts/bench-sync`` starts a throwaway server), it
starts the serve command (gunicorn, the views runner, the delivery worker)
with two receiving endpoints on loopback (one per peer, in this process),
then sends the changes one at a time through the served API (a writing
number added, ``POST /contracts/{id}/add-writing-number``, by turns to each
contract). For every change and every peer it measures from the moment
the command's answer arrived (it is committed by then) to the moment that
peer's endpoint received the item (its ``webhook-id`` names the change),
and prints p50, p99 and the worst, per peer and together, against the
100 ms target.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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


def run(store: str, changes: int, contracts: int, pause: float) -> dict[str, Any]:
    from bench_http import STORE_KEYS, _free_port, seed_parties, store_env, wait_until

    directory = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    env = store_env(store, directory)
    endpoints = {peer: Endpoint() for peer in PEERS}
    for peer, endpoint in endpoints.items():
        env[f"CONTRACTLEDGER_SYNC_{peer.upper()}_ENDPOINT"] = endpoint.url
        env[f"CONTRACTLEDGER_SYNC_{peer.upper()}_SECRETS"] = SECRET
    port = _free_port()
    served_env = {k: v for k, v in os.environ.items() if not k.startswith(STORE_KEYS)}
    served_env.update(env, CONTRACTLEDGER_BIND=f"127.0.0.1:{port}")
    token, contract_ids = seed_parties(env, contracts)
    base = f"http://127.0.0.1:{port}"
    served = subprocess.Popen(
        [sys.executable, "-m", "contractledger.runtime.serve"], cwd=directory, env=served_env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    connection = None
    try:
        wait_until(f"{base}/ready", token)
        warm_up = [(peer, item_id(peer, c, 1)) for peer in PEERS for c in contract_ids]
        _wait(lambda: all(i in endpoints[p].arrived for p, i in warm_up), 120)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        committed: list[tuple[str, str, float]] = []
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for number in range(changes):
            contract_id = contract_ids[number % len(contract_ids)]
            body = json.dumps({"writing_number": f"WN-{number}"})
            connection.request("POST", f"/contracts/{contract_id}/add-writing-number", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            at = time.time()
            if response.status != 200:
                raise RuntimeError(f"the command answered {response.status}: {answer[:300]!r}")
            version = json.loads(answer)["version"]
            committed += [(peer, item_id(peer, contract_id, version), at) for peer in PEERS]
            if pause:
                time.sleep(pause)
        _wait(lambda: all(i in endpoints[p].arrived for p, i, _ in committed), 120)
    finally:
        if connection is not None:
            connection.close()
        served.terminate()
        served.wait(timeout=60)
        for endpoint in endpoints.values():
            endpoint.server.shutdown()
        shutil.rmtree(directory, ignore_errors=True)
    lags: dict[str, list[float]] = {peer: [] for peer in PEERS}
    for peer, delivery_id, at in committed:
        lags[peer].append((endpoints[peer].arrived[delivery_id] - at) * 1000)
    every = [lag for values in lags.values() for lag in values]
    summary = {
        peer: {"p50_ms": statistics.median(v), "p99_ms": percentile(v, 0.99), "max_ms": max(v)} for peer, v in lags.items()
    }
    summary["both"] = {"p50_ms": statistics.median(every), "p99_ms": percentile(every, 0.99), "max_ms": max(every)}
    return {
        "store": store,
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
    parser.add_argument("--store", choices=("sqlite", "postgres"), action="append", help="default: both")
    arguments = parser.parse_args(argv)
    stores = arguments.store or ["sqlite", "postgres"]
    if "postgres" in stores and not os.environ.get("POSTGRES_HOST"):
        print("bench-sync: PostgreSQL needs POSTGRES_* (run it through scripts/bench-sync)", file=sys.stderr)
        return 2
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {arguments.changes} changes over HTTP, "
          f"{arguments.contracts} contracts, two peers")
    met = True
    for store in stores:
        result = run(store, arguments.changes, arguments.contracts, arguments.pause_ms / 1000)
        for name, figures in result["lag"].items():
            print(f"{store:9} {name:12} p50 {figures['p50_ms']:7.1f} ms   p99 {figures['p99_ms']:7.1f} ms   "
                  f"max {figures['max_ms']:7.1f} ms")
        print(json.dumps(result))
        met = met and result["met"] and not result["bad_signatures"]
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
