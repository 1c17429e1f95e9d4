"""A peer's change, applied through the ledger's use cases exactly once.

The peer sends its own change id, the contract (our id, its external id, or
both, which links them), the contract version it saw and the change in its
own vocabulary. The change runs as ``Actor(SYNC_PEER, <peer>)`` (an admin
of the contract's primary owner: the same rules as any user) with command
id ``<peer>:<change id>``, so the ledger saves its dedupe record in the same
transaction as the change's events.

A refused change is recorded too, as the ledger's command record for that
same command id with the refusal as its outcome: an auditor sees it in the
history export, the same change id is answered with the same refusal, and a
change id is either applied or refused, never both. Only the reuse of a
change id for another change is not recorded (the id is taken already).

A concurrent writer may save on the contract between the change's read and
its save; the store then refuses the save whole. One may also save between
the staleness check and the change's own read of the contract, so the change
runs conditional on the version it was judged on (the command's ``expected_version``), and a
write landing there is refused like a collision. Either way the change is
judged again against what is there now, once: refused as stale (with the
current state) when what it is about moved since the version the peer saw,
else run again. Should another writer collide again, it is refused as
``sync.concurrent_change``, recorded, with the current state.

A stale version is refused only when it conflicts: when what the change is
about (the status, the writing numbers, the codes) moved since the version
the peer saw. The refusal carries the contract's current state.

How a status name becomes a use case is read from the contract *as the peer
saw it* (history does not change), so a repeat of an applied change runs the
very same use case with the same arguments and gets the first outcome back.

A status name that means an onboarding step (rules §9, relayed steps: "Pending
Agency" after "Pending Producer" means the producer signed) is applied as
that step, when the peer's file lists it under ``relays``: recorded as the
step, by ``Actor.relaying(<peer>, <role that takes it>)``, so the peer stays
its origin (and is not sent it back) while the event says who took it. A
step the peer does not relay is refused (``sync.step_not_relayed``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NoReturn
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import today
from contractledger.domain.command_record import CommandRecord, fingerprint, record_id
from contractledger.domain.commands import (
    STEP_COMMANDS,
    VERSION_MISMATCH,
    AddContractCode,
    AddWritingNumber,
    ChangeWritingNumber,
    Command,
    SetContractCodeStatus,
    SetManualStatus,
)
from contractledger.domain.contract import Contract
from contractledger.domain.errors import Conflict, InvalidInput, LedgerError, NotFound, NotPermitted, RuleBroken
from contractledger.domain.ledger import ContractLedger
from contractledger.domain.plain_data import plain
from contractledger.domain.status import Status
from contractledger.domain.workflow import WorkflowStep
from contractledger.domain.inputs import Day, Prose
from contractledger.sync import links
from contractledger.sync.peer import Peer

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
NoteText = Prose(2000)


class StatusChange(msgspec.Struct, tag="status", tag_field="kind", forbid_unknown_fields=True, kw_only=True):
    status: Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="The status in the peer's own words.")]
    note: NoteText | None = None
    effective_on: Day | None = None


class WritingNumberAdded(msgspec.Struct, tag="writing_number_added", tag_field="kind", forbid_unknown_fields=True):
    writing_number: Text


class WritingNumberChanged(msgspec.Struct, tag="writing_number_changed", tag_field="kind", forbid_unknown_fields=True):
    old_writing_number: Text
    new_writing_number: Text


class CodeAdded(msgspec.Struct, tag="code_added", tag_field="kind", forbid_unknown_fields=True, kw_only=True):
    code: Text
    code_status: Literal["active", "inactive"] = "active"


class CodeStatusChanged(msgspec.Struct, tag="code_status_changed", tag_field="kind", forbid_unknown_fields=True):
    code: Text
    code_status: Literal["active", "inactive"]


Change = StatusChange | WritingNumberAdded | WritingNumberChanged | CodeAdded | CodeStatusChanged


class InboundChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    change_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="The peer's own id of this change.")]
    contract_id: UUID | None = None
    external_id: Text | None = None
    seen_version: Annotated[
        int, msgspec.Meta(ge=1, le=2**63 - 1, description="The contract version the peer's change is based on.")
    ]
    change: Change


class ChangeRefused(Exception):
    """The change was refused (and, unless ``recorded`` is False, recorded as refused)."""

    def __init__(self, refusal: dict[str, Any]) -> None:
        super().__init__(refusal["message"])
        self.refusal = refusal

    @property
    def error_class(self) -> str:
        return self.refusal["error"]


def command_id_of(peer: Peer, change_id: str) -> str:
    return f"{peer.name}:{change_id}"


def current_state(peer: Peer, contract: Contract) -> dict[str, Any]:
    """What a peer needs to reconcile: the contract as the ledger holds it now."""
    return {
        "contract_id": str(contract.id),
        "version": contract.version,
        "status": contract.status.value,
        "peer_status": peer.name_for(contract.status),
        "writing_numbers": list(contract.writing_numbers),
        "codes": [dict(c) for c in contract.codes],
    }


def apply_change(ledger: ContractLedger, peer: Peer, request: InboundChange) -> dict[str, Any]:
    """Applies the change (or answers a repeat as the first time); raises ChangeRefused."""
    actor = Actor(Role.SYNC_PEER, peer.name)
    command_id = command_id_of(peer, request.change_id)
    request_print = fingerprint("inbound_change", msgspec.to_builtins(request))
    earlier = _record(ledger, command_id)
    if earlier is not None and _refusal_in(earlier) is not None:
        _repeat_refusal(earlier, request_print)
    try:
        contract_id = _contract_of(ledger, peer, request)
        seen = _contract_at(ledger, contract_id, request.seen_version)
        # a repeat of an applied change is answered by the ledger as the first time: nothing to judge
        judged = None if earlier is not None else _ensure_not_stale(ledger, peer, request, seen)
        outcome = _run_judging_collisions(ledger, actor, peer, request, seen, command_id, judged)
    except LedgerError as error:
        if error.code == "command.id_reused":
            raise ChangeRefused(_refusal(error, request, None)) from None  # the id is taken: not recorded
        current = current_state(peer, error.contract) if isinstance(error, _Stale) else None
        _record_refusal(ledger, actor, command_id, request_print, _refusal(error, request, current))
    return _answer(ledger, peer, request, contract_id, outcome, command_id)


COLLIDED = "contract.concurrent_change"
"""The ledger's code for a save refused because another writer saved first."""
LANDED = VERSION_MISMATCH
"""The ledger's code for a contract no longer at the version the change was judged on."""


