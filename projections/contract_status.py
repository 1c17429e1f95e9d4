"""Contract status view (rules §2 to 5): every contract with its chain, its
status on any date, any change dated ahead, writing numbers, codes, bundle
and transfer links.

Statuses are effective-dated: a termination recorded today may take effect
next month. So each status change is kept in ``status_changes`` with its
effective date and recorded instant, and the status on a day is the last
change recorded (up to the as-of instant) whose effective date is on or
before that day, exactly as ``Contract.status_on`` reads its timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Literal
from uuid import UUID

import msgspec

from contractledger.domain.contract import CODE_STATUSES, CONTRACT_KINDS, DIRECT_RELATIONSHIP, Contract
from contractledger.domain.status import Status
from contractledger.domain.visibility import PUBLIC_REASON_STATUSES
from contractledger.domain.termination import CONSOLIDATED
from contractledger.projections.engine.queries import Reading, business_today, ensure_instant, placeholders, reading
from contractledger.projections.engine.rows import (
    AppendBuffer,
    BufferedView,
    UpsertBuffer,
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

END_OF_TIME = "9999-12-31T23:59:59.999999+00:00"

# The status each status-moving event leaves behind (Contract's own apply()
# methods say the same; the view reads events, not aggregates).
_FIXED_STATUS: dict[type, Status] = {
    Contract.SentToProducer: Status.PENDING_PRODUCER,
    Contract.SubmittedByProducer: Status.PENDING_AGENCY,
    Contract.ReturnedToProducer: Status.PENDING_PRODUCER,
    Contract.SubmittedToCarrier: Status.PENDING_CARRIER,
    Contract.Nullified: Status.NULLIFIED,
    Contract.TransferRequested: Status.TRANSFER_REQUESTED,
    Contract.TransferRescinded: Status.ACTIVE,
    Contract.TransferDenied: Status.ACTIVE,
    Contract.TransferFellThrough: Status.ACTIVE,
    Contract.Downgraded: Status.DOWNGRADED,
    Contract.Vested: Status.VESTED,
    Contract.Upgraded: Status.ACTIVE,
    Contract.Terminated: Status.TERMINATED,
    Contract.Reactivated: Status.ACTIVE,
    Contract.ConsolidatedInto: Status.CONSOLIDATED,
}
CREATIONS = (Contract.Assigned, Contract.DirectRelationshipRequested, Contract.TransferPackageCreated)
STATUS_MOVES = (*_FIXED_STATUS, Contract.StatusChanged)


def status_after(event: Any) -> Status | None:
    """The status a contract event leaves the contract in (None: unchanged)."""
    fixed = _FIXED_STATUS.get(type(event))
    if fixed is not None:
        return fixed
    if isinstance(event, (Contract.StatusChanged, *CREATIONS)):
        return Status(event.status)
    return None


def reason_of(event: Any) -> str | None:
    if isinstance(event, Contract.ConsolidatedInto):
        return CONSOLIDATED
    return getattr(event, "reason", None)


CONTRACT_COLUMNS = (
    "contract_id", "kind", "chain", "carrier_id", "advisor_id", "bundle_id", "predecessor_id", "successor_id",
    "consolidated_into", "writing_numbers", "codes", "transfer", "termination", "created_at", "updated_at", "version",
)


class ContractStatusView(BufferedView):
    name = "contract_status"
    tables = ("contracts", "contract_parties", "party_contracts", "status_changes", "numbering_changes")
    follows = (Contract,)

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.contracts: UpsertBuffer = self.buffer(UpsertBuffer, "contracts", CONTRACT_COLUMNS)
        self.parties: AppendBuffer = self.buffer(AppendBuffer, "contract_parties", ("contract_id", "party_id", "position"))
        self.walks: AppendBuffer = self.buffer(AppendBuffer, "party_contracts", ("party_id", "created_at", "contract_id"))
        self.changes: AppendBuffer = self.buffer(
            AppendBuffer,
            "status_changes",
            ("contract_id", "sequence", "effective_on", "status", "reason", "recorded_at", "advisor_id"),
        )
        self.numbering: AppendBuffer = self.buffer(
            AppendBuffer, "numbering_changes", ("contract_id", "sequence", "recorded_at", "writing_numbers", "codes")
        )

    def schema(self) -> list[str]:
        t = self.t
        return [
            f"CREATE TABLE IF NOT EXISTS {t['contracts']} (contract_id KEY_TEXT PRIMARY KEY, kind TEXT NOT NULL,"
            " chain TEXT NOT NULL, carrier_id KEY_TEXT NOT NULL, advisor_id KEY_TEXT, bundle_id KEY_TEXT, predecessor_id KEY_TEXT,"
            " successor_id KEY_TEXT, consolidated_into TEXT, writing_numbers TEXT NOT NULL, codes TEXT NOT NULL,"
            " transfer TEXT, termination TEXT, created_at KEY_TEXT NOT NULL, updated_at KEY_TEXT NOT NULL,"
            " version INTEGER NOT NULL)",
            # an advisor's contracts (its downgrades page by page), the direct relationships page by page
            f"CREATE INDEX IF NOT EXISTS {t['contracts']}_advisor_id ON {t['contracts']} (advisor_id, contract_id)",
            f"CREATE INDEX IF NOT EXISTS {t['contracts']}_kind ON {t['contracts']} (kind, contract_id)",
            f"CREATE INDEX IF NOT EXISTS {t['contracts']}_carrier ON {t['contracts']} (carrier_id)",
            # the order of every list of contracts: a page is a range of it
            f"CREATE INDEX IF NOT EXISTS {t['contracts']}_recorded ON {t['contracts']} (created_at, contract_id)",
            f"CREATE TABLE IF NOT EXISTS {t['contract_parties']} (contract_id KEY_TEXT NOT NULL, party_id KEY_TEXT NOT NULL,"
            " position INTEGER NOT NULL, PRIMARY KEY (party_id, contract_id))",
            # each party's contracts in the order lists show them: a party's page walks its own range and stops
            # at the limit, instead of sorting every contract of a carrier's book for each page
            f"CREATE TABLE IF NOT EXISTS {t['party_contracts']} (party_id KEY_TEXT NOT NULL, created_at KEY_TEXT NOT NULL,"
            " contract_id KEY_TEXT NOT NULL, PRIMARY KEY (party_id, created_at, contract_id))",
            # a generation built before this table kept the same pairs: they are read once into it
            f"INSERT INTO {t['party_contracts']} (party_id, created_at, contract_id)"
            f" SELECT p.party_id, c.created_at, p.contract_id FROM {t['contract_parties']} p"
            f" JOIN {t['contracts']} c ON c.contract_id = p.contract_id"
            f" WHERE NOT EXISTS (SELECT 1 FROM {t['party_contracts']})",
            f"CREATE TABLE IF NOT EXISTS {t['status_changes']} (contract_id KEY_TEXT NOT NULL, sequence INTEGER NOT NULL,"
            " effective_on KEY_TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, recorded_at KEY_TEXT NOT NULL,"
            " advisor_id KEY_TEXT, PRIMARY KEY (contract_id, sequence))",
            f"CREATE TABLE IF NOT EXISTS {t['numbering_changes']} (contract_id KEY_TEXT NOT NULL,"
            " sequence INTEGER NOT NULL, recorded_at KEY_TEXT NOT NULL, writing_numbers TEXT NOT NULL,"
            " codes TEXT NOT NULL, PRIMARY KEY (contract_id, sequence))",
        ]

    def prefetch(self, tx: ViewTransaction, events: Any) -> None:
        # the contracts the batch changes but does not create, in one query
        self.contracts.load(
            tx, [id_text(e.originator_id) for _, e in events if isinstance(e, Contract.Event) and not isinstance(e, CREATIONS)]
        )

    # -- creation -------------------------------------------------------------

    @handles(*CREATIONS)
    def created(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        contract_id = id_text(e.originator_id)
        chain = [id_text(p) for p in e.chain]
        direct = isinstance(e, Contract.DirectRelationshipRequested)
        at = instant_text(e.timestamp)
        self.contracts.add(
            {
                "contract_id": contract_id,
                "kind": DIRECT_RELATIONSHIP if direct else "advisor",
                "chain": json_text(chain),
                "carrier_id": chain[0],
                "advisor_id": None if direct else chain[-1],
                "bundle_id": id_text(getattr(e, "bundle_id", None)),
                "predecessor_id": id_text(getattr(e, "transferred_from", None)),
                "successor_id": None,
                "consolidated_into": None,
                "writing_numbers": "[]",
                "codes": "[]",
                "transfer": None,
                "termination": None,
                "created_at": at,
                "updated_at": at,
                "version": e.originator_version,
            }
        )
        for position, party_id in enumerate(chain):
            self.parties.append(contract_id, party_id, position)
            self.walks.append(party_id, at, contract_id)
        self._status_change(e, Status(e.status), None if direct else chain[-1])

    # -- status over time ----------------------------------------------------------

    @handles(*STATUS_MOVES)
    def status_moved(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        row = self._touch(tx, e)
        self._status_change(e, status_after(e), row["advisor_id"])
        if isinstance(e, (Contract.TransferRequested,)):
            row["transfer"] = json_text(
                {"relinquishing_entity_id": e.relinquishing_entity_id, "accepting_entity_id": e.accepting_entity_id}
            )
        elif isinstance(e, (Contract.TransferRescinded, Contract.TransferDenied, Contract.TransferFellThrough)):
            row["transfer"] = None
        elif isinstance(e, Contract.Terminated):
            row["transfer"] = None
            row["termination"] = json_text(
                {"reason": e.reason, "effective_on": e.effective_on, "advisor_profile": e.advisor_profile,
                 "recorded_at": instant_text(e.timestamp)}
            )
        elif isinstance(e, Contract.Reactivated):
            row["termination"] = None
        elif isinstance(e, Contract.ConsolidatedInto):
            row["consolidated_into"] = id_text(e.target_id)
            row["termination"] = json_text({"reason": CONSOLIDATED, "effective_on": e.effective_on, "advisor_profile": None})

    def _status_change(self, e: Any, status: Status, advisor_id: str | None) -> None:
        self.changes.append(
            id_text(e.originator_id),
            e.originator_version,
            date_text(e.effective_on),
            status.value,
            reason_of(e),
            instant_text(e.timestamp),
            advisor_id,
        )

    def _touch(self, tx: ViewTransaction, e: Any) -> dict[str, Any]:
        row = self.contracts.get(tx, id_text(e.originator_id))
        row["updated_at"] = instant_text(e.timestamp)
        row["version"] = e.originator_version
        return row

    # -- links ---------------------------------------------------------------------

    @handles(Contract.AwaitingTransferRecorded, Contract.AwaitingTransfersReleased)
    def awaiting_transfers(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        # nothing shown changes, but the version does: it is the contract's ETag (for If-Match),
        # so every event of the contract moves it, exactly as the aggregate's own version moves
        self._touch(tx, e)

    @handles(Contract.DetachedFromBundle)
    def detached(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self._touch(tx, e)["bundle_id"] = None

    @handles(Contract.TransferAwaitingRelationship)
    def awaiting_relationship(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        row = self._touch(tx, e)
        row["transfer"] = json_text(
            {**json_from(row["transfer"]), "awaiting_relationship_id": e.relationship_id, "third_party_id": e.third_party_id}
        )

    @handles(Contract.TransferAccepted)
    def transfer_accepted(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        row = self._touch(tx, e)
        row["successor_id"] = id_text(e.successor_id)
        row["transfer"] = json_text({**json_from(row["transfer"]), "successor_id": e.successor_id})

    # -- writing numbers and codes ---------------------------------------------------

    @handles(Contract.WritingNumberAdded)
    def writing_number_added(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self._renumber(tx, e, lambda numbers, codes: ([*numbers, e.writing_number], codes))

    @handles(Contract.WritingNumberChanged)
    def writing_number_changed(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self._renumber(
            tx, e, lambda numbers, codes: ([e.new_writing_number if n == e.old_writing_number else n for n in numbers], codes)
        )

    @handles(Contract.ContractCodeAdded)
    def code_added(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self._renumber(tx, e, lambda numbers, codes: (numbers, [*codes, {"code": e.code, "status": e.status}]))

    @handles(Contract.ContractCodeRenamed)
    def code_renamed(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self._renumber(
            tx,
            e,
            lambda numbers, codes: (numbers, [{**c, "code": e.new_code} if c["code"] == e.old_code else c for c in codes]),
        )

    @handles(Contract.ContractCodeStatusChanged)
    def code_status_changed(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self._renumber(
            tx, e, lambda numbers, codes: (numbers, [{**c, "status": e.status} if c["code"] == e.code else c for c in codes])
        )

    @handles(Contract.CodesReceivedByConsolidation)
    def codes_received(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self._renumber(tx, e, lambda numbers, codes: (numbers, [*codes, *e.codes]))

    def _renumber(self, tx: ViewTransaction, e: Any, change: Callable[[list[str], list[dict[str, str]]], tuple[Any, Any]]) -> None:
        row = self._touch(tx, e)
        numbers, codes = change(json_from(row["writing_numbers"]), json_from(row["codes"]))
        row["writing_numbers"], row["codes"] = json_text(numbers), json_text(codes)
        self.numbering.append(
            row["contract_id"], e.originator_version, instant_text(e.timestamp), row["writing_numbers"], row["codes"]
        )


# ---- reading ------------------------------------------------------------------------


class PendingChange(msgspec.Struct, frozen=True):
    """A change recorded but dated after the viewer's day (e.g. a termination next month)."""

    status: Status
    effective_on: date
    reason: str | None


