"""Use cases of a transfer (rules §5): request, rescind, deny, accept, and the
transfer package deciding the original's fate in the same atomic save."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from contractledger.domain.actor import Actor
from contractledger.domain.command_handlers import Outcome, handles
from contractledger.domain.commands import AcceptTransfer, DenyTransfer, RequestTransfer, RescindTransfer
from contractledger.domain.chain import ensure_relationships_active
from contractledger.domain.contract import Contract
from contractledger.domain.errors import LedgerError, RuleBroken
from contractledger.domain.permissions import ensure_advisor_of, ensure_may_change
from contractledger.domain.status import TERMINAL, Status
from contractledger.domain.transfer import (
    REQUEST_RELATIONSHIP,
    ensure_accept_option,
    ensure_accepting_entity,
    ensure_acts_for_accepting_entity,
    successor_chain,
    upline_to,
)


class TransferUseCases:
    @handles(RequestTransfer)
    def request_transfer(self, actor: Actor, command: RequestTransfer) -> Outcome:
        """rules §5 (Transfer): the advisor asks to move an active contract from an
        agency on its chain to another agency, within the same carrier."""
        ensure_may_change(actor)
        contract = self._load_contract(command.contract_id)
        ensure_advisor_of(actor, contract)
        ensure_accepting_entity(contract, self._load_party(command.accepting_entity_id))
        contract.request_transfer(
            command.relinquishing_entity_id,
            command.accepting_entity_id,
            command.note,
            command.documents,
            actor=actor,
            effective_on=self._effective(command.effective_on),
            at=self._now(),
        )
        return contract.version, [contract]

    @handles(RescindTransfer)
    def rescind_transfer(self, actor: Actor, command: RescindTransfer) -> Outcome:
        """rules §5: the advisor withdraws the request before acceptance; the contract is active again."""
        ensure_may_change(actor)
        contract = self._load_contract(command.contract_id)
        ensure_advisor_of(actor, contract)
        day = max(self._today(), contract.status_since)
        contract.rescind_transfer(command.note, actor=actor, effective_on=day, at=self._now())
        return contract.version, [contract]

    @handles(DenyTransfer)
    def deny_transfer(self, actor: Actor, command: DenyTransfer) -> Outcome:
        """rules §5: the accepting entity denies; the contract is active again."""
        ensure_may_change(actor)
        contract = self._load_contract(command.contract_id)
        ensure_acts_for_accepting_entity(actor, contract)
        day = max(self._today(), contract.status_since)
        contract.deny_transfer(command.note, actor=actor, effective_on=day, at=self._now())
        return contract.version, [contract]

    @handles(AcceptTransfer)
    def accept_transfer(self, actor: Actor, command: AcceptTransfer) -> Outcome:
        """rules §5: the accepting entity accepts through a third party it has an
        active direct relationship with ('third_party': the one above the
        relinquishing entity; 'other_corporation': another organisation), or
        asks for that relationship first ('request_relationship'): the
        transfer then waits until the relationship is active. Accepting
        creates the transfer package (pending_agency) linked to the original.
        """
        option, note = command.option, command.note
        ensure_may_change(actor)
        ensure_accept_option(option)
        contract = self._load_contract(command.contract_id)
        ensure_acts_for_accepting_entity(actor, contract)
        contract.ensure_transfer_open("accept")
        third_party = self._load_party(command.third_party_id)
        upline = upline_to(contract, third_party, option, self._has_active_relationship)
        chain = successor_chain(contract, upline)
        day = max(self._today(), contract.status_since)
        if option == REQUEST_RELATIONSHIP:
            return self._await_relationship(actor, contract, third_party.id, note, day)
        if not self._has_active_relationship(third_party.id, contract.accepting_entity_id):
            raise RuleBroken(
                "transfer.accept.no_direct_relationship",
                "You have no active direct relationship with this third party; accept with "
                "'request_relationship' to ask for one first.",
                "third_party_id",
            )
        ensure_relationships_active(chain, self._has_active_relationship)
        successor = self._create_successor(actor, contract, chain, option, third_party.id, note, day)
        return {"successor_id": successor.id, "awaiting_relationship_id": None}, [contract, successor]

    def _await_relationship(
        self, actor: Actor, contract: Contract, third_party_id: UUID, note: str | None, day: date
    ) -> tuple[dict[str, object], list[Aggregate]]:
        accepting_id = contract.accepting_entity_id
        if self._has_active_relationship(third_party_id, accepting_id):
            raise RuleBroken(
                "transfer.accept.relationship_exists",
                "You already have an active direct relationship with this party; accept through it instead.",
                "option",
            )
        at = self._now()
        requested = [c for c in self._relationship_contracts(third_party_id, accepting_id) if not c.is_terminal]
        if requested:
            relationship, changed = requested[0], []
        else:
            relationship_id, changed = self._request_direct_relationship(actor, third_party_id, accepting_id, day)
            relationship = next(a for a in changed if a.id == relationship_id)
            changed = [a for a in changed if a.id != relationship_id]
        relationship.record_awaiting_transfer(contract.id, actor=actor, effective_on=day, at=at)
        contract.await_relationship_for_transfer(relationship.id, third_party_id, note, actor=actor, effective_on=day, at=at)
        outcome = {"successor_id": None, "awaiting_relationship_id": relationship.id}
        return outcome, [contract, relationship, *changed]

    def _create_successor(
        self, actor: Actor, contract: Contract, chain: list[UUID], option: str, third_party_id: UUID, note: str | None, day: date
    ) -> Contract:
        at = self._now()
        successor = Contract.create_transfer_package(chain, contract.id, actor=actor, effective_on=day, at=at)
        contract.accept_transfer(successor.id, option, third_party_id, note, actor=actor, effective_on=day, at=at)
        return successor

    def _consequences_of(self, contract: Contract, actor: Actor, day: date) -> list[Aggregate]:
        """What a status change on ``contract`` does to others, saved with it.

        A transfer package that becomes active ends its original as
        Transferred; one that ends terminal first restores the original to
        active. A direct relationship that becomes active releases the
        transfers that waited for it.
        """
        at = self._now()
        changed: list[Aggregate] = []
        if contract.transferred_from is not None and contract.status in (TERMINAL | {Status.ACTIVE}):
            original = self._load_contract(contract.transferred_from)
            if original.status is Status.TRANSFER_REQUESTED and original.successor_id == contract.id:
                if contract.status is Status.ACTIVE:
                    profile = self._advisor_profile_at_termination(original, day)
                    original.complete_transfer(profile, actor=actor, effective_on=day, at=at)
                else:
                    original.restore_after_failed_transfer(contract.status, actor=actor, effective_on=day, at=at)
                changed.append(original)
        if contract.is_direct_relationship and contract.status is Status.ACTIVE and contract.awaiting_transfers:
            changed.extend(self._release_waiting_transfers(contract, actor, day))
        return changed

    def _release_waiting_transfers(self, relationship: Contract, actor: Actor, day: date) -> list[Aggregate]:
        # Runs inside the approving save: the new relationship is not stored
        # yet, so the pair it joins is known to be active here.
        released: list[Aggregate] = []
        for original_id in relationship.awaiting_transfers:
            original = self._load_contract(original_id)
            if original.status is not Status.TRANSFER_REQUESTED or original.awaiting_relationship_id != relationship.id:
                continue
            third_party = self._load_party(original.transfer["third_party_id"])

            def is_active(upper: UUID, lower: UUID) -> bool:
                return (upper, lower) == tuple(relationship.chain) or self._has_active_relationship(upper, lower)

            try:
                chain = successor_chain(original, upline_to(original, third_party, REQUEST_RELATIONSHIP, is_active))
                ensure_relationships_active(chain, is_active)
            except LedgerError:
                # The path to the carrier broke meanwhile; the accepting
                # entity decides again (accept another way, or deny).
                continue
            day_for_original = max(day, original.status_since)
            successor = self._create_successor(
                actor, original, chain, REQUEST_RELATIONSHIP, third_party.id, None, day_for_original
            )
            released.extend([original, successor])
        relationship.release_awaiting_transfers(actor=actor, effective_on=day, at=self._now())
        return released
