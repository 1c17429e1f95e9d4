"""Visibility on the read side (rules §5 to 7): for each kind of private
record, a viewer who must not see it does not (lists, counts, health,
history, notifications), and one who may, does."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from views_scenario import LETTER, ContractingWorld, postgres_views, project, sqlite_views  # noqa: E402

from contractledger.domain.monitoring import MonitoringLevel  # noqa: E402
from contractledger.projections import contract_history, contract_status, directory, health_status  # noqa: E402
from contractledger.projections import oversight_records, tasks_and_notifications  # noqa: E402
from contractledger.projections.viewer import Viewer  # noqa: E402


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: Any, tmp_path: Any) -> Any:
    yield from (sqlite_views(tmp_path) if request.param == "sqlite" else postgres_views())


@pytest.fixture
def world() -> ContractingWorld:
    world = ContractingWorld()
    world.contract = world.active_contract()
    # the MGA also works with the advisor's second contract, through another AGA
    world.other_contract = world.active_contract(aga=world.other_aga)
    return world


def see(world: ContractingWorld, actor: Any) -> Viewer:
    return Viewer.of(actor)


def record_ids_in_history(database: Any, viewer: Viewer, contract_id: Any) -> set[Any]:
    return {entry.record_id for entry in contract_history.contract_history(database, viewer, contract_id) or [] if entry.record_id}


def test_private_monitoring_is_seen_only_by_the_party_that_placed_it_and_auditors(database: Any, world: ContractingWorld) -> None:
    w = world
    w.ledger.configure_triggers(w.carrier_staff, ["monitoring_added"])
    record = w.ledger.add_monitoring(
        w.aga_admin, w.contract, level=2, reason="Internal Investigation", effective_on=w.today, reminder_on=w.in_days(7)
    )
    project(w.ledger, database)
    for outsider in (w.carrier_staff, w.mga_admin, w.producer, w.peer):
        viewer = Viewer.of(outsider)
        assert oversight_records.monitoring_records(database, viewer, contract_id=w.contract) == []
        assert oversight_records.monitoring_records(database, viewer, advisor_id=w.advisor) == []
        assert health_status.health_status(database, viewer, w.advisor, on=w.today).is_clear
        assert health_status.health_status(database, viewer, w.corporation, on=w.today).is_clear
        assert record not in record_ids_in_history(database, viewer, w.contract)
    assert tasks_and_notifications.notifications(database, Viewer.of(w.carrier_staff), on=w.today) == []
    for insider in (w.aga_admin, w.auditor):
        viewer = Viewer.of(insider)
        assert [m.record_id for m in oversight_records.monitoring_records(database, viewer, contract_id=w.contract)] == [record]
        health = health_status.health_status(database, viewer, w.advisor, on=w.today)
        assert (health.highest_monitoring_level, health.monitoring_record_ids) == (MonitoringLevel.INTERNAL_INVESTIGATION, (record,))
        assert health_status.health_status(database, viewer, w.corporation, on=w.today).monitoring_record_ids == (record,)
        assert record in record_ids_in_history(database, viewer, w.contract)


def test_public_monitoring_is_seen_by_every_party_on_the_contract_but_not_by_others(database: Any, world: ContractingWorld) -> None:
    w = world
    record = w.ledger.add_monitoring(w.aga_admin, w.contract, level=3, reason="Sales", effective_on=w.today, reminder_on=w.in_days(7))
    project(w.ledger, database)
    for party in (w.carrier_staff, w.mga_admin, w.producer, w.aga_admin):
        assert [m.record_id for m in oversight_records.monitoring_records(database, Viewer.of(party), contract_id=w.contract)] == [record]
    outsider = Viewer.of(w.other_aga_admin)  # works with the advisor, but not on this contract
    assert oversight_records.monitoring_records(database, outsider, advisor_id=w.advisor) == []
    assert health_status.health_status(database, outsider, w.advisor, on=w.today).is_clear
    assert oversight_records.monitoring_records(database, Viewer.of(w.peer), contract_id=w.contract) == []


def test_private_debt_is_seen_only_by_the_party_that_logged_it(database: Any, world: ContractingWorld) -> None:
    w = world
    debt = w.ledger.log_debt(w.mga_admin, w.contract, amount="1250.00", effective_on=w.today, reminder_on=w.in_days(3))
    project(w.ledger, database)
    for outsider in (w.carrier_staff, w.aga_admin, w.producer, w.peer):
        viewer = Viewer.of(outsider)
        assert oversight_records.debt_records(database, viewer, advisor_id=w.advisor) == []
        assert not health_status.health_status(database, viewer, w.advisor, on=w.today).has_unresolved_debt
        assert debt not in record_ids_in_history(database, viewer, w.contract)
        assert tasks_and_notifications.tasks(database, viewer) == [] or outsider is w.peer
    for insider in (w.mga_admin, w.auditor):
        viewer = Viewer.of(insider)
        assert [d.record_id for d in oversight_records.debt_records(database, viewer, contract_id=w.contract)] == [debt]
        assert health_status.health_status(database, viewer, w.advisor, on=w.today).debt_record_ids == (debt,)
        assert debt in record_ids_in_history(database, viewer, w.contract)
    assert [t.record_id for t in tasks_and_notifications.tasks(database, Viewer.of(w.mga_admin))] == [debt]


def test_public_debt_closed_again_leaves_every_other_party_s_sight(database: Any, world: ContractingWorld) -> None:
    w = world
    w.ledger.configure_triggers(w.carrier_staff, ["debt_made_public"])
    debt = w.ledger.log_debt(w.mga_admin, w.contract, amount="99.99", effective_on=w.today, reminder_on=w.in_days(3))
    w.days_later(5)
    w.ledger.make_debt_public(w.mga_admin, debt)
    project(w.ledger, database)
    carrier = Viewer.of(w.carrier_staff)
    assert [d.record_id for d in oversight_records.debt_records(database, carrier, contract_id=w.contract)] == [debt]
    assert health_status.health_status(database, carrier, w.advisor, on=w.today).has_unresolved_debt
    assert [n.record_id for n in tasks_and_notifications.notifications(database, carrier, on=w.today)] == [debt]
    made_public_at = w.clock.now()
    w.ledger.close_debt(w.mga_admin, debt)
    project(w.ledger, database)
    assert oversight_records.debt_records(database, carrier, contract_id=w.contract) == []
    assert not health_status.health_status(database, carrier, w.advisor, on=w.today).has_unresolved_debt
    assert debt not in record_ids_in_history(database, carrier, w.contract)
    assert tasks_and_notifications.notifications(database, carrier, on=w.today) == []
    # the ledger's knowledge at the earlier instant is still read with today's visibility
    assert oversight_records.debt_records(database, carrier, contract_id=w.contract, as_of=made_public_at) == []
    assert [d.record_id for d in oversight_records.debt_records(database, Viewer.of(w.mga_admin), contract_id=w.contract)] == [debt]
    assert debt in record_ids_in_history(database, Viewer.of(w.auditor), w.contract)


def test_a_vested_contract_is_seen_only_by_its_parties(database: Any, world: ContractingWorld) -> None:
    w = world
    w.ledger.vest(w.carrier_staff, w.contract, "Vested book")
    project(w.ledger, database)
    outsider = Viewer.of(w.other_aga_admin)  # works with the advisor on the other contract
    assert w.contract not in [c.contract_id for c in contract_status.contracts(database, outsider, advisor_id=w.advisor)]
    assert contract_status.contract(database, outsider, w.contract, on=w.today) is None
    assert contract_history.contract_history(database, outsider, w.contract) is None
    assert contract_status.advisor_downgrades(database, outsider, w.advisor, on=w.today) == []
    for insider in (w.aga_admin, w.producer, w.auditor):
        assert contract_status.contract(database, Viewer.of(insider), w.contract, on=w.today).status.value == "vested"
        events = [e.event for e in contract_history.contract_history(database, Viewer.of(insider), w.contract)]
        assert events[-1] == "Vested"


def test_a_downgrade_is_seen_by_every_party_working_with_the_advisor(database: Any, world: ContractingWorld) -> None:
    w = world
    w.ledger.downgrade(w.carrier_staff, w.contract, "Persistent complaints")
    stranger = w.register("agency", "Elsewhere AGA", level="AGA")
    project(w.ledger, database)
    for working_with in (w.other_aga_admin, w.aga_admin, w.producer, w.auditor):
        (downgrade,) = contract_status.advisor_downgrades(database, Viewer.of(working_with), w.advisor, on=w.today)
        assert (downgrade.contract_id, downgrade.reason) == (w.contract, "Persistent complaints")
    assert contract_status.advisor_downgrades(database, Viewer.of(w.admin_of(stranger)), w.advisor, on=w.today) == []
    # seeing the downgrade is not seeing the contract
    assert contract_status.contract(database, Viewer.of(w.other_aga_admin), w.contract) is None


def test_after_termination_takes_effect_the_terminating_parties_read_the_profile_as_it_was(database: Any, world: ContractingWorld) -> None:
    w = world
    ended = w.assign(w.chain(w.second_advisor), by=w.aga_admin)[0]
    w.onboard(ended, w.aga_admin, w.second_producer)
    w.ledger.set_manual_status(w.carrier_staff, ended, "active")
    w.ledger.terminate(w.carrier_staff, ended, "Retired", [LETTER], effective_on=w.in_days(10))
    w.days_later(12)
    w.ledger.change_profile(w.second_producer, w.second_advisor, {"addresses": [{"city": "Arlington"}]})
    project(w.ledger, database)
    aga = Viewer.of(w.aga_admin)
    assert "addresses" not in directory.party_profile(database, aga, w.second_advisor, on=w.today)
    # before the termination's effective date the parties still follow the profile
    assert "addresses" in directory.party_profile(database, aga, w.second_advisor, on=w.in_days(-5))
    for may in (w.second_producer, w.auditor):
        assert directory.party_profile(database, Viewer.of(may), w.second_advisor, on=w.today)["addresses"] == [{"city": "Arlington"}]
    assert "addresses" not in directory.party_profile(database, Viewer.of(w.other_aga_admin), w.second_advisor, on=w.today)


def test_sync_peers_see_every_contract_but_no_monitoring_or_debt(database: Any, world: ContractingWorld) -> None:
    w = world
    w.ledger.add_writing_number(w.carrier_staff, w.contract, "NL-0042")
    w.ledger.add_monitoring(w.mga_admin, w.contract, level=4, reason="Carrier initiated", effective_on=w.today, reminder_on=w.in_days(1))
    project(w.ledger, database)
    peer = Viewer.of(w.peer)
    listed = {c.contract_id: c for c in contract_status.contracts(database, peer, advisor_id=w.advisor)}
    assert set(listed) == {w.contract, w.other_contract}
    assert listed[w.contract].writing_numbers == ("NL-0042",)
    assert oversight_records.monitoring_records(database, peer, advisor_id=w.advisor) == []
    assert all(e.subject == "contract" for e in contract_history.contract_history(database, peer, w.contract))
    assert health_status.health_status(database, peer, w.advisor, on=w.today).is_clear
