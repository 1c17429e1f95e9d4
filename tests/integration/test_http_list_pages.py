"""List routes read one page in SQL (issue 14): walked page by page as several
viewers with their filters, the pages are the whole list, and each page
reads at most limit + 1 rows of the view's table."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402
from views_scenario import LETTER  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.errors import NotFound  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.domain.triggers import NotificationKind  # noqa: E402
from contractledger.projections.engine.queries import Reading  # noqa: E402

LIMIT = 2


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


@dataclass
class Book:
    """Two contracts with monitoring and debt of every kind of sight on them."""

    contracts: list[UUID]
    monitoring: list[UUID]
    debts: list[UUID]
    before_the_last_records: str
    position_before_the_last_records: int
    viewers: list[Actor]


def oversight_book(api: Api) -> Book:
    w = api.world
    ledger = w.ledger
    ours, theirs = w.active_contract(), w.active_contract(advisor=w.second_advisor, aga=w.other_aga)
    made = []

    def soon() -> date:  # reminders on three days, several on each
        made.append(None)
        return w.in_days(10 + 5 * (len(made) % 3))

    def monitor(actor: Actor, contract: UUID, level: int, reason: str) -> UUID:
        api.clock.advance(seconds=1)
        return ledger.add_monitoring(actor, contract, level=level, reason=reason, effective_on=w.today, reminder_on=soon())

    def owe(actor: Actor, contract: UUID, amount: str) -> UUID:
        api.clock.advance(seconds=1)
        return ledger.log_debt(actor, contract, amount=Decimal(amount), effective_on=w.today, reminder_on=soon())

    monitoring = [
        monitor(w.aga_admin, ours, 1, "New to Industry"), monitor(w.mga_admin, ours, 3, "Sales"),
        monitor(w.carrier_staff, ours, 1, "New to Industry"), monitor(w.aga_admin, ours, 3, "Sales"),
        monitor(w.carrier_staff, theirs, 3, "Sales"), monitor(w.other_aga_admin, theirs, 1, "New to Industry"),
    ]
    debts = [
        owe(w.aga_admin, ours, "10.00"), owe(w.carrier_staff, ours, "20.00"), owe(w.mga_admin, ours, "30.00"),
        owe(w.other_aga_admin, theirs, "40.00"), owe(w.carrier_staff, theirs, "50.00"),
    ]
    api.clock.advance(seconds=1)
    before, position = api.clock.now().isoformat(), api.position()
    api.clock.advance(seconds=1)
    ledger.change_monitoring(w.mga_admin, monitoring[1], level=1, reason="New to Industry")  # public, then private
    ledger.remove_monitoring(w.aga_admin, monitoring[0])
    monitoring.append(monitor(w.mga_admin, ours, 3, "Sales"))
    w.days_later(6)  # debt may be made public 5 days after it was recorded (rules §6)
    for debt, by in ((debts[1], w.carrier_staff), (debts[2], w.mga_admin), (debts[4], w.carrier_staff)):
        ledger.make_debt_public(by, debt)
    ledger.close_debt(w.mga_admin, debts[2])  # public, then closed: private again
    api.caught_up()
    viewers = [w.auditor, w.aga_admin, w.mga_admin, w.carrier_staff, w.producer, w.other_aga_admin, w.peer]
    return Book([ours, theirs], monitoring, debts, before, position, viewers)


def counting_rows_of(monkeypatch: Any, *tables: str) -> list[int]:
    """How many rows each statement reading one of the view tables ``tables`` (live names) answered."""
    read: list[int] = []
    rows = Reading.rows

    def counted(self: Reading, sql: str, params: Any = (), **how: Any) -> list[tuple]:
        found = rows(self, sql, params, **how)
        if any(re.search(rf"FROM {table}\b", sql) for table in tables):
            read.append(len(found))
        return found

    monkeypatch.setattr(Reading, "rows", counted)
    return read


def walk(
    api: Api, path: str, actor: Actor, filters: dict[str, str], read: list[int], statements: int = 1,
    most: int = LIMIT + 1,
) -> tuple[Any, list[Any]]:
    """The whole list in one answer, and the same list walked LIMIT by LIMIT
    (each page checked to read at most ``most`` rows, LIMIT + 1 unless told, in at most ``statements``)."""
    headers = api.as_(actor)
    whole = api.client.simulate_get(path, headers=headers, params={**filters, "limit": "500"})
    if whole.status_code != 200:
        return whole, []
    assert whole.json["next"] is None
    pages: list[Any] = []
    after = None
    while True:
        read.clear()
        params = {**filters, "limit": str(LIMIT), **({"after": after} if after else {})}
        answer = api.client.simulate_get(path, headers=headers, params=params)
        assert answer.status_code == 200, answer.json
        assert len(answer.json["items"]) <= LIMIT
        assert len(read) <= statements and sum(read) <= most, (path, actor, filters, read)
        pages += answer.json["items"]
        after = answer.json["next"]
        if after is None:
            break
    assert pages == whole.json["items"], (path, actor, filters)
    return whole, pages


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def sees(api: Api, actor: Actor, kind: str, record_id: str) -> bool:
    """The domain's own answer (rules §6): whether ``actor`` may see the record as it stands."""
    try:
        getattr(api.world.ledger, f"{kind}_record")(UUID(record_id), viewer=actor)
    except NotFound:
        return False
    return True