def _run_judging_collisions(
    ledger: ContractLedger,
    actor: Actor,
    peer: Peer,
    request: InboundChange,
    seen: Contract,
    command_id: str,
    judged: int | None,
) -> Any:
    """Runs the change on the version it was judged on (``judged``; None: a
    repeat, answered as first decided); after another writer collided with
    it or landed before it, judges it again against the contract as it is
    now and runs it once more."""
    for attempt in (1, 2):
        try:
            return _run(ledger, actor, peer, seen, request.change, command_id, judged)
        except Conflict as error:
            if error.code not in (COLLIDED, LANDED):
                raise
        # (a concurrent repeat of this very change is no collision: the
        # ledger answers it with the first outcome)
        if attempt == 1:
            judged = _ensure_not_stale(ledger, peer, request, seen)
    raise _Stale(
        "sync.concurrent_change",
        "Other writers changed the contract at the same moment as this change, twice; "
        "reconcile with the current state and send a new change.",
        ledger.get_contract(seen.id),
        field=None,
    )


# -- the contract --------------------------------------------------------------------


def _contract_of(ledger: ContractLedger, peer: Peer, request: InboundChange) -> UUID:
    if request.contract_id is not None and request.external_id is not None:
        links.link(ledger, peer.name, request.contract_id, request.external_id)
        return request.contract_id
    if request.contract_id is not None:
        return request.contract_id
    if request.external_id is not None:
        return links.contract_named(ledger, peer.name, request.external_id)
    raise InvalidInput("sync.contract.required", "Name the contract: its contract_id, your external_id, or both.", "contract_id")


def _contract_at(ledger: ContractLedger, contract_id: UUID, version: int) -> Contract:
    current = ledger.get_contract(contract_id)
    if version > current.version:
        raise _Stale(
            "sync.version_unknown",
            f"The contract has no version {version} yet (it is at {current.version}); read it again.",
            current,
        )
    return current if version == current.version else ledger.repository.get(contract_id, version=version)


