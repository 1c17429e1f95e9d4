"""The dashboard view (issue 14) counts what each viewer may see, by status and
by carrier, agency or advisor, on any day, as each contract's own history
says; its stage clock and waiting list agree with the contract status view's
``status_since``."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dashboard_book import dashboard_book, expected_counts, sees  # noqa: E402
from views_scenario import ContractingWorld, postgres_views, project, sqlite_views  # noqa: E402

from contractledger.projections import contract_status, dashboard  # noqa: E402
from contractledger.projections.dashboard import AGE_BUCKETS, GROUPINGS  # noqa: E402
from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.clock import SettableClock, business_date  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.projections.engine.queries import Reading, reading  # noqa: E402
from contractledger.projections.viewer import Viewer  # noqa: E402


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: Any, tmp_path: Any) -> Any:
    yield from (sqlite_views(tmp_path) if request.param == "sqlite" else postgres_views())


def viewers(w: ContractingWorld) -> list[Any]:
    return [w.auditor, w.peer, w.carrier_staff, w.mga_admin, w.aga_admin, w.other_aga_admin, w.producer,
            w.second_producer, w.operator]


def stage_ages(database: Any, w: ContractingWorld, book: Any, actor: Any, on: Any) -> dict[str, list[int]]:
    """Per status, the contracts in each age bucket, from the contract status view's status_since."""
    ages: dict[str, list[int]] = {}
    for contract_id in book.contracts:
        c = w.ledger.get_contract(contract_id)
        if not sees(actor, c.chain):
            continue
        shown = contract_status.contract(database, Viewer.of(w.auditor), contract_id, on=on)
        days = max(0, (on - shown.status_since).days)
        bucket = next(i for i, (_, top) in enumerate(AGE_BUCKETS) if top is None or days <= top)
        ages.setdefault(shown.status.value, [0] * len(AGE_BUCKETS))[bucket] += 1
    return ages


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_the_counts_are_each_viewers_contracts_by_status_and_group_on_any_day(database: Any, batch_size: int) -> None:
    w = ContractingWorld()
    book = dashboard_book(w)
    project(w.ledger, database, batch_size=batch_size)
    days = book.days.values()
    for actor in viewers(w):
        for by in GROUPINGS:
            for on in days:
                with reading(database) as read:
                    found = dashboard.read_counts(read, Viewer.of(actor), by, on)
                expected = expected_counts(w, book, actor, by, on)
                shown = Counter({(s.value, str(g) if g else ""): n for (s, g), n in expected.items()})
                assert found == shown, (actor.user, by, on)
    auditor_today = expected_counts(w, book, w.auditor, "status", book.days["today"])
    assert len(auditor_today) >= 6 and expected_counts(w, book, w.operator, "status", book.days["today"]) == Counter()


def test_the_stage_clock_and_the_waiting_list_follow_each_contracts_status_since(database: Any) -> None:
    w = ContractingWorld()
    book = dashboard_book(w)
    project(w.ledger, database)
    for actor in viewers(w):
        for on in (book.days["today"], book.days["after_the_termination"]):
            got = dashboard.dashboard_counts(database, Viewer.of(actor), by="status", on=on, today=book.days["today"])
            clock = {a.status.value: [b.contracts for b in a.buckets] for a in got.stage_clock}
            assert clock == stage_ages(database, w, book, actor, on), (actor.user, on)
            for ages in got.stage_clock:
                waiting = dashboard.waiting_contracts(database, Viewer.of(actor), ages.status, 30, on=on)
                assert len(waiting) == sum(ages.buckets[i].contracts for i in (2, 3)), (actor.user, ages)
                assert all(c.days_in_status > 30 for c in waiting)
                assert [(c.status_since, str(c.contract_id)) for c in waiting] == sorted(
                    (c.status_since, str(c.contract_id)) for c in waiting)
    past = dashboard.dashboard_counts(database, Viewer.of(w.auditor), by="status", on=book.days["day_50"],
                                      today=book.days["today"])
    assert past.stage_clock is None and past.counts