def test_a_contracts_history_is_read_page_by_page_in_sql_for_each_viewer(api: Api, monkeypatch: Any) -> None:
    book = oversight_book(api)
    w = api.world
    auditor = {
        contract: api.client.simulate_get(
            f"/contracts/{contract}/history", headers=api.as_(w.auditor), params={"limit": "500"}
        ).json["items"]
        for contract in book.contracts
    }
    read = counting_rows_of(monkeypatch, "history__live")
    for contract in book.contracts:
        for actor in book.viewers:
            for filters in ({}, {"as_of": book.before_the_last_records}):
                whole, pages = walk(api, f"/contracts/{contract}/history", actor, filters, read)
                chain = w.ledger.get_contract(contract).chain
                if not (actor.party_id in chain or actor in (w.auditor, w.peer)):
                    assert whole.status_code == 404 and whole.json["code"] == "contract.not_found"
                    continue
                expected = [
                    e["notification_id"] for e in auditor[contract]
                    if (e["record_id"] is None or sees(api, actor, e["subject"], e["record_id"]))
                    and ("as_of" not in filters or instant(e["recorded_at"]) <= instant(filters["as_of"]))
                ]
                assert [e["notification_id"] for e in pages] == expected, (contract, actor, filters)
                records = {e["record_id"] for e in pages if e["record_id"]}
                assert records or actor == w.peer, (contract, actor)


@pytest.mark.parametrize("path, kind, table, created", [
    ("/monitoring", "monitoring", "monitoring_versions__live", "placed_at"),
    ("/debts", "debt", "debt_versions__live", "logged_at"),
])
def test_monitoring_and_debt_are_read_page_by_page_in_sql_for_each_viewer_and_filter(
    api: Api, monkeypatch: Any, path: str, kind: str, table: str, created: str
) -> None:
    book = oversight_book(api)
    w = api.world
    ours, theirs = book.contracts
    everything = api.client.simulate_get(path, headers=api.as_(w.auditor), params={"limit": "500"}).json["items"]
    assert {r["record_id"] for r in everything} == {str(r) for r in (book.monitoring if kind == "monitoring" else book.debts)}
    filter_sets = [
        {}, {"contract_id": str(ours)}, {"contract_id": str(theirs)}, {"advisor_id": str(w.advisor)},
        {"advisor_id": str(w.second_advisor)}, {"contract_id": str(ours), "advisor_id": str(w.second_advisor)},
        {"as_of": book.before_the_last_records}, {"contract_id": str(ours), "as_of": book.before_the_last_records},
    ]
    read = counting_rows_of(monkeypatch, table)
    seen_by = {}
    for actor in book.viewers:
        for filters in filter_sets:
            whole, pages = walk(api, path, actor, filters, read)
            assert whole.status_code == 200, whole.json
            ids = [r["record_id"] for r in pages]
            order = [(instant(r[created]), r["record_id"]) for r in pages]
            assert order == sorted(order)
            if "as_of" in filters:
                assert all(instant(r[created]) <= instant(filters["as_of"]) for r in pages)
                continue
            expected = [
                r["record_id"] for r in everything
                if sees(api, actor, kind, r["record_id"])
                and all(r[name] == value for name, value in filters.items())
            ]
            assert ids == expected, (actor, filters)
            if not filters:
                seen_by[actor.user] = ids
    assert seen_by[w.peer.user] == [] and len(set(map(tuple, seen_by.values()))) > 3
    auditor = api.as_(w.auditor)
    for cursor in ("WzFd", "WyJ4IiwieSJd"):  # [1], ["x","y"]
        refused = api.client.simulate_get(path, headers=auditor, params={"after": cursor})
        assert refused.status_code == 400 and refused.json["code"] == "query.cursor_invalid", refused.json


def test_health_statuses_are_read_page_by_page_in_sql_for_each_viewer(api: Api, monkeypatch: Any) -> None:
    w = api.world
    newcomers = [w.register("advisor", f"Newcomer {n}", advisor_kind="individual") for n in range(3)]
    book = oversight_book(api)
    advisors = {str(a) for a in (w.advisor, w.corporation, w.second_advisor, *newcomers)}
    read = counting_rows_of(monkeypatch, "parties__live")
    flagged_for = {}
    for actor in book.viewers:
        for filters in ({}, {"on": w.in_days(-30).isoformat()}, {"on": w.in_days(400).isoformat()}):
            whole, pages = walk(api, "/health-statuses", actor, filters, read)
            assert whole.status_code == 200, whole.json
            assert {h["party_id"] for h in pages} == advisors
            for health in pages:  # each as the single route answers it for this viewer and day
                one = api.client.simulate_get(f"/parties/{health['party_id']}/health", headers=api.as_(actor), params=filters)
                assert one.json == health, (actor, filters)
            if not filters:
                flagged_for[actor.user] = tuple(tuple(h["monitoring_record_ids"] + h["debt_record_ids"]) for h in pages)
    assert any(ids for ids in flagged_for[w.auditor.user]) and not any(ids for ids in flagged_for[w.peer.user])
    assert len(set(flagged_for.values())) > 3
    for cursor in ("WzFd", "WyJ4Il0"):  # [1], ["x"]
        refused = api.client.simulate_get("/health-statuses", headers=api.as_(w.auditor), params={"after": cursor})
        assert refused.status_code == 400 and refused.json["code"] == "query.cursor_invalid", refused.json


