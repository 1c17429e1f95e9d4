"""The console's sync page for operators (issue 17), over falcon's TestClient
on each store, with the delivery worker's rounds run against a real endpoint
on loopback: each peer's backlog, last delivery, dead letters and last
reconciliation as the API knows them; replaying and resuming from the page's
forms do what the API's routes do; a form without its CSRF token, and every
principal but an operator, are refused and change nothing."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from console_browser import ConsoleBrowser, csrf_token_in  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402
from test_sync_delivery import Receiver  # noqa: E402
from test_sync_operator_http import MANAGE, OLIVE, SECRET, Pusher, letters, pusher, replay  # noqa: E402, F401 (pusher: the fixture)

from contractledger.domain.actor import Actor  # noqa: E402

PAGE = "/console/sync"


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(keys=[SECRET])
    yield made
    made.stop()
    assert made.faults == []


def signed_in(api: Api, actor: Actor) -> ConsoleBrowser:
    browser = ConsoleBrowser(api.client)
    assert browser.sign_in(api.token(actor)).status_code == 303
    return browser


def section(page: str, peer: str) -> str:
    """The part of the sync page about one peer."""
    start = page.index(f'<section class="peer" id="peer-{peer}"')
    return page[start:page.index("</section>", start)]


def shown(page: str, peer: str, fact: str) -> str:
    """A fact of a peer's standing (its ``<dd id="FACT-PEER">``), as text without its tags."""
    found = re.search(rf'<dd id="{fact}-{peer}">(.*?)</dd>', section(page, peer), re.S)
    assert found, f"no {fact} for {peer}"
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def dead_letter_ids(page: str, peer: str) -> list[str]:
    return re.findall(r'<tr class="dead-letter" data-item-id="([^"]+)"', section(page, peer))


def code_on(answer: Any) -> str | None:
    found = re.search(r'id="problem-code">([^<]+)<', answer.text)
    return found.group(1) if found else None


def given_up(api: Api, pusher: Pusher, receiver: Receiver, contracts: int = 1) -> list[dict[str, Any]]:
    """``contracts`` new contracts whose items manage's endpoint refused until delivery gave up on them."""
    w = api.world
    for number in range(contracts):
        w.assign(w.chain(advisor=w.second_advisor if number % 2 else None))
    receiver.plan = [500] * (30 * contracts)
    pusher.give_up()
    receiver.plan = []
    receiver.received.clear()  # what comes after is the replay's
    dead = letters(api, OLIVE).json["dead_letters"]
    assert len(dead) == contracts
    return dead


def feed_positions(api: Api, peer: str) -> list[int]:
    items = api.client.simulate_get(
        f"/sync/{peer}/feed", headers=api.as_(Actor(MANAGE.role, peer)), params={"limit": "1000"}
    ).json["items"]
    return [item["position"] for item in items]


def test_an_operator_sees_each_peers_backlog_last_delivery_and_dead_letters(
    api: Api, pusher: Pusher, receiver: Receiver
) -> None:
    (dead,) = given_up(api, pusher, receiver)
    positions = feed_positions(api, "manage")
    acked = api.client.simulate_post("/sync/manage/ack", headers=api.as_(MANAGE), json={"position": positions[1]})
    assert acked.status_code == 200
    browser = signed_in(api, OLIVE)
    page = browser.get(PAGE)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<a href="/console/sync">Sync</a>' in page.text  # the operator's nav
    text = page.text
    assert dead_letter_ids(text, "manage") == [dead["item_id"]]  # the API's list
    manage = section(text, "manage")
    assert dead["contract_id"] in manage and "HTTP 500" in manage and "1 in all" in manage
    unacknowledged = len(positions) - 2
    assert shown(text, "manage", "unacknowledged").startswith(f"{unacknowledged} items after position {positions[1]}")
    # pushed: everything taken, nothing waits in the outbox, the last attempt the one given up on
    assert shown(text, "manage", "undelivered").startswith("0 items (0 waiting in the outbox")
    last = shown(text, "manage", "last-delivery")
    assert "failed (HTTP 500)" in last and dead["item_id"] in last and f"position {dead['position']}" in last
    assert shown(text, "manage", "delivery") == "not paused"
    # contracting: never pushed to here nor acknowledged; its whole feed is its backlog
    contracting = len(feed_positions(api, "contracting"))
    assert contracting > 0
    assert shown(text, "contracting", "unacknowledged").startswith(f"{contracting} items")
    assert "never acknowledged" in shown(text, "contracting", "unacknowledged")
    assert shown(text, "contracting", "undelivered").startswith(f"{contracting} items (0 waiting")
    assert shown(text, "contracting", "last-delivery") == "never pushed to"
    assert dead_letter_ids(text, "contracting") == [] and "No dead letters." in section(text, "contracting")
    assert "has not reconciled" in section(text, "contracting")


