"""Who may do what (rules §1): the checks every use case makes before acting.

A party that is not on a contract is told the contract does not exist, so a
refusal never leaks that someone else's contract is there. Auditors read
everything and change nothing. Sync peers and the ledger itself act like an
admin of the contract's primary owner. Operators run the service: they
register carriers and agencies and act on no contract (every contract is
unknown to them). Who registers whom, and who may hold which token, are
the rules of rules §1 ("Who registers whom") below.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING
from uuid import UUID

from contractledger.domain.actor import Actor, Role
from contractledger.domain.errors import InvalidInput, NotFound, NotPermitted

if TYPE_CHECKING:
    from contractledger.domain.contract import Contract

ADMIN_ROLES = frozenset({Role.AGENCY_ADMIN, Role.CARRIER_STAFF})
ACTING_FOR_OWNER = frozenset({Role.SYNC_PEER, Role.SYSTEM})
ROLE_FOR_PARTY_KIND = {"carrier": Role.CARRIER_STAFF, "agency": Role.AGENCY_ADMIN, "advisor": Role.PRODUCER}
"""A user acting for a party has the role that fits the party's kind (rules §1)."""
ROLES_FOR_NO_PARTY = frozenset({Role.AUDITOR, Role.SYNC_PEER, Role.OPERATOR})


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
    """A workflow step (rules §4): the producer's by the advisor on the contract,
    the others by an admin on it; or a sync peer relaying the step for the
    role that took it in the peer's system (rules §9; its peer file says which
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


def ensure_may_register(actor: Actor, kind: str, acting_party_kind: str | None) -> None:
    """rules §1 (Who registers whom): operators register carriers and agencies; an
    agency admin or carrier staff registers the advisors it recruits.
    ``acting_party_kind`` is the kind of the party the actor acts for (None:
    it acts for none, or for one that is not registered). The ledger itself
    registers anything (its own workloads and tests)."""
    ensure_may_change(actor)
    if actor.role is Role.SYSTEM:
        return
    if kind in ("carrier", "agency") and actor.role is not Role.OPERATOR:
        raise NotPermitted(
            "party.register.operators_only",
            f"Only an operator registers a {kind}; ask the service's operator to register it.",
        )
    if kind == "advisor":
        if actor.role not in ADMIN_ROLES:
            raise NotPermitted(
                "party.register.recruiters_only",
                "An advisor is registered by the agency admin or carrier staff who recruits it; ask one of them.",
            )
        _ensure_acts_for_a_party_of_its_kind(actor, acting_party_kind)


def _ensure_acts_for_a_party_of_its_kind(actor: Actor, party_kind: str | None) -> None:
    if party_kind is None or ROLE_FOR_PARTY_KIND.get(party_kind) is not actor.role:
        raise NotPermitted(
            "actor.party_unknown",
            f"Your {actor.role.value} token acts for no registered party of its kind; "
            "ask an operator for a token of your party.",
        )


def ensure_token_fits(actor: Actor, party_kind: str | None) -> None:
    """rules §1 (Who registers whom): a token is issued only for a party that exists
    (``party_kind`` is its kind, None when there is no such party), with the
    role that fits its kind: carrier_staff for a carrier, agency_admin for an
    agency, producer for an advisor. Auditors, sync peers and operators act
    for no party; no token acts as the ledger itself."""
    role = actor.role
    if role is Role.SYSTEM:
        raise InvalidInput("token.role_not_issuable", "No token acts as the ledger itself; choose a user's role.", "role")
    if role in ROLES_FOR_NO_PARTY:
        if actor.party_id is not None:
            raise InvalidInput(
                "token.party_not_for_role",
                f"{_a(role.value).capitalize()} token acts for no party; leave the party out.",
                "party_id",
            )
        return
    fitting_kind = next(kind for kind, fitting in ROLE_FOR_PARTY_KIND.items() if fitting is role)
    if actor.party_id is None:
        raise InvalidInput(
            "token.party_required", f"A {role.value} token acts for {_a(fitting_kind)}; name the party.", "party_id"
        )
    if party_kind is None:
        raise NotFound(
            "token.party_unknown",
            f"There is no party {actor.party_id}; register it first, or check the id.",
            "party_id",
        )
    if ROLE_FOR_PARTY_KIND[party_kind] is not role:
        raise InvalidInput(
            "token.role_does_not_fit",
            f"Party {actor.party_id} is {_a(party_kind)}, and {role.value} is the role for {_a(fitting_kind)}; "
            f"issue {_a(ROLE_FOR_PARTY_KIND[party_kind].value)} token for it.",
            "role",
        )


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