def test_each_advisor_on_a_health_page_is_judged_from_the_records_that_concern_it_only(
    api: Api, monkeypatch: Any
) -> None:
    """A page of 50 advisors used to hand every record read for the page to each of the 50 (at 25,000
    contracts, 57,000 checks for one auditor's page): each is handed those on its own contracts and, for a
    corporation, its individuals'."""
    from contractledger.projections import health_status

    w = api.world
    book = oversight_book(api)
    judge = health_status.compute_health
    handed: dict[str, set[str]] = {}

    def judged(party_id: Any, **facts: Any) -> Any:
        handed[str(party_id)] = {str(r.advisor_id) for r in (*facts["monitoring"], *facts["debts"])}
        return judge(party_id, **facts)

    monkeypatch.setattr(health_status, "compute_health", judged)
    answer = api.client.simulate_get("/health-statuses", headers=api.as_(w.auditor), params={"limit": "50"})
    assert answer.status_code == 200, answer.json
    individuals_of = {str(w.corporation): {str(w.advisor)}}
    assert book.viewers and any(handed.values())
    for party_id, advisors in handed.items():
        assert advisors <= {party_id} | individuals_of.get(party_id, set()), (party_id, advisors)


def test_tasks_are_read_page_by_page_in_sql_for_each_viewer_and_filter(api: Api, monkeypatch: Any) -> None:
    book = oversight_book(api)
    w = api.world
    everything = api.client.simulate_get(
        "/tasks", headers=api.as_(w.auditor), params={"include_closed": "true", "limit": "500"}
    ).json["items"]
    assert len({t["record_id"] for t in everything}) == len(book.monitoring) + len(book.debts)
    assert any(t["closed_by"] for t in everything) and len({t["due_on"] for t in everything}) == 3
    first_day = min(t["due_on"] for t in everything)
    filter_sets = [{}, {"include_closed": "true"}, {"due_by": first_day}, {"due_by": first_day, "include_closed": "true"}]
    read = counting_rows_of(monkeypatch, "tasks__live")
    for actor in book.viewers:
        for filters in filter_sets:
            whole, pages = walk(api, "/tasks", actor, filters, read)
            assert whole.status_code == 200, whole.json
            expected = [
                t for t in everything
                if (actor == w.auditor or t["party_id"] == str(actor.party_id))
                and (filters.get("include_closed") or t["closed_by"] is None)
                and t["due_on"] <= filters.get("due_by", "9999-12-31")
            ]
            assert pages == expected, (actor, filters)
            if filters == {"include_closed": "true"}:
                assert bool(pages) is (actor not in (w.peer, w.producer)), actor
    for cursor in ("WzFd", "WyJ4IiwieSJd"):  # [1], ["x","y"]
        refused = api.client.simulate_get("/tasks", headers=api.as_(w.auditor), params={"after": cursor})
        assert refused.status_code == 400 and refused.json["code"] == "query.cursor_invalid", refused.json


