"""Contract history view (rules §10): every event of every contract in the
ledger's order, with recorded time, effective date, actor and all details,
including the audit trail of the monitoring and debt records on it (each
add, change and removal).

Record events name their record, not the contract; the record's creation
event does, so ``record_contracts`` remembers which contract each record
belongs to. Who may see a record's trail is decided at query time from the
record's current state (oversight records view), so a debt closed again
leaves other parties' sight with its whole trail.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from contractledger.domain.actor import Role
from contractledger.domain.contract import Contract
from contractledger.domain.debt import DebtRecord
from contractledger.domain.monitoring import MonitoringRecord
from contractledger.domain.visibility import public_details
from contractledger.projections.contract_status import END_OF_TIME, ContractStatusView, read_contracts
from contractledger.projections.oversight_records import record_visible_now
from contractledger.projections.engine.queries import Reading, ensure_instant, reading
from contractledger.projections.engine.rows import (
    AppendBuffer,
    BufferedView,
    details_text,
    date_text,
    id_from,
    id_text,
    instant_text,
    json_from,
)
from contractledger.projections.engine.view import handles
from contractledger.projections.engine.view_database import ViewDatabase, ViewTransaction
from contractledger.projections.viewer import Viewer

CONTRACT = "contract"
MONITORING = "monitoring"
DEBT = "debt"
HISTORY_COLUMNS = (
    "notification_id", "contract_id", "subject", "record_id", "sequence", "event", "recorded_at", "effective_on",
    "actor_party_id", "actor_role", "actor_user", "details",
)


class ContractHistoryView(BufferedView):
    name = "contract_history"
    tables = ("history", "record_contracts")
    follows = (Contract, MonitoringRecord, DebtRecord)

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.history: AppendBuffer = self.buffer(AppendBuffer, "history", HISTORY_COLUMNS)
        self.new_records: AppendBuffer = self.buffer(AppendBuffer, "record_contracts", ("record_id", "contract_id"))
        # which contract a record is on never changes: remembered across batches
        self._contract_of: dict[str, str] = {}

    def schema(self) -> list[str]:
        t = self.t
        return [
            f"CREATE TABLE IF NOT EXISTS {t['history']} (notification_id BIGINT PRIMARY KEY,"
            " contract_id KEY_TEXT NOT NULL, subject TEXT NOT NULL, record_id KEY_TEXT, sequence INTEGER NOT NULL,"
            " event TEXT NOT NULL, recorded_at KEY_TEXT NOT NULL, effective_on KEY_TEXT, actor_party_id KEY_TEXT,"
            " actor_role TEXT, actor_user TEXT, details TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t['history']}_contract ON {t['history']} (contract_id, notification_id)",
            f"CREATE TABLE IF NOT EXISTS {t['record_contracts']} (record_id KEY_TEXT PRIMARY KEY, contract_id KEY_TEXT NOT NULL)",
        ]

    def forget(self) -> None:
        super().forget()
        self._contract_of.clear()

    @handles(Contract.Event)
    def contract_event(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self._append(notification_id, id_text(e.originator_id), CONTRACT, None, e)

    @handles(MonitoringRecord.Placed, DebtRecord.Logged)
    def record_created(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        record_id, contract_id = id_text(e.originator_id), id_text(e.contract_id)
        self._contract_of[record_id] = contract_id
        self.new_records.append(record_id, contract_id)
        self._append(notification_id, contract_id, _subject(e), record_id, e)

    @handles(MonitoringRecord.Event, DebtRecord.Event)
    def record_event(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        record_id = id_text(e.originator_id)
        contract_id = self._contract_of.get(record_id)
        if contract_id is None:
            tx.execute(f"SELECT contract_id FROM {self.t['record_contracts']} WHERE record_id = ?", (record_id,))
            row = tx.fetchone()
            if row is None:
                raise LookupError(f"record {record_id} has no creation event before notification id {notification_id}")
            contract_id = self._contract_of[record_id] = row[0]
        self._append(notification_id, contract_id, _subject(e), record_id, e)

    def _append(self, notification_id: int, contract_id: str, subject: str, record_id: str | None, e: Any) -> None:
        actor = e.actor
        self.history.append(
            notification_id,
            contract_id,
            subject,
            record_id,
            e.originator_version,
            type(e).__name__,
            instant_text(e.timestamp),
            date_text(e.effective_on),
            id_text(actor.party_id),
            actor.role.value,
            actor.user,
            details_text(e),
        )


def _subject(e: Any) -> str:
    return MONITORING if isinstance(e, MonitoringRecord.Event) else DEBT


class HistoryEntry(msgspec.Struct, frozen=True):
    """One entry of a contract's history (a msgspec struct: a page builds a
    hundred of them, ten times faster than a frozen dataclass each)."""

    notification_id: int
    contract_id: UUID
    subject: str
    """``contract``, ``monitoring`` or ``debt``."""
    record_id: UUID | None
    sequence: int
    event: str
    recorded_at: datetime
    effective_on: date | None
    actor_party_id: UUID | None
    actor_role: Role
    actor_user: str
    details: dict[str, Any]


def contract_history(
    database: ViewDatabase,
    viewer: Viewer,
    contract_id: UUID,
    *,
    as_of: datetime | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[HistoryEntry] | None:
    """rules §10: every event on the contract in the ledger's order, with the
    monitoring and debt trail on it; ``as_of`` keeps what was recorded by that
    instant. None when the contract does not exist for ``viewer`` (rules §5:
    a party not on it). Record entries follow rules §6: a private record's
    trail only for the party that recorded it, a public one for every party
    on the contract, none for sync peers; auditors see all. A sync peer sees
    each action's details as its feed carries them (no note, document,
    profile snapshot, or reason but a downgrade's).

    ``after`` (a notification id) and ``limit`` read one page in SQL, so a
    page of a long history costs the page, not the history: at most
    ``limit`` entries the viewer may see, all after ``after``."""
    ensure_instant(as_of)
    with reading(database) as read:
        until = instant_text(as_of) if as_of is not None else None
        rows = _select_history(read, viewer, contract_id, after=after or 0, until=until, limit=limit)
        if rows:
            chain = [id_from(p) for p in json_from(rows[0][-1])]
            if not viewer.may_see_contract(chain):  # type: ignore[arg-type]
                return None
            rows = [row[:-1] for row in rows]
        else:  # nothing on this page: whether the contract exists for the viewer says 404 or an empty page
            found = read_contracts(read, viewer, contract_id=contract_id, as_of=as_of)
            if not found:
                return None
            chain = list(found[0].chain)
        private_details = viewer.sees_private_details(chain)  # type: ignore[arg-type]
    entries = [_entry(row) for row in rows]
    if private_details:
        return entries
    # a viewer off the chain that sees every contract (a sync peer): what its feed carries (rules §9)
    return [msgspec.structs.replace(entry, details=public_details(entry.event, entry.details)) for entry in entries]


def _select_history(
    read: Reading, viewer: Viewer, contract_id: UUID, *, after: int, until: str | None, limit: int | None
) -> list[tuple]:
    """A page of the contract's history (HISTORY_COLUMNS, then the contract's
    chain): the entries after ``after`` recorded by ``until``, of the
    records' trail only what ``viewer`` may see as the records stand now, in
    the order of the index on (contract_id, notification_id), at most
    ``limit``. One statement: the chain says from the same answer whether the
    viewer may see the contract at all (one round trip, not two)."""
    t = read.tables(ContractHistoryView)
    contracts = read.tables(ContractStatusView)["contracts"]
    sql = (
        f"SELECT {', '.join('h.' + column for column in HISTORY_COLUMNS)}, c.chain"
        f" FROM {t['history']} h JOIN {contracts} c ON c.contract_id = h.contract_id"
        " WHERE h.contract_id = ? AND h.notification_id > ? AND c.created_at <= ?"
    )
    params: list[Any] = [id_text(contract_id), after, until or END_OF_TIME]
    if until is not None:
        sql += " AND h.recorded_at <= ?"
        params.append(until)
    trail = record_visible_now(read, viewer, "h.record_id")
    if trail is not None:
        sql += f" AND (h.record_id IS NULL OR {trail[0]})"
        params += trail[1]
    sql += " ORDER BY h.notification_id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return read.rows(sql, params, keyed=True)  # one contract's: the same plan for every contract


def _entry(row: tuple) -> HistoryEntry:
    # a page builds a hundred of these: the conversions of rows.py spelt inline
    (notification_id, contract_id, subject, record_id, sequence, event, recorded_at, effective_on,
     actor_party_id, actor_role, actor_user, details) = row  # HISTORY_COLUMNS, in order
    return HistoryEntry(
        notification_id=int(notification_id),
        contract_id=id_from(contract_id),  # type: ignore[arg-type]
        subject=subject,
        record_id=None if record_id is None else id_from(record_id),
        sequence=int(sequence),
        event=event,
        recorded_at=datetime.fromisoformat(recorded_at),
        effective_on=None if effective_on is None else date.fromisoformat(effective_on),
        actor_party_id=None if actor_party_id is None else id_from(actor_party_id),
        actor_role=actor_role,
        actor_user=actor_user,
        details=json_from(details),
    )