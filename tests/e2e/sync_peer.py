"""A simulated sync peer, run as its own process by the convergence test.

    python sync_peer.py SETTINGS_JSON

It serves a webhook endpoint on loopback and keeps its own state of each
contract (its status name, writing numbers, the ledger version it is as of),
taking a pushed item only when it is newer than what it holds. It misbehaves
on purpose: it drops some deliveries (answers 500), takes some twice,
answers 503 for a while as if down. Meanwhile it sends random changes
through the inbound API, repeats some change ids (the answer must be the same),
and reconciles its state from a stale refusal's current state. When told to
stop (a file appears) it finishes the load and says so (another file), takes
pushes until told the ledger has delivered everything, and writes what it
holds and what it saw to the result file.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from contractledger.sync.signing import verify

MANUAL_NAMES = {
    "manage": ["Pending Backgrounds", "Pending New Business", "Awaiting Incoming Release", "Approved"],
    "contracting": ["Pending Backgrounds", "Pending New Business", "Awaiting Outgoing Release", "Approved"],
}


class Peer:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.name = settings["peer"]
        self.settings = settings
        self.random = random.Random(settings["seed"])
        self.lock = threading.Lock()
        self.contracts: dict[str, dict[str, Any]] = {}
        self.seen_deliveries: set[str] = set()
        self.echoes = 0
        self.bad_signatures = 0
        self.deliveries = 0
        self.applied: list[str] = []
        self.down_until = 0.0

    # -- the endpoint ------------------------------------------------------------

    def receive(self, headers: Any, body: bytes) -> int:
        now = time.monotonic()
        if now < self.down_until:
            return 503
        roll = self.random.random()
        if roll < 0.02:
            self.down_until = now + 1.0  # down for a while
            return 503
        if roll < 0.12:
            return 500  # dropped: the ledger must retry
        if not verify(self.settings["secret"], headers["webhook-id"], int(headers["webhook-timestamp"]), body, headers["webhook-signature"]):
            self.bad_signatures += 1
            return 401
        item = json.loads(body)
        times = 2 if roll < 0.2 else 1  # taken twice: must change nothing the second time
        for _ in range(times):
            self.take(headers["webhook-id"], item)
        return 204

    def take(self, delivery_id: str, item: dict[str, Any]) -> None:
        with self.lock:
            self.deliveries += 1
            if item["origin"] == self.name:
                self.echoes += 1
            self.seen_deliveries.add(delivery_id)
            data = item["data"]
            self.hold(item["subject"], item["ledgerversion"], data["peer_status"], data["writing_numbers"])

    def hold(self, contract_id: str, version: int, status: str, writing_numbers: list[str]) -> None:
        held = self.contracts.get(contract_id)
        if held is None or version > held["version"]:
            self.contracts[contract_id] = {"version": version, "status": status, "writing_numbers": list(writing_numbers)}

    # -- the load ------------------------------------------------------------------

    def post(self, body: dict[str, Any]) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.settings["ledger"] + f"/sync/{self.name}/changes",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.settings['token']}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def change_once(self, number: int) -> None:
        with self.lock:
            if not self.contracts:
                return
            contract_id = self.random.choice(sorted(self.contracts))
            seen = self.contracts[contract_id]["version"]
        if self.random.random() < 0.5:
            change = {"kind": "writing_number_added", "writing_number": f"{self.name}-{number}"}
        else:
            change = {"kind": "status", "status": self.random.choice(MANUAL_NAMES[self.name])}
        body = {"change_id": f"{self.name}-{number}", "contract_id": contract_id, "seen_version": seen, "change": change}
        status, answer = self.post(body)
        undecided = status == 409 and b"contract.concurrent_change" in answer  # a collision decides nothing: retry
        if self.random.random() < 0.2 and not undecided:
            again = self.post(body)
            if again != (status, answer):
                raise AssertionError(f"a repeated change id was answered differently: {(status, answer)} then {again}")
        document = json.loads(answer)
        with self.lock:
            if status == 200:
                self.applied.append(body["change_id"])
                state = document["contract"]
                self.hold(contract_id, state["version"], state["peer_status"], state["writing_numbers"])
            elif status == 409 and "current" in document:
                state = document["current"]
                self.hold(contract_id, state["version"], state["peer_status"], state["writing_numbers"])

    def run(self) -> None:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = peer.receive(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.settings["port"]), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        Path(self.settings["ready_file"]).write_text("ready")
        stop_file = Path(self.settings["stop_file"])
        number = 0
        while not stop_file.exists():
            number += 1
            self.change_once(number)
            time.sleep(self.random.uniform(0, 0.02))
        # the load stopped: keep taking pushes until the test has seen the
        # ledger's outbox drain, and says so
        Path(self.settings["stopped_file"]).write_text("stopped")
        done_file = Path(self.settings["done_file"])
        while not done_file.exists():
            time.sleep(0.05)
        server.shutdown()
        with self.lock:
            result = {
                "contracts": self.contracts,
                "applied": self.applied,
                "echoes": self.echoes,
                "bad_signatures": self.bad_signatures,
                "deliveries": self.deliveries,
            }
        Path(self.settings["result_file"]).write_text(json.dumps(result))


if __name__ == "__main__":
    Peer(json.loads(Path(sys.argv[1]).read_text())).run()
