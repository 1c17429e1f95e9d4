"""A peer's own contract id beside ours (its external id), kept in the ledger.

A peer links one of its ids to one of our contracts once, by a link command
(``POST /sync/{peer}/links``, or an inbound change carrying both ids). The
link is stored as two of the ledger's command records, saved together in one
atomic save: one keyed by (peer, contract) and one by (peer, external id).
The store refuses a second record with either key, so a contract has at most
one external id per peer and an external id names at most one contract,
whatever the races. Being events, links reach the feeds in the ledger's
order, so every later item carries the external id, on a rebuild too.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import today
from contractledger.domain.command_record import CommandRecord, fingerprint, record_id
from contractledger.domain.errors import Conflict, InvalidInput, NotFound
from contractledger.domain.ledger import ContractLedger

LINK = "external_id_link"
"""The key of a link record's outcome: {"peer", "contract_id", "external_id"}."""


def contract_key(peer: str, contract_id: UUID) -> str:
    return f"{peer}:link:contract:{contract_id}"


def external_key(peer: str, external_id: str) -> str:
    return f"{peer}:link:external:{external_id}"


def link_of(outcome: Any) -> dict[str, str] | None:
    """The link a command record's outcome holds, if it is a link record."""
    if isinstance(outcome, dict) and isinstance(outcome.get(LINK), dict):
        return outcome[LINK]
    return None


def _linked(ledger: ContractLedger, key: str) -> dict[str, str] | None:
    try:
        record = ledger.repository.get(record_id(key))
    except AggregateNotFoundError:
        return None
    return link_of(record.outcome)


def external_id_of(ledger: ContractLedger, peer: str, contract_id: UUID) -> str | None:
    found = _linked(ledger, contract_key(peer, contract_id))
    return found["external_id"] if found else None


def contract_named(ledger: ContractLedger, peer: str, external_id: str) -> UUID:
    found = _linked(ledger, external_key(peer, external_id))
    if found is None:
        raise NotFound(
            "sync.external_id.unknown",
            f"No contract is linked to {peer}'s id {external_id!r}; send the ledger's contract id with it once to link them.",
            "external_id",
        )
    return UUID(found["contract_id"])


def link(ledger: ContractLedger, peer: str, contract_id: UUID, external_id: str) -> dict[str, str]:
    """Links ``external_id`` to the contract for ``peer``; linking the same pair again changes nothing."""
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > 200:
        raise InvalidInput("sync.external_id.invalid", "Give the peer's contract id as 1 to 200 characters.", "external_id")
    ledger.get_contract(contract_id)  # a link to nothing is refused as the contract's not-found
    pair = {"peer": peer, "contract_id": str(contract_id), "external_id": external_id}
    existing = _linked(ledger, contract_key(peer, contract_id)) or _linked(ledger, external_key(peer, external_id))
    if existing is None:
        actor = Actor(Role.SYNC_PEER, peer)
        stamp = dict(actor=actor, effective_on=today(ledger.clock), at=ledger.clock.now())
        records = [
            CommandRecord.record(key, fingerprint("link_external_id", pair), {LINK: pair}, **stamp)
            for key in (contract_key(peer, contract_id), external_key(peer, external_id))
        ]
        try:
            ledger.save(*records)
            return pair
        except IntegrityError:  # a concurrent link won the race: judge against it
            existing = _linked(ledger, contract_key(peer, contract_id)) or _linked(ledger, external_key(peer, external_id))
    if existing != pair:
        raise Conflict(
            "sync.external_id.taken",
            f"{peer} already links contract {existing['contract_id']} to its id {existing['external_id']!r}; "
            "a contract has one id per peer and an id names one contract.",
            "external_id",
        )
    return pair
