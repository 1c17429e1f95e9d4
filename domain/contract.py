"""The contract (rules §2 to 5): a chain of parties, a status over time, writing
numbers and contract codes, bundle membership and transfer links.

Command methods check the rules that need only this contract's own state and
then trigger an event; each event's ``apply`` only changes state, so replaying
old events never re-checks today's rules. Rules that need other aggregates
(parties, bundles, relationships, permissions) are checked by the ledger.

State is kept in JSON-friendly shapes (lists, str-keyed dicts, status values
as strings) because snapshots store the aggregate's attributes as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate
from contractledger.domain.documents import DocumentReference
from contractledger.domain.errors import InvalidInput, RuleBroken
from contractledger.domain.lifecycle import ensure_active_for, ensure_reason_given, ensure_upgradable
from contractledger.domain.status import TERMINAL, WORKFLOW, Status
from contractledger.domain.termination import (
    CONSOLIDATED,
    TRANSFERRED,
    ensure_reactivation_window,
    ensure_terminable,
    ensure_termination_document,
    ensure_termination_reason,
)
from contractledger.domain.vocabulary import Vocabulary
from contractledger.domain.workflow import (
    WorkflowStep,
    ensure_manual_change,
    ensure_may_nullify,
    ensure_not_terminal,
    ensure_step_applies,
)

ADVISOR_CONTRACT = "advisor"
DIRECT_RELATIONSHIP = "direct_relationship"
CODE_STATUSES = Vocabulary(
    "CodeStatus", "A contract code's own status, independent of the contract's.", ("active", "inactive")
)
CONTRACT_KINDS = Vocabulary(
    "ContractKind",
    "An advisor contract (carrier, agencies, advisor) or a direct relationship between two organisations.",
    (ADVISOR_CONTRACT, DIRECT_RELATIONSHIP),
)


def ensure_code_status(status: str) -> None:
    if status not in CODE_STATUSES:
        raise InvalidInput("contract.code.status_unknown", "A contract code is 'active' or 'inactive'; choose one.", "status")


def ensure_text(value: str, code: str, message: str, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(code, message, field)


class Contract(LedgerAggregate):
    # -- creation ---------------------------------------------------------

    class Assigned(LedgerAggregate.Created):
        """An agency admin assigned the contract to an advisor (one of a bundle)."""

        chain: list[UUID]
        status: str
        bundle_id: UUID | None
        initially_filled_by: str

    class DirectRelationshipRequested(LedgerAggregate.Created):
        """One organisation asked another for a two-party contract (rules §2)."""

        chain: list[UUID]
        status: str
        kind: str

    class TransferPackageCreated(LedgerAggregate.Created):
        """Accepting a transfer created this contract, linked to the original (rules §5)."""

        chain: list[UUID]
        status: str
        transferred_from: UUID

    # -- onboarding workflow (rules §4) -------------------------------------

    class SentToProducer(LedgerAggregate.Event):
        def apply(self, contract: Contract) -> None:
            contract._move(self.effective_on, Status.PENDING_PRODUCER)

    class SubmittedByProducer(LedgerAggregate.Event):
        def apply(self, contract: Contract) -> None:
            contract._move(self.effective_on, Status.PENDING_AGENCY)

    class ReturnedToProducer(LedgerAggregate.Event):
        def apply(self, contract: Contract) -> None:
            contract._move(self.effective_on, Status.PENDING_PRODUCER)

    class SubmittedToCarrier(LedgerAggregate.Event):
        def apply(self, contract: Contract) -> None:
            contract._move(self.effective_on, Status.PENDING_CARRIER)

    class StatusChanged(LedgerAggregate.Event):
        """A manual status change (rules §3's "manual statuses")."""

        status: str
        note: str | None
        documents: list[DocumentReference]

        def apply(self, contract: Contract) -> None:
            contract._move(self.effective_on, Status(self.status))

    class Nullified(LedgerAggregate.Event):
        note: str | None

        def apply(self, contract: Contract) -> None:
            contract._move(self.effective_on, Status.NULLIFIED)

    class DetachedFromBundle(LedgerAggregate.Event):
        bundle_id: UUID

        def apply(self, contract: Contract) -> None:
            contract.bundle_id = None

    # -- writing numbers and codes (rules §2) -------------------------------

    class WritingNumberAdded(LedgerAggregate.Event):
        writing_number: str

        def apply(self, contract: Contract) -> None:
            contract.writing_numbers = [*contract.writing_numbers, self.writing_number]

    class WritingNumberChanged(LedgerAggregate.Event):
        old_writing_number: str
        new_writing_number: str

        def apply(self, contract: Contract) -> None:
            contract.writing_numbers = [
                self.new_writing_number if n == self.old_writing_number else n for n in contract.writing_numbers
            ]

    class ContractCodeAdded(LedgerAggregate.Event):
        code: str
        status: str

        def apply(self, contract: Contract) -> None:
            contract.codes = [*contract.codes, {"code": self.code, "status": self.status}]

    class ContractCodeRenamed(LedgerAggregate.Event):
        old_code: str
        new_code: str

        def apply(self, contract: Contract) -> None:
            contract.codes = [
                {**c, "code": self.new_code} if c["code"] == self.old_code else c for c in contract.codes
            ]

    class ContractCodeStatusChanged(LedgerAggregate.Event):
        code: str
        status: str

        def apply(self, contract: Contract) -> None:
            contract.codes = [{**c, "status": self.status} if c["code"] == self.code else c for c in contract.codes]

    # -- transfer (rules §5) -------------------------------------------------

    class TransferRequested(LedgerAggregate.Event):
        relinquishing_entity_id: UUID
        accepting_entity_id: UUID
        note: str | None
        documents: list[DocumentReference]

        def apply(self, contract: Contract) -> None:
            contract.transfer = {
                "relinquishing_entity_id": self.relinquishing_entity_id,
                "accepting_entity_id": self.accepting_entity_id,
                "awaiting_relationship_id": None,
                "third_party_id": None,
                "successor_id": None,
            }
            contract._move(self.effective_on, Status.TRANSFER_REQUESTED)

    class TransferRescinded(LedgerAggregate.Event):
        note: str | None

        def apply(self, contract: Contract) -> None:
            contract.transfer = None
            contract._move(self.effective_on, Status.ACTIVE)

    class TransferDenied(LedgerAggregate.Event):
        note: str | None

        def apply(self, contract: Contract) -> None:
            contract.transfer = None
            contract._move(self.effective_on, Status.ACTIVE)

    class TransferAwaitingRelationship(LedgerAggregate.Event):
        """The accepting entity asked for a direct relationship first; the transfer waits for it."""

        relationship_id: UUID
        third_party_id: UUID
        note: str | None

        def apply(self, contract: Contract) -> None:
            contract.transfer = {
                **contract.transfer,
                "awaiting_relationship_id": self.relationship_id,
                "third_party_id": self.third_party_id,
            }

    class TransferAccepted(LedgerAggregate.Event):
        successor_id: UUID
        option: str
        third_party_id: UUID
        note: str | None

        def apply(self, contract: Contract) -> None:
            contract.transfer = {**contract.transfer, "awaiting_relationship_id": None, "successor_id": self.successor_id}
            contract.successor_id = self.successor_id

    class TransferFellThrough(LedgerAggregate.Event):
        """The transfer package ended in a terminal status first: the original is active again."""

        successor_id: UUID
        successor_status: str

        def apply(self, contract: Contract) -> None:
            contract.transfer = None
            contract._move(self.effective_on, Status.ACTIVE)

    class AwaitingTransferRecorded(LedgerAggregate.Event):
        """On a direct relationship: a transfer waits for this relationship to become active."""

        original_id: UUID

        def apply(self, contract: Contract) -> None:
            contract.awaiting_transfers = [*contract.awaiting_transfers, self.original_id]

    class AwaitingTransfersReleased(LedgerAggregate.Event):
        def apply(self, contract: Contract) -> None:
            contract.awaiting_transfers = []

    # -- established lifecycle (rules §5) -------------------------------------

    class Downgraded(LedgerAggregate.Event):
        reason: str
        note: str | None
        documents: list[DocumentReference]

        def apply(self, contract: Contract) -> None:
            contract._move(self.effective_on, Status.DOWNGRADED)

    class Vested(LedgerAggregate.Event):
        reason: str
        note: str | None
        documents: list[DocumentReference]

        def apply(self, contract: Contract) -> None:
            contract._move(self.effective_on, Status.VESTED)

    class Upgraded(LedgerAggregate.Event):
        note: str | None
        documents: list[DocumentReference]

        def apply(self, contract: Contract) -> None:
            contract._move(self.effective_on, Status.ACTIVE)

    class Terminated(LedgerAggregate.Event):
        reason: str
        note: str | None
        documents: list[DocumentReference]
        advisor_profile: dict[str, Any]

        def apply(self, contract: Contract) -> None:
            contract.termination = {
                "reason": self.reason,
                "effective_on": self.effective_on,
                "advisor_profile": self.advisor_profile,
            }
            contract.transfer = None
            contract._move(self.effective_on, Status.TERMINATED)

    class Reactivated(LedgerAggregate.Event):
        note: str | None
        documents: list[DocumentReference]

        def apply(self, contract: Contract) -> None:
            contract.termination = None
            contract._move(self.effective_on, Status.ACTIVE)

    class ConsolidatedInto(LedgerAggregate.Event):
        target_id: UUID
        code_handling: str
        note: str | None
        documents: list[DocumentReference]

        def apply(self, contract: Contract) -> None:
            contract.consolidated_into = self.target_id
            contract.termination = {"reason": CONSOLIDATED, "effective_on": self.effective_on, "advisor_profile": None}
            contract._move(self.effective_on, Status.CONSOLIDATED)

    class CodesReceivedByConsolidation(LedgerAggregate.Event):
        source_id: UUID
        code_handling: str
        codes: list[dict[str, str]]

        def apply(self, contract: Contract) -> None:
            contract.codes = [*contract.codes, *self.codes]

    # -- state ------------------------------------------------------------

    def __init__(
        self,
        chain: list[UUID],
        status: str,
        effective_on: date,
        kind: str = ADVISOR_CONTRACT,
        bundle_id: UUID | None = None,
        transferred_from: UUID | None = None,
    ) -> None:
        self._chain = list(chain)
        self.kind = kind
        # [effective date, status value] in recorded order; effective dates
        # never go backwards (see _ensure_status_date), so the last entry on or
        # before a day is the status on that day.
        self._timeline: list[list[Any]] = [[effective_on, Status(status).value]]
        self.bundle_id = bundle_id
        self.transferred_from = transferred_from
        self.successor_id: UUID | None = None
        self.writing_numbers: list[str] = []
        self.codes: list[dict[str, str]] = []
        self.transfer: dict[str, Any] | None = None
        self.termination: dict[str, Any] | None = None
        self.consolidated_into: UUID | None = None
        self.awaiting_transfers: list[UUID] = []

    def _move(self, effective_on: date, status: Status) -> None:
        self._timeline = [*self._timeline, [effective_on, status.value]]

    # -- what the rest of the ledger reads ----------------------------------

    @property
    def chain(self) -> tuple[UUID, ...]:
        return tuple(self._chain)

    @property
    def carrier_id(self) -> UUID:
        return self._chain[0]

    @property
    def primary_owner_id(self) -> UUID:
        return self._chain[0]

    @property
    def advisor_id(self) -> UUID | None:
        """The advisor (last in the chain); a direct relationship has none."""
        return self._chain[-1] if self.kind != DIRECT_RELATIONSHIP else None

    @property
    def agencies(self) -> tuple[UUID, ...]:
        return tuple(self._chain[1:-1]) if self.kind != DIRECT_RELATIONSHIP else tuple(self._chain[1:])

    @property
    def is_direct_relationship(self) -> bool:
        return self.kind == DIRECT_RELATIONSHIP

    def has_party(self, party_id: UUID) -> bool:
        return party_id in self._chain

    @property
    def status(self) -> Status:
        """The status once every recorded change has taken effect (the last one applied)."""
        return Status(self._timeline[-1][1])

    @property
    def status_since(self) -> date:
        return self._timeline[-1][0]

    def status_on(self, day: date) -> Status:
        """The status a viewer sees on ``day``: changes dated later have not yet taken effect."""
        for effective_on, status in reversed(self._timeline):
            if effective_on <= day:
                return Status(status)
        return Status(self._timeline[0][1])

    def terminating_on(self, day: date) -> date | None:
        """The date a termination takes effect, when seen on ``day`` it is still ahead."""
        if self.termination and self.termination["effective_on"] > day:
            return self.termination["effective_on"]
        return None

    @property
    def code_statuses(self) -> dict[str, str]:
        return {c["code"]: c["status"] for c in self.codes}

    # -- creation commands -----------------------------------------------------

    @classmethod
    def assign(
        cls,
        chain: Sequence[UUID],
        status: Status,
        bundle_id: UUID,
        initially_filled_by: str,
        *,
        actor: Actor,
        effective_on: date,
        at: datetime,
    ) -> Contract:
        return cls._create(
            cls.Assigned,
            id=uuid4(),
            timestamp=at,
            actor=actor,
            effective_on=effective_on,
            chain=list(chain),
            status=status.value,
            bundle_id=bundle_id,
            initially_filled_by=initially_filled_by,
        )

    @classmethod
    def request_direct_relationship(
        cls, upper_id: UUID, lower_id: UUID, *, actor: Actor, effective_on: date, at: datetime
    ) -> Contract:
        # The upper organisation decides: the request waits with it as a
        # pending_carrier contract until its admin sets active or declined.
        return cls._create(
            cls.DirectRelationshipRequested,
            id=uuid4(),
            timestamp=at,
            actor=actor,
            effective_on=effective_on,
            chain=[upper_id, lower_id],
            status=Status.PENDING_CARRIER.value,
            kind=DIRECT_RELATIONSHIP,
        )

    @classmethod
    def create_transfer_package(
        cls, chain: Sequence[UUID], original_id: UUID, *, actor: Actor, effective_on: date, at: datetime
    ) -> Contract:
        return cls._create(
            cls.TransferPackageCreated,
            id=uuid4(),
            timestamp=at,
            actor=actor,
            effective_on=effective_on,
            chain=list(chain),
            status=Status.PENDING_AGENCY.value,
            transferred_from=original_id,
        )

    # -- commands ----------------------------------------------------------------

    def _trigger(
        self, event_class: type[LedgerAggregate.Event], actor: Actor, effective_on: date, at: datetime, **fields: Any
    ) -> None:
        self.trigger_event(event_class, timestamp=at, actor=actor, effective_on=effective_on, **fields)

    def _ensure_status_date(self, effective_on: date) -> None:
        if effective_on < self.status_since:
            raise RuleBroken(
                "contract.status_date.before_last_change",
                f"The contract's last status change takes effect on {self.status_since.isoformat()}; "
                "date this change on or after it.",
                "effective_on",
            )

    def advance(self, step: WorkflowStep, *, actor: Actor, effective_on: date, at: datetime) -> None:
        ensure_step_applies(self.status, step)
        self._ensure_status_date(effective_on)
        event_class = {
            WorkflowStep.SEND_TO_PRODUCER: self.SentToProducer,
            WorkflowStep.SUBMIT_BY_PRODUCER: self.SubmittedByProducer,
            WorkflowStep.RETURN_TO_PRODUCER: self.ReturnedToProducer,
            WorkflowStep.SUBMIT_TO_CARRIER: self.SubmittedToCarrier,
        }[step]
        self._trigger(event_class, actor, effective_on, at)

    def set_manual_status(
        self,
        status: Status,
        note: str | None,
        documents: Sequence[DocumentReference],
        *,
        actor: Actor,
        effective_on: date,
        at: datetime,
    ) -> None:
        ensure_manual_change(self.status, status)
        self._ensure_status_date(effective_on)
        self._trigger(self.StatusChanged, actor, effective_on, at, status=status.value, note=note, documents=list(documents))

    def nullify(self, note: str | None, *, actor: Actor, effective_on: date, at: datetime) -> None:
        ensure_may_nullify(self.status)
        self._ensure_status_date(effective_on)
        self._trigger(self.Nullified, actor, effective_on, at, note=note)

    def detach_from_bundle(self, *, actor: Actor, effective_on: date, at: datetime) -> None:
        ensure_not_terminal(self.status)
        if self.bundle_id is None:
            raise RuleBroken("contract.bundle.not_a_member", "The contract is in no bundle; nothing to detach.")
        self._trigger(self.DetachedFromBundle, actor, effective_on, at, bundle_id=self.bundle_id)

    def add_writing_number(self, writing_number: str, *, actor: Actor, effective_on: date, at: datetime) -> None:
        ensure_not_terminal(self.status)
        ensure_text(writing_number, "contract.writing_number.required", "Give the writing number.", "writing_number")
        if writing_number in self.writing_numbers:
            raise RuleBroken(
                "contract.writing_number.exists",
                "The contract already carries this writing number; nothing to add.",
                "writing_number",
            )
        self._trigger(self.WritingNumberAdded, actor, effective_on, at, writing_number=writing_number)

    def change_writing_number(self, old: str, new: str, *, actor: Actor, effective_on: date, at: datetime) -> None:
        ensure_not_terminal(self.status)
        ensure_text(new, "contract.writing_number.required", "Give the new writing number.", "new_writing_number")
        if old not in self.writing_numbers:
            raise RuleBroken(
                "contract.writing_number.unknown",
                "The contract carries no such writing number; add it instead.",
                "old_writing_number",
            )
        if new in self.writing_numbers:
            raise RuleBroken(
                "contract.writing_number.exists",
                "The contract already carries this writing number; choose another.",
                "new_writing_number",
            )
        self._trigger(self.WritingNumberChanged, actor, effective_on, at, old_writing_number=old, new_writing_number=new)

    def add_code(self, code: str, status: str, *, actor: Actor, effective_on: date, at: datetime) -> None:
        ensure_not_terminal(self.status)
        ensure_text(code, "contract.code.required", "Give the contract code.", "code")
        ensure_code_status(status)
        if code in self.code_statuses:
            raise RuleBroken("contract.code.exists", "The contract already carries this code; change its status instead.", "code")
        self._trigger(self.ContractCodeAdded, actor, effective_on, at, code=code, status=status)

    def _ensure_code_known(self, code: str, field: str) -> None:
        if code not in self.code_statuses:
            raise RuleBroken("contract.code.unknown", "The contract carries no such code; add it instead.", field)

    def rename_code(self, old: str, new: str, *, actor: Actor, effective_on: date, at: datetime) -> None:
        ensure_not_terminal(self.status)
        ensure_text(new, "contract.code.required", "Give the new contract code.", "new_code")
        self._ensure_code_known(old, "old_code")
        if new in self.code_statuses:
            raise RuleBroken("contract.code.exists", "The contract already carries this code; choose another.", "new_code")
        self._trigger(self.ContractCodeRenamed, actor, effective_on, at, old_code=old, new_code=new)

    def change_code_status(self, code: str, status: str, *, actor: Actor, effective_on: date, at: datetime) -> None:
        ensure_not_terminal(self.status)
        ensure_code_status(status)
        self._ensure_code_known(code, "code")
        if self.code_statuses[code] == status:
            raise RuleBroken("contract.code.unchanged", f"The code is already {status}; nothing to do.", "status")
        self._trigger(self.ContractCodeStatusChanged, actor, effective_on, at, code=code, status=status)

    # transfer ------------------------------------------------------------------

    def request_transfer(
        self,
        relinquishing_entity_id: UUID,
        accepting_entity_id: UUID,
        note: str | None,
        documents: Sequence[DocumentReference],
        *,
        actor: Actor,
        effective_on: date,
        at: datetime,
    ) -> None:
        ensure_not_terminal(self.status)
        if self.is_direct_relationship:
            raise RuleBroken(
                "transfer.advisor_contracts_only",
                "Only an advisor's contract is transferred; a direct relationship is ended and requested anew.",
            )
        if self.status is not Status.ACTIVE:
            raise RuleBroken(
                "transfer.not_active",
                f"Only an active contract can be transferred; this one is {self.status.value}.",
            )
        if relinquishing_entity_id not in self.agencies:
            raise RuleBroken(
                "transfer.relinquishing_entity.not_agency_on_chain",
                "The relinquishing entity is one of the agencies on this contract's chain; choose one of them.",
                "relinquishing_entity_id",
            )
        if accepting_entity_id in self._chain:
            raise RuleBroken(
                "transfer.accepting_entity.on_chain",
                "The accepting entity is already on this contract's chain; choose another organisation.",
                "accepting_entity_id",
            )
        self._ensure_status_date(effective_on)
        self._trigger(
            self.TransferRequested,
            actor,
            effective_on,
            at,
            relinquishing_entity_id=relinquishing_entity_id,
            accepting_entity_id=accepting_entity_id,
            note=note,
            documents=list(documents),
        )

    def ensure_transfer_open(self, action: str) -> None:
        ensure_not_terminal(self.status)
        if self.status is not Status.TRANSFER_REQUESTED or self.transfer is None:
            raise RuleBroken(f"transfer.{action}.none_requested", "No transfer is requested on this contract; nothing to do.")
        if self.transfer["successor_id"] is not None:
            raise RuleBroken(
                f"transfer.{action}.already_accepted",
                "The transfer was already accepted; the new contract's outcome now decides it.",
            )

    @property
    def accepting_entity_id(self) -> UUID | None:
        return self.transfer["accepting_entity_id"] if self.transfer else None

    @property
    def relinquishing_entity_id(self) -> UUID | None:
        return self.transfer["relinquishing_entity_id"] if self.transfer else None

    @property
    def awaiting_relationship_id(self) -> UUID | None:
        return self.transfer["awaiting_relationship_id"] if self.transfer else None

    def rescind_transfer(self, note: str | None, *, actor: Actor, effective_on: date, at: datetime) -> None:
        self.ensure_transfer_open("rescind")
        self._ensure_status_date(effective_on)
        self._trigger(self.TransferRescinded, actor, effective_on, at, note=note)

    def deny_transfer(self, note: str | None, *, actor: Actor, effective_on: date, at: datetime) -> None:
        self.ensure_transfer_open("deny")
        self._ensure_status_date(effective_on)
        self._trigger(self.TransferDenied, actor, effective_on, at, note=note)

    def await_relationship_for_transfer(
        self, relationship_id: UUID, third_party_id: UUID, note: str | None, *, actor: Actor, effective_on: date, at: datetime
    ) -> None:
        self.ensure_transfer_open("accept")
        self._trigger(
            self.TransferAwaitingRelationship,
            actor,
            effective_on,
            at,
            relationship_id=relationship_id,
            third_party_id=third_party_id,
            note=note,
        )

    def accept_transfer(
        self,
        successor_id: UUID,
        option: str,
        third_party_id: UUID,
        note: str | None,
        *,
        actor: Actor,
        effective_on: date,
        at: datetime,
    ) -> None:
        self.ensure_transfer_open("accept")
        self._trigger(
            self.TransferAccepted,
            actor,
            effective_on,
            at,
            successor_id=successor_id,
            option=option,
            third_party_id=third_party_id,
            note=note,
        )

    def complete_transfer(
        self, advisor_profile: dict[str, Any], *, actor: Actor, effective_on: date, at: datetime
    ) -> None:
        """The transfer package became active: this original ends, reason Transferred."""
        self._trigger(
            self.Terminated,
            actor,
            max(effective_on, self.status_since),
            at,
            reason=TRANSFERRED,
            note=None,
            documents=[],
            advisor_profile=advisor_profile,
        )

    def restore_after_failed_transfer(
        self, successor_status: Status, *, actor: Actor, effective_on: date, at: datetime
    ) -> None:
        self._trigger(
            self.TransferFellThrough,
            actor,
            max(effective_on, self.status_since),
            at,
            successor_id=self.successor_id,
            successor_status=successor_status.value,
        )

    def record_awaiting_transfer(self, original_id: UUID, *, actor: Actor, effective_on: date, at: datetime) -> None:
        self._trigger(self.AwaitingTransferRecorded, actor, effective_on, at, original_id=original_id)

    def release_awaiting_transfers(self, *, actor: Actor, effective_on: date, at: datetime) -> None:
        self._trigger(self.AwaitingTransfersReleased, actor, effective_on, at)

    # established lifecycle --------------------------------------------------------

    def downgrade(
        self, reason: str, note: str | None, documents: Sequence[DocumentReference], *, actor: Actor, effective_on: date, at: datetime
    ) -> None:
        ensure_active_for(self.status, "downgrade")
        ensure_reason_given(reason, "downgrade")
        self._ensure_status_date(effective_on)
        self._trigger(self.Downgraded, actor, effective_on, at, reason=reason, note=note, documents=list(documents))

    def vest(
        self, reason: str, note: str | None, documents: Sequence[DocumentReference], *, actor: Actor, effective_on: date, at: datetime
    ) -> None:
        ensure_active_for(self.status, "vest")
        ensure_reason_given(reason, "vest")
        self._ensure_status_date(effective_on)
        self._trigger(self.Vested, actor, effective_on, at, reason=reason, note=note, documents=list(documents))

    def upgrade(
        self, note: str | None, documents: Sequence[DocumentReference], *, actor: Actor, effective_on: date, at: datetime
    ) -> None:
        ensure_upgradable(self.status)
        self._ensure_status_date(effective_on)
        self._trigger(self.Upgraded, actor, effective_on, at, note=note, documents=list(documents))

    def terminate(
        self,
        reason: str,
        note: str | None,
        documents: Sequence[DocumentReference],
        advisor_profile: dict[str, Any],
        *,
        actor: Actor,
        effective_on: date,
        at: datetime,
    ) -> None:
        ensure_terminable(self.status)
        ensure_termination_reason(reason)
        ensure_termination_document(documents)
        self._ensure_status_date(effective_on)
        self._trigger(
            self.Terminated,
            actor,
            effective_on,
            at,
            reason=reason,
            note=note,
            documents=list(documents),
            advisor_profile=advisor_profile,
        )

    def reactivate(
        self,
        note: str | None,
        documents: Sequence[DocumentReference],
        today: date,
        *,
        actor: Actor,
        effective_on: date,
        at: datetime,
    ) -> None:
        if self.status is Status.CONSOLIDATED:
            raise RuleBroken(
                "contract.reactivate.consolidated",
                "A consolidated contract cannot be reactivated; work on the contract it was consolidated into.",
            )
        ensure_not_terminal(self.status)
        if self.status is not Status.TERMINATED or self.termination is None:
            raise RuleBroken(
                "contract.reactivate.not_terminated",
                f"Only a terminated contract can be reactivated; this one is {self.status.value}.",
            )
        if self.termination["reason"] == TRANSFERRED:
            raise RuleBroken(
                "contract.reactivate.transferred",
                "This contract ended because it was transferred; the advisor's new contract carries on instead.",
            )
        ensure_reactivation_window(self.termination["effective_on"], today)
        self._ensure_status_date(effective_on)
        self._trigger(self.Reactivated, actor, effective_on, at, note=note, documents=list(documents))

    def consolidate_into(
        self,
        target: Contract,
        code_handling: str,
        note: str | None,
        documents: Sequence[DocumentReference],
        codes_for_target: list[dict[str, str]],
        *,
        actor: Actor,
        effective_on: date,
        at: datetime,
    ) -> None:
        self._ensure_status_date(effective_on)
        self._trigger(
            self.ConsolidatedInto,
            actor,
            effective_on,
            at,
            target_id=target.id,
            code_handling=code_handling,
            note=note,
            documents=list(documents),
        )
        target._trigger(
            target.CodesReceivedByConsolidation,
            actor,
            effective_on,
            at,
            source_id=self.id,
            code_handling=code_handling,
            codes=codes_for_target,
        )

    @property
    def in_workflow(self) -> bool:
        return self.status in WORKFLOW

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL
