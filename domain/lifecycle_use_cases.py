"""Use cases on an established contract (rules §5): downgrade, vest, upgrade,
terminate, reactivate, consolidate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from contractledger.domain.actor import Actor
from contractledger.domain.consolidation import (
    codes_for_target,
    ensure_code_handling,
    ensure_consolidation_allowed,
    ensure_primary_owner_of_both,
)
from contractledger.domain.contract import Contract
from contractledger.domain.documents import DocumentReference
from contractledger.domain.permissions import ensure_admin_on_contract, ensure_may_change


class LifecycleUseCases:
    def _on_contract(
        self,
        actor: Actor,
        contract_id: UUID,
        action: Callable[[Contract], None],
        arguments: dict,
        command_id: str | None,
        name: str,
    ) -> int:
        def use_case() -> tuple[int, list[Aggregate]]:
            ensure_may_change(actor)
            contract = self._load_contract(contract_id)
            ensure_admin_on_contract(actor, contract)
            action(contract)
            return contract.version, [contract]

        use_case.__qualname__ = name
        return self._run(command_id, dict(actor=actor, contract_id=contract_id, **arguments), use_case)

    def downgrade(
        self,
        actor: Actor,
        contract_id: UUID,
        reason: str,
        *,
        note: str | None = None,
        documents: Sequence[DocumentReference] = (),
        effective_on: date | None = None,
        command_id: str | None = None,
    ) -> int:
        """rules §5 (Downgrade, public): an active contract becomes monitored but inactive; codes untouched."""
        day = self._effective(effective_on)
        return self._on_contract(
            actor,
            contract_id,
            lambda c: c.downgrade(reason, note, documents, actor=actor, effective_on=day, at=self._now()),
            dict(reason=reason, note=note, documents=documents, effective_on=effective_on),
            command_id,
            "downgrade",
        )

    def vest(
        self,
        actor: Actor,
        contract_id: UUID,
        reason: str,
        *,
        note: str | None = None,
        documents: Sequence[DocumentReference] = (),
        effective_on: date | None = None,
        command_id: str | None = None,
    ) -> int:
        """rules §5 (Vest, private): an active contract becomes monitored but inactive; codes untouched."""
        day = self._effective(effective_on)
        return self._on_contract(
            actor,
            contract_id,
            lambda c: c.vest(reason, note, documents, actor=actor, effective_on=day, at=self._now()),
            dict(reason=reason, note=note, documents=documents, effective_on=effective_on),
            command_id,
            "vest",
        )

    def upgrade(
        self,
        actor: Actor,
        contract_id: UUID,
        *,
        note: str | None = None,
        documents: Sequence[DocumentReference] = (),
        effective_on: date | None = None,
        command_id: str | None = None,
    ) -> int:
        """rules §5 (Upgrade): a downgraded or vested contract is active again."""
        day = self._effective(effective_on)
        return self._on_contract(
            actor,
            contract_id,
            lambda c: c.upgrade(note, documents, actor=actor, effective_on=day, at=self._now()),
            dict(note=note, documents=documents, effective_on=effective_on),
            command_id,
            "upgrade",
        )

    def terminate(
        self,
        actor: Actor,
        contract_id: UUID,
        reason: str,
        documents: Sequence[DocumentReference],
        *,
        note: str | None = None,
        effective_on: date | None = None,
        command_id: str | None = None,
    ) -> int:
        """rules §5 (Terminate): a reason from the fixed list, a mandatory document, never
        a pending contract (decline it). Records the advisor's profile as of the
        termination date, for every party on the contract to read."""
        day = self._effective(effective_on)

        def terminate(contract: Contract) -> None:
            profile = self._advisor_profile_at_termination(contract, day)
            contract.terminate(reason, note, documents, profile, actor=actor, effective_on=day, at=self._now())

        return self._on_contract(
            actor,
            contract_id,
            terminate,
            dict(reason=reason, documents=documents, note=note, effective_on=effective_on),
            command_id,
            "terminate",
        )

    def reactivate(
        self,
        actor: Actor,
        contract_id: UUID,
        *,
        note: str | None = None,
        documents: Sequence[DocumentReference] = (),
        effective_on: date | None = None,
        command_id: str | None = None,
    ) -> int:
        """rules §5 (Reactivate): within 30 days of the termination's effective date,
        day 30 included, in the business time zone; never a consolidated contract."""

        def reactivate(contract: Contract) -> None:
            # A termination still ahead is cancelled on its own date by default.
            default_day = max(self._today(), contract.status_since)
            day = effective_on if effective_on is not None else default_day
            contract.reactivate(note, documents, self._today(), actor=actor, effective_on=day, at=self._now())

        return self._on_contract(
            actor,
            contract_id,
            reactivate,
            dict(note=note, documents=documents, effective_on=effective_on),
            command_id,
            "reactivate",
        )

    def consolidate(
        self,
        actor: Actor,
        contract_id: UUID,
        target_id: UUID,
        code_handling: str,
        *,
        note: str | None = None,
        documents: Sequence[DocumentReference] = (),
        effective_on: date | None = None,
        command_id: str | None = None,
    ) -> int:
        """rules §5 (Consolidate): the primary owner of both contracts folds this one
        into an active target with the identical chain; this one ends
        consolidated; codes are copied or merged onto the target."""

        def use_case() -> tuple[int, list[Aggregate]]:
            ensure_may_change(actor)
            ensure_code_handling(code_handling)
            source = self._load_contract(contract_id)
            ensure_admin_on_contract(actor, source)
            target = self._load_contract(target_id) if target_id != contract_id else source
            ensure_admin_on_contract(actor, target)
            ensure_primary_owner_of_both(actor, source, target)
            ensure_consolidation_allowed(source, target)
            codes = codes_for_target(source, target, code_handling)
            source.consolidate_into(
                target,
                code_handling,
                note,
                documents,
                codes,
                actor=actor,
                effective_on=self._effective(effective_on),
                at=self._now(),
            )
            return target.version, [source, target]

        arguments = dict(
            actor=actor,
            contract_id=contract_id,
            target_id=target_id,
            code_handling=code_handling,
            note=note,
            documents=documents,
            effective_on=effective_on,
        )
        return self._run(command_id, arguments, use_case)
