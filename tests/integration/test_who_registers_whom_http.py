"""rules §1 (Users; Who registers whom) over HTTP on each store: operators
register carriers and agencies; an agency admin or carrier staff registers
the advisors it recruits; an advisor's user changes only its own profile.
Every refusal is a 403 problem with a stable code and records nothing."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path_factory.mktemp("registration"), store)


def register(api: Api, token: str, kind: str, name: str, **options: str) -> Any:
    before = api.position()
    answer = api.client.simulate_post(
        "/parties", headers={"Authorization": f"Bearer {token}"},
        json={"kind": kind, "profile": {"name": name}, **options},
    )
    if answer.status_code != 201:
        assert api.position() == before, "a refused registration recorded something"
    return answer


def token_from_before_the_rule(api: Api, actor: Actor) -> str:
    """A token as a deployment may still hold one: issued before tokens were
    checked against the parties (here, for a party that does not exist)."""
    secret = f"clt_old-{uuid4().hex}"
    now = api.clock.now()
    with api.config.views.transaction() as tx:
        tx.execute(
            "INSERT INTO access_tokens (token_hash, token_id, role, user_name, party_id, label, issued_at, expires_at,"
            " revoked_at) VALUES (?, ?, ?, ?, ?, '', ?, ?, NULL)",
            (hashlib.sha256(secret.encode()).hexdigest(), uuid4().hex[:16], actor.role.value, actor.user,
             str(actor.party_id), now.isoformat(), (now + timedelta(days=1)).isoformat()),
        )
    return secret


def test_operators_register_carriers_and_agencies(api: Api) -> None:
    w = api.world
    operator = api.token(w.operator)
    carrier = register(api, operator, "carrier", "Southern Mutual")
    assert carrier.status_code == 201, carrier.text
    agency = register(api, operator, "agency", "Valley AGA", level="AGA")
    assert agency.status_code == 201, agency.text
    api.caught_up()
    read = api.client.simulate_get(f"/parties/{carrier.json['party_id']}", headers=api.as_(w.aga_admin))
    assert read.status_code == 200 and read.json["name"] == "Southern Mutual"
    nobody = Actor(Role.AGENCY_ADMIN, "mallory", uuid4())
    others = [api.token(a) for a in (w.aga_admin, w.carrier_staff, w.producer, w.peer)]
    for token in [*others, token_from_before_the_rule(api, nobody)]:
        for kind, options in (("carrier", {}), ("agency", {"level": "MGA"})):
            refused = register(api, token, kind, "Mallory Holdings", **options)
            assert (refused.status_code, refused.json["code"]) == (403, "party.register.operators_only"), refused.text
            assert refused.json["detail"] == f"Only an operator registers a {kind}; ask the service's operator to register it."
    refused = register(api, api.token(w.auditor), "carrier", "Mallory Holdings")
    assert (refused.status_code, refused.json["code"]) == (403, "actor.auditor_read_only")


def test_an_agency_admin_or_carrier_staff_registers_the_advisors_it_recruits(api: Api) -> None:
    w = api.world
    individual = register(api, api.token(w.aga_admin), "advisor", "Edsger Dijkstra", advisor_kind="individual")
    assert individual.status_code == 201, individual.text
    corporate = register(api, api.token(w.carrier_staff), "advisor", "Dijkstra Advisory", advisor_kind="corporate")
    assert corporate.status_code == 201, corporate.text
    for actor in (w.operator, w.peer, w.producer):
        refused = register(api, api.token(actor), "advisor", "Mallory", advisor_kind="individual")
        assert (refused.status_code, refused.json["code"]) == (403, "party.register.recruiters_only"), actor
    for nobody in (Actor(Role.AGENCY_ADMIN, "mallory", uuid4()), Actor(Role.CARRIER_STAFF, "mallory", w.aga)):
        refused = register(api, token_from_before_the_rule(api, nobody), "advisor", "Mallory", advisor_kind="individual")
        assert (refused.status_code, refused.json["code"]) == (403, "actor.party_unknown"), nobody


def test_an_advisors_user_changes_only_its_own_profile(api: Api) -> None:
    w = api.world

    def change(actor: Actor, party: Any) -> Any:
        return api.client.simulate_post(
            f"/parties/{party}/change-profile", headers=api.as_(actor), json={"changes": {"attributes": {"at": str(datetime.now())}}}
        )

    assert change(w.producer, w.advisor).status_code == 200
    for party in (w.second_advisor, w.corporation, w.aga, w.carrier):
        before = api.position()
        refused = change(w.producer, party)
        assert (refused.status_code, refused.json["code"]) == (403, "party.profile.not_yours"), party
        assert api.position() == before
    for actor in (w.operator, w.aga_admin):
        assert change(actor, w.advisor).json["code"] == "party.profile.not_yours"
