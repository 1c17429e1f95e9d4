"""Use cases on a contract's writing numbers and contract codes (rules §2 and 4).

Allowed in any non-terminal status, by an admin of a party on the contract
or a sync peer (who acts like an admin of the primary owner).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from eventsourcing.domain import Aggregate

from contractledger.domain.actor import Actor
from contractledger.domain.contract import Contract
from contractledger.domain.permissions import ensure_admin_on_contract, ensure_may_change


class NumberingUseCases:
    def _change_numbering(
        self, actor: Actor, contract_id: UUID, change: Callable[[Contract], None], arguments: dict, command_id: str | None, name: str
    ) -> int:
        def use_case() -> tuple[int, list[Aggregate]]:
            ensure_may_change(actor)
            contract = self._load_contract(contract_id)
            ensure_admin_on_contract(actor, contract)
            change(contract)
            return contract.version, [contract]

        use_case.__qualname__ = name
        return self._run(command_id, dict(actor=actor, contract_id=contract_id, **arguments), use_case)

    def _stamp(self, actor: Actor) -> dict:
        return dict(actor=actor, effective_on=self._today(), at=self._now())

    def add_writing_number(self, actor: Actor, contract_id: UUID, writing_number: str, *, command_id: str | None = None) -> int:
        """rules §2: the carrier's agent number for this advisor, on a non-terminal contract."""
        return self._change_numbering(
            actor,
            contract_id,
            lambda c: c.add_writing_number(writing_number, **self._stamp(actor)),
            dict(writing_number=writing_number),
            command_id,
            "add_writing_number",
        )

    def change_writing_number(
        self, actor: Actor, contract_id: UUID, old_writing_number: str, new_writing_number: str, *, command_id: str | None = None
    ) -> int:
        """rules §2: replaces one writing number with another."""
        return self._change_numbering(
            actor,
            contract_id,
            lambda c: c.change_writing_number(old_writing_number, new_writing_number, **self._stamp(actor)),
            dict(old_writing_number=old_writing_number, new_writing_number=new_writing_number),
            command_id,
            "change_writing_number",
        )

    def add_contract_code(
        self, actor: Actor, contract_id: UUID, code: str, *, status: str = "active", command_id: str | None = None
    ) -> int:
        """rules §2: a contract code with its own status (active or inactive)."""
        return self._change_numbering(
            actor,
            contract_id,
            lambda c: c.add_code(code, status, **self._stamp(actor)),
            dict(code=code, status=status),
            command_id,
            "add_contract_code",
        )

    def rename_contract_code(
        self, actor: Actor, contract_id: UUID, old_code: str, new_code: str, *, command_id: str | None = None
    ) -> int:
        """rules §2: corrects a code's string; its status is kept."""
        return self._change_numbering(
            actor,
            contract_id,
            lambda c: c.rename_code(old_code, new_code, **self._stamp(actor)),
            dict(old_code=old_code, new_code=new_code),
            command_id,
            "rename_contract_code",
        )

    def set_contract_code_status(
        self, actor: Actor, contract_id: UUID, code: str, status: str, *, command_id: str | None = None
    ) -> int:
        """rules §2: each code's status changes on its own, whatever the contract's status (rules §5: untouched by downgrade/vest)."""
        return self._change_numbering(
            actor,
            contract_id,
            lambda c: c.change_code_status(code, status, **self._stamp(actor)),
            dict(code=code, status=status),
            command_id,
            "set_contract_code_status",
        )