def test_notifications_are_read_page_by_page_in_sql_for_each_viewer_and_filter(api: Api, monkeypatch: Any) -> None:
    w = api.world
    told = [w.aga_admin, w.mga_admin, w.carrier_staff, w.producer]
    for actor in told:
        w.ledger.configure_triggers(actor, [k.value for k in NotificationKind])
    w.ledger.configure_triggers(w.other_aga_admin, [NotificationKind.MONITORING_ADDED.value])  # no reminders
    book = oversight_book(api)
    reminders_due = w.in_days(20)
    filter_sets = [
        {}, {"since_position": str(book.position_before_the_last_records)}, {"on": reminders_due.isoformat()},
        {"on": reminders_due.isoformat(), "since_position": str(book.position_before_the_last_records)},
    ]
    read = counting_rows_of(monkeypatch, "notifications__live", "tasks__live")
    for actor in book.viewers:
        lists = {}
        for filters in filter_sets:
            # a page may end the ledger's notifications and start the reminders: two statements, LIMIT + 1 rows
            whole, pages = walk(api, "/notifications", actor, filters, read, statements=2)
            assert whole.status_code == 200, whole.json
            for n in pages:
                assert n["record_id"] is None or sees(api, actor, n["kind"].split("_")[0], n["record_id"]), (actor, n)
            lists[tuple(filters)] = pages
        everything, since, due, due_since = lists.values()
        position = book.position_before_the_last_records
        happenings = [n for n in everything if n["notification_id"] is not None]
        assert everything == happenings
        assert since == [n for n in happenings if n["notification_id"] > position]
        assert [n for n in due if n["notification_id"] is not None] == happenings
        reminders = [n for n in due if n["notification_id"] is None]
        assert due_since == since + reminders
        if actor in told:
            assert happenings and len(since) < len(happenings), actor
            assert bool(reminders) is (actor != w.producer), actor  # the advisor set no reminder
            assert {n["details"]["task_id"] for n in reminders} <= {
                t["task_id"] for t in api.client.simulate_get("/tasks", headers=api.as_(actor), params={"limit": "500"}).json["items"]
            }
        elif actor == w.other_aga_admin:
            assert happenings and not reminders
        else:
            assert not everything and not due, actor
    for cursor in ("WzFd", "WyJ4IiwieSJd", "WzIsMCwieCIsIiJd"):  # [1], ["x","y"], [2,0,"x",""]
        refused = api.client.simulate_get("/notifications", headers=api.as_(w.aga_admin), params={"after": cursor})
        assert refused.status_code == 400 and refused.json["code"] == "query.cursor_invalid", refused.json


def test_the_directory_is_read_page_by_page_in_sql_for_each_viewer_and_kind(api: Api, monkeypatch: Any) -> None:
    w = api.world
    for n in range(3):  # namesakes: the id orders them
        w.register("agency", "Namesake AGA", level="AGA")
    w.register("carrier", "Namesake Life")
    # Grace's contract with the Harbour AGA is terminated, her other contract stays in force; then she takes
    # a name that sorts first: the Harbour AGA still sees (and is paged by) the name of the snapshot
    ended = w.active_contract(advisor=w.second_advisor)
    w.active_contract(advisor=w.second_advisor, aga=w.other_aga)
    w.ledger.terminate(w.carrier_staff, ended, "Retired", [LETTER], effective_on=w.today)
    api.clock.advance(seconds=1)
    w.ledger.change_profile(w.second_producer, w.second_advisor, {"name": "Aaron Grace", "identifiers": {"npn": "AG"}})
    api.caught_up()
    stranger = w.admin_of(w.register("agency", "Elsewhere AGA", level="AGA"))
    api.caught_up()
    viewers = [w.auditor, w.aga_admin, w.other_aga_admin, w.mga_admin, w.carrier_staff, w.producer,
               w.second_producer, w.peer, stranger]
    everyone = {  # each party with its kind, as the ledger holds it
        c["party_id"]: w.ledger.get_party(UUID(c["party_id"])).kind
        for c in api.client.simulate_get("/parties", headers=api.as_(w.auditor), params={"limit": "500"}).json["items"]
    }
    assert len(everyone) == 12 and set(everyone.values()) == {"carrier", "agency", "advisor"}
    read = counting_rows_of(monkeypatch, "parties__live")
    names_of_grace = set()
    for actor in viewers:
        for filters in ({}, {"kind": "advisor"}, {"kind": "agency"}, {"kind": "carrier"}):
            whole, pages = walk(api, "/parties", actor, filters, read)
            assert whole.status_code == 200, whole.json
            assert {c["party_id"] for c in pages} == {p for p, kind in everyone.items() if kind == filters.get("kind", kind)}
            order = [(c["name"], c["party_id"]) for c in pages]
            assert order == sorted(order), (actor, filters)
            for card in pages:  # each as the party's own route shows it to this viewer
                one = api.client.simulate_get(f"/parties/{card['party_id']}", headers=api.as_(actor)).json
                assert (card["name"], card["identifiers"]) == (one["name"], one["identifiers"]), (actor, card)
                if card["party_id"] == str(w.second_advisor):
                    names_of_grace.add((actor.user, card["name"]))
    assert {name for user, name in names_of_grace if user == w.aga_admin.user} == {"Grace Hopper"}
    assert {name for user, name in names_of_grace if user != w.aga_admin.user} == {"Aaron Grace"}
    for cursor in ("WzFd", "WyJ4Il0", "WyJ4IiwieSJd"):  # [1], ["x"], ["x","y"]
        refused = api.client.simulate_get("/parties", headers=api.as_(w.auditor), params={"after": cursor})
        assert refused.status_code == 400 and refused.json["code"] == "query.cursor_invalid", refused.json


