"""rules §8: triggers (which happenings notify a party) and reminder tasks (the
reminder dates of monitoring and debt, closed by a change, a removal or by hand)."""

from __future__ import annotations

import sys
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import LedgerScenario  # noqa: E402

from contractledger.domain.errors import InvalidInput, NotFound, NotPermitted, RuleBroken  # noqa: E402
from contractledger.domain.triggers import NotificationKind, TriggerSettings, trigger_settings_id  # noqa: E402

TRANSFER_KINDS = [
    "new_transfer_request_i_may_accept",
    "transfer_requested_on_contract_i_relinquish",
]


class TestTriggers(LedgerScenario):
    def test_a_party_that_never_configured_triggers_is_notified_of_nothing(self) -> None:
        self.assertEqual(frozenset(), self.ledger.triggers_of(self.aga))

    def test_the_kinds_cover_the_happenings_the_spec_names(self) -> None:
        names = {kind.value for kind in NotificationKind}
        for kind in (*TRANSFER_KINDS, "status_changed", "contract_terminated", "reminder_due"):
            self.assertIn(kind, names)

    def test_a_party_chooses_the_kinds_that_notify_it_and_a_new_choice_replaces_the_old(self) -> None:
        self.assertEqual(TRANSFER_KINDS, self.ledger.configure_triggers(self.aga_admin, TRANSFER_KINDS))
        self.assertEqual(
            {NotificationKind.TRANSFER_REQUESTED_ON_CONTRACT_I_RELINQUISH, NotificationKind.NEW_TRANSFER_REQUEST_I_MAY_ACCEPT},
            self.ledger.triggers_of(self.aga),
        )
        self.ledger.configure_triggers(self.aga_admin, [NotificationKind.CONTRACT_TERMINATED])
        self.assertEqual({NotificationKind.CONTRACT_TERMINATED}, self.ledger.triggers_of(self.aga))
        self.ledger.configure_triggers(self.aga_admin, [])
        self.assertEqual(frozenset(), self.ledger.triggers_of(self.aga))
        events = list(self.ledger.events.get(trigger_settings_id(self.aga)))
        self.assertEqual(["Configured", "Reconfigured", "Reconfigured"], [type(e).__name__ for e in events])

    def test_each_party_has_one_settings_record_at_an_id_derived_from_the_party(self) -> None:
        self.ledger.configure_triggers(self.aga_admin, ["status_changed"])
        self.ledger.configure_triggers(self.mga_admin, ["contract_terminated"])
        self.assertEqual(trigger_settings_id(self.aga), trigger_settings_id(self.aga))
        self.assertNotEqual(trigger_settings_id(self.aga), trigger_settings_id(self.mga))
        settings = self.ledger.repository.get(trigger_settings_id(self.aga))
        self.assertIsInstance(settings, TriggerSettings)
        self.assertEqual(self.aga, settings.party_id)
        self.assertTrue(settings.wants(NotificationKind.STATUS_CHANGED))
        self.assertFalse(settings.wants(NotificationKind.CONTRACT_TERMINATED))

    def test_choosing_the_same_kinds_again_records_nothing(self) -> None:
        self.ledger.configure_triggers(self.aga_admin, ["status_changed", "contract_terminated"])
        before = self.ledger_fingerprint(trigger_settings_id(self.aga))
        self.ledger.configure_triggers(self.aga_admin, ["contract_terminated", "status_changed"])
        self.assertEqual(before, self.ledger_fingerprint(trigger_settings_id(self.aga)))

    def test_an_unknown_kind_is_refused(self) -> None:
        error = self.assert_refused(
            InvalidInput, "triggers.kind_unknown", lambda: self.ledger.configure_triggers(self.aga_admin, ["gossip"])
        )
        self.assertIn("status_changed", error.message)

    def test_kinds_are_given_as_a_list(self) -> None:
        self.assert_refused(
            InvalidInput, "triggers.kinds_invalid", lambda: self.ledger.configure_triggers(self.aga_admin, "status_changed")
        )

    def test_auditors_configure_no_triggers(self) -> None:
        self.assert_refused(
            NotPermitted, "actor.auditor_read_only", lambda: self.ledger.configure_triggers(self.auditor, ["status_changed"])
        )

    def test_only_a_user_acting_for_a_party_configures_triggers(self) -> None:
        self.assert_refused(
            NotPermitted, "triggers.party_required", lambda: self.ledger.configure_triggers(self.system, ["status_changed"])
        )


