"""Input nobody could mean is refused at the edge over HTTP, on both stores:
each case of issue 13's defect 11 (once a 500 or taken as given) answers a
4xx problem naming the input, and the ledger records nothing."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402
from views_scenario import LETTER  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402

TOO_BIG = 2**63
DOCUMENT = {"name": LETTER.name, "media_type": LETTER.media_type, "sha256": LETTER.sha256, "location": LETTER.location}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path_factory.mktemp("bounds"), store)


@pytest.fixture(scope="module")
def contract(api: Api) -> str:
    contract_id = api.world.active_contract()
    api.caught_up()
    return str(contract_id)


def cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def refused(api: Api, method: str, path: str, actor: Actor, **request: Any) -> dict[str, Any]:
    """The problem the request is answered with, having checked it stored nothing."""
    before = api.position()
    headers = {**api.as_(actor), **request.pop("headers", {})}
    answer = api.client.simulate_request(method, path, headers=headers, **request)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert answer.headers["content-type"] == "application/problem+json"
    assert api.position() == before
    return {"status": answer.status_code, **answer.json}


def test_if_match_with_a_digit_that_is_not_ascii_is_refused(api: Api, contract: str) -> None:
    for version in ('"²"', "²", '"１"', '"٣"', '"' + "9" * 25 + '"'):
        problem = refused(
            api, "POST", f"/contracts/{contract}/add-writing-number", api.world.aga_admin,
            headers={"If-Match": version}, json={"writing_number": "W-1"},
        )
        assert (problem["status"], problem["code"], problem["field"]) == (400, "request.if_match_invalid", "If-Match")


@pytest.mark.parametrize("status", ["' OR 1=1--", "\x00", "ACTIVE", " active", "bogus"])
def test_an_unknown_status_filter_is_refused_as_a_parameter(api: Api, status: str) -> None:
    problem = refused(api, "GET", "/contracts", api.world.aga_admin, params={"status": status})
    assert (problem["status"], problem["code"], problem["field"]) == (400, "query.invalid_parameter", "status")


AS_OF_ROUTES = ("/contracts", "/contracts/{c}", "/contracts/{c}/history", "/monitoring", "/debts", "/parties/{p}")


@pytest.mark.parametrize("route", AS_OF_ROUTES)
@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z"])
def test_an_as_of_outside_the_ledgers_range_is_refused_on_every_route_that_takes_one(
    api: Api, contract: str, route: str, as_of: str
) -> None:
    path = route.format(c=contract, p=api.world.advisor)
    problem = refused(api, "GET", path, api.world.aga_admin, params={"as_of": as_of})
    assert (problem["status"], problem["code"], problem["field"]) == (400, "query.invalid_parameter", "as_of")


@pytest.mark.parametrize("effective_on", ["9999-12-31", "9999-12-15", "2200-01-01", "1899-12-31", "0001-01-01"])
def test_a_termination_effective_outside_the_ledgers_range_is_refused(api: Api, contract: str, effective_on: str) -> None:
    problem = refused(
        api, "POST", f"/contracts/{contract}/terminate", api.world.carrier_staff,
        json={"reason": "Retired", "documents": [DOCUMENT], "effective_on": effective_on},
    )
    assert (problem["status"], problem["code"], problem["field"]) == (422, "request.invalid_field", "effective_on")


def test_positions_and_cursors_of_two_to_the_63_or_more_are_refused(api: Api) -> None:
    w = api.world
    peer, operator = Actor(Role.SYNC_PEER, "manage"), Actor(Role.OPERATOR, "olive")
    for value in (TOO_BIG, 2**64, 10**30):
        for path, actor, parameter in (
            ("/sync/manage/feed", peer, "after"),
            ("/sync/manage/dead-letters", operator, "after"),
            ("/notifications", w.aga_admin, "since_position"),
            ("/contracts", w.aga_admin, "wait_for"),
        ):
            problem = refused(api, "GET", path, actor, params={parameter: str(value)})
            assert (problem["status"], problem["code"], problem["field"]) == (400, "query.invalid_parameter", parameter)
        problem = refused(api, "POST", "/sync/manage/ack", peer, json={"position": value})
        assert (problem["status"], problem["code"], problem["field"]) == (422, "request.invalid_field", "position")


@pytest.mark.parametrize("key", [[True], [False], [TOO_BIG], [-1], [1.5], [None], [[1]]])
def test_a_history_cursor_that_this_api_never_gave_is_refused(api: Api, contract: str, key: list[Any]) -> None:
    problem = refused(api, "GET", f"/contracts/{contract}/history", api.world.aga_admin, params={"after": cursor(key)})
    assert (problem["status"], problem["code"], problem["field"]) == (400, "query.cursor_invalid", "after")


@pytest.mark.parametrize("amount", ["1e-2", "1E+2", " 5.00", "5.00 ", "5.001", "+5", "05.00", "5,00", "٥.00", "NaN", 5, 5.0])
def test_an_amount_is_written_one_way(api: Api, contract: str, amount: Any) -> None:
    today = str(api.world.today)
    problem = refused(
        api, "POST", f"/contracts/{contract}/debts", api.world.aga_admin,
        json={"amount": amount, "effective_on": today, "reminder_on": today},
    )
    assert (problem["status"], problem["code"], problem["field"]) == (422, "request.invalid_field", "amount")


@pytest.mark.parametrize("writing_number", ["W\x001", "W\t1", "W\n1", "\x1b[31m", "", "   ", "W" * 200_000])
def test_a_writing_number_nobody_could_mean_is_refused(api: Api, contract: str, writing_number: str) -> None:
    problem = refused(
        api, "POST", f"/contracts/{contract}/add-writing-number", api.world.aga_admin,
        json={"writing_number": writing_number},
    )
    assert (problem["status"], problem["code"], problem["field"]) == (422, "request.invalid_field", "writing_number")


def test_a_debt_effective_in_year_one_is_refused(api: Api, contract: str) -> None:
    problem = refused(
        api, "POST", f"/contracts/{contract}/debts", api.world.aga_admin,
        json={"amount": "5.00", "effective_on": "0001-01-01", "reminder_on": str(api.world.today)},
    )
    assert (problem["status"], problem["code"], problem["field"]) == (422, "request.invalid_field", "effective_on")


def test_a_reminder_in_the_year_9999_is_refused(api: Api, contract: str) -> None:
    problem = refused(
        api, "POST", f"/contracts/{contract}/monitoring", api.world.aga_admin,
        json={"level": 3, "reason": "Sales", "effective_on": str(api.world.today), "reminder_on": "9999-12-31"},
    )
    assert (problem["status"], problem["code"], problem["field"]) == (422, "request.invalid_field", "reminder_on")


def test_dates_and_instants_a_user_gives_lie_between_1900_01_01_and_2199_12_31(api: Api, contract: str) -> None:
    """rules §10: the first and last day of the range are taken; the days beside them are not."""
    w = api.world
    path = f"/contracts/{contract}/monitoring"
    for reminder_on in ("1899-12-31", "2200-01-01"):
        problem = refused(
            api, "POST", path, w.aga_admin,
            json={"level": 3, "reason": "Sales", "effective_on": str(w.today), "reminder_on": reminder_on},
        )
        assert problem["field"] == "reminder_on"
    for reminder_on in ("1900-01-01", "2199-12-31"):
        placed = api.client.simulate_post(
            path, headers=api.as_(w.aga_admin),
            json={"level": 3, "reason": "Sales", "effective_on": str(w.today), "reminder_on": reminder_on},
        )
        assert placed.status_code == 201, placed.text
    for as_of in ("1900-01-01T00:00:00Z", "1900-01-01T00:00:00-01:00"):
        assert api.client.simulate_get("/contracts", headers=api.as_(w.aga_admin), params={"as_of": as_of}).status_code == 200
    problem = refused(api, "GET", "/contracts", w.aga_admin, params={"as_of": "1900-01-01T00:00:00+01:00"})
    assert problem["field"] == "as_of"