class ContractStatus(msgspec.Struct, frozen=True):
    """One contract as a viewer sees it on a day (a msgspec struct: built for
    every row a read answers, several times faster than a frozen dataclass)."""

    contract_id: UUID
    kind: Literal[CONTRACT_KINDS]  # type: ignore[valid-type]
    chain: tuple[UUID, ...]
    carrier_id: UUID
    advisor_id: UUID | None
    on: date
    status: Status
    status_since: date
    status_reason: str | None
    pending_change: PendingChange | None
    writing_numbers: tuple[str, ...]
    codes: dict[str, Literal[CODE_STATUSES]]  # type: ignore[valid-type]
    bundle_id: UUID | None
    predecessor_id: UUID | None
    successor_id: UUID | None
    consolidated_into: UUID | None
    transfer: dict[str, Any] | None
    termination: dict[str, Any] | None
    recorded_at: datetime


def _change(status_changes: str, *, on_or_before_day: bool, latest: bool) -> str:
    """The subquery for one status change of the row's contract, recorded up to
    the as-of instant: the last (``latest``) or the first, of those whose date
    has come (``on_or_before_day``) or of all. As ``effective_on status reason``."""
    day = " AND s.effective_on <= ?" if on_or_before_day else ""
    return (
        f"(SELECT s.effective_on || ' ' || s.status || ' ' || COALESCE(s.reason, '') FROM {status_changes} s"
        f" WHERE s.contract_id = c.contract_id{day} AND s.recorded_at <= ?"
        f" ORDER BY s.sequence {'DESC' if latest else 'ASC'} LIMIT 1)"
    )


