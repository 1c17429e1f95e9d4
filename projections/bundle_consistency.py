"""Bundle consistency view (rules §4): every bundle with its members' statuses.

rules §4 promises that the non-terminal members of a bundle never disagree on
their workflow status: while a bundle is with the agency or the producer it
moves as one (``bundle.detach_first``). :func:`mixed_bundles` looks for a
bundle that breaks that promise, so the promise is checked against the
ledger's real history rather than trusted: any disagreement among its
attached, non-terminal members while one of them is still before
pending_carrier (a member held alone, one a step left behind). From
pending_carrier on each carrier decides its own contract, so members then
differ by design. A detached member moves alone and no longer counts.

The view keeps the bundles that are mixed (``mixed_bundles``, normally
empty): after each batch, those whose members it changed are judged again
from all their members. A viewer's list is then read from those few, among
the members it may see (a bundle mixed among some of its members is mixed
as a whole), never by grouping every bundle of its book.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from contractledger.domain.bundle import WITH_AGENCY_OR_PRODUCER
from contractledger.domain.contract import Contract
from contractledger.domain.status import TERMINAL, Status
from contractledger.projections.contract_status import CREATIONS, STATUS_MOVES, ContractStatusView, status_after
from contractledger.projections.engine.queries import placeholders, reading
from contractledger.projections.engine.rows import BufferedView, UpsertBuffer, id_text, json_text
from contractledger.projections.engine.view import handles
from contractledger.projections.engine.view_database import ViewDatabase, ViewTransaction
from contractledger.projections.viewer import Viewer

MEMBER_COLUMNS = ("contract_id", "bundle_id", "chain", "status", "detached")


class BundleConsistencyView(BufferedView):
    name = "bundle_consistency"
    tables = ("bundle_members", "mixed_bundles")
    follows = (Contract,)
    ignores = (Contract.Event,)  # of contracts, the steps and moves that bundles care about

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.members: UpsertBuffer = self.buffer(UpsertBuffer, "bundle_members", MEMBER_COLUMNS)
        # A contract is a bundle member from its creation or never: remembered
        # across batches so events on the many non-members cost no lookup.
        self._is_member: dict[str, bool] = {}
        self._changed_bundles: set[str] = set()  # judged again at flush

    def schema(self) -> list[str]:
        t = self.t
        return [
            f"CREATE TABLE IF NOT EXISTS {t['bundle_members']} (contract_id KEY_TEXT PRIMARY KEY, bundle_id KEY_TEXT NOT NULL,"
            " chain TEXT NOT NULL, status TEXT NOT NULL, detached INTEGER NOT NULL)",
            # the order of the bundles and their members: a page is a range of it
            f"CREATE INDEX IF NOT EXISTS {t['bundle_members']}_bundle_member"
            f" ON {t['bundle_members']} (bundle_id, contract_id)",
            f"CREATE TABLE IF NOT EXISTS {t['mixed_bundles']} (bundle_id KEY_TEXT PRIMARY KEY)",
        ]

    def forget(self) -> None:
        super().forget()
        self._is_member.clear()
        self._changed_bundles.clear()

    def flush(self, tx: ViewTransaction) -> None:
        super().flush(tx)  # the members first: the bundles are judged from their rows
        changed = sorted(self._changed_bundles)
        self._changed_bundles.clear()
        members, mixed = self.t["bundle_members"], self.t["mixed_bundles"]
        having, having_params = _mixed_condition("")
        for start in range(0, len(changed), 500):
            chunk = changed[start:start + 500]
            tx.execute(f"DELETE FROM {mixed} WHERE bundle_id IN ({placeholders(chunk)})", chunk)
            tx.execute(
                f"INSERT INTO {mixed} (bundle_id) SELECT bundle_id FROM {members}"
                f" WHERE bundle_id IN ({placeholders(chunk)}) GROUP BY bundle_id HAVING {having}",
                [*chunk, *having_params],
            )

    @handles(*CREATIONS)
    def created(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        contract_id = id_text(e.originator_id)
        bundle_id = getattr(e, "bundle_id", None)
        self._is_member[contract_id] = bundle_id is not None
        if bundle_id is not None:
            self._changed_bundles.add(id_text(bundle_id))
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
            self._changed_bundles.add(member["bundle_id"])

    @handles(Contract.DetachedFromBundle)
    def detached(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        member = self._member(tx, id_text(e.originator_id))
        if member is not None:
            member["detached"] = 1
            self._changed_bundles.add(member["bundle_id"])

    def _member(self, tx: ViewTransaction, contract_id: str) -> dict[str, Any] | None:
        if self._is_member.get(contract_id) is False:
            return None
        member = self.members.find(tx, contract_id)
        self._is_member[contract_id] = member is not None
        return member


def _mixed_condition(member: str) -> tuple[str, list[str]]:
    """``BundleStatuses.is_mixed`` over a group of member rows (columns prefixed ``member``), as SQL."""
    terminal = sorted(s.value for s in TERMINAL)
    before_the_carrier = sorted(s.value for s in WITH_AGENCY_OR_PRODUCER)
    moving = f"{member}detached = 0 AND {member}status NOT IN ({placeholders(terminal)})"
    return (
        f"COUNT(DISTINCT CASE WHEN {moving} THEN {member}status END) > 1"
        f" AND SUM(CASE WHEN {moving} AND {member}status IN ({placeholders(before_the_carrier)}) THEN 1 ELSE 0 END) > 0",
        [*terminal, *terminal, *before_the_carrier],
    )


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
    def member_statuses(self) -> frozenset[Status]:
        """The statuses of the members that move with the bundle (attached, not terminal)."""
        return frozenset(m.status for m in self.members if not m.detached and m.status not in TERMINAL)

    @property
    def is_mixed(self) -> bool:
        """rules §4: members that should move as one disagree (one is still before pending_carrier)."""
        statuses = self.member_statuses
        return len(statuses) > 1 and bool(statuses & WITH_AGENCY_OR_PRODUCER)


def bundles(
    database: ViewDatabase, viewer: Viewer, *, bundle_ids: list[UUID] | None = None,
    after: UUID | None = None, limit: int | None = None,
) -> list[BundleStatuses]:
    """rules §4: bundles with their members' statuses (as last recorded), each
    member shown only to a viewer that may see that contract (rules §5); a
    bundle none of whose members it may see is not there for it. In the
    order of their ids; ``after`` (an id) and ``limit`` read one page in SQL."""
    return _read_bundles(database, viewer, bundle_ids=bundle_ids, after=after, limit=limit)


def mixed_bundles(
    database: ViewDatabase, viewer: Viewer, *, after: UUID | None = None, limit: int | None = None
) -> list[BundleStatuses]:
    """rules §4 (bundles move together): the bundles whose attached, non-terminal
    members disagree on their status while one of them is still with the
    agency or the producer (of the members the viewer may see). The ledger
    promises this is always empty; anything here is a defect to investigate
    (or a bundle split before bundle.detach_first: detach the member
    standing apart). As :func:`bundles` pages them."""
    return _read_bundles(database, viewer, mixed=True, after=after, limit=limit)


def _read_bundles(
    database: ViewDatabase, viewer: Viewer, *, mixed: bool = False, bundle_ids: list[UUID] | None = None,
    after: UUID | None = None, limit: int | None = None,
) -> list[BundleStatuses]:
    """One statement: the page's bundles (the ids of those with a member the
    viewer may see, mixed among those members when asked, after ``after``, up
    to ``limit``, in the order of the index on (bundle_id, contract_id)) and
    their members the viewer may see."""
    with reading(database) as read:
        t = read.tables(BundleConsistencyView)
        parties = read.tables(ContractStatusView)["contract_parties"]
        sees_v, v_params = viewer.contract_condition("v.contract_id", parties, row_by_row=mixed)
        sees_m, m_params = viewer.contract_condition("m.contract_id", parties, row_by_row=mixed)
        # the mixed: from the few bundles kept as mixed (first: CROSS JOIN keeps SQLite's order), not the viewer's book
        source = f"{t['mixed_bundles']} k CROSS JOIN {t['bundle_members']} v" if mixed else f"{t['bundle_members']} v"
        chosen, params = f"SELECT v.bundle_id FROM {source} WHERE {sees_v}", list(v_params)
        if mixed:
            chosen += " AND v.bundle_id = k.bundle_id"
        if bundle_ids is not None:
            ids = [id_text(b) for b in bundle_ids]
            chosen += f" AND v.bundle_id IN ({placeholders(ids)})" if ids else " AND 1 = 0"
            params += ids
        if after is not None:
            chosen += " AND v.bundle_id > ?"
            params.append(id_text(after))
        chosen += " GROUP BY v.bundle_id"
        if mixed:  # BundleStatuses.is_mixed, of the members the viewer sees
            having, having_params = _mixed_condition("v.")
            chosen += f" HAVING {having}"
            params += having_params
        chosen += " ORDER BY v.bundle_id"
        if limit is not None:
            chosen += " LIMIT ?"
            params.append(limit)
        rows = read.rows(
            f"SELECT {', '.join(f'm.{c}' for c in MEMBER_COLUMNS)} FROM {t['bundle_members']} m"
            f" WHERE m.bundle_id IN ({chosen}) AND {sees_m} ORDER BY m.bundle_id, m.contract_id",
            [*params, *m_params],
        )
    found: dict[str, list[BundleMember]] = {}
    for contract_id, bundle_id, _chain, status, detached in rows:
        found.setdefault(bundle_id, []).append(BundleMember(UUID(contract_id), Status(status), bool(detached)))
    return [BundleStatuses(UUID(b), tuple(members)) for b, members in found.items()]
