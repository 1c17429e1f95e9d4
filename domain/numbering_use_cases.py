"""Use cases on a contract's writing numbers and contract codes (rules §2 and 4).

Allowed in any non-terminal status, by an admin of a party on the contract
or a sync peer (who acts like an admin of the primary owner).
"""

from __future__ import annotations

from contractledger.domain.actor import Actor
from contractledger.domain.command_handlers import Outcome, handles
from contractledger.domain.commands import (
    AddContractCode,
    AddWritingNumber,
    ChangeWritingNumber,
    RenameContractCode,
    SetContractCodeStatus,
)


class NumberingUseCases:
    def _stamp(self, actor: Actor) -> dict:
        return dict(actor=actor, effective_on=self._today(), at=self._now())

    @handles(AddWritingNumber)
    def add_writing_number(self, actor: Actor, command: AddWritingNumber) -> Outcome:
        """rules §2: the carrier's agent number for this advisor, on a non-terminal contract."""
        return self._on_contract(
            actor, command, lambda c: c.add_writing_number(command.writing_number, **self._stamp(actor))
        )

    @handles(ChangeWritingNumber)
    def change_writing_number(self, actor: Actor, command: ChangeWritingNumber) -> Outcome:
        """rules §2: replaces one writing number with another."""
        return self._on_contract(
            actor,
            command,
            lambda c: c.change_writing_number(command.old_writing_number, command.new_writing_number, **self._stamp(actor)),
        )

    @handles(AddContractCode)
    def add_contract_code(self, actor: Actor, command: AddContractCode) -> Outcome:
        """rules §2: a contract code with its own status (active or inactive)."""
        return self._on_contract(actor, command, lambda c: c.add_code(command.code, command.status, **self._stamp(actor)))

    @handles(RenameContractCode)
    def rename_contract_code(self, actor: Actor, command: RenameContractCode) -> Outcome:
        """rules §2: corrects a code's string; its status is kept."""
        return self._on_contract(
            actor, command, lambda c: c.rename_code(command.old_code, command.new_code, **self._stamp(actor))
        )

    @handles(SetContractCodeStatus)
    def set_contract_code_status(self, actor: Actor, command: SetContractCodeStatus) -> Outcome:
        """rules §2: each code's status changes on its own, whatever the contract's status (rules §5: untouched by downgrade/vest)."""
        return self._on_contract(
            actor, command, lambda c: c.change_code_status(command.code, command.status, **self._stamp(actor))
        )
