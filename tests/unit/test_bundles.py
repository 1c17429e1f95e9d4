"""SPEC 4: bundles move together, atomically, and are never mixed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import LedgerScenario  # noqa: E402

from contractledger.domain.errors import NotFound, RuleBroken  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402


class TestBundles(LedgerScenario):
    def setUp(self) -> None:
        super().setUp()
        self.second_carrier = self.register("carrier", "Southern Mutual")
        self.relate(self.second_carrier, self.mga)
        self.third_carrier = self.register("carrier", "Eastern General")
        self.relate(self.third_carrier, self.mga)
        self.chains = [[c, self.mga, self.aga, self.advisor] for c in (self.carrier, self.second_carrier, self.third_carrier)]

    def assign_bundle(self) -> list:
        return self.assign(*self.chains)

    def statuses(self, ids: list) -> list[Status]:
        return [self.status_of(i) for i in ids]

    def test_the_contracts_of_one_assignment_form_a_bundle(self) -> None:
        ids = self.assign_bundle()
        bundle_ids = {self.ledger.get_contract(i).bundle_id for i in ids}
        self.assertEqual(1, len(bundle_ids))
        self.assertEqual(ids, self.ledger.get_bundle(bundle_ids.pop()).member_ids)

    def test_a_workflow_action_on_one_member_moves_every_member_in_one_save(self) -> None:
        ids = self.assign_bundle()
        before = self.ledger.recorder.max_notification_id()
        moved = self.ledger.send_to_producer(self.aga_admin, ids[1])
        self.assertEqual(set(ids), set(moved))
        self.assertEqual([Status.PENDING_PRODUCER] * 3, self.statuses(ids))
        self.assertEqual(before + 3, self.ledger.recorder.max_notification_id())

    def test_the_producer_submits_the_whole_bundle(self) -> None:
        ids = self.assign_bundle()
        self.ledger.send_to_producer(self.aga_admin, ids[0])
        self.ledger.submit_by_producer(self.producer, ids[2])
        self.ledger.submit_to_carrier(self.aga_admin, ids[1])
        self.assertEqual([Status.PENDING_CARRIER] * 3, self.statuses(ids))

    def test_a_terminal_member_stays_behind(self) -> None:
        ids = self.assign_bundle()
        self.ledger.set_manual_status(self.aga_admin, ids[2], Status.WITHDRAWN)
        self.ledger.send_to_producer(self.aga_admin, ids[0])
        self.assertEqual([Status.PENDING_PRODUCER, Status.PENDING_PRODUCER, Status.WITHDRAWN], self.statuses(ids))

    def test_when_one_member_cannot_move_none_moves(self) -> None:
        # The MGA assigns two contracts; only the first runs through the AGA.
        ids = self.assign(self.full_chain, [self.second_carrier, self.mga, self.advisor], actor=self.mga_admin)
        self.assert_refused(
            NotFound,
            "contract.not_found",
            lambda: self.ledger.send_to_producer(self.aga_admin, ids[0]),
            *ids,
        )
        self.assertEqual([Status.PENDING_AGENCY, Status.PENDING_AGENCY], self.statuses(ids))
        self.ledger.send_to_producer(self.mga_admin, ids[0])
        self.assertEqual([Status.PENDING_PRODUCER, Status.PENDING_PRODUCER], self.statuses(ids))

    def test_carrier_decisions_are_per_contract_and_leave_the_others_in_the_workflow(self) -> None:
        ids = self.assign_bundle()
        self.ledger.submit_to_carrier(self.aga_admin, ids[0])
        self.ledger.set_manual_status(self.carrier_staff, ids[0], Status.ACTIVE)
        self.assertEqual([Status.ACTIVE, Status.PENDING_CARRIER, Status.PENDING_CARRIER], self.statuses(ids))

    def test_a_detached_member_moves_alone(self) -> None:
        ids = self.assign_bundle()
        self.ledger.detach_from_bundle(self.aga_admin, ids[0])
        self.assertIsNone(self.ledger.get_contract(ids[0]).bundle_id)
        self.ledger.send_to_producer(self.aga_admin, ids[0])
        self.assertEqual([Status.PENDING_PRODUCER, Status.PENDING_AGENCY, Status.PENDING_AGENCY], self.statuses(ids))
        self.ledger.submit_to_carrier(self.aga_admin, ids[1])
        self.assertEqual([Status.PENDING_PRODUCER, Status.PENDING_CARRIER, Status.PENDING_CARRIER], self.statuses(ids))

    def test_detaching_a_contract_in_no_bundle_is_refused(self) -> None:
        ids = self.assign_bundle()
        self.ledger.detach_from_bundle(self.aga_admin, ids[0])
        self.assert_refused(
            RuleBroken,
            "contract.bundle.not_a_member",
            lambda: self.ledger.detach_from_bundle(self.aga_admin, ids[0]),
            ids[0],
        )

    def test_one_assignment_is_for_one_advisor(self) -> None:
        other_advisor = self.register("advisor", "Grace Hopper", advisor_kind="individual")
        chains = [self.full_chain, [self.carrier, self.mga, self.aga, other_advisor]]
        self.assert_refused(
            RuleBroken, "bundle.mixed_advisors", lambda: self.ledger.assign_contracts(self.aga_admin, chains, "producer")
        )

    def test_non_terminal_members_never_disagree_on_their_workflow_status(self) -> None:
        ids = self.assign_bundle()
        self.ledger.send_to_producer(self.aga_admin, ids[0])
        self.ledger.set_manual_status(self.aga_admin, ids[1], Status.PENDING_BACKGROUNDS)
        self.ledger.submit_by_producer(self.producer, ids[2])
        in_workflow = {s for s in self.statuses(ids) if s in (Status.PENDING_AGENCY, Status.PENDING_PRODUCER, Status.PENDING_CARRIER)}
        self.assertEqual({Status.PENDING_AGENCY}, in_workflow)