@lru_cache(maxsize=256)
def _contracts_statement(
    contracts: str, status_changes: str, where: tuple[str, ...], *, by_status: bool = False, after: bool = False,
    limit: bool = False, by_id: bool = False, walk: str | None = None,
) -> str:
    """The SELECT of ``_select_contracts``, built once per set of conditions:
    its parameters are the day, the as-of instant four times, the conditions'
    own, then the cursor's instant and id (``after``; its id alone, ``by_id``),
    the status (twice, ``by_status``) and the limit. The three changes: the
    one in force on the day (none before the first change's date), the first
    (the status before any came into force) and the last (a change dated
    after the day is pending). In the order of (created_at, contract_id), or
    of contract_id (``by_id``), which an index serves: a page starts after its
    cursor and stops at its limit, however long the book; a status filter is
    tested row by row in that order.

    ``walk`` (the party's contracts table; never with ``by_id``, whose
    order it does not keep): the contracts of one party (its id the
    parameter after the as-of instants), walked in its own range of that
    order, so a party's page costs the page and not the party's whole book."""
    # walking a party's contracts, the order's columns are its table's (the same values), whose index serves it
    ordered = "w" if walk is not None else "c"
    columns = ", ".join(
        f"{ordered if column in ('created_at', 'contract_id') else 'c'}.{column}" for column in CONTRACT_COLUMNS
    )
    conditions = "".join(f" AND {clause}" for clause in where)
    if after and by_id:
        conditions += " AND c.contract_id > ?"
    elif after:
        # a row value: the index is sought, not scanned
        conditions += f" AND ({ordered}.created_at, {ordered}.contract_id) > (?, ?)"
    order = " ORDER BY contract_id" if by_id else " ORDER BY created_at, contract_id"
    if ordered == "w" and not by_status:  # named, as the contracts' columns of the same names are at hand
        order = " ORDER BY w.created_at, w.contract_id"
    source = f"{contracts} c WHERE c.created_at <= ?"
    if ordered == "w":
        source = (
            f"{walk} w JOIN {contracts} c ON c.contract_id = w.contract_id"
            " WHERE w.created_at <= ? AND w.party_id = ?"
        )
    sql = (
        f"SELECT {columns},"
        f" {_change(status_changes, on_or_before_day=True, latest=True)} AS in_force,"
        f" {_change(status_changes, on_or_before_day=False, latest=False)} AS first_change,"
        f" {_change(status_changes, on_or_before_day=False, latest=True)} AS last_change"
        f" FROM {source}{conditions}"
    )
    if by_status:  # the status shown: the change in force, else the first (its text: "YYYY-MM-DD status reason")
        sql = (
            f"SELECT * FROM ({sql}) shown"
            " WHERE substr(COALESCE(shown.in_force, shown.first_change), 12, length(?) + 1) = ? || ' '"
        )
    return sql + order + (" LIMIT ?" if limit else "")


