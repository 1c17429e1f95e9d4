"""A party's console page over falcon's TestClient, on each store: the
profile as the API's party read answers the same principal (a termination's
snapshot where the viewer's rights end), as of an instant; the contracts
with the party on their chain; an advisor's or a corporation's health with
every record that makes it, its reason, dates and contract; a party the API
answers 404 for is the same not-found page; refusals are pages with the
API's codes."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from console_browser import ConsoleBrowser  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402
from views_scenario import LETTER  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402

NEW_NAME = "Grace Brewster Murray"
DEBT_NOTE = "Chargeback on policy 4417"


@dataclass
class Scene:
    api: Api
    ada_contract: uuid.UUID  # carrier, MGA, Harbour AGA, Ada: the records are on it
    grace_ended: uuid.UUID  # carrier, MGA, Lighthouse AGA, Grace: terminated, Lighthouse's only one with Grace
    grace_in_force: uuid.UUID  # carrier, MGA, Harbour AGA, Grace
    close_supervision: uuid.UUID  # the carrier's, public
    carriers_debt: uuid.UUID  # the carrier's, private to it
    harbours_private: uuid.UUID  # Harbour's level 1, private to Harbour
    before_the_change: str  # an instant after the termination, before Grace changed her profile
    days_before_the_termination: str  # an instant two days before the termination took effect
    stranger: Actor  # an agency admin with no contract at all


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Scene]:
    for api in running_api(tmp_path_factory.mktemp("console-party"), store):
        w, ledger = api.world, api.config.ledger
        grace_in_force = w.active_contract(advisor=w.second_advisor)
        grace_ended = w.active_contract(advisor=w.second_advisor, aga=w.other_aga)
        api.clock.advance(seconds=1)
        days_before_the_termination = api.clock.now().isoformat()
        w.days_later(2)
        ada_contract = w.active_contract()
        reminder = w.in_days(20)
        close = ledger.add_monitoring(w.carrier_staff, ada_contract, level=4, reason="Carrier initiated",
                                      effective_on=w.today, reminder_on=reminder)
        debt = ledger.log_debt(w.carrier_staff, ada_contract, amount=Decimal("125.50"), effective_on=w.today,
                               reminder_on=reminder, description=DEBT_NOTE)
        private = ledger.add_monitoring(w.aga_admin, ada_contract, level=1, reason="New to Industry",
                                        effective_on=w.today, reminder_on=reminder)
        ledger.terminate(w.carrier_staff, grace_ended, "Retired", [LETTER], effective_on=w.today)
        api.clock.advance(seconds=1)
        before_the_change = api.clock.now().isoformat()
        api.clock.advance(seconds=1)
        ledger.change_profile(w.second_producer, w.second_advisor, {"name": NEW_NAME, "identifiers": {"npn": "GBM"}})
        stranger = w.admin_of(w.register("agency", "Elsewhere AGA", level="AGA"))
        api.caught_up()
        yield Scene(api, ada_contract, grace_ended, grace_in_force, close, debt, private, before_the_change,
                    days_before_the_termination, stranger)


def signed_in(scene: Scene, actor: Actor) -> ConsoleBrowser:
    browser = ConsoleBrowser(scene.api.client)
    assert browser.sign_in(scene.api.token(actor)).status_code == 303
    return browser


def api_read(scene: Scene, actor: Actor, path: str, **params: str) -> Any:
    return scene.api.client.simulate_get(path, headers=scene.api.as_(actor), params=params)


def code_on(page: Any) -> str:
    found = re.search(r'id="problem-code">([^<]+)<', page.text)
    assert found, page.text[:1000]
    return found.group(1)


def shown_name(page: Any) -> str:
    found = re.search(r'<h1 id="party-name">([^<]*)</h1>', page.text)
    assert found, page.text[:1000]
    return found.group(1)


def health_records(page: str) -> list[uuid.UUID]:
    return [uuid.UUID(found) for found in re.findall(r'<tr class="health-record" data-record-id="([^"]+)"', page)]


def row_of(page: str, record_id: uuid.UUID) -> str:
    start = page.index(f'data-record-id="{record_id}"')
    return page[start:page.index("</tr>", start)]


def test_a_carrier_user_sees_an_advisor_on_its_chain_with_the_reasons_of_its_health(scene: Scene) -> None:
    w = scene.api.world
    page = signed_in(scene, w.carrier_staff).get(f"/console/parties/{w.advisor}")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert shown_name(page) == "Ada Lovelace" and "npn: Ada" in page.text
    assert 'id="health" class="broken"' in page.text and "Monitoring level 4" in page.text
    assert "unresolved debt" in page.text
    # every record that makes it, with its reason, dates and contract; Harbour's private record is not the carrier's
    assert health_records(page.text) == [scene.close_supervision, scene.carriers_debt]
    monitoring = row_of(page.text, scene.close_supervision)
    assert "Close Supervision" in monitoring and "<strong>Carrier initiated</strong>" in monitoring
    assert f"in force from {w.today.isoformat()}" in monitoring
    assert f"reminder {w.in_days(20).isoformat()}" in monitoring
    assert f'href="/console/contracts/{scene.ada_contract}"' in monitoring and "Northern Life" in monitoring
    debt = row_of(page.text, scene.carriers_debt)
    assert "125.50 owed" in debt and DEBT_NOTE in debt and "unresolved" in debt and "private" in debt
    assert "New to Industry" not in page.text and str(scene.harbours_private) not in page.text
    # the health is the API's for the same principal
    health = api_read(scene, w.carrier_staff, f"/parties/{w.advisor}/health").json
    named = health["monitoring_record_ids"] + health["debt_record_ids"]
    assert sorted(named) == sorted(map(str, health_records(page.text)))
    # the contracts with Ada on their chain, each linked to its timeline
    assert f'<tr class="contract" data-contract-id="{scene.ada_contract}"' in page.text
    assert f'href="/console/contracts/{scene.ada_contract}"' in page.text
    assert f'href="/console/parties/{w.corporation}"' in page.text  # her corporation, among her associations


def test_the_reasons_and_the_record_routes_are_read_from_the_views_without_loading_a_record(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each record the health names comes from the oversight view, one query per
    kind: loading the records (and their contracts) from the event store one by
    one made the page cost a read per record (143 ms for an auditor's advisor
    with 14 records)."""
    from contractledger.domain import oversight

    loaded: list[Any] = []
    monkeypatch.setattr(oversight.OversightUseCases, "_get_record", lambda self, *a, **k: loaded.append(a))
    w = scene.api.world
    page = signed_in(scene, w.carrier_staff).get(f"/console/parties/{w.advisor}")
    assert health_records(page.text) == [scene.close_supervision, scene.carriers_debt]
    assert api_read(scene, w.carrier_staff, f"/monitoring/{scene.close_supervision}").json["record_id"] == str(
        scene.close_supervision)
    assert api_read(scene, w.carrier_staff, f"/debts/{scene.carriers_debt}").json["description"] == DEBT_NOTE
    # a record the viewer may not see is still not found, as one that does not exist
    hidden = api_read(scene, w.carrier_staff, f"/monitoring/{scene.harbours_private}")
    assert hidden.status_code == 404 and hidden.json["code"] == "monitoring.not_found"
    assert loaded == []


