"""rules §6 (debt): logged against a contract, private to the party that logged it,
public only while unresolved and five days after recording, private again
once closed, never deleted."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import SIGNED_LETTER, LedgerScenario  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.debt import DebtRecord, DebtStatus  # noqa: E402
from contractledger.domain.errors import InvalidInput, NotFound, NotPermitted, RuleBroken  # noqa: E402


class DebtScenario(LedgerScenario):
    """An active contract carrier > MGA > AGA > advisor, and an agency off it."""

    def setUp(self) -> None:
        super().setUp()
        self.contract = self.active_contract()
        self.outsider = self.register("agency", "Elsewhere Agency", level="MGA")
        self.outsider_admin = Actor(Role.AGENCY_ADMIN, "olga@elsewhere", self.outsider)

    def log(self, actor: Actor | None = None, amount: Any = "1250.00", **terms: Any) -> UUID:
        terms.setdefault("effective_on", self.today)
        terms.setdefault("reminder_on", self.in_days(30))
        return self.ledger.log_debt(actor or self.mga_admin, self.contract, amount=amount, **terms)

    def record(self, record_id: UUID) -> DebtRecord:
        return self.ledger.debt_record(record_id)

    def visible(self, viewer: Actor, record_id: UUID) -> bool:
        try:
            self.ledger.debt_record(record_id, viewer=viewer)
        except NotFound:
            return False
        return True


class TestLoggingDebt(DebtScenario):
    def test_a_party_on_the_contract_logs_debt_that_is_private_to_it(self) -> None:
        record_id = self.log(
            amount="1250.5",
            description="Chargebacks Q1",
            last_paid_on=self.today - timedelta(days=10),
            last_payment_amount="100",
        )
        record = self.record(record_id)
        self.assertEqual(Decimal("1250.50"), record.amount)
        self.assertEqual(DebtStatus.UNRESOLVED, record.status)
        self.assertEqual("Chargebacks Q1", record.description)
        self.assertEqual((self.today, self.in_days(30)), (record.effective_on, record.reminder_on))
        self.assertEqual(
            (self.today - timedelta(days=10), Decimal("100.00")), (record.last_paid_on, record.last_payment_amount)
        )
        self.assertEqual((self.mga, self.advisor, False), (record.logged_by, record.advisor_id, record.is_public))
        self.assertTrue(self.visible(self.mga_admin, record_id))
        for other in (self.carrier_staff, self.aga_admin, self.producer, self.outsider_admin):
            self.assertFalse(self.visible(other, record_id), other)

    def test_the_amount_must_be_positive_with_at_most_two_decimal_places(self) -> None:
        for amount in (0, "0.00", -5, "-0.01", "12.345", "abc", None, "NaN", "Infinity", True, [], "1e20"):
            with self.subTest(amount=amount):
                self.assert_refused(
                    InvalidInput, "debt.amount_invalid", lambda: self.log(amount=amount), self.contract
                )

    def test_amounts_are_kept_to_the_cent(self) -> None:
        for given, kept in ((10, "10.00"), ("0.01", "0.01"), (Decimal("99.9"), "99.90"), (12.5, "12.50")):
            with self.subTest(given=given):
                self.assertEqual(Decimal(kept), self.record(self.log(amount=given)).amount)

    def test_a_last_paid_date_needs_the_last_payment_amount(self) -> None:
        self.assert_refused(
            InvalidInput,
            "debt.last_payment_amount_required",
            lambda: self.log(last_paid_on=self.today),
            self.contract,
        )

    def test_a_last_payment_amount_needs_its_date(self) -> None:
        self.assert_refused(
            InvalidInput, "debt.last_paid_date_required", lambda: self.log(last_payment_amount="10"), self.contract
        )

    def test_the_last_payment_amount_follows_the_amount_rule(self) -> None:
        self.assert_refused(
            InvalidInput,
            "debt.last_payment_amount_invalid",
            lambda: self.log(last_paid_on=self.today, last_payment_amount="-3"),
            self.contract,
        )

    def test_the_status_is_unresolved_resolved_or_closed(self) -> None:
        self.assert_refused(InvalidInput, "debt.status_invalid", lambda: self.log(status="paid"), self.contract)
        self.assertEqual(DebtStatus.RESOLVED, self.record(self.log(status="resolved")).status)

    def test_dates_must_be_calendar_dates(self) -> None:
        self.assert_refused(
            InvalidInput,
            "debt.date_invalid",
            lambda: self.log(effective_on=datetime(2026, 3, 2, tzinfo=timezone.utc)),
            self.contract,
        )

    def test_debt_can_be_logged_against_a_terminated_contract(self) -> None:
        self.ledger.terminate(self.carrier_staff, self.contract, "Financial History/MGA Debt", [SIGNED_LETTER])
        self.assertEqual(self.contract, self.record(self.log(self.carrier_staff)).contract_id)

    def test_a_party_not_on_the_contract_is_told_the_contract_does_not_exist(self) -> None:
        self.assert_refused(NotFound, "contract.not_found", lambda: self.log(self.outsider_admin), self.contract)

    def test_auditors_log_no_debt(self) -> None:
        self.assert_refused(NotPermitted, "actor.auditor_read_only", lambda: self.log(self.auditor), self.contract)

    def test_the_advisor_does_not_log_debt_on_their_own_contract(self) -> None:
        self.assert_refused(NotPermitted, "debt.advisor_may_not_record", lambda: self.log(self.producer), self.contract)

    def test_debt_needs_a_party_to_belong_to(self) -> None:
        self.assert_refused(NotPermitted, "debt.party_required", lambda: self.log(self.system), self.contract)

    def test_a_direct_relationship_between_organisations_takes_no_debt(self) -> None:
        relationship = self.relate(self.carrier, self.outsider)
        self.assert_refused(
            RuleBroken,
            "debt.not_advisor_contract",
            lambda: self.ledger.log_debt(
                self.carrier_staff, relationship, amount="10", effective_on=self.today, reminder_on=self.today
            ),
            relationship,
        )

    def test_the_description_is_text(self) -> None:
        self.assert_refused(InvalidInput, "debt.description_invalid", lambda: self.log(description=42), self.contract)

    def test_a_repeated_command_id_logs_the_debt_once(self) -> None:
        first = self.log(command_id="debt-1")
        before = self.ledger_fingerprint(first)
        self.assertEqual(first, self.log(command_id="debt-1"))
        self.assertEqual(before, self.ledger_fingerprint(first))


class TestChangingDebt(DebtScenario):
    def test_the_logging_party_changes_amount_status_description_dates_and_last_payment(self) -> None:
        record_id = self.log(description="old")
        self.ledger.change_debt(
            self.mga_admin,
            record_id,
            amount="800",
            status="resolved",
            description=None,
            reminder_on=self.in_days(60),
            last_paid_on=self.today,
            last_payment_amount="450.00",
        )
        record = self.record(record_id)
        self.assertEqual(
            (Decimal("800.00"), DebtStatus.RESOLVED, None, self.in_days(60), self.today, Decimal("450.00")),
            (
                record.amount,
                record.status,
                record.description,
                record.reminder_on,
                record.last_paid_on,
                record.last_payment_amount,
            ),
        )
        self.ledger.change_debt(self.mga_admin, record_id, status="unresolved")
        self.assertEqual(DebtStatus.UNRESOLVED, self.record(record_id).status)
        self.assertEqual(["Logged", "Changed", "Changed"], [type(e).__name__ for e in self.ledger.events.get(record_id)])

    def test_a_change_keeps_the_last_payment_rule(self) -> None:
        record_id = self.log()
        self.assert_refused(
            InvalidInput,
            "debt.last_payment_amount_required",
            lambda: self.ledger.change_debt(self.mga_admin, record_id, last_paid_on=self.today),
            record_id,
        )

    def test_a_change_that_changes_nothing_is_refused(self) -> None:
        record_id = self.log(amount="10")
        self.assert_refused(
            RuleBroken,
            "debt.nothing_changed",
            lambda: self.ledger.change_debt(self.mga_admin, record_id, amount="10.00"),
            record_id,
        )

    def test_closing_goes_through_close_debt_not_a_status_change(self) -> None:
        record_id = self.log()
        self.assert_refused(
            RuleBroken,
            "debt.close_by_closing",
            lambda: self.ledger.change_debt(self.mga_admin, record_id, status="closed"),
            record_id,
        )

    def test_only_the_party_that_logged_the_debt_changes_it(self) -> None:
        record_id = self.log()
        self.days_later(5)
        self.ledger.make_debt_public(self.mga_admin, record_id)
        for command in (
            lambda: self.ledger.change_debt(self.carrier_staff, record_id, amount="1"),
            lambda: self.ledger.close_debt(self.carrier_staff, record_id),
        ):
            self.assert_refused(NotPermitted, "debt.not_logged_by_you", command, record_id)

    def test_a_party_that_cannot_see_private_debt_is_told_it_does_not_exist(self) -> None:
        record_id = self.log()
        self.assert_refused(
            NotFound, "debt.not_found", lambda: self.ledger.change_debt(self.carrier_staff, record_id, amount="1"), record_id
        )

    def test_auditors_see_every_debt_and_change_none(self) -> None:
        record_id = self.log()
        self.assertTrue(self.visible(self.auditor, record_id))
        self.assert_refused(
            NotPermitted,
            "actor.auditor_read_only",
            lambda: self.ledger.change_debt(self.auditor, record_id, amount="1"),
            record_id,
        )

    def test_a_closed_debt_is_final(self) -> None:
        record_id = self.log()
        self.ledger.close_debt(self.mga_admin, record_id)
        self.assertEqual(DebtStatus.CLOSED, self.record(record_id).status)
        self.assert_refused(
            RuleBroken, "debt.closed", lambda: self.ledger.change_debt(self.mga_admin, record_id, amount="1"), record_id
        )
        self.assert_refused(RuleBroken, "debt.closed", lambda: self.ledger.close_debt(self.mga_admin, record_id), record_id)


class TestMakingDebtPublic(DebtScenario):
    def test_debt_cannot_be_made_public_within_five_days_of_recording(self) -> None:
        record_id = self.log()
        self.days_later(4)
        error = self.assert_refused(
            RuleBroken, "debt.publish.too_early", lambda: self.ledger.make_debt_public(self.mga_admin, record_id), record_id
        )
        self.assertIn(self.in_days(1).isoformat(), error.message)

    def test_unresolved_debt_made_public_five_days_after_recording_is_seen_by_every_party_on_the_contract(self) -> None:
        record_id = self.log()
        self.days_later(5)
        self.ledger.make_debt_public(self.mga_admin, record_id)
        self.assertTrue(self.record(record_id).is_public)
        for party in (self.carrier_staff, self.aga_admin, self.producer, self.auditor):
            self.assertTrue(self.visible(party, record_id), party)
        self.assertFalse(self.visible(self.outsider_admin, record_id))

    def test_the_five_days_count_in_business_dates_from_the_recorded_time(self) -> None:
        self.clock.set(datetime(2026, 3, 2, 23, 59, tzinfo=timezone.utc))
        record_id = self.log()
        self.clock.set(datetime(2026, 3, 7, 0, 1, tzinfo=timezone.utc))
        self.ledger.make_debt_public(self.mga_admin, record_id)
        self.assertTrue(self.record(record_id).is_public)

    def test_a_back_dated_effective_date_does_not_shorten_the_wait(self) -> None:
        record_id = self.log(effective_on=self.today - timedelta(days=60))
        self.days_later(1)
        self.assert_refused(
            RuleBroken, "debt.publish.too_early", lambda: self.ledger.make_debt_public(self.mga_admin, record_id), record_id
        )

    def test_resolved_or_closed_debt_is_not_made_public(self) -> None:
        resolved = self.log(status="resolved")
        closed = self.log()
        self.ledger.close_debt(self.mga_admin, closed)
        self.days_later(10)
        for record_id in (resolved, closed):
            self.assert_refused(
                RuleBroken,
                "debt.publish.not_unresolved",
                lambda: self.ledger.make_debt_public(self.mga_admin, record_id),
                record_id,
            )

    def test_public_debt_is_not_made_public_twice(self) -> None:
        record_id = self.log()
        self.days_later(5)
        self.ledger.make_debt_public(self.mga_admin, record_id)
        self.assert_refused(
            RuleBroken,
            "debt.publish.already_public",
            lambda: self.ledger.make_debt_public(self.mga_admin, record_id),
            record_id,
        )

    def test_only_the_logging_party_makes_its_debt_public(self) -> None:
        record_id = self.log()
        self.days_later(5)
        self.assert_refused(
            NotFound, "debt.not_found", lambda: self.ledger.make_debt_public(self.carrier_staff, record_id), record_id
        )

    def test_resolving_public_debt_leaves_it_public(self) -> None:
        record_id = self.log()
        self.days_later(5)
        self.ledger.make_debt_public(self.mga_admin, record_id)
        self.ledger.change_debt(self.mga_admin, record_id, status="resolved")
        self.assertTrue(self.visible(self.aga_admin, record_id))

    def test_closing_a_public_debt_makes_it_private_again(self) -> None:
        record_id = self.log()
        self.days_later(5)
        self.ledger.make_debt_public(self.mga_admin, record_id)
        self.ledger.close_debt(self.mga_admin, record_id)
        record = self.record(record_id)
        self.assertEqual((DebtStatus.CLOSED, False), (record.status, record.is_public))
        self.assertFalse(self.visible(self.aga_admin, record_id))
        self.assertTrue(self.visible(self.mga_admin, record_id))


class TestDebtIsNeverDeleted(DebtScenario):
    def test_a_delete_request_is_refused_with_an_error_that_says_to_close_the_debt(self) -> None:
        record_id = self.log()
        error = self.assert_refused(
            RuleBroken, "debt.delete.refused", lambda: self.ledger.delete_debt(self.mga_admin, record_id), record_id
        )
        self.assertIn("close it", error.message)

    def test_deleting_debt_one_may_not_see_is_told_it_does_not_exist(self) -> None:
        record_id = self.log()
        self.assert_refused(
            NotFound, "debt.not_found", lambda: self.ledger.delete_debt(self.carrier_staff, record_id), record_id
        )

    def test_closed_debt_is_still_there_with_its_history(self) -> None:
        record_id = self.log()
        self.ledger.close_debt(self.mga_admin, record_id)
        self.assertEqual(["Logged", "Closed"], [type(e).__name__ for e in self.ledger.events.get(record_id)])
        self.assert_refused(
            RuleBroken, "debt.delete.refused", lambda: self.ledger.delete_debt(self.mga_admin, record_id), record_id
        )


class TestDebtAsOf(DebtScenario):
    def test_debt_is_read_as_the_ledger_knew_it_at_a_past_instant(self) -> None:
        record_id = self.log(amount="500")
        logged_at = self.clock.now()
        self.days_later(5)
        self.ledger.make_debt_public(self.mga_admin, record_id)
        public_at = self.clock.now()
        self.days_later(1)
        self.ledger.close_debt(self.mga_admin, record_id)
        self.assertEqual((Decimal("500.00"), False), _amount_and_public(self.ledger.debt_as_of(record_id, logged_at)))
        self.assertTrue(self.ledger.debt_as_of(record_id, public_at).is_public)
        self.assertEqual(DebtStatus.CLOSED, self.ledger.debt_as_of(record_id, self.clock.now()).status)
        self.assertTrue(self.ledger.debt_as_of(record_id, public_at, viewer=self.aga_admin).is_public)
        with self.assertRaises(NotFound):
            self.ledger.debt_as_of(record_id, self.clock.now(), viewer=self.aga_admin)

    def test_debt_read_before_it_was_logged_is_not_found(self) -> None:
        before = self.clock.now()
        self.days_later(1)
        record_id = self.log()
        with self.assertRaises(NotFound) as caught:
            self.ledger.debt_as_of(record_id, before)
        self.assertEqual("debt.not_found", caught.exception.code)


def _amount_and_public(record: DebtRecord) -> tuple[Decimal, bool]:
    return record.amount, record.is_public


class TestDebtSnapshots(DebtScenario):
    def test_a_record_restored_from_a_snapshot_equals_the_replayed_one(self) -> None:
        record_id = self.log(last_paid_on=self.today, last_payment_amount="5")
        self.days_later(5)
        self.ledger.make_debt_public(self.mga_admin, record_id)
        replayed = self.record(record_id)
        self.ledger.take_snapshot(record_id)
        restored = self.record(record_id)
        self.assertEqual(vars(replayed), vars(restored))
        self.assertIs(DebtStatus.UNRESOLVED, restored.status)
