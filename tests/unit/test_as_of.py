"""rules §10 (as of) and rules §5 (effective dates): reading the past from the events."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import SIGNED_LETTER, START, LedgerScenario  # noqa: E402

from contractledger.domain.errors import NotFound  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402


class TestAsOf(LedgerScenario):
    def test_a_contract_is_read_as_the_ledger_knew_it_at_a_past_instant(self) -> None:
        contract_id = self.active_contract()
        approved_at = self.clock.now()
        self.days_later(3)
        self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1")
        self.days_later(3)
        self.ledger.terminate(self.carrier_staff, contract_id, "Retired", [SIGNED_LETTER])
        then = self.ledger.contract_as_of(contract_id, approved_at)
        self.assertEqual(Status.ACTIVE, then.status)
        self.assertEqual([], then.writing_numbers)
        middle = self.ledger.contract_as_of(contract_id, approved_at + timedelta(days=4))
        self.assertEqual((Status.ACTIVE, ["WN-1"]), (middle.status, middle.writing_numbers))
        self.assertEqual(Status.TERMINATED, self.ledger.contract_as_of(contract_id, self.clock.now()).status)

    def test_a_contract_read_before_it_existed_is_not_found(self) -> None:
        self.days_later(1)
        contract_id = self.active_contract()
        with self.assertRaises(NotFound):
            self.ledger.contract_as_of(contract_id, START)

    def test_a_profile_is_read_as_it_was_at_a_past_instant(self) -> None:
        self.ledger.change_profile(self.producer, self.advisor, {"identifiers": {"npn": "111"}})
        before = self.clock.now()
        self.days_later(10)
        self.ledger.change_profile(self.producer, self.advisor, {"identifiers": {"npn": "222"}})
        self.assertEqual({"npn": "111"}, self.ledger.party_as_of(self.advisor, before).profile["identifiers"])
        self.assertEqual({"npn": "222"}, self.ledger.get_party(self.advisor).profile["identifiers"])

    def test_an_as_of_read_past_a_snapshot_replays_from_the_events(self) -> None:
        contract_id = self.active_contract()
        self.ledger.add_contract_code(self.carrier_staff, contract_id, "C")
        marks = []
        for i in range(120):
            self.clock.advance(minutes=1)
            self.ledger.set_contract_code_status(self.carrier_staff, contract_id, "C", "inactive" if i % 2 == 0 else "active")
            marks.append(self.clock.now())
        self.assertEqual("inactive", self.ledger.contract_as_of(contract_id, marks[0]).code_statuses["C"])
        self.assertEqual("active", self.ledger.contract_as_of(contract_id, marks[101]).code_statuses["C"])
        self.assertEqual("inactive", self.ledger.contract_as_of(contract_id, marks[118]).code_statuses["C"])
        self.assertEqual(self.ledger.get_contract(contract_id), self.ledger.contract_as_of(contract_id, marks[-1]))

    def test_the_status_on_a_day_follows_the_effective_dates(self) -> None:
        contract_id = self.active_contract()
        self.ledger.downgrade(self.carrier_staff, contract_id, "Quiet year", effective_on=self.in_days(10))
        contract = self.ledger.get_contract(contract_id)
        self.assertEqual(Status.ACTIVE, contract.status_on(self.in_days(9)))
        self.assertEqual(Status.DOWNGRADED, contract.status_on(self.in_days(10)))

    def test_the_history_lists_every_event_in_order_with_actor_and_dates(self) -> None:
        contract_id = self.active_contract()
        history = self.ledger.history(contract_id)
        self.assertEqual(
            ["Assigned", "SentToProducer", "SubmittedByProducer", "SubmittedToCarrier", "StatusChanged"],
            [h["event"] for h in history],
        )
        self.assertEqual(list(range(1, 6)), [h["sequence"] for h in history])
        self.assertEqual("producer", history[2]["actor"]["role"])
        self.assertEqual(self.today.isoformat(), history[0]["effective_on"])
        self.assertEqual(START.isoformat(), history[0]["recorded_at"])

    def test_a_viewer_not_on_the_contract_is_told_it_does_not_exist(self) -> None:
        contract_id = self.active_contract()
        stranger = self.admin_of(self.register("agency", "Stranger"))
        for read in (
            lambda: self.ledger.get_contract(contract_id, viewer=stranger),
            lambda: self.ledger.history(contract_id, viewer=stranger),
            lambda: self.ledger.contract_as_of(contract_id, self.clock.now(), viewer=stranger),
        ):
            with self.assertRaises(NotFound):
                read()
        self.assertTrue(self.ledger.history(contract_id, viewer=self.auditor))
        self.assertTrue(self.ledger.history(contract_id, viewer=self.mga_admin))

    def test_the_accepting_entity_sees_the_contract_while_the_transfer_is_open(self) -> None:
        contract_id = self.active_contract()
        accepting = self.register("agency", "Lighthouse AGA")
        self.ledger.request_transfer(self.producer, contract_id, self.aga, accepting)
        contract = self.ledger.get_contract(contract_id, viewer=self.admin_of(accepting))
        self.assertEqual(Status.TRANSFER_REQUESTED, contract.status)

    def test_a_snapshot_restores_every_part_of_a_contracts_state(self) -> None:
        contract_id = self.active_contract()
        self.ledger.add_contract_code(self.carrier_staff, contract_id, "LIFE-01")
        self.ledger.terminate(self.carrier_staff, contract_id, "Retired", [SIGNED_LETTER], effective_on=self.in_days(3))
        for number in range(100 - self.ledger.get_contract(contract_id).version):
            self.ledger.add_writing_number(self.carrier_staff, contract_id, f"WN-{number}")
        self.assertEqual([100], [s.originator_version for s in self.ledger.snapshots.get(contract_id)])
        replayed = None
        for event in self.ledger.events.get(contract_id):
            replayed = event.mutate(replayed)
        from_snapshot = self.ledger.get_contract(contract_id)
        self.assertEqual(replayed.__dict__, from_snapshot.__dict__)
        self.assertEqual(self.in_days(3), from_snapshot.terminating_on(self.today))