def test_the_party_that_placed_a_private_record_sees_it_among_the_reasons(scene: Scene) -> None:
    w = scene.api.world
    page = signed_in(scene, w.aga_admin).get(f"/console/parties/{w.advisor}").text
    assert scene.harbours_private in health_records(page) and scene.carriers_debt not in health_records(page)
    assert "<strong>New to Industry</strong>" in row_of(page, scene.harbours_private)


def test_a_corporations_health_counts_its_individuals_records_each_on_its_advisors_contract(scene: Scene) -> None:
    w = scene.api.world
    page = signed_in(scene, w.carrier_staff).get(f"/console/parties/{w.corporation}").text
    assert "corporation (corporate advisor)" in page
    assert health_records(page) == [scene.close_supervision, scene.carriers_debt]
    row = row_of(page, scene.close_supervision)
    assert f'<a href="/console/parties/{w.advisor}">Ada Lovelace</a>' in row  # whose contract it is
    assert "Individual advisors associated with it" in page and f'href="/console/parties/{w.advisor}"' in page


def test_a_party_the_api_answers_404_for_is_the_same_not_found_page(scene: Scene) -> None:
    browser = signed_in(scene, scene.stranger)
    for party_id in (uuid.uuid4(), scene.ada_contract):  # an id nothing has; a contract's, not a party's
        page = browser.get(f"/console/parties/{party_id}")
        answer = api_read(scene, scene.stranger, f"/parties/{party_id}")
        assert page.status_code == answer.status_code == 404
        assert code_on(page) == answer.json["code"] == "party.not_found"
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    # before the party was registered, it did not exist: the same for the API and the page
    ada, before = scene.api.world.advisor, "2000-01-01T00:00:00Z"
    page = browser.get(f"/console/parties/{ada}", as_of=before)
    answer = api_read(scene, scene.stranger, f"/parties/{ada}", as_of=before)
    assert page.status_code == answer.status_code == 404 and code_on(page) == answer.json["code"]


