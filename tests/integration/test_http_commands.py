"""Commands over HTTP: creations, idempotency keys, If-Match, and who may act."""

from __future__ import annotations

import sys
from typing import Any
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

import msgspec  # noqa: E402

from contractledger.http.commands import route as commands_module  # noqa: E402
from contractledger.http.idempotency import principal_of, request_fingerprint  # noqa: E402
from contractledger.http.resources.contracts import AssignContracts  # noqa: E402


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


def assign(api: Api, **headers: str) -> object:
    w = api.world
    return api.client.simulate_post(
        "/bundles",
        headers={**api.as_(w.aga_admin), **headers},
        json={"chains": [[str(p) for p in w.chain()]], "initially_filled_by": "agency_admin"},
    )


def test_a_creation_answers_201_with_where_to_read_it_and_the_ledger_position(api: Api) -> None:
    created = assign(api)
    assert created.status_code == 201
    position = int(created.headers["Ledger-Position"])
    assert position == api.position()
    read = api.client.simulate_get(
        created.headers["Location"], headers=api.as_(api.world.aga_admin), params={"wait_for": str(position)}
    )
    assert read.status_code == 200
    assert [m["contract_id"] for m in read.json["members"]] == created.json["contract_ids"]


def test_a_repeat_with_the_same_idempotency_key_replays_the_first_response_and_records_nothing(api: Api) -> None:
    first = assign(api, **{"Idempotency-Key": "assign-1"})
    after_first = api.position()
    repeat = assign(api, **{"Idempotency-Key": "assign-1"})
    assert repeat.status_code == 201
    assert repeat.content == first.content
    assert repeat.headers["Location"] == first.headers["Location"]
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert api.position() == after_first


def test_the_same_idempotency_key_with_another_body_is_refused(api: Api) -> None:
    assign(api, **{"Idempotency-Key": "assign-2"})
    w = api.world
    other = api.client.simulate_post(
        "/bundles",
        headers={**api.as_(w.aga_admin), "Idempotency-Key": "assign-2"},
        json={"chains": [[str(p) for p in w.chain()]], "initially_filled_by": "producer"},
    )
    assert other.status_code == 422
    assert other.json["code"] == "request.idempotency_key_reused"


def test_a_repeat_while_the_first_is_in_flight_is_refused_with_409(api: Api) -> None:
    w = api.world
    body = b'{"chains": [], "initially_filled_by": "agency_admin"}'
    canonical = msgspec.json.encode(msgspec.json.decode(body, type=AssignContracts))
    # the first request with this key has begun and not been answered yet
    api.config.responses.begin(principal_of(w.aga_admin), "slow", request_fingerprint("POST", "/bundles", canonical))
    in_flight = api.client.simulate_post(
        "/bundles",
        headers={**api.as_(w.aga_admin), "Idempotency-Key": "slow", "Content-Type": "application/json"},
        body=body,
    )
    assert in_flight.status_code == 409
    assert in_flight.json["code"] == "request.idempotency_key_in_flight"


def test_idempotency_keys_belong_to_their_principal(api: Api) -> None:
    w = api.world
    assign(api, **{"Idempotency-Key": "shared"})
    by_other = api.client.simulate_post(
        "/bundles",
        headers={**api.as_(w.other_aga_admin), "Idempotency-Key": "shared"},
        json={"chains": [[str(p) for p in w.chain(aga=w.other_aga)]], "initially_filled_by": "agency_admin"},
    )
    assert by_other.status_code == 201
    assert "Idempotent-Replayed" not in by_other.headers


def test_a_refusal_is_kept_and_replayed_too(api: Api) -> None:
    w = api.world
    (contract_id,) = w.assign()
    headers = {**api.as_(w.aga_admin), "Idempotency-Key": "terminate-pending"}
    letter = {"name": "l.pdf", "media_type": "application/pdf", "sha256": "ab" * 32, "location": "s3://x"}
    body = {"reason": "Retired", "documents": [letter]}
    first = api.client.simulate_post(f"/contracts/{contract_id}/terminate", headers=headers, json=body)
    repeat = api.client.simulate_post(f"/contracts/{contract_id}/terminate", headers=headers, json=body)
    assert first.status_code == repeat.status_code == 422
    assert first.headers["Content-Type"] == repeat.headers["Content-Type"] == "application/problem+json"
    assert repeat.content == first.content