def test_transfer_requests_are_read_page_by_page_in_sql_for_each_viewer_and_filter(api: Api, monkeypatch: Any) -> None:
    w = api.world
    ledger = w.ledger
    ours = [w.active_contract() for _ in range(3)]  # Ada's, through the Harbour AGA
    theirs = w.active_contract(advisor=w.second_advisor, aga=w.other_aga)
    for contract in ours:
        ledger.request_transfer(w.producer, contract, w.aga, w.other_aga, note="To Lighthouse")
    ledger.rescind_transfer(w.producer, ours[0])
    ledger.request_transfer(w.producer, ours[0], w.aga, w.other_aga, note="Again")
    ledger.deny_transfer(w.other_aga_admin, ours[1])
    ledger.request_transfer(w.second_producer, theirs, w.other_aga, w.aga, note="To Harbour")
    api.caught_up()
    everything = api.client.simulate_get(
        "/transfer-requests", headers=api.as_(w.auditor), params={"limit": "500"}
    ).json["items"]
    assert len(everything) == 5 and len({r["state"] for r in everything}) == 3
    filter_sets = [{}, {"contract_id": str(ours[0])}, {"contract_id": str(theirs)}, {"state": "requested"},
                   {"state": "denied"}, {"contract_id": str(ours[0]), "state": "rescinded"}]
    viewers = [w.auditor, w.aga_admin, w.other_aga_admin, w.mga_admin, w.carrier_staff, w.producer,
               w.second_producer, w.peer]
    read = counting_rows_of(monkeypatch, "transfer_requests__live")
    for actor in viewers:
        for filters in filter_sets:
            whole, pages = walk(api, "/transfer-requests", actor, filters, read)
            assert whole.status_code == 200, whole.json
            expected = [  # rules §5: the accepting entity, the parties on the contract, auditors
                r for r in everything
                if (actor == w.auditor or str(actor.party_id) in (r["accepting_entity_id"], *r["chain"]))
                and all(r[name] == value for name, value in filters.items())
            ]
            assert pages == expected, (actor, filters)
            if not filters:
                assert bool(pages) is (actor != w.peer), actor
    for cursor in ("WyJ4Il0", "WzEsMl0", "WyJ4IiwieSJd"):  # ["x"], [1,2], ["x","y"]
        refused = api.client.simulate_get("/transfer-requests", headers=api.as_(w.auditor), params={"after": cursor})
        assert refused.status_code == 400 and refused.json["code"] == "query.cursor_invalid", refused.json


def test_direct_relationships_are_read_page_by_page_in_sql_for_each_viewer_and_filter(api: Api, monkeypatch: Any) -> None:
    w = api.world
    for n in range(3):  # more agencies under the MGA: some pending, some active
        agency = w.register("agency", f"Outpost {n} AGA", level="AGA")
        related = w.ledger.establish_direct_relationship(w.admin_of(agency), w.mga, agency)
        if n:
            w.ledger.set_manual_status(w.mga_admin, related, Status.ACTIVE)
    w.active_contract()  # an advisor's contract is no direct relationship
    api.caught_up()
    everything = api.client.simulate_get(
        "/direct-relationships", headers=api.as_(w.auditor), params={"limit": "500"}
    ).json["items"]
    assert len(everything) == 6 and len({r["status"] for r in everything}) == 2
    filter_sets = [{}, {"party_id": str(w.mga)}, {"party_id": str(w.aga)}, {"party_id": str(w.advisor)},
                   {"on": w.in_days(-1).isoformat()}, {"party_id": str(w.carrier), "on": w.in_days(30).isoformat()}]
    viewers = [w.auditor, w.carrier_staff, w.mga_admin, w.aga_admin, w.other_aga_admin, w.producer, w.peer]
    read = counting_rows_of(monkeypatch, "contracts__live")
    for actor in viewers:
        for filters in filter_sets:
            whole, pages = walk(api, "/direct-relationships", actor, filters, read)
            assert whole.status_code == 200, whole.json
            on_the_day = api.client.simulate_get(
                "/direct-relationships", headers=api.as_(w.auditor), params={**filters, "limit": "500"}
            ).json["items"]
            expected = [  # like every contract, seen by its two parties, auditors and sync peers
                (r["contract_id"], r["status"]) for r in on_the_day
                if actor in (w.auditor, w.peer) or str(actor.party_id) in (r["upper_id"], r["lower_id"])
            ]
            assert [(r["contract_id"], r["status"]) for r in pages] == expected, (actor, filters)
            assert [r["contract_id"] for r in pages] == sorted(r["contract_id"] for r in pages)
            if "party_id" in filters:
                assert all(filters["party_id"] in (r["upper_id"], r["lower_id"]) for r in pages)
    for cursor in ("WzFd", "WyJ4Il0", "WyJ4IiwieSJd"):  # [1], ["x"], ["x","y"]
        refused = api.client.simulate_get("/direct-relationships", headers=api.as_(w.auditor), params={"after": cursor})
        assert refused.status_code == 400 and refused.json["code"] == "query.cursor_invalid", refused.json


