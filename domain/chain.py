"""Chain rules (rules §2): who a contract binds, and in what order.

An advisor contract runs carrier, agencies..., advisor. A direct relationship
is a two-party contract between two organisations (carrier-agency or
agency-agency), the upper one first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from contractledger.domain.errors import RuleBroken
from contractledger.domain.party import Party

SHORTEST_CHAIN = 2
LONGEST_CHAIN = 6


def ensure_chain_length(chain: Sequence[UUID]) -> None:
    if not SHORTEST_CHAIN <= len(chain) <= LONGEST_CHAIN:
        raise RuleBroken(
            "contract.chain.length",
            f"A chain has {SHORTEST_CHAIN} to {LONGEST_CHAIN} parties, carrier and advisor included; "
            f"this one has {len(chain)}.",
            "chain",
        )


def ensure_distinct_parties(chain: Sequence[UUID]) -> None:
    if len(set(chain)) != len(chain):
        raise RuleBroken("contract.chain.repeated_party", "No party appears twice in a chain; remove the repeat.", "chain")


def ensure_advisor_chain(parties: Sequence[Party]) -> None:
    chain = [p.id for p in parties]
    ensure_chain_length(chain)
    ensure_distinct_parties(chain)
    if parties[0].kind != "carrier":
        raise RuleBroken("contract.chain.carrier_first", "A chain starts with the carrier; put the carrier first.", "chain")
    if parties[-1].kind != "advisor":
        raise RuleBroken("contract.chain.advisor_last", "A chain ends with the advisor; put the advisor last.", "chain")
    if any(p.kind != "agency" for p in parties[1:-1]):
        raise RuleBroken(
            "contract.chain.agencies_between",
            "Only agencies stand between the carrier and the advisor; remove the other parties.",
            "chain",
        )


def ensure_direct_relationship_chain(upper: Party, lower: Party) -> None:
    ensure_distinct_parties([upper.id, lower.id])
    if not (upper.is_organisation and lower.kind == "agency"):
        raise RuleBroken(
            "relationship.organisations_only",
            "A direct relationship binds a carrier or an agency (above) to an agency (below); choose two organisations.",
            "chain",
        )


def ensure_relationships_active(chain: Sequence[UUID], is_active: Callable[[UUID, UUID], bool]) -> None:
    """Every adjacent pair of organisations needs an active direct relationship."""
    organisations = list(chain[:-1])
    for upper, lower in zip(organisations, organisations[1:]):
        if not is_active(upper, lower):
            raise RuleBroken(
                "contract.chain.no_direct_relationship",
                "Adjacent organisations in a chain need an active direct relationship; establish it first.",
                "chain",
            )
