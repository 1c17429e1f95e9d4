"""A whole contract's life over HTTP against the real server, as the agency
admin, the carrier staff, the producer, an auditor and a party not on the
contract, checking what each one sees."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from served import Server  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402

LETTER = {"name": "letter.pdf", "media_type": "application/pdf", "sha256": "9f86d08188" + "0" * 54, "location": "s3://docs/letter.pdf"}


class People:
    """The parties, registered over HTTP as rules §1 says (an operator registers the
    carrier and the agencies, each agency admin the advisor it recruits), and a
    token for each user."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.last_position = "0"
        self.peer = server.token(Actor(Role.SYNC_PEER, "manage"))
        self.operator = server.token(Actor(Role.OPERATOR, "olive"))
        self.carrier = self.register(self.operator, "carrier", "Northern Life")
        self.mga = self.register(self.operator, "agency", "Summit MGA", level="MGA")
        self.other_mga = self.register(self.operator, "agency", "Ridge MGA", level="MGA")
        self.mga_admin = server.token(Actor(Role.AGENCY_ADMIN, "mike", UUID(self.mga)))
        self.other_mga_admin = server.token(Actor(Role.AGENCY_ADMIN, "rita", UUID(self.other_mga)))
        self.carrier_staff = server.token(Actor(Role.CARRIER_STAFF, "carol", UUID(self.carrier)))
        self.advisor = self.register(self.mga_admin, "advisor", "Ada Lovelace", advisor_kind="individual")
        self.stranger = self.register(self.other_mga_admin, "advisor", "Grace Hopper", advisor_kind="individual")
        for lower in (self.mga, self.other_mga):
            relationship = self.call("POST", "/direct-relationships", self.peer, {"upper_id": self.carrier, "lower_id": lower})
            self.call("POST", f"/contracts/{relationship['contract_id']}/set-manual-status", self.peer, {"status": "active"})
        self.producer = server.token(Actor(Role.PRODUCER, "ada", UUID(self.advisor)))
        self.stranger_producer = server.token(Actor(Role.PRODUCER, "grace", UUID(self.stranger)))
        self.auditor = server.token(Actor(Role.AUDITOR, "audrey"))

    def register(self, token: str, kind: str, name: str, **options: str) -> str:
        body = {"kind": kind, "profile": {"name": name, "identifiers": {"npn": name[:3]}}, **options}
        return self.call("POST", "/parties", token, body)["party_id"]

    def call(self, method: str, path: str, token: str, body: Any = None, expect: int | None = None) -> Any:
        answer = self.server.request(method, path, token, body if body is not None else ({} if method == "POST" else None))
        assert answer.status == (expect or (201 if answer.status == 201 else 200)), (path, answer.status, answer.body)
        self.last_position = answer.headers.get("Ledger-Position", self.last_position)
        return answer.json

    def read(self, path: str, token: str, expect: int = 200) -> Any:
        separator = "&" if "?" in path else "?"
        answer = self.server.request("GET", f"{path}{separator}wait_for={self.last_position}", token)
        assert answer.status == expect, (path, answer.status, answer.body)
        return answer.json


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[People]:
    server = Server(tmp_path_factory.mktemp("served"), store=store)
    try:
        yield People(server)
    finally:
        assert server.stop() == 0


def status_of(people: People, contract_id: str, token: str) -> str:
    return people.read(f"/contracts/{contract_id}", token)["status"]