def test_an_advisor_off_the_viewers_contracts_is_its_directory_card_as_the_api_answers_it(scene: Scene) -> None:
    w = scene.api.world
    page = signed_in(scene, scene.stranger).get(f"/console/parties/{w.advisor}")
    answer = api_read(scene, scene.stranger, f"/parties/{w.advisor}")
    assert page.status_code == answer.status_code == 200
    assert set(answer.json) == {"name", "identifiers"} and shown_name(page) == answer.json["name"]
    assert 'id="directory-card"' in page.text
    assert health_records(page.text) == [] and 'id="health" class="intact"' in page.text  # no record is its to see
    assert "data-contract-id" not in page.text and "Carrier initiated" not in page.text


def test_as_of_shows_the_profile_and_the_contracts_as_the_ledger_knew_them(scene: Scene) -> None:
    w = scene.api.world
    browser = signed_in(scene, w.carrier_staff)
    now = browser.get(f"/console/parties/{w.second_advisor}")
    assert shown_name(now) == NEW_NAME and "npn: GBM" in now.text
    then = browser.get(f"/console/parties/{w.second_advisor}", as_of=scene.before_the_change)
    assert then.status_code == 200 and shown_name(then) == "Grace Hopper" and "npn: Gra" in then.text
    assert f'value="{scene.before_the_change}"' in then.text and 'role="status"' in then.text
    assert shown_name(then) == api_read(scene, w.carrier_staff, f"/parties/{w.second_advisor}",
                                        as_of=scene.before_the_change).json["name"]
    # the contract timeline links keep the instant
    assert f'href="/console/contracts/{scene.grace_ended}?as_of=' in then.text
    # long before, Grace had not been registered: no such party then, as the API answers
    long_before = (scene.api.clock.now() - timedelta(days=400)).isoformat()
    first = browser.get(f"/console/parties/{w.second_advisor}", as_of=long_before)
    assert first.status_code == 404 and code_on(first) == "party.not_found"


def test_where_the_viewers_rights_end_it_sees_the_termination_snapshot(scene: Scene) -> None:
    w = scene.api.world
    lighthouse = signed_in(scene, w.other_aga_admin)
    for params in ({}, {"as_of": scene.api.clock.now().isoformat()}):
        page = lighthouse.get(f"/console/parties/{w.second_advisor}", **params)
        answer = api_read(scene, w.other_aga_admin, f"/parties/{w.second_advisor}", **params)
        assert page.status_code == answer.status_code == 200
        assert shown_name(page) == answer.json["name"] == "Grace Hopper", params
        assert 'id="termination-snapshot"' in page.text and NEW_NAME not in page.text and "GBM" not in page.text
        # its terminated contract, and not the one it is not on
        assert f'data-contract-id="{scene.grace_ended}"' in page.text
        assert f'data-contract-id="{scene.grace_in_force}"' not in page.text
    # a party with a contract in force follows the profile
    harbour = signed_in(scene, w.aga_admin).get(f"/console/parties/{w.second_advisor}")
    assert shown_name(harbour) == NEW_NAME and 'id="termination-snapshot"' not in harbour.text


