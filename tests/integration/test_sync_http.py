"""The sync routes over the WSGI app on a real SQLite ledger with its views
runner: who may use a peer's routes, the pull feed with its cursor and
long-poll, acknowledgements, inbound changes with their refusals, reconcile."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402

MANAGE = Actor(Role.SYNC_PEER, "manage")
CONTRACTING = Actor(Role.SYNC_PEER, "contracting")


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


def feed(api: Api, actor: Actor, peer: str = "manage", **params: Any) -> Any:
    api.caught_up()
    return api.client.simulate_get(f"/sync/{peer}/feed", headers=api.as_(actor), params={k: str(v) for k, v in params.items()})


def change(api: Api, actor: Actor, peer: str, change_id: str, contract_id: Any, seen: int, **what: Any) -> Any:
    body = {"change_id": change_id, "contract_id": str(contract_id), "seen_version": seen, "change": what}
    return api.client.simulate_post(f"/sync/{peer}/changes", headers=api.as_(actor), json=body)


def test_only_the_peer_itself_and_auditors_read_its_feed(api: Api) -> None:
    w = api.world
    w.active_contract()
    assert feed(api, MANAGE).status_code == 200
    assert feed(api, w.auditor).status_code == 200
    assert feed(api, CONTRACTING).json["code"] == "sync.peer_only"
    assert feed(api, w.aga_admin).status_code == 403
    assert feed(api, MANAGE, peer="nobody").json["code"] == "sync.peer.unknown"
    acked = api.client.simulate_post("/sync/manage/ack", headers=api.as_(w.auditor), json={"position": 1})
    assert acked.status_code == 403


def test_the_feed_pages_from_a_cursor_and_an_empty_page_means_caught_up(api: Api) -> None:
    w = api.world
    w.active_contract()
    whole = feed(api, MANAGE, limit=1000).json
    assert len(whole["items"]) >= 5
    first = feed(api, MANAGE, limit=2).json
    assert first["items"] == whole["items"][:2]
    second = feed(api, MANAGE, after=first["next_after"], limit=2).json
    assert second["items"] == whole["items"][2:4]
    end = feed(api, MANAGE, after=whole["next_after"]).json
    assert end["items"] == [] and end["next_after"] == whole["next_after"]


def test_a_caught_up_reader_waiting_gets_the_next_item_as_it_is_recorded(api: Api) -> None:
    w = api.world
    contract_id = w.active_contract()
    head = feed(api, MANAGE).json["next_after"]
    later = threading.Timer(0.5, lambda: api.config.ledger.add_writing_number(w.carrier_staff, contract_id, "WN-9"))
    later.start()
    started = time.monotonic()
    waited = api.client.simulate_get(
        "/sync/manage/feed", headers=api.as_(MANAGE), params={"after": str(head), "wait": "5"}
    ).json
    later.join()
    assert [i["data"]["change"] for i in waited["items"]] == [{"writing_number": "WN-9"}]
    assert 0.4 < time.monotonic() - started < 4.5


def test_an_acknowledgement_is_kept_and_never_moves_back(api: Api) -> None:
    post = lambda p: api.client.simulate_post("/sync/manage/ack", headers=api.as_(MANAGE), json={"position": p})  # noqa: E731
    assert post(7).json == {"acknowledged": 7}
    assert post(3).json == {"acknowledged": 7}
    assert feed(api, MANAGE).json["acknowledged"] == 7


def test_an_inbound_change_applies_once_and_a_repeat_is_answered_the_same(api: Api) -> None:
    w = api.world
    contract_id = w.active_contract()
    version = api.config.ledger.get_contract(contract_id).version
    first = change(api, MANAGE, "manage", "m-1", contract_id, version, kind="writing_number_added", writing_number="WN-1")
    assert first.status_code == 200, first.json
    position = api.position()
    again = change(api, MANAGE, "manage", "m-1", contract_id, version, kind="writing_number_added", writing_number="WN-1")
    assert (again.status_code, again.content) == (200, first.content)
    assert api.position() == position
    heard = [i for i in feed(api, CONTRACTING, peer="contracting", limit=1000).json["items"] if i["origin"] == "manage"]
    assert [(i["causationid"], i["ledgerversion"]) for i in heard] == [("manage:m-1", version + 1)]
    assert not [i for i in feed(api, MANAGE, limit=1000).json["items"] if i["origin"] == "manage"]


def test_a_peer_may_not_post_as_another_peer(api: Api) -> None:
    w = api.world
    contract_id = w.active_contract()
    refused = change(api, CONTRACTING, "manage", "x-1", contract_id, 1, kind="writing_number_added", writing_number="WN-1")
    assert refused.status_code == 403


def test_a_rule_breaking_change_is_a_recorded_refusal_with_the_rule_s_code(api: Api) -> None:
    w = api.world
    contract_id = w.active_contract()
    version = api.config.ledger.get_contract(contract_id).version
    refused = change(api, MANAGE, "manage", "m-2", contract_id, version, kind="status", status="Pending with Agency")
    assert refused.status_code == 422
    assert refused.json["code"] == "contract.status.would_nullify" and refused.json["change_id"] == "m-2"
    again = change(api, MANAGE, "manage", "m-2", contract_id, version, kind="status", status="Pending with Agency")
    assert again.content == refused.content
    history = api.config.ledger.history(contract_id)
    assert api.config.ledger.get_contract(contract_id).status is Status.ACTIVE and len(history) == version


def test_a_stale_conflicting_version_is_409_with_the_current_state(api: Api) -> None:
    w = api.world
    (contract_id,) = w.assign()
    w.onboard(contract_id)
    seen = api.config.ledger.get_contract(contract_id).version
    api.config.ledger.set_manual_status(w.carrier_staff, contract_id, Status.DECLINED)
    stale = change(api, MANAGE, "manage", "m-3", contract_id, seen, kind="status", status="Approved")
    assert stale.status_code == 409
    assert stale.json["code"] == "sync.stale_version"
    assert stale.json["current"]["status"] == "declined" and stale.json["current"]["version"] == seen + 1
    assert stale.json["current"]["peer_status"] == "Declined" and stale.json["current"]["writing_numbers"] == []


def test_reconcile_lists_every_discrepancy(api: Api) -> None:
    w = api.world
    agreed = w.active_contract()
    drifted = w.active_contract(advisor=w.second_advisor)
    api.config.ledger.add_writing_number(w.carrier_staff, drifted, "WN-1")
    linked = api.client.simulate_post(
        "/sync/manage/links", headers=api.as_(MANAGE), json={"contract_id": str(agreed), "external_id": "M-1"}
    )
    assert linked.status_code == 200
    unknown = "00000000-0000-4000-8000-000000000000"
    view = {
        "contracts": [
            {"external_id": "M-1", "status": "Approved", "writing_numbers": []},
            {"contract_id": str(drifted), "status": "Pending with Carrier", "writing_numbers": ["WN-2"]},
            {"contract_id": unknown, "status": "Approved"},
        ]
    }
    answer = api.client.simulate_post("/sync/manage/reconcile", headers=api.as_(MANAGE), json=view).json
    found = {(d["kind"], d["contract_id"]) for d in answer["discrepancies"]}
    assert found == {
        ("status_differs", str(drifted)),
        ("writing_numbers_differ", str(drifted)),
        ("missing_in_ledger", unknown),
    }
    api.caught_up()
    complete = api.client.simulate_post(
        "/sync/manage/reconcile", headers=api.as_(MANAGE), json={**view, "complete": True}
    ).json
    missing = {d["contract_id"] for d in complete["discrepancies"] if d["kind"] == "missing_in_peer"}
    assert str(agreed) not in missing and str(drifted) not in missing
    assert missing  # the direct relationships the feed told manage of, which its view leaves out


def test_a_change_that_other_writers_collide_with_twice_is_409_with_the_current_state(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = api.world
    contract_id = w.active_contract()
    seen = api.config.ledger.get_contract(contract_id).version
    other = ContractLedger(api.config.ledger.env, clock=api.clock)  # another process's writer on the same store
    original, codes = api.config.ledger.save, iter(["C-1", "C-2"])

    def save(*objs: Any, **kwargs: Any) -> Any:
        if any(getattr(e, "actor", None) == MANAGE for o in objs for e in getattr(o, "pending_events", [])):
            code = next(codes, None)
            if code is not None:
                other.add_contract_code(w.carrier_staff, contract_id, code)
        return original(*objs, **kwargs)

    monkeypatch.setattr(api.config.ledger, "save", save)
    refused = change(api, MANAGE, "manage", "m-9", contract_id, seen, kind="writing_number_added", writing_number="WN-1")
    assert refused.status_code == 409 and refused.json["code"] == "sync.concurrent_change"
    assert refused.json["change_id"] == "m-9" and refused.json["current"]["version"] == seen + 2
    assert [c["code"] for c in refused.json["current"]["codes"]] == ["C-1", "C-2"]
    assert refused.json["current"]["writing_numbers"] == []
    again = change(api, MANAGE, "manage", "m-9", contract_id, seen, kind="writing_number_added", writing_number="WN-1")
    assert (again.status_code, again.content) == (409, refused.content)
    assert api.config.ledger.get_contract(contract_id).writing_numbers == []
    other.close()


def test_relayed_steps_the_onboarding_app_relays_the_producer_s_signature_over_http(api: Api) -> None:
    w = api.world
    members = w.assign(w.chain(), w.chain(aga=w.other_aga), by=w.mga_admin)
    api.config.ledger.send_to_producer(w.mga_admin, members[0])
    version = api.config.ledger.get_contract(members[0]).version
    signed = change(api, CONTRACTING, "contracting", "c-sign", members[0], version, kind="status", status="Pending Agency")
    assert signed.status_code == 200, signed.json
    assert set(signed.json["moved_contract_ids"]) == {str(m) for m in members}
    assert {api.config.ledger.get_contract(m).status for m in members} == {Status.PENDING_AGENCY}
    relayed = [i for i in feed(api, MANAGE, limit=1000).json["items"] if i["causationid"] == "contracting:c-sign"]
    assert len(relayed) == 2 and {i["origin"] for i in relayed} == {"contracting"}
    assert {i["data"]["actor"]["on_behalf_of"] for i in relayed} == {"producer"}
    assert {i["type"].rsplit(".", 1)[-1] for i in relayed} == {"status_changed"}
    echoed = [i for i in feed(api, CONTRACTING, peer="contracting", limit=1000).json["items"] if i["origin"] == "contracting"]
    assert echoed == []
    # manage runs no part of the workflow: the same meaning from it is refused, and recorded
    position = api.position()
    refused = change(api, MANAGE, "manage", "m-send", members[1], version + 1, kind="status", status="Pending with Producer")
    assert refused.status_code == 403 and refused.json["code"] == "sync.step_not_relayed", refused.json
    assert api.position() == position + 1
    assert {api.config.ledger.get_contract(m).status for m in members} == {Status.PENDING_AGENCY}


def test_a_peer_s_change_answers_its_ledger_position_so_a_read_can_wait_for_it(api: Api) -> None:
    w = api.world
    contract_id = w.active_contract()
    version = api.config.ledger.get_contract(contract_id).version
    applied = change(api, MANAGE, "manage", "m-9", contract_id, version, kind="writing_number_added", writing_number="WN-9")
    assert applied.status_code == 200
    position = int(applied.headers["Ledger-Position"])
    assert position == api.position()  # the change's record, saved with its event
    read = api.client.simulate_get(f"/contracts/{contract_id}", headers=api.as_(w.auditor), params={"wait_for": str(position)})
    assert read.status_code == 200 and read.json["writing_numbers"] == ["WN-9"]
    w.ledger.add_contract_code(w.carrier_staff, contract_id, "C-1")
    again = change(api, MANAGE, "manage", "m-9", contract_id, version, kind="writing_number_added", writing_number="WN-9")
    assert again.content == applied.content and int(again.headers["Ledger-Position"]) >= position  # never behind
    # a refusal is recorded too, and says where
    refused = change(api, MANAGE, "manage", "m-10", contract_id, version + 2, kind="status", status="Pending Backgrounds")
    assert refused.status_code == 422 and int(refused.headers["Ledger-Position"]) == api.position()
    # kept with the answer for a repeat of an Idempotency-Key
    body = {"change_id": "m-11", "contract_id": str(contract_id), "seen_version": version + 2,
            "change": {"kind": "writing_number_added", "writing_number": "WN-11"}}
    headers = {**api.as_(MANAGE), "Idempotency-Key": "k-11"}
    first = api.client.simulate_post("/sync/manage/changes", headers=headers, json=body)
    replayed = api.client.simulate_post("/sync/manage/changes", headers=headers, json=body)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.headers["Ledger-Position"] == first.headers["Ledger-Position"] == str(api.position())
    linked = api.client.simulate_post(
        "/sync/manage/links", headers=api.as_(MANAGE), json={"contract_id": str(contract_id), "external_id": "M-1"}
    )
    assert linked.status_code == 200 and int(linked.headers["Ledger-Position"]) == api.position()


def test_the_api_document_names_the_ledger_position_of_a_peer_s_change(api: Api) -> None:
    document = api.client.simulate_get("/openapi.json").json
    for path in ("/sync/{peer}/changes", "/sync/{peer}/links"):
        answered = document["paths"][path]["post"]["responses"]["200"]
        assert "Ledger-Position" in answered.get("headers", {}), (path, answered)