def test_a_dashboard_read_searches_indexes_and_scans_no_table(tmp_path: Any, monkeypatch: Any) -> None:
    """On SQLite, every statement a count, stage clock or waiting list read makes is an index SEARCH (a waiting
    page, its last stages' range and its ending stages', each cut to the page): no table is scanned."""
    (database,) = sqlite_views(tmp_path)
    w = ContractingWorld()
    book = dashboard_book(w)
    project(w.ledger, database)
    statements: list[tuple[str, list[Any]]] = []
    rows = Reading.rows

    def recorded(self: Reading, sql: str, params: Any = (), **how: Any) -> list[tuple]:
        statements.append((sql, list(params)))
        return rows(self, sql, params, **how)

    monkeypatch.setattr(Reading, "rows", recorded)
    for actor in (w.auditor, w.aga_admin):
        for by in GROUPINGS:
            dashboard.dashboard_counts(database, Viewer.of(actor), by=by, on=book.days["today"], today=book.days["today"])
        dashboard.waiting_contracts(database, Viewer.of(actor), Status.ACTIVE, 14, on=book.days["today"], limit=3)
        after = (book.days["start"], w.carrier)
        dashboard.waiting_contracts(database, Viewer.of(actor), Status.ACTIVE, 14, on=book.days["today"], after=after, limit=3)
    # a count: 3 statements; by status: its count and the stage clock's recent and ending stages; by a party: the
    # status count too; two waiting pages
    assert len(statements) == 2 * (5 + 8 * (len(GROUPINGS) - 1) + 2)
    for sql, params in statements:
        steps = [row[-1] for row in database.query(f"EXPLAIN QUERY PLAN {sql}", params)]
        # a page merged from ranges reads each range's few rows back from its co-routine: not a table
        merged = {step.split()[1] for step in steps if step.startswith("CO-ROUTINE ")}
        tables_scanned = [step for step in steps if step.startswith("SCAN ") and step.split()[1] not in merged]
        assert any(step.startswith("SEARCH ") for step in steps) and not tables_scanned, (sql, steps)


def test_on_a_generated_book_the_dashboard_agrees_with_the_contract_status_view(database: Any) -> None:
    """The workload generator's book (transfers, consolidations, holds, dates ahead, years of days): for the
    auditor and parties with large and small books, the counts on five days by every grouping, the stage
    clock and the waiting lists are what the contract status view lists."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # the workload generator, not shipped
    from workload import generate

    clock = SettableClock(datetime(2026, 1, 5, 9, tzinfo=timezone.utc))
    ledger = ContractLedger(clock=clock)
    generate(ledger, clock, 4000, seed=3)
    project(ledger, database, batch_size=300)
    auditor = Viewer.auditor("audrey")
    every = contract_status.contracts(database, auditor)
    parties = [p for p, _ in Counter(p for c in every for p in c.chain).most_common()]
    viewers = [auditor, *(Viewer(Actor(Role.AGENCY_ADMIN, "admin", p)) for p in (*parties[:2], *parties[-2:]))]
    today = business_date(clock, clock.now())
    days = [today - timedelta(days=300), today - timedelta(days=20), today, today + timedelta(days=45)]
    for viewer in viewers:
        for on in days:
            shown = contract_status.contracts(database, viewer, on=on)
            for by in GROUPINGS:
                with reading(database) as read:
                    found = dashboard.read_counts(read, viewer, by, on)
                assert found == Counter((c.status.value, str(g) if g else "") for c in shown for g in _groups(c, by))
            if on < today:
                continue
            answer = dashboard.dashboard_counts(database, viewer, by="status", on=on, today=today)
            ages: dict[str, list[int]] = {}
            for c in shown:
                days_in = max(0, (on - c.status_since).days)
                bucket = next(i for i, (_, top) in enumerate(AGE_BUCKETS) if top is None or days_in <= top)
                ages.setdefault(c.status.value, [0] * len(AGE_BUCKETS))[bucket] += 1
            assert {a.status.value: [b.contracts for b in a.buckets] for a in answer.stage_clock} == ages
            for status in {c.status for c in shown}:
                for longer_than in (0, 30, 200):
                    assert [(w.status_since, w.contract_id) for w in dashboard.waiting_contracts(
                        database, viewer, status, longer_than, on=on)] == sorted(
                        (c.status_since, c.contract_id) for c in shown
                        if c.status is status and (on - c.status_since).days > longer_than)
    assert len(every) > 300 and len({c.status for c in every}) > 6


def _groups(c: Any, by: str) -> list[Any]:
    if by == "status":
        return [None]
    if by == "carrier":
        return [c.carrier_id]
    if by == "advisor":
        return [c.advisor_id]
    return list(c.chain[1:] if c.kind == "direct_relationship" else c.chain[1:-1]) or [None]
