"""Commands on contracts: assignment and the onboarding workflow (rules §2 and
4), writing numbers and codes, transfers and the lifecycle (rules §5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from contractledger.domain import commands
from contractledger.domain.actor import Actor, Role
from contractledger.domain.consolidation import CODE_HANDLINGS
from contractledger.domain.contract import CODE_STATUSES
from contractledger.domain.status import Status
from contractledger.domain.termination import SYSTEM_REASONS, TERMINATION_REASONS
from contractledger.domain.transfer import ACCEPT_OPTIONS
from contractledger.domain.workflow import INITIALLY_FILLED_BY
from contractledger.http.commands.answers import (
    BundleAssigned,
    ContractsMoved,
    NewVersion,
    RelationshipRequested,
    StatusSet,
    TransferAccepted,
)
from contractledger.http.commands.bodies import Body, Dated, Documents, Identifier, NoteText, Reason
from contractledger.http.commands.route import CommandRoute
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
    operation_id: str, action: str, summary: str, body: type, command: type[commands.Command], answer: type = NewVersion,
    roles: tuple[Role, ...] = CONTRACT_ADMINS, instead: tuple[tuple[str, type[commands.Command]], ...] = (),
) -> CommandRoute:
    return CommandRoute(
        operation_id, f"{CONTRACT}/{action}", summary, "contracts", body, command, answer,
        aggregate="contract_id", visible=_readable, roles=roles, instead=instead,
    )


def _workflow(operation_id: str, summary: str, command: type[commands.TakeWorkflowStep],
              roles: tuple[Role, ...] = CONTRACT_ADMINS) -> CommandRoute:
    return _on_contract(operation_id, operation_id.replace("_", "-"), summary, TakeWorkflowStep, command, ContractsMoved, roles)


COMMANDS = (
    CommandRoute(
        "assign_contracts", "/bundles",
        "An agency admin assigns a bundle of contracts to one advisor in one action.",
        "contracts", AssignContracts, commands.AssignContracts, BundleAssigned,
        location=lambda outcome: f"/bundles/{outcome['bundle_id']}",
        roles=CONTRACT_ADMINS,
    ),
    CommandRoute(
        "establish_direct_relationship", "/direct-relationships",
        "Request a two-party contract between two organisations (upper first); "
        "the upper organisation approves it by setting it active.",
        "contracts", RequestDirectRelationship, commands.EstablishDirectRelationship, RelationshipRequested,
        location=lambda outcome: f"/contracts/{outcome}",
        roles=CONTRACT_ADMINS,
    ),
    _workflow("send_to_producer", "The agency admin sends the bundle: pending_agency to pending_producer.",
              commands.SendToProducer),
    _workflow("submit_by_producer", "The producer signs and submits: pending_producer to pending_agency.",
              commands.SubmitByProducer, (Role.PRODUCER,)),
    _workflow("return_to_producer", "Review with changes: pending_agency back to pending_producer.",
              commands.ReturnToProducer),
    _workflow("submit_to_carrier", "Review without changes: pending_agency to pending_carrier.",
              commands.SubmitToCarrier),
    _on_contract(
        "detach_from_bundle", "detach-from-bundle", "The contract leaves its bundle and moves alone.",
        Body, commands.DetachFromBundle,
    ),
    _on_contract(
        "set_manual_status", "set-manual-status",
        "An admin sets a manual status (active, declined, a hold, ...) on a non-terminal contract, "
        "or with whole_bundle on its whole bundle; answers the contract's new version and every contract that "
        "took the status.",
        SetManualStatus, commands.SetManualStatus, StatusSet,
        instead=(("whole_bundle", commands.SetBundleManualStatus),),
    ),
    _on_contract(
        "nullify", "nullify", "End the contract as nullified; a new assignment is needed to start over.",
        Nullify, commands.Nullify,
    ),
    _on_contract(
        "add_writing_number", "add-writing-number", "Add the carrier's agent number for this advisor.",
        WritingNumber, commands.AddWritingNumber,
    ),
    _on_contract(
        "change_writing_number", "change-writing-number", "Replace one writing number with another.",
        WritingNumberChange, commands.ChangeWritingNumber,
    ),
    _on_contract(
        "add_contract_code", "add-contract-code", "Add a contract code with its own status.",
        ContractCode, commands.AddContractCode,
    ),
    _on_contract(
        "rename_contract_code", "rename-contract-code", "Correct a code's string; its status is kept.",
        ContractCodeRename, commands.RenameContractCode,
    ),
    _on_contract(
        "set_contract_code_status", "set-contract-code-status", "Change one code's status on its own.",
        ContractCodeStatus, commands.SetContractCodeStatus,
    ),
    _on_contract(
        "request_transfer", "request-transfer",
        "The advisor asks to move an active contract from an agency on its chain to another agency.",
        RequestTransfer, commands.RequestTransfer,
        roles=(Role.PRODUCER,),
    ),
    _on_contract(
        "rescind_transfer", "rescind-transfer", "The advisor withdraws the transfer request before acceptance.",
        Note, commands.RescindTransfer,
        roles=(Role.PRODUCER,),
    ),
    _on_contract(
        "deny_transfer", "deny-transfer", "The accepting entity denies the transfer; the contract is active again.",
        Note, commands.DenyTransfer,
        roles=(Role.AGENCY_ADMIN,),
    ),
    _on_contract(
        "accept_transfer", "accept-transfer",
        "The accepting entity accepts through a third party (or asks for that relationship first); "
        "creates the transfer package.",
        TransferAcceptance, commands.AcceptTransfer, TransferAccepted,
        roles=(Role.AGENCY_ADMIN,),
    ),
    _on_contract(
        "downgrade", "downgrade", "An active contract becomes monitored but inactive; every party that works with the advisor sees the downgrade.",
        WithReason, commands.Downgrade,
    ),
    _on_contract(
        "vest", "vest", "An active contract becomes vested: monitored but inactive, seen only by the parties on the contract.",
        WithReason, commands.Vest,
    ),
    _on_contract(
        "upgrade", "upgrade", "A downgraded or vested contract is active again.",
        LifecycleAction, commands.Upgrade,
    ),
    _on_contract(
        "terminate", "terminate",
        "Terminate with a reason from the fixed list and a document; never a pending contract.",
        Termination, commands.Terminate,
    ),
    _on_contract(
        "reactivate", "reactivate", "Reactivate within 30 days of the termination's effective date.",
        LifecycleAction, commands.Reactivate,
    ),
    _on_contract(
        "consolidate", "consolidate",
        "The primary owner folds this contract into an active one with the identical chain; "
        "answers the target's new version.",
        Consolidation, commands.Consolidate,
        roles=(Role.CARRIER_STAFF,),  # the primary owner, first on the chain: an advisor contract's carrier
    ),
)
