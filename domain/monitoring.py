"""Monitoring placed on an advisor's contract (rules §6).

A monitoring record belongs to one contract and to the party that placed it.
Its level says how closely the advisor is watched; levels 3 and 4 are public
to every party on the contract, levels 1 and 2 are private to the placing
party. Changing or removing a record never erases it: every add, change and
removal is an event, so the audit trail is the record's own history.

Reminder tasks (rules §8): placing a record opens a task for the placing party,
due on the reminder date. A change closes the open task; if the change moves
the reminder date, a new task opens for the new date. Removal closes the
task, and the placing party may close it by hand.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum
from uuid import UUID, uuid4

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate
from contractledger.domain.clock import Clock, today
from contractledger.domain.errors import InvalidInput, NotPermitted, RuleBroken
from contractledger.domain.vocabulary import Vocabulary


class MonitoringLevel(IntEnum):
    """How closely an advisor is watched: 1 New Advisor and 2 Internal Investigation are private to the
    placing party; 3 Coaching and 4 Close Supervision are public to every party on the contract."""

    NEW_ADVISOR = 1
    INTERNAL_INVESTIGATION = 2
    COACHING = 3
    CLOSE_SUPERVISION = 4

    @property
    def title(self) -> str:
        return _TITLES[self]

    @property
    def reasons(self) -> tuple[str, ...]:
        return _REASONS[self]

    @property
    def is_public(self) -> bool:
        return self >= MonitoringLevel.COACHING


_TITLES = {
    MonitoringLevel.NEW_ADVISOR: "New Advisor",
    MonitoringLevel.INTERNAL_INVESTIGATION: "Internal Investigation",
    MonitoringLevel.COACHING: "Coaching",
    MonitoringLevel.CLOSE_SUPERVISION: "Close Supervision",
}

_REASONS = {
    MonitoringLevel.NEW_ADVISOR: ("New to Industry",),
    MonitoringLevel.INTERNAL_INVESTIGATION: ("Internal Investigation",),
    MonitoringLevel.COACHING: ("Business Practices", "Procedures", "Sales"),
    MonitoringLevel.CLOSE_SUPERVISION: (
        "Carrier initiated",
        "MGA Initiated",
        "Regulatory Requirement",
    ),
}
REASONS = Vocabulary(
    "MonitoringReason",
    "Why monitoring is placed; each reason belongs to one level: New to Industry (1); Internal Investigation (2); "
    "Business Practices, Procedures, Sales (3); Carrier initiated, MGA Initiated, Regulatory Requirement (4).",
    tuple(reason for level in MonitoringLevel for reason in _REASONS[level]),
)


def monitoring_level(value: object) -> MonitoringLevel:
    """The level named by a caller's input (1 to 4)."""
    # bool is an int in Python; True must not quietly mean level 1.
    levels = [int(level) for level in MonitoringLevel]
    if isinstance(value, bool) or not isinstance(value, int) or value not in levels:
        raise InvalidInput(
            "monitoring.level_invalid",
            "Choose a monitoring level from 1 (New Advisor) to 4 (Close Supervision).",
            field="level",
        )
    return MonitoringLevel(value)


def ensure_reason_in_level(level: MonitoringLevel, reason: object) -> str:
    if reason not in level.reasons:
        allowed = ", ".join(level.reasons)
        raise RuleBroken(
            "monitoring.reason_not_in_level",
            f"Choose a reason that belongs to level {int(level)} ({level.title}): {allowed}.",
            field="reason",
        )
    return reason  # type: ignore[return-value]


def ensure_monitoring_date(value: object, field: str) -> date:
    # A datetime is a date subclass; a moment is not a business date.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(
            "monitoring.date_invalid",
            f"Give the {field.replace('_', ' ')} as a calendar date (YYYY-MM-DD).",
            field=field,
        )
    return value


