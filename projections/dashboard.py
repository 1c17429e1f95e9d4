"""Dashboard view (issue 14): how many contracts a viewer may see, by status
and by carrier, agency or advisor, on any day; and the stage clock, how long
each contract has been in its current status.

Maintained incrementally, so that a dashboard read is a handful of index
lookups whatever the book's size:

- Counts. ``status_counts`` holds, per viewer key and group, how many
  contracts are in each status once every recorded change has taken effect.
  ``status_count_changes`` holds the net change each day brings (a status
  change dated that day: one less in the old status, one more in the new).
  The count on a day is the first less the changes dated after that day:
  for today, only the changes dated ahead (a termination next month) are
  read. ``status_count_months`` sums the same changes by month, so a day
  long past reads the rest of its month day by day and then whole months. A contract's first status holds from before any day (``GET
  /contracts`` shows it on a day before the contract's first date too).
  Effective dates never go backwards on a contract (``Contract._ensure_status_date``),
  so the changes dated after a day are exactly those not yet in force then.
- Stage clock. A contract's *stage* is its status and the date the change
  that put it there took effect (``since_on``); it is in force from
  ``from_on`` (its ``since_on``; for the first stage, before any day) until
  the next change's date (``until_on``). ``stages`` keeps, per viewer key,
  the stages that may still be in force on a day a reader asks about: the
  last one, and one ended by a change dated ahead of the day it was
  recorded. A stage ended on a day before the day its end was recorded
  (less one: no business time zone is a day behind UTC) is forgotten: no
  reader from that day on can see it in force. ``stage_counts`` counts the
  last stages by (status, since_on). So the stage clock and the waiting list
  answer from today on, never for a past day.

What reads cost: a count reads its viewer's (status, group) rows and the
changes dated after the day asked (for today, those dated ahead; for a past
day, the rest of its month's days and the months since); the stage clock adds the last stages begun
in the last 90 days (per status and day, not per contract) and the stages
ending ahead; a waiting page is one index range of ``limit + 1`` rows. What
writing costs: a status move adds to about ``2 x (1 + chain length)^2``
counters (each viewer key by each group, old and new status) and as many
day and month changes; a batch sums them per key before its one upsert.

A viewer key is ``*`` (auditors and sync peers: every contract) or a party
on the contract's chain (its carrier staff, agency admins, advisor), exactly
as ``GET /contracts`` shows contracts (``projections/viewer.py``). Groups:
``status`` (one group), ``carrier`` (the chain's first party, the contract's
``carrier_id``), ``advisor`` (none for a direct relationship) and
``agency`` (each agency on the chain, ``Contract.agencies``: a contract
counts once under each, as ``GET /contracts?party_id=`` lists it).
"""

from __future__ import annotations

from datetime import date, timedelta, timezone
from typing import Any, Literal
from uuid import UUID

import msgspec

from contractledger.domain.contract import DIRECT_RELATIONSHIP, Contract
from contractledger.domain.status import Status
from contractledger.projections.contract_status import CREATIONS, STATUS_MOVES, status_after
from contractledger.projections.engine.queries import Reading, merged_page, reading
from contractledger.projections.engine.rows import BufferedView, UpsertBuffer, date_text, id_from, id_text, json_from, json_text
from contractledger.projections.engine.view import handles
from contractledger.projections.engine.view_database import ViewDatabase, ViewTransaction
from contractledger.projections.viewer import Viewer

EVERY_CONTRACT = "*"
"""The viewer key of those who see every contract (auditors, sync peers)."""
GROUPINGS = ("status", "carrier", "agency", "advisor")
NO_GROUP = ""
"""The group of a contract with no party of the kind asked (a direct relationship has no advisor)."""
BEFORE_ANY_DAY = "0001-01-01"
AFTER_EVERY_DAY = "9999-12-31"


def groups_of(kind: str, chain: list[str]) -> dict[str, list[str]]:
    """The groups a contract counts in, per grouping (as ``Contract.agencies`` and ``advisor_id`` say)."""
    direct = kind == DIRECT_RELATIONSHIP
    agencies = chain[1:] if direct else chain[1:-1]
    return {
        "status": [NO_GROUP],
        "carrier": [chain[0]],
        "agency": agencies or [NO_GROUP],
        "advisor": [NO_GROUP if direct else chain[-1]],
    }