def test_if_match_with_a_stale_version_is_refused_with_the_current_version(api: Api) -> None:
    w = api.world
    (contract_id,) = w.assign()
    api.caught_up()
    read = api.client.simulate_get(f"/contracts/{contract_id}", headers=api.as_(w.aga_admin))
    assert read.headers["ETag"] == '"1"'
    w.ledger.add_writing_number(w.aga_admin, contract_id, "WN-1")
    before = api.position()
    stale = api.client.simulate_post(
        f"/contracts/{contract_id}/send-to-producer",
        headers={**api.as_(w.aga_admin), "If-Match": read.headers["ETag"]},
        json={},
    )
    assert stale.status_code == 412
    assert stale.json["current_version"] == 2 and stale.headers["ETag"] == '"2"'
    assert api.position() == before
    fresh = api.client.simulate_post(
        f"/contracts/{contract_id}/send-to-producer", headers={**api.as_(w.aga_admin), "If-Match": '"2"'}, json={}
    )
    assert fresh.status_code == 200


def test_a_change_landing_between_the_if_match_check_and_the_command_is_still_refused(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = api.world
    (contract_id,) = w.assign()
    early_check = commands_module.ensure_version

    def someone_else_changes_it_right_after_the_check(*args: Any, **kwargs: Any) -> None:
        early_check(*args, **kwargs)
        w.ledger.add_writing_number(w.aga_admin, contract_id, "WN-1")

    monkeypatch.setattr(commands_module, "ensure_version", someone_else_changes_it_right_after_the_check)
    before = api.position()
    raced = api.client.simulate_post(
        f"/contracts/{contract_id}/send-to-producer", headers={**api.as_(w.aga_admin), "If-Match": '"1"'}, json={}
    )
    assert raced.status_code == 412
    assert raced.json["code"] == "request.version_mismatch" and raced.json["current_version"] == 2
    assert api.position() == before + 1  # only the other change was recorded
    assert w.ledger.get_contract(contract_id).version == 2


def test_if_match_on_a_contract_you_are_not_on_answers_404_not_its_version(api: Api) -> None:
    w = api.world
    (contract_id,) = w.assign()
    stranger = api.client.simulate_post(
        f"/contracts/{contract_id}/send-to-producer",
        headers={**api.as_(w.other_aga_admin), "If-Match": '"99"'},
        json={},
    )
    assert stranger.status_code == 404
    assert "current_version" not in stranger.json


def test_an_auditor_may_not_write(api: Api) -> None:
    w = api.world
    (contract_id,) = w.assign()
    before = api.position()
    refused = api.client.simulate_post(f"/contracts/{contract_id}/send-to-producer", headers=api.as_(w.auditor), json={})
    assert refused.status_code == 403
    assert refused.json["code"] == "actor.auditor_read_only"
    assert api.position() == before


def test_a_party_not_on_the_contract_is_told_it_does_not_exist(api: Api) -> None:
    w = api.world
    (contract_id,) = w.assign()
    api.caught_up()
    headers = api.as_(w.second_producer)
    assert api.client.simulate_get(f"/contracts/{contract_id}", headers=headers).status_code == 404
    acted = api.client.simulate_post(f"/contracts/{contract_id}/detach-from-bundle", headers=headers, json={})
    assert acted.status_code == 404
    assert acted.json["code"] == "contract.not_found"
    missing = api.client.simulate_get("/contracts/00000000-0000-4000-8000-000000000000", headers=headers)
    assert missing.status_code == 404 and missing.json["code"] == acted.json["code"]


def test_debt_is_never_deleted_and_the_refusal_says_to_close_it(api: Api) -> None:
    w = api.world
    contract_id = w.active_contract()
    logged = api.client.simulate_post(
        f"/contracts/{contract_id}/debts",
        headers=api.as_(w.mga_admin),
        json={"amount": "120.50", "effective_on": str(w.today), "reminder_on": str(w.in_days(7))},
    )
    assert logged.status_code == 201
    deleted = api.client.simulate_delete(logged.headers["Location"], headers=api.as_(w.mga_admin))
    assert deleted.status_code == 422
    assert "close" in deleted.json["detail"]


def test_a_list_of_contracts_is_read_page_by_page_in_sql_for_each_viewer_and_filter(api: Api, monkeypatch: Any) -> None:
    from contractledger.projections import contract_status

    w = api.world
    active = [w.active_contract(), w.active_contract(advisor=w.second_advisor, aga=w.other_aga), w.active_contract()]
    pending = [*w.assign(w.chain(), w.chain()), *w.assign(w.chain(advisor=w.second_advisor)), *w.assign(w.chain(aga=w.other_aga), by=w.other_aga_admin)]
    w.ledger.downgrade(w.carrier_staff, active[1], "Complaints")
    api.caught_up()
    read = []  # how many contracts each read of the view answered
    select = contract_status._select_contracts

    def counted(*args: Any, **kwargs: Any) -> list[tuple]:
        rows = select(*args, **kwargs)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(contract_status, "_select_contracts", counted)
    cases = [
        (w.auditor, {}), (w.auditor, {"status": "active"}), (w.auditor, {"status": "pending_agency"}), (w.aga_admin, {"status": "downgraded"}),
        (w.aga_admin, {}), (w.aga_admin, {"advisor_id": str(w.advisor)}), (w.mga_admin, {"status": "active"}),
        (w.carrier_staff, {"party_id": str(w.other_aga)}), (w.producer, {}), (w.auditor, {"status": "terminated"}),
    ]
    for actor, filters in cases:
        headers = api.as_(actor)
        whole = api.client.simulate_get("/contracts", headers=headers, params={**filters, "limit": "500"}).json
        assert whole["next"] is None and (len(whole["items"]) > 1 or filters.get("status") in ("terminated", "downgraded"))
        if filters.get("status"):
            assert {c["status"] for c in whole["items"]} <= {filters["status"]}
        pages, after = [], None
        while True:
            read.clear()
            params = {**filters, "limit": "2", **({"after": after} if after else {})}
            answer = api.client.simulate_get("/contracts", headers=headers, params=params)
            assert answer.status_code == 200, answer.json
            assert read == [len(answer.json["items"]) + (answer.json["next"] is not None)] and read[0] <= 3
            pages += answer.json["items"]
            after = answer.json["next"]
            if after is None:
                break
        assert pages == whole["items"], (actor, filters)
    auditor_all = api.client.simulate_get("/contracts", headers=api.as_(w.auditor), params={"limit": "500"}).json["items"]
    assert {c["contract_id"] for c in auditor_all} >= {str(c) for c in active + pending}
    downgraded = api.client.simulate_get("/contracts", headers=api.as_(w.auditor), params={"status": "downgraded"}).json
    assert [c["contract_id"] for c in downgraded["items"]] == [str(active[1])]
    foreign = api.client.simulate_get("/contracts", headers=api.as_(w.auditor), params={"after": "WzFd"})  # [1]
    assert foreign.status_code == 400 and foreign.json["code"] == "query.cursor_invalid"


def test_a_long_history_is_read_page_by_page_with_its_cursor(api: Api) -> None:
    w = api.world
    contract_id = w.active_contract()
    for n in range(7):
        w.ledger.add_contract_code(w.carrier_staff, contract_id, f"C{n}")
    api.caught_up()
    headers = api.as_(w.carrier_staff)
    whole = api.client.simulate_get(f"/contracts/{contract_id}/history", headers=headers, params={"limit": "500"}).json
    assert whole["next"] is None and len(whole["items"]) == 12
    pages, after = [], None
    while True:
        params = {"limit": "5", **({"after": after} if after else {})}
        page = api.client.simulate_get(f"/contracts/{contract_id}/history", headers=headers, params=params)
        assert page.status_code == 200
        pages += page.json["items"]
        after = page.json["next"]
        if after is None:
            break
    assert pages == whole["items"]
    foreign = api.client.simulate_get(f"/contracts/{contract_id}/history", headers=headers, params={"after": "WyJ4Il0"})
    assert foreign.status_code == 400 and foreign.json["code"] == "query.cursor_invalid"