def _select_contracts(
    read: Reading, on: date, as_of: datetime | None, where: list[str], params: list[Any], *,
    status: Status | None = None, after: tuple[str, ...] | None = None, limit: int | None = None,
    by_id: bool = False, walking: UUID | None = None, keyed: bool = False,
) -> list[tuple]:
    """``walking``: the party every contract read is on, whose own list of
    contracts is walked (see ``_contracts_statement``); the conditions then
    need not say it again. ``keyed``: the read is of one contract by its id
    (one plan for every id, ``Reading.rows``)."""
    t = read.tables(ContractStatusView)
    until = instant_text(as_of) if as_of else END_OF_TIME
    walk = t["party_contracts"] if walking is not None else None
    sql = _contracts_statement(
        t["contracts"], t["status_changes"], tuple(where),
        by_status=status is not None, after=after is not None, limit=limit is not None, by_id=by_id, walk=walk,
    )
    values = [date_text(on), until, until, until, until, *([id_text(walking)] if walk else []), *params]
    if after is not None:
        values += list(after)
    if status is not None:
        values += [status.value, status.value]
    if limit is not None:
        values.append(limit)
    return read.rows(sql, values, keyed=keyed)


def _split(change: str) -> tuple[date, Status, str | None]:
    effective_on, status, reason = change.split(" ", 2)
    return date.fromisoformat(effective_on), Status(status), reason or None


