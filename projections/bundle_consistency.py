"""Bundle consistency view (SPEC 4): every bundle with its members' statuses.

SPEC 4 promises that the non-terminal members of a bundle never disagree on
their workflow status; :func:`mixed_bundles` looks for a bundle that breaks
that promise, so the promise is checked against the ledger's real history
rather than trusted. A detached member moves alone and no longer counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from contractledger.domain.bundle import Bundle
from contractledger.domain.command_record import CommandRecord
from contractledger.domain.contract import Contract
from contractledger.domain.debt import DebtRecord
from contractledger.domain.monitoring import MonitoringRecord
from contractledger.domain.oversight import AdvisorRecordIndex
from contractledger.domain.party import Party
from contractledger.domain.relationship_index import DirectRelationships
from contractledger.domain.status import WORKFLOW, Status
from contractledger.domain.triggers import TriggerSettings
from contractledger.projections.contract_status import CREATIONS, STATUS_MOVES, status_after
from contractledger.projections.queries import placeholders, reading
from contractledger.projections.rows import BufferedView, UpsertBuffer, id_text, json_from, json_text
from contractledger.projections.view import handles
from contractledger.projections.view_database import ViewDatabase, ViewTransaction
from contractledger.projections.viewer import Viewer

MEMBER_COLUMNS = ("contract_id", "bundle_id", "chain", "status", "detached")


class BundleConsistencyView(BufferedView):
    name = "bundle_consistency"
    rebuild_cost = 9.1
    tables = ("bundle_members",)
    ignores = (
        Contract.Event,
        Party.Event,
        Bundle.Event,
        DirectRelationships.Event,
        MonitoringRecord.Event,
        DebtRecord.Event,
        TriggerSettings.Event,
        AdvisorRecordIndex.Event,
        CommandRecord.Event,
    )

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.members: UpsertBuffer = self.buffer(UpsertBuffer, "bundle_members", MEMBER_COLUMNS)
        # A contract is a bundle member from its creation or never: remembered
        # across batches so events on the many non-members cost no lookup.
        self._is_member: dict[str, bool] = {}

    def schema(self) -> list[str]:
        t = self.t
        return [
            f"CREATE TABLE IF NOT EXISTS {t['bundle_members']} (contract_id TEXT PRIMARY KEY, bundle_id TEXT NOT NULL,"
            " chain TEXT NOT NULL, status TEXT NOT NULL, detached INTEGER NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t['bundle_members']}_bundle ON {t['bundle_members']} (bundle_id)",
        ]

    def forget(self) -> None:
        super().forget()
        self._is_member.clear()

    @handles(*CREATIONS)
    def created(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        contract_id = id_text(e.originator_id)
        bundle_id = getattr(e, "bundle_id", None)
        self._is_member[contract_id] = bundle_id is not None
        if bundle_id is not None:
            self.members.add(
                {
                    "contract_id": contract_id,
                    "bundle_id": id_text(bundle_id),
                    "chain": json_text(e.chain),
                    "status": e.status,
                    "detached": 0,
                }
            )

    @handles(*STATUS_MOVES)
    def status_moved(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        member = self._member(tx, id_text(e.originator_id))
        if member is not None:
            member["status"] = status_after(e).value

    @handles(Contract.DetachedFromBundle)
    def detached(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        member = self._member(tx, id_text(e.originator_id))
        if member is not None:
            member["detached"] = 1

    def _member(self, tx: ViewTransaction, contract_id: str) -> dict[str, Any] | None:
        if self._is_member.get(contract_id) is False:
            return None
        member = self.members.find(tx, contract_id)
        self._is_member[contract_id] = member is not None
        return member


@dataclass(frozen=True)
class BundleMember:
    contract_id: UUID
    status: Status
    detached: bool


@dataclass(frozen=True)
class BundleStatuses:
    bundle_id: UUID
    members: tuple[BundleMember, ...]

    @property
    def workflow_statuses(self) -> frozenset[Status]:
        return frozenset(m.status for m in self.members if not m.detached and m.status in WORKFLOW)


def bundles(database: ViewDatabase, viewer: Viewer, *, bundle_ids: list[UUID] | None = None) -> list[BundleStatuses]:
    """SPEC 4: bundles with their members' statuses (as last recorded), each
    member shown only to a viewer that may see that contract (SPEC 5)."""
    with reading(database) as read:
        t = read.tables(BundleConsistencyView)
        sql = f"SELECT {', '.join(MEMBER_COLUMNS)} FROM {t['bundle_members']}"
        ids = [id_text(b) for b in bundle_ids or []]
        rows = read.rows(f"{sql} WHERE bundle_id IN ({placeholders(ids)})", ids) if ids else read.rows(sql)
    found: dict[str, list[BundleMember]] = {}
    for contract_id, bundle_id, chain, status, detached in sorted(rows, key=lambda r: (r[1], r[0])):
        if viewer.may_see_contract([UUID(p) for p in json_from(chain)]):
            found.setdefault(bundle_id, []).append(BundleMember(UUID(contract_id), Status(status), bool(detached)))
    return [BundleStatuses(UUID(b), tuple(members)) for b, members in found.items()]


def mixed_bundles(database: ViewDatabase, viewer: Viewer) -> list[BundleStatuses]:
    """SPEC 4 (bundles move together): the bundles whose attached members in
    the workflow disagree on their workflow status. The ledger promises this
    is always empty; anything here is a defect to investigate."""
    with reading(database) as read:
        t = read.tables(BundleConsistencyView)
        workflow = sorted(s.value for s in WORKFLOW)
        rows = read.rows(
            f"SELECT bundle_id FROM {t['bundle_members']} WHERE detached = 0 AND status IN ({placeholders(workflow)})"
            " GROUP BY bundle_id HAVING COUNT(DISTINCT status) > 1",
            workflow,
        )
    if not rows:
        return []
    return [b for b in bundles(database, viewer, bundle_ids=[UUID(r[0]) for r in rows]) if len(b.workflow_statuses) > 1]
