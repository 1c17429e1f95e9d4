"""Transfer requests view (rules §5): every transfer request, with what the
accepting entity needs to decide it and how it ended.

The accepting entity is not on the contract's chain, so it sees nothing of
the contract itself until it accepts (it is then on the new contract). What
it sees of each request made to it is this view's row: the advisor, the
carrier, the chain as it is and as the transfer would leave it, the
relinquishing entity, the date and the note, and the request's state. Each
request has a stable id (``domain.transfer.transfer_request_id``), the same
in every rebuild and in the notification that announced it.

Who sees a request: auditors, the accepting entity, and the parties on the
contract's chain (the advisor and the relinquishing entity among them); no
one else, not even a sync peer (which decides no transfer): for them it does
not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from contractledger.domain.contract import Contract
from contractledger.domain.termination import TRANSFERRED
from contractledger.domain.transfer import chain_after_transfer, transfer_request_id
from contractledger.projections.contract_status import CREATIONS
from contractledger.projections.engine.queries import merged_page, reading
from contractledger.projections.engine.rows import (
    AppendBuffer,
    BufferedView,
    UpsertBuffer,
    date_from,
    date_text,
    id_from,
    id_text,
    instant_from,
    instant_text,
    json_from,
    json_text,
)
from contractledger.projections.engine.view import handles
from contractledger.projections.engine.view_database import ViewDatabase, ViewTransaction
from contractledger.projections.viewer import Viewer


class RequestState(str, Enum):
    """Where a transfer request stands."""

    REQUESTED = "requested"
    """Open: the accepting entity has not decided yet."""
    AWAITING_RELATIONSHIP = "awaiting_relationship"
    """Open: accepted on condition of a direct relationship, which is not active yet."""
    ACCEPTED = "accepted"
    """The new contract (the transfer package) exists; its outcome decides the transfer."""
    TRANSFERRED = "transferred"
    """The new contract became active: the original ended, reason Transferred."""
    RESCINDED = "rescinded"
    DENIED = "denied"
    FELL_THROUGH = "fell_through"
    """The new contract ended in a terminal status first: the original is active again."""


REQUEST_COLUMNS = (
    "request_id", "position", "contract_id", "advisor_id", "carrier_id", "chain", "chain_after_transfer",
    "relinquishing_entity_id", "accepting_entity_id", "requested_on", "requested_at", "note", "state",
    "state_since", "successor_id", "awaiting_relationship_id",
)
_ENDINGS = {
    Contract.TransferRescinded: RequestState.RESCINDED,
    Contract.TransferDenied: RequestState.DENIED,
    Contract.TransferFellThrough: RequestState.FELL_THROUGH,
}
_STEPS = (
    Contract.TransferRequested, *_ENDINGS, Contract.TransferAwaitingRelationship, Contract.TransferAccepted,
    Contract.Terminated,
)


def request_details(contract_id: UUID, request_version: int, chain: list[Any], e: Any) -> dict[str, Any]:
    """What the accepting entity is told of a request (rules §5), as plain data:
    this view's row and the notification announcing it say the same."""
    chain = [id_text(p) if not isinstance(p, str) else p for p in chain]
    relinquishing, accepting = id_text(e.relinquishing_entity_id), id_text(e.accepting_entity_id)
    return {
        "transfer_request_id": id_text(transfer_request_id(contract_id, request_version)),
        "contract_id": id_text(contract_id),
        "advisor_id": chain[-1],
        "carrier_id": chain[0],
        "chain": chain,
        "chain_after_transfer": chain_after_transfer(chain, relinquishing, accepting),
        "relinquishing_entity_id": relinquishing,
        "accepting_entity_id": accepting,
        "requested_on": date_text(e.effective_on),
        "note": e.note,
    }