def _numbering_as_of(read: Reading, contract_ids: list[str], as_of: datetime) -> dict[str, tuple[str, str]]:
    if not contract_ids:
        return {}
    t = read.tables(ContractStatusView)
    marks = ", ".join("?" for _ in contract_ids)
    rows = read.rows(
        f"SELECT contract_id, sequence, writing_numbers, codes FROM {t['numbering_changes']}"
        f" WHERE contract_id IN ({marks}) AND recorded_at <= ? ORDER BY contract_id, sequence",
        [*contract_ids, instant_text(as_of)],
    )
    return {contract_id: (numbers, codes) for contract_id, _, numbers, codes in rows}


def _contract_status(row: tuple, on: date, numbering: tuple[str, str] | None) -> ContractStatus:
    """The contract of a ``_select_contracts`` row (its version is ``row[VERSION]``)."""
    # CONTRACT_COLUMNS in their order (checked below), then the three changes
    (
        contract_id, kind, chain, carrier_id, advisor_id, bundle_id, predecessor_id, successor_id,
        consolidated_into, writing_numbers, codes, transfer, termination, created_at, _updated_at, _version,
        in_force, first_change, last_change,
    ) = row
    since, status, reason = _split(in_force or first_change)
    last_on, last_status, last_reason = _split(last_change)
    pending = PendingChange(last_status, last_on, last_reason) if last_on > on and last_status is not status else None
    numbers, codes = numbering if numbering is not None else (writing_numbers, codes)
    return ContractStatus(
        contract_id=id_from(contract_id),  # type: ignore[arg-type]
        kind=kind,
        chain=tuple(id_from(p) for p in json_from(chain)),  # type: ignore[misc]
        carrier_id=id_from(carrier_id),  # type: ignore[arg-type]
        advisor_id=id_from(advisor_id),
        on=on,
        status=status,
        status_since=since,
        status_reason=reason,
        pending_change=pending,
        writing_numbers=tuple(json_from(numbers)),
        codes={c["code"]: c["status"] for c in json_from(codes)},
        bundle_id=id_from(bundle_id),
        predecessor_id=id_from(predecessor_id),
        successor_id=id_from(successor_id),
        consolidated_into=id_from(consolidated_into),
        transfer=json_from(transfer),
        termination=json_from(termination),
        recorded_at=instant_from(created_at),
    )


