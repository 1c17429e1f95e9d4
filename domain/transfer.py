"""Transfer rules (rules §5): moving an active contract from a relinquishing
entity to an accepting entity, within the same carrier."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID, uuid5

from contractledger.domain.actor import Actor, Role
from contractledger.domain.chain import ensure_chain_length, ensure_distinct_parties
from contractledger.domain.contract import Contract
from contractledger.domain.errors import InvalidInput, NotFound, NotPermitted, RuleBroken
from contractledger.domain.party import Party
from contractledger.domain.permissions import ADMIN_ROLES, ensure_may_change
from contractledger.domain.vocabulary import Vocabulary

# Request ids derive from it: changing it would change every id clients hold.
TRANSFER_REQUEST_NAMESPACE = UUID("1d87e3ab-6784-40d5-a0f3-722262686c5a")

THIRD_PARTY = "third_party"
OTHER_CORPORATION = "other_corporation"
REQUEST_RELATIONSHIP = "request_relationship"
ACCEPT_OPTIONS = Vocabulary(
    "TransferOption",
    "How the accepting entity takes a transfer: through the third party above the relinquishing entity "
    "(third_party), through another organisation already on the chain (other_corporation), or by first "
    "requesting a direct relationship with the third party (request_relationship).",
    (THIRD_PARTY, OTHER_CORPORATION, REQUEST_RELATIONSHIP),
)


def transfer_request_id(contract_id: UUID, request_version: int) -> UUID:
    """A transfer request's id: the contract and the version its request made,
    so the same request has the same id in every read model, rebuilt or not."""
    return uuid5(TRANSFER_REQUEST_NAMESPACE, f"{contract_id}/{request_version}")


def chain_after_transfer(chain: Sequence[UUID], relinquishing_entity_id: UUID, accepting_entity_id: UUID) -> list[UUID]:
    """The chain as a transfer would leave it when accepted through the party
    above the relinquishing entity (the 'third_party' option, the one the
    advisor already does business with): the accepting entity in the
    relinquishing entity's place, the advisor below it (what
    :func:`successor_chain` makes of that upline)."""
    above = list(chain[: list(chain).index(relinquishing_entity_id)])
    return [*above, accepting_entity_id, chain[-1]]


def ensure_accept_option(option: str) -> None:
    if option not in ACCEPT_OPTIONS:
        raise InvalidInput(
            "transfer.accept.option_unknown",
            "Accept by choosing 'third_party', 'other_corporation' or 'request_relationship'.",
            "option",
        )


def ensure_accepting_entity(contract: Contract, accepting: Party) -> None:
    if accepting.kind == "carrier" and accepting.id != contract.carrier_id:
        raise RuleBroken(
            "transfer.same_carrier_only",
            "A contract moves only within its carrier; request a new contract with the other carrier instead.",
            "accepting_entity_id",
        )
    if accepting.kind != "agency":
        raise RuleBroken(
            "transfer.accepting_entity.not_agency",
            "The accepting entity is an agency that will take the contract; choose an agency.",
            "accepting_entity_id",
        )


def ensure_acts_for_accepting_entity(actor: Actor, contract: Contract) -> None:
    """Deny and accept belong to the accepting entity alone (not even a sync peer,
    which acts for the primary owner); others on the chain are told no, others
    off it are told the contract does not exist."""
    ensure_may_change(actor)
    accepting = contract.accepting_entity_id
    if actor.party_id == accepting and actor.role in ADMIN_ROLES:
        return
    on_contract = actor.party_id is not None and (contract.has_party(actor.party_id) or actor.party_id == accepting)
    if actor.role in (Role.SYNC_PEER, Role.SYSTEM) or on_contract:
        raise NotPermitted(
            "transfer.accepting_entity_only",
            "Only the accepting entity's admin denies or accepts a transfer; ask them.",
        )
    raise NotFound("contract.not_found", "No such contract; check the contract id.", "contract_id")


def upline_to(contract: Contract, third_party: Party, option: str, is_active: Callable[[UUID, UUID], bool]) -> list[UUID]:
    """The chain above the accepting entity, from the carrier down to the chosen third party.

    'third_party' keeps the party the advisor does business with: a party
    above the relinquishing entity on the original chain. 'other_corporation'
    (and 'request_relationship' with a party off the chain) names an
    organisation with an active direct relationship with the carrier.
    """
    if not third_party.is_organisation:
        raise RuleBroken(
            "transfer.accept.third_party_not_organisation",
            "The third party is a carrier or an agency; choose an organisation.",
            "third_party_id",
        )
    chain = list(contract.chain)
    relinquishing = chain.index(contract.relinquishing_entity_id)
    if third_party.id in chain[:relinquishing]:
        if option == OTHER_CORPORATION:
            raise RuleBroken(
                "transfer.accept.not_another_corporation",
                "This party is already on the contract's chain; accept with 'third_party' instead.",
                "third_party_id",
            )
        return chain[: chain.index(third_party.id) + 1]
    if option == THIRD_PARTY:
        raise RuleBroken(
            "transfer.accept.not_the_third_party",
            "The third party is the one above the relinquishing entity on this contract's chain; "
            "to go through another organisation, accept with 'other_corporation'.",
            "third_party_id",
        )
    if third_party.kind == "carrier" or not is_active(contract.carrier_id, third_party.id):
        raise RuleBroken(
            "transfer.same_carrier_only",
            "The chosen organisation has no active direct relationship with this contract's carrier; "
            "a contract moves only within its carrier.",
            "third_party_id",
        )
    return [contract.carrier_id, third_party.id]


def successor_chain(contract: Contract, upline: list[UUID]) -> list[UUID]:
    chain = [*upline, contract.accepting_entity_id, contract.advisor_id]
    ensure_distinct_parties(chain)
    ensure_chain_length(chain)
    return chain
