"""The console's dashboard over falcon's TestClient, on each store: each
viewer's counts by status are the domain's own count of the contracts on its
book (on today or the day asked), the stage clock and the waiting list are
the API's for the same viewer (oldest first, each linked to its timeline),
mixed bundles are said to be none or shown first, and the open transfer
requests, tasks and notifications are the viewer's own. A section whose
route the viewer's role may not call is left out with a sentence saying so;
a bad date is a 400 page with its code; without a session, sign in."""

from __future__ import annotations

import dataclasses
import re
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from console_browser import ConsoleBrowser  # noqa: E402
from dashboard_book import DashboardBook, dashboard_book, expected_counts  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.status import PENDING, Status  # noqa: E402
from contractledger.domain.triggers import NotificationKind  # noqa: E402
from contractledger.http.console import dashboard as console_dashboard  # noqa: E402

TRANSFER_NOTE = "Moving to Beacon"


@dataclass
class Scene:
    api: Api
    book: DashboardBook
    """Every contract of the world, with the book's days."""
    lighthouse_pending: uuid.UUID  # carrier, MGA, Lighthouse AGA, Ada: pending since the first day
    harbour_grace_pending: uuid.UUID  # carrier, MGA, Harbour AGA, Grace: pending (the book's ``late``)
    moving: uuid.UUID  # Harbour's, with an open transfer request to Beacon
    mixed: uuid.UUID  # a bundle of Grace's through Lighthouse and through the MGA alone, left mixed
    task_contract: uuid.UUID
    beacon_admin: Actor


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Scene]:
    for api in running_api(tmp_path_factory.mktemp("console-dashboard"), store):
        w, ledger = api.world, api.config.ledger
        every_kind = [k.value for k in NotificationKind]
        for actor in (w.aga_admin, w.other_aga_admin, w.carrier_staff, w.producer):
            ledger.configure_triggers(actor, every_kind)
        (lighthouse_pending,) = w.assign(w.chain(aga=w.other_aga), by=w.other_aga_admin)
        w.days_later(1)
        book = dashboard_book(w)
        harbour_grace_pending = book.contracts[5]
        beacon = w.register("agency", "Beacon AGA", level="AGA")
        beacon_admin = w.admin_of(beacon)
        ledger.configure_triggers(beacon_admin, [NotificationKind.NEW_TRANSFER_REQUEST_I_MAY_ACCEPT.value])
        moving = w.active_contract()
        ledger.request_transfer(w.producer, moving, w.aga, beacon, note=TRANSFER_NOTE)
        task_contract = book.contracts[6]  # active, Harbour and Ada
        ledger.add_monitoring(w.aga_admin, task_contract, level=1, reason="New to Industry", effective_on=w.today,
                              reminder_on=w.in_days(3))
        (through_lighthouse, direct) = w.assign(
            w.chain(advisor=w.second_advisor, aga=w.other_aga), [w.carrier, w.mga, w.second_advisor], by=w.mga_admin
        )
        mixed = ledger.get_contract(through_lighthouse).bundle_id
        held = ledger.get_contract(direct)  # held alone, as a ledger written before bundle.detach_first left it
        held.set_manual_status(Status.AWAITING_INCOMING_RELEASE, None, (), actor=w.mga_admin, effective_on=w.today,
                               at=w.clock.now())
        ledger.save(held)
        w.days_later(3)  # the reminder is due: a task due today, and a reminder among Harbour's notifications
        api.caught_up()
        everything = [lighthouse_pending, *book.contracts, moving, through_lighthouse, direct]
        yield Scene(api, DashboardBook(everything, {**book.days, "today": w.today}), lighthouse_pending,
                    harbour_grace_pending, moving, mixed, task_contract, beacon_admin)


def signed_in(scene: Scene, actor: Actor) -> ConsoleBrowser:
    browser = ConsoleBrowser(scene.api.client)
    assert browser.sign_in(scene.api.token(actor)).status_code == 303
    return browser


def dashboard(scene: Scene, actor: Actor, **params: str) -> str:
    page = signed_in(scene, actor).get("/console/dashboard", **params)
    assert page.status_code == 200, page.text[:2000]
    return page.text


