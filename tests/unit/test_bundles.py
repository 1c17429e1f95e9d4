"""rules §4: bundles move together, atomically, and are never mixed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import LedgerScenario  # noqa: E402

from contractledger.domain.errors import Conflict, NotFound, RuleBroken  # noqa: E402
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
        # the three members' steps and the bundle's record of them
        self.assertEqual(before + 4, self.ledger.recorder.max_notification_id())

    def test_the_producer_submits_the_whole_bundle(self) -> None:
        ids = self.assign_bundle()
        self.ledger.send_to_producer(self.aga_admin, ids[0])
        self.ledger.submit_by_producer(self.producer, ids[2])
        self.ledger.submit_to_carrier(self.aga_admin, ids[1])
        self.assertEqual([Status.PENDING_CARRIER] * 3, self.statuses(ids))

    def test_a_terminal_member_stays_behind(self) -> None:
        ids = self.assign_bundle()
        self.ledger.nullify(self.aga_admin, ids[2])
        self.ledger.send_to_producer(self.aga_admin, ids[0])
        self.assertEqual([Status.PENDING_PRODUCER, Status.PENDING_PRODUCER, Status.NULLIFIED], self.statuses(ids))

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
        self.assert_refused(
            RuleBroken,
            "bundle.detach_first",
            lambda: self.ledger.set_manual_status(self.aga_admin, ids[1], Status.PENDING_BACKGROUNDS),
            *ids,
        )
        self.ledger.submit_by_producer(self.producer, ids[2])
        self.assertEqual([Status.PENDING_AGENCY] * 3, self.statuses(ids))

    # -- bundle.detach_first (rules §4) ---------------------------------------------------

    def test_bundle_detach_first_a_hold_on_one_member_with_the_agency_is_refused_and_the_bundle_moves_whole(self) -> None:
        ids = self.assign_bundle()
        error = self.assert_refused(
            RuleBroken,
            "bundle.detach_first",
            lambda: self.ledger.set_manual_status(self.aga_admin, ids[1], Status.AWAITING_INCOMING_RELEASE),
            *ids,
        )
        self.assertIn("detach", error.message)
        moved = self.ledger.send_to_producer(self.aga_admin, ids[2])
        self.assertEqual(set(ids), set(moved))
        self.assertEqual([Status.PENDING_PRODUCER] * 3, self.statuses(ids))

    def test_bundle_detach_first_holds_with_the_producer_too_for_every_manual_status(self) -> None:
        ids = self.assign_bundle()
        self.ledger.send_to_producer(self.aga_admin, ids[0])
        for status in (Status.DECLINED, Status.WITHDRAWN, Status.ACTIVE, Status.PENDING_NEW_BUSINESS):
            with self.subTest(status=status):
                self.assert_refused(
                    RuleBroken,
                    "bundle.detach_first",
                    lambda: self.ledger.set_manual_status(self.aga_admin, ids[0], status),
                    *ids,
                )

    def test_bundle_detach_first_a_detached_member_takes_its_status_alone(self) -> None:
        ids = self.assign_bundle()
        self.ledger.detach_from_bundle(self.aga_admin, ids[1])
        self.ledger.set_manual_status(self.aga_admin, ids[1], Status.AWAITING_INCOMING_RELEASE)
        self.ledger.send_to_producer(self.aga_admin, ids[0])
        self.assertEqual(
            [Status.PENDING_PRODUCER, Status.AWAITING_INCOMING_RELEASE, Status.PENDING_PRODUCER], self.statuses(ids)
        )

    def test_bundle_detach_first_a_member_left_alone_in_its_bundle_takes_its_status(self) -> None:
        ids = self.assign_bundle()
        self.ledger.detach_from_bundle(self.aga_admin, ids[0])
        self.ledger.nullify(self.aga_admin, ids[1])
        self.ledger.set_manual_status(self.aga_admin, ids[2], Status.WITHDRAWN)
        self.assertEqual(Status.WITHDRAWN, self.status_of(ids[2]))

    def test_bundle_detach_first_the_whole_bundle_takes_a_manual_status_as_one(self) -> None:
        ids = self.assign_bundle()
        self.ledger.nullify(self.aga_admin, ids[2])
        before = self.ledger.recorder.max_notification_id()
        outcome = self.ledger.set_bundle_manual_status(self.aga_admin, ids[1], Status.AWAITING_INCOMING_RELEASE)
        self.assertEqual(self.ledger.get_contract(ids[1]).version, outcome["version"])
        self.assertEqual({ids[0], ids[1]}, set(outcome["contract_ids"]))
        self.assertEqual(
            [Status.AWAITING_INCOMING_RELEASE, Status.AWAITING_INCOMING_RELEASE, Status.NULLIFIED], self.statuses(ids)
        )
        events = self.ledger.recorder.select_notifications(before + 1, 100)
        self.assertEqual({ids[0], ids[1]}, {n.originator_id for n in events if n.originator_id in ids})
        # held as one, and from the hold each member goes on by its own decisions
        self.ledger.set_manual_status(self.carrier_staff, ids[0], Status.ACTIVE)
        self.assertEqual(Status.ACTIVE, self.status_of(ids[0]))

    def test_bundle_detach_first_a_whole_bundle_status_one_member_cannot_take_moves_none(self) -> None:
        # The MGA assigns two contracts; only the first runs through the AGA.
        ids = self.assign(self.full_chain, [self.second_carrier, self.mga, self.advisor], actor=self.mga_admin)
        self.assert_refused(
            NotFound,
            "contract.not_found",
            lambda: self.ledger.set_bundle_manual_status(self.aga_admin, ids[0], Status.WITHDRAWN),
            *ids,
        )
        self.ledger.set_bundle_manual_status(self.mga_admin, ids[0], Status.WITHDRAWN)
        self.assertEqual([Status.WITHDRAWN, Status.WITHDRAWN], self.statuses(ids))

    def test_bundle_detach_first_from_pending_carrier_on_manual_statuses_are_per_contract(self) -> None:
        ids = self.assign_bundle()
        self.ledger.submit_to_carrier(self.aga_admin, ids[0])
        self.ledger.set_manual_status(self.carrier_staff, ids[0], Status.PENDING_BACKGROUNDS)
        self.ledger.set_manual_status(self.admin_of(self.second_carrier), ids[1], Status.DECLINED)
        self.assertEqual([Status.PENDING_BACKGROUNDS, Status.DECLINED, Status.PENDING_CARRIER], self.statuses(ids))

    def test_bundle_detach_first_a_bundle_split_before_the_rule_moves_only_once_the_member_apart_is_detached(self) -> None:
        ids = self.assign_bundle()
        # as a ledger written before bundle.detach_first left it: one member held alone
        held = self.ledger.get_contract(ids[1])
        held.set_manual_status(
            Status.AWAITING_INCOMING_RELEASE, None, (), actor=self.aga_admin, effective_on=self.today, at=self.clock.now()
        )
        self.ledger.save(held)
        error = self.assert_refused(
            RuleBroken, "bundle.detach_first", lambda: self.ledger.send_to_producer(self.aga_admin, ids[0]), *ids
        )
        self.assertIn(str(ids[1]), error.message)
        self.ledger.detach_from_bundle(self.aga_admin, ids[1])
        self.ledger.send_to_producer(self.aga_admin, ids[0])
        self.assertEqual(
            [Status.PENDING_PRODUCER, Status.AWAITING_INCOMING_RELEASE, Status.PENDING_PRODUCER], self.statuses(ids)
        )

    # -- a detach racing a bundle move (rules §4): one serial order -----------------------

    def detach_lands(self, moment: str, detached, step) -> None:  # type: ignore[no-untyped-def]
        """Runs ``step`` with a detach of ``detached`` landing at ``moment``:
        right after the step read the bundle, or after it read the members."""
        ledger = self.ledger
        loaded = {"bundle": ledger._load_bundle, "members": ledger._load_contract}[moment]
        landed: list[object] = []

        def load(aggregate_id):  # type: ignore[no-untyped-def]
            found = loaded(aggregate_id)
            if not landed and (moment == "bundle" or aggregate_id == detached):
                landed.append(detached)  # first: the detach loads them too
                ledger.detach_from_bundle(self.aga_admin, detached)
            return found

        setattr(ledger, {"bundle": "_load_bundle", "members": "_load_contract"}[moment], load)
        try:
            step()
        finally:
            delattr(ledger, {"bundle": "_load_bundle", "members": "_load_contract"}[moment])
        self.assertEqual(1, len(landed))

    def test_a_detach_racing_a_bundle_step_leaves_the_detached_member_where_it_was(self) -> None:
        for moment in ("bundle", "members"):
            with self.subTest(moment=moment):
                ids = self.assign_bundle()
                with self.assertRaises(Conflict) as refused:
                    self.detach_lands(moment, ids[2], lambda: self.ledger.send_to_producer(self.aga_admin, ids[0]))
                self.assertEqual("contract.concurrent_change", refused.exception.code)
                events = [type(e).__name__ for e in self.ledger.events.get(ids[2])]
                self.assertEqual(["Assigned", "DetachedFromBundle"], events)
                self.assertEqual([Status.PENDING_AGENCY] * 3, self.statuses(ids))  # the step saved nothing
                moved = self.ledger.send_to_producer(self.aga_admin, ids[0])  # tried again: the bundle without it
                self.assertEqual({ids[0], ids[1]}, set(moved))
                self.assertEqual([Status.PENDING_PRODUCER, Status.PENDING_PRODUCER, Status.PENDING_AGENCY], self.statuses(ids))

    def test_a_detach_racing_a_whole_bundle_status_leaves_the_detached_member_where_it_was(self) -> None:
        ids = self.assign_bundle()
        with self.assertRaises(Conflict):
            self.detach_lands(
                "bundle", ids[2], lambda: self.ledger.set_bundle_manual_status(self.aga_admin, ids[0], Status.WITHDRAWN)
            )
        self.assertEqual(["Assigned", "DetachedFromBundle"], [type(e).__name__ for e in self.ledger.events.get(ids[2])])
        self.assertEqual([Status.PENDING_AGENCY] * 3, self.statuses(ids))

    def test_a_step_records_on_the_bundle_which_members_moved_together(self) -> None:
        ids = self.assign_bundle()
        bundle_id = self.ledger.get_contract(ids[0]).bundle_id
        self.ledger.send_to_producer(self.aga_admin, ids[1])
        (formed, moved) = list(self.ledger.events.get(bundle_id))
        self.assertEqual((set(ids), "pending_producer"), (set(moved.contract_ids), moved.status))
