"""rules §5 over HTTP, on both stores: the accepting entity's transfer request
history. It sees each request made to it (the advisor, the carrier, the
chain as it is and as it would be, the relinquishing entity, the date and
the note) and no more of the contract until it accepts; its notification
carries the same; the contract's parties and auditors see the requests on
it; anyone else sees nothing, exactly as if there were none."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.projections.engine.rebuild import rebuild  # noqa: E402
from contractledger.projections.engine.replay import verify_against_live  # noqa: E402
from contractledger.projections.tasks_and_notifications import TasksAndNotificationsView  # noqa: E402
from contractledger.projections.transfer_requests import TransferRequestsView  # noqa: E402

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


def get(api: Api, actor: Actor, path: str, **params: str) -> Any:
    api.caught_up()
    return api.client.simulate_get(path, headers=api.as_(actor), params=params)


def post(api: Api, actor: Actor, path: str, body: dict[str, Any]) -> Any:
    answer = api.client.simulate_post(path, headers=api.as_(actor), json=body)
    assert answer.status_code in (200, 201), answer.json
    return answer.json


def requests_seen_by(api: Api, actor: Actor, **params: str) -> list[dict[str, Any]]:
    answer = get(api, actor, "/transfer-requests", **params)
    assert answer.status_code == 200, answer.json
    return answer.json["items"]


def test_the_accepting_entity_sees_each_transfer_request_made_to_it_while_it_is_open(api: Api) -> None:
    w = api.world
    contract = w.active_contract()
    w.ledger.configure_triggers(w.other_aga_admin, ["new_transfer_request_i_may_accept"])
    w.ledger.configure_triggers(w.aga_admin, ["transfer_requested_on_contract_i_relinquish"])
    post(api, w.producer, f"/contracts/{contract}/request-transfer",
         {"relinquishing_entity_id": str(w.aga), "accepting_entity_id": str(w.other_aga), "note": "Moving to Lighthouse"})

    (request,) = requests_seen_by(api, w.other_aga_admin)
    chain = [str(p) for p in w.chain()]
    assert {k: request[k] for k in ("contract_id", "advisor_id", "carrier_id", "chain", "chain_after_transfer",
                                   "relinquishing_entity_id", "accepting_entity_id", "requested_on", "note", "state")} == {
        "contract_id": str(contract), "advisor_id": str(w.advisor), "carrier_id": str(w.carrier), "chain": chain,
        "chain_after_transfer": [str(w.carrier), str(w.mga), str(w.other_aga), str(w.advisor)],
        "relinquishing_entity_id": str(w.aga), "accepting_entity_id": str(w.other_aga),
        "requested_on": w.today.isoformat(), "note": "Moving to Lighthouse", "state": "requested",
    }
    assert get(api, w.other_aga_admin, f"/transfer-requests/{request['request_id']}").json == request
    # ...and no more of the contract than that, until it accepts
    for path in (f"/contracts/{contract}", f"/contracts/{contract}/history"):
        assert get(api, w.other_aga_admin, path).status_code == 404

    # the notifications carry the request (the accepting entity's, and the relinquishing entity's)
    for actor, kind in ((w.other_aga_admin, "new_transfer_request_i_may_accept"),
                        (w.aga_admin, "transfer_requested_on_contract_i_relinquish")):
        (told,) = [n for n in get(api, actor, "/notifications").json["items"] if n["kind"] == kind]
        assert told["details"]["transfer_request_id"] == request["request_id"]
        assert {k: told["details"][k] for k in ("chain", "chain_after_transfer", "note", "requested_on")} == {
            k: request[k] for k in ("chain", "chain_after_transfer", "note", "requested_on")
        }

    # it decides from there: denied, the request stays in its history
    post(api, w.other_aga_admin, f"/contracts/{contract}/deny-transfer", {"note": "Not now"})
    (denied,) = requests_seen_by(api, w.other_aga_admin)
    assert (denied["request_id"], denied["state"]) == (request["request_id"], "denied")
    assert requests_seen_by(api, w.other_aga_admin, state="requested") == []

    # a second request, accepted through the party above the relinquishing entity, then carried out
    post(api, w.producer, f"/contracts/{contract}/request-transfer",
         {"relinquishing_entity_id": str(w.aga), "accepting_entity_id": str(w.other_aga)})
    second = requests_seen_by(api, w.other_aga_admin, state="requested")[0]
    assert second["request_id"] != request["request_id"] and second["note"] is None
    accepted = post(api, w.other_aga_admin, f"/contracts/{contract}/accept-transfer",
                    {"option": "third_party", "third_party_id": str(w.mga)})
    successor = UUID(accepted["successor_id"])
    seen = get(api, w.other_aga_admin, f"/transfer-requests/{second['request_id']}").json
    assert (seen["state"], seen["successor_id"]) == ("accepted", str(successor))
    assert seen["chain_after_transfer"] == [str(w.carrier), str(w.mga), str(w.other_aga), str(w.advisor)]
    w.onboard(successor, w.other_aga_admin, w.producer)
    w.ledger.set_manual_status(w.carrier_staff, successor, Status.ACTIVE)
    assert get(api, w.other_aga_admin, f"/transfer-requests/{second['request_id']}").json["state"] == "transferred"
    assert get(api, w.other_aga_admin, f"/contracts/{contract}").status_code == 404  # the original stays theirs

    # the contract's parties and auditors see both; a party off it, and a sync peer, see none
    for actor in (w.aga_admin, w.mga_admin, w.carrier_staff, w.producer, w.auditor, w.other_aga_admin):
        assert [r["request_id"] for r in requests_seen_by(api, actor)] == [request["request_id"], second["request_id"]]
    stranger = w.admin_of(w.register("agency", "Elsewhere AGA", level="AGA"))
    absent = get(api, stranger, f"/transfer-requests/{MISSING}")
    assert absent.status_code == 404 and absent.json["code"] == "transfer_request.not_found"
    for outsider in (stranger, w.peer, w.second_producer):
        assert requests_seen_by(api, outsider) == []
        hidden = get(api, outsider, f"/transfer-requests/{request['request_id']}")
        assert (hidden.status_code, hidden.json) == (404, absent.json)

    # a keyset cursor pages through them in ledger order
    first = get(api, w.auditor, "/transfer-requests", limit="1").json
    assert [r["request_id"] for r in first["items"]] == [request["request_id"]] and first["next"]
    rest = get(api, w.auditor, "/transfer-requests", limit="1", after=first["next"]).json
    assert [r["request_id"] for r in rest["items"]] == [second["request_id"]] and rest["next"] is None
    assert get(api, w.auditor, "/transfer-requests", state="open").status_code == 400


def test_the_transfer_requests_rebuild_to_what_the_live_view_holds(api: Api) -> None:
    w = api.world
    contract = w.active_contract()
    w.ledger.configure_triggers(w.other_aga_admin, ["new_transfer_request_i_may_accept"])
    w.ledger.request_transfer(w.producer, contract, w.aga, w.other_aga, note="one")
    w.ledger.rescind_transfer(w.producer, contract)
    w.ledger.request_transfer(w.producer, contract, w.aga, w.other_aga, note="two")
    w.ledger.accept_transfer(w.other_aga_admin, contract, "request_relationship", w.carrier)
    before = requests_seen_by(api, w.auditor)
    assert [r["state"] for r in before] == ["rescinded", "awaiting_relationship"]
    ledger = api.config.ledger
    for view_class in (TransferRequestsView, TasksAndNotificationsView):
        aside = rebuild(ledger.recorder, ledger.mapper, api.config.views, view_class, switch=False)
        assert verify_against_live(ledger.recorder, ledger.mapper, api.config.views, view_class, aside.generation) == []