class ReminderScenario(LedgerScenario):
    def setUp(self) -> None:
        super().setUp()
        self.contract = self.active_contract()

    def monitoring(self) -> UUID:
        return self.ledger.add_monitoring(
            self.carrier_staff,
            self.contract,
            level=3,
            reason="Sales",
            effective_on=self.today,
            reminder_on=self.in_days(30),
        )

    def debt(self) -> UUID:
        return self.ledger.log_debt(
            self.mga_admin, self.contract, amount="300", effective_on=self.today, reminder_on=self.in_days(30)
        )

    def task_open(self, record_id: UUID) -> bool:
        return self.ledger.repository.get(record_id).reminder_task_open


class TestReminderTasks(ReminderScenario):
    def test_a_reminder_date_opens_a_task_for_the_party_that_set_it(self) -> None:
        monitoring, debt = self.monitoring(), self.debt()
        self.assertTrue(self.task_open(monitoring))
        self.assertTrue(self.task_open(debt))
        self.assertEqual((self.carrier, self.in_days(30)), _owner_and_due(self.ledger.monitoring_record(monitoring)))

    def test_the_party_that_set_a_reminder_closes_its_task_by_hand(self) -> None:
        monitoring, debt = self.monitoring(), self.debt()
        self.ledger.close_reminder_task(self.carrier_staff, monitoring)
        self.ledger.close_reminder_task(self.mga_admin, debt)
        self.assertFalse(self.task_open(monitoring))
        self.assertFalse(self.task_open(debt))
        self.assertEqual("ReminderTaskClosed", type(list(self.ledger.events.get(debt))[-1]).__name__)

    def test_a_change_closes_the_task(self) -> None:
        monitoring, debt = self.monitoring(), self.debt()
        self.ledger.change_monitoring(self.carrier_staff, monitoring, reason="Procedures")
        self.ledger.change_debt(self.mga_admin, debt, amount="250")
        self.assertFalse(self.task_open(monitoring))
        self.assertFalse(self.task_open(debt))

    def test_a_change_that_moves_the_reminder_date_opens_a_task_for_the_new_date(self) -> None:
        monitoring = self.monitoring()
        self.ledger.close_reminder_task(self.carrier_staff, monitoring)
        self.ledger.change_monitoring(self.carrier_staff, monitoring, reminder_on=self.in_days(45))
        self.assertTrue(self.task_open(monitoring))

    def test_removing_monitoring_or_closing_debt_closes_the_task(self) -> None:
        monitoring, debt = self.monitoring(), self.debt()
        self.ledger.remove_monitoring(self.carrier_staff, monitoring)
        self.ledger.close_debt(self.mga_admin, debt)
        self.assertFalse(self.task_open(monitoring))
        self.assertFalse(self.task_open(debt))

    def test_a_task_already_closed_is_not_closed_again(self) -> None:
        monitoring = self.monitoring()
        self.ledger.close_reminder_task(self.carrier_staff, monitoring)
        self.assert_refused(
            RuleBroken,
            "reminder.no_open_task",
            lambda: self.ledger.close_reminder_task(self.carrier_staff, monitoring),
            monitoring,
        )

    def test_only_the_party_that_set_the_reminder_closes_its_task(self) -> None:
        monitoring = self.monitoring()
        self.assert_refused(
            NotPermitted,
            "monitoring.not_placed_by_you",
            lambda: self.ledger.close_reminder_task(self.mga_admin, monitoring),
            monitoring,
        )
        debt = self.debt()  # private to its party: for the carrier not there, as an id nothing has (rules §6)
        self.assert_refused(
            NotFound, "reminder.record_not_found", lambda: self.ledger.close_reminder_task(self.carrier_staff, debt), debt
        )

    def test_auditors_close_no_tasks(self) -> None:
        monitoring = self.monitoring()
        self.assert_refused(
            NotPermitted,
            "actor.auditor_read_only",
            lambda: self.ledger.close_reminder_task(self.auditor, monitoring),
            monitoring,
        )

    def test_a_task_of_something_that_is_not_a_record_is_not_found(self) -> None:
        self.assert_refused(
            NotFound,
            "reminder.record_not_found",
            lambda: self.ledger.close_reminder_task(self.carrier_staff, self.contract),
            self.contract,
        )


def _owner_and_due(record: object) -> tuple[UUID, object]:
    return record.placed_by, record.reminder_on  # type: ignore[attr-defined]


class TestTriggerSnapshots(LedgerScenario):
    def test_settings_restored_from_a_snapshot_equal_the_replayed_ones(self) -> None:
        self.ledger.configure_triggers(self.aga_admin, ["status_changed", "reminder_due"])
        settings_id = trigger_settings_id(self.aga)
        replayed = self.ledger.repository.get(settings_id)
        self.ledger.take_snapshot(settings_id)
        restored = self.ledger.repository.get(settings_id)
        self.assertEqual(vars(replayed), vars(restored))
        self.assertEqual({NotificationKind.STATUS_CHANGED, NotificationKind.REMINDER_DUE}, restored.kinds)