def test_a_backlog_past_what_the_page_counts_is_said_to_be_more_than_that(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A peer that never acknowledged a big book has millions of items to take: the page counts each backlog
    only up to BACKLOG_COUNTED (and one more), and says "more than" past it (33 s for the page at 250,000
    contracts when every item was counted)."""
    from contractledger.http.console import sync as console_sync

    contracting = len(feed_positions(api, "contracting"))
    assert contracting > 2
    monkeypatch.setattr(console_sync, "BACKLOG_COUNTED", contracting - 1)
    text = signed_in(api, OLIVE).get(PAGE).text
    assert shown(text, "contracting", "unacknowledged").startswith(f"more than {contracting - 1} items")
    assert shown(text, "contracting", "undelivered").startswith(f"more than {contracting - 1} items (0 waiting")
    assert f"more than {contracting - 1} not yet taken" in shown(text, "contracting", "undelivered")
    monkeypatch.setattr(console_sync, "BACKLOG_COUNTED", contracting)  # exactly as many: the count itself
    text = signed_in(api, OLIVE).get(PAGE).text
    assert shown(text, "contracting", "unacknowledged").startswith(f"{contracting} items")


def test_replaying_from_the_page_puts_the_dead_letter_back_for_delivery_as_the_api_does(
    api: Api, pusher: Pusher, receiver: Receiver
) -> None:
    first, second = given_up(api, pusher, receiver, contracts=2)
    browser = signed_in(api, OLIVE)
    page = browser.get(PAGE).text
    answer = browser.post(f"{PAGE}/manage/replay", {"csrf_token": csrf_token_in(page), "item_id": first["item_id"]})
    assert answer.status_code == 303 and answer.headers["Location"] == f"{PAGE}#peer-manage"
    assert [d["item_id"] for d in letters(api, OLIVE).json["dead_letters"]] == [second["item_id"]]
    page = browser.get(PAGE).text
    assert dead_letter_ids(page, "manage") == [second["item_id"]]
    assert shown(page, "manage", "undelivered").startswith("1 item (1 waiting in the outbox")
    pusher.drain()
    assert receiver.ids() == [first["item_id"]]  # delivered, under the id of every attempt before
    page = browser.get(PAGE).text
    last = shown(page, "manage", "last-delivery")
    assert "delivered" in last and first["item_id"] in last
    assert shown(page, "manage", "undelivered").startswith("0 items")

    # an id that is no dead letter (any more) replays nothing, with the API's refusal
    again = browser.post(f"{PAGE}/manage/replay", {"csrf_token": csrf_token_in(page), "item_id": first["item_id"]})
    assert again.status_code == 404 and code_on(again) == "sync.dead_letter.unknown"
    api_again = replay(api, OLIVE, {"item_ids": [first["item_id"]]})
    assert (api_again.status_code, api_again.json["code"]) == (404, code_on(again))
    empty = browser.post(f"{PAGE}/manage/replay", {"csrf_token": csrf_token_in(page), "item_id": ""})
    assert empty.status_code == 422 and code_on(empty) == "request.invalid_field"
    assert dead_letter_ids(browser.get(PAGE).text, "manage") == [second["item_id"]]

    # the form without an item id replays every one
    everything = browser.post(f"{PAGE}/manage/replay", {"csrf_token": csrf_token_in(page)})
    assert everything.status_code == 303
    assert letters(api, OLIVE).json["dead_letters"] == []
    pusher.drain()
    assert receiver.ids() == [first["item_id"], second["item_id"]]
    assert "No dead letters." in section(browser.get(PAGE).text, "manage")


def test_an_operator_resumes_a_paused_peer_from_the_page(api: Api, pusher: Pusher, receiver: Receiver) -> None:
    api.world.assign()
    receiver.plan = [410]
    pusher.drain()
    browser = signed_in(api, OLIVE)
    page = browser.get(PAGE).text
    assert shown(page, "manage", "delivery").startswith("paused: the endpoint answered 410 Gone")
    assert "failed (HTTP 410)" in shown(page, "manage", "last-delivery")
    assert 'action="/console/sync/manage/resume"' in section(page, "manage")
    assert 'action="/console/sync/contracting/resume"' not in page  # not paused: nothing to resume
    answer = browser.post(f"{PAGE}/manage/resume", {"csrf_token": csrf_token_in(page)})
    assert answer.status_code == 303 and answer.headers["Location"] == f"{PAGE}#peer-manage"
    assert letters(api, OLIVE).json["paused_because"] is None
    pusher.drain()
    assert len(receiver.ids()) == 2 and receiver.ids()[0] == receiver.ids()[1]  # what waited went out
    page = browser.get(PAGE).text
    assert shown(page, "manage", "delivery") == "not paused" and "delivered" in shown(page, "manage", "last-delivery")
    not_paused = browser.post(f"{PAGE}/manage/resume", {"csrf_token": csrf_token_in(page)})
    assert not_paused.status_code == 409 and code_on(not_paused) == "sync.delivery.not_paused"


@pytest.mark.parametrize("sent", [None, "", "forged"])
def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    api: Api, pusher: Pusher, receiver: Receiver, sent: str | None
) -> None:
    (dead,) = given_up(api, pusher, receiver)
    api.world.assign(api.world.chain(advisor=api.world.second_advisor))
    receiver.plan = [410]
    pusher.drain()
    before = letters(api, OLIVE).json
    assert before["paused_because"] is not None and before["dead_letters"] == [dead]
    browser = signed_in(api, OLIVE)
    token = {} if sent is None else {"csrf_token": sent}
    for path, fields in ((f"{PAGE}/manage/replay", {"item_id": dead["item_id"]}), (f"{PAGE}/manage/resume", {}),
                         (f"{PAGE}/manage/replay", {})):
        answer = browser.post(path, {**fields, **token})
        assert answer.status_code == 403 and code_on(answer) == "console.csrf_refused", path
    assert letters(api, OLIVE).json == before


@pytest.mark.parametrize("who", ["auditor", "agency admin"])
def test_anyone_but_an_operator_is_refused_with_the_apis_code(
    api: Api, pusher: Pusher, receiver: Receiver, who: str
) -> None:
    (dead,) = given_up(api, pusher, receiver)
    actor = api.world.auditor if who == "auditor" else api.world.aga_admin
    browser = signed_in(api, actor)
    home = browser.get("/console").text
    assert 'href="/console/sync"' not in home  # no link to a page they may not open
    page = browser.get(PAGE)
    api_answer = replay(api, actor, {})
    assert (api_answer.status_code, api_answer.json["code"]) == (403, "sync.operator_only")
    assert page.status_code == 403 and code_on(page) == api_answer.json["code"]
    assert dead["item_id"] not in page.text
    token = csrf_token_in(home)  # their own session's: the form is theirs, the action is not
    for path, fields in ((f"{PAGE}/manage/replay", {"item_id": dead["item_id"]}), (f"{PAGE}/manage/resume", {})):
        answer = browser.post(path, {"csrf_token": token, **fields})
        assert answer.status_code == 403 and code_on(answer) == "sync.operator_only", path
    assert letters(api, OLIVE).json["dead_letters"] == [dead]
    operator = signed_in(api, OLIVE)
    unknown = operator.post(f"{PAGE}/nobody/replay", {"csrf_token": csrf_token_in(operator.get(PAGE).text)})
    assert unknown.status_code == 404 and code_on(unknown) == "sync.peer.unknown"


def test_after_a_reconcile_over_the_api_the_page_shows_its_discrepancies(api: Api) -> None:
    w = api.world
    agreed = w.active_contract()
    drifted = w.active_contract(advisor=w.second_advisor)
    api.config.ledger.add_writing_number(w.carrier_staff, drifted, "WN-1")
    unknown = "00000000-0000-4000-8000-000000000000"
    view = {
        "contracts": [
            {"contract_id": str(agreed), "status": "Approved", "writing_numbers": []},
            {"contract_id": str(drifted), "status": "Pending with Carrier", "writing_numbers": ["WN-2"]},
            {"contract_id": unknown, "external_id": "M-404", "status": "Approved"},
        ]
    }
    browser = signed_in(api, OLIVE)
    assert "manage has not reconciled" in section(browser.get(PAGE).text, "manage")
    answer = api.client.simulate_post("/sync/manage/reconcile", headers=api.as_(MANAGE), json=view)
    assert answer.status_code == 200
    kinds = sorted(d["kind"] for d in answer.json["discrepancies"])
    assert kinds == ["missing_in_ledger", "status_differs", "writing_numbers_differ"]
    manage = section(browser.get(PAGE).text, "manage")
    assert "manage sent 3 contracts: 3" in " ".join(manage.split())
    assert sorted(re.findall(r'<tr class="discrepancy" data-kind="([a-z_]+)"', manage)) == kinds
    assert "Pending with Carrier" in manage and "WN-1" in manage and "WN-2" in manage and "M-404" in manage
    assert str(drifted) in manage and str(agreed) not in manage
    assert "has not reconciled" in section(browser.get(PAGE).text, "contracting")

    # the next reconciliation replaces it
    agreeing = {"contracts": [{"contract_id": str(agreed), "status": "Approved"}]}
    assert api.client.simulate_post("/sync/manage/reconcile", headers=api.as_(MANAGE), json=agreeing).json["discrepancies"] == []
    manage = " ".join(section(browser.get(PAGE).text, "manage").split())
    assert "manage sent 1 contract: 0 discrepancies." in manage and 'class="discrepancy"' not in manage
