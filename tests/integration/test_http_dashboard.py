"""The dashboard over HTTP (issue 14): as several viewers, the counts are what
``GET /contracts`` shows them, counted by status and by carrier, agency or
advisor, today, on a past and on a future day; the stage clock's buckets are
those of each contract's status date; the waiting list is the contracts in
a status longer than N days, oldest first, page by page; a rebuild counts
the same; a count reads the same few rows however many contracts there are."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dashboard_book import DashboardBook, dashboard_book  # noqa: E402
from test_http_list_pages import counting_rows_of  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.projections.dashboard import AGE_BUCKETS, GROUPINGS, DashboardView  # noqa: E402
from contractledger.projections.engine.rebuild import rebuild  # noqa: E402
from contractledger.projections.engine.replay import verify_against_live  # noqa: E402


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


@pytest.fixture
def book(api: Api) -> DashboardBook:
    made = dashboard_book(api.world)
    api.caught_up()
    return made


def viewers(api: Api) -> list[Actor]:
    w = api.world
    return [w.auditor, w.peer, w.carrier_staff, w.mga_admin, w.aga_admin, w.other_aga_admin, w.producer,
            w.second_producer, w.operator]


def get(api: Api, actor: Actor, path: str, **params: Any) -> Any:
    answer = api.client.simulate_get(path, headers=api.as_(actor), params={k: str(v) for k, v in params.items()})
    assert answer.status_code == 200, answer.text
    return answer.json


def contracts_shown(api: Api, actor: Actor, on: date) -> list[dict[str, Any]]:
    """``GET /contracts`` on the day, walked whole."""
    found, after = [], None
    while True:
        page = get(api, actor, "/contracts", on=on, limit=3, **({"after": after} if after else {}))
        found += page["items"]
        after = page["next"]
        if after is None:
            return found


def groups_of(contract: dict[str, Any], by: str) -> list[str | None]:
    chain = contract["chain"]
    if by == "status":
        return [None]
    if by == "carrier":
        return [contract["carrier_id"]]
    if by == "advisor":
        return [contract["advisor_id"]]
    return (chain[1:] if contract["kind"] == "direct_relationship" else chain[1:-1]) or [None]


def counted(contracts: list[dict[str, Any]], by: str) -> Counter:
    return Counter((c["status"], group) for c in contracts for group in groups_of(c, by))


def answered(answer: dict[str, Any]) -> Counter:
    return Counter({(c["status"], c["group_id"]): c["contracts"] for c in answer["counts"]})


def age_buckets(contracts: list[dict[str, Any]], on: date) -> dict[str, list[int]]:
    ages: dict[str, list[int]] = {}
    for c in contracts:
        days = max(0, (on - date.fromisoformat(c["status_since"])).days)
        bucket = next(i for i, (_, top) in enumerate(AGE_BUCKETS) if top is None or days <= top)
        ages.setdefault(c["status"], [0] * len(AGE_BUCKETS))[bucket] += 1
    return ages


def test_the_counts_are_what_the_contracts_list_shows_each_viewer_by_status_and_party(api: Api, book: DashboardBook) -> None:
    days = [book.days["today"], book.days["day_12"], book.days["day_50"], book.days["after_the_termination"]]
    seen = set()
    for actor in viewers(api):
        for on in days:
            contracts = contracts_shown(api, actor, on)
            for by in GROUPINGS:
                answer = get(api, actor, "/dashboard/counts", by=by, on=on)
                assert (answer["on"], answer["by"]) == (on.isoformat(), by)
                assert answered(answer) == counted(contracts, by), (actor.user, by, on)
            seen.add((actor.user, tuple(sorted(counted(contracts, "status").items()))))
    today = get(api, api.world.auditor, "/dashboard/counts")
    assert today == get(api, api.world.auditor, "/dashboard/counts", by="status", on=book.days["today"])
    assert len({statuses for _, statuses in seen}) > 10  # viewers and days differ
    assert get(api, api.world.operator, "/dashboard/counts")["counts"] == []


def test_the_stage_clock_buckets_each_contracts_time_in_its_status(api: Api, book: DashboardBook) -> None:
    for actor in viewers(api):
        for on in (book.days["today"], book.days["after_the_termination"]):
            answer = get(api, actor, "/dashboard/counts", on=on)
            clock = {a["status"]: [b["contracts"] for b in a["buckets"]] for a in answer["stage_clock"]}
            assert clock == age_buckets(contracts_shown(api, actor, on), on), (actor.user, on)
            for ages in answer["stage_clock"]:
                assert [(b["min_days"], b["max_days"]) for b in ages["buckets"]] == list(AGE_BUCKETS)
                assert ages["contracts"] == sum(b["contracts"] for b in ages["buckets"])
    past = get(api, api.world.auditor, "/dashboard/counts", on=book.days["day_50"])
    assert past["stage_clock"] is None and past["counts"]
    oldest = {a["status"]: a["buckets"][-1]["contracts"] for a in get(api, api.world.auditor, "/dashboard/counts")["stage_clock"]}
    assert sum(oldest.values()) > 0  # the book has contracts over 90 days in their status


def test_the_waiting_list_is_the_contracts_in_a_status_longer_than_n_days_oldest_first(api: Api, book: DashboardBook) -> None:
    statuses = {c["status"] for c in contracts_shown(api, api.world.auditor, book.days["today"])}
    walked = 0
    for actor in viewers(api):
        for on in (book.days["today"], book.days["after_the_termination"]):
            contracts = contracts_shown(api, actor, on)
            for status in sorted(statuses):
                for longer_than in (0, 14, 30, 100):
                    expected = sorted(
                        (c["status_since"], c["contract_id"]) for c in contracts
                        if c["status"] == status and (on - date.fromisoformat(c["status_since"])).days > longer_than
                    )
                    pages, after = [], None
                    while True:
                        params = {"status": status, "longer_than_days": longer_than, "on": on, "limit": 2}
                        page = get(api, actor, "/dashboard/waiting", **params, **({"after": after} if after else {}))
                        assert len(page["items"]) <= 2
                        pages += page["items"]
                        after = page["next"]
                        if after is None:
                            break
                    assert [(c["status_since"], c["contract_id"]) for c in pages] == expected, (actor.user, status, on)
                    assert all(c["days_in_status"] == (on - date.fromisoformat(c["status_since"])).days for c in pages)
                    walked += len(pages)
    assert walked > 50


def test_a_rebuilt_dashboard_view_counts_the_same(api: Api, book: DashboardBook) -> None:
    w, ledger = api.world, api.config.ledger
    asked = [(by, on) for by in GROUPINGS for on in book.days.values()]
    before = {(a.user, by, on): get(api, a, "/dashboard/counts", by=by, on=on) for a in viewers(api) for by, on in asked}
    aside = rebuild(ledger.recorder, ledger.mapper, api.config.views, DashboardView, switch=False)
    assert verify_against_live(ledger.recorder, ledger.mapper, api.config.views, DashboardView, aside.generation) == []
    rebuild(ledger.recorder, ledger.mapper, api.config.views, DashboardView)
    after = {(a.user, by, on): get(api, a, "/dashboard/counts", by=by, on=on) for a in viewers(api) for by, on in asked}
    assert after == before
    assert any(answer["counts"] for answer in after.values()) and w.auditor.user in {k[0] for k in after}


def test_a_count_reads_the_same_rows_however_many_contracts_there_are(api: Api, book: DashboardBook, monkeypatch: Any) -> None:
    w = api.world
    read = counting_rows_of(monkeypatch, "status_counts__live", "status_count_changes__live", "status_count_months__live",
                            "stage_counts__live", "stages__live")

    def rows_read(actor: Actor, by: str) -> int:
        read.clear()
        get(api, actor, "/dashboard/counts", by=by)
        return sum(read)

    def more_contracts(n: int) -> None:
        for _ in range(n):
            w.active_contract()
            w.assign()
        api.caught_up()

    asked = [(a, by) for a in (w.auditor, w.aga_admin, w.carrier_staff) for by in GROUPINGS]
    more_contracts(1)  # today's moves: the rows read are per status, group and day, never per contract
    small = {(a.user, by): rows_read(a, by) for a, by in asked}
    more_contracts(12)  # in the statuses, groups and days the book has already
    assert get(api, w.auditor, "/dashboard/counts")["counts"] != []
    large = {(a.user, by): rows_read(a, by) for a, by in asked}
    assert large == small
    # (status, group) keys ever used, today's changes ahead, the stage clock's days: a few dozen rows here
    assert 0 < min(small.values()) and max(small.values()) < 60, small


def test_bad_dashboard_parameters_are_refused_with_stable_codes(api: Api, book: DashboardBook) -> None:
    auditor = api.as_(api.world.auditor)
    yesterday = date.fromordinal(book.days["today"].toordinal() - 1).isoformat()
    for path, params, code in [
        ("/dashboard/counts", {"by": "party"}, "query.invalid_parameter"),
        ("/dashboard/counts", {"on": "2026-02-30"}, "query.invalid_parameter"),
        ("/dashboard/counts", {"status": "active"}, "query.invalid_parameter"),
        ("/dashboard/waiting", {"longer_than_days": "3"}, "query.invalid_parameter"),
        ("/dashboard/waiting", {"status": "active"}, "query.invalid_parameter"),
        ("/dashboard/waiting", {"status": "dormant", "longer_than_days": "3"}, "query.invalid_parameter"),
        ("/dashboard/waiting", {"status": "active", "longer_than_days": "-1"}, "query.invalid_parameter"),
        ("/dashboard/waiting", {"status": "active", "longer_than_days": "1.5"}, "query.invalid_parameter"),
        ("/dashboard/waiting", {"status": "active", "longer_than_days": "3", "on": yesterday}, "dashboard.waiting_before_today"),
        ("/dashboard/waiting", {"status": "active", "longer_than_days": "3", "after": "WzFd"}, "query.cursor_invalid"),
        ("/dashboard/waiting", {"status": "active", "longer_than_days": "3", "after": "WyJ4IiwieSJd"}, "query.cursor_invalid"),
    ]:
        refused = api.client.simulate_get(path, headers=auditor, params=params)
        assert (refused.status_code, refused.json["code"]) == (400, code), (path, params, refused.json)
