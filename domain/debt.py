"""Debt logged against an advisor's contract (rules §6).

The ledger tracks debt; it is not a debt management system. A debt record is
private to the party that logged it until that party makes it public, which
it may do only while the debt is unresolved and at least five days after the
ledger recorded it (counted in business dates of the recorded timestamp, not
the debt's own effective date, so a back-dated debt cannot skip the wait).
Resolving a public debt leaves it public; closing makes it private again.

Debt is never deleted, and a closed debt is final: it stays as history of
what the advisor owed, and new debt is logged as a new record.

Reminder tasks (rules §8) follow the monitoring rule: logging opens a task due
on the reminder date; a change or closing closes it; a change that moves the
reminder date opens a new one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import Enum
from uuid import UUID, uuid4

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate
from contractledger.domain.clock import Clock, business_date, today
from contractledger.domain.errors import InvalidInput, NotPermitted, RuleBroken

DAYS_BEFORE_PUBLIC = 5
_CENT = Decimal("0.01")
# Beyond any real debt, and keeps cent arithmetic inside Decimal's precision.
_LARGEST_DIGITS = 15


class _Keep:
    """Marks a term a change leaves as it is (None already means "clear it")."""

    def __repr__(self) -> str:
        return "KEEP"

    __str__ = __repr__


KEEP = _Keep()


class DebtStatus(str, Enum):
    """Where a debt stands: unresolved (still owed; may be made public 5 days after it was recorded), resolved
    (settled), closed (kept as history and private again)."""

    UNRESOLVED = "unresolved"
    RESOLVED = "resolved"
    CLOSED = "closed"


def money(value: object, *, code: str, field: str, what: str) -> Decimal:
    """A positive amount with at most two decimal places, kept to the cent."""
    # bool is an int in Python; True is not one dollar.
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        amount = None
    else:
        try:
            # A float goes through its shortest repr so 12.5 stays 12.5.
            amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount <= 0
        or amount.as_tuple().exponent < -2
        or amount.adjusted() >= _LARGEST_DIGITS
    ):
        raise InvalidInput(
            code,
            f"Give the {what} as a positive amount with at most two decimal places, such as 1250.00.",
            field=field,
        )
    return amount.quantize(_CENT)


def debt_amount(value: object) -> Decimal:
    return money(value, code="debt.amount_invalid", field="amount", what="debt amount")


def debt_status(value: object) -> DebtStatus:
    try:
        return DebtStatus(value)
    except ValueError:
        raise InvalidInput(
            "debt.status_invalid",
            "Choose the debt status: unresolved, resolved or closed.",
            field="status",
        ) from None


def ensure_debt_date(value: object, field: str) -> date:
    # A datetime is a date subclass; a moment is not a business date.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(
            "debt.date_invalid",
            f"Give the {field.replace('_', ' ')} as a calendar date (YYYY-MM-DD).",
            field=field,
        )
    return value


def last_payment(last_paid_on: object, last_payment_amount: object) -> tuple[date | None, Decimal | None]:
    """The last payment as a pair: both given, or neither."""
    if last_paid_on is None and last_payment_amount is None:
        return None, None
    if last_paid_on is None:
        raise InvalidInput(
            "debt.last_paid_date_required",
            "Give the date of the last payment along with its amount.",
            field="last_paid_on",
        )
    if last_payment_amount is None:
        raise InvalidInput(
            "debt.last_payment_amount_required",
            "Give the amount of the last payment: it is required when a last-paid date is given.",
            field="last_payment_amount",
        )
    return (
        ensure_debt_date(last_paid_on, "last_paid_on"),
        money(
            last_payment_amount,
            code="debt.last_payment_amount_invalid",
            field="last_payment_amount",
            what="last payment amount",
        ),
    )


class DebtRecord(LedgerAggregate):
    """One debt on one contract, with its whole history.

    State (set only by the events): ``contract_id``, ``advisor_id``,
    ``logged_by`` (the party), ``amount``, ``status``, ``description``,
    ``effective_on``, ``reminder_on``, ``last_paid_on``,
    ``last_payment_amount``, ``is_public`` and ``reminder_task_open``.
    ``created_on`` is when the ledger recorded it. The status is kept as its
    text so a snapshot (plain JSON) restores it unchanged.
    """

    class Logged(LedgerAggregate.Created):
        contract_id: UUID
        advisor_id: UUID
        logged_by: UUID
        amount: Decimal
        status: str
        description: str | None
        reminder_on: date
        last_paid_on: date | None
        last_payment_amount: Decimal | None

        def apply(self, record: "DebtRecord") -> None:
            record.contract_id = self.contract_id
            record.advisor_id = self.advisor_id
            record.logged_by = self.logged_by
            record.amount = self.amount
            record._status = self.status
            record.description = self.description
            record.effective_on = self.effective_on
            record.reminder_on = self.reminder_on
            record.last_paid_on = self.last_paid_on
            record.last_payment_amount = self.last_payment_amount
            record.is_public = False
            record.reminder_task_open = True

    class Changed(LedgerAggregate.Event):
        """The whole new state of the debt's terms, so a reader needs no earlier event."""

        amount: Decimal
        status: str
        description: str | None
        reminder_on: date
        last_paid_on: date | None
        last_payment_amount: Decimal | None

        def apply(self, record: "DebtRecord") -> None:
            record.reminder_task_open = self.reminder_on != record.reminder_on
            record.amount = self.amount
            record._status = self.status
            record.description = self.description
            record.effective_on = self.effective_on
            record.reminder_on = self.reminder_on
            record.last_paid_on = self.last_paid_on
            record.last_payment_amount = self.last_payment_amount

    class MadePublic(LedgerAggregate.Event):
        def apply(self, record: "DebtRecord") -> None:
            record.is_public = True

    class Closed(LedgerAggregate.Event):
        def apply(self, record: "DebtRecord") -> None:
            record._status = DebtStatus.CLOSED.value
            record.is_public = False
            record.reminder_task_open = False

    class ReminderTaskClosed(LedgerAggregate.Event):
        def apply(self, record: "DebtRecord") -> None:
            record.reminder_task_open = False

    @classmethod
    def log(
        cls,
        *,
        actor: Actor,
        clock: Clock,
        contract_id: UUID,
        advisor_id: UUID,
        amount: object,
        effective_on: object,
        reminder_on: object,
        status: object = DebtStatus.UNRESOLVED,
        description: str | None = None,
        last_paid_on: object = None,
        last_payment_amount: object = None,
    ) -> "DebtRecord":
        """Log debt for ``actor``'s party; the caller checked the contract."""
        paid_on, paid_amount = last_payment(last_paid_on, last_payment_amount)
        return cls._create(
            cls.Logged,
            id=uuid4(),
            timestamp=clock.now(),
            actor=actor,
            effective_on=ensure_debt_date(effective_on, "effective_on"),
            contract_id=contract_id,
            advisor_id=advisor_id,
            logged_by=actor.party_id,
            amount=debt_amount(amount),
            status=debt_status(status).value,
            description=_description(description),
            reminder_on=ensure_debt_date(reminder_on, "reminder_on"),
            last_paid_on=paid_on,
            last_payment_amount=paid_amount,
        )

    @property
    def status(self) -> DebtStatus:
        return DebtStatus(self._status)

    @property
    def recorded_on(self) -> datetime:
        """When the ledger recorded the debt (the five-day wait counts from here)."""
        return self.created_on

    def first_day_it_may_be_public(self, clock: Clock) -> date:
        return business_date(clock, self.recorded_on) + timedelta(days=DAYS_BEFORE_PUBLIC)

    def change(
        self,
        *,
        actor: Actor,
        clock: Clock,
        amount: object = KEEP,
        status: object = KEEP,
        description: object = KEEP,
        effective_on: object = KEEP,
        reminder_on: object = KEEP,
        last_paid_on: object = KEEP,
        last_payment_amount: object = KEEP,
    ) -> None:
        """Change what the caller names; the rest stays as it is.

        ``description``, ``last_paid_on`` and ``last_payment_amount`` may be
        given as None to clear them, so "not given" has its own marker, KEEP.
        """
        keep = KEEP
        self._ensure_logged_by(actor, "change")
        self._ensure_not_closed()
        new_status = self.status if status is keep else debt_status(status)
        if new_status is DebtStatus.CLOSED:
            raise RuleBroken(
                "debt.close_by_closing",
                "To close a debt use close debt: it also makes the debt private again.",
                field="status",
            )
        paid_on, paid_amount = last_payment(
            self.last_paid_on if last_paid_on is keep else last_paid_on,
            self.last_payment_amount if last_payment_amount is keep else last_payment_amount,
        )
        terms = dict(
            amount=self.amount if amount is keep else debt_amount(amount),
            status=new_status.value,
            description=self.description if description is keep else _description(description),
            effective_on=self.effective_on if effective_on is keep else ensure_debt_date(effective_on, "effective_on"),
            reminder_on=self.reminder_on if reminder_on is keep else ensure_debt_date(reminder_on, "reminder_on"),
            last_paid_on=paid_on,
            last_payment_amount=paid_amount,
        )
        if terms == self._terms():
            raise RuleBroken(
                "debt.nothing_changed",
                "Nothing to change: give a new amount, status, description, date or last payment.",
            )
        self.trigger_event(self.Changed, timestamp=clock.now(), actor=actor, **terms)

    def make_public(self, *, actor: Actor, clock: Clock) -> None:
        self._ensure_logged_by(actor, "make public")
        if self.is_public:
            raise RuleBroken("debt.publish.already_public", "This debt is already public; nothing to do.")
        if self.status is not DebtStatus.UNRESOLVED:
            raise RuleBroken(
                "debt.publish.not_unresolved",
                f"Only unresolved debt can be made public; this debt is {self.status.value}.",
            )
        first_day = self.first_day_it_may_be_public(clock)
        if today(clock) < first_day:
            raise RuleBroken(
                "debt.publish.too_early",
                f"Debt can be made public {DAYS_BEFORE_PUBLIC} days after it was recorded; "
                f"try again on or after {first_day.isoformat()}.",
            )
        self.trigger_event(self.MadePublic, timestamp=clock.now(), actor=actor, effective_on=today(clock))

    def close(self, *, actor: Actor, clock: Clock, closed_on: object | None = None) -> None:
        """Close the debt from ``closed_on`` (today by default): it becomes private again."""
        self._ensure_logged_by(actor, "close")
        self._ensure_not_closed()
        self.trigger_event(
            self.Closed,
            timestamp=clock.now(),
            actor=actor,
            effective_on=today(clock) if closed_on is None else ensure_debt_date(closed_on, "closed_on"),
        )

    def close_reminder_task(self, *, actor: Actor, clock: Clock) -> None:
        self._ensure_logged_by(actor, "close the reminder task of")
        if not self.reminder_task_open:
            raise RuleBroken(
                "reminder.no_open_task",
                "This record has no open reminder task; change its reminder date to set a new one.",
            )
        self.trigger_event(self.ReminderTaskClosed, timestamp=clock.now(), actor=actor, effective_on=today(clock))

    def _terms(self) -> dict[str, object]:
        return dict(
            amount=self.amount,
            status=self.status.value,
            description=self.description,
            effective_on=self.effective_on,
            reminder_on=self.reminder_on,
            last_paid_on=self.last_paid_on,
            last_payment_amount=self.last_payment_amount,
        )

    def _ensure_logged_by(self, actor: Actor, doing: str) -> None:
        if actor.party_id != self.logged_by:
            raise NotPermitted(
                "debt.not_logged_by_you",
                f"Only the party that logged this debt can {doing} it; ask them to do it.",
            )

    def _ensure_not_closed(self) -> None:
        if self.status is DebtStatus.CLOSED:
            raise RuleBroken(
                "debt.closed",
                "This debt is closed and kept as history; log a new debt if more is owed.",
            )


def _description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("debt.description_invalid", "Give the description as text.", field="description")
    return value.strip() or None


def refuse_deletion() -> None:
    """Debt is never deleted (rules §6): the answer always points to closing."""
    raise RuleBroken(
        "debt.delete.refused",
        "Debt is never deleted; close it instead, which keeps its history and makes it private.",
    )