def test_an_advisors_downgrades_are_read_page_by_page_in_sql_for_each_viewer_and_day(api: Api, monkeypatch: Any) -> None:
    w = api.world
    ours = [w.active_contract() for _ in range(5)] + [w.active_contract(aga=w.other_aga)]  # Ada's
    for contract in (ours[0], ours[2], ours[5]):
        w.ledger.downgrade(w.carrier_staff, contract, "Complaints")
    w.ledger.downgrade(w.carrier_staff, ours[3], "Chargebacks", effective_on=w.in_days(10))
    w.ledger.downgrade(w.carrier_staff, w.active_contract(advisor=w.second_advisor, aga=w.other_aga), "Complaints")
    stranger = w.admin_of(w.register("agency", "Elsewhere AGA", level="AGA"))
    api.caught_up()
    path = f"/advisors/{w.advisor}/downgrades"
    chains = [w.ledger.get_contract(c).chain for c in ours]
    viewers = [w.auditor, w.aga_admin, w.other_aga_admin, w.carrier_staff, w.producer, w.second_producer, stranger, w.peer]
    read = counting_rows_of(monkeypatch, "contracts__live")
    for filters in ({}, {"on": w.in_days(11).isoformat()}, {"on": w.in_days(-1).isoformat()}):
        everything = api.client.simulate_get(path, headers=api.as_(w.auditor), params={**filters, "limit": "500"}).json["items"]
        assert len(everything) == (3 if not filters else 4 if filters["on"] > w.today.isoformat() else 0), filters
        for actor in viewers:
            whole, pages = walk(api, path, actor, filters, read)
            assert whole.status_code == 200, whole.json
            works_with = actor in (w.auditor, w.peer) or actor.party_id == w.advisor or any(
                actor.party_id in chain for chain in chains
            )  # rules §5: public to every party working with the advisor
            assert pages == (everything if works_with else []), (actor, filters)
            assert [d["contract_id"] for d in pages] == sorted(d["contract_id"] for d in pages)
    for cursor in ("WzFd", "WyJ4Il0", "WyJ4IiwieSJd"):  # [1], ["x"], ["x","y"]
        refused = api.client.simulate_get(path, headers=api.as_(w.auditor), params={"after": cursor})
        assert refused.status_code == 400 and refused.json["code"] == "query.cursor_invalid", refused.json


def test_bundles_and_mixed_bundles_are_read_page_by_page_in_sql_for_each_viewer(api: Api, monkeypatch: Any) -> None:
    w = api.world
    chains = [w.chain(), w.chain(aga=w.other_aga), [w.carrier, w.mga, w.advisor]]
    bundles = []
    for n in range(5):  # five bundles the MGA assigns; three split by a hold, as an old ledger left them
        outcome = w.ledger.assign_contracts(w.mga_admin, chains[: 2 + n % 2], "agency_admin")
        bundles.append(outcome["contract_ids"])
        if n in (0, 2, 3):
            held = w.ledger.get_contract(outcome["contract_ids"][n % 2])
            held.set_manual_status(Status.AWAITING_INCOMING_RELEASE, None, (), actor=w.mga_admin, effective_on=w.today,
                                   at=w.clock.now())
            w.ledger.save(held)
    stranger = w.admin_of(w.register("agency", "Elsewhere AGA", level="AGA"))
    api.caught_up()
    viewers = [w.auditor, w.mga_admin, w.aga_admin, w.other_aga_admin, w.carrier_staff, w.producer, stranger, w.peer]
    read = counting_rows_of(monkeypatch, "bundle_members__live")
    for path in ("/bundles", "/mixed-bundles"):
        everything = api.client.simulate_get(path, headers=api.as_(w.auditor), params={"limit": "500"}).json["items"]
        assert len(everything) == (5 if path == "/bundles" else 3)
        for actor in viewers:
            # a page is LIMIT + 1 bundles of at most three members each
            whole, pages = walk(api, path, actor, {}, read, most=(LIMIT + 1) * 3)
            assert whole.status_code == 200, whole.json
            expected = []  # rules §4 and 5: each member shown only to those who may see its contract
            for bundle in everything:
                members = [
                    m for m in bundle["members"]
                    if actor in (w.auditor, w.peer) or actor.party_id in w.ledger.get_contract(UUID(m["contract_id"])).chain
                ]
                statuses = {m["status"] for m in members if not m["detached"]}
                if members and (path == "/bundles" or len(statuses) > 1):
                    expected.append({**bundle, "members": members})
            assert pages == expected, (path, actor)
            if path == "/bundles":
                assert bool(pages) is (actor != stranger), actor
            else:  # mixed among the members the viewer sees: the MGA sees them all, the AGAs one each
                assert bool(pages) is (actor in (w.auditor, w.peer, w.mga_admin, w.carrier_staff, w.producer)), actor
        for cursor in ("WzFd", "WyJ4Il0", "WyJ4IiwieSJd"):  # [1], ["x"], ["x","y"]
            refused = api.client.simulate_get(path, headers=api.as_(w.auditor), params={"after": cursor})
            assert refused.status_code == 400 and refused.json["code"] == "query.cursor_invalid", refused.json