class _Stale(Conflict):
    """A refusal that carries the contract's current state, for the peer to reconcile."""

    def __init__(self, code: str, message: str, current: Contract, field: str | None = "seen_version") -> None:
        super().__init__(code, message, field, current_version=current.version)
        self.contract = current


def _ensure_not_stale(ledger: ContractLedger, peer: Peer, request: InboundChange, seen: Contract) -> int:
    """Refuses the change when what it is about moved since the version the
    peer saw; answers the version it was judged on (the contract's current one)."""
    current = ledger.get_contract(seen.id)
    if seen.version == current.version:
        return current.version
    change = request.change
    if isinstance(change, StatusChange):
        moved = seen.status is not current.status
        about = "status"
    elif isinstance(change, (WritingNumberAdded, WritingNumberChanged)):
        moved = seen.writing_numbers != current.writing_numbers
        about = "writing numbers"
    else:
        moved = seen.codes != current.codes
        about = "codes"
    if moved:
        raise _Stale(
            "sync.stale_version",
            f"The contract's {about} changed since version {seen.version} (it is at version {current.version}); "
            "reconcile with the current state and send a new change.",
            current,
        )
    return current.version


# -- running the use case ---------------------------------------------------------------


def _run(
    ledger: ContractLedger, actor: Actor, peer: Peer, seen: Contract, change: Change, command_id: str, judged: int | None
) -> Any:
    """Runs the change as the ledger's command, on the version it was judged on (None: a repeat, answered
    as first decided)."""
    on = dict(contract_id=seen.id, expected_version=judged)
    if isinstance(change, WritingNumberAdded):
        return ledger.handle(actor, AddWritingNumber(writing_number=change.writing_number, **on), command_id=command_id)
    if isinstance(change, WritingNumberChanged):
        command: Command = ChangeWritingNumber(
            old_writing_number=change.old_writing_number, new_writing_number=change.new_writing_number, **on
        )
        return ledger.handle(actor, command, command_id=command_id)
    if isinstance(change, CodeAdded):
        return ledger.handle(actor, AddContractCode(code=change.code, status=change.code_status, **on), command_id=command_id)
    if isinstance(change, CodeStatusChanged):
        command = SetContractCodeStatus(code=change.code, status=change.code_status, **on)
        return ledger.handle(actor, command, command_id=command_id)
    target = peer.status_named(change.status)
    if target is None:
        raise InvalidInput(
            "sync.status.unknown",
            f"{peer.name} may not send the status {change.status!r}; send one of {', '.join(sorted(peer.inbound))}.",
            "change.status",
        )
    step = _workflow_step(ledger, seen, target)
    if step is not None:
        ensure_relays(peer, step, change.status)
        command = STEP_COMMANDS[step](effective_on=change.effective_on, **on)
        return ledger.handle(Actor.relaying(peer.name, step.taken_by), command, command_id=command_id)
    command = SetManualStatus(status=target, note=change.note, effective_on=change.effective_on, **on)
    return ledger.handle(actor, command, command_id=command_id)


def _workflow_step(ledger: ContractLedger, seen: Contract, target: Status) -> WorkflowStep | None:
    """The onboarding step a peer's status name stands for (rules §4), or None
    for a manual status change (whose own rules then refuse what is not one).
    A step moves the contract's whole bundle, or nothing."""
    if seen.status is Status.PENDING_AGENCY and target is Status.PENDING_PRODUCER:
        # the same move twice over: a return after the producer submitted, a send before
        submitted = any(
            isinstance(e, Contract.SubmittedByProducer) for e in ledger.events.get(seen.id, lte=seen.version)
        )
        return WorkflowStep.RETURN_TO_PRODUCER if submitted else WorkflowStep.SEND_TO_PRODUCER
    if seen.status is Status.PENDING_PRODUCER and target is Status.PENDING_AGENCY:
        return WorkflowStep.SUBMIT_BY_PRODUCER  # the producer signed
    if seen.status is Status.PENDING_AGENCY and target is Status.PENDING_CARRIER:
        return WorkflowStep.SUBMIT_TO_CARRIER
    return None


STEP_NOT_RELAYED = "sync.step_not_relayed"