def api_get(scene: Scene, actor: Actor, path: str, **params: Any) -> Any:
    answer = scene.api.client.simulate_get(path, headers=scene.api.as_(actor), params={k: str(v) for k, v in params.items()})
    assert answer.status_code == 200, answer.text
    return answer.json


def counts_shown(page: str) -> Counter:
    return Counter({
        (Status(status), None): int(n) for status, n in re.findall(
            r'<tr class="status-count" data-status="([a-z_]+)">.*?<td data-label="Contracts" class="number">(\d+)</td>',
            page, re.S,
        )
    })


def stage_clock_shown(page: str) -> dict[str, list[int]]:
    rows = re.findall(r'<tr class="stage" data-status="([a-z_]+)">(.*?)</tr>', page, re.S)
    return {status: [int(n) for n in re.findall(r'class="number"[^>]*>(\d+)</td>', cells)] for status, cells in rows}


def waiting_shown(page: str) -> list[uuid.UUID]:
    return [uuid.UUID(c) for c in re.findall(r'<tr class="waiting" data-contract-id="([^"]+)"', page)]


def rows_of(page: str, kind: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr class="{kind}" {attribute}="([^"]+)"', page)


def section(page: str, section_id: str) -> str:
    found = re.search(rf'<section aria-labelledby="[^"]+" id="{section_id}".*?</section>', page, re.S)
    assert found, f"no section {section_id}"
    return found.group(0)


def the_api_waiting_list(scene: Scene, actor: Actor) -> list[uuid.UUID]:
    """The API's waiting lists of every pending status, whole, merged oldest first."""
    found = []
    for status in PENDING:
        answer = api_get(scene, actor, "/dashboard/waiting", status=status.value, longer_than_days=0, limit=500)
        found += [(c["status_since"], c["contract_id"]) for c in answer["items"]]
    return [uuid.UUID(c) for _, c in sorted(found)][:console_dashboard.SHOWN]


def test_an_agency_admin_sees_its_books_counts_and_no_other_agencys_contracts(scene: Scene) -> None:
    w = scene.api.world
    page = dashboard(scene, w.aga_admin)
    today = scene.book.days["today"]
    expected = expected_counts(w, scene.book, w.aga_admin, "status", today)
    assert counts_shown(page) == expected and sum(expected.values()) > 5
    assert f'id="total-contracts">{sum(expected.values())}<' in page
    assert f'href="/console/contracts?status={Status.ACTIVE.value}"' in page  # each count opens its list, today
    waiting = waiting_shown(page)
    assert scene.harbour_grace_pending in waiting and scene.lighthouse_pending not in waiting
    lighthouse_only = [c for c in scene.book.contracts if w.aga not in w.ledger.get_contract(c).chain]
    assert lighthouse_only and not any(str(c) in page for c in lighthouse_only)


def test_an_advisor_sees_only_its_own_contracts(scene: Scene) -> None:
    w = scene.api.world
    page = dashboard(scene, w.producer)
    assert counts_shown(page) == expected_counts(w, scene.book, w.producer, "status", scene.book.days["today"])
    waiting = waiting_shown(page)
    assert scene.lighthouse_pending in waiting and scene.harbour_grace_pending not in waiting  # Ada's, not Grace's
    graces = [c for c in scene.book.contracts if w.second_advisor in w.ledger.get_contract(c).chain]
    assert graces and not any(str(c) in page for c in graces)


def test_an_auditor_sees_every_contract(scene: Scene) -> None:
    w = scene.api.world
    page = dashboard(scene, w.auditor)
    expected = expected_counts(w, scene.book, w.auditor, "status", scene.book.days["today"])
    assert counts_shown(page) == expected and sum(expected.values()) == len(scene.book.contracts)
    assert {scene.lighthouse_pending, scene.harbour_grace_pending} <= set(waiting_shown(page))