def test_mixed_bundles_are_read_from_the_bundles_the_view_keeps_as_mixed(api: Api, monkeypatch: Any) -> None:
    """A book of many bundles still with the agency and a few mixed: the list reads the few the view keeps as
    mixed, never every bundle of the viewer's book (at 250,000 contracts the grouping took a carrier 10 s)."""
    w = api.world
    chains = [w.chain(), w.chain(aga=w.other_aga), [w.carrier, w.mga, w.advisor]]
    split = []
    for n in range(12):  # twelve bundles with the agency; three split by a hold, as an old ledger left them
        outcome = w.ledger.assign_contracts(w.mga_admin, chains[: 2 + n % 2], "agency_admin")
        if n % 4 == 0:
            held = w.ledger.get_contract(outcome["contract_ids"][0])
            held.set_manual_status(Status.AWAITING_INCOMING_RELEASE, None, (), actor=w.mga_admin, effective_on=w.today,
                                   at=w.clock.now())
            w.ledger.save(held)
            split.append(outcome)
    api.caught_up()
    mixed_table = "mixed_bundles__live"

    def kept() -> set[str]:
        return {bundle_id for (bundle_id,) in api.config.views.query(f"SELECT bundle_id FROM {mixed_table}")}

    assert kept() == {str(o["bundle_id"]) for o in split}
    viewers = [w.auditor, w.mga_admin, w.aga_admin, w.carrier_staff, w.producer, w.peer]

    def listed_with_work() -> tuple[dict[str, set[str]], dict[str, int]]:
        """Each viewer's mixed bundles, and on SQLite the steps its reading took (the engine's own count)."""
        listed, work = {}, {}
        connection = api.config.views._connection() if api.config.views.dialect == "sqlite" else None
        for actor in viewers:
            steps = [0]
            if connection is not None:
                connection.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1) or 0, 100)
            listed[actor.user] = {b["bundle_id"] for b in get_items(api, actor, "/mixed-bundles")}
            work[actor.user] = steps[0]
        if connection is not None:
            connection.set_progress_handler(None, 0)
        return listed, work

    listed, small = listed_with_work()
    for actor in viewers:
        assert listed[actor.user] <= kept() and (actor == w.aga_admin or listed[actor.user]), actor
    for _ in range(36):  # three times as many bundles with the agency, none mixed
        w.ledger.assign_contracts(w.mga_admin, chains[:2], "agency_admin")
    api.caught_up()
    again, large = listed_with_work()
    assert again == listed
    if api.config.views.dialect == "sqlite":  # the work stays that of the few kept, not of the book
        assert all(large[user] <= small[user] * 1.2 + 20 for user in small), (small, large)
    # the member standing apart detached: its bundle is no longer kept, nor listed
    w.ledger.detach_from_bundle(w.mga_admin, split[0]["contract_ids"][0])
    api.caught_up()
    assert kept() == {str(o["bundle_id"]) for o in split[1:]}
    assert {b["bundle_id"] for b in get_items(api, w.auditor, "/mixed-bundles")} == kept()


def get_items(api: Api, actor: Actor, path: str) -> list[Any]:
    answer = api.client.simulate_get(path, headers=api.as_(actor), params={"limit": "500"})
    assert answer.status_code == 200, answer.json
    return answer.json["items"]


def test_associations_are_read_page_by_page_in_sql_for_each_party(api: Api, monkeypatch: Any) -> None:
    w = api.world
    corporations = [w.corporation] + [w.register("advisor", f"Advisory {n} Inc", advisor_kind="corporate") for n in range(2)]
    individuals = [w.advisor] + [w.register("advisor", f"Newcomer {n}", advisor_kind="individual") for n in range(4)]
    for individual in individuals[1:]:
        producer = Actor(Role.PRODUCER, f"producer-{individual.hex[:6]}", individual)
        w.ledger.associate_advisor_with_corporation(producer, individual, w.corporation)
        if individual == individuals[1]:
            for corporation in corporations[1:]:
                w.ledger.associate_advisor_with_corporation(producer, individual, corporation)
        if individual == individuals[4]:
            w.ledger.dissociate_advisor_from_corporation(producer, individual, w.corporation)
    api.caught_up()
    read = counting_rows_of(monkeypatch, "associations__live")
    for party in [*corporations, *individuals, w.aga]:
        kept = w.ledger.get_party(party).corporations if party in individuals else {
            i for i in individuals if party in w.ledger.get_party(i).corporations
        }  # rules §1: an individual's corporations, or a corporation's individuals, as the ledger holds them
        for actor in (w.auditor, w.aga_admin, w.producer, w.peer):
            whole, pages = walk(api, f"/parties/{party}/associations", actor, {}, read)
            assert whole.status_code == 200, whole.json
            assert pages == sorted(str(p) for p in kept), (party, actor)
    assert len(walk(api, f"/parties/{w.corporation}/associations", w.auditor, {}, read)[1]) == 4
    for cursor in ("WzFd", "WyJ4Il0", "WyJ4IiwieSJd"):  # [1], ["x"], ["x","y"]
        refused = api.client.simulate_get(
            f"/parties/{w.corporation}/associations", headers=api.as_(w.auditor), params={"after": cursor}
        )
        assert refused.status_code == 400 and refused.json["code"] == "query.cursor_invalid", refused.json


