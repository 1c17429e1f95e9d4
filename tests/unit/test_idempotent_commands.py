"""Idempotent use cases: a caller-supplied command id runs a command once."""

from __future__ import annotations

import sys
from pathlib import Path
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import LedgerScenario  # noqa: E402

from contractledger.domain.command_record import CommandRecord, fingerprint, record_id  # noqa: E402
from contractledger.domain.errors import RuleBroken  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402


class TestIdempotentCommands(LedgerScenario):
    def reads_of_aggregates(self) -> list[object]:
        """The ids of the aggregates the ledger reads from now on, one per read of the store (a store that reads a
        snapshot and the events after it at once, as PostgreSQL's does, in one; the library's in two)."""
        read: list[object] = []
        recorder = self.ledger.recorder
        both = getattr(recorder, "select_from_latest_snapshot", None)
        if both is not None:
            recorder.select_from_latest_snapshot = lambda snapshots, originator_id, **kw: (  # type: ignore[attr-defined]
                read.append(originator_id) or both(snapshots, originator_id, **kw)
            )
        events = recorder.select_events
        recorder.select_events = lambda originator_id, **kw: read.append(originator_id) or events(originator_id, **kw)  # type: ignore[method-assign]
        snapshots = self.ledger.snapshots.recorder if self.ledger.snapshots is not None else None
        if snapshots is not None and both is None:
            kept = snapshots.select_events
            snapshots.select_events = lambda originator_id, **kw: read.append(("snapshot", originator_id)) or kept(originator_id, **kw)  # type: ignore[method-assign]
        return read

    def test_the_same_command_id_returns_the_first_outcome_and_records_nothing_new(self) -> None:
        first = self.ledger.assign_contracts(self.aga_admin, [self.full_chain], "producer", command_id="assign-1")
        before = self.ledger.recorder.max_notification_id()
        again = self.ledger.assign_contracts(self.aga_admin, [self.full_chain], "producer", command_id="assign-1")
        self.assertEqual(first, again)
        self.assertEqual(before, self.ledger.recorder.max_notification_id())

    def test_a_new_command_reads_only_its_aggregates_and_a_repeat_still_answers_its_first_outcome(self) -> None:
        (contract_id,) = self.assign()
        read = self.reads_of_aggregates()
        first = self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1", command_id="wn-1")
        # the contract (with its snapshot, if the store reads them apart), not the command's record: a new command
        # looks for none
        self.assertEqual([r for r in read if not isinstance(r, tuple)], [contract_id])
        before = self.ledger.recorder.max_notification_id()
        # a repeat whose rules now refuse it (the number is taken) and one that would run again both answer the first
        self.assertEqual(first, self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1", command_id="wn-1"))
        self.ledger.set_manual_status(self.aga_admin, contract_id, "pending_backgrounds", command_id="hold-1")
        held = self.ledger.get_contract(contract_id).version
        self.ledger.set_manual_status(self.aga_admin, contract_id, "pending_new_business", command_id="hold-2")
        self.assertEqual(held, self.ledger.set_manual_status(self.aga_admin, contract_id, "pending_backgrounds", command_id="hold-1"))
        self.assertEqual(before + 4, self.ledger.recorder.max_notification_id())  # the two holds, nothing for repeats

    def test_a_repeat_of_a_command_recorded_before_commands_were_data_answers_its_first_outcome(self) -> None:
        # the ledger fingerprinted it under its use case body's qualified name, with the same arguments
        (contract_id,) = self.assign()
        arguments = dict(actor=self.aga_admin, contract_id=contract_id, status="pending_backgrounds", note=None,
                         documents=(), effective_on=None)
        earlier = fingerprint("OnboardingUseCases.set_manual_status.<locals>.use_case", arguments)
        recorded = CommandRecord.record("hold-0", earlier, 7, actor=self.aga_admin, effective_on=self.today, at=self.clock.now())
        self.ledger.save(recorded)
        before = self.ledger.recorder.max_notification_id()
        self.assertEqual(7, self.ledger.set_manual_status(self.aga_admin, contract_id, "pending_backgrounds", command_id="hold-0"))
        self.assertEqual(before, self.ledger.recorder.max_notification_id())
        # another command under that id is still refused
        with self.assertRaises(RuleBroken) as reused:
            self.ledger.set_manual_status(self.aga_admin, contract_id, "pending_new_business", command_id="hold-0")
        self.assertEqual("command.id_reused", reused.exception.code)

    def test_a_command_without_an_id_takes_no_fingerprint_of_its_arguments(self) -> None:
        # only a command id's repeats are told apart by the fingerprint: without an id there is nothing to compare
        (contract_id,) = self.assign()
        with patch("contractledger.domain.command_record.fingerprint", side_effect=AssertionError("fingerprinted")) as taken:
            self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1")
            with self.assertRaises(RuleBroken):
                self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1")
        self.assertEqual(taken.call_count, 0)
        self.assertEqual(self.ledger.get_contract(contract_id).writing_numbers, ["WN-1"])

    def test_the_command_record_is_saved_with_the_events(self) -> None:
        (contract_id,) = self.assign()
        before = self.ledger.recorder.max_notification_id()
        self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1", command_id="wn-1")
        self.assertEqual(before + 2, self.ledger.recorder.max_notification_id())
        self.assertEqual(self.ledger.get_contract(contract_id).version, self.ledger.repository.get(record_id("wn-1")).outcome)

    def test_a_command_id_reused_with_different_arguments_is_refused(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1", command_id="wn")
        self.assert_refused(
            RuleBroken,
            "command.id_reused",
            lambda: self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-2", command_id="wn"),
            contract_id,
        )

    def test_a_command_id_reused_for_another_use_case_is_refused(self) -> None:
        (contract_id,) = self.assign()
        self.ledger.add_writing_number(self.carrier_staff, contract_id, "X", command_id="cmd")
        self.assert_refused(
            RuleBroken,
            "command.id_reused",
            lambda: self.ledger.add_contract_code(self.carrier_staff, contract_id, "X", command_id="cmd"),
            contract_id,
        )

    def test_a_refused_command_records_no_command_id_and_can_be_retried(self) -> None:
        (contract_id,) = self.assign()
        self.assert_refused(
            RuleBroken,
            "contract.status.workflow_only",
            lambda: self.ledger.set_manual_status(self.aga_admin, contract_id, Status.PENDING_CARRIER, command_id="s"),
            contract_id,
        )
        self.ledger.submit_to_carrier(self.aga_admin, contract_id)
        self.ledger.set_manual_status(self.aga_admin, contract_id, Status.ACTIVE, command_id="s")
        self.assertEqual(Status.ACTIVE, self.status_of(contract_id))

    def test_losing_the_race_for_a_command_id_returns_the_winners_outcome(self) -> None:
        ledger = self.ledger
        winner = ledger.register_party(self.system, "agency", {"name": "Race AGA"}, command_id="race")
        before = ledger.recorder.max_notification_id()
        # The loser looked for the record before the winner committed, so it
        # ran the use case too; its save collides on the record's id.
        lookups = iter([None])
        real_lookup = ledger._command_record
        ledger._command_record = lambda command_id: next(lookups, None) or real_lookup(command_id)
        try:
            loser = ledger.register_party(self.system, "agency", {"name": "Race AGA"}, command_id="race")
        finally:
            del ledger._command_record
        self.assertEqual(winner, loser)
        self.assertEqual(before, ledger.recorder.max_notification_id())