def ensure_relays(peer: Peer, step: WorkflowStep, name: str) -> None:
    """rules §9: a peer relays only the steps its file lists."""
    if step not in peer.relays:
        relayed = ", ".join(sorted(s.action for s in peer.relays)) or "none"
        raise NotPermitted(
            STEP_NOT_RELAYED,
            f"{name!r} means the workflow step {step.action} here, which {peer.name} may not relay "
            f"(its peer file relays: {relayed}); that step is taken in the ledger, or by a peer that relays it.",
            "change.status",
        )


# -- answers and refusals -------------------------------------------------------------------


def _answer(
    ledger: ContractLedger, peer: Peer, request: InboundChange, contract_id: UUID, outcome: Any, command_id: str
) -> dict[str, Any]:
    moved = [str(c) for c in outcome] if isinstance(outcome, list) else [str(contract_id)]
    version = outcome if isinstance(outcome, int) else _version_after(ledger, contract_id, command_id)
    return {
        "change_id": request.change_id,
        "outcome": "applied",
        "contract_id": str(contract_id),
        "external_id": links.external_id_of(ledger, peer.name, contract_id),
        "version": version,
        "moved_contract_ids": moved,
        # the contract as this change left it (not as it is now: a repeat is
        # answered the same), since the peer is not sent its own change back
        "contract": current_state(peer, ledger.repository.get(contract_id, version=version)),
    }


def _version_after(ledger: ContractLedger, contract_id: UUID, command_id: str) -> int:
    """The contract's version the command left it at: its last event naming
    the command. (A change stored before events named their command: its
    last event by that peer recorded no later than the command's record; a
    later change by the same peer would have collided with it on the version.)"""
    events = list(ledger.events.get(contract_id))
    named = [e.originator_version for e in events if getattr(e, "causation_id", None) == command_id]
    if named:
        return max(named)
    record = _record(ledger, command_id)
    assert record is not None
    version, peer = 0, command_id.split(":", 1)[0]
    for event in events:
        if event.timestamp > record.created_on:
            break
        if event.actor.role is Role.SYNC_PEER and event.actor.user == peer:  # relaying a step or not
            version = event.originator_version
    return version


def _refusal(error: LedgerError, request: InboundChange, current: Any) -> dict[str, Any]:
    refusal: dict[str, Any] = {
        "error": next((name for name, kind in ERROR_CLASSES.items() if isinstance(error, kind)), "RuleBroken"),
        "code": error.code,
        "message": error.message,
        "field": error.field,
        "change_id": request.change_id,
        "contract_id": plain(request.contract_id),
        "external_id": request.external_id,
    }
    if isinstance(error, _Stale):
        refusal["current"] = current
    return refusal


def _record_refusal(
    ledger: ContractLedger, actor: Actor, command_id: str, request_print: str, refusal: dict[str, Any]
) -> NoReturn:
    record = CommandRecord.record(
        command_id,
        request_print,
        {"refused": refusal},
        actor=actor,
        effective_on=today(ledger.clock),
        at=ledger.clock.now(),
    )
    try:
        ledger.save(record)
    except IntegrityError:  # a concurrent repeat decided first: answer as it was decided
        winner = _record(ledger, command_id)
        assert winner is not None
        if _refusal_in(winner) is None:
            raise ChangeRefused(
                {**refusal, "error": "Conflict", "code": "sync.change_in_flight",
                 "message": "The same change id was applied at the same moment; send it again for its answer."}
            ) from None
        _repeat_refusal(winner, request_print)
    raise ChangeRefused(refusal)


def _repeat_refusal(record: CommandRecord, request_print: str) -> NoReturn:
    if record.fingerprint != request_print:
        raise ChangeRefused(
            {
                "error": "RuleBroken",
                "code": "sync.change_id_reused",
                "message": "This change id was already used for a different change; use a new change id.",
                "field": "change_id",
            }
        )
    raise ChangeRefused(_refusal_in(record))


def _record(ledger: ContractLedger, command_id: str) -> CommandRecord | None:
    try:
        return ledger.repository.get(record_id(command_id))
    except AggregateNotFoundError:
        return None


def _refusal_in(record: CommandRecord) -> dict[str, Any] | None:
    outcome = record.outcome
    return outcome["refused"] if isinstance(outcome, dict) and isinstance(outcome.get("refused"), dict) else None


ERROR_CLASSES: dict[str, type[LedgerError]] = {
    cls.__name__: cls for cls in (Conflict, InvalidInput, NotFound, NotPermitted, RuleBroken)
}
