"""A contract's ETag is read from the contract status view, in the same row as
the body it goes with: it is the contract's version exactly (every contract
event moves it, rebuilt or applied live), and when the views lag it names
the version the body shows, so a command based on that read is refused 412,
never applied on a state its caller did not see."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import falcon.testing
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402
from views_scenario import ContractingWorld, project  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.clock import SettableClock  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.http.app import create_app  # noqa: E402
from contractledger.http.config import AppConfig  # noqa: E402
from contractledger.http.idempotency import IdempotentResponses  # noqa: E402
from contractledger.http.read_your_writes import PositionedLedger  # noqa: E402
from contractledger.http.tokens import TokenRegistry  # noqa: E402
from contractledger.projections import contract_status  # noqa: E402
from contractledger.projections.engine.view_database import SqliteViewDatabase  # noqa: E402
from contractledger.projections.viewer import Viewer  # noqa: E402


def a_transfer_waiting_for_a_relationship(w: ContractingWorld) -> tuple[UUID, UUID]:
    """An active contract transferred to a newcomer agency through a relationship
    requested first: the relationship's AwaitingTransferRecorded and, once it is
    approved, AwaitingTransfersReleased (events that change nothing the view shows)."""
    contract_id = w.active_contract()
    newcomer = w.register("agency", "Newcomer AGA", level="AGA")
    w.ledger.request_transfer(w.producer, contract_id, w.aga, newcomer)
    outcome = w.ledger.accept_transfer(w.admin_of(newcomer), contract_id, "request_relationship", w.mga)
    relationship_id = outcome["awaiting_relationship_id"]
    w.ledger.set_manual_status(w.mga_admin, relationship_id, Status.ACTIVE)
    return contract_id, relationship_id


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


def test_the_etag_of_every_contract_is_its_version_including_events_the_view_shows_nothing_of(api: Api) -> None:
    w = api.world
    contract_id, relationship_id = a_transfer_waiting_for_a_relationship(w)
    (numbered,) = w.assign()
    w.ledger.add_writing_number(w.aga_admin, numbered, "WN-1")
    relationship = w.ledger.get_contract(relationship_id)
    assert relationship.awaiting_transfers == []  # recorded, then released: two versions the view shows nothing of
    api.caught_up()
    auditor = api.as_(w.auditor)
    listed = api.client.simulate_get("/contracts", headers=auditor, params={"limit": "500"}).json["items"]
    assert {relationship_id, contract_id, numbered} <= {UUID(c["contract_id"]) for c in listed}
    for item in listed:
        read = api.client.simulate_get(f"/contracts/{item['contract_id']}", headers=auditor)
        assert read.status_code == 200
        assert read.headers["ETag"] == f'"{w.ledger.get_contract(UUID(item["contract_id"])).version}"'
    # and it is the version a conditional command checks: one before it is refused, it is accepted
    read = api.client.simulate_get(f"/contracts/{relationship_id}", headers=api.as_(w.mga_admin))
    version = int(read.headers["ETag"].strip('"'))
    for if_match, status in ((f'"{version - 1}"', 412), (read.headers["ETag"], 200)):
        answer = api.client.simulate_post(
            f"/contracts/{relationship_id}/set-manual-status",
            headers={**api.as_(w.mga_admin), "If-Match": if_match},
            json={"status": "withdrawn"},
        )
        assert answer.status_code == status, answer.json


def test_a_rebuilt_view_carries_every_contract_s_version(tmp_path: Path) -> None:
    w = ContractingWorld()
    a_transfer_waiting_for_a_relationship(w)
    (contract_id,) = w.assign()
    w.onboard(contract_id)
    w.ledger.add_writing_number(w.aga_admin, contract_id, "WN-9")
    views = SqliteViewDatabase(str(tmp_path / "views.sqlite3"))
    try:
        project(w.ledger, views, batch_size=3)  # from the first event, a few at a time
        auditor = Viewer.auditor("test")
        listed = contract_status.contracts(views, auditor)
        assert len(listed) >= 5
        for found in listed:
            versioned = contract_status.versioned_contract(views, auditor, found.contract_id)
            assert versioned is not None
            shown, version = versioned
            assert shown == found
            assert version == w.ledger.get_contract(found.contract_id).version
        outsider = Viewer.of(Actor(Role.AGENCY_ADMIN, "lee", w.other_aga))
        assert contract_status.versioned_contract(views, outsider, contract_id) is None
    finally:
        views.close()


@pytest.fixture
def lagging(tmp_path: Path) -> Iterator[tuple[falcon.testing.TestClient, ContractingWorld, SqliteViewDatabase]]:
    """The app with no views runner: the views apply events only when the test says."""
    path = str(tmp_path / "ledger.sqlite3")
    clock = SettableClock(datetime.now(timezone.utc).replace(microsecond=0))
    ledger = PositionedLedger({"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": path}, clock)
    views = SqliteViewDatabase(path)
    tokens = TokenRegistry(views, clock, ledger)
    tokens.ensure_schema()
    responses = IdempotentResponses(views, clock)
    responses.ensure_schema()
    config = AppConfig(ledger=ledger, views=views, tokens=tokens, responses=responses, clock=clock)
    world = ContractingWorld(ledger, clock)
    world.token = lambda actor: tokens.issue(actor, timedelta(days=1)).secret  # type: ignore[attr-defined]
    try:
        yield falcon.testing.TestClient(create_app(config)), world, views
    finally:
        ledger.close()
        views.close()


def test_while_the_view_lags_the_etag_names_the_version_shown_and_a_command_based_on_it_is_refused(lagging) -> None:  # type: ignore[no-untyped-def]
    client, w, views = lagging
    (contract_id,) = w.assign()
    project(w.ledger, views)
    headers = {"Authorization": f"Bearer {w.token(w.aga_admin)}"}
    w.ledger.add_writing_number(w.aga_admin, contract_id, "WN-1")  # version 2, not applied to the views yet
    read = client.simulate_get(f"/contracts/{contract_id}", headers=headers)
    assert read.json["writing_numbers"] == [] and read.headers["ETag"] == '"1"'
    stale = client.simulate_post(
        f"/contracts/{contract_id}/send-to-producer", headers={**headers, "If-Match": read.headers["ETag"]}, json={}
    )
    assert stale.status_code == 412 and stale.json["current_version"] == 2
    assert w.ledger.get_contract(contract_id).version == 2  # nothing applied
    project(w.ledger, views)
    fresh = client.simulate_get(f"/contracts/{contract_id}", headers=headers)
    assert fresh.json["writing_numbers"] == ["WN-1"] and fresh.headers["ETag"] == '"2"'
    sent = client.simulate_post(
        f"/contracts/{contract_id}/send-to-producer", headers={**headers, "If-Match": fresh.headers["ETag"]}, json={}
    )
    assert sent.status_code == 200


def test_a_past_read_has_no_etag(api: Api) -> None:
    w = api.world
    (contract_id,) = w.assign()
    api.caught_up()
    as_of = (api.clock.now() + timedelta(seconds=1)).isoformat()
    read = api.client.simulate_get(f"/contracts/{contract_id}", headers=api.as_(w.aga_admin), params={"as_of": as_of})
    assert read.status_code == 200
    assert "ETag" not in read.headers
