"""Use cases of the onboarding workflow (rules §2 and 4): assigning bundles,
moving them through the workflow, manual statuses, nullifying, direct
relationships between organisations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from contractledger.domain.actor import Actor, Role
from contractledger.domain.command_handlers import Outcome, handles
from contractledger.domain.commands import (
    AssignContracts,
    DetachFromBundle,
    EstablishDirectRelationship,
    Nullify,
    ReturnToProducer,
    SendToProducer,
    SetBundleManualStatus,
    SetManualStatus,
    SubmitByProducer,
    SubmitToCarrier,
    TakeWorkflowStep,
)
from contractledger.domain.bundle import WITH_AGENCY_OR_PRODUCER, Bundle, ensure_may_move_alone, ensure_moving_as_one
from contractledger.domain.chain import (
    ensure_advisor_chain,
    ensure_direct_relationship_chain,
    ensure_relationships_active,
)
from contractledger.domain.contract import Contract
from contractledger.domain.errors import InvalidInput, NotPermitted, RuleBroken
from contractledger.domain.permissions import (
    ADMIN_ROLES,
    ensure_admin_of_one_of,
    ensure_admin_on_contract,
    ensure_may_change,
    ensure_may_take_step,
)
from contractledger.domain.relationship_index import DirectRelationships
from contractledger.domain.status import Status
from contractledger.domain.workflow import (
    WorkflowStep,
    ensure_manual_change,
    ensure_step_applies,
    initial_status,
    parse_status,
)


def ensure_one_advisor(chains: Sequence[Sequence[UUID]]) -> None:
    if len({chain[-1] for chain in chains}) > 1:
        raise RuleBroken(
            "bundle.mixed_advisors",
            "The contracts of one assignment are all for the same advisor; assign each advisor separately.",
            "chains",
        )


def ensure_assigner_on_every_chain(actor: Actor, chains: Sequence[Sequence[UUID]]) -> None:
    if actor.role in (Role.SYNC_PEER, Role.SYSTEM):
        return
    if actor.role not in ADMIN_ROLES:
        raise NotPermitted(
            "contract.assign.admins_only", "Only an agency admin (or carrier staff) assigns contracts; ask one."
        )
    if any(actor.party_id not in chain[:-1] for chain in chains):
        raise NotPermitted(
            "contract.assign.not_on_chain",
            "You can assign only contracts whose chain includes your organisation; remove the others.",
            "chains",
        )


class OnboardingUseCases:
    @handles(AssignContracts)
    def assign_contracts(self, actor: Actor, command: AssignContracts) -> Outcome:
        """rules §2 and 4 (Assign): one action assigns a bundle of contracts to one advisor.

        Each chain is carrier, agencies..., advisor (2 to 6 distinct parties) with
        an active direct relationship between adjacent organisations.
        ``initially_filled_by`` 'producer' gives pending_producer, 'agency_admin'
        gives pending_agency. Returns the bundle id and the new contract ids.
        """
        chains, initially_filled_by = command.chains, command.initially_filled_by
        ensure_may_change(actor)
        if not chains:
            raise InvalidInput("contract.assign.no_contracts", "Name at least one contract chain to assign.", "chains")
        status = initial_status(initially_filled_by)
        for chain in chains:
            ensure_advisor_chain([self._load_party(p) for p in chain])
        ensure_one_advisor(chains)
        ensure_assigner_on_every_chain(actor, chains)
        for chain in chains:
            ensure_relationships_active(chain, self._has_active_relationship)
        day, at = self._effective(command.effective_on), self._now()
        bundle_id = uuid4()
        contracts = [
            Contract.assign(chain, status, bundle_id, initially_filled_by, actor=actor, effective_on=day, at=at)
            for chain in chains
        ]
        bundle = Bundle.form(bundle_id, [c.id for c in contracts], actor=actor, effective_on=day, at=at)
        outcome = {"bundle_id": bundle_id, "contract_ids": [c.id for c in contracts]}
        return outcome, [bundle, *contracts]

    @handles(EstablishDirectRelationship)
    def establish_direct_relationship(self, actor: Actor, command: EstablishDirectRelationship) -> Outcome:
        """rules §2: requests a two-party contract between two organisations (upper first).

        It is created pending_carrier, waiting with the upper organisation,
        whose admin approves it by setting it active (or declined) through the
        ordinary manual status change: no relationship is active by fiat.
        """
        ensure_may_change(actor)
        upper, lower = self._load_party(command.upper_id), self._load_party(command.lower_id)
        ensure_direct_relationship_chain(upper, lower)
        ensure_admin_of_one_of(
            actor,
            (upper.id, lower.id),
            "relationship.request.not_yours",
            "Only an admin of one of the two organisations requests their direct relationship; ask one of them.",
        )
        return self._request_direct_relationship(actor, upper.id, lower.id, self._effective(command.effective_on))

    def _request_direct_relationship(
        self, actor: Actor, upper_id: UUID, lower_id: UUID, day: date
    ) -> tuple[UUID, list[Aggregate]]:
        at = self._now()
        if any(not c.is_terminal for c in self._relationship_contracts(upper_id, lower_id)):
            raise RuleBroken(
                "relationship.exists",
                "These organisations already have a direct relationship (active or requested); use that one.",
                "lower_id",
            )
        index = self._relationships_between(upper_id, lower_id) or DirectRelationships.open(
            upper_id, lower_id, actor=actor, effective_on=day, at=at
        )
        relationship = Contract.request_direct_relationship(upper_id, lower_id, actor=actor, effective_on=day, at=at)
        index.add(relationship.id, actor=actor, effective_on=day, at=at)
        return relationship.id, [relationship, index]

    # -- the workflow steps: the whole bundle moves, or nothing ---------------------

    def _advance(
        self, actor: Actor, contract_id: UUID, step: WorkflowStep, effective_on: date | None
    ) -> tuple[list[UUID], list[Aggregate]]:
        ensure_may_change(actor)
        contract = self._load_contract(contract_id)
        ensure_may_take_step(actor, contract, step.taken_by)
        ensure_step_applies(contract.status, step)
        bundle, attached = self._attached_members(contract)
        ensure_moving_as_one(contract, attached)
        members = [contract, *attached]
        day, at = self._effective(effective_on), self._now()
        for member in members:
            if member.id != contract.id:
                ensure_may_take_step(actor, member, step.taken_by)
            member.advance(step, actor=actor, effective_on=day, at=at)
        return [m.id for m in members], [*members, *self._moved_together(bundle, members, actor, day, at)]

    def _attached_members(self, contract: Contract) -> tuple[Bundle | None, list[Contract]]:
        """The contract's bundle and its other members that move with it: those
        still in it by their own word (the bundle's list may be older than a
        detach that raced this read) and not terminal (a terminal member stays
        where it ended)."""
        if contract.bundle_id is None:
            return None, []
        bundle = self._load_bundle(contract.bundle_id)
        others = [self._load_contract(m) for m in bundle.member_ids if m != contract.id]
        return bundle, [m for m in others if m.bundle_id == bundle.id and not m.is_terminal]

    @staticmethod
    def _moved_together(
        bundle: Bundle | None, members: Sequence[Contract], actor: Actor, day: date, at: datetime
    ) -> list[Aggregate]:
        """The bundle, recording a move of several of its members, to be saved
        with them: the save then fails whole if a detach changed the bundle
        since it was read. A member moving alone needs no record there (the
        bundle changes only by detaching, which would change that member)."""
        if bundle is None or len(members) < 2:
            return []
        bundle.record_moved_together([m.id for m in members], members[0].status, actor=actor, effective_on=day, at=at)
        return [bundle]

    def _step(self, actor: Actor, command: TakeWorkflowStep) -> Outcome:
        return self._advance(actor, command.contract_id, command.step, command.effective_on)

    @handles(SendToProducer)
    def send_to_producer(self, actor: Actor, command: SendToProducer) -> Outcome:
        """rules §4: the agency admin completes and sends the bundle: pending_agency to pending_producer."""
        return self._step(actor, command)

    @handles(SubmitByProducer)
    def submit_by_producer(self, actor: Actor, command: SubmitByProducer) -> Outcome:
        """rules §4: the producer signs and submits the bundle: pending_producer to pending_agency."""
        return self._step(actor, command)

    @handles(ReturnToProducer)
    def return_to_producer(self, actor: Actor, command: ReturnToProducer) -> Outcome:
        """rules §4: review with changes: pending_agency back to pending_producer."""
        return self._step(actor, command)

    @handles(SubmitToCarrier)
    def submit_to_carrier(self, actor: Actor, command: SubmitToCarrier) -> Outcome:
        """rules §4: review without changes: pending_agency to pending_carrier."""
        return self._step(actor, command)

    @handles(DetachFromBundle)
    def detach_from_bundle(self, actor: Actor, command: DetachFromBundle) -> Outcome:
        """rules §4: a member leaves its bundle explicitly and moves alone from then on."""
        ensure_may_change(actor)
        contract = self._load_contract(command.contract_id)
        ensure_admin_on_contract(actor, contract)
        day, at = self._today(), self._now()
        bundle_id = contract.bundle_id
        contract.detach_from_bundle(actor=actor, effective_on=day, at=at)
        bundle = self._load_bundle(bundle_id)
        bundle.detach(contract.id, actor=actor, effective_on=day, at=at)
        return contract.version, [contract, bundle]

    # -- manual statuses --------------------------------------------------------------

    @handles(SetManualStatus)
    def set_manual_status(self, actor: Actor, command: SetManualStatus) -> Outcome:
        """rules §3 and 4: an admin sets a manual status on a contract that is not terminal.

        Workflow statuses are never set by hand; moving pending_carrier, active
        or withdrawn back into the workflow is refused as it would nullify it;
        an active contract goes only to a terminal status. A direct
        relationship is approved only by the upper organisation. A transfer
        package's outcome decides its original (rules §5) in the same save.
        While its bundle is with the agency or the producer, a contract with
        other members still attached is refused (``bundle.detach_first``):
        detach it first, or use :meth:`set_bundle_manual_status`.
        """
        ensure_may_change(actor)
        contract = self._load_contract(command.contract_id)
        ensure_admin_on_contract(actor, contract)
        target = parse_status(command.status)
        self._ensure_may_approve(actor, contract, target)
        ensure_manual_change(contract.status, target)
        if contract.status in WITH_AGENCY_OR_PRODUCER:
            ensure_may_move_alone(contract, self._attached_members(contract)[1])
        day = self._effective(command.effective_on)
        contract.set_manual_status(target, command.note, command.documents, actor=actor, effective_on=day, at=self._now())
        return contract.version, [contract, *self._consequences_of(contract, actor, day)]

    @handles(SetBundleManualStatus)
    def set_bundle_manual_status(self, actor: Actor, command: SetBundleManualStatus) -> Outcome:
        """rules §4 (bundle.detach_first): a manual status asked for the whole
        bundle of ``contract_id``: every member not detached and not terminal
        takes it in one atomic save, or none does (each by the rules of
        :meth:`set_manual_status`; the members must share one status).
        Returns the named contract's new version and every contract moved."""
        ensure_may_change(actor)
        contract = self._load_contract(command.contract_id)
        ensure_admin_on_contract(actor, contract)
        target = parse_status(command.status)
        bundle, attached = self._attached_members(contract)
        ensure_moving_as_one(contract, attached)
        members = [contract, *attached]
        day, at = self._effective(command.effective_on), self._now()
        consequences: list[Aggregate] = []
        for member in members:
            if member.id != contract.id:
                ensure_admin_on_contract(actor, member)
            self._ensure_may_approve(actor, member, target)
            member.set_manual_status(target, command.note, command.documents, actor=actor, effective_on=day, at=at)
            consequences += self._consequences_of(member, actor, day)
        outcome = {"version": contract.version, "contract_ids": [m.id for m in members]}
        return outcome, [*members, *self._moved_together(bundle, members, actor, day, at), *consequences]

    @staticmethod
    def _ensure_may_approve(actor: Actor, contract: Contract, target: Status) -> None:
        if contract.is_direct_relationship and target is Status.ACTIVE and actor.role not in (Role.SYNC_PEER, Role.SYSTEM):
            if actor.party_id != contract.primary_owner_id:
                raise NotPermitted(
                    "relationship.approve.upper_party_only",
                    "Only the upper organisation approves a direct relationship; ask its admin.",
                )

    @handles(Nullify)
    def nullify(self, actor: Actor, command: Nullify) -> Outcome:
        """rules §4: ends a contract as nullified; a new assignment is needed to start over."""
        ensure_may_change(actor)
        contract = self._load_contract(command.contract_id)
        ensure_admin_on_contract(actor, contract)
        day = self._effective(command.effective_on)
        contract.nullify(command.note, actor=actor, effective_on=day, at=self._now())
        return contract.version, [contract, *self._consequences_of(contract, actor, day)]
