"""Use cases on an established contract (rules §5): downgrade, vest, upgrade,
terminate, reactivate, consolidate."""

from __future__ import annotations

from contractledger.domain.actor import Actor
from contractledger.domain.command_handlers import Outcome, handles
from contractledger.domain.commands import Consolidate, Downgrade, Reactivate, Terminate, Upgrade, Vest
from contractledger.domain.consolidation import (
    codes_for_target,
    ensure_code_handling,
    ensure_consolidation_allowed,
    ensure_primary_owner_of_both,
)
from contractledger.domain.contract import Contract
from contractledger.domain.permissions import ensure_admin_on_contract, ensure_may_change


class LifecycleUseCases:
    @handles(Downgrade)
    def downgrade(self, actor: Actor, command: Downgrade) -> Outcome:
        """rules §5 (Downgrade, public): an active contract becomes monitored but inactive; codes untouched."""
        day = self._effective(command.effective_on)
        return self._on_contract(
            actor,
            command,
            lambda c: c.downgrade(command.reason, command.note, command.documents, actor=actor, effective_on=day, at=self._now()),
        )

    @handles(Vest)
    def vest(self, actor: Actor, command: Vest) -> Outcome:
        """rules §5 (Vest, private): an active contract becomes monitored but inactive; codes untouched."""
        day = self._effective(command.effective_on)
        return self._on_contract(
            actor,
            command,
            lambda c: c.vest(command.reason, command.note, command.documents, actor=actor, effective_on=day, at=self._now()),
        )

    @handles(Upgrade)
    def upgrade(self, actor: Actor, command: Upgrade) -> Outcome:
        """rules §5 (Upgrade): a downgraded or vested contract is active again."""
        day = self._effective(command.effective_on)
        return self._on_contract(
            actor,
            command,
            lambda c: c.upgrade(command.note, command.documents, actor=actor, effective_on=day, at=self._now()),
        )

    @handles(Terminate)
    def terminate(self, actor: Actor, command: Terminate) -> Outcome:
        """rules §5 (Terminate): a reason from the fixed list, a mandatory document, never
        a pending contract (decline it). Records the advisor's profile as of the
        termination date, for every party on the contract to read."""
        day = self._effective(command.effective_on)

        def terminate(contract: Contract) -> None:
            profile = self._advisor_profile_at_termination(contract, day)
            contract.terminate(
                command.reason, command.note, command.documents, profile, actor=actor, effective_on=day, at=self._now()
            )

        return self._on_contract(actor, command, terminate)

    @handles(Reactivate)
    def reactivate(self, actor: Actor, command: Reactivate) -> Outcome:
        """rules §5 (Reactivate): within 30 days of the termination's effective date,
        day 30 included, in the business time zone; never a consolidated contract."""

        def reactivate(contract: Contract) -> None:
            # A termination still ahead is cancelled on its own date by default.
            default_day = max(self._today(), contract.status_since)
            day = command.effective_on if command.effective_on is not None else default_day
            contract.reactivate(command.note, command.documents, self._today(), actor=actor, effective_on=day, at=self._now())

        return self._on_contract(actor, command, reactivate)

    @handles(Consolidate)
    def consolidate(self, actor: Actor, command: Consolidate) -> Outcome:
        """rules §5 (Consolidate): the primary owner of both contracts folds this one
        into an active target with the identical chain; this one ends
        consolidated; codes are copied or merged onto the target."""
        ensure_may_change(actor)
        ensure_code_handling(command.code_handling)
        source = self._load_contract(command.contract_id)
        ensure_admin_on_contract(actor, source)
        target = self._load_contract(command.target_id) if command.target_id != command.contract_id else source
        ensure_admin_on_contract(actor, target)
        ensure_primary_owner_of_both(actor, source, target)
        ensure_consolidation_allowed(source, target)
        codes = codes_for_target(source, target, command.code_handling)
        source.consolidate_into(
            target,
            command.code_handling,
            command.note,
            command.documents,
            codes,
            actor=actor,
            effective_on=self._effective(command.effective_on),
            at=self._now(),
        )
        return target.version, [source, target]
