"""Bundles over HTTP on both stores (rules §4): while a bundle is with the
agency or the producer it moves as one (``bundle.detach_first``), a status
is asked for the whole bundle with ``whole_bundle``, and /mixed-bundles
finds any bundle whose members disagree before pending_carrier."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


def three_contracts(api: Api) -> tuple[str, list[str]]:
    """A bundle of three contracts the MGA assigns, pending with the agency."""
    w = api.world
    chains = [w.chain(), w.chain(aga=w.other_aga), [w.carrier, w.mga, w.advisor]]
    assigned = api.client.simulate_post(
        "/bundles",
        headers=api.as_(w.mga_admin),
        json={"chains": [[str(p) for p in chain] for chain in chains], "initially_filled_by": "agency_admin"},
    )
    assert assigned.status_code == 201, assigned.json
    return assigned.json["bundle_id"], assigned.json["contract_ids"]


def post(api: Api, contract_id: str, action: str, body: dict[str, Any] | None = None) -> Any:
    return api.client.simulate_post(
        f"/contracts/{contract_id}/{action}", headers=api.as_(api.world.mga_admin), json=body or {}
    )


def read(api: Api, path: str, position: int) -> Any:
    answer = api.client.simulate_get(path, headers=api.as_(api.world.auditor), params={"wait_for": str(position)})
    assert answer.status_code == 200, answer.json
    return answer.json


def statuses_of(api: Api, bundle_id: str, position: int) -> dict[str, str]:
    return {m["contract_id"]: m["status"] for m in read(api, f"/bundles/{bundle_id}", position)["members"]}


def test_bundle_detach_first_a_hold_on_one_member_is_refused_and_the_bundle_moves_as_one(api: Api) -> None:
    bundle_id, ids = three_contracts(api)
    before = api.position()
    held = post(api, ids[0], "set-manual-status", {"status": "awaiting_incoming_release"})
    assert held.status_code == 422 and held.json["code"] == "bundle.detach_first", held.json
    assert "detach" in held.json["detail"] and api.position() == before  # nothing recorded
    sent = post(api, ids[1], "send-to-producer")
    assert sent.status_code == 200 and set(sent.json["contract_ids"]) == set(ids)
    assert set(statuses_of(api, bundle_id, int(sent.headers["Ledger-Position"])).values()) == {"pending_producer"}
    # with the producer too, and asked for the whole bundle it moves as one
    assert post(api, ids[2], "set-manual-status", {"status": "declined"}).json["code"] == "bundle.detach_first"
    whole = post(api, ids[0], "set-manual-status", {"status": "awaiting_incoming_release", "whole_bundle": True})
    assert whole.status_code == 200, whole.json
    assert set(whole.json["contract_ids"]) == set(ids)
    assert whole.json["version"] == api.world.ledger.get_contract(UUID(ids[0])).version
    position = int(whole.headers["Ledger-Position"])
    assert set(statuses_of(api, bundle_id, position).values()) == {"awaiting_incoming_release"}
    assert read(api, "/mixed-bundles", position)["items"] == []
    # from the hold on, each carrier decides its own contract
    decided = api.client.simulate_post(
        f"/contracts/{ids[0]}/set-manual-status", headers=api.as_(api.world.carrier_staff), json={"status": "active"}
    )
    assert decided.status_code == 200 and decided.json["contract_ids"] == [ids[0]]


def test_bundle_detach_first_a_detached_member_takes_its_status_alone(api: Api) -> None:
    bundle_id, ids = three_contracts(api)
    assert post(api, ids[0], "detach-from-bundle").status_code == 200
    alone = post(api, ids[0], "set-manual-status", {"status": "withdrawn"})
    assert alone.status_code == 200 and alone.json["contract_ids"] == [ids[0]]
    sent = post(api, ids[1], "send-to-producer")
    assert set(sent.json["contract_ids"]) == {ids[1], ids[2]}
    position = int(sent.headers["Ledger-Position"])
    assert statuses_of(api, bundle_id, position) == {
        ids[0]: "withdrawn", ids[1]: "pending_producer", ids[2]: "pending_producer"
    }
    assert read(api, "/mixed-bundles", position)["items"] == []


def test_bundle_detach_first_a_bundle_split_by_a_hold_shows_in_mixed_bundles_and_is_not_moved(api: Api) -> None:
    w = api.world
    bundle_id, ids = three_contracts(api)
    # held alone, as a ledger written before bundle.detach_first left it
    held = w.ledger.get_contract(UUID(ids[0]))
    held.set_manual_status(Status.AWAITING_INCOMING_RELEASE, None, (), actor=w.mga_admin, effective_on=w.today, at=w.clock.now())
    w.ledger.save(held)
    (mixed,) = read(api, "/mixed-bundles", api.position())["items"]
    assert mixed["bundle_id"] == bundle_id and len(mixed["members"]) == 3
    refused = post(api, ids[1], "send-to-producer")
    assert refused.status_code == 422 and refused.json["code"] == "bundle.detach_first"
    assert ids[0] in refused.json["detail"]
    assert post(api, ids[0], "detach-from-bundle").status_code == 200
    sent = post(api, ids[1], "send-to-producer")
    assert set(sent.json["contract_ids"]) == {ids[1], ids[2]}
    assert read(api, "/mixed-bundles", int(sent.headers["Ledger-Position"]))["items"] == []


def test_bundle_detach_first_the_api_document_says_how_to_ask_for_the_whole_bundle(api: Api) -> None:
    document = api.client.simulate_get("/openapi.json").json
    operation = document["paths"]["/contracts/{contract_id}/set-manual-status"]["post"]
    reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    whole_bundle = document["components"]["schemas"][reference]["properties"]["whole_bundle"]
    assert whole_bundle["type"] == "boolean" and "bundle.detach_first" in whole_bundle["description"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(document["components"]["schemas"][answer]["properties"]) == {"version", "contract_ids"}


@pytest.mark.parametrize("moment", ["after the bundle was read", "after the members were read"])
def test_a_detach_landing_inside_a_bundle_step_ends_in_one_serial_order(
    api: Api, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    """Another process detaches a member while the served step is deciding:
    the step is refused whole (409) and the detached member never moves
    after it left (seen: Assigned, DetachedFromBundle, SentToProducer)."""
    w = api.world
    bundle_id, ids = three_contracts(api)
    served = api.config.ledger
    other = ContractLedger(dict(served.env), clock=api.clock)  # another process's writer on the same store
    name = "_load_bundle" if moment == "after the bundle was read" else "_load_contract"
    loader, landed = getattr(served, name), []

    def load(aggregate_id: UUID) -> Any:
        found = loader(aggregate_id)
        if not landed and (name == "_load_bundle" or aggregate_id == UUID(ids[2])):
            landed.append(other.detach_from_bundle(w.mga_admin, UUID(ids[2])))
        return found

    monkeypatch.setattr(served, name, load)
    try:
        refused = post(api, ids[0], "send-to-producer")
    finally:
        monkeypatch.undo()
        other.close()
    assert landed and refused.status_code == 409 and refused.json["code"] == "contract.concurrent_change", refused.json
    assert [e["event"] for e in w.ledger.history(UUID(ids[2]))] == ["Assigned", "DetachedFromBundle"]
    sent = post(api, ids[0], "send-to-producer")  # tried again: the bundle as it now is
    assert set(sent.json["contract_ids"]) == {ids[0], ids[1]}
    assert statuses_of(api, bundle_id, int(sent.headers["Ledger-Position"])) == {
        ids[0]: "pending_producer", ids[1]: "pending_producer", ids[2]: "pending_agency"
    }
    assert [e["event"] for e in w.ledger.history(UUID(ids[2]))] == ["Assigned", "DetachedFromBundle"]
