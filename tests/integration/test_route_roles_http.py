"""The roles each route says it serves (``Operation.roles``, the API
document's ``x-roles``) are the roles it serves, over HTTP on each store.

Every operation of the route registry is asked by every role, each time by
the best-placed principal of that role: a party on the contract, acting for
the party in the path, the one that placed the record, the transfer's
accepting entity, the peer whose route it is, sent a body the route
decodes and naming things that exist. A role the operation does not list is
refused even so: 403, or 404 where the rule tells a principal that what it
may not act on does not exist (rules §1: an operator acts on no contract). A
role it lists is not refused: it may be told no by a rule of the contract's
state (422, 409), never 401, 403 or 404. So a declaration that leaves out a
role the rules let in, or lists one they keep out, fails here.

Commands run on a contract of their own per role, so one role's success does
not decide another's answer.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.http.catalogue import routes  # noqa: E402
from contractledger.http.openapi import ApiDocument  # noqa: E402
from contractledger.http.route_roles import ADMINS, EVERY_ROLE  # noqa: E402
from contractledger.http.routing import Operation  # noqa: E402
from test_hidden_looks_missing_http import body_of  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402

PEER = "manage"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path_factory.mktemp("roles"), store)


@dataclass
class Scene:
    api: Api
    actors: dict[Role, Actor]
    beacon: uuid.UUID
    beacon_admin: Actor
    reads: dict[str, str]
    """The path values of the reads: things every party on the contract sees."""


@pytest.fixture(scope="module")
def scene(api: Api) -> Scene:
    w, ledger = api.world, api.config.ledger
    beacon = w.register("agency", "Beacon AGA", level="AGA")
    actors = {
        Role.AGENCY_ADMIN: w.aga_admin, Role.CARRIER_STAFF: w.carrier_staff, Role.PRODUCER: w.producer,
        Role.AUDITOR: w.auditor, Role.SYNC_PEER: Actor(Role.SYNC_PEER, PEER), Role.OPERATOR: w.operator,
    }
    contract = w.active_contract()
    monitoring = ledger.add_monitoring(w.carrier_staff, contract, level=3, reason="Sales", effective_on=w.today,
                                       reminder_on=w.in_days(20))
    debt = ledger.log_debt(w.carrier_staff, contract, amount=Decimal("20.00"), effective_on=w.today,
                           reminder_on=w.in_days(20))
    moving = w.active_contract()
    ledger.request_transfer(w.producer, moving, w.aga, beacon)
    w.days_later(6)  # debt may be made public 5 days after it was recorded (rules §6)
    ledger.make_debt_public(w.carrier_staff, debt)
    api.caught_up()
    (request,) = api.client.simulate_get("/transfer-requests", headers=api.as_(w.auditor)).json["items"]
    reads = {
        "contract_id": str(contract), "bundle_id": str(ledger.get_contract(contract).bundle_id),
        "advisor_id": str(w.advisor), "party_id": str(w.advisor), "request_id": request["request_id"],
        "peer": PEER, "code": "contract.not_found", "asset": "swagger-ui.css",
        "/monitoring/{record_id}": str(monitoring), "/debts/{record_id}": str(debt),
    }
    return Scene(api, actors, beacon, w.admin_of(beacon), reads)


@dataclass
class Call:
    actor: Actor
    path: str
    body: Any


def call_for(s: Scene, path: str, op: Operation, role: Role) -> Call:
    """What the best-placed principal of ``role`` sends to ``op``."""
    if op.method == "GET":
        values = {name: s.reads.get(path if name == "record_id" else name, "") for name in op.path_parameters}
        if "record_id" in values:
            values["record_id"] = s.reads["/" + path.split("/")[1] + "/{record_id}"]
        return Call(s.actors[role], _fill(path, values), None)
    w, ledger, actor = s.api.world, s.api.config.ledger, s.actors[role]
    values: dict[str, Any] = {"peer": PEER}
    name = op.operation_id
    if "contract_id" in op.path_parameters or name in ("linkSyncExternalId", "postSyncChange"):
        values["contract_id"] = w.active_contract()
    if name in ("deny_transfer", "accept_transfer", "rescind_transfer"):
        ledger.request_transfer(w.producer, values["contract_id"], w.aga, s.beacon)
        actor = s.beacon_admin if role is Role.AGENCY_ADMIN else actor
    if "record_id" in op.path_parameters:
        placer = actor if role in ADMINS else w.carrier_staff
        on = w.active_contract()
        if path.startswith("/debts"):
            values["record_id"] = ledger.log_debt(placer, on, amount=Decimal("10.00"), effective_on=w.today,
                                                  reminder_on=w.in_days(5))
        else:
            values["record_id"] = ledger.add_monitoring(placer, on, level=3, reason="Sales", effective_on=w.today,
                                                        reminder_on=w.in_days(5))
    if "party_id" in op.path_parameters:
        values["party_id"] = actor.party_id if name == "change_profile" and actor.party_id else w.advisor
    given = _body_of(s, name, role, values)
    # a sync route's body is given whole (a peer's change is one of several kinds the sampler does not choose from)
    body = given if op.tag == "sync" else None if op.body is None else {**body_of(op, w.today), **given}
    return Call(actor, _fill(path, values), body)


def _body_of(s: Scene, name: str, role: Role, values: dict[str, Any]) -> dict[str, Any]:
    """The fields a sampled body cannot guess: real parties and contracts."""
    w = s.api.world
    chain = [str(p) for p in w.chain()]
    return {
        "register_party": {"kind": "carrier", "profile": {"name": "Southern Mutual"}} if role is Role.OPERATOR
        else {"kind": "advisor", "advisor_kind": "individual", "profile": {"name": "Edsger Dijkstra"}},
        "assign_contracts": {"chains": [chain], "initially_filled_by": "agency_admin"},
        "establish_direct_relationship": {"upper_id": str(w.carrier), "lower_id": str(w.aga)},
        "associate_advisor_with_corporation": {"corporation_id": str(w.corporation)},
        "dissociate_advisor_from_corporation": {"corporation_id": str(w.corporation)},
        "request_transfer": {"relinquishing_entity_id": str(w.aga), "accepting_entity_id": str(s.beacon)},
        "accept_transfer": {"option": "third_party", "third_party_id": str(w.mga)},
        "consolidate": {"target_id": str(w.active_contract()), "code_handling": "copy"},
        "postSyncChange": {"change_id": uuid.uuid4().hex, "contract_id": str(values.get("contract_id")),
                           "seen_version": 1, "change": {"kind": "writing_number_added", "writing_number": "WN-1"}},
        "linkSyncExternalId": {"contract_id": str(values.get("contract_id")), "external_id": uuid.uuid4().hex},
        "acknowledgeSyncFeed": {"position": 0},
        "reconcileSyncPeer": {"contracts": []},
        "replaySyncDeadLetters": {},
    }.get(name, {})


def _fill(path: str, values: dict[str, Any]) -> str:
    for name, value in values.items():
        path = path.replace(f"{{{name}:uuid}}", str(value)).replace(f"{{{name}}}", str(value))
    return path


def test_every_route_refuses_every_role_it_does_not_list_and_serves_every_role_it_lists(scene: Scene) -> None:
    api = scene.api
    tokens: dict[Actor, str] = {}
    wrong, asked = [], 0
    for route in routes(api.config, ApiDocument()):
        for handler in route.handlers:
            op = handler.operation
            if op.console:  # a page for people, signed in by a session, not a bearer token: the matrix asks it
                continue
            listed = set(EVERY_ROLE) if op.public else set(op.roles)
            assert listed <= set(EVERY_ROLE), f"{op.operation_id}: a role no token is issued for"
            for role in EVERY_ROLE:
                call = call_for(scene, route.path, op, role)
                if call.actor not in tokens:
                    tokens[call.actor] = api.token(call.actor)
                answer = api.client.simulate_request(
                    op.method, call.path, headers={"Authorization": f"Bearer {tokens[call.actor]}"}, json=call.body,
                )
                asked += 1
                code = answer.json.get("code") if answer.status_code >= 400 and answer.json else None
                said = f"{op.method} {call.path} as {role.value} ({call.actor.user}): {answer.status_code} {code}"
                if role in listed and answer.status_code in (401, 403, 404):
                    wrong.append(f"{said}: listed, but refused ({answer.text[:200]})")
                if role not in listed and answer.status_code not in (403, 404):
                    wrong.append(f"{said}: not listed, but not refused")
                if role not in listed and answer.status_code in (403, 404) and code is None:
                    wrong.append(f"{said}: refused without a problem code")
    print(f"route roles: {asked} calls")
    assert not wrong, f"{len(wrong)} of {asked} calls:\n" + "\n".join(wrong)