# _contract_status unpacks a row by position: the columns must stay in this order
assert CONTRACT_COLUMNS[:5] == ("contract_id", "kind", "chain", "carrier_id", "advisor_id")
assert CONTRACT_COLUMNS[9:] == ("writing_numbers", "codes", "transfer", "termination", "created_at", "updated_at", "version")
VERSION = CONTRACT_COLUMNS.index("version")


def read_contracts(
    read: Reading,
    viewer: Viewer,
    *,
    contract_id: UUID | None = None,
    party_id: UUID | None = None,
    carrier_id: UUID | None = None,
    advisor_id: UUID | None = None,
    status: Status | str | None = None,
    on: date | None = None,
    as_of: datetime | None = None,
    advisor_ids: Collection[UUID] | None = None,
) -> list[ContractStatus]:
    """The contracts ``viewer`` may see, inside an open read (for queries that join views)."""
    return [
        found
        for found, _ in _read_versioned(
            read, viewer, contract_id=contract_id, party_id=party_id, carrier_id=carrier_id, advisor_id=advisor_id,
            status=status, on=on, as_of=as_of, advisor_ids=advisor_ids,
        )
    ]


def read_contracts_by_id(
    read: Reading,
    viewer: Viewer,
    *,
    kind: str | None = None,
    party_id: UUID | None = None,
    advisor_id: UUID | None = None,
    status: Status | str | None = None,
    on: date | None = None,
    after: UUID | None = None,
    limit: int | None = None,
    condition: tuple[str, list[Any]] | None = None,
) -> list[ContractStatus]:
    """As ``read_contracts``, in the order of their ids (the direct
    relationships, an advisor's downgrades): ``after`` (an id) and ``limit``
    read one page in SQL, a range of the index on (kind, contract_id) or
    (advisor_id, contract_id). ``condition`` is one more SQL condition on the
    contract ``c``, with its parameters."""
    return [
        found
        for found, _ in _read_versioned(
            read, viewer, kind=kind, party_id=party_id, advisor_id=advisor_id, status=status, on=on,
            after=None if after is None else (id_text(after),), limit=limit, by_id=True, condition=condition,
        )
    ]