def test_a_section_the_viewers_role_may_not_read_is_left_out_with_a_sentence(scene: Scene) -> None:
    page = signed_in(scene, scene.api.world.peer).get(f"/console/parties/{scene.api.world.advisor}").text
    assert '<p id="records-withheld">Monitoring records are not shown: sync peers may not read them' in page
    assert health_records(page) == []
    assert f'data-contract-id="{scene.ada_contract}"' in page  # a sync peer reads every contract's status


def test_an_agencys_page_lists_its_contracts_and_keeps_no_health(scene: Scene) -> None:
    w = scene.api.world
    page = signed_in(scene, w.aga_admin).get(f"/console/parties/{w.aga}").text
    assert 'id="health-not-kept"' in page and "AGA agency" in page
    assert f'data-contract-id="{scene.ada_contract}"' in page and f'data-contract-id="{scene.grace_ended}"' not in page


def test_the_contracts_come_in_keyset_pages(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    from contractledger.http.console import party as console_party

    monkeypatch.setattr(console_party, "CONTRACTS_SHOWN", 1)
    w = scene.api.world
    browser = signed_in(scene, w.auditor)
    first = browser.get(f"/console/parties/{w.second_advisor}").text
    found = re.search(r'<a rel="next" href="/console/parties/[^"?]+\?after=([^"&]+)"', first)
    assert found, first
    second = browser.get(f"/console/parties/{w.second_advisor}", after=found.group(1).replace("%3D", "=")).text
    shown = re.findall(r'data-contract-id="([^"]+)"', first) + re.findall(r'data-contract-id="([^"]+)"', second)
    assert sorted(shown) == sorted(map(str, (scene.grace_in_force, scene.grace_ended)))


@pytest.mark.parametrize("params, status, code", [
    ({"as_of": "yesterday"}, 400, "query.invalid_parameter"),
    ({"as_of": "2026-03-02T09:00:00"}, 400, "query.invalid_parameter"),  # no time zone
    ({"as_of": "tomorrow"}, 422, "query.as_of_in_the_future"),
    ({"after": "not-a-cursor"}, 400, "query.cursor_invalid"),
    ({"colour": "red"}, 400, "query.invalid_parameter"),
])
def test_a_bad_parameter_is_a_page_with_its_stable_code(
    scene: Scene, params: dict[str, str], status: int, code: str
) -> None:
    if params.get("as_of") == "tomorrow":
        params = {"as_of": (scene.api.clock.now() + timedelta(days=1)).isoformat()}
    w = scene.api.world
    page = signed_in(scene, w.carrier_staff).get(f"/console/parties/{w.advisor}", **params)
    assert page.status_code == status and code_on(page) == code
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    if "after" not in params:  # the API's party read takes no cursor; the rest it refuses with the same code
        assert api_read(scene, w.carrier_staff, f"/parties/{w.advisor}", **params).json["code"] == code


def test_the_contracts_list_and_the_timeline_link_each_party_to_its_page(scene: Scene) -> None:
    w = scene.api.world
    browser = signed_in(scene, w.carrier_staff)
    for page in (browser.get("/console/contracts").text, browser.get(f"/console/contracts/{scene.ada_contract}").text):
        assert f'<a href="/console/parties/{w.advisor}">Ada Lovelace</a>' in page
        assert f'<a href="/console/parties/{w.aga}">Harbour AGA</a>' in page


def test_without_a_session_the_page_sends_the_browser_to_sign_in(scene: Scene) -> None:
    answer = scene.api.client.simulate_get(f"/console/parties/{scene.api.world.advisor}")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/sign-in")


def test_the_timeline_as_of_a_day_before_the_termination_names_the_advisor_as_the_terminating_partys_rights_allow(
    scene: Scene,
) -> None:
    w = scene.api.world
    page = signed_in(scene, w.other_aga_admin).get(
        f"/console/contracts/{scene.grace_ended}", as_of=scene.days_before_the_termination,
    )
    assert page.status_code == 200 and '<dd id="status">active</dd>' in page.text
    # the names a page shows are the directory's today: the change made after the termination is not Lighthouse's
    assert f'<a href="/console/parties/{w.second_advisor}">Grace Hopper</a>' in page.text and NEW_NAME not in page.text
