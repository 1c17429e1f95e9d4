"""Tasks and notifications per party (rules §8).

Tasks: a monitoring or debt reminder date is a task for the party that set
it, due on that date. It closes when the record is changed (a change that
moves the reminder date opens a new task for the new date), removed or
closed, or by hand, as the records themselves say (domain/monitoring.py,
domain/debt.py).

Notifications: each happening is offered to the parties it concerns, and
kept for those whose triggers (as configured when it happened) ask for its
kind. A notification about a monitoring or debt record is shown only while
the party may still see the record (rules §6), so a debt closed again leaves
the inboxes of the parties it had been made public to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from contractledger.domain.contract import Contract
from contractledger.domain.debt import DebtRecord
from contractledger.domain.monitoring import MonitoringLevel, MonitoringRecord
from contractledger.domain.triggers import NotificationKind as Kind
from contractledger.domain.triggers import TriggerSettings, trigger_settings_id
from contractledger.projections.contract_status import CREATIONS, STATUS_MOVES, status_after
from contractledger.projections.oversight_records import record_visible_now
from contractledger.projections.engine.queries import Reading, business_today, reading
from contractledger.projections.engine.rows import (
    AppendBuffer,
    BufferedView,
    UpsertBuffer,
    date_from,
    date_text,
    id_from,
    id_text,
    instant_text,
    json_from,
    json_text,
)
from contractledger.projections.transfer_requests import request_details
from contractledger.projections.engine.view import handles
from contractledger.projections.engine.view_database import ViewDatabase, ViewTransaction
from contractledger.projections.viewer import Viewer

TASK_COLUMNS = ("task_id", "party_id", "record_id", "subject", "contract_id", "due_on", "opened_at", "closed_at", "closed_by")
RECORD_COLUMNS = ("record_id", "subject", "party_id", "contract_id", "reminder_on", "open_task_id")
NOTIFICATION_COLUMNS = (
    "party_id", "notification_id", "kind", "contract_id", "record_id", "event", "recorded_at", "effective_on", "details",
)
_STATUS_KINDS = {
    Contract.Downgraded: Kind.CONTRACT_DOWNGRADED,
    Contract.Terminated: Kind.CONTRACT_TERMINATED,
    Contract.ConsolidatedInto: Kind.CONTRACT_TERMINATED,
    Contract.Reactivated: Kind.CONTRACT_REACTIVATED,
    Contract.TransferRescinded: Kind.TRANSFER_REQUEST_DECIDED,
    Contract.TransferDenied: Kind.TRANSFER_REQUEST_DECIDED,
    Contract.TransferFellThrough: Kind.TRANSFER_REQUEST_DECIDED,
}


# Tables of at most this many rows are read into memory once per runner.
PRELOAD_LIMIT = 300_000


class TasksAndNotificationsView(BufferedView):
    name = "tasks_and_notifications"
    tables = ("tasks", "task_records", "notifications", "contract_chains", "triggers")
    follows = (TriggerSettings, Contract, MonitoringRecord, DebtRecord)
    ignores = (Contract.Event,)  # of contracts, what a trigger may tell of

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.tasks: UpsertBuffer = self.buffer(UpsertBuffer, "tasks", TASK_COLUMNS)
        self.records: UpsertBuffer = self.buffer(UpsertBuffer, "task_records", RECORD_COLUMNS)
        self.notifications: AppendBuffer = self.buffer(AppendBuffer, "notifications", NOTIFICATION_COLUMNS)
        self.new_chains: AppendBuffer = self.buffer(AppendBuffer, "contract_chains", ("contract_id", "advisor_id", "chain"))
        self.triggers: UpsertBuffer = self.buffer(UpsertBuffer, "triggers", ("settings_id", "party_id", "kinds"))
        # chains never change: remembered across batches
        self._chains: dict[str, list[str]] = {}
        # the parties on every contract of an advisor, once asked for: read
        # from the table once, then kept up to date as contracts are created
        self._parties_of_advisor: dict[str, dict[str, None]] = {}
        # chains created in this batch, not yet in the table
        self._pending_chains: dict[str, list[list[str]]] = {}
        self._settings_ids: dict[str, str] = {}
        self._kinds: dict[str, frozenset[str]] = {}
        # every chain (and every advisor's parties) in memory: no lookups
        self._chains_complete = False
        self._preloaded = False

    def forget(self) -> None:
        super().forget()
        self._chains.clear()
        self._parties_of_advisor.clear()
        self._pending_chains.clear()
        self._chains_complete = False
        self._preloaded = False

    def prefetch(self, tx: ViewTransaction, events: Any) -> None:
        if not self._preloaded:
            self._preload(tx)

    def _preload(self, tx: ViewTransaction) -> None:
        """Once per runner: the trigger settings and the contracts' chains in
        memory, when there are not too many, so that the many lookups of
        parties without settings and of chains cost no query."""
        self._preloaded = True
        self.triggers.load_all(tx, PRELOAD_LIMIT)
        tx.execute(f"SELECT COUNT(*) FROM {self.t['contract_chains']}")
        if tx.fetchone()[0] > PRELOAD_LIMIT:  # type: ignore[index]
            return
        tx.execute(f"SELECT contract_id, advisor_id, chain FROM {self.t['contract_chains']}")
        parties: dict[str, dict[str, None]] = {}
        for contract_id, advisor_id, chain_text in tx.fetchall():
            chain = self._chains.get(contract_id) or json_from(chain_text)
            self._chains[contract_id] = chain
            if advisor_id is not None:
                parties.setdefault(advisor_id, {}).update(dict.fromkeys(chain))
        for advisor_id, pending in self._pending_chains.items():
            for chain in pending:
                parties.setdefault(advisor_id, {}).update(dict.fromkeys(chain))
        self._parties_of_advisor = parties
        self._chains_complete = True

    def flush(self, tx: ViewTransaction) -> None:
        super().flush(tx)
        self._pending_chains.clear()

    def schema(self) -> list[str]:
        t = self.t
        return [
            f"CREATE TABLE IF NOT EXISTS {t['tasks']} (task_id KEY_TEXT PRIMARY KEY, party_id KEY_TEXT NOT NULL,"
            " record_id KEY_TEXT NOT NULL, subject TEXT NOT NULL, contract_id KEY_TEXT NOT NULL, due_on KEY_TEXT NOT NULL,"
            " opened_at KEY_TEXT NOT NULL, closed_at KEY_TEXT, closed_by TEXT)",
            # the order of every list of tasks, a party's or (for auditors) all: a page is a range of one of these
            f"CREATE INDEX IF NOT EXISTS {t['tasks']}_party_due ON {t['tasks']} (party_id, due_on, task_id)",
            f"CREATE INDEX IF NOT EXISTS {t['tasks']}_due ON {t['tasks']} (due_on, task_id)",
            # a party's reminders among its notifications, in the order of their ids
            f"CREATE INDEX IF NOT EXISTS {t['tasks']}_party_task ON {t['tasks']} (party_id, task_id)",
            f"CREATE TABLE IF NOT EXISTS {t['task_records']} (record_id KEY_TEXT PRIMARY KEY, subject TEXT NOT NULL,"
            " party_id KEY_TEXT NOT NULL, contract_id KEY_TEXT NOT NULL, reminder_on KEY_TEXT NOT NULL, open_task_id KEY_TEXT)",
            f"CREATE TABLE IF NOT EXISTS {t['notifications']} (party_id KEY_TEXT NOT NULL, notification_id BIGINT NOT NULL,"
            " kind TEXT NOT NULL, contract_id KEY_TEXT, record_id KEY_TEXT, event TEXT NOT NULL, recorded_at KEY_TEXT NOT NULL,"
            " effective_on KEY_TEXT, details TEXT NOT NULL, PRIMARY KEY (party_id, notification_id, kind))",
            f"CREATE TABLE IF NOT EXISTS {t['contract_chains']} (contract_id KEY_TEXT PRIMARY KEY, advisor_id KEY_TEXT,"
            " chain TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t['contract_chains']}_advisor ON {t['contract_chains']} (advisor_id)",
            f"CREATE TABLE IF NOT EXISTS {t['triggers']} (settings_id KEY_TEXT PRIMARY KEY, party_id KEY_TEXT NOT NULL,"
            " kinds TEXT NOT NULL)",
        ]

    # -- triggers -------------------------------------------------------------------

    @handles(TriggerSettings.Configured)
    def configured(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self.triggers.add(
            {"settings_id": id_text(e.originator_id), "party_id": id_text(e.party_id), "kinds": json_text(sorted(e.kinds))}
        )

    @handles(TriggerSettings.Reconfigured)
    def reconfigured(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self.triggers.get(tx, id_text(e.originator_id))["kinds"] = json_text(sorted(e.kinds))

    def _wants(self, tx: ViewTransaction, party_id: str, kind: Kind) -> bool:
        # the settings live at an id derived from the party (domain/triggers.py)
        settings_id = self._settings_ids.get(party_id)
        if settings_id is None:
            settings_id = self._settings_ids[party_id] = id_text(trigger_settings_id(UUID(party_id)))
        row = self.triggers.find(tx, settings_id)
        if row is None:
            return False
        kinds = self._kinds.get(row["kinds"])
        if kinds is None:
            kinds = self._kinds[row["kinds"]] = frozenset(json_from(row["kinds"]))
        return kind.value in kinds

    def _notify(self, tx: ViewTransaction, parties: Iterable[str], kind: Kind, e: Any, notification_id: int,
                contract_id: str | None, record_id: str | None = None, details: dict[str, Any] | None = None) -> None:
        for party_id in dict.fromkeys(parties):
            if self._wants(tx, party_id, kind):
                self.notifications.append(
                    party_id, notification_id, kind.value, contract_id, record_id, type(e).__name__,
                    instant_text(e.timestamp), date_text(e.effective_on), json_text(details or {}),
                )

    # -- contracts ------------------------------------------------------------------

    def _chain(self, tx: ViewTransaction, contract_id: str) -> list[str]:
        chain = self._chains.get(contract_id)
        if chain is None:
            tx.execute(f"SELECT chain FROM {self.t['contract_chains']} WHERE contract_id = ?", (contract_id,))
            chain = self._chains[contract_id] = json_from(tx.fetchone()[0])
        return chain

    @handles(*CREATIONS)
    def contract_created(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        contract_id = id_text(e.originator_id)
        chain = [id_text(p) for p in e.chain]
        self._chains[contract_id] = chain
        advisor_id = None if isinstance(e, Contract.DirectRelationshipRequested) else chain[-1]
        self.new_chains.append(contract_id, advisor_id, json_text(chain))
        if advisor_id is not None:
            self._pending_chains.setdefault(advisor_id, []).append(chain)
            known = self._parties_of_advisor.get(advisor_id)
            if known is None and self._chains_complete:
                known = self._parties_of_advisor[advisor_id] = {}
            if known is not None:
                known.update(dict.fromkeys(chain))
        self._notify(tx, chain, Kind.CONTRACT_ASSIGNED, e, notification_id, contract_id, details={"status": e.status})

    @handles(*STATUS_MOVES, Contract.TransferAccepted)
    def contract_changed(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        contract_id = id_text(e.originator_id)
        chain = self._chain(tx, contract_id)
        if isinstance(e, Contract.TransferAccepted):
            self._notify(tx, chain, Kind.TRANSFER_REQUEST_DECIDED, e, notification_id, contract_id)
            return
        self._notify(tx, chain, Kind.STATUS_CHANGED, e, notification_id, contract_id, details={"status": status_after(e).value})
        if isinstance(e, Contract.TransferRequested):
            # the request itself (rules §5): the accepting entity decides from it, seeing nothing else of the contract
            request = request_details(e.originator_id, e.originator_version, chain, e)
            relinquishing, accepting = request["relinquishing_entity_id"], request["accepting_entity_id"]
            self._notify(tx, [relinquishing], Kind.TRANSFER_REQUESTED_ON_CONTRACT_I_RELINQUISH, e, notification_id,
                         contract_id, details=request)
            self._notify(tx, [accepting], Kind.NEW_TRANSFER_REQUEST_I_MAY_ACCEPT, e, notification_id, contract_id,
                         details=request)
        kind = _STATUS_KINDS.get(type(e))
        if kind is Kind.CONTRACT_DOWNGRADED:
            # public (rules §5): every party working with the advisor hears of it
            self._notify(tx, self._working_with(tx, chain[-1]), kind, e, notification_id, contract_id,
                         details={"advisor_id": chain[-1], "reason": e.reason})
        elif kind is not None:
            self._notify(tx, chain, kind, e, notification_id, contract_id)

    def _working_with(self, tx: ViewTransaction, advisor_id: str) -> list[str]:
        """Every party on a contract of the advisor (in the table, or created in this batch)."""
        parties = self._parties_of_advisor.get(advisor_id)
        if parties is None and self._chains_complete:
            return []
        if parties is None:
            tx.execute(f"SELECT chain FROM {self.t['contract_chains']} WHERE advisor_id = ?", (advisor_id,))
            chains = [json_from(c) for (c,) in tx.fetchall()] + self._pending_chains.get(advisor_id, [])
            parties = self._parties_of_advisor[advisor_id] = dict.fromkeys(p for chain in chains for p in chain)
        return list(parties)

    # -- records: tasks and their notifications ----------------------------------------

    @handles(MonitoringRecord.Placed, DebtRecord.Logged)
    def record_created(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        record_id, contract_id = id_text(e.originator_id), id_text(e.contract_id)
        monitoring = isinstance(e, MonitoringRecord.Placed)
        party_id = id_text(e.placed_by if monitoring else e.logged_by)
        record = self.records.add(
            {"record_id": record_id, "subject": "monitoring" if monitoring else "debt", "party_id": party_id,
             "contract_id": contract_id, "reminder_on": date_text(e.reminder_on), "open_task_id": None}
        )
        self._open_task(record, e)
        if monitoring:
            self._notify_about_monitoring(tx, Kind.MONITORING_ADDED, record, e, notification_id)
        else:
            self._notify(tx, [party_id], Kind.DEBT_LOGGED, e, notification_id, contract_id, record_id,
                         {"amount": str(e.amount)})

    @handles(MonitoringRecord.Changed, DebtRecord.Changed)
    def record_changed(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        record = self.records.get(tx, id_text(e.originator_id))
        self._close_task(tx, record, e, "record changed")
        if date_text(e.reminder_on) != record["reminder_on"]:
            record["reminder_on"] = date_text(e.reminder_on)
            self._open_task(record, e)
        if isinstance(e, MonitoringRecord.Changed):
            self._notify_about_monitoring(tx, Kind.MONITORING_CHANGED, record, e, notification_id)

    @handles(MonitoringRecord.Removed, DebtRecord.Closed)
    def record_ended(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        record = self.records.get(tx, id_text(e.originator_id))
        self._close_task(tx, record, e, "record removed" if isinstance(e, MonitoringRecord.Removed) else "debt closed")

    @handles(MonitoringRecord.ReminderTaskClosed, DebtRecord.ReminderTaskClosed)
    def closed_by_hand(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        self._close_task(tx, self.records.get(tx, id_text(e.originator_id)), e, "closed by hand")

    @handles(DebtRecord.MadePublic)
    def debt_made_public(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        record = self.records.get(tx, id_text(e.originator_id))
        chain = self._chain(tx, record["contract_id"])
        self._notify(tx, chain, Kind.DEBT_MADE_PUBLIC, e, notification_id, record["contract_id"], record["record_id"])

    def _notify_about_monitoring(self, tx: ViewTransaction, kind: Kind, record: dict[str, Any], e: Any, notification_id: int) -> None:
        level = MonitoringLevel(e.level)
        parties = self._chain(tx, record["contract_id"]) if level.is_public else [record["party_id"]]
        self._notify(tx, parties, kind, e, notification_id, record["contract_id"], record["record_id"], {"level": int(level)})

    def _open_task(self, record: dict[str, Any], e: Any) -> None:
        task_id = f"{record['record_id']}:{e.originator_version}"
        record["open_task_id"] = task_id
        self.tasks.add(
            {"task_id": task_id, "party_id": record["party_id"], "record_id": record["record_id"],
             "subject": record["subject"], "contract_id": record["contract_id"], "due_on": record["reminder_on"],
             "opened_at": instant_text(e.timestamp), "closed_at": None, "closed_by": None}
        )

    def _close_task(self, tx: ViewTransaction, record: dict[str, Any], e: Any, why: str) -> None:
        if record["open_task_id"] is None:
            return
        task = self.tasks.get(tx, record["open_task_id"])
        task["closed_at"], task["closed_by"] = instant_text(e.timestamp), why
        record["open_task_id"] = None


# ---- reading ------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    task_id: str
    party_id: UUID
    record_id: UUID
    subject: str
    contract_id: UUID
    due_on: date
    closed_by: str | None


@dataclass(frozen=True)
class Notification:
    party_id: UUID
    kind: Kind
    notification_id: int | None
    """The ledger position of the happening; None for a reminder due today."""
    contract_id: UUID | None
    record_id: UUID | None
    event: str
    effective_on: date | None
    details: dict[str, Any]


def tasks(
    database: ViewDatabase, viewer: Viewer, *, due_by: date | None = None, include_closed: bool = False,
    after: tuple[date, str] | None = None, limit: int | None = None,
) -> list[Task]:
    """rules §8: the viewer's party's reminder tasks (open ones unless
    ``include_closed``), due on or before ``due_by`` when given, soonest
    first (then by id). A task belongs to the party that set the reminder;
    auditors see every party's tasks. ``after`` (a task's due date and id)
    and ``limit`` read one page in SQL."""
    with reading(database) as read:
        return _read_tasks(read, viewer, due_by=due_by, include_closed=include_closed, after=after, limit=limit)


def _read_tasks(
    read: Reading, viewer: Viewer, *, due_by: date | None, include_closed: bool, after: tuple[date, str] | None = None,
    after_task: str | None = None, limit: int | None = None,
) -> list[Task]:
    """As ``tasks``; or, given ``after_task`` (a task id, or "" for the
    first), in the order of the tasks' ids after it."""
    t = read.tables(TasksAndNotificationsView)
    own, params = viewer.own_party_condition("party_id")
    sql = f"SELECT {', '.join(TASK_COLUMNS)} FROM {t['tasks']} WHERE {own}"
    if not include_closed:
        sql += " AND closed_at IS NULL"
    if due_by is not None:
        sql += " AND due_on <= ?"
        params.append(date_text(due_by))
    if after is not None:
        sql += " AND (due_on, task_id) > (?, ?)"  # a row value: the index is sought, not scanned to it
        params += [date_text(after[0]), after[1]]
    if after_task is not None:
        sql += " AND task_id > ? ORDER BY task_id"
        params.append(after_task)
    else:
        sql += " ORDER BY due_on, task_id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [
        Task(r["task_id"], UUID(r["party_id"]), UUID(r["record_id"]), r["subject"], UUID(r["contract_id"]),
             date_from(r["due_on"]), r["closed_by"])
        for r in (dict(zip(TASK_COLUMNS, row)) for row in read.rows(sql, params))
    ]


