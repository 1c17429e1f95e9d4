"""Convergence: two simulated peers, each its own process with its own state
and a real webhook endpoint, make random concurrent changes through the
inbound API while taking pushed items (with dropped, duplicated and refused
deliveries and a peer down for a while) and the ledger's own users change
contracts too. After the load stops and the pushes drain, reconcile reports
no discrepancy for either peer, no change was applied twice, and no peer was
ever sent its own change back."""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from served import Server, free_port  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.projections.engine.waiting import wait_until_applied  # noqa: E402
from contractledger.sync import delivery_state as state  # noqa: E402
from contractledger.sync import feed  # noqa: E402

PEERS = ("contracting", "manage")
SECRET = "whsec_" + base64.b64encode(b"convergence key").decode()
LOAD_SECONDS = 8.0


@pytest.fixture
def ports() -> dict[str, int]:
    return {peer: free_port() for peer in PEERS}


@pytest.fixture
def server(tmp_path: Path, ports: dict[str, int], monkeypatch: pytest.MonkeyPatch, store: str) -> Iterator[Server]:
    for peer, port in ports.items():
        monkeypatch.setenv(f"CONTRACTLEDGER_SYNC_{peer.upper()}_ENDPOINT", f"http://127.0.0.1:{port}/hook")
        monkeypatch.setenv(f"CONTRACTLEDGER_SYNC_{peer.upper()}_SECRETS", SECRET)
    started = Server(tmp_path, store=store)
    yield started
    assert started.stop() == 0, started.log_tail(40)


def wait_for(condition, seconds: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_two_peers_and_the_ledger_converge_with_no_double_apply_and_no_echo(
    server: Server, ports: dict[str, int], tmp_path: Path
) -> None:
    ledger = server.ledger
    system = Actor.system()
    carrier = ledger.register_party(system, "carrier", {"name": "Northern Life"})
    staff = Actor(Role.CARRIER_STAFF, "carol", carrier)
    contracts = []
    for number in range(12):
        advisor = ledger.register_party(system, "advisor", {"name": f"Advisor {number}"}, advisor_kind="individual")
        contracts += ledger.assign_contracts(staff, [[carrier, advisor]], "producer")["contract_ids"]
    stop_file = tmp_path / "stop"
    processes = {}
    for seed, peer in enumerate(PEERS):
        settings = {
            "peer": peer, "port": ports[peer], "seed": seed, "secret": SECRET,
            "ledger": f"http://127.0.0.1:{server.port}", "token": server.token(Actor(Role.SYNC_PEER, peer)),
            "ready_file": str(tmp_path / f"{peer}.ready"), "stop_file": str(stop_file),
            "result_file": str(tmp_path / f"{peer}.result.json"),
            "stopped_file": str(tmp_path / f"{peer}.stopped"), "done_file": str(tmp_path / "done"),
        }
        (tmp_path / f"{peer}.json").write_text(json.dumps(settings))
        processes[peer] = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "sync_peer.py"), str(tmp_path / f"{peer}.json")],
            stderr=subprocess.PIPE,
        )
    for peer in PEERS:
        deadline = time.monotonic() + 30
        while not (tmp_path / f"{peer}.ready").exists():
            assert processes[peer].poll() is None, processes[peer].stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    # the ledger's own users change contracts too, while the peers do
    rng = random.Random(7)
    ends = time.monotonic() + LOAD_SECONDS
    number = 0
    while time.monotonic() < ends:
        number += 1
        try:
            ledger.add_writing_number(staff, rng.choice(contracts), f"ledger-{number}")
        except Exception as refused:  # a terminal contract refuses: the rules hold for users too
            assert getattr(refused, "code", "").startswith("contract."), refused
        time.sleep(0.05)
    stop_file.write_text("stop")
    for peer in PEERS:
        wait_for(lambda: (tmp_path / f"{peer}.stopped").exists() or processes[peer].poll() is not None)
    # drained: the views have applied the whole ledger, every feed item was
    # taken by the delivery worker, and nothing waits in its outbox for a retry
    views = server.views
    head = server.position()
    assert wait_until_applied(views, head, [f"sync_feed_{peer}" for peer in PEERS], 60)
    for peer in PEERS:
        last = feed.read_raw(views, peer, 0, 1_000_000)[-1][0]
        wait_for(lambda: state.standing(views, peer)[0] >= last and not state.standing(views, peer)[2], 120)
    (tmp_path / "done").write_text("done")
    results = {}
    for peer, process in processes.items():
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors.decode()[-3000:]
        results[peer] = json.loads((tmp_path / f"{peer}.result.json").read_text())

    for peer, result in results.items():
        assert result["echoes"] == 0 and result["bad_signatures"] == 0
        assert len(result["applied"]) > 10 and result["deliveries"] > 50
        token = server.token(Actor(Role.SYNC_PEER, peer))
        view = {
            "contracts": [
                {"contract_id": c, "status": held["status"], "writing_numbers": held["writing_numbers"]}
                for c, held in result["contracts"].items()
            ],
            "complete": True,
        }
        answer = server.request("POST", f"/sync/{peer}/reconcile", token, view)
        assert answer.status == 200, answer.body
        assert answer.json["discrepancies"] == [], (peer, answer.json["discrepancies"][:5], {d["contract_id"]: result["contracts"].get(d["contract_id"]) for d in answer.json["discrepancies"]})
        assert set(result["contracts"]) == {str(c) for c in contracts}

    # every applied change id is one event in the ledger: none applied twice, none lost
    for peer, result in results.items():
        recorded = [
            event for contract_id in contracts for event in ledger.history(contract_id)
            if event["actor"]["role"] == "sync_peer" and event["actor"]["user"] == peer
        ]
        assert len(recorded) == len(result["applied"]) == len(set(result["applied"]))
