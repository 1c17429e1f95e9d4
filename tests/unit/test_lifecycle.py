"""rules §5: downgrade, vest, upgrade, terminate, reactivate, and effective dates."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import SIGNED_LETTER, LedgerScenario  # noqa: E402

from contractledger.domain.errors import InvalidInput, RuleBroken  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.domain.termination import TERMINATION_REASONS  # noqa: E402


class TestDowngradeVestUpgrade(LedgerScenario):
    def test_downgrade_records_reason_date_note_and_document_and_keeps_codes(self) -> None:
        contract_id = self.active_contract()
        self.ledger.add_contract_code(self.carrier_staff, contract_id, "LIFE-01")
        self.ledger.downgrade(self.carrier_staff, contract_id, "Low production", note="q3 review", documents=[SIGNED_LETTER])
        contract = self.ledger.get_contract(contract_id)
        self.assertEqual(Status.DOWNGRADED, contract.status)
        self.assertEqual({"LIFE-01": "active"}, contract.code_statuses)
        last = self.ledger.history(contract_id)[-1]
        self.assertEqual("Downgraded", last["event"])
        self.assertEqual("Low production", last["details"]["reason"])
        self.assertEqual("termination-letter.pdf", last["details"]["documents"][0]["name"])

    def test_vest_then_upgrade_returns_to_active(self) -> None:
        contract_id = self.active_contract()
        self.ledger.vest(self.carrier_staff, contract_id, "Book vested")
        self.assertEqual(Status.VESTED, self.status_of(contract_id))
        self.ledger.upgrade(self.carrier_staff, contract_id, note="back in business")
        self.assertEqual(Status.ACTIVE, self.status_of(contract_id))

    def test_downgrade_needs_a_reason(self) -> None:
        contract_id = self.active_contract()
        self.assert_refused(
            InvalidInput,
            "contract.downgrade.reason_required",
            lambda: self.ledger.downgrade(self.carrier_staff, contract_id, " "),
            contract_id,
        )

    def test_only_an_active_contract_is_downgraded_or_vested(self) -> None:
        (contract_id,) = self.assign()
        self.assert_refused(
            RuleBroken,
            "contract.downgrade.not_active",
            lambda: self.ledger.downgrade(self.carrier_staff, contract_id, "why"),
            contract_id,
        )
        self.assert_refused(
            RuleBroken, "contract.vest.not_active", lambda: self.ledger.vest(self.carrier_staff, contract_id, "why"), contract_id
        )

    def test_only_a_downgraded_or_vested_contract_is_upgraded(self) -> None:
        contract_id = self.active_contract()
        self.assert_refused(
            RuleBroken, "contract.upgrade.not_inactive", lambda: self.ledger.upgrade(self.carrier_staff, contract_id), contract_id
        )

    def test_a_downgraded_contract_can_be_terminated(self) -> None:
        contract_id = self.active_contract()
        self.ledger.downgrade(self.carrier_staff, contract_id, "Low production")
        self.ledger.terminate(self.carrier_staff, contract_id, "Lack of Production", [SIGNED_LETTER])
        self.assertEqual(Status.TERMINATED, self.status_of(contract_id))


class TestTermination(LedgerScenario):
    def test_every_listed_reason_terminates_an_active_contract(self) -> None:
        for reason in TERMINATION_REASONS:
            with self.subTest(reason=reason):
                contract_id = self.active_contract()
                self.ledger.terminate(self.carrier_staff, contract_id, reason, [SIGNED_LETTER], note="see letter")
                self.assertEqual(Status.TERMINATED, self.status_of(contract_id))
                self.assertEqual(reason, self.ledger.get_contract(contract_id).termination["reason"])

    def test_a_reason_off_the_list_is_refused(self) -> None:
        contract_id = self.active_contract()
        self.assert_refused(
            InvalidInput,
            "contract.terminate.reason_unknown",
            lambda: self.ledger.terminate(self.carrier_staff, contract_id, "Felt like it", [SIGNED_LETTER]),
            contract_id,
        )

    def test_transferred_and_consolidated_are_set_by_the_system_only(self) -> None:
        contract_id = self.active_contract()
        for reason in ("Transferred", "Consolidated"):
            self.assert_refused(
                RuleBroken,
                "contract.terminate.system_reason",
                lambda: self.ledger.terminate(self.carrier_staff, contract_id, reason, [SIGNED_LETTER]),
                contract_id,
            )

    def test_a_termination_without_a_document_is_refused(self) -> None:
        contract_id = self.active_contract()
        error = self.assert_refused(
            InvalidInput,
            "contract.terminate.document_required",
            lambda: self.ledger.terminate(self.carrier_staff, contract_id, "Retired", []),
            contract_id,
        )
        self.assertEqual("documents", error.field)

    def test_a_pending_contract_cannot_be_terminated_decline_it_instead(self) -> None:
        (contract_id,) = self.assign()
        error = self.assert_refused(
            RuleBroken,
            "contract.terminate.pending",
            lambda: self.ledger.terminate(self.carrier_staff, contract_id, "Retired", [SIGNED_LETTER]),
            contract_id,
        )
        self.assertIn("decline", error.message)

    def test_a_terminated_contract_is_not_terminated_again(self) -> None:
        contract_id = self.active_contract()
        self.ledger.terminate(self.carrier_staff, contract_id, "Retired", [SIGNED_LETTER])
        self.assert_refused(
            RuleBroken,
            "contract.terminate.already_terminated",
            lambda: self.ledger.terminate(self.carrier_staff, contract_id, "Retired", [SIGNED_LETTER]),
            contract_id,
        )

    def test_termination_records_the_advisors_profile_as_of_the_termination_date(self) -> None:
        contract_id = self.active_contract()
        self.ledger.change_profile(self.producer, self.advisor, {"addresses": ["1 Old Street"]})
        self.ledger.terminate(self.carrier_staff, contract_id, "Resigned", [SIGNED_LETTER])
        self.days_later(2)
        self.ledger.change_profile(self.producer, self.advisor, {"addresses": ["9 New Road"]})
        snapshot = self.ledger.get_contract(contract_id).termination["advisor_profile"]
        self.assertEqual(["1 Old Street"], snapshot["addresses"])
        self.assertEqual(["1 Old Street"], self.ledger.advisor_profile_on_contract(contract_id)["addresses"])

    def test_a_backdated_termination_snapshots_the_profile_as_it_was_that_day(self) -> None:
        contract_id = self.active_contract()
        self.ledger.change_profile(self.producer, self.advisor, {"addresses": ["1 Old Street"]})
        self.days_later(3)
        self.ledger.change_profile(self.producer, self.advisor, {"addresses": ["9 New Road"]})
        self.ledger.terminate(self.carrier_staff, contract_id, "Resigned", [SIGNED_LETTER], effective_on=self.in_days(-2))
        snapshot = self.ledger.get_contract(contract_id).termination["advisor_profile"]
        self.assertEqual(["1 Old Street"], snapshot["addresses"])

    def test_a_termination_effective_next_month_leaves_the_contract_active_until_then(self) -> None:
        contract_id = self.active_contract()
        next_month = self.in_days(31)
        self.ledger.terminate(self.carrier_staff, contract_id, "Business Decision", [SIGNED_LETTER], effective_on=next_month)
        contract = self.ledger.get_contract(contract_id)
        self.assertEqual(Status.ACTIVE, contract.status_on(self.today))
        self.assertEqual(next_month, contract.terminating_on(self.today))
        self.assertEqual(Status.TERMINATED, contract.status_on(next_month))
        self.assertIsNone(contract.terminating_on(next_month))

    def test_after_a_termination_takes_effect_the_parties_stop_seeing_profile_changes(self) -> None:
        contract_id = self.active_contract()
        self.ledger.terminate(self.carrier_staff, contract_id, "Resigned", [SIGNED_LETTER], effective_on=self.in_days(5))
        self.ledger.change_profile(self.producer, self.advisor, {"name": "Ada King"})
        self.assertEqual("Ada King", self.ledger.advisor_profile_on_contract(contract_id)["name"])
        self.assertEqual("Ada Lovelace", self.ledger.advisor_profile_on_contract(contract_id, self.in_days(6))["name"])


class TestReactivation(LedgerScenario):
    def terminated_contract(self, **options) -> object:
        contract_id = self.active_contract()
        self.ledger.terminate(self.carrier_staff, contract_id, "Resigned", [SIGNED_LETTER], **options)
        return contract_id

    def test_reactivation_on_day_thirty_is_allowed(self) -> None:
        contract_id = self.terminated_contract()
        self.days_later(30)
        self.ledger.reactivate(self.carrier_staff, contract_id, note="came back")
        self.assertEqual(Status.ACTIVE, self.status_of(contract_id))

    def test_reactivation_after_thirty_days_is_refused(self) -> None:
        contract_id = self.terminated_contract()
        self.days_later(31)
        self.assert_refused(
            RuleBroken,
            "contract.reactivate.window_closed",
            lambda: self.ledger.reactivate(self.carrier_staff, contract_id),
            contract_id,
        )

    def test_the_window_counts_from_the_effective_date_not_the_recording(self) -> None:
        contract_id = self.active_contract()
        self.days_later(25)
        self.ledger.terminate(self.carrier_staff, contract_id, "Resigned", [SIGNED_LETTER], effective_on=self.in_days(-25))
        self.days_later(6)
        self.assert_refused(
            RuleBroken,
            "contract.reactivate.window_closed",
            lambda: self.ledger.reactivate(self.carrier_staff, contract_id),
            contract_id,
        )

    def test_a_future_termination_can_be_reactivated_before_it_takes_effect(self) -> None:
        contract_id = self.terminated_contract(effective_on=self.in_days(40))
        self.ledger.reactivate(self.carrier_staff, contract_id)
        contract = self.ledger.get_contract(contract_id)
        self.assertEqual(Status.ACTIVE, contract.status_on(self.in_days(41)))

    def test_only_a_terminated_contract_is_reactivated(self) -> None:
        contract_id = self.active_contract()
        self.assert_refused(
            RuleBroken,
            "contract.reactivate.not_terminated",
            lambda: self.ledger.reactivate(self.carrier_staff, contract_id),
            contract_id,
        )

    def test_reactivation_shows_the_profile_changes_made_while_terminated(self) -> None:
        contract_id = self.terminated_contract()
        self.days_later(3)
        self.ledger.change_profile(self.producer, self.advisor, {"name": "Ada King"})
        self.assertEqual("Ada Lovelace", self.ledger.advisor_profile_on_contract(contract_id)["name"])
        self.ledger.reactivate(self.carrier_staff, contract_id)
        self.assertEqual("Ada King", self.ledger.advisor_profile_on_contract(contract_id)["name"])


class TestReactivationInTheBusinessTimeZone(LedgerScenario):
    business_zone = timezone(timedelta(hours=-5))

    def test_the_window_is_counted_in_the_business_time_zone(self) -> None:
        # 09:00 UTC on 2 March is 04:00 on 2 March in the business zone; day 30
        # is 1 April there, which lasts until 05:00 UTC on 2 April.
        contract_id = self.active_contract()
        self.ledger.terminate(self.carrier_staff, contract_id, "Resigned", [SIGNED_LETTER])
        self.clock.set(datetime(2026, 4, 2, 5, 0, tzinfo=timezone.utc))
        self.assert_refused(
            RuleBroken,
            "contract.reactivate.window_closed",
            lambda: self.ledger.reactivate(self.carrier_staff, contract_id),
            contract_id,
        )
        self.clock.set(datetime(2026, 4, 2, 4, 59, tzinfo=timezone.utc))
        self.ledger.reactivate(self.carrier_staff, contract_id)
        self.assertEqual(Status.ACTIVE, self.status_of(contract_id))


class TestLifecycleRefusals(LedgerScenario):
    def test_vesting_needs_a_reason(self) -> None:
        contract_id = self.active_contract()
        self.assert_refused(
            InvalidInput, "contract.vest.reason_required", lambda: self.ledger.vest(self.carrier_staff, contract_id, ""), contract_id
        )

    def test_a_contract_with_a_transfer_under_way_is_not_terminated(self) -> None:
        accepting = self.register("agency", "Lighthouse AGA")
        contract_id = self.active_contract()
        self.ledger.request_transfer(self.producer, contract_id, self.aga, accepting)
        self.assert_refused(
            RuleBroken,
            "contract.terminate.transfer_requested",
            lambda: self.ledger.terminate(self.carrier_staff, contract_id, "Retired", [SIGNED_LETTER]),
            contract_id,
        )
