"""Commands on monitoring, debt and reminder tasks (rules §6 and 8)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from msgspec import UNSET, UnsetType

from contractledger.domain import commands
from contractledger.domain.actor import Actor
from contractledger.domain.debt import DebtStatus
from contractledger.domain.monitoring import REASONS, MonitoringLevel
from contractledger.http.commands.answers import NewVersion, RecordPlaced
from contractledger.http.commands.bodies import Body
from contractledger.domain.inputs import Amount, Day, Prose
from contractledger.http.commands.route import CommandRoute
from contractledger.http.route_roles import ADMINS

MONITORING = "/monitoring/{record_id:uuid}"
DEBT = "/debts/{record_id:uuid}"


MonitoringReason = Literal[REASONS]  # type: ignore[valid-type]
"""Every level's reasons; that a reason belongs to its level is the domain's rule."""
Description = Prose(2000, "What the debt is for.")


class PlaceMonitoring(Body):
    level: MonitoringLevel
    reason: MonitoringReason
    effective_on: Day
    reminder_on: Day


class ChangeMonitoring(Body):
    level: MonitoringLevel | None = None
    reason: MonitoringReason | None = None
    effective_on: Day | None = None
    reminder_on: Day | None = None


class RemoveMonitoring(Body):
    removed_on: Day | None = None


class LogDebt(Body):
    amount: Amount
    """positive, two decimal places"""
    effective_on: Day
    reminder_on: Day
    status: DebtStatus = DebtStatus.UNRESOLVED
    description: Description | None = None
    last_paid_on: Day | None = None
    last_payment_amount: Amount | None = None


class ChangeDebt(Body):
    """Only the terms given change; null clears an optional one."""

    amount: Amount | UnsetType = UNSET
    status: DebtStatus | UnsetType = UNSET
    description: Description | None | UnsetType = UNSET
    effective_on: Day | UnsetType = UNSET
    reminder_on: Day | UnsetType = UNSET
    last_paid_on: Day | None | UnsetType = UNSET
    last_payment_amount: Amount | None | UnsetType = UNSET



class CloseDebt(Body):
    closed_on: Day | None = None


class NothingMore(Body):
    pass


def _monitoring_visible(ledger: Any, actor: Actor, record_id: UUID) -> None:
    ledger.monitoring_record(record_id, viewer=actor)


def _debt_visible(ledger: Any, actor: Actor, record_id: UUID) -> None:
    ledger.debt_record(record_id, viewer=actor)


def _record_visible(ledger: Any, actor: Actor, record_id: UUID) -> None:
    ledger.reminder_record(record_id, viewer=actor)


COMMANDS = (
    CommandRoute(
        "add_monitoring", "/contracts/{contract_id:uuid}/monitoring",
        "A party on an active contract places monitoring, with a reason of its level.",
        "oversight", PlaceMonitoring, commands.AddMonitoring, RecordPlaced, roles=ADMINS,
        location=lambda outcome: f"/monitoring/{outcome}",
    ),
    CommandRoute(
        "change_monitoring", f"{MONITORING}/change",
        "The party that placed monitoring changes its level, reason or dates.",
        "oversight", ChangeMonitoring, commands.ChangeMonitoring, NewVersion,
        roles=ADMINS, aggregate="record_id", visible=_monitoring_visible,
    ),
    CommandRoute(
        "remove_monitoring", f"{MONITORING}/remove",
        "The party that placed monitoring removes it; it stays in the audit trail.",
        "oversight", RemoveMonitoring, commands.RemoveMonitoring, NewVersion,
        roles=ADMINS, aggregate="record_id", visible=_monitoring_visible,
    ),
    CommandRoute(
        "log_debt", "/contracts/{contract_id:uuid}/debts",
        "A party on the contract logs debt, private to it.",
        "oversight", LogDebt, commands.LogDebt, RecordPlaced, roles=ADMINS,
        location=lambda outcome: f"/debts/{outcome}",
    ),
    CommandRoute(
        "change_debt", f"{DEBT}/change",
        "The party that logged a debt changes its terms (those not given stay as they are).",
        "oversight", ChangeDebt, commands.ChangeDebt, NewVersion,
        roles=ADMINS, aggregate="record_id", visible=_debt_visible,
    ),
    CommandRoute(
        "make_debt_public", f"{DEBT}/make-public",
        "While unresolved and at least 5 days after it was recorded, debt may be made public.",
        "oversight", NothingMore, commands.MakeDebtPublic, NewVersion,
        roles=ADMINS, aggregate="record_id", visible=_debt_visible,
    ),
    CommandRoute(
        "close_debt", f"{DEBT}/close", "Closing a debt makes it private again; it stays as history.",
        "oversight", CloseDebt, commands.CloseDebt, NewVersion,
        roles=ADMINS, aggregate="record_id", visible=_debt_visible,
    ),
    CommandRoute(
        "close_reminder_task", "/reminder-tasks/{record_id:uuid}/close",
        "The party that set a reminder date closes its task by hand (a monitoring or debt record's id).",
        "notifications", NothingMore, commands.CloseReminderTask, NewVersion,
        roles=ADMINS, aggregate="record_id", visible=_record_visible,
    ),
    CommandRoute(
        "delete_debt", DEBT, "Debt is never deleted; this is always refused with the advice to close it.",
        "oversight", None, commands.DeleteDebt, None, method="DELETE", roles=ADMINS,
    ),
)