@pytest.mark.parametrize("who", ["auditor", "aga_admin", "producer", "carrier_staff"])
def test_the_stage_clock_and_the_waiting_list_are_the_apis_oldest_first_and_linked(scene: Scene, who: str) -> None:
    actor = getattr(scene.api.world, who)
    page = dashboard(scene, actor)
    answer = api_get(scene, actor, "/dashboard/counts")
    clock = {a["status"]: [*(b["contracts"] for b in a["buckets"]), a["contracts"]]
             for a in answer["stage_clock"] if Status(a["status"]) in PENDING}
    assert stage_clock_shown(page) == clock and clock
    waiting = waiting_shown(page)
    assert waiting == the_api_waiting_list(scene, actor) and len(waiting) >= 2
    since = re.findall(r'<tr class="waiting".*?<td data-label="Since">([0-9-]+)</td>', page, re.S)
    assert since == sorted(since) and since[0] < since[-1]  # the one waiting longest first
    for contract_id in waiting:
        assert f'<a href="/console/contracts/{contract_id}">' in page


def test_no_mixed_bundle_is_said_plainly(scene: Scene) -> None:
    mixed = section(dashboard(scene, scene.api.world.aga_admin), "mixed-bundles")
    assert 'id="no-mixed-bundles"' in mixed and "No mixed bundles" in mixed
    assert 'role="alert"' not in mixed and "mixed-bundle-members" not in mixed


def test_a_mixed_bundle_is_shown_first_as_an_alert(scene: Scene) -> None:
    page = dashboard(scene, scene.api.world.carrier_staff)
    mixed = section(page, "mixed-bundles")
    assert 'role="alert"' in mixed and 'class="alarm"' in mixed
    assert set(rows_of(mixed, "mixed-bundle", "data-bundle-id")) == {str(scene.mixed)}
    assert page.index('id="mixed-bundles"') < page.index('id="counts"')  # before everything else
    members = [m["contract_id"] for m in api_get(scene, scene.api.world.carrier_staff, f"/bundles/{scene.mixed}")["members"]]
    for contract_id in members:
        assert f'<a href="/console/contracts/{contract_id}">' in mixed


def test_counts_on_a_past_day_are_that_days_and_the_stage_clock_stays_todays(scene: Scene) -> None:
    w = scene.api.world
    day_50 = scene.book.days["day_50"]
    page = dashboard(scene, w.aga_admin, on=day_50.isoformat())
    expected = expected_counts(w, scene.book, w.aga_admin, "status", day_50)
    assert counts_shown(page) == expected != expected_counts(w, scene.book, w.aga_admin, "status", scene.book.days["today"])
    assert f'value="{day_50.isoformat()}"' in page and "/console/contracts?status=" not in page  # the list shows today
    assert stage_clock_shown(page) == stage_clock_shown(dashboard(scene, w.aga_admin))
    assert counts_shown(dashboard(scene, w.aga_admin, on="")) == expected_counts(
        w, scene.book, w.aga_admin, "status", scene.book.days["today"])  # an empty field: today


def test_open_transfer_requests_are_linked_to_their_contract_and_the_accepting_entity_decides(scene: Scene) -> None:
    harbour = section(dashboard(scene, scene.api.world.aga_admin), "transfer-requests")
    assert rows_of(harbour, "transfer-request", "data-request-id") and TRANSFER_NOTE in harbour
    assert f'<a href="/console/contracts/{scene.moving}">' in harbour and "Beacon AGA" in harbour
    assert "yours to decide" not in harbour
    beacon = section(dashboard(scene, scene.beacon_admin), "transfer-requests")
    assert "yours to decide" in beacon and f"<code>{scene.moving}</code>" in beacon
    assert f'href="/console/contracts/{scene.moving}"' not in beacon  # Beacon sees the request, not the contract
    lighthouse = section(dashboard(scene, scene.api.world.other_aga_admin), "transfer-requests")
    assert rows_of(lighthouse, "transfer-request", "data-request-id") == [] and "No open transfer requests" in lighthouse


def test_tasks_due_are_the_partys_own_soonest_first(scene: Scene) -> None:
    w = scene.api.world
    harbour = section(dashboard(scene, w.aga_admin), "tasks")
    expected = [t["task_id"] for t in api_get(scene, w.aga_admin, "/tasks")["items"]]
    assert rows_of(harbour, "task", "data-task-id") == expected and expected
    assert f'<a href="/console/contracts/{scene.task_contract}">' in harbour and "<strong>today</strong>" in harbour
    assert rows_of(section(dashboard(scene, w.other_aga_admin), "tasks"), "task", "data-task-id") == []