def viewer_keys(chain: list[str]) -> list[str]:
    return [EVERY_CONTRACT, *chain]


class Counters:
    """Counts changed by a batch, by key, added to the table's in one upsert at
    flush (nothing is read first). Every key touched is written, a change of
    zero too, so the rows are the same however the log is cut into batches."""

    def __init__(self, table: str, key_columns: tuple[str, ...]) -> None:
        self.table = table
        self.columns = (*key_columns, "contracts")
        self.on_conflict = (
            f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET contracts = {table}.contracts + excluded.contracts"
        )
        self.changes: dict[tuple[str, ...], int] = {}

    def add(self, key: tuple[str, ...], change: int) -> None:
        self.changes[key] = self.changes.get(key, 0) + change

    def flush(self, tx: ViewTransaction) -> None:
        tx.insert_rows(self.table, self.columns, [(*key, change) for key, change in self.changes.items()],
                       on_conflict=self.on_conflict)
        self.changes = {}

    def discard(self) -> None:
        self.changes = {}


class StageRows:
    """The rows of ``stages`` a batch sets or deletes, by key; written at flush."""

    COLUMNS = ("stage_key", "viewer_id", "contract_id", "status", "since_on", "from_on", "until_on")

    def __init__(self, table: str) -> None:
        self.table = table
        self.rows: dict[str, tuple[Any, ...] | None] = {}
        # a key is (viewer, contract, from_on): a stage begun and ended on one day is replaced by the next
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.COLUMNS[3:])
        self._on_conflict = f"ON CONFLICT (stage_key) DO UPDATE SET {updates}"

    def set(self, viewer: str, contract_id: str, stage: list[str]) -> None:
        from_on, since_on, until_on, status = stage
        key = f"{viewer}|{contract_id}|{from_on}"
        self.rows[key] = (key, viewer, contract_id, status, since_on, from_on, until_on)

    def delete(self, viewer: str, contract_id: str, stage: list[str]) -> None:
        self.rows[f"{viewer}|{contract_id}|{stage[0]}"] = None

    def flush(self, tx: ViewTransaction) -> None:
        gone = [key for key, row in self.rows.items() if row is None]
        for start in range(0, len(gone), 500):
            chunk = gone[start:start + 500]
            tx.execute(f"DELETE FROM {self.table} WHERE stage_key IN ({', '.join('?' for _ in chunk)})", chunk)
        kept = [row for row in self.rows.values() if row is not None]
        tx.insert_rows(self.table, self.COLUMNS, kept,
                       on_conflict=self._on_conflict)
        self.rows = {}

    def discard(self) -> None:
        self.rows = {}


