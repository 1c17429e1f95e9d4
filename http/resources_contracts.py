"""Commands on contracts: assignment and the onboarding workflow (rules §2 and
4), writing numbers and codes, transfers and the lifecycle (rules §5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from contractledger.domain.actor import Actor, Role
from contractledger.domain.consolidation import CODE_HANDLINGS
from contractledger.domain.contract import CODE_STATUSES
from contractledger.domain.status import Status
from contractledger.domain.termination import SYSTEM_REASONS, TERMINATION_REASONS
from contractledger.domain.transfer import ACCEPT_OPTIONS
from contractledger.domain.workflow import INITIALLY_FILLED_BY
from contractledger.http.command_answers import (
    BundleAssigned,
    ContractsMoved,
    NewVersion,
    RelationshipRequested,
    StatusSet,
    TransferAccepted,
)
from contractledger.http.command_bodies import Body, Dated, Documents, Identifier, NoteText, Reason, references
from contractledger.http.commands import Command
from contractledger.http.route_roles import CONTRACT_ADMINS

CONTRACT = "/contracts/{contract_id:uuid}"


CodeStatus = Literal[CODE_STATUSES]  # type: ignore[valid-type]
OptionalNote = NoteText | None


class AssignContracts(Dated, kw_only=True):
    chains: Annotated[list[Annotated[list[UUID], msgspec.Meta(max_length=6)]], msgspec.Meta(max_length=100)]
    """Each chain: carrier, agencies..., advisor (2 to 6 parties); at most 100 contracts in one bundle."""
    initially_filled_by: Literal[INITIALLY_FILLED_BY]  # type: ignore[valid-type]
    """producer or agency_admin"""


class RequestDirectRelationship(Dated, kw_only=True):
    upper_id: UUID
    lower_id: UUID


class TakeWorkflowStep(Dated, kw_only=True):
    """A workflow step (send to the producer, submit, approve, ...): the route names the step; the body gives
    only the day it takes effect (today by default)."""


class Note(Body):
    note: OptionalNote = None


class SetManualStatus(Dated, kw_only=True):
    status: Status
    note: OptionalNote = None
    documents: Documents = []
    whole_bundle: Annotated[
        bool,
        msgspec.Meta(
            description="rules §4 (bundle.detach_first): true sets the status on every member of the contract's "
            "bundle that is not detached and not terminal, in one atomic write, or on none. While a bundle is "
            "pending_agency or pending_producer, a status for one member alone is refused (422 "
            "bundle.detach_first) unless it is the last member attached: detach it first, or send true."
        ),
    ] = False


class Nullify(Dated, kw_only=True):
    note: OptionalNote = None


class WritingNumber(Body):
    writing_number: Identifier


class WritingNumberChange(Body):
    old_writing_number: Identifier
    new_writing_number: Identifier


class ContractCode(Body):
    code: Identifier
    status: CodeStatus = "active"


class ContractCodeRename(Body):
    old_code: Identifier
    new_code: Identifier


class ContractCodeStatus(Body):
    code: Identifier
    status: CodeStatus


class RequestTransfer(Dated, kw_only=True):
    relinquishing_entity_id: UUID
    accepting_entity_id: UUID
    note: OptionalNote = None
    documents: Documents = []


class TransferAcceptance(Body):
    option: Literal[ACCEPT_OPTIONS]  # type: ignore[valid-type]
    """third_party, other_corporation or request_relationship"""
    third_party_id: UUID
    note: OptionalNote = None


class LifecycleAction(Dated, kw_only=True):
    note: OptionalNote = None
    documents: Documents = []


class WithReason(LifecycleAction, kw_only=True):
    reason: Reason


class Termination(Dated, kw_only=True):
    # the system's own reasons decode, so that the domain can say why they are refused
    reason: Literal[TERMINATION_REASONS + SYSTEM_REASONS]  # type: ignore[valid-type]
    documents: Documents
    """At least one: a termination needs its document (rules §5)."""
    note: OptionalNote = None


class Consolidation(LifecycleAction, kw_only=True):
    target_id: UUID
    code_handling: Literal[CODE_HANDLINGS]  # type: ignore[valid-type]
    """copy or merge"""


def _readable(ledger: Any, actor: Actor, contract_id: UUID) -> None:
    ledger.get_contract(contract_id, viewer=actor)


def _on_contract(
    operation_id: str, action: str, summary: str, body: type, run: Callable[..., Any], answer: type = NewVersion,
    roles: tuple[Role, ...] = CONTRACT_ADMINS, use_cases: tuple[str, ...] = (),
) -> Command:
    return Command(
        operation_id, f"{CONTRACT}/{action}", summary, "contracts", body,
        lambda ledger, actor, path, b, cid: run(ledger, actor, path["contract_id"], b, cid),
        answer, aggregate="contract_id", visible=_readable, roles=roles, use_cases=use_cases,
    )


def _set_manual_status(ledger: Any, actor: Actor, contract_id: UUID, body: SetManualStatus, cid: str | None) -> Any:
    arguments = dict(note=body.note, documents=references(body.documents), effective_on=body.effective_on, command_id=cid)
    if body.whole_bundle:
        return ledger.set_bundle_manual_status(actor, contract_id, body.status, **arguments)
    version = ledger.set_manual_status(actor, contract_id, body.status, **arguments)
    return {"version": version, "contract_ids": [contract_id]}


def _workflow(operation_id: str, summary: str, roles: tuple[Role, ...] = CONTRACT_ADMINS) -> Command:
    def run(ledger: Any, actor: Actor, contract_id: UUID, body: TakeWorkflowStep, cid: str | None) -> Any:
        return getattr(ledger, operation_id)(actor, contract_id, effective_on=body.effective_on, command_id=cid)

    return _on_contract(operation_id, operation_id.replace("_", "-"), summary, TakeWorkflowStep, run, ContractsMoved, roles)


COMMANDS = (
    Command(
        "assign_contracts", "/bundles",
        "An agency admin assigns a bundle of contracts to one advisor in one action.",
        "contracts", AssignContracts,
        lambda ledger, actor, path, body, cid: ledger.assign_contracts(
            actor, body.chains, body.initially_filled_by, effective_on=body.effective_on, command_id=cid
        ),
        BundleAssigned,
        location=lambda outcome: f"/bundles/{outcome['bundle_id']}",
        roles=CONTRACT_ADMINS,
    ),
    Command(
        "establish_direct_relationship", "/direct-relationships",
        "Request a two-party contract between two organisations (upper first); "
        "the upper organisation approves it by setting it active.",
        "contracts", RequestDirectRelationship,
        lambda ledger, actor, path, body, cid: ledger.establish_direct_relationship(
            actor, body.upper_id, body.lower_id, effective_on=body.effective_on, command_id=cid
        ),
        RelationshipRequested,
        location=lambda outcome: f"/contracts/{outcome}",
        roles=CONTRACT_ADMINS,
    ),
    _workflow("send_to_producer", "The agency admin sends the bundle: pending_agency to pending_producer."),
    _workflow("submit_by_producer", "The producer signs and submits: pending_producer to pending_agency.", (Role.PRODUCER,)),
    _workflow("return_to_producer", "Review with changes: pending_agency back to pending_producer."),
    _workflow("submit_to_carrier", "Review without changes: pending_agency to pending_carrier."),
    _on_contract(
        "detach_from_bundle", "detach-from-bundle", "The contract leaves its bundle and moves alone.",
        Body, lambda ledger, actor, cid_, body, cid: ledger.detach_from_bundle(actor, cid_, command_id=cid),
    ),
    _on_contract(
        "set_manual_status", "set-manual-status",
        "An admin sets a manual status (active, declined, a hold, ...) on a non-terminal contract, "
        "or with whole_bundle on its whole bundle; answers the contract's new version and every contract that "
        "took the status.",
        SetManualStatus, lambda ledger, actor, contract_id, body, cid: _set_manual_status(ledger, actor, contract_id, body, cid),
        StatusSet, use_cases=("set_manual_status", "set_bundle_manual_status"),
    ),
    _on_contract(
        "nullify", "nullify", "End the contract as nullified; a new assignment is needed to start over.",
        Nullify,
        lambda ledger, actor, contract_id, body, cid: ledger.nullify(
            actor, contract_id, note=body.note, effective_on=body.effective_on, command_id=cid
        ),
    ),
    _on_contract(
        "add_writing_number", "add-writing-number", "Add the carrier's agent number for this advisor.",
        WritingNumber,
        lambda ledger, actor, contract_id, body, cid: ledger.add_writing_number(
            actor, contract_id, body.writing_number, command_id=cid
        ),
    ),
    _on_contract(
        "change_writing_number", "change-writing-number", "Replace one writing number with another.",
        WritingNumberChange,
        lambda ledger, actor, contract_id, body, cid: ledger.change_writing_number(
            actor, contract_id, body.old_writing_number, body.new_writing_number, command_id=cid
        ),
    ),
    _on_contract(
        "add_contract_code", "add-contract-code", "Add a contract code with its own status.",
        ContractCode,
        lambda ledger, actor, contract_id, body, cid: ledger.add_contract_code(
            actor, contract_id, body.code, status=body.status, command_id=cid
        ),
    ),
    _on_contract(
        "rename_contract_code", "rename-contract-code", "Correct a code's string; its status is kept.",
        ContractCodeRename,
        lambda ledger, actor, contract_id, body, cid: ledger.rename_contract_code(
            actor, contract_id, body.old_code, body.new_code, command_id=cid
        ),
    ),
    _on_contract(
        "set_contract_code_status", "set-contract-code-status", "Change one code's status on its own.",
        ContractCodeStatus,
        lambda ledger, actor, contract_id, body, cid: ledger.set_contract_code_status(
            actor, contract_id, body.code, body.status, command_id=cid
        ),
    ),
    _on_contract(
        "request_transfer", "request-transfer",
        "The advisor asks to move an active contract from an agency on its chain to another agency.",
        RequestTransfer,
        lambda ledger, actor, contract_id, body, cid: ledger.request_transfer(
            actor, contract_id, body.relinquishing_entity_id, body.accepting_entity_id, note=body.note,
            documents=references(body.documents), effective_on=body.effective_on, command_id=cid,
        ),
        roles=(Role.PRODUCER,),
    ),
    _on_contract(
        "rescind_transfer", "rescind-transfer", "The advisor withdraws the transfer request before acceptance.",
        Note,
        lambda ledger, actor, contract_id, body, cid: ledger.rescind_transfer(
            actor, contract_id, note=body.note, command_id=cid
        ),
        roles=(Role.PRODUCER,),
    ),
    _on_contract(
        "deny_transfer", "deny-transfer", "The accepting entity denies the transfer; the contract is active again.",
        Note,
        lambda ledger, actor, contract_id, body, cid: ledger.deny_transfer(
            actor, contract_id, note=body.note, command_id=cid
        ),
        roles=(Role.AGENCY_ADMIN,),
    ),
    _on_contract(
        "accept_transfer", "accept-transfer",
        "The accepting entity accepts through a third party (or asks for that relationship first); "
        "creates the transfer package.",
        TransferAcceptance,
        lambda ledger, actor, contract_id, body, cid: ledger.accept_transfer(
            actor, contract_id, body.option, body.third_party_id, note=body.note, command_id=cid
        ),
        TransferAccepted,
        roles=(Role.AGENCY_ADMIN,),
    ),
    _on_contract(
        "downgrade", "downgrade", "An active contract becomes monitored but inactive; every party that works with the advisor sees the downgrade.",
        WithReason,
        lambda ledger, actor, contract_id, body, cid: ledger.downgrade(
            actor, contract_id, body.reason, note=body.note, documents=references(body.documents),
            effective_on=body.effective_on, command_id=cid,
        ),
    ),
    _on_contract(
        "vest", "vest", "An active contract becomes vested: monitored but inactive, seen only by the parties on the contract.",
        WithReason,
        lambda ledger, actor, contract_id, body, cid: ledger.vest(
            actor, contract_id, body.reason, note=body.note, documents=references(body.documents),
            effective_on=body.effective_on, command_id=cid,
        ),
    ),
    _on_contract(
        "upgrade", "upgrade", "A downgraded or vested contract is active again.",
        LifecycleAction,
        lambda ledger, actor, contract_id, body, cid: ledger.upgrade(
            actor, contract_id, note=body.note, documents=references(body.documents),
            effective_on=body.effective_on, command_id=cid,
        ),
    ),
    _on_contract(
        "terminate", "terminate",
        "Terminate with a reason from the fixed list and a document; never a pending contract.",
        Termination,
        lambda ledger, actor, contract_id, body, cid: ledger.terminate(
            actor, contract_id, body.reason, references(body.documents), note=body.note,
            effective_on=body.effective_on, command_id=cid,
        ),
    ),
    _on_contract(
        "reactivate", "reactivate", "Reactivate within 30 days of the termination's effective date.",
        LifecycleAction,
        lambda ledger, actor, contract_id, body, cid: ledger.reactivate(
            actor, contract_id, note=body.note, documents=references(body.documents),
            effective_on=body.effective_on, command_id=cid,
        ),
    ),
    _on_contract(
        "consolidate", "consolidate",
        "The primary owner folds this contract into an active one with the identical chain; "
        "answers the target's new version.",
        Consolidation,
        lambda ledger, actor, contract_id, body, cid: ledger.consolidate(
            actor, contract_id, body.target_id, body.code_handling, note=body.note,
            documents=references(body.documents), effective_on=body.effective_on, command_id=cid,
        ),
        roles=(Role.CARRIER_STAFF,),  # the primary owner, first on the chain: an advisor contract's carrier
    ),
)
