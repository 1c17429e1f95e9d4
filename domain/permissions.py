"""Who may do what (SPEC 1): the checks every use case makes before acting.

A party that is not on a contract is told the contract does not exist, so a
refusal never leaks that someone else's contract is there. Auditors read
everything and change nothing. Sync peers and the ledger itself act like an
admin of the contract's primary owner.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING
from uuid import UUID

from contractledger.domain.actor import Actor, Role
from contractledger.domain.errors import NotFound, NotPermitted

if TYPE_CHECKING:
    from contractledger.domain.contract import Contract

ADMIN_ROLES = frozenset({Role.AGENCY_ADMIN, Role.CARRIER_STAFF})
ACTING_FOR_OWNER = frozenset({Role.SYNC_PEER, Role.SYSTEM})


def ensure_may_change(actor: Actor) -> None:
    if actor.role is Role.AUDITOR:
        raise NotPermitted(
            "actor.auditor_read_only",
            "Auditors read the ledger but change nothing; ask a party on the contract to act.",
        )


def ensure_on_contract(actor: Actor, contract: Contract) -> None:
    if actor.role is Role.AUDITOR or actor.role in ACTING_FOR_OWNER:
        return
    if actor.party_id is None or not contract.has_party(actor.party_id):
        raise NotFound("contract.not_found", "No such contract; check the contract id.", "contract_id")


def ensure_may_read_contract(actor: Actor, contract: Contract) -> None:
    """Reading: the parties on the chain, and the accepting entity of a transfer
    under way (it must see the request to decide it)."""
    if contract.accepting_entity_id is not None and actor.party_id == contract.accepting_entity_id:
        return
    ensure_on_contract(actor, contract)


def ensure_admin_on_contract(actor: Actor, contract: Contract) -> None:
    """Status, writing-number, code and lifecycle changes: an admin of a party on the chain."""
    ensure_may_change(actor)
    ensure_on_contract(actor, contract)
    if actor.role in ACTING_FOR_OWNER:
        return
    if actor.role not in ADMIN_ROLES:
        raise NotPermitted(
            "contract.admins_only",
            "Only an agency admin or carrier staff on the contract may do this; ask one of them.",
        )


def ensure_advisor_of(actor: Actor, contract: Contract) -> None:
    """The advisor's own actions (signing, requesting or rescinding a transfer)."""
    ensure_may_change(actor)
    ensure_on_contract(actor, contract)
    if actor.role is not Role.PRODUCER or actor.party_id != contract.advisor_id:
        raise NotPermitted(
            "contract.advisor_only",
            "Only the advisor on the contract may do this; ask the advisor.",
        )


def ensure_may_take_step(actor: Actor, contract: Contract, taken_by: Role) -> None:
    """A workflow step (SPEC 4): the producer's by the advisor on the contract,
    the others by an admin on it; or a sync peer relaying the step for the
    role that took it in the peer's system (SPEC 9; its peer file says which
    steps it relays, checked where the peer's change comes in)."""
    if actor.relays_for(taken_by):
        ensure_on_contract(actor, contract)
        return
    if taken_by is Role.PRODUCER:
        ensure_advisor_of(actor, contract)
    else:
        ensure_admin_on_contract(actor, contract)


def ensure_admin_of_one_of(actor: Actor, party_ids: Collection[UUID], code: str, message: str) -> None:
    """An admin acting for one of these organisations (or the ledger itself, or a sync peer)."""
    ensure_may_change(actor)
    if actor.role in ACTING_FOR_OWNER:
        return
    if actor.role not in ADMIN_ROLES or actor.party_id not in party_ids:
        raise NotPermitted(code, message)


def ensure_acts_for(actor: Actor, party_id: UUID, code: str, message: str) -> None:
    """A user acting for this party, whatever their role (or the ledger, or a sync peer)."""
    ensure_may_change(actor)
    if actor.role in ACTING_FOR_OWNER:
        return
    if actor.party_id != party_id:
        raise NotPermitted(code, message)