class DashboardView(BufferedView):
    name = "dashboard"
    tables = ("dashboard_contracts", "status_counts", "status_count_changes", "status_count_months", "stages", "stage_counts")
    follows = (Contract,)
    ignores = (Contract.Event,)  # of contracts, only what moves a status counts here

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        t = self.t
        self.contracts: UpsertBuffer = self.buffer(
            UpsertBuffer, "dashboard_contracts", ("contract_id", "kind", "chain", "stages")
        )
        self.counts = Counters(t["status_counts"], ("viewer_id", "grouping", "status", "group_id"))
        self.changes = Counters(t["status_count_changes"], ("viewer_id", "grouping", "effective_on", "status", "group_id"))
        self.months = Counters(t["status_count_months"], ("viewer_id", "grouping", "month", "status", "group_id"))
        self.stage_counts = Counters(t["stage_counts"], ("viewer_id", "status", "since_on", "from_on"))
        self.stage_rows = StageRows(t["stages"])
        self.buffers.extend([self.counts, self.changes, self.months, self.stage_counts, self.stage_rows])  # type: ignore[list-item]
        self._counted: dict[tuple[str, ...], tuple[tuple[str, str, str], ...]] = {}

    def schema(self) -> list[str]:
        t = self.t
        return [
            f"CREATE TABLE IF NOT EXISTS {t['dashboard_contracts']} (contract_id KEY_TEXT PRIMARY KEY, kind TEXT NOT NULL,"
            " chain TEXT NOT NULL, stages TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t['status_counts']} (viewer_id KEY_TEXT NOT NULL, grouping TEXT NOT NULL,"
            " status TEXT NOT NULL, group_id KEY_TEXT NOT NULL, contracts INTEGER NOT NULL,"
            " PRIMARY KEY (viewer_id, grouping, status, group_id))",
            f"CREATE TABLE IF NOT EXISTS {t['status_count_changes']} (viewer_id KEY_TEXT NOT NULL, grouping TEXT NOT NULL,"
            " effective_on KEY_TEXT NOT NULL, status TEXT NOT NULL, group_id KEY_TEXT NOT NULL, contracts INTEGER NOT NULL,"
            " PRIMARY KEY (viewer_id, grouping, effective_on, status, group_id))",
            f"CREATE TABLE IF NOT EXISTS {t['status_count_months']} (viewer_id KEY_TEXT NOT NULL, grouping TEXT NOT NULL,"
            " month TEXT NOT NULL, status TEXT NOT NULL, group_id KEY_TEXT NOT NULL, contracts INTEGER NOT NULL,"
            " PRIMARY KEY (viewer_id, grouping, month, status, group_id))",
            f"CREATE TABLE IF NOT EXISTS {t['stages']} (stage_key TEXT PRIMARY KEY, viewer_id KEY_TEXT NOT NULL,"
            " contract_id KEY_TEXT NOT NULL, status TEXT NOT NULL, since_on KEY_TEXT NOT NULL, from_on KEY_TEXT NOT NULL,"
            " until_on KEY_TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t['stage_counts']} (viewer_id KEY_TEXT NOT NULL, status TEXT NOT NULL,"
            " since_on KEY_TEXT NOT NULL, from_on KEY_TEXT NOT NULL, contracts INTEGER NOT NULL,"
            " PRIMARY KEY (viewer_id, status, since_on, from_on))",
            # the waiting list: a viewer's contracts in a status, oldest stage first; the last stages only (an
            # ended stage stays until its contract moves again: walking those too read most of a big book's)
            f"CREATE INDEX IF NOT EXISTS {t['stages']}_waiting_last ON {t['stages']} (viewer_id, status, since_on, contract_id)"
            f" WHERE until_on = '{AFTER_EVERY_DAY}'",
            f"DROP INDEX IF EXISTS {t['stages']}_waiting",
            # the stages ended by a change dated ahead, still in force on the day asked
            f"CREATE INDEX IF NOT EXISTS {t['stages']}_ending ON {t['stages']} (viewer_id, until_on)",
            # the stage clock's recent buckets: the last stages begun since a day, of which some contract is still
            # in (most days' pending stages are soon left: their counts fall to zero and leave this index)
            f"CREATE INDEX IF NOT EXISTS {t['stage_counts']}_since ON {t['stage_counts']} (viewer_id, since_on)"
            " WHERE contracts <> 0",
        ]

    def prefetch(self, tx: ViewTransaction, events: Any) -> None:
        self.contracts.load(
            tx, [id_text(e.originator_id) for _, e in events if isinstance(e, Contract.Event) and not isinstance(e, CREATIONS)]
        )

    @handles(*CREATIONS)
    def created(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        contract_id = id_text(e.originator_id)
        chain = [id_text(p) for p in e.chain]
        kind = DIRECT_RELATIONSHIP if isinstance(e, Contract.DirectRelationshipRequested) else "advisor"
        first = [BEFORE_ANY_DAY, date_text(e.effective_on), AFTER_EVERY_DAY, Status(e.status).value]
        self.contracts.add({"contract_id": contract_id, "kind": kind, "chain": json_text(chain), "stages": json_text([first])})
        self._count(kind, chain, first[3], +1)
        self._stage(contract_id, chain, first, +1)

    @handles(*STATUS_MOVES)
    def status_moved(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        row = self.contracts.get(tx, id_text(e.originator_id))
        contract_id, kind, chain = row["contract_id"], row["kind"], json_from(row["chain"])
        stages: list[list[str]] = json_from(row["stages"])
        effective_on, status = date_text(e.effective_on), status_after(e).value
        last = stages[-1]
        # counts: one less in the last status, one more in the new, from the change's date
        self._count(kind, chain, last[3], -1)
        self._count(kind, chain, status, +1)
        self._change(kind, chain, effective_on, last[3], -1)
        self._change(kind, chain, effective_on, status, +1)
        # stages: the last one ends on the change's date; kept while a day from
        # its recording on may still see it (stages ended before are forgotten)
        recorded_on = e.timestamp.astimezone(timezone.utc).date()
        forgotten_before = date_text(recorded_on - timedelta(days=1))  # no business day is earlier
        self._stage(contract_id, chain, last, -1)
        ended = [last[0], last[1], effective_on, last[3]]
        kept = [s for s in stages[:-1] if s[2] > forgotten_before]
        for stage in stages[:-1]:
            if stage not in kept:
                self._unstage(contract_id, chain, stage)
        if ended[2] > ended[0] and ended[2] > forgotten_before:
            kept.append(ended)
            for viewer in viewer_keys(chain):
                self.stage_rows.set(viewer, contract_id, ended)
        else:
            self._unstage(contract_id, chain, ended)
        new = [effective_on, effective_on, AFTER_EVERY_DAY, status]
        kept.append(new)
        self._stage(contract_id, chain, new, +1)
        row["stages"] = json_text(kept)

    def _count(self, kind: str, chain: list[str], status: str, change: int) -> None:
        counts = self.counts.changes  # added to in place: this runs for every key of every status move
        for viewer, grouping, group in self._counted_in(kind, chain):
            key = (viewer, grouping, status, group)
            counts[key] = counts.get(key, 0) + change

    def _change(self, kind: str, chain: list[str], effective_on: str, status: str, change: int) -> None:
        changes, months, month = self.changes.changes, self.months.changes, effective_on[:7]
        for viewer, grouping, group in self._counted_in(kind, chain):
            key = (viewer, grouping, effective_on, status, group)
            changes[key] = changes.get(key, 0) + change
            key = (viewer, grouping, month, status, group)
            months[key] = months.get(key, 0) + change

    def _counted_in(self, kind: str, chain: list[str]) -> tuple[tuple[str, str, str], ...]:
        """Every (viewer key, grouping, group) a contract counts in: worked out once per chain (chains recur)."""
        key = (kind, *chain)
        found = self._counted.get(key)
        if found is None:
            if len(self._counted) >= 10_000:
                self._counted.clear()
            found = self._counted[key] = tuple(
                (viewer, grouping, group)
                for grouping, groups in groups_of(kind, chain).items()
                for viewer in viewer_keys(chain)
                for group in groups
            )
        return found

    def _stage(self, contract_id: str, chain: list[str], stage: list[str], change: int) -> None:
        """A last stage begins (+1: its row, and counted) or stops being the last (-1: uncounted)."""
        from_on, since_on, _, status = stage
        for viewer in viewer_keys(chain):
            self.stage_counts.add((viewer, status, since_on, from_on), change)
            if change > 0:
                self.stage_rows.set(viewer, contract_id, stage)

    def _unstage(self, contract_id: str, chain: list[str], stage: list[str]) -> None:
        for viewer in viewer_keys(chain):
            self.stage_rows.delete(viewer, contract_id, stage)


# ---- reading ------------------------------------------------------------------------

AGE_BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 7), (8, 30), (31, 90), (91, None))
"""The stage clock's buckets, in whole days in the current status: 0-7, 8-30,
31-90 and over 90 (a status whose date is after the day asked counts as 0)."""
RECENT_DAYS = 90
Grouping = Literal["status", "carrier", "agency", "advisor"]


