"""rules §6 (monitoring): placed on an active contract by a party on it, a reason of
its level, changed or removed at any time with every step kept, private or
public by level."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import SIGNED_LETTER, START, LedgerScenario  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.errors import InvalidInput, NotFound, NotPermitted, RuleBroken  # noqa: E402
from contractledger.domain.monitoring import MonitoringLevel, MonitoringRecord  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402


class MonitoringScenario(LedgerScenario):
    """An active contract carrier > MGA > AGA > advisor, and an agency off it."""

    def setUp(self) -> None:
        super().setUp()
        self.contract = self.active_contract()
        self.outsider = self.register("agency", "Elsewhere Agency", level="MGA")
        self.outsider_admin = Actor(Role.AGENCY_ADMIN, "olga@elsewhere", self.outsider)

    def place(self, actor: Actor | None = None, level: int = 3, reason: str = "Sales", **dates: date) -> UUID:
        return self.ledger.add_monitoring(
            actor or self.carrier_staff,
            self.contract,
            level=level,
            reason=reason,
            effective_on=dates.get("effective_on", self.today),
            reminder_on=dates.get("reminder_on", self.in_days(30)),
        )

    def record(self, record_id: UUID) -> MonitoringRecord:
        return self.ledger.monitoring_record(record_id)

    def visible(self, viewer: Actor, record_id: UUID) -> bool:
        try:
            self.ledger.monitoring_record(record_id, viewer=viewer)
        except NotFound:
            return False
        return True


class TestTheLevelTable(MonitoringScenario):
    def test_each_level_has_exactly_the_reasons_of_the_spec_table_and_levels_three_and_four_are_public(self) -> None:
        table = {
            (level.value, level.title, level.reasons, level.is_public) for level in MonitoringLevel
        }
        self.assertEqual(
            {
                (1, "New Advisor", ("New to Industry",), False),
                (2, "Internal Investigation", ("Internal Investigation",), False),
                (3, "Coaching", ("Business Practices", "Procedures", "Sales"), True),
                (4, "Close Supervision", ("Carrier initiated", "MGA Initiated", "Regulatory Requirement"), True),
            },
            table,
        )

    def test_every_reason_of_every_level_is_accepted(self) -> None:
        for level in MonitoringLevel:
            for reason in level.reasons:
                with self.subTest(level=level, reason=reason):
                    record = self.record(self.place(level=int(level), reason=reason))
                    self.assertEqual((level, reason), (record.level, record.reason))


class TestPlacingMonitoring(MonitoringScenario):
    def test_a_party_on_an_active_contract_places_monitoring_with_its_dates(self) -> None:
        record_id = self.place(level=4, reason="Carrier initiated", reminder_on=self.in_days(14))
        record = self.record(record_id)
        self.assertEqual(self.contract, record.contract_id)
        self.assertEqual(self.advisor, record.advisor_id)
        self.assertEqual(self.carrier, record.placed_by)
        self.assertEqual(MonitoringLevel.CLOSE_SUPERVISION, record.level)
        self.assertEqual((self.today, self.in_days(14)), (record.effective_on, record.reminder_on))
        self.assertIsNone(record.removed_on)
        self.assertEqual(START, record.created_on, "recorded time comes from the ledger's clock")
        self.assertIsInstance(self.ledger.events.get(record_id).__next__(), MonitoringRecord.Placed)

    def test_any_agency_on_the_chain_may_place_monitoring(self) -> None:
        record_id = self.place(self.mga_admin, level=4, reason="MGA Initiated")
        self.assertEqual(self.mga, self.record(record_id).placed_by)

    def test_a_reason_that_belongs_to_another_level_is_refused(self) -> None:
        error = self.assert_refused(
            RuleBroken,
            "monitoring.reason_not_in_level",
            lambda: self.place(level=1, reason="Sales"),
            self.contract,
        )
        self.assertIn("New to Industry", error.message)
        self.assertEqual("reason", error.field)

    def test_a_level_outside_one_to_four_is_refused(self) -> None:
        for level in (0, 5, "3", True, None, [3]):
            with self.subTest(level=level):
                self.assert_refused(
                    InvalidInput, "monitoring.level_invalid", lambda: self.place(level=level), self.contract
                )

    def test_dates_must_be_calendar_dates(self) -> None:
        self.assert_refused(
            InvalidInput,
            "monitoring.date_invalid",
            lambda: self.place(effective_on=datetime(2026, 3, 2, 9, 0)),
            self.contract,
        )
        self.assert_refused(
            InvalidInput, "monitoring.date_invalid", lambda: self.place(reminder_on="2026-04-01"), self.contract
        )

    def test_monitoring_on_a_contract_that_is_not_active_is_refused(self) -> None:
        (pending,) = self.assign()
        self.assert_refused(
            RuleBroken,
            "monitoring.contract_not_active",
            lambda: self.ledger.add_monitoring(
                self.carrier_staff, pending, level=1, reason="New to Industry",
                effective_on=self.today, reminder_on=self.in_days(5),
            ),
            pending,
        )
        self.ledger.downgrade(self.carrier_staff, self.contract, "Quiet year")
        self.assert_refused(RuleBroken, "monitoring.contract_not_active", lambda: self.place(), self.contract)

    def test_monitoring_on_a_terminated_contract_is_refused(self) -> None:
        self.ledger.terminate(self.carrier_staff, self.contract, "Retired", [SIGNED_LETTER])
        self.assert_refused(RuleBroken, "monitoring.contract_not_active", lambda: self.place(), self.contract)

    def test_a_contract_terminating_next_month_is_still_active_today_and_takes_monitoring(self) -> None:
        self.ledger.terminate(self.carrier_staff, self.contract, "Retired", [SIGNED_LETTER], effective_on=self.in_days(30))
        self.assertEqual(Status.ACTIVE, self.ledger.get_contract(self.contract).status_on(self.today))
        self.assertEqual(self.contract, self.record(self.place()).contract_id)

    def test_a_party_not_on_the_contract_is_told_the_contract_does_not_exist(self) -> None:
        self.assert_refused(NotFound, "contract.not_found", lambda: self.place(self.outsider_admin), self.contract)

    def test_auditors_place_no_monitoring(self) -> None:
        self.assert_refused(NotPermitted, "actor.auditor_read_only", lambda: self.place(self.auditor), self.contract)

    def test_the_advisor_does_not_place_monitoring_on_their_own_contract(self) -> None:
        self.assert_refused(
            NotPermitted, "monitoring.advisor_may_not_record", lambda: self.place(self.producer), self.contract
        )

    def test_monitoring_needs_a_party_to_belong_to(self) -> None:
        self.assert_refused(NotPermitted, "monitoring.party_required", lambda: self.place(self.system), self.contract)

    def test_a_direct_relationship_between_organisations_takes_no_monitoring(self) -> None:
        relationship = self.relate(self.carrier, self.outsider)
        self.assert_refused(
            RuleBroken,
            "monitoring.not_advisor_contract",
            lambda: self.ledger.add_monitoring(
                self.carrier_staff, relationship, level=3, reason="Sales",
                effective_on=self.today, reminder_on=self.in_days(5),
            ),
            relationship,
        )

    def test_an_unknown_contract_is_not_found(self) -> None:
        self.assert_refused(
            NotFound,
            "contract.not_found",
            lambda: self.ledger.add_monitoring(
                self.carrier_staff, uuid4(), level=3, reason="Sales", effective_on=self.today, reminder_on=self.today
            ),
        )

    def test_a_repeated_command_id_places_monitoring_once(self) -> None:
        first = self.ledger.add_monitoring(
            self.carrier_staff, self.contract, level=3, reason="Sales",
            effective_on=self.today, reminder_on=self.in_days(3), command_id="mon-1",
        )
        before = self.ledger_fingerprint()
        again = self.ledger.add_monitoring(
            self.carrier_staff, self.contract, level=3, reason="Sales",
            effective_on=self.today, reminder_on=self.in_days(3), command_id="mon-1",
        )
        self.assertEqual(first, again)
        self.assertEqual(before, self.ledger_fingerprint())


class TestChangingAndRemovingMonitoring(MonitoringScenario):
    def test_the_placing_party_changes_monitoring_and_every_version_stays_in_the_trail(self) -> None:
        record_id = self.place(level=3, reason="Sales")
        self.days_later(2)
        version = self.ledger.change_monitoring(
            self.carrier_staff, record_id, level=4, reason="Regulatory Requirement", reminder_on=self.in_days(7)
        )
        record = self.record(record_id)
        self.assertEqual(2, version)
        self.assertEqual((MonitoringLevel.CLOSE_SUPERVISION, "Regulatory Requirement"), (record.level, record.reason))
        self.assertEqual(self.in_days(7), record.reminder_on)
        trail = list(self.ledger.events.get(record_id))
        self.assertEqual(["Placed", "Changed"], [type(e).__name__ for e in trail])
        self.assertEqual(self.carrier_staff, trail[1].actor)

    def test_a_change_must_keep_the_reason_in_the_level(self) -> None:
        record_id = self.place(level=3, reason="Sales")
        self.assert_refused(
            RuleBroken,
            "monitoring.reason_not_in_level",
            lambda: self.ledger.change_monitoring(self.carrier_staff, record_id, level=4),
            record_id,
        )

    def test_a_change_that_changes_nothing_is_refused(self) -> None:
        record_id = self.place(level=3, reason="Sales")
        self.assert_refused(
            RuleBroken,
            "monitoring.nothing_changed",
            lambda: self.ledger.change_monitoring(self.carrier_staff, record_id, level=3, reason="Sales"),
            record_id,
        )

    def test_another_party_on_the_contract_may_not_change_or_remove_public_monitoring(self) -> None:
        record_id = self.place(level=3, reason="Sales")
        self.assert_refused(
            NotPermitted,
            "monitoring.not_placed_by_you",
            lambda: self.ledger.change_monitoring(self.mga_admin, record_id, reason="Procedures"),
            record_id,
        )
        self.assert_refused(
            NotPermitted,
            "monitoring.not_placed_by_you",
            lambda: self.ledger.remove_monitoring(self.mga_admin, record_id),
            record_id,
        )

    def test_a_party_that_cannot_see_private_monitoring_is_told_it_does_not_exist(self) -> None:
        record_id = self.place(level=2, reason="Internal Investigation")
        self.assert_refused(
            NotFound,
            "monitoring.not_found",
            lambda: self.ledger.remove_monitoring(self.mga_admin, record_id),
            record_id,
        )

    def test_auditors_change_and_remove_no_monitoring(self) -> None:
        record_id = self.place()
        self.assert_refused(
            NotPermitted,
            "actor.auditor_read_only",
            lambda: self.ledger.change_monitoring(self.auditor, record_id, reason="Procedures"),
            record_id,
        )
        self.assert_refused(
            NotPermitted, "actor.auditor_read_only", lambda: self.ledger.remove_monitoring(self.auditor, record_id), record_id
        )

    def test_removal_is_an_event_and_the_record_stays(self) -> None:
        record_id = self.place()
        self.days_later(1)
        self.ledger.remove_monitoring(self.carrier_staff, record_id)
        record = self.record(record_id)
        self.assertEqual(self.today, record.removed_on)
        self.assertFalse(record.is_active_on(self.today))
        self.assertTrue(record.is_active_on(self.today - timedelta(days=1)))
        self.assertEqual(["Placed", "Removed"], [type(e).__name__ for e in self.ledger.events.get(record_id)])

    def test_removed_monitoring_is_neither_changed_nor_removed_again(self) -> None:
        record_id = self.place()
        self.ledger.remove_monitoring(self.carrier_staff, record_id)
        self.assert_refused(
            RuleBroken,
            "monitoring.removed",
            lambda: self.ledger.change_monitoring(self.carrier_staff, record_id, reason="Procedures"),
            record_id,
        )
        self.assert_refused(
            RuleBroken, "monitoring.removed", lambda: self.ledger.remove_monitoring(self.carrier_staff, record_id), record_id
        )

    def test_monitoring_is_changed_and_removed_at_any_time_even_after_the_contract_ends(self) -> None:
        record_id = self.place()
        self.ledger.terminate(self.carrier_staff, self.contract, "Retired", [SIGNED_LETTER])
        self.ledger.change_monitoring(self.carrier_staff, record_id, reason="Procedures")
        self.ledger.remove_monitoring(self.carrier_staff, record_id)
        self.assertTrue(self.record(record_id).is_removed)

    def test_an_unknown_record_is_not_found(self) -> None:
        self.assert_refused(
            NotFound,
            "monitoring.not_found",
            lambda: self.ledger.remove_monitoring(self.carrier_staff, self.contract),
            self.contract,
        )


class TestWhoSeesMonitoring(MonitoringScenario):
    def test_private_monitoring_is_seen_only_by_the_party_that_placed_it_and_auditors(self) -> None:
        record_id = self.place(self.mga_admin, level=1, reason="New to Industry")
        self.assertTrue(self.visible(self.mga_admin, record_id))
        self.assertTrue(self.visible(self.auditor, record_id))
        for other in (self.carrier_staff, self.aga_admin, self.producer, self.outsider_admin):
            self.assertFalse(self.visible(other, record_id), other)

    def test_public_monitoring_is_seen_by_every_party_on_the_contract_and_no_one_else(self) -> None:
        record_id = self.place(self.mga_admin, level=4, reason="MGA Initiated")
        for party in (self.carrier_staff, self.mga_admin, self.aga_admin, self.producer, self.auditor):
            self.assertTrue(self.visible(party, record_id), party)
        self.assertFalse(self.visible(self.outsider_admin, record_id))

    def test_changing_the_level_changes_who_sees_the_record(self) -> None:
        record_id = self.place(level=3, reason="Sales")
        self.assertTrue(self.visible(self.aga_admin, record_id))
        self.ledger.change_monitoring(self.carrier_staff, record_id, level=2, reason="Internal Investigation")
        self.assertFalse(self.visible(self.aga_admin, record_id))


class TestMonitoringAsOf(MonitoringScenario):
    def test_monitoring_is_read_as_the_ledger_knew_it_at_a_past_instant(self) -> None:
        record_id = self.place(level=3, reason="Sales")
        placed_at = self.clock.now()
        self.days_later(3)
        self.ledger.change_monitoring(self.carrier_staff, record_id, level=4, reason="Carrier initiated")
        changed_at = self.clock.now()
        self.days_later(3)
        self.ledger.remove_monitoring(self.carrier_staff, record_id)
        self.assertEqual(MonitoringLevel.COACHING, self.ledger.monitoring_as_of(record_id, placed_at).level)
        then = self.ledger.monitoring_as_of(record_id, changed_at + timedelta(hours=1))
        self.assertEqual((MonitoringLevel.CLOSE_SUPERVISION, None), (then.level, then.removed_on))
        self.assertTrue(self.ledger.monitoring_as_of(record_id, self.clock.now()).is_removed)

    def test_monitoring_read_before_it_was_placed_is_not_found(self) -> None:
        self.days_later(1)
        record_id = self.place()
        with self.assertRaises(NotFound) as caught:
            self.ledger.monitoring_as_of(record_id, START)
        self.assertEqual("monitoring.not_found", caught.exception.code)

    def test_as_of_applies_visibility_as_it_was_then(self) -> None:
        record_id = self.place(level=1, reason="New to Industry")
        private_at = self.clock.now()
        self.days_later(1)
        self.ledger.change_monitoring(self.carrier_staff, record_id, level=3, reason="Sales")
        with self.assertRaises(NotFound):
            self.ledger.monitoring_as_of(record_id, private_at, viewer=self.aga_admin)
        self.assertEqual(
            MonitoringLevel.COACHING, self.ledger.monitoring_as_of(record_id, self.clock.now(), viewer=self.aga_admin).level
        )

    def test_an_instant_without_a_time_zone_is_refused(self) -> None:
        record_id = self.place()
        with self.assertRaises(InvalidInput) as caught:
            self.ledger.monitoring_as_of(record_id, datetime(2026, 3, 2, 9, 0))
        self.assertEqual("as_of.instant_invalid", caught.exception.code)


class TestMonitoringSnapshots(MonitoringScenario):
    def test_a_record_restored_from_a_snapshot_equals_the_replayed_one(self) -> None:
        record_id = self.place(level=3, reason="Sales")
        self.ledger.change_monitoring(self.carrier_staff, record_id, level=4, reason="Carrier initiated")
        replayed = self.record(record_id)
        self.ledger.take_snapshot(record_id)
        restored = self.record(record_id)
        self.assertEqual(vars(replayed), vars(restored))
        self.assertIs(MonitoringLevel.CLOSE_SUPERVISION, restored.level)
