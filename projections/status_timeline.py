"""A contract's status over time (rules §2, 10): the intervals of effective
dates each status held, as the ledger knew it at an instant.

Read from the contract status view's ``status_changes``: the status on a
day is the last change recorded (up to the as-of instant) whose effective
date is on or before that day, before the first change's date the first
change's status, exactly as ``contract_status`` answers a day. The
intervals are that rule walked from one effective date to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from contractledger.domain.status import Status
from contractledger.domain.visibility import PUBLIC_REASON_STATUSES
from contractledger.projections.contract_status import END_OF_TIME, ContractStatusView, read_contracts
from contractledger.projections.engine.queries import ensure_instant, reading
from contractledger.projections.engine.rows import id_text, instant_text
from contractledger.projections.engine.view_database import ViewDatabase
from contractledger.projections.viewer import Viewer


@dataclass(frozen=True)
class RecordedStatusChange:
    sequence: int
    effective_on: date
    status: Status
    reason: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class StatusInterval:
    """A status in force from one effective date until the next (``until`` None: still)."""

    status: Status
    reason: str | None
    since: date
    until: date | None
    recorded_at: datetime
    """When the change that began it was recorded."""


def status_changes(
    database: ViewDatabase, viewer: Viewer, contract_id: UUID, *, as_of: datetime | None = None
) -> list[RecordedStatusChange] | None:
    """The contract's status changes recorded by ``as_of``, in recorded order;
    None when the contract does not exist for ``viewer`` then (as
    ``contract_status.contract``). A viewer off the chain (a sync peer) sees
    a downgrade's reason only (rules §5, 9)."""
    ensure_instant(as_of)
    with reading(database) as read:
        found = read_contracts(read, viewer, contract_id=contract_id, as_of=as_of)
        if not found:
            return None
        t = read.tables(ContractStatusView)
        rows = read.rows(
            f"SELECT sequence, effective_on, status, reason, recorded_at FROM {t['status_changes']}"
            " WHERE contract_id = ? AND recorded_at <= ? ORDER BY sequence",
            [id_text(contract_id), instant_text(as_of) if as_of else END_OF_TIME],
        )
    private = viewer.sees_private_details(found[0].chain)
    changes = []
    for sequence, effective_on, status, reason, recorded_at in rows:
        shown = Status(status)
        changes.append(RecordedStatusChange(
            int(sequence), date.fromisoformat(effective_on), shown,
            reason if private or shown in PUBLIC_REASON_STATUSES else None, datetime.fromisoformat(recorded_at),
        ))
    return changes


def intervals(changes: list[RecordedStatusChange]) -> list[StatusInterval]:
    """The statuses in force over effective dates, earliest first; a change
    overtaken on its own date (by one recorded after it) held no day."""
    days = sorted({change.effective_on for change in changes})
    held: list[StatusInterval] = []
    for number, day in enumerate(days):
        in_force = [change for change in changes if change.effective_on <= day][-1]
        until = days[number + 1] if number + 1 < len(days) else None
        last = held[-1] if held else None
        if last is not None and (last.status, last.reason) == (in_force.status, in_force.reason):
            held[-1] = StatusInterval(last.status, last.reason, last.since, until, last.recorded_at)
        else:
            held.append(StatusInterval(in_force.status, in_force.reason, day, until, in_force.recorded_at))
    return held
