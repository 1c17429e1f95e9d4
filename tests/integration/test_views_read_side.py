"""The views as dashboards read them: contract status on any date with the
change ahead, filters, links, history in order, tasks, bundles that stay
consistent; and the views runner following a live ledger with the catalogue."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from views_scenario import LETTER, START, ContractingWorld, postgres_views, project, sqlite_views  # noqa: E402

from contractledger.domain.clock import SettableClock  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.projections import bundle_consistency, contract_history, contract_status, tasks_and_notifications  # noqa: E402
from contractledger.runtime.catalogue import VIEWS  # noqa: E402
from contractledger.projections.engine.service import run_views  # noqa: E402
from contractledger.projections.viewer import Viewer  # noqa: E402
from contractledger.projections.engine.waiting import wait_until_applied  # noqa: E402


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: Any, tmp_path: Any) -> Any:
    yield from (sqlite_views(tmp_path) if request.param == "sqlite" else postgres_views())


@pytest.fixture
def sqlite_database(tmp_path: Any) -> Any:
    yield from sqlite_views(tmp_path)


def test_a_termination_dated_next_month_shows_active_with_the_change_ahead_until_it_takes_effect(database: Any) -> None:
    w = ContractingWorld()
    contract_id = w.active_contract()
    w.ledger.terminate(w.carrier_staff, contract_id, "Retired", [LETTER], effective_on=w.in_days(30))
    project(w.ledger, database)
    auditor = Viewer.of(w.auditor)
    now = contract_status.contract(database, auditor, contract_id, on=w.today)
    assert now.status is Status.ACTIVE
    assert (now.pending_change.status, now.pending_change.effective_on) == (Status.TERMINATED, w.in_days(30))
    later = contract_status.contract(database, auditor, contract_id, on=w.in_days(30))
    assert (later.status, later.pending_change, later.status_reason) == (Status.TERMINATED, None, "Retired")
    assert [c.contract_id for c in contract_status.contracts(database, auditor, status="active", on=w.today, advisor_id=w.advisor)] == [contract_id]


def test_the_status_as_the_ledger_knew_it_at_a_past_instant_ignores_later_changes(sqlite_database: Any) -> None:
    w = ContractingWorld()
    contract_id = w.active_contract()
    w.ledger.add_contract_code(w.aga_admin, contract_id, "NL-A")
    before = w.clock.now()
    w.days_later(1)
    w.ledger.downgrade(w.carrier_staff, contract_id, "Complaints")
    w.ledger.set_contract_code_status(w.aga_admin, contract_id, "NL-A", "inactive")
    project(w.ledger, sqlite_database)
    then = contract_status.contract(sqlite_database, Viewer.of(w.auditor), contract_id, on=w.today, as_of=before)
    assert (then.status, then.codes) == (Status.ACTIVE, {"NL-A": "active"})
    now = contract_status.contract(sqlite_database, Viewer.of(w.auditor), contract_id, on=w.today)
    assert (now.status, now.codes) == (Status.DOWNGRADED, {"NL-A": "inactive"})


def test_contracts_are_filtered_by_any_party_on_the_chain_carrier_and_advisor(sqlite_database: Any) -> None:
    w = ContractingWorld()
    first = w.active_contract()
    second = w.active_contract(advisor=w.second_advisor, aga=w.other_aga)
    project(w.ledger, sqlite_database)
    auditor = Viewer.of(w.auditor)

    def ids(**filters: Any) -> set[Any]:
        return {c.contract_id for c in contract_status.contracts(sqlite_database, auditor, **filters) if c.kind == "advisor"}

    assert ids(party_id=w.mga) == {first, second}
    assert ids(party_id=w.other_aga) == {second}
    assert ids(advisor_id=w.advisor) == {first}
    assert ids(carrier_id=w.carrier) == {first, second}
    assert {c.contract_id for c in contract_status.contracts(sqlite_database, Viewer.of(w.aga_admin))} >= {first}
    assert second not in {c.contract_id for c in contract_status.contracts(sqlite_database, Viewer.of(w.aga_admin))}


def test_a_completed_transfer_links_the_original_and_its_successor(sqlite_database: Any) -> None:
    w = ContractingWorld()
    original = w.active_contract()
    w.ledger.request_transfer(w.producer, original, w.aga, w.other_aga)
    successor = w.ledger.accept_transfer(w.other_aga_admin, original, "third_party", w.mga)["successor_id"]
    w.onboard(successor, w.other_aga_admin, w.producer)
    w.ledger.set_manual_status(w.carrier_staff, successor, "active")
    project(w.ledger, sqlite_database)
    auditor = Viewer.of(w.auditor)
    ended = contract_status.contract(sqlite_database, auditor, original, on=w.today)
    assert (ended.status, ended.successor_id, ended.status_reason) == (Status.TERMINATED, successor, "Transferred")
    assert contract_status.contract(sqlite_database, auditor, successor, on=w.today).predecessor_id == original


def test_the_history_lists_every_event_in_order_with_who_and_when_and_the_records_trail(database: Any) -> None:
    w = ContractingWorld()
    contract_id = w.active_contract()
    record = w.ledger.add_monitoring(w.mga_admin, contract_id, level=3, reason="Sales", effective_on=w.today, reminder_on=w.in_days(2))
    w.ledger.change_monitoring(w.mga_admin, record, level=4, reason="MGA Initiated")
    w.ledger.remove_monitoring(w.mga_admin, record)
    project(w.ledger, database)
    history = contract_history.contract_history(database, Viewer.of(w.producer), contract_id)
    assert [e.event for e in history] == [
        "Assigned", "SentToProducer", "SubmittedByProducer", "SubmittedToCarrier", "StatusChanged",
        "Placed", "Changed", "Removed",
    ]
    assert [e.notification_id for e in history] == sorted(e.notification_id for e in history)
    placed = history[5]
    assert (placed.subject, placed.record_id, placed.actor_party_id, placed.actor_role) == ("monitoring", record, w.mga, "agency_admin")
    assert placed.details["level"] == 3 and history[4].details["status"] == "active"


def test_a_history_page_read_in_sql_holds_the_next_entries_the_viewer_may_see(database: Any) -> None:
    w = ContractingWorld()
    contract_id = w.active_contract()
    private = w.ledger.add_monitoring(w.mga_admin, contract_id, level=1, reason="New to Industry", effective_on=w.today, reminder_on=w.in_days(2))
    for code in ("A1", "A2", "A3", "A4"):
        w.ledger.add_contract_code(w.carrier_staff, contract_id, code)
    w.ledger.remove_monitoring(w.mga_admin, private)
    project(w.ledger, database)
    for viewer in (Viewer.of(w.producer), Viewer.of(w.mga_admin), Viewer.auditor("audrey")):
        whole = contract_history.contract_history(database, viewer, contract_id)
        pages, after = [], None
        while True:
            page = contract_history.contract_history(database, viewer, contract_id, after=after, limit=3)
            if not page:
                break
            assert len(page) <= 3
            pages += page
            after = page[-1].notification_id
        assert pages == whole
    producer_sees = contract_history.contract_history(database, Viewer.of(w.producer), contract_id)
    assert private not in {e.record_id for e in producer_sees}


def test_a_reminder_task_closes_when_its_record_changes_and_reopens_for_a_new_date(sqlite_database: Any) -> None:
    w = ContractingWorld()
    contract_id = w.active_contract()
    record = w.ledger.add_monitoring(w.mga_admin, contract_id, level=1, reason="New to Industry", effective_on=w.today, reminder_on=w.in_days(2))
    w.ledger.change_monitoring(w.mga_admin, record, reminder_on=w.in_days(9))
    project(w.ledger, sqlite_database)
    mga = Viewer.of(w.mga_admin)
    assert [t.due_on for t in tasks_and_notifications.tasks(sqlite_database, mga)] == [w.in_days(9)]
    assert [t.closed_by for t in tasks_and_notifications.tasks(sqlite_database, mga, include_closed=True)] == ["record changed", None]
    w.ledger.close_reminder_task(w.mga_admin, record)
    project(w.ledger, sqlite_database)
    assert tasks_and_notifications.tasks(sqlite_database, mga) == []


def test_no_bundle_ends_up_mixed_after_a_realistic_onboarding(database: Any) -> None:
    w = ContractingWorld()
    bundle = w.assign(w.chain(), [w.carrier, w.mga, w.advisor], by=w.mga_admin)
    w.ledger.send_to_producer(w.mga_admin, bundle[0])
    w.ledger.submit_by_producer(w.producer, bundle[1])
    w.ledger.return_to_producer(w.mga_admin, bundle[0])
    w.ledger.submit_by_producer(w.producer, bundle[0])
    w.ledger.submit_to_carrier(w.mga_admin, bundle[1])
    w.ledger.set_manual_status(w.carrier_staff, bundle[0], "active")
    project(w.ledger, database)
    auditor = Viewer.of(w.auditor)
    assert bundle_consistency.mixed_bundles(database, auditor) == []
    (listed,) = [b for b in bundle_consistency.bundles(database, auditor) if len(b.members) == 2]
    assert sorted(m.status.value for m in listed.members) == ["active", "pending_carrier"]


def test_a_bundle_whose_members_disagree_on_their_workflow_status_is_found(sqlite_database: Any) -> None:
    w = ContractingWorld()
    bundle = w.assign(w.chain(), [w.carrier, w.mga, w.advisor], by=w.mga_admin)
    project(w.ledger, sqlite_database)
    assert bundle_consistency.mixed_bundles(sqlite_database, Viewer.of(w.auditor)) == []
    held = w.ledger.get_contract(bundle[0])  # a step the rules refuse, saved past them as a broken writer would
    held.set_manual_status(Status.AWAITING_INCOMING_RELEASE, None, (), actor=w.mga_admin, effective_on=w.today, at=w.clock.now())
    w.ledger.save(held)
    project(w.ledger, sqlite_database)
    (mixed,) = bundle_consistency.mixed_bundles(sqlite_database, Viewer.of(w.auditor))
    assert mixed.member_statuses == {Status.PENDING_AGENCY, Status.AWAITING_INCOMING_RELEASE}
    assert bundle_consistency.mixed_bundles(sqlite_database, Viewer.of(w.other_aga_admin)) == []


def test_bundle_detach_first_a_member_held_apart_before_pending_carrier_makes_its_bundle_mixed(sqlite_database: Any) -> None:
    w = ContractingWorld()
    split = w.assign(w.chain(), w.chain(aga=w.other_aga), [w.carrier, w.mga, w.advisor], by=w.mga_admin)
    held = w.ledger.get_contract(split[0])  # held alone, as a ledger written before bundle.detach_first did
    held.set_manual_status(Status.AWAITING_INCOMING_RELEASE, None, (), actor=w.mga_admin, effective_on=w.today, at=w.clock.now())
    w.ledger.save(held)
    apart = w.assign(w.chain(), [w.carrier, w.mga, w.advisor], by=w.mga_admin)
    w.ledger.detach_from_bundle(w.mga_admin, apart[0])
    w.ledger.set_manual_status(w.mga_admin, apart[0], Status.PENDING_BACKGROUNDS)  # detached: moves alone
    decided = w.assign(w.chain(), [w.carrier, w.mga, w.advisor], by=w.mga_admin)
    w.ledger.submit_to_carrier(w.mga_admin, decided[0])
    w.ledger.set_manual_status(w.carrier_staff, decided[0], Status.ACTIVE)  # per contract from pending_carrier
    ended = w.assign(w.chain(), [w.carrier, w.mga, w.advisor], by=w.mga_admin)
    w.ledger.nullify(w.mga_admin, ended[0])  # a terminal member stays where it ended
    project(w.ledger, sqlite_database)
    (mixed,) = bundle_consistency.mixed_bundles(sqlite_database, Viewer.of(w.auditor))
    assert {m.contract_id for m in mixed.members} == set(split)
    assert mixed.member_statuses == {Status.PENDING_AGENCY, Status.AWAITING_INCOMING_RELEASE}
    # the promise kept: once the member standing apart is detached, nothing is mixed
    w.ledger.detach_from_bundle(w.mga_admin, split[0])
    project(w.ledger, sqlite_database)
    assert bundle_consistency.mixed_bundles(sqlite_database, Viewer.of(w.auditor)) == []




@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request: Any, tmp_path: Any) -> Any:
    if request.param == "sqlite":
        from contractledger.projections.engine.view_database import SqliteViewDatabase

        path = str(tmp_path / "ledger.sqlite3")
        env = {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": path}
        views = SqliteViewDatabase(path)
        yield env, views
        views.close()
        return
    generator = postgres_views()
    views = next(generator)
    import os

    env = {
        "PERSISTENCE_MODULE": "contractledger.store.postgres",
        **{k: os.environ[k] for k in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD")},
        "POSTGRES_SCHEMA": views._schema,
    }
    yield env, views
    next(generator, None)


def test_the_views_runner_keeps_every_catalogued_view_current_on_a_live_ledger(live: Any) -> None:
    env, views = live
    clock = SettableClock(START)
    ledger = ContractLedger(env, clock=clock)
    stop = threading.Event()
    runner = threading.Thread(target=run_views, args=(ledger.recorder, ledger.mapper, views, VIEWS, stop))
    runner.start()
    try:
        w = ContractingWorld(ledger, clock)
        contract_id = w.active_contract()
        w.ledger.terminate(w.carrier_staff, contract_id, "Retired", [LETTER], effective_on=w.in_days(30))
        debt = w.ledger.log_debt(w.mga_admin, contract_id, amount="10.00", effective_on=w.today, reminder_on=w.in_days(1))
        head = ledger.recorder.max_notification_id()
        assert wait_until_applied(views, head, [v.name for v in VIEWS], timeout=20)
        auditor = Viewer.of(w.auditor)
        status = contract_status.contract(views, auditor, contract_id, on=w.today)
        assert (status.status, status.pending_change.status) == (Status.ACTIVE, Status.TERMINATED)
        assert contract_history.contract_history(views, Viewer.of(w.mga_admin), contract_id)[-1].record_id == debt
        assert [t.record_id for t in tasks_and_notifications.tasks(views, Viewer.of(w.mga_admin))] == [debt]
    finally:
        stop.set()
        runner.join(timeout=20)
        ledger.close()
    assert not runner.is_alive()