class StatusCount(msgspec.Struct, frozen=True):
    """How many contracts are in a status (in a carrier's, agency's or advisor's book, when grouped)."""

    status: Status
    group_id: UUID | None
    """The carrier, agency or advisor (none when grouped by status, or for a contract without one)."""
    contracts: int


class AgeBucket(msgspec.Struct, frozen=True):
    """How many contracts have been in the status from ``min_days`` to ``max_days`` whole days (no end: over 90)."""

    min_days: int
    max_days: int | None
    contracts: int


class StageAges(msgspec.Struct, frozen=True):
    """The stage clock of a status: its contracts by how long they have been in it (0-7, 8-30, 31-90, over 90 days)."""

    status: Status
    contracts: int
    buckets: tuple[AgeBucket, ...]


class DashboardCounts(msgspec.Struct, frozen=True):
    """The contracts you may see counted on a day, by status (and group), with the stage clock."""

    on: date
    by: Grouping
    counts: tuple[StatusCount, ...]
    """Each (status, group) with at least one contract, by status then group."""
    stage_clock: tuple[StageAges, ...] | None
    """Per status, how long its contracts have been in it on ``on`` (null for a day before today)."""


class WaitingContract(msgspec.Struct, frozen=True):
    """A contract in a status since ``status_since`` (the date the change that put it there took effect)."""

    contract_id: UUID
    status: Status
    status_since: date
    days_in_status: int


