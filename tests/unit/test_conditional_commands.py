"""A command made conditional on the version its caller read (If-Match at the
edge: the command's expected_version) acts only on that version, and is
refused without a trace otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import LedgerScenario  # noqa: E402

from contractledger.domain.errors import Conflict  # noqa: E402
from contractledger.domain.commands import VERSION_MISMATCH  # noqa: E402


class TestConditionalCommands(LedgerScenario):
    def test_a_command_conditional_on_the_current_version_applies(self) -> None:
        contract_id = self.active_contract()
        version = self.ledger.get_contract(contract_id).version
        self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1", expected_version=version)
        self.assertEqual(version + 1, self.ledger.get_contract(contract_id).version)

    def test_a_command_conditional_on_an_older_version_is_refused_and_records_nothing(self) -> None:
        contract_id = self.active_contract()
        seen = self.ledger.get_contract(contract_id).version
        self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1")
        error = self.assert_refused(
            Conflict,
            VERSION_MISMATCH,
            lambda: self.ledger.add_contract_code(self.carrier_staff, contract_id, "C-1", expected_version=seen),
            contract_id,
        )
        self.assertEqual(seen + 1, error.current_version)  # type: ignore[attr-defined]

    def test_a_record_command_is_conditional_on_the_records_version(self) -> None:
        contract_id = self.active_contract()
        record = self.ledger.add_monitoring(
            self.mga_admin, contract_id, level=3, reason="Sales", effective_on=self.today, reminder_on=self.in_days(7)
        )
        self.ledger.change_monitoring(self.mga_admin, record, reminder_on=self.in_days(14))
        self.assert_refused(
            Conflict,
            VERSION_MISMATCH,
            lambda: self.ledger.remove_monitoring(self.mga_admin, record, expected_version=1),
            record,
        )

    def test_a_change_landing_between_the_check_and_the_load_is_refused(self) -> None:
        contract_id = self.active_contract()
        seen = self.ledger.get_contract(contract_id).version
        load = self.ledger._load_contract
        landed: list[bool] = []

        def load_after_another_change(aggregate_id):  # another writer saves just before the command loads
            if not landed:
                landed.append(True)
                self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-0")
            return load(aggregate_id)

        self.ledger._load_contract = load_after_another_change  # type: ignore[method-assign]
        with self.assertRaises(Conflict) as refused:
            self.ledger.add_contract_code(self.carrier_staff, contract_id, "C-1", expected_version=seen)
        self.assertEqual(VERSION_MISMATCH, refused.exception.code)
        self.assertEqual(seen + 1, refused.exception.current_version)  # type: ignore[attr-defined]
        contract = load(contract_id)
        self.assertEqual(seen + 1, contract.version, "only the other writer's change is stored")
        self.assertNotIn("C-1", str(contract.__dict__))