class MonitoringRecord(LedgerAggregate):
    """One monitoring record on one contract, with its whole history.

    State (set only by the events): ``contract_id``, ``advisor_id``,
    ``placed_by`` (the party), ``level``, ``reason``, ``effective_on``,
    ``reminder_on``, ``removed_on`` (None while in place) and
    ``reminder_task_open``. No class annotations: the library would turn them
    into a constructor, and state comes from ``Placed`` alone.
    """

    class Placed(LedgerAggregate.Created):
        contract_id: UUID
        advisor_id: UUID
        placed_by: UUID
        level: int
        reason: str
        reminder_on: date

        def apply(self, record: "MonitoringRecord") -> None:
            record.contract_id = self.contract_id
            record.advisor_id = self.advisor_id
            record.placed_by = self.placed_by
            record._level = self.level
            record.reason = self.reason
            record.effective_on = self.effective_on
            record.reminder_on = self.reminder_on
            record.removed_on = None
            record.reminder_task_open = True

    class Changed(LedgerAggregate.Event):
        level: int
        reason: str
        reminder_on: date

        def apply(self, record: "MonitoringRecord") -> None:
            record.reminder_task_open = self.reminder_on != record.reminder_on
            record._level = self.level
            record.reason = self.reason
            record.effective_on = self.effective_on
            record.reminder_on = self.reminder_on

    class Removed(LedgerAggregate.Event):
        def apply(self, record: "MonitoringRecord") -> None:
            record.removed_on = self.effective_on
            record.reminder_task_open = False

    class ReminderTaskClosed(LedgerAggregate.Event):
        def apply(self, record: "MonitoringRecord") -> None:
            record.reminder_task_open = False

    @classmethod
    def place(
        cls,
        *,
        actor: Actor,
        clock: Clock,
        contract_id: UUID,
        advisor_id: UUID,
        level: object,
        reason: object,
        effective_on: object,
        reminder_on: object,
    ) -> "MonitoringRecord":
        """Place monitoring for ``actor``'s party; the caller checked the contract."""
        chosen = monitoring_level(level)
        return cls._create(
            cls.Placed,
            id=uuid4(),
            timestamp=clock.now(),
            actor=actor,
            effective_on=ensure_monitoring_date(effective_on, "effective_on"),
            contract_id=contract_id,
            advisor_id=advisor_id,
            placed_by=actor.party_id,
            level=int(chosen),
            reason=ensure_reason_in_level(chosen, reason),
            reminder_on=ensure_monitoring_date(reminder_on, "reminder_on"),
        )

    @property
    def level(self) -> MonitoringLevel:
        return MonitoringLevel(self._level)

    @property
    def is_public(self) -> bool:
        return self.level.is_public

    @property
    def is_removed(self) -> bool:
        return self.removed_on is not None

    def is_active_on(self, day: date) -> bool:
        """In force on ``day``: effective by then and not yet removed."""
        return self.effective_on <= day and (self.removed_on is None or day < self.removed_on)

    def change(
        self,
        *,
        actor: Actor,
        clock: Clock,
        level: object | None = None,
        reason: object | None = None,
        effective_on: object | None = None,
        reminder_on: object | None = None,
    ) -> None:
        """Change what the caller names; the rest stays as it is."""
        self._ensure_placed_by(actor, "change")
        self._ensure_not_removed()
        new_level = self.level if level is None else monitoring_level(level)
        new_reason = ensure_reason_in_level(new_level, self.reason if reason is None else reason)
        new_effective = (
            self.effective_on if effective_on is None else ensure_monitoring_date(effective_on, "effective_on")
        )
        new_reminder = (
            self.reminder_on if reminder_on is None else ensure_monitoring_date(reminder_on, "reminder_on")
        )
        if (new_level, new_reason, new_effective, new_reminder) == (
            self.level,
            self.reason,
            self.effective_on,
            self.reminder_on,
        ):
            raise RuleBroken(
                "monitoring.nothing_changed",
                "Nothing to change: give a new level, reason, effective date or reminder date.",
            )
        self.trigger_event(
            self.Changed,
            timestamp=clock.now(),
            actor=actor,
            effective_on=new_effective,
            level=int(new_level),
            reason=new_reason,
            reminder_on=new_reminder,
        )

    def remove(self, *, actor: Actor, clock: Clock, removed_on: object | None = None) -> None:
        """Remove the monitoring from ``removed_on`` (today by default); its history stays."""
        self._ensure_placed_by(actor, "remove")
        self._ensure_not_removed()
        self.trigger_event(
            self.Removed,
            timestamp=clock.now(),
            actor=actor,
            effective_on=today(clock) if removed_on is None else ensure_monitoring_date(removed_on, "removed_on"),
        )

    def close_reminder_task(self, *, actor: Actor, clock: Clock) -> None:
        self._ensure_placed_by(actor, "close the reminder task of")
        if not self.reminder_task_open:
            raise RuleBroken(
                "reminder.no_open_task",
                "This record has no open reminder task; change its reminder date to set a new one.",
            )
        self.trigger_event(self.ReminderTaskClosed, timestamp=clock.now(), actor=actor, effective_on=today(clock))

    def _ensure_placed_by(self, actor: Actor, doing: str) -> None:
        if actor.party_id != self.placed_by:
            raise NotPermitted(
                "monitoring.not_placed_by_you",
                f"Only the party that placed this monitoring can {doing} it; ask them to do it.",
            )

    def _ensure_not_removed(self) -> None:
        if self.is_removed:
            raise RuleBroken(
                "monitoring.removed",
                "This monitoring was removed and stays only as history; add a new monitoring record instead.",
            )