def test_a_partys_page_of_contracts_walks_its_own_list_and_costs_the_page(api: Api) -> None:
    """A carrier's (or an agency's) page of contracts, with or without a status filter, and an auditor's page of
    one party's contracts: read from that party's own list of contracts in the lists' order, stopping at the
    limit, not by sorting every contract of the party for each page (at 25,000 contracts a carrier's page of
    active contracts evaluated its 1,878 contracts and took 30 ms; at 250,000, ten times as many). The pages
    are the same as the whole list's slices; on SQLite the engine's work stays flat when the book grows."""
    w = api.world

    def grow(contracts: int) -> None:
        for n in range(contracts):
            w.clock.advance(seconds=1)  # lists show the oldest first: the first pages stay as the book grows
            advisor = w.register("advisor", f"Walker {n} {w.clock.now().isoformat()}", advisor_kind="individual")
            (contract,) = w.assign(w.chain(advisor), by=w.aga_admin)
            if n % 3 == 0:
                w.ledger.set_manual_status(w.carrier_staff, contract, Status.ACTIVE)
        api.caught_up()

    pages = [
        (w.carrier_staff, "/contracts", {}), (w.carrier_staff, "/contracts", {"status": "active"}),
        (w.mga_admin, "/contracts", {"status": "active"}), (w.auditor, "/contracts", {"party_id": str(w.aga)}),
    ]

    def first_pages() -> tuple[list[list[str]], list[int]]:
        found, work = [], []
        connection = api.config.views._connection() if api.config.views.dialect == "sqlite" else None
        for actor, path, filters in pages:
            steps = [0]
            if connection is not None:
                connection.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1) or 0, 100)
            answer = api.client.simulate_get(path, headers=api.as_(actor), params={**filters, "limit": "5"})
            if connection is not None:
                connection.set_progress_handler(None, 0)
            assert answer.status_code == 200, answer.json
            found.append([c["contract_id"] for c in answer.json["items"]])
            work.append(steps[0])
            whole = api.client.simulate_get(path, headers=api.as_(actor), params={**filters, "limit": "500"}).json["items"]
            assert found[-1] == [c["contract_id"] for c in whole][:5]  # the whole list's first slice
        return found, work

    grow(30)
    small_pages, small = first_pages()
    assert all(len(page) == 5 for page in small_pages)
    grow(120)
    large_pages, large = first_pages()
    assert large_pages == small_pages  # the book grew after them: the first pages stay
    if api.config.views.dialect == "sqlite":
        assert all(after <= before * 1.2 + 20 for before, after in zip(small, large)), (small, large)


def test_a_contract_status_view_built_before_it_kept_each_partys_list_learns_it_from_the_chains(api: Api) -> None:
    """A generation of the contract status view built by an older version has no party lists: preparing the
    view reads them once from the chains it kept, so a party's pages still show every contract of it."""
    from contractledger.projections.contract_status import ContractStatusView

    w = api.world
    w.active_contract()
    api.caught_up()
    before = get_items(api, w.carrier_staff, "/contracts")
    view = ContractStatusView()
    with api.config.views.transaction() as tx:
        tx.execute(f"DELETE FROM {view.t['party_contracts']}")  # as an older generation had none
        for statement in view.tables_schema():
            tx.execute(statement)
    assert before and get_items(api, w.carrier_staff, "/contracts") == before
    ((pairs,),) = api.config.views.query(f"SELECT COUNT(*) FROM {view.t['party_contracts']}")
    ((chains,),) = api.config.views.query(f"SELECT COUNT(*) FROM {view.t['contract_parties']}")
    assert pairs == chains


def test_a_transfer_requests_view_built_before_it_kept_each_partys_requests_in_order_learns_them(api: Api) -> None:
    """A generation of the transfer requests view built by an older version kept each (request, party) pair
    without the request's position: preparing the view reads them once into each party's ordered list, so a
    party on the contract still sees every request on it."""
    from contractledger.projections.transfer_requests import TransferRequestsView

    w = api.world
    contract = w.active_contract()
    api.config.ledger.request_transfer(w.producer, contract, w.aga, w.other_aga, note="To Lighthouse")
    api.caught_up()
    before = {actor: get_items(api, actor, "/transfer-requests") for actor in (w.carrier_staff, w.producer)}
    view = TransferRequestsView()
    t = view.t
    with api.config.views.transaction() as tx:  # as an older generation kept them
        tx.execute(f"INSERT INTO {t['transfer_request_parties']} (request_id, party_id)"
                   f" SELECT request_id, party_id FROM {t['party_requests']}")
        tx.execute(f"DELETE FROM {t['party_requests']}")
    assert get_items(api, w.carrier_staff, "/transfer-requests") == []  # what the older generation's pages lack
    with api.config.views.transaction() as tx:
        for statement in view.tables_schema():
            tx.execute(statement)
    assert all(before.values())
    assert {actor: get_items(api, actor, "/transfer-requests") for actor in before} == before
