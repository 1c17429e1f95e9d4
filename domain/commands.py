"""Every command the ledger takes, as data: one frozen class per use case.

A command names what is asked and nothing else: the acting ``Actor`` and the
caller's command id travel beside it (``ContractLedger.handle``). Its fields
are the use case's arguments, in the order the ledger's calls take them
(``ledger.downgrade(actor, contract_id, reason, note=...)`` builds
``Downgrade(contract_id, reason, note=...)``). Its plain encoding is its
idempotency fingerprint (``command_record.CommandPrint``).

``expected_version``: the version of the command's own aggregate (the field
``aggregate`` names) that the caller's decision was based on, such as the
``If-Match`` of an HTTP request; the command is refused (``VERSION_MISMATCH``)
when the aggregate is no longer at it, and saves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

import msgspec

from contractledger.domain.debt import KEEP
from contractledger.domain.documents import DocumentReference
from contractledger.domain.errors import Conflict
from contractledger.domain.plain_data import plain
from contractledger.domain.status import Status
from contractledger.domain.workflow import WorkflowStep

VERSION_MISMATCH = "aggregate.version_mismatch"
"""The code of a command whose aggregate changed since the version it was based on."""

Documents = Sequence[DocumentReference]


def version_mismatch(expected: int, current: int) -> Conflict:
    return Conflict(
        VERSION_MISMATCH,
        f"This was changed since version {expected}; it is now at version {current}. "
        "Read it again and retry if still needed.",
        current_version=current,
    )


class Command(msgspec.Struct, frozen=True, kw_only=True):
    expected_version: int | None = None

    aggregate: ClassVar[str | None] = None
    """The field naming the aggregate ``expected_version`` is of; None: the command creates its aggregates."""

    def aggregate_id(self) -> UUID | None:
        return getattr(self, self.aggregate) if self.aggregate is not None else None

    def printed(self) -> dict[str, Any]:
        """The command's fields as plain data, as its fingerprint reads them (not the version it expects:
        a retry is the same command whatever the caller last read)."""
        fields = msgspec.structs.asdict(self)
        del fields["expected_version"]
        return plain(fields)


class OnContract(Command, frozen=True):
    contract_id: UUID
    aggregate: ClassVar[str | None] = "contract_id"


class OnRecord(Command, frozen=True):
    """A command on a monitoring or debt record."""

    record_id: UUID
    aggregate: ClassVar[str | None] = "record_id"


# -- parties (rules §1) --------------------------------------------------------------


class RegisterParty(Command, frozen=True):
    kind: str
    profile: dict[str, Any]
    advisor_kind: str | None = None
    level: str | None = None


class ChangeProfile(Command, frozen=True):
    party_id: UUID
    changes: dict[str, Any]
    aggregate: ClassVar[str | None] = "party_id"


class AssociateAdvisorWithCorporation(Command, frozen=True):
    advisor_id: UUID
    corporation_id: UUID
    aggregate: ClassVar[str | None] = "advisor_id"


class DissociateAdvisorFromCorporation(AssociateAdvisorWithCorporation, frozen=True):
    pass


# -- assignment and the onboarding workflow (rules §2 and 4) ------------------------------


class AssignContracts(Command, frozen=True):
    chains: Sequence[Sequence[UUID]]
    initially_filled_by: str
    effective_on: date | None = None


class EstablishDirectRelationship(Command, frozen=True):
    upper_id: UUID
    lower_id: UUID
    effective_on: date | None = None


class TakeWorkflowStep(OnContract, frozen=True):
    effective_on: date | None = None
    step: ClassVar[WorkflowStep]


class SendToProducer(TakeWorkflowStep, frozen=True):
    step = WorkflowStep.SEND_TO_PRODUCER


class SubmitByProducer(TakeWorkflowStep, frozen=True):
    step = WorkflowStep.SUBMIT_BY_PRODUCER


class ReturnToProducer(TakeWorkflowStep, frozen=True):
    step = WorkflowStep.RETURN_TO_PRODUCER


class SubmitToCarrier(TakeWorkflowStep, frozen=True):
    step = WorkflowStep.SUBMIT_TO_CARRIER


STEP_COMMANDS: dict[WorkflowStep, type[TakeWorkflowStep]] = {
    c.step: c for c in (SendToProducer, SubmitByProducer, ReturnToProducer, SubmitToCarrier)
}


class DetachFromBundle(OnContract, frozen=True):
    pass


class SetManualStatus(OnContract, frozen=True):
    status: Status | str
    note: str | None = None
    documents: Documents = ()
    effective_on: date | None = None


class SetBundleManualStatus(SetManualStatus, frozen=True):
    pass


class Nullify(OnContract, frozen=True):
    note: str | None = None
    effective_on: date | None = None


# -- writing numbers and contract codes (rules §2) -------------------------------------------


class AddWritingNumber(OnContract, frozen=True):
    writing_number: str


class ChangeWritingNumber(OnContract, frozen=True):
    old_writing_number: str
    new_writing_number: str


class AddContractCode(OnContract, frozen=True):
    code: str
    status: str = "active"


class RenameContractCode(OnContract, frozen=True):
    old_code: str
    new_code: str


class SetContractCodeStatus(OnContract, frozen=True):
    code: str
    status: str


# -- transfers (rules §5) ------------------------------------------------------------------


class RequestTransfer(OnContract, frozen=True):
    relinquishing_entity_id: UUID
    accepting_entity_id: UUID
    note: str | None = None
    documents: Documents = ()
    effective_on: date | None = None


class RescindTransfer(OnContract, frozen=True):
    note: str | None = None


class DenyTransfer(RescindTransfer, frozen=True):
    pass


class AcceptTransfer(OnContract, frozen=True):
    option: str
    third_party_id: UUID
    note: str | None = None


# -- the lifecycle (rules §5) ----------------------------------------------------------------


class Upgrade(OnContract, frozen=True):
    note: str | None = None
    documents: Documents = ()
    effective_on: date | None = None


class Reactivate(Upgrade, frozen=True):
    pass


class Downgrade(OnContract, frozen=True):
    reason: str
    note: str | None = None
    documents: Documents = ()
    effective_on: date | None = None


class Vest(Downgrade, frozen=True):
    pass


class Terminate(OnContract, frozen=True):
    reason: str
    documents: Documents
    note: str | None = None
    effective_on: date | None = None


class Consolidate(OnContract, frozen=True):
    target_id: UUID
    code_handling: str
    note: str | None = None
    documents: Documents = ()
    effective_on: date | None = None


# -- monitoring, debt, reminders, triggers (rules §6 and 8) -------------------------------------


class AddMonitoring(OnContract, frozen=True):
    level: int
    reason: str
    effective_on: date
    reminder_on: date


class ChangeMonitoring(OnRecord, frozen=True):
    level: int | None = None
    reason: str | None = None
    effective_on: date | None = None
    reminder_on: date | None = None


class RemoveMonitoring(OnRecord, frozen=True):
    removed_on: date | None = None


class LogDebt(OnContract, frozen=True):
    amount: Any
    effective_on: date
    reminder_on: date
    status: str = "unresolved"
    description: str | None = None
    last_paid_on: date | None = None
    last_payment_amount: Any = None


class ChangeDebt(OnRecord, frozen=True):
    """Terms left at ``KEEP`` stay as they are; None clears an optional one."""

    amount: Any = KEEP
    status: Any = KEEP
    description: Any = KEEP
    effective_on: Any = KEEP
    reminder_on: Any = KEEP
    last_paid_on: Any = KEEP
    last_payment_amount: Any = KEEP

    def terms(self) -> dict[str, Any]:
        fields = msgspec.structs.asdict(self)
        del fields["record_id"], fields["expected_version"]
        return fields

    def printed(self) -> dict[str, Any]:
        return {name: repr(value) if value is KEEP else value for name, value in super().printed().items()}


class MakeDebtPublic(OnRecord, frozen=True):
    pass


class CloseDebt(OnRecord, frozen=True):
    closed_on: date | None = None


class DeleteDebt(OnRecord, frozen=True):
    pass


class CloseReminderTask(OnRecord, frozen=True):
    pass


class ConfigureTriggers(Command, frozen=True):
    kinds: Iterable[Any]

    def printed(self) -> dict[str, Any]:
        # the same choice in another order is the same command (what is no list is refused by the rules)
        if isinstance(self.kinds, (str, bytes)) or not isinstance(self.kinds, Iterable):
            return {"kinds": repr(self.kinds)}
        return {"kinds": sorted(map(str, plain(list(self.kinds))))}