def _viewer_key(viewer: Viewer) -> str | None:
    if viewer.sees_every_contract:
        return EVERY_CONTRACT
    return id_text(viewer.party_id)


def read_counts(read: Reading, viewer: Viewer, by: str, on: date) -> dict[tuple[str, str], int]:
    """(status, group) -> contracts on ``on``: the counts once every change took
    effect, less the changes dated after ``on``: those of the rest of its month
    day by day, those of the months after it month by month (three index
    ranges; a day years back reads its month's days and the months since)."""
    key = _viewer_key(viewer)
    if key is None:
        return {}
    t = read.tables(DashboardView)
    found: dict[tuple[str, str], int] = {}
    for status, group, contracts in read.rows(
        f"SELECT status, group_id, contracts FROM {t['status_counts']}"
        " WHERE viewer_id = ? AND grouping = ? AND contracts <> 0",
        [key, by],
    ):
        found[(status, group)] = int(contracts)
    next_month = (on.replace(day=28) + timedelta(days=4)).replace(day=1)
    later = read.rows(
        f"SELECT status, group_id, contracts FROM {t['status_count_changes']}"
        " WHERE viewer_id = ? AND grouping = ? AND effective_on > ? AND effective_on < ?",
        [key, by, date_text(on), date_text(next_month)],
    )
    later += read.rows(
        f"SELECT status, group_id, contracts FROM {t['status_count_months']}"
        " WHERE viewer_id = ? AND grouping = ? AND month >= ?",
        [key, by, date_text(next_month)[:7]],
    )
    for status, group, contracts in later:
        found[(status, group)] = found.get((status, group), 0) - int(contracts)
    return {k: n for k, n in found.items() if n}


def _stages_in_force(read: Reading, key: str, on: date) -> list[tuple[str, str, int]]:
    """(status, since_on, contracts) of the stages in force on ``on`` begun at
    most RECENT_DAYS before it (or dated after it): the last stages, counted,
    and the few ended by a change dated after ``on``."""
    t = read.tables(DashboardView)
    day = date_text(on)
    recent = read.rows(
        f"SELECT status, since_on, from_on, contracts FROM {t['stage_counts']}"
        " WHERE viewer_id = ? AND since_on >= ? AND contracts <> 0",
        [key, date_text(on - timedelta(days=RECENT_DAYS))],
    )
    ending = read.rows(
        f"SELECT status, since_on, from_on, 1 FROM {t['stages']} WHERE viewer_id = ? AND until_on > ? AND until_on < ?",
        [key, day, AFTER_EVERY_DAY],
    )
    return [(status, since, int(n)) for status, since, from_on, n in (*recent, *ending) if from_on <= day and n]


def _bucket(days: int) -> int:
    return next(i for i, (_, top) in enumerate(AGE_BUCKETS) if top is None or days <= top)