def test_a_contract_from_assignment_to_reactivation_as_every_principal_sees_it(people: People) -> None:
    p = people
    # assign a bundle, onboard, approve
    assigned = p.call("POST", "/bundles", p.mga_admin, {"chains": [[p.carrier, p.mga, p.advisor]], "initially_filled_by": "agency_admin"})
    (contract,) = assigned["contract_ids"]
    assert status_of(p, contract, p.mga_admin) == "pending_agency"
    p.call("POST", f"/contracts/{contract}/send-to-producer", p.mga_admin)
    p.call("POST", f"/contracts/{contract}/submit-by-producer", p.producer)
    p.call("POST", f"/contracts/{contract}/submit-to-carrier", p.mga_admin)
    assert status_of(p, contract, p.carrier_staff) == "pending_carrier"
    p.call("POST", f"/contracts/{contract}/set-manual-status", p.carrier_staff, {"status": "active"})
    assert status_of(p, contract, p.producer) == "active"

    # monitor (private level 1 by the carrier, public level 3 by the MGA) and log debt (the MGA's own)
    today = p.read(f"/contracts/{contract}", p.auditor)["on"]
    private = p.call("POST", f"/contracts/{contract}/monitoring", p.carrier_staff,
                     {"level": 1, "reason": "New to Industry", "effective_on": today, "reminder_on": today})
    public = p.call("POST", f"/contracts/{contract}/monitoring", p.mga_admin,
                    {"level": 3, "reason": "Sales", "effective_on": today, "reminder_on": today})
    debt = p.call("POST", f"/contracts/{contract}/debts", p.mga_admin,
                  {"amount": "250.00", "effective_on": today, "reminder_on": today})
    seen_by = {
        name: {m["record_id"] for m in p.read(f"/monitoring?contract_id={contract}", token)["items"]}
        for name, token in (("carrier", p.carrier_staff), ("mga", p.mga_admin), ("auditor", p.auditor))
    }
    assert seen_by["carrier"] == {private["record_id"], public["record_id"]}
    assert seen_by["mga"] == {public["record_id"]}
    assert seen_by["auditor"] == {private["record_id"], public["record_id"]}
    assert [d["record_id"] for d in p.read(f"/debts?contract_id={contract}", p.mga_admin)["items"]] == [debt["record_id"]]
    assert p.read(f"/debts?contract_id={contract}", p.carrier_staff)["items"] == []
    p.read(f"/debts/{debt['record_id']}", p.carrier_staff, expect=404)

    # transfer from the MGA to the other MGA; the new contract's approval ends the original as Transferred
    p.call("POST", f"/contracts/{contract}/request-transfer", p.producer,
           {"relinquishing_entity_id": p.mga, "accepting_entity_id": p.other_mga})
    assert status_of(p, contract, p.mga_admin) == "transfer_requested"
    accepted = p.call("POST", f"/contracts/{contract}/accept-transfer", p.other_mga_admin,
                      {"option": "third_party", "third_party_id": p.carrier})
    successor = accepted["successor_id"]
    p.call("POST", f"/contracts/{successor}/send-to-producer", p.other_mga_admin)
    p.call("POST", f"/contracts/{successor}/submit-by-producer", p.producer)
    p.call("POST", f"/contracts/{successor}/submit-to-carrier", p.other_mga_admin)
    p.call("POST", f"/contracts/{successor}/set-manual-status", p.carrier_staff, {"status": "active"})
    original = p.read(f"/contracts/{contract}", p.carrier_staff)
    assert original["status"] == "terminated" and original["status_reason"] == "Transferred"
    p.read(f"/contracts/{successor}", p.mga_admin, expect=404)  # the MGA is not on the new chain

    # terminate and reactivate the new contract
    p.call("POST", f"/contracts/{successor}/terminate", p.carrier_staff, {"reason": "Retired", "documents": [LETTER]})
    assert status_of(p, successor, p.other_mga_admin) == "terminated"
    p.call("POST", f"/contracts/{successor}/reactivate", p.other_mga_admin)
    assert status_of(p, successor, p.producer) == "active"

    # the history: everything for the auditor, nothing for a party not on the contract
    history = p.read(f"/contracts/{contract}/history?limit=500", p.auditor)["items"]
    events = [e["event"] for e in history if e["subject"] == "contract"]
    assert events[:5] == ["Assigned", "SentToProducer", "SubmittedByProducer", "SubmittedToCarrier", "StatusChanged"]
    assert {e["record_id"] for e in history if e["subject"] == "monitoring"} == {private["record_id"], public["record_id"]}
    mga_history = p.read(f"/contracts/{contract}/history?limit=500", p.mga_admin)["items"]
    assert private["record_id"] not in {e["record_id"] for e in mga_history}
    for path in (f"/contracts/{contract}", f"/contracts/{contract}/history", f"/contracts/{successor}"):
        p.read(path, p.stranger_producer, expect=404)
    assert contract not in {c["contract_id"] for c in p.read("/contracts", p.stranger_producer)["items"]}
    listed = {c["contract_id"] for c in p.read("/contracts?limit=500", p.auditor)["items"]}
    assert {contract, successor} <= listed