def _read_versioned(
    read: Reading,
    viewer: Viewer,
    *,
    contract_id: UUID | None = None,
    party_id: UUID | None = None,
    carrier_id: UUID | None = None,
    advisor_id: UUID | None = None,
    status: Status | str | None = None,
    on: date | None = None,
    as_of: datetime | None = None,
    advisor_ids: Collection[UUID] | None = None,
    kind: str | None = None,
    after: tuple[str, ...] | None = None,
    limit: int | None = None,
    by_id: bool = False,
    condition: tuple[str, list[Any]] | None = None,
) -> list[tuple[ContractStatus, int]]:
    """As ``read_contracts``, each contract with the view's version of it (see ``versioned_contract``)."""
    ensure_instant(as_of)
    on = on or business_today()
    t = read.tables(ContractStatusView)
    where: list[str] = []
    params: list[Any] = []
    on_chain = f"c.contract_id IN (SELECT p.contract_id FROM {t['contract_parties']} p WHERE p.party_id = ?)"
    # the party every contract read is on, if any: the one asked about, or the viewer seeing its own only; its
    # own list of contracts is walked (by_id: the order of contract ids, which it does not keep)
    walking = None if by_id else party_id if party_id is not None else viewer.party_on_every_contract
    if not viewer.sees_every_contract:
        if viewer.party_id is None:
            return []
        visible, visible_params = viewer.contract_condition("c.contract_id", t["contract_parties"], walking=walking)
        where.append(visible)
        params.extend(visible_params)
    for column, value in (("contract_id", contract_id), ("carrier_id", carrier_id), ("advisor_id", advisor_id)):
        if value is not None:
            where.append(f"c.{column} = ?")
            params.append(id_text(value))
    if kind is not None:
        where.append("c.kind = ?")
        params.append(kind)
    if condition is not None:
        where.append(condition[0])
        params.extend(condition[1])
    if party_id is not None and walking is None:  # by_id: not walked, so asked of each contract
        where.append(on_chain)
        params.append(id_text(party_id))
    if advisor_ids is not None:
        if not advisor_ids:
            return []
        where.append(f"c.advisor_id IN ({', '.join('?' for _ in advisor_ids)})")
        params.extend(id_text(a) for a in advisor_ids)
    shown = None if status is None else Status(status)
    found = _select_contracts(
        read, on, as_of, where, params, status=shown, after=after, limit=limit, by_id=by_id, walking=walking,
        keyed=contract_id is not None,
    )
    numbering = _numbering_as_of(read, [row[0] for row in found], as_of) if as_of else {}
    contracts = [
        (_contract_status(row, on, numbering.get(row[0], ("[]", "[]")) if as_of else None), int(row[VERSION]))
        for row in found
    ]
    return [(c if viewer.sees_private_details(c.chain) else _without_private_details(c), version) for c, version in contracts]


def _without_private_details(found: ContractStatus) -> ContractStatus:
    """The contract as a viewer off its chain that sees every contract (a sync
    peer) sees it: its status, chain, numbers and codes, and of the reasons only
    a downgrade's (rules §5, 9); no termination's reason or profile snapshot."""
    def reason(status: Status, given: str | None) -> str | None:
        return given if status in PUBLIC_REASON_STATUSES else None

    pending = found.pending_change
    if pending is not None:
        pending = PendingChange(pending.status, pending.effective_on, reason(pending.status, pending.reason))
    termination = None if found.termination is None else {"effective_on": found.termination.get("effective_on")}
    return msgspec.structs.replace(
        found, status_reason=reason(found.status, found.status_reason), pending_change=pending, termination=termination
    )


def contracts(
    database: ViewDatabase,
    viewer: Viewer,
    *,
    party_id: UUID | None = None,
    carrier_id: UUID | None = None,
    advisor_id: UUID | None = None,
    status: Status | str | None = None,
    on: date | None = None,
    as_of: datetime | None = None,
    after: tuple[datetime, UUID] | None = None,
    limit: int | None = None,
) -> list[ContractStatus]:
    """rules §2, 5 and 10: the contracts ``viewer`` may see, each with its status
    on ``on`` (today by default) and any change dated after it, filtered by a
    party anywhere on the chain, the carrier, the advisor or the status on
    that day. ``as_of`` answers as the ledger knew it at that instant
    (contracts, status changes, writing numbers and codes recorded by then).
    A party sees only contracts it is on; auditors and sync peers see all.

    In the order they were recorded (then by id); ``after`` (a contract's
    recording instant and id) and ``limit`` read one page in SQL, so a page
    costs the page, not the book."""
    window = None if after is None else (instant_text(after[0]), id_text(after[1]))
    with reading(database) as read:
        return [
            found
            for found, _ in _read_versioned(
                read, viewer, party_id=party_id, carrier_id=carrier_id, advisor_id=advisor_id, status=status, on=on,
                as_of=as_of, after=window, limit=limit,
            )
        ]


def contract(
    database: ViewDatabase, viewer: Viewer, contract_id: UUID, *, on: date | None = None, as_of: datetime | None = None
) -> ContractStatus | None:
    """rules §5 and 10: one contract as ``contract`` lists it; None when it does not
    exist for ``viewer`` (a party not on the contract is told nothing of it)."""
    with reading(database) as read:
        found = read_contracts(read, viewer, contract_id=contract_id, on=on, as_of=as_of)
    return found[0] if found else None


