"""Which contract events are changes a peer hears of, and what each says.

Each event that moves a contract's status, writing numbers or codes becomes
one change of a kind (``peer.KINDS``); the status it leaves the contract in
is read from the event itself, so a feed never needs the aggregate.
"""

from __future__ import annotations

from typing import Any

from contractledger.domain.contract import Contract
from contractledger.domain.status import Status
from contractledger.domain.termination import TRANSFERRED
from contractledger.domain.visibility import PUBLIC_REASONS

CREATIONS = (Contract.Assigned, Contract.DirectRelationshipRequested, Contract.TransferPackageCreated)

STATUS_MOVES: dict[type, Status | None] = {
    Contract.SentToProducer: Status.PENDING_PRODUCER,
    Contract.SubmittedByProducer: Status.PENDING_AGENCY,
    Contract.ReturnedToProducer: Status.PENDING_PRODUCER,
    Contract.SubmittedToCarrier: Status.PENDING_CARRIER,
    Contract.StatusChanged: None,  # the event names it
    Contract.Nullified: Status.NULLIFIED,
    Contract.TransferRequested: Status.TRANSFER_REQUESTED,
    Contract.TransferRescinded: Status.ACTIVE,
    Contract.TransferDenied: Status.ACTIVE,
    Contract.TransferFellThrough: Status.ACTIVE,
    Contract.Downgraded: Status.DOWNGRADED,
    Contract.Vested: Status.VESTED,
    Contract.Upgraded: Status.ACTIVE,
    Contract.ConsolidatedInto: Status.CONSOLIDATED,
}

NUMBERING = (
    Contract.WritingNumberAdded,
    Contract.WritingNumberChanged,
    Contract.ContractCodeAdded,
    Contract.ContractCodeRenamed,
    Contract.ContractCodeStatusChanged,
    Contract.CodesReceivedByConsolidation,
)

UNHEARD = (
    Contract.DetachedFromBundle,
    Contract.TransferAwaitingRelationship,
    Contract.TransferAccepted,
    Contract.AwaitingTransferRecorded,
    Contract.AwaitingTransfersReleased,
)
"""Contract events that change nothing a peer keeps (the transfer's own
bookkeeping; the status moves come as their own events)."""

HEARD = (*CREATIONS, *STATUS_MOVES, Contract.Terminated, Contract.Reactivated, *NUMBERING)

# A feed item carries only what every receiver of its peer may see (rules §9), and
# a peer serves parties that are not on the contract. So no change carries a
# note or a document, and of the reasons only a public one's (PUBLIC_REASONS,
# domain/visibility.py): like everything of a contract beyond its status,
# chain, writing numbers and codes, the rest is the contract's parties' alone.
# For those the item says the status alone (a transfer's end is its kind,
# ``transferred``).


class ContractState:
    """What a feed keeps of a contract between its events: enough to say its
    status, writing numbers and codes with every change."""

    def __init__(self, status: str, writing_numbers: list[str], codes: list[dict[str, str]]) -> None:
        self.status = status
        self.writing_numbers = writing_numbers
        self.codes = codes


def change_of(event: Any, state: ContractState | None) -> tuple[str, ContractState, dict[str, Any]]:
    """The kind of change ``event`` is, the contract's state after it, and the
    change's own details. ``state`` is None only for a creation."""
    kind_of_event = type(event)
    if kind_of_event in CREATIONS:
        details: dict[str, Any] = {"chain": [str(p) for p in event.chain]}
        if kind_of_event is Contract.Assigned:
            details.update(bundle_id=_text(event.bundle_id), initially_filled_by=event.initially_filled_by)
        elif kind_of_event is Contract.TransferPackageCreated:
            details.update(transferred_from=str(event.transferred_from))
        else:
            details.update(contract_kind=event.kind)
        return "assigned", ContractState(Status(event.status).value, [], []), details
    assert state is not None
    if kind_of_event in STATUS_MOVES:
        moved_to = STATUS_MOVES[kind_of_event] or Status(event.status)
        details = {"reason": event.reason} if kind_of_event in PUBLIC_REASONS else {}
        return "status_changed", ContractState(moved_to.value, state.writing_numbers, state.codes), details
    if kind_of_event is Contract.Terminated:
        kind = "transferred" if event.reason == TRANSFERRED else "terminated"
        return kind, ContractState(Status.TERMINATED.value, state.writing_numbers, state.codes), {}
    if kind_of_event is Contract.Reactivated:
        return "reactivated", ContractState(Status.ACTIVE.value, state.writing_numbers, state.codes), {}
    return _numbering(event, state)


def _numbering(event: Any, state: ContractState) -> tuple[str, ContractState, dict[str, Any]]:
    numbers, codes = list(state.writing_numbers), [dict(c) for c in state.codes]
    kind_of_event = type(event)
    if kind_of_event is Contract.WritingNumberAdded:
        numbers.append(event.writing_number)
        kind, details = "writing_number_added", {"writing_number": event.writing_number}
    elif kind_of_event is Contract.WritingNumberChanged:
        numbers = [event.new_writing_number if n == event.old_writing_number else n for n in numbers]
        kind = "writing_number_changed"
        details = {"old_writing_number": event.old_writing_number, "new_writing_number": event.new_writing_number}
    elif kind_of_event is Contract.ContractCodeAdded:
        codes.append({"code": event.code, "status": event.status})
        kind, details = "code_changed", {"code": event.code, "code_status": event.status, "change": "added"}
    elif kind_of_event is Contract.ContractCodeRenamed:
        codes = [{**c, "code": event.new_code} if c["code"] == event.old_code else c for c in codes]
        kind, details = "code_changed", {"old_code": event.old_code, "code": event.new_code, "change": "renamed"}
    elif kind_of_event is Contract.ContractCodeStatusChanged:
        codes = [{**c, "status": event.status} if c["code"] == event.code else c for c in codes]
        kind, details = "code_changed", {"code": event.code, "code_status": event.status, "change": "status"}
    else:  # CodesReceivedByConsolidation
        codes.extend(dict(c) for c in event.codes)
        kind, details = "code_changed", {"codes": [dict(c) for c in event.codes], "change": "consolidated"}
    return kind, ContractState(state.status, numbers, codes), details


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
