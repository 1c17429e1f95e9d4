"""Sync over a real socket: the serve command's delivery worker pushes a
peer's items to its endpoint, signed, as they are recorded (to manage over
https, its certificate from a test authority named in its CA bundle
setting; to contracting over plain http on loopback), each verified by the
Standard Webhooks library and read by the CloudEvents SDK; an inbound change
from one peer reaches the other (marked with its origin) and not itself; and
scripts/reconcile finds no drift for a peer that kept up."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))

from served import Server  # noqa: E402
from test_sync_delivery import Receiver  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.sync import reconciliations  # noqa: E402
from contractledger.sync.signing import verify  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"manage's webhook key").decode()
ROOT = Path(__file__).parents[2]


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def receivers(authority: trustme.CA) -> Iterator[dict[str, Receiver]]:
    made = {"manage": Receiver(keys=[SECRET], authority=authority), "contracting": Receiver(keys=[SECRET])}
    yield made
    for receiver in made.values():
        receiver.stop()
    assert [receiver.faults for receiver in made.values()] == [[], []]


@pytest.fixture
def server(
    tmp_path: Path, receivers: dict[str, Receiver], authority: trustme.CA, monkeypatch: pytest.MonkeyPatch, store: str
) -> Iterator[Server]:
    authority.cert_pem.write_to_path(str(tmp_path / "manage-ca.pem"))
    monkeypatch.setenv("CONTRACTLEDGER_SYNC_MANAGE_CA_BUNDLE", str(tmp_path / "manage-ca.pem"))
    for name, receiver in receivers.items():
        monkeypatch.setenv(f"CONTRACTLEDGER_SYNC_{name.upper()}_ENDPOINT", receiver.url)
        monkeypatch.setenv(f"CONTRACTLEDGER_SYNC_{name.upper()}_SECRETS", SECRET)
    started = Server(tmp_path, store=store)
    yield started
    assert started.stop() == 0


def wait_for(condition, seconds: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_items_are_pushed_signed_and_a_peer_s_change_reaches_only_the_other(
    server: Server, receivers: dict[str, Receiver], tmp_path: Path
) -> None:
    ledger = server.ledger
    system = Actor.system()
    carrier = ledger.register_party(system, "carrier", {"name": "Northern Life"})
    advisor = ledger.register_party(system, "advisor", {"name": "Ada"}, advisor_kind="individual")
    staff = Actor(Role.CARRIER_STAFF, "carol", carrier)
    contract_id = ledger.assign_contracts(staff, [[carrier, advisor]], "producer")["contract_ids"][0]
    manage = server.token(Actor(Role.SYNC_PEER, "manage"))

    def assigned(peer: str) -> list[dict]:
        return [json.loads(r["body"]) for r in receivers[peer].received if json.loads(r["body"])["subject"] == str(contract_id)]

    wait_for(lambda: assigned("manage") and assigned("contracting"))
    assert receivers["manage"].url.startswith("https://") and receivers["contracting"].url.startswith("http://")
    request = receivers["manage"].received[-1]
    assert request["verified_by"] == [SECRET] and request["event"].get_subject() == str(contract_id)
    headers = request["headers"]
    assert verify(SECRET, headers["webhook-id"], int(headers["webhook-timestamp"]), request["body"], headers["webhook-signature"])
    version = ledger.get_contract(contract_id).version
    answer = server.request(
        "POST", "/sync/manage/changes", manage,
        {"change_id": "m-1", "contract_id": str(contract_id), "seen_version": version,
         "change": {"kind": "status", "status": "Pending Backgrounds"}},
    )
    assert answer.status == 200, answer.body
    wait_for(lambda: len(assigned("contracting")) == 2)
    heard = assigned("contracting")[-1]
    assert heard["origin"] == "manage" and heard["data"]["peer_status"] == "Pending Backgrounds"
    time.sleep(0.5)
    assert [i["origin"] for i in assigned("manage")] == ["ledger"]  # no echo
    assert ledger.get_contract(contract_id).status is Status.PENDING_BACKGROUNDS
    export = tmp_path / "manage.jsonl"
    export.write_text(json.dumps({"contract_id": str(contract_id), "status": "Pending Backgrounds", "writing_numbers": []}) + "\n")
    env = server.env
    ran = subprocess.run([str(ROOT / "scripts" / "reconcile"), "manage", str(export)], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr + ran.stdout
    assert json.loads(ran.stdout)["discrepancies"] == []
    export.write_text(json.dumps({"contract_id": str(contract_id), "status": "Approved"}) + "\n")
    ran = subprocess.run([str(ROOT / "scripts" / "reconcile"), "manage", str(export)], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 1 and json.loads(ran.stdout)["discrepancies"][0]["kind"] == "status_differs"
    kept = reconciliations.last(server.views, "manage")  # for the operator's sync page
    assert kept is not None and (kept.compared, [d["kind"] for d in kept.discrepancies]) == (1, ["status_differs"])
