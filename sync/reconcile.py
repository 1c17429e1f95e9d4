"""Reconcile: a peer's view of its contracts against the ledger, every
discrepancy listed, so drift is found rather than guessed.

The peer sends, per contract, our id or its own (linked) id, the status in
its own words and the writing numbers it holds. The ledger's side is read
from the ledger itself (not a view), so the answer is as of now. Statuses are
compared in the peer's words: a peer that shows "Approved" for both active
and transfer_requested agrees with either. With ``complete`` the peer says
its list is everything it holds, and the contracts its feed has told it of
but it does not list are reported as missing in the peer. The answer is
kept as the peer's last reconciliation (``reconciliations``), whether it
came over HTTP or from ``scripts/reconcile``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any
from uuid import UUID

import msgspec

from contractledger.domain.errors import NotFound
from contractledger.domain.ledger import ContractLedger
from contractledger.projections.engine import positions
from contractledger.projections.engine.view_database import ViewDatabase
from contractledger.sync import links, reconciliations
from contractledger.sync.feed_view import feed_tables
from contractledger.sync.peer import Peer

MISSING_IN_LEDGER = "missing_in_ledger"
MISSING_IN_PEER = "missing_in_peer"
STATUS_DIFFERS = "status_differs"
WRITING_NUMBERS_DIFFER = "writing_numbers_differ"


class PeerContract(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    contract_id: UUID | None = None
    external_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    status: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    writing_numbers: list[Annotated[str, msgspec.Meta(max_length=200)]] = []


class PeerView(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    contracts: Annotated[list[PeerContract], msgspec.Meta(max_length=10_000)]
    complete: bool = False


def reconcile(ledger: ContractLedger, views: ViewDatabase | None, peer: Peer, view: PeerView, *, at: str) -> dict[str, Any]:
    """Every discrepancy between the peer's view and the ledger; with the view
    database, the answer is kept as the peer's last reconciliation (at the
    instant ``at``), for an operator to read (``reconciliations``)."""
    discrepancies: list[dict[str, Any]] = []
    seen: set[str] = set()
    for held in view.contracts:
        contract = _ledger_contract(ledger, peer, held)
        if contract is None:
            discrepancies.append(_named(held, {"kind": MISSING_IN_LEDGER, "peer": {"status": held.status}}))
            continue
        seen.add(str(contract.id))
        ours = peer.name_for(contract.status)
        if ours != held.status:
            discrepancies.append(
                _named(
                    held,
                    {
                        "kind": STATUS_DIFFERS,
                        "contract_id": str(contract.id),
                        "ledger": {"status": contract.status.value, "peer_status": ours, "version": contract.version},
                        "peer": {"status": held.status},
                    },
                )
            )
        if sorted(contract.writing_numbers) != sorted(held.writing_numbers):
            discrepancies.append(
                _named(
                    held,
                    {
                        "kind": WRITING_NUMBERS_DIFFER,
                        "contract_id": str(contract.id),
                        "ledger": {"writing_numbers": sorted(contract.writing_numbers), "version": contract.version},
                        "peer": {"writing_numbers": sorted(held.writing_numbers)},
                    },
                )
            )
    if view.complete and views is not None:
        for contract_id, external_id in _told(views, peer):
            if contract_id not in seen:
                contract = ledger.get_contract(UUID(contract_id))
                discrepancies.append(
                    {
                        "kind": MISSING_IN_PEER,
                        "contract_id": contract_id,
                        "external_id": external_id,
                        "ledger": {"status": contract.status.value, "peer_status": peer.name_for(contract.status)},
                    }
                )
    answer = {"peer": peer.name, "compared": len(view.contracts), "discrepancies": discrepancies}
    if views is not None:
        reconciliations.record(views, answer, view.complete, at)
    return answer


def _named(held: PeerContract, discrepancy: dict[str, Any]) -> dict[str, Any]:
    named = {"contract_id": str(held.contract_id) if held.contract_id else None, "external_id": held.external_id}
    return {**named, **discrepancy}


def _ledger_contract(ledger: ContractLedger, peer: Peer, held: PeerContract) -> Any:
    try:
        contract_id = held.contract_id or (
            links.contract_named(ledger, peer.name, held.external_id) if held.external_id else None
        )
        return ledger.get_contract(contract_id) if contract_id else None
    except NotFound:
        return None


def _told(views: ViewDatabase, peer: Peer) -> Iterable[tuple[str, str | None]]:
    """The contracts the peer's feed has told it of (every contract it receives an item about)."""
    with views.transaction(write=False) as tx:
        generation = positions.live_generation(tx, f"sync_feed_{peer.name}")
        if generation is None:
            return []
        tx.execute(f"SELECT contract_id, external_id FROM {feed_tables(peer.name, generation)['contracts']} WHERE sequence > 0")
        return [(c, e) for c, e in tx.fetchall()]
