"""A command made conditional on the version its caller read (If-Match at the
edge) acts only on that version, and is refused without a trace otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ledger_scenarios import LedgerScenario  # noqa: E402

from contractledger.domain.errors import Conflict  # noqa: E402
from contractledger.domain.expectations import VERSION_MISMATCH, expecting  # noqa: E402


class TestConditionalCommands(LedgerScenario):
    def test_a_command_conditional_on_the_current_version_applies(self) -> None:
        contract_id = self.active_contract()
        version = self.ledger.get_contract(contract_id).version
        with expecting(contract_id, version):
            self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1")
        self.assertEqual(version + 1, self.ledger.get_contract(contract_id).version)

    def test_a_command_conditional_on_an_older_version_is_refused_and_records_nothing(self) -> None:
        contract_id = self.active_contract()
        seen = self.ledger.get_contract(contract_id).version
        self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-1")
        with expecting(contract_id, seen):
            error = self.assert_refused(
                Conflict,
                VERSION_MISMATCH,
                lambda: self.ledger.add_contract_code(self.carrier_staff, contract_id, "C-1"),
                contract_id,
            )
        self.assertEqual(seen + 1, error.current_version)  # type: ignore[attr-defined]

    def test_a_record_command_is_conditional_on_the_records_version(self) -> None:
        contract_id = self.active_contract()
        record = self.ledger.add_monitoring(
            self.mga_admin, contract_id, level=3, reason="Sales", effective_on=self.today, reminder_on=self.in_days(7)
        )
        self.ledger.change_monitoring(self.mga_admin, record, reminder_on=self.in_days(14))
        with expecting(record, 1):
            self.assert_refused(
                Conflict, VERSION_MISMATCH, lambda: self.ledger.remove_monitoring(self.mga_admin, record), record
            )

    def test_other_aggregates_loaded_by_the_command_are_not_held_to_the_version(self) -> None:
        contract_id = self.active_contract()
        with expecting(self.carrier, 999):
            self.ledger.add_writing_number(self.carrier_staff, contract_id, "WN-2")
        self.assertIn("WN-2", self.ledger.get_contract(contract_id).writing_numbers)
