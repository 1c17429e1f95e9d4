"""What is written over HTTP is the one log every other part reads: the
views, both peers' feeds, verify-ledger and export-history (and the same
export over the API) see exactly the events the served commands recorded,
on SQLite and on PostgreSQL (where a differently named application once
wrote to a table nothing read)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from served import Server  # noqa: E402
from test_contract_life_over_http import People  # noqa: E402

ROOT = Path(__file__).parents[2]


def script(server: Server, name: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / name), *arguments], env=server.env, cwd=server.directory,
        capture_output=True, text=True, timeout=120,
    )


def feed(people: People, peer: str, token: str) -> list[dict[str, Any]]:
    answer = people.server.request("GET", f"/sync/{peer}/feed?after=0&limit=1000&wait=10", token)
    assert answer.status == 200, answer.body
    return answer.json["items"]


def test_commands_served_over_http_are_what_views_feeds_verify_and_export_see(tmp_path: Path, store: str) -> None:
    server = Server(tmp_path, store=store)
    try:
        p = People(server)
        positions: dict[str, list[int]] = {}

        def step(contract: str, path: str, token: str, body: Any = None) -> None:
            p.call("POST", f"/contracts/{contract}/{path}", token, body)
            positions.setdefault(contract, []).append(int(p.last_position))

        bundle = p.call("POST", "/bundles", p.mga_admin, {"chains": [[p.carrier, p.mga, p.advisor]], "initially_filled_by": "agency_admin"})
        (contract,) = bundle["contract_ids"]
        positions[contract] = [int(p.last_position)]
        step(contract, "send-to-producer", p.mga_admin)
        step(contract, "submit-by-producer", p.producer)
        step(contract, "submit-to-carrier", p.mga_admin)
        step(contract, "set-manual-status", p.carrier_staff, {"status": "active"})
        step(contract, "add-writing-number", p.carrier_staff, {"writing_number": "WN-77"})
        head = int(p.last_position)

        # the views
        read = p.read(f"/contracts/{contract}", p.auditor)
        assert read["status"] == "active" and "WN-77" in json.dumps(read)
        history = p.read(f"/contracts/{contract}/history?limit=500", p.auditor)["items"]
        assert [e["event"] for e in history if e["subject"] == "contract"][:5] == [
            "Assigned", "SentToProducer", "SubmittedByProducer", "SubmittedToCarrier", "StatusChanged",
        ]

        # both peers' feeds: every change of the contract, at the position its command answered
        for peer in ("manage", "contracting"):
            items = [i for i in feed(p, peer, server.token(_peer(peer))) if i["subject"] == contract]
            assert [i["position"] for i in items] == positions[contract], peer
            assert [i["contractsequence"] for i in items] == list(range(1, len(items) + 1))
            assert items[-1]["data"]["status"] == "active"

        # verify-ledger: the exact count of what the commands recorded (ids are contiguous from 1)
        assert server.position() == head
        verified = script(server, "verify-ledger")
        assert verified.returncode == 0, verified.stderr
        assert f"intact: {head} events" in verified.stdout, verified.stdout

        # export-history: the same events, in order
        exported = script(server, "export-history", "--all", "--format", "jsonl")
        assert exported.returncode == 0, exported.stderr
        lines = [json.loads(line) for line in exported.stdout.splitlines()]
        events = [line for line in lines if "notification_id" in line]
        assert [e["notification_id"] for e in events] == list(range(1, head + 1))
        assert {e["aggregate_id"] for e in events} >= {contract}
        assert json.loads(exported.stdout.splitlines()[-1])["verdict"]["events_exported"] == head

        # the same export over the API, streamed (chunked): the same bytes, the verdict last
        for path in ("/ledger/export?format=jsonl", f"/contracts/{contract}/export?format=csv"):
            served = server.request("GET", path, p.auditor)
            assert served.status == 200 and served.headers["Transfer-Encoding"] == "chunked", served.headers
            scope = ["--all"] if path.startswith("/ledger") else ["--contract", contract, "--format", "csv"]
            written = tmp_path / "export"
            assert script(server, "export-history", *scope, "--output", str(written)).returncode == 0
            assert served.body == written.read_bytes()
    finally:
        assert server.stop() == 0


def _peer(name: str) -> Any:
    from contractledger.domain.actor import Actor, Role

    return Actor(Role.SYNC_PEER, name)
