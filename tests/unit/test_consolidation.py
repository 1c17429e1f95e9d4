"""rules §5 (Consolidate): folding one contract into another after an acquisition."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import SIGNED_LETTER, LedgerScenario  # noqa: E402

from contractledger.domain.errors import InvalidInput, NotFound, NotPermitted, RuleBroken  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402


class TestConsolidation(LedgerScenario):
    def setUp(self) -> None:
        super().setUp()
        self.relinquished = self.active_contract()
        self.target = self.active_contract()
        for code, status in (("LIFE-01", "active"), ("HEALTH-02", "inactive")):
            self.ledger.add_contract_code(self.carrier_staff, self.relinquished, code, status=status)
        self.ledger.add_contract_code(self.carrier_staff, self.target, "LIFE-01")

    def consolidate(self, code_handling: str = "merge", target=None, actor=None):
        return self.ledger.consolidate(
            actor or self.carrier_staff, self.relinquished, target or self.target, code_handling, note="acquired"
        )

    def test_the_relinquished_contract_ends_consolidated_as_a_termination(self) -> None:
        self.consolidate()
        relinquished = self.ledger.get_contract(self.relinquished)
        self.assertEqual(Status.CONSOLIDATED, relinquished.status)
        self.assertEqual("Consolidated", relinquished.termination["reason"])
        self.assertEqual(self.target, relinquished.consolidated_into)

    def test_merging_codes_keeps_one_code_per_string(self) -> None:
        self.consolidate("merge")
        codes = self.ledger.get_contract(self.target).codes
        self.assertEqual(["LIFE-01", "HEALTH-02"], [c["code"] for c in codes])

    def test_copying_codes_carries_every_code_over(self) -> None:
        self.consolidate("copy")
        codes = self.ledger.get_contract(self.target).codes
        self.assertEqual(["LIFE-01", "LIFE-01", "HEALTH-02"], [c["code"] for c in codes])

    def test_neither_choice_changes_the_status_of_a_code_the_target_already_has(self) -> None:
        for code_handling in ("copy", "merge"):
            with self.subTest(code_handling=code_handling):
                relinquished, target = self.active_contract(), self.active_contract()
                # each code the target has arrives from the relinquished contract with the other status
                for contract, active, inactive in ((relinquished, "SHARED-A", "SHARED-B"), (target, "SHARED-B", "SHARED-A")):
                    self.ledger.add_contract_code(self.carrier_staff, contract, active, status="active")
                    self.ledger.add_contract_code(self.carrier_staff, contract, inactive, status="inactive")
                self.ledger.add_contract_code(self.carrier_staff, relinquished, "NEW-C", status="inactive")
                self.ledger.consolidate(self.carrier_staff, relinquished, target, code_handling)
                codes = self.ledger.get_contract(target).codes
                self.assertEqual({"SHARED-A": "inactive", "SHARED-B": "active", "NEW-C": "inactive"},
                                 self.ledger.get_contract(target).code_statuses)
                # every entry of one string says the same (a copy's second entry too)
                self.assertEqual(
                    {("SHARED-A", "inactive"), ("SHARED-B", "active"), ("NEW-C", "inactive")},
                    {(c["code"], c["status"]) for c in codes},
                )

    def test_merging_keeps_one_code_per_string_even_when_the_relinquished_contract_holds_two(self) -> None:
        once_copied = self.active_contract()
        self.ledger.add_contract_code(self.carrier_staff, once_copied, "LIFE-01")
        self.ledger.consolidate(self.carrier_staff, once_copied, self.relinquished, "copy")
        self.assertEqual(["LIFE-01", "HEALTH-02", "LIFE-01"], [c["code"] for c in self.ledger.get_contract(self.relinquished).codes])
        fresh = self.active_contract()
        self.ledger.consolidate(self.carrier_staff, self.relinquished, fresh, "merge")
        self.assertEqual(["LIFE-01", "HEALTH-02"], [c["code"] for c in self.ledger.get_contract(fresh).codes])

    def test_both_contracts_change_in_one_save(self) -> None:
        before = self.ledger.recorder.max_notification_id()
        self.consolidate()
        self.assertEqual(before + 2, self.ledger.recorder.max_notification_id())

    def test_the_code_handling_is_copy_or_merge(self) -> None:
        self.assert_refused(
            InvalidInput, "contract.consolidate.code_handling", lambda: self.consolidate("shuffle"), self.relinquished, self.target
        )

    def test_only_the_primary_owner_consolidates(self) -> None:
        self.assert_refused(
            NotPermitted,
            "contract.consolidate.primary_owner_only",
            lambda: self.consolidate(actor=self.aga_admin),
            self.relinquished,
            self.target,
        )

    def test_a_stranger_is_told_the_contract_does_not_exist(self) -> None:
        stranger = self.register("carrier", "Stranger Life")
        self.assert_refused(
            NotFound,
            "contract.not_found",
            lambda: self.consolidate(actor=self.admin_of(stranger)),
            self.relinquished,
            self.target,
        )

    def test_chains_must_be_identical(self) -> None:
        self.relate(self.carrier, self.aga)
        other = self.active_contract([self.carrier, self.aga, self.advisor])
        self.assert_refused(
            RuleBroken,
            "contract.consolidate.different_chains",
            lambda: self.consolidate(target=other),
            self.relinquished,
            other,
        )

    def test_the_target_must_be_active(self) -> None:
        self.ledger.vest(self.carrier_staff, self.target, "Vested")
        self.assert_refused(
            RuleBroken, "contract.consolidate.target_not_active", self.consolidate, self.relinquished, self.target
        )

    def test_a_contract_is_not_consolidated_into_itself(self) -> None:
        self.assert_refused(
            RuleBroken,
            "contract.consolidate.into_itself",
            lambda: self.consolidate(target=self.relinquished),
            self.relinquished,
        )

    def test_nothing_is_consolidated_into_a_contract_consolidated_away(self) -> None:
        third = self.active_contract()
        self.consolidate()
        self.assert_refused(
            RuleBroken,
            "contract.consolidate.target_consolidated",
            lambda: self.ledger.consolidate(self.carrier_staff, third, self.relinquished, "merge"),
            third,
            self.relinquished,
        )

    def test_a_consolidated_contract_is_not_consolidated_again(self) -> None:
        third = self.active_contract()
        self.consolidate()
        self.assert_refused(
            RuleBroken,
            "contract.status.terminal",
            lambda: self.ledger.consolidate(self.carrier_staff, self.relinquished, third, "merge"),
            third,
            self.relinquished,
        )

    def test_a_consolidated_contract_cannot_be_reactivated(self) -> None:
        self.consolidate()
        self.assert_refused(
            RuleBroken,
            "contract.reactivate.consolidated",
            lambda: self.ledger.reactivate(self.carrier_staff, self.relinquished),
            self.relinquished,
        )

    def test_a_pending_contract_is_declined_not_consolidated(self) -> None:
        (pending,) = self.assign()
        self.assert_refused(
            RuleBroken,
            "contract.consolidate.pending",
            lambda: self.ledger.consolidate(self.carrier_staff, pending, self.target, "merge"),
            pending,
            self.target,
        )

    def test_a_terminated_contract_can_be_consolidated_into_its_successor(self) -> None:
        self.ledger.terminate(self.carrier_staff, self.relinquished, "Business Decision", [SIGNED_LETTER])
        self.consolidate()
        self.assertEqual(Status.CONSOLIDATED, self.status_of(self.relinquished))

    def test_a_contract_with_a_transfer_under_way_is_not_consolidated(self) -> None:
        accepting = self.register("agency", "Lighthouse AGA")
        self.ledger.request_transfer(self.producer, self.relinquished, self.aga, accepting)
        self.assert_refused(
            RuleBroken, "contract.consolidate.transfer_requested", self.consolidate, self.relinquished, self.target
        )

    def test_direct_relationships_are_not_consolidated(self) -> None:
        relationships = [self.ledger.establish_direct_relationship(self.aga_admin, self.carrier, self.aga)]
        self.ledger.set_manual_status(self.carrier_staff, relationships[0], Status.ACTIVE)
        self.assert_refused(
            RuleBroken,
            "contract.consolidate.advisor_contracts_only",
            lambda: self.ledger.consolidate(self.carrier_staff, relationships[0], self.target, "merge"),
            relationships[0],
        )