def versioned_contract(
    database: ViewDatabase, viewer: Viewer, contract_id: UUID, *, on: date | None = None
) -> tuple[ContractStatus, int] | None:
    """One contract as ``contract`` answers it now, with the version of the
    contract it shows: the originator version of the last event of the
    contract this view has applied (every contract event moves it). Read in
    the same row as what is shown, so the two always agree; once the view has
    applied the contract's newest event it is the aggregate's own version,
    the one a conditional command (If-Match) is checked against. None as
    ``contract`` answers None. (A past ``as_of`` has no version here: the view
    keeps only the current one.)"""
    with reading(database) as read:
        found = _read_versioned(read, viewer, contract_id=contract_id, on=on)
    return found[0] if found else None


def read_advisors_terminated_with(
    read: Reading, party_id: UUID, *, on: date, as_of: datetime | None = None, among: Collection[UUID] | None = None
) -> set[UUID]:
    """The advisors with a contract with ``party_id`` whose termination had
    taken effect by ``on`` (as recorded by ``as_of``), at any time (of those
    ``among``, when given): a cheap first cut for readers that need the
    contracts of a few advisors only."""
    t = read.tables(ContractStatusView)
    sql = (
        f"SELECT DISTINCT s.advisor_id FROM {t['contract_parties']} p JOIN {t['status_changes']} s"
        " ON s.contract_id = p.contract_id WHERE p.party_id = ? AND s.status = ? AND s.effective_on <= ?"
        " AND s.recorded_at <= ? AND s.advisor_id IS NOT NULL"
    )
    params = [id_text(party_id), Status.TERMINATED.value, date_text(on), instant_text(as_of) if as_of else END_OF_TIME]
    if among is not None:
        named = sorted(id_text(advisor_id) for advisor_id in among)
        if not named:
            return set()
        sql += f" AND s.advisor_id IN ({placeholders(named)})"
        params += named
    return {UUID(advisor_id) for (advisor_id,) in read.rows(sql, params)}


@dataclass(frozen=True)
class AdvisorDowngrade:
    """What a party working with the advisor learns of a downgrade (rules §5: public)."""

    advisor_id: UUID
    contract_id: UUID
    carrier_id: UUID
    reason: str | None
    effective_on: date


def advisor_downgrades(
    database: ViewDatabase, viewer: Viewer, advisor_id: UUID, *, on: date | None = None,
    after: UUID | None = None, limit: int | None = None,
) -> list[AdvisorDowngrade]:
    """rules §5 (Downgrade is public): the advisor's contracts downgraded on ``on``,
    shown to every party working with the advisor, also on contracts it is not
    on. Vesting is private and never appears here. A viewer that works with
    the advisor on no contract learns nothing (an empty list).

    In the order of their ids; ``after`` (an id) and ``limit`` read one page
    in SQL, whether the viewer works with the advisor a condition of it, the
    status on the day tested row by row in the order of the advisor's
    contracts (its index on (advisor_id, contract_id))."""
    on = on or business_today()
    with reading(database) as read:
        t = read.tables(ContractStatusView)
        works_with = viewer.works_with_advisor_condition(advisor_id, t["contracts"], t["contract_parties"])
        found = read_contracts_by_id(
            read, Viewer.auditor("read side"), advisor_id=advisor_id, status=Status.DOWNGRADED, on=on,
            after=after, limit=limit, condition=works_with,
        )
    return [AdvisorDowngrade(advisor_id, c.contract_id, c.carrier_id, c.status_reason, c.status_since) for c in found]


def read_chains(read: Reading, contract_ids: list[str]) -> dict[str, tuple[UUID, ...]]:
    """The chains of the named contracts (ids as text), for visibility checks in other views' queries."""
    if not contract_ids:
        return {}
    t = read.tables(ContractStatusView)
    rows = read.rows(
        f"SELECT contract_id, chain FROM {t['contracts']} WHERE contract_id IN ({placeholders(contract_ids)})",
        contract_ids,
    )
    return {contract_id: tuple(id_from(p) for p in json_from(chain)) for contract_id, chain in rows}  # type: ignore[misc]