def notifications(
    database: ViewDatabase, viewer: Viewer, *, after: int = 0, on: date | None = None,
    page_after: tuple[int, str] | str | None = None, limit: int | None = None,
) -> list[Notification]:
    """rules §8: what the viewer's party asked its triggers for, after ledger
    position ``after``, in order; with the ``reminder_due`` trigger, each open
    task due by ``on`` (today by default) too, after them in the order of
    the tasks' ids. Notifications about a record the party may no longer see
    (rules §6) are left out.

    ``page_after`` (a notification's ledger position and kind, or a
    reminder's task id) and ``limit`` read one page in SQL: the ledger's
    notifications after it, then, if the page has room, the reminders."""
    if viewer.party_id is None:
        return []
    party = id_text(viewer.party_id)
    on = on or business_today()
    with reading(database) as read:
        t = read.tables(TasksAndNotificationsView)
        listed: list[Notification] = []
        if not isinstance(page_after, str):  # not yet among the reminders
            sql = (
                f"SELECT {', '.join('n.' + column for column in NOTIFICATION_COLUMNS)} FROM {t['notifications']} n"
                " WHERE n.party_id = ? AND n.notification_id > ?"
            )
            params: list[Any] = [party, after]
            if page_after is not None:
                sql += " AND (n.notification_id, n.kind) > (?, ?)"  # a row value: the key is sought
                params += [page_after[0], page_after[1]]
            trail = record_visible_now(read, viewer, "n.record_id")
            if trail is not None:
                sql += f" AND (n.record_id IS NULL OR {trail[0]})"
                params += trail[1]
            # the order of the primary key (party_id, notification_id, kind): a page is a range of it
            sql += " ORDER BY n.notification_id, n.kind" + ("" if limit is None else " LIMIT ?")
            rows = read.rows(sql, params if limit is None else [*params, limit])
            listed += [
                Notification(UUID(r["party_id"]), Kind(r["kind"]), int(r["notification_id"]), id_from(r["contract_id"]),
                             id_from(r["record_id"]), r["event"], date_from(r["effective_on"]), json_from(r["details"]))
                for r in (dict(zip(NOTIFICATION_COLUMNS, row)) for row in rows)
            ]
        room = None if limit is None else limit - len(listed)
        if room is None or room > 0:
            kinds = read.rows(f"SELECT kinds FROM {t['triggers']} WHERE party_id = ?", [party])
            if kinds and Kind.REMINDER_DUE.value in json_from(kinds[0][0]):
                due = _read_tasks(
                    read, viewer, due_by=on, include_closed=False,
                    after_task=page_after if isinstance(page_after, str) else "", limit=room,
                )
                listed += [
                    Notification(task.party_id, Kind.REMINDER_DUE, None, task.contract_id, task.record_id, "ReminderDue",
                                 task.due_on, {"task_id": task.task_id, "subject": task.subject})
                    for task in due
                ]
    return listed