class TransferRequestsView(BufferedView):
    name = "transfer_requests"
    tables = ("transfer_requests", "transfer_request_parties", "party_requests", "transfer_contracts")
    follows = (Contract,)
    ignores = (Contract.Event,)  # of contracts, the creations, the transfer's steps and its endings

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.requests: UpsertBuffer = self.buffer(UpsertBuffer, "transfer_requests", REQUEST_COLUMNS)
        self.parties: AppendBuffer = self.buffer(AppendBuffer, "party_requests", ("party_id", "position", "request_id"))
        self.contracts: UpsertBuffer = self.buffer(
            UpsertBuffer, "transfer_contracts", ("contract_id", "chain", "open_request_id")
        )

    def schema(self) -> list[str]:
        t = self.t
        return [
            f"CREATE TABLE IF NOT EXISTS {t['transfer_requests']} (request_id KEY_TEXT PRIMARY KEY,"
            " position BIGINT NOT NULL, contract_id KEY_TEXT NOT NULL, advisor_id KEY_TEXT NOT NULL, carrier_id KEY_TEXT NOT NULL,"
            " chain TEXT NOT NULL, chain_after_transfer TEXT NOT NULL, relinquishing_entity_id KEY_TEXT NOT NULL,"
            " accepting_entity_id KEY_TEXT NOT NULL, requested_on KEY_TEXT NOT NULL, requested_at KEY_TEXT NOT NULL, note TEXT,"
            " state TEXT NOT NULL, state_since TEXT NOT NULL, successor_id KEY_TEXT, awaiting_relationship_id KEY_TEXT)",
            # the order of every list of requests: a page is a range of one of these, by filter
            f"CREATE INDEX IF NOT EXISTS {t['transfer_requests']}_position ON {t['transfer_requests']} (position)",
            f"CREATE INDEX IF NOT EXISTS {t['transfer_requests']}_contract"
            f" ON {t['transfer_requests']} (contract_id, position)",
            f"CREATE INDEX IF NOT EXISTS {t['transfer_requests']}_state ON {t['transfer_requests']} (state, position)",
            f"CREATE INDEX IF NOT EXISTS {t['transfer_requests']}_accepting"
            f" ON {t['transfer_requests']} (accepting_entity_id, position)",
            # each party's requests on its contracts, in the list's order: a party's page walks its own range
            # and stops at the page, however many requests the book holds
            f"CREATE TABLE IF NOT EXISTS {t['party_requests']} (party_id KEY_TEXT NOT NULL, position BIGINT NOT NULL,"
            " request_id KEY_TEXT NOT NULL, PRIMARY KEY (party_id, position, request_id))",
            # a generation built before kept the (request, party) pairs without their position: read once into it
            f"CREATE TABLE IF NOT EXISTS {t['transfer_request_parties']} (request_id KEY_TEXT NOT NULL,"
            " party_id KEY_TEXT NOT NULL, PRIMARY KEY (party_id, request_id))",
            f"INSERT INTO {t['party_requests']} (party_id, position, request_id)"
            f" SELECT p.party_id, r.position, p.request_id FROM {t['transfer_request_parties']} p"
            f" JOIN {t['transfer_requests']} r ON r.request_id = p.request_id"
            f" WHERE NOT EXISTS (SELECT 1 FROM {t['party_requests']})",
            f"CREATE TABLE IF NOT EXISTS {t['transfer_contracts']} (contract_id KEY_TEXT PRIMARY KEY, chain TEXT NOT NULL,"
            " open_request_id KEY_TEXT)",
        ]

    def prefetch(self, tx: ViewTransaction, events: Any) -> None:
        # the contracts this batch's transfer events concern, then their open requests, a query each
        wanted = [id_text(e.originator_id) for _, e in events if isinstance(e, _STEPS)]
        wanted += [id_text(e.transferred_from) for _, e in events if isinstance(e, Contract.TransferPackageCreated)]
        self.contracts.load(tx, wanted)
        opened = [self.contracts.find(tx, c) for c in dict.fromkeys(wanted)]
        self.requests.load(tx, [row["open_request_id"] for row in opened if row and row["open_request_id"]])

    @handles(*CREATIONS)
    def created(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self.contracts.add(
            {"contract_id": id_text(e.originator_id), "chain": json_text([id_text(p) for p in e.chain]),
             "open_request_id": None}
        )
        if isinstance(e, Contract.TransferPackageCreated):
            request = self._open_request(tx, id_text(e.transferred_from))
            if request is not None:  # the chain the transfer really makes
                request["chain_after_transfer"] = json_text([id_text(p) for p in e.chain])

    @handles(Contract.TransferRequested)
    def requested(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        contract = self.contracts.get(tx, id_text(e.originator_id))
        chain = json_from(contract["chain"])
        details = request_details(e.originator_id, e.originator_version, chain, e)
        request_id = details["transfer_request_id"]
        self.requests.add(
            {
                "request_id": request_id,
                "position": notification_id,
                "contract_id": details["contract_id"],
                "advisor_id": details["advisor_id"],
                "carrier_id": details["carrier_id"],
                "chain": json_text(chain),
                "chain_after_transfer": json_text(details["chain_after_transfer"]),
                "relinquishing_entity_id": details["relinquishing_entity_id"],
                "accepting_entity_id": details["accepting_entity_id"],
                "requested_on": details["requested_on"],
                "requested_at": instant_text(e.timestamp),
                "note": e.note,
                "state": RequestState.REQUESTED.value,
                "state_since": details["requested_on"],
                "successor_id": None,
                "awaiting_relationship_id": None,
            }
        )
        for party_id in chain:
            self.parties.append(party_id, notification_id, request_id)
        contract["open_request_id"] = request_id

    @handles(*_ENDINGS)
    def ended(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self._end(tx, e, _ENDINGS[type(e)])

    @handles(Contract.Terminated)
    def terminated(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        if e.reason == TRANSFERRED:
            self._end(tx, e, RequestState.TRANSFERRED)

    @handles(Contract.TransferAwaitingRelationship)
    def awaiting_relationship(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        request = self._open_request(tx, id_text(e.originator_id))
        if request is not None:
            request.update(
                state=RequestState.AWAITING_RELATIONSHIP.value, state_since=date_text(e.effective_on),
                awaiting_relationship_id=id_text(e.relationship_id),
            )

    @handles(Contract.TransferAccepted)
    def accepted(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        request = self._open_request(tx, id_text(e.originator_id))
        if request is not None:
            request.update(
                state=RequestState.ACCEPTED.value, state_since=date_text(e.effective_on), successor_id=id_text(e.successor_id),
                awaiting_relationship_id=None,
            )

    def _end(self, tx: ViewTransaction, e: Any, state: RequestState) -> None:
        contract = self.contracts.get(tx, id_text(e.originator_id))
        request = self._open_request(tx, contract["contract_id"])
        if request is None:
            return
        request.update(state=state.value, state_since=date_text(e.effective_on))
        contract["open_request_id"] = None

    def _open_request(self, tx: ViewTransaction, contract_id: str) -> dict[str, Any] | None:
        contract = self.contracts.find(tx, contract_id)
        if contract is None or contract["open_request_id"] is None:
            return None
        return self.requests.get(tx, contract["open_request_id"])


# ---- reading ------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferRequest:
    """One transfer request as its accepting entity, the contract's parties and auditors see it."""

    request_id: UUID
    contract_id: UUID
    advisor_id: UUID
    carrier_id: UUID
    chain: tuple[UUID, ...]
    """The contract's chain as it is."""
    chain_after_transfer: tuple[UUID, ...]
    """As the transfer would leave it through the party above the relinquishing entity; once
    accepted, the new contract's chain."""
    relinquishing_entity_id: UUID
    accepting_entity_id: UUID
    requested_on: date
    requested_at: datetime
    note: str | None
    state: RequestState
    state_since: date
    """The date the request came to its state (its effective date)."""
    successor_id: UUID | None
    awaiting_relationship_id: UUID | None
    position: int
    """The ledger position of the request (the list's order)."""


def transfer_requests(
    database: ViewDatabase,
    viewer: Viewer,
    *,
    contract_id: UUID | None = None,
    state: RequestState | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[TransferRequest]:
    """rules §5: the transfer requests ``viewer`` may see, in the ledger's order:
    for an accepting entity, its request history (each request made to it,
    open or decided); for a party on a contract, the requests on it; for
    auditors, all. ``after`` (a position) and ``limit`` read one page in SQL."""
    return _read(database, viewer, contract_id=contract_id, state=state, after=after, limit=limit)


def transfer_request(database: ViewDatabase, viewer: Viewer, request_id: UUID) -> TransferRequest | None:
    """One request, or None when it does not exist for ``viewer``."""
    found = _read(database, viewer, request_id=request_id)
    return found[0] if found else None


def _read(
    database: ViewDatabase,
    viewer: Viewer,
    *,
    request_id: UUID | None = None,
    contract_id: UUID | None = None,
    state: RequestState | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[TransferRequest]:
    if not viewer.sees_every_record and viewer.party_id is None:
        return []  # sync peers decide no transfer
    with reading(database) as read:
        t = read.tables(TransferRequestsView)
        filters, params = "", []
        for column, value in (("request_id", id_text(request_id)), ("contract_id", id_text(contract_id)),
                              ("state", state.value if state is not None else None)):
            if value is not None:
                filters += f" AND r.{column} = ?"
                params.append(value)
        columns = ", ".join(f"r.{c}" for c in REQUEST_COLUMNS)
        cut, paging = ("", []) if limit is None else (" LIMIT ?", [limit])
        requests = f"SELECT {columns} FROM {t['transfer_requests']} r WHERE r.position > ?{filters}"
        if viewer.sees_every_record:
            sql, params = f"{requests} ORDER BY r.position{cut}", [after or 0, *params, *paging]
        else:
            # made to the party (its index on (accepting_entity_id, position)) or on a contract it is on (its
            # own range of party_requests, in the list's order: CROSS JOIN keeps SQLite's order), each arm cut
            # to the page before they are merged: a page costs the party's requests, not the book's
            party = id_text(viewer.party_id)
            made_to = f"{requests} AND r.accepting_entity_id = ? ORDER BY r.position{cut}"
            on_its_contract = (
                f"SELECT {columns} FROM {t['party_requests']} p CROSS JOIN {t['transfer_requests']} r"
                f" WHERE p.party_id = ? AND p.position > ? AND r.request_id = p.request_id{filters}"
                f" AND r.accepting_entity_id <> ? ORDER BY p.position{cut}"
            )
            sql, params = merged_page([
                (made_to, [after or 0, *params, party, *paging]),
                (on_its_contract, [party, after or 0, *params, party, *paging]),
            ], "position", limit)
        rows = read.rows(sql, params)
    return [_request(row) for row in rows]


def _request(row: tuple) -> TransferRequest:
    (request_id, position, contract_id, advisor_id, carrier_id, chain, chain_after, relinquishing, accepting,
     requested_on, requested_at, note, state, state_since, successor_id, awaiting) = row  # REQUEST_COLUMNS, in order
    return TransferRequest(
        request_id=id_from(request_id),  # type: ignore[arg-type]
        contract_id=id_from(contract_id),  # type: ignore[arg-type]
        advisor_id=id_from(advisor_id),  # type: ignore[arg-type]
        carrier_id=id_from(carrier_id),  # type: ignore[arg-type]
        chain=tuple(id_from(p) for p in json_from(chain)),  # type: ignore[misc]
        chain_after_transfer=tuple(id_from(p) for p in json_from(chain_after)),  # type: ignore[misc]
        relinquishing_entity_id=id_from(relinquishing),  # type: ignore[arg-type]
        accepting_entity_id=id_from(accepting),  # type: ignore[arg-type]
        requested_on=date_from(requested_on),  # type: ignore[arg-type]
        requested_at=instant_from(requested_at),
        note=note,
        state=RequestState(state),
        state_since=date_from(state_since),  # type: ignore[arg-type]
        successor_id=id_from(successor_id),
        awaiting_relationship_id=id_from(awaiting),
        position=int(position),
    )