def read_stage_clock(
    read: Reading, viewer: Viewer, on: date, by_status: dict[tuple[str, str], int] | None = None
) -> tuple[StageAges, ...]:
    """Per status, its contracts on ``on`` by age: the recent buckets from the
    stages begun in the last RECENT_DAYS, the oldest the rest of the status's
    count (``by_status``: those counts, when already read)."""
    key = _viewer_key(viewer)
    if key is None:
        return ()
    if by_status is None:
        by_status = read_counts(read, viewer, "status", on)
    totals = {status: n for (status, _), n in by_status.items()}
    recent: dict[str, list[int]] = {status: [0] * len(AGE_BUCKETS) for status in totals}
    oldest_recent = on - timedelta(days=RECENT_DAYS)
    for status, since, n in _stages_in_force(read, key, on):
        since_on = date.fromisoformat(since)
        if since_on < oldest_recent:
            continue  # an ending stage begun long ago: counted in the oldest bucket, as the rest
        recent.setdefault(status, [0] * len(AGE_BUCKETS))[_bucket(max(0, (on - since_on).days))] += n
    ages = []
    for status in sorted(totals):
        buckets = recent[status]
        buckets[-1] = totals[status] - sum(buckets[:-1])
        ages.append(StageAges(
            Status(status), totals[status],
            tuple(AgeBucket(low, high, n) for (low, high), n in zip(AGE_BUCKETS, buckets)),
        ))
    return tuple(ages)


def dashboard_counts(database: ViewDatabase, viewer: Viewer, *, by: Grouping, on: date, today: date) -> DashboardCounts:
    """Issue 14: the contracts ``viewer`` may see (as ``GET /contracts`` shows
    them), counted by status and ``by`` on ``on``; with the stage clock when
    ``on`` is ``today`` or later (stages ended before today are not kept)."""
    with reading(database) as read:
        counts = read_counts(read, viewer, by, on)
        clock = read_stage_clock(read, viewer, on, counts if by == "status" else None) if on >= today else None
    return DashboardCounts(
        on, by,
        tuple(StatusCount(Status(s), id_from(g or None), n) for (s, g), n in sorted(counts.items())),
        clock,
    )


def waiting_contracts(
    database: ViewDatabase, viewer: Viewer, status: Status, longer_than_days: int, *, on: date,
    after: tuple[date, UUID] | None = None, limit: int | None = None,
) -> list[WaitingContract]:
    """Issue 14: the contracts ``viewer`` may see in ``status`` on ``on`` (today
    or later) since more than ``longer_than_days`` days, oldest first (then by
    id): from ``after``, ``limit`` rows, read from the last stages' index range
    and the few stages a change dated after ``on`` ends."""
    key = _viewer_key(viewer)
    if key is None:
        return []
    t = DashboardView.live_table_names()
    day = date_text(on)
    # the last stages (their own index range, in its order), and the few ended by a change dated after ``on``
    # (their index on until_on), each cut to the page and merged; the end is a literal, as the partial index's
    chosen = f"SELECT contract_id, since_on FROM {t['stages']} WHERE viewer_id = ? AND status = ? AND since_on < ? AND from_on <= ?"
    params: list[Any] = [key, status.value, date_text(on - timedelta(days=longer_than_days)), day]
    if after is not None:
        chosen += " AND (since_on, contract_id) > (?, ?)"
        params += [date_text(after[0]), id_text(after[1])]
    cut, cut_params = ("", []) if limit is None else (" LIMIT ?", [limit])
    sql, params = merged_page([
        (f"{chosen} AND until_on = '{AFTER_EVERY_DAY}' ORDER BY since_on, contract_id{cut}", [*params, *cut_params]),
        (f"{chosen} AND until_on > ? AND until_on < '{AFTER_EVERY_DAY}' ORDER BY since_on, contract_id{cut}",
         [*params, day, *cut_params]),
    ], "since_on, contract_id", limit)
    with reading(database) as read:
        rows = read.rows(sql, params)
    return [
        WaitingContract(id_from(c), status, date.fromisoformat(s), (on - date.fromisoformat(s)).days)  # type: ignore[arg-type]
        for c, s in rows
    ]