def every_notification(scene: Scene, actor: Actor) -> list[int]:
    """The positions of the API's notifications to the actor's party, walked whole (reminders due have none)."""
    found, after = [], None
    while True:
        page = api_get(scene, actor, "/notifications", limit=500, **({"after": after} if after else {}))
        found += [n["notification_id"] for n in page["items"] if n["notification_id"] is not None]
        if (after := page["next"]) is None:
            return found


@pytest.mark.parametrize("window", [console_dashboard.FIRST_WINDOW, 1])
def test_recent_notifications_are_the_partys_newest_first(
    scene: Scene, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_dashboard, "FIRST_WINDOW", window)  # 1: read back in ever larger windows
    monkeypatch.setattr(console_dashboard, "NOTIFICATIONS_PAGE", 2)  # and each window a page at a time
    for actor in (scene.api.world.aga_admin, scene.api.world.producer, scene.beacon_admin):
        shown = [int(n) for n in rows_of(section(dashboard(scene, actor), "notifications"), "notification", "data-position")]
        expected = every_notification(scene, actor)[::-1][:console_dashboard.SHOWN]
        assert shown == expected and expected, actor.user
    reminders = api_get(scene, scene.api.world.aga_admin, "/notifications", limit=500)["items"]
    assert any(n["kind"] == "reminder_due" for n in reminders)  # listed after the rest: the tasks' section shows them
    auditor = section(dashboard(scene, scene.api.world.auditor), "notifications")
    assert "they go to a party, and you act for none" in auditor


def test_a_section_whose_route_the_role_may_not_call_is_left_out_with_a_sentence(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_dashboard, "TASKS", dataclasses.replace(console_dashboard.TASKS, roles=(Role.AUDITOR,)))
    monkeypatch.setattr(console_dashboard, "COUNTS",
                        dataclasses.replace(console_dashboard.COUNTS, roles=(Role.AUDITOR, Role.CARRIER_STAFF)))
    page = dashboard(scene, scene.api.world.aga_admin)
    tasks = section(page, "tasks")
    assert "Agency admins may not call /tasks, so this section is not shown to you." in tasks
    assert "open-tasks" not in tasks
    assert "Agency admins may not call /dashboard/counts" in section(page, "counts")
    assert "status-counts" not in page and "stage-clock-table" not in page
    assert waiting_shown(page) == the_api_waiting_list(scene, scene.api.world.aga_admin)  # from every pending status
    assert rows_of(dashboard(scene, scene.api.world.auditor), "task", "data-task-id")


def test_an_operator_gets_the_page_with_nothing_on_it(scene: Scene) -> None:
    page = dashboard(scene, scene.api.world.operator)
    assert counts_shown(page) == Counter() and waiting_shown(page) == [] and "No contracts for you" in page


@pytest.mark.parametrize("on", ["2026-02-30", "yesterday", "0001-01-01", "2026-01-01T00:00:00Z"])
def test_a_bad_date_is_a_400_page_with_its_code(scene: Scene, on: str) -> None:
    answer = signed_in(scene, scene.api.world.aga_admin).get("/console/dashboard", on=on)
    assert answer.status_code == 400 and answer.headers["Content-Type"].startswith("text/html")
    assert 'id="problem-code">query.invalid_parameter<' in answer.text and "(parameter &#39;on&#39;)" in answer.text


def test_an_unknown_parameter_is_a_400_page(scene: Scene) -> None:
    answer = signed_in(scene, scene.api.world.aga_admin).get("/console/dashboard", by="carrier")
    assert answer.status_code == 400 and 'id="problem-code">query.invalid_parameter<' in answer.text


def test_without_a_session_the_dashboard_sends_the_browser_to_sign_in(scene: Scene) -> None:
    answer = scene.api.client.simulate_get("/console/dashboard")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/sign-in")


def test_the_nav_and_the_home_page_link_to_the_dashboard(scene: Scene) -> None:
    home = signed_in(scene, scene.api.world.producer).get("/console").text
    assert '<nav aria-label="Console">' in home and home.count('href="/console/dashboard"') == 2

