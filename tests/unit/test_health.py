"""rules §7: health status, derived from the monitoring and debt a viewer may see,
flowing from an individual advisor to its corporations and never back."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID, uuid4

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import LedgerScenario  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.debt import DebtStatus  # noqa: E402
from contractledger.domain.errors import NotFound, RuleBroken  # noqa: E402
from contractledger.domain.health import (  # noqa: E402
    DebtOnContract,
    HealthStatus,
    MonitoringOnContract,
    concerns,
    health_status,
)
from contractledger.domain.monitoring import MonitoringLevel  # noqa: E402
from contractledger.domain.oversight import advisor_record_index_id  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402


class HealthScenario(LedgerScenario):
    """Ada (individual) works alone and for Acme Advisory (a corporate advisor)."""

    def setUp(self) -> None:
        super().setUp()
        self.contract = self.active_contract()
        self.acme = self.register("advisor", "Acme Advisory Inc", advisor_kind="corporate")
        self.acme_user = Actor(Role.PRODUCER, "acme-office", self.acme)
        self.outsider = self.register("agency", "Elsewhere Agency", level="MGA")
        self.outsider_admin = Actor(Role.AGENCY_ADMIN, "olga@elsewhere", self.outsider)

    def active_contract_of(self, advisor: UUID, producer: Actor) -> UUID:
        (contract_id,) = self.assign([self.carrier, self.mga, self.aga, advisor])
        self.ledger.send_to_producer(self.aga_admin, contract_id)
        self.ledger.submit_by_producer(producer, contract_id)
        self.ledger.submit_to_carrier(self.aga_admin, contract_id)
        self.ledger.set_manual_status(self.carrier_staff, contract_id, Status.ACTIVE)
        return contract_id

    def monitor(
        self, level: int, reason: str, actor: Actor | None = None, contract: UUID | None = None, **dates: date
    ) -> UUID:
        return self.ledger.add_monitoring(
            actor or self.carrier_staff,
            contract or self.contract,
            level=level,
            reason=reason,
            effective_on=dates.get("effective_on", self.today),
            reminder_on=dates.get("reminder_on", self.in_days(30)),
        )

    def debt(self, actor: Actor | None = None, contract: UUID | None = None, **terms: object) -> UUID:
        return self.ledger.log_debt(
            actor or self.mga_admin,
            contract or self.contract,
            amount="900",
            effective_on=self.today,
            reminder_on=self.in_days(30),
            **terms,
        )

    def health(self, viewer: Actor, party: UUID | None = None, **options: object) -> HealthStatus:
        return self.ledger.health_status(viewer, party or self.advisor, **options)


class TestHealthOfAnAdvisor(HealthScenario):
    def test_an_advisor_without_monitoring_or_debt_is_clear(self) -> None:
        health = self.health(self.carrier_staff)
        self.assertTrue(health.is_clear)
        self.assertEqual(
            (None, False, ()),
            (health.highest_monitoring_level, health.has_unresolved_debt, health.contributing_record_ids),
        )
        self.assertEqual(self.today, health.on)

    def test_health_is_the_highest_level_in_force_and_unresolved_debt_with_the_records_that_contribute(self) -> None:
        coaching = self.monitor(3, "Sales")
        new_advisor = self.monitor(1, "New to Industry")
        owed = self.debt(self.carrier_staff)
        health = self.health(self.carrier_staff)
        self.assertEqual(MonitoringLevel.COACHING, health.highest_monitoring_level)
        self.assertTrue(health.has_unresolved_debt)
        self.assertEqual(tuple(sorted([coaching, new_advisor])), health.monitoring_record_ids)
        self.assertEqual((owed,), health.debt_record_ids)

    def test_a_viewer_sees_health_computed_only_from_records_it_may_see(self) -> None:
        self.monitor(2, "Internal Investigation")
        public = self.monitor(3, "Procedures", actor=self.mga_admin)
        self.debt(self.mga_admin)
        carrier_view = self.health(self.carrier_staff)
        self.assertEqual(MonitoringLevel.COACHING, carrier_view.highest_monitoring_level)
        self.assertFalse(carrier_view.has_unresolved_debt, "the MGA's debt is private to the MGA")
        aga_view = self.health(self.aga_admin)
        self.assertEqual((MonitoringLevel.COACHING, (public,)), (aga_view.highest_monitoring_level, aga_view.monitoring_record_ids))
        self.assertTrue(self.health(self.mga_admin).has_unresolved_debt)
        auditor_view = self.health(self.auditor)
        self.assertEqual((MonitoringLevel.COACHING, True, 3), (
            auditor_view.highest_monitoring_level, auditor_view.has_unresolved_debt, len(auditor_view.contributing_record_ids)
        ))
        self.assertTrue(self.health(self.outsider_admin).is_clear, "a party off the contract sees none of it")

    def test_public_debt_counts_for_every_party_on_the_contract(self) -> None:
        owed = self.debt(self.mga_admin)
        self.days_later(5)
        self.ledger.make_debt_public(self.mga_admin, owed)
        self.assertEqual((owed,), self.health(self.aga_admin).debt_record_ids)

    def test_removed_monitoring_and_monitoring_not_yet_in_force_do_not_count(self) -> None:
        removed = self.monitor(4, "Carrier initiated")
        self.ledger.remove_monitoring(self.carrier_staff, removed)
        upcoming = self.monitor(3, "Sales", effective_on=self.in_days(10))
        self.assertTrue(self.health(self.carrier_staff).is_clear)
        later = self.health(self.carrier_staff, on=self.in_days(10))
        self.assertEqual((MonitoringLevel.COACHING, (upcoming,)), (later.highest_monitoring_level, later.monitoring_record_ids))

    def test_resolved_and_closed_debt_do_not_count(self) -> None:
        resolved = self.debt(self.carrier_staff)
        closed = self.debt(self.carrier_staff)
        self.ledger.change_debt(self.carrier_staff, resolved, status="resolved")
        self.ledger.close_debt(self.carrier_staff, closed)
        self.assertFalse(self.health(self.carrier_staff).has_unresolved_debt)

    def test_carriers_and_agencies_have_no_health_status(self) -> None:
        self.assert_refused(
            RuleBroken, "health.not_an_advisor", lambda: self.ledger.health_status(self.auditor, self.aga)
        )

    def test_an_unknown_party_has_no_health(self) -> None:
        with self.assertRaises(NotFound) as caught:
            self.ledger.health_status(self.carrier_staff, uuid4())
        self.assertEqual("party.not_found", caught.exception.code)


class TestHealthOfACorporation(HealthScenario):
    def test_records_on_an_individual_advisors_contract_count_for_every_corporation_it_is_associated_with(self) -> None:
        other = self.register("advisor", "Beta Planning Ltd", advisor_kind="corporate")
        self.ledger.associate_advisor_with_corporation(self.producer, self.advisor, self.acme)
        self.ledger.associate_advisor_with_corporation(self.producer, self.advisor, other)
        supervision = self.monitor(4, "Regulatory Requirement")
        for corporation in (self.acme, other):
            health = self.health(self.carrier_staff, corporation, associated_advisor_ids=[self.advisor])
            self.assertEqual(
                (corporation, MonitoringLevel.CLOSE_SUPERVISION, (supervision,)),
                (health.party_id, health.highest_monitoring_level, health.monitoring_record_ids),
            )

    def test_a_corporations_own_records_and_its_individuals_records_add_up(self) -> None:
        self.ledger.associate_advisor_with_corporation(self.producer, self.advisor, self.acme)
        acme_contract = self.active_contract_of(self.acme, self.acme_user)
        own = self.debt(self.carrier_staff, contract=acme_contract)
        individual = self.monitor(3, "Sales")
        health = self.health(self.carrier_staff, self.acme, associated_advisor_ids=[self.advisor])
        self.assertEqual(((individual,), (own,)), (health.monitoring_record_ids, health.debt_record_ids))

    def test_records_on_a_corporate_advisors_contract_do_not_count_for_its_individuals(self) -> None:
        self.ledger.associate_advisor_with_corporation(self.producer, self.advisor, self.acme)
        acme_contract = self.active_contract_of(self.acme, self.acme_user)
        self.monitor(4, "Carrier initiated", contract=acme_contract)
        self.debt(self.carrier_staff, contract=acme_contract)
        self.assertTrue(self.health(self.carrier_staff, self.advisor).is_clear)
        self.assertFalse(self.health(self.carrier_staff, self.acme).is_clear)

    def test_naming_an_advisor_who_is_not_associated_changes_nothing(self) -> None:
        self.monitor(3, "Sales")
        self.assertTrue(self.health(self.carrier_staff, self.acme, associated_advisor_ids=[self.advisor]).is_clear)

    def test_a_dissociated_advisor_stops_counting_for_the_corporation(self) -> None:
        self.ledger.associate_advisor_with_corporation(self.producer, self.advisor, self.acme)
        self.monitor(3, "Sales")
        self.ledger.dissociate_advisor_from_corporation(self.producer, self.advisor, self.acme)
        self.assertTrue(self.health(self.carrier_staff, self.acme, associated_advisor_ids=[self.advisor]).is_clear)


class TestTheHealthRuleOnPlainValues(HealthScenario):
    """The read side passes rows, not aggregates: the rule must hold on plain values."""

    def test_health_is_computed_from_plain_values(self) -> None:
        chain = (self.carrier, self.mga, self.aga, self.advisor)
        in_force = MonitoringOnContract(uuid4(), self.advisor, chain, self.carrier, MonitoringLevel.COACHING, self.today, None)
        removed = MonitoringOnContract(
            uuid4(), self.advisor, chain, self.carrier, MonitoringLevel.CLOSE_SUPERVISION,
            self.today - timedelta(days=9), self.today,
        )
        owed = DebtOnContract(uuid4(), self.advisor, chain, self.mga, DebtStatus.UNRESOLVED, True, self.today)
        health = health_status(
            self.acme,
            viewer=self.aga_admin,
            on=self.today,
            monitoring=[in_force, removed],
            debts=[owed],
            corporations_of_individuals={self.advisor: frozenset({self.acme})},
        )
        self.assertEqual(
            (MonitoringLevel.COACHING, True, (in_force.record_id, owed.record_id)),
            (health.highest_monitoring_level, health.has_unresolved_debt, health.contributing_record_ids),
        )

    def test_association_is_read_from_the_individuals_side_only(self) -> None:
        associations = {self.advisor: frozenset({self.acme})}
        self.assertTrue(concerns(self.acme, self.advisor, associations))
        self.assertTrue(concerns(self.advisor, self.advisor, associations))
        self.assertFalse(concerns(self.advisor, self.acme, associations))


class TestTheAdvisorRecordIndex(HealthScenario):
    def test_every_record_on_an_advisors_contracts_is_indexed_in_the_same_save(self) -> None:
        monitoring = self.monitor(3, "Sales")
        debt = self.debt()
        index = self.ledger.repository.get(advisor_record_index_id(self.advisor))
        self.assertEqual(([monitoring], [debt]), (index.monitoring_ids, index.debt_ids))

    def test_an_index_restored_from_a_snapshot_equals_the_replayed_one(self) -> None:
        self.monitor(3, "Sales")
        self.debt()
        index_id = advisor_record_index_id(self.advisor)
        replayed = self.ledger.repository.get(index_id)
        self.ledger.take_snapshot(index_id)
        self.assertEqual(vars(replayed), vars(self.ledger.repository.get(index_id)))
