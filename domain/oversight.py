"""Oversight use cases: monitoring, debt, triggers, reminder tasks, health (rules §6 to 8).

A mixin for the ledger's one Application class. It relies on what the ledger
provides: ``clock``, ``repository``, ``_load_contract``, ``_load_party`` and
``_run`` (idempotency by command id, one atomic save of what the use case
returns).

Decisions the rulebook (docs/rules.md) leaves open, made here:

- Monitoring and debt are placed by a party on the contract other than its
  advisor: they are about the advisor, who does not oversee themself.
- Only the party that placed a record changes or removes it (or makes it
  public, closes it, closes its reminder task). Another party on the
  contract that can see a public record is told it may not; one that cannot
  see the record is told it does not exist.
- Debt can be logged against a contract in any status (debt often outlives
  a termination); monitoring only on a contract active on today's business
  date, but existing monitoring can be changed or removed at any time.
- Health status gathers records through an index per advisor
  (``AdvisorRecordIndex``), saved with each new record, so the query loads
  only that advisor's records: O(records) for one advisor, not for the
  ledger. A corporation's health also needs the individual advisors
  associated with it; the party aggregates record associations on the
  individual's side only, so the caller names them (see ``health_status``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate
from contractledger.domain.clock import Clock, today
from contractledger.domain.command_handlers import Outcome, handles
from contractledger.domain.commands import (
    AddMonitoring,
    ChangeDebt,
    ChangeMonitoring,
    CloseDebt,
    CloseReminderTask,
    ConfigureTriggers,
    DeleteDebt,
    LogDebt,
    MakeDebtPublic,
    RemoveMonitoring,
)
from contractledger.domain.debt import DebtRecord, refuse_deletion
from contractledger.domain.errors import InvalidInput, NotFound, NotPermitted, RuleBroken
from contractledger.domain.health import DebtOnContract, HealthStatus, MonitoringOnContract, health_status
from contractledger.domain.monitoring import MonitoringRecord
from contractledger.domain.permissions import ensure_may_change, ensure_on_contract
from contractledger.domain.status import Status
from contractledger.domain.triggers import NotificationKind, TriggerSettings, notification_kinds, trigger_settings_id
from contractledger.domain.visibility import may_see_debt, may_see_monitoring

if TYPE_CHECKING:
    from eventsourcing.application import Repository

    from contractledger.domain.contract import Contract
    from contractledger.domain.party import Party

# Stored schema: changing it would orphan every advisor's index.
ADVISOR_RECORD_INDEX_NAMESPACE = UUID("0b9d8a7e-3c1f-4b52-8f6e-2d4a9c7b1e03")

_Record = TypeVar("_Record", MonitoringRecord, DebtRecord)


class AdvisorRecordIndex(LedgerAggregate):
    """The monitoring and debt records on one advisor's contracts, by id.

    Written in the same atomic save as each new record, so it is never
    behind. It only grows: removed monitoring and closed debt stay listed,
    because health as of a past date still needs them.
    """

    class Started(LedgerAggregate.Created):
        advisor_id: UUID

        def apply(self, index: "AdvisorRecordIndex") -> None:
            index.advisor_id = self.advisor_id
            index.monitoring_ids = []
            index.debt_ids = []

    class MonitoringIndexed(LedgerAggregate.Event):
        record_id: UUID

        def apply(self, index: "AdvisorRecordIndex") -> None:
            index.monitoring_ids = [*index.monitoring_ids, self.record_id]

    class DebtIndexed(LedgerAggregate.Event):
        record_id: UUID

        def apply(self, index: "AdvisorRecordIndex") -> None:
            index.debt_ids = [*index.debt_ids, self.record_id]

    @classmethod
    def start(cls, *, actor: Actor, clock: Clock, advisor_id: UUID) -> "AdvisorRecordIndex":
        return cls._create(
            cls.Started,
            id=advisor_record_index_id(advisor_id),
            timestamp=clock.now(),
            actor=actor,
            effective_on=today(clock),
            advisor_id=advisor_id,
        )

    def index_monitoring(self, record: MonitoringRecord, *, actor: Actor, clock: Clock) -> None:
        self.trigger_event(
            self.MonitoringIndexed, timestamp=clock.now(), actor=actor, effective_on=today(clock), record_id=record.id
        )

    def index_debt(self, record: DebtRecord, *, actor: Actor, clock: Clock) -> None:
        self.trigger_event(
            self.DebtIndexed, timestamp=clock.now(), actor=actor, effective_on=today(clock), record_id=record.id
        )


def advisor_record_index_id(advisor_id: UUID) -> UUID:
    return uuid5(ADVISOR_RECORD_INDEX_NAMESPACE, str(advisor_id))


class OversightUseCases:
    """Monitoring, debt, triggers, reminder tasks and health status."""

    clock: Clock
    repository: Repository
    _load_contract: Callable[[UUID], Contract]
    _load_party: Callable[[UUID], Party]
    _run: Callable[..., Any]

    # ----- monitoring (rules §6) -----

    @handles(AddMonitoring)
    def add_monitoring(self, actor: Actor, command: AddMonitoring) -> Outcome:
        """rules §6: monitoring is placed on an active contract by a party on it,
        with a reason that belongs to its level. Returns the record's id."""
        contract = self._contract_for_new_record(actor, command.contract_id, "monitoring")
        if contract.status_on(today(self.clock)) is not Status.ACTIVE:
            raise RuleBroken(
                "monitoring.contract_not_active",
                "Monitoring can be placed only on an active contract; "
                "change or remove the existing monitoring instead.",
                field="contract_id",
            )
        record = MonitoringRecord.place(
            actor=actor,
            clock=self.clock,
            contract_id=contract.id,
            advisor_id=contract.advisor_id,
            level=command.level,
            reason=command.reason,
            effective_on=command.effective_on,
            reminder_on=command.reminder_on,
        )
        index = self._advisor_record_index(actor, contract.advisor_id)
        index.index_monitoring(record, actor=actor, clock=self.clock)
        return record.id, [record, index]

    @handles(ChangeMonitoring)
    def change_monitoring(self, actor: Actor, command: ChangeMonitoring) -> Outcome:
        """rules §6: monitoring can be changed at any time by the party that placed
        it; the reason must still belong to the level. Returns the new version."""
        record = self._monitoring_to_act_on(actor, command.record_id)
        record.change(
            actor=actor,
            clock=self.clock,
            level=command.level,
            reason=command.reason,
            effective_on=command.effective_on,
            reminder_on=command.reminder_on,
        )
        return record.version, [record]

    @handles(RemoveMonitoring)
    def remove_monitoring(self, actor: Actor, command: RemoveMonitoring) -> Outcome:
        """rules §6: monitoring can be removed at any time by the party that placed
        it; the removal is an event and the record stays in the audit trail."""
        record = self._monitoring_to_act_on(actor, command.record_id)
        record.remove(actor=actor, clock=self.clock, removed_on=command.removed_on)
        return record.version, [record]

    # ----- debt (rules §6) -----

    @handles(LogDebt)
    def log_debt(self, actor: Actor, command: LogDebt) -> Outcome:
        """rules §6: debt is logged against a contract by a party on it, a positive
        amount with two places, private to that party; a last-paid date needs
        its amount. Returns the record's id."""
        contract = self._contract_for_new_record(actor, command.contract_id, "debt")
        record = DebtRecord.log(
            actor=actor,
            clock=self.clock,
            contract_id=contract.id,
            advisor_id=contract.advisor_id,
            amount=command.amount,
            effective_on=command.effective_on,
            reminder_on=command.reminder_on,
            status=command.status,
            description=command.description,
            last_paid_on=command.last_paid_on,
            last_payment_amount=command.last_payment_amount,
        )
        index = self._advisor_record_index(actor, contract.advisor_id)
        index.index_debt(record, actor=actor, clock=self.clock)
        return record.id, [record, index]

    @handles(ChangeDebt)
    def change_debt(self, actor: Actor, command: ChangeDebt) -> Outcome:
        """rules §6: the party that logged a debt changes its amount, status
        (unresolved or resolved; closing is ``close_debt``), description,
        effective and reminder dates, and last payment (its amount still
        required with its date). A closed debt is final. Terms not given stay
        as they are; None clears the optional ones. Returns the new version."""
        record = self._debt_to_act_on(actor, command.record_id)
        record.change(actor=actor, clock=self.clock, **command.terms())
        return record.version, [record]

    @handles(MakeDebtPublic)
    def make_debt_public(self, actor: Actor, command: MakeDebtPublic) -> Outcome:
        """rules §6: debt may be made public only while unresolved and at least 5
        days after the ledger recorded it. Returns the new version."""
        record = self._debt_to_act_on(actor, command.record_id)
        record.make_public(actor=actor, clock=self.clock)
        return record.version, [record]

    @handles(CloseDebt)
    def close_debt(self, actor: Actor, command: CloseDebt) -> Outcome:
        """rules §6: closing a debt makes it private again; the debt stays as
        history. Returns the new version."""
        record = self._debt_to_act_on(actor, command.record_id)
        record.close(actor=actor, clock=self.clock, closed_on=command.closed_on)
        return record.version, [record]

    @handles(DeleteDebt)
    def delete_debt(self, actor: Actor, command: DeleteDebt) -> Outcome:
        """rules §6: debt is never deleted; the refusal says to close it. A record
        the actor may not see is not found, so the refusal leaks nothing; as
        nothing is ever recorded, a command id is accepted and not kept."""
        self._debt_to_act_on(actor, command.record_id)
        refuse_deletion()

    # ----- reminder tasks (rules §8) -----

    @handles(CloseReminderTask)
    def close_reminder_task(self, actor: Actor, command: CloseReminderTask) -> Outcome:
        """rules §8: the party that set a reminder date closes its task by hand.
        ``record_id`` names a monitoring or a debt record. Returns the new version."""
        record = self._record_to_act_on(actor, command.record_id)
        record.close_reminder_task(actor=actor, clock=self.clock)
        return record.version, [record]

    # ----- triggers (rules §8) -----

    @handles(ConfigureTriggers)
    def configure_triggers(self, actor: Actor, command: ConfigureTriggers) -> Outcome:
        """rules §8: a party chooses which kinds of happening notify it. The
        choice replaces the previous one. Returns the names of the kinds now
        chosen, sorted (plain data, as a repeated command id answers it)."""
        chosen = notification_kinds(command.kinds)
        ensure_may_change(actor)
        party_id = _acting_party(actor, "configure triggers")
        self._load_party(party_id)
        settings = self._find(trigger_settings_id(party_id))
        if not isinstance(settings, TriggerSettings):
            settings = TriggerSettings.configure(actor=actor, clock=self.clock, party_id=party_id, kinds=chosen)
            return _names(settings.kinds), [settings]
        changed = settings.reconfigure(actor=actor, clock=self.clock, kinds=chosen)
        return _names(settings.kinds), [settings] if changed else []

    def triggers_of(self, party_id: UUID) -> frozenset[NotificationKind]:
        """The notification kinds a party chose; none until it configures them."""
        settings = self._find(trigger_settings_id(party_id))
        return settings.kinds if isinstance(settings, TriggerSettings) else frozenset()

    # ----- queries -----

    def monitoring_record(self, record_id: UUID, *, viewer: Actor | None = None) -> MonitoringRecord:
        """The monitoring record as it stands; with a viewer, only if it may see it (rules §6)."""
        record = self._get_record(record_id, MonitoringRecord, "monitoring")
        self._ensure_visible(viewer, record)
        return record

    def debt_record(self, record_id: UUID, *, viewer: Actor | None = None) -> DebtRecord:
        """The debt record as it stands; with a viewer, only if it may see it (rules §6)."""
        record = self._get_record(record_id, DebtRecord, "debt")
        self._ensure_visible(viewer, record)
        return record

    def reminder_record(self, record_id: UUID, *, viewer: Actor | None = None) -> MonitoringRecord | DebtRecord:
        """rules §8: the monitoring or debt record a reminder task belongs to. One the
        viewer may not see is not found exactly as one that does not exist (rules §6)."""
        record = self._find(record_id)
        if isinstance(record, (MonitoringRecord, DebtRecord)):
            try:
                self._ensure_visible(viewer, record)
                return record
            except NotFound:
                pass
        raise NotFound("reminder.record_not_found", "No monitoring or debt record has this id; check it.", "record_id")

    def monitoring_as_of(
        self, record_id: UUID, instant: datetime, *, viewer: Actor | None = None
    ) -> MonitoringRecord:
        """rules §10: the monitoring record as the ledger knew it at ``instant``."""
        record = self._record_as_of(record_id, instant, MonitoringRecord, "monitoring")
        self._ensure_visible(viewer, record)
        return record

    def debt_as_of(self, record_id: UUID, instant: datetime, *, viewer: Actor | None = None) -> DebtRecord:
        """rules §10: the debt record as the ledger knew it at ``instant``."""
        record = self._record_as_of(record_id, instant, DebtRecord, "debt")
        self._ensure_visible(viewer, record)
        return record

    def health_status(
        self,
        viewer: Actor,
        party_id: UUID,
        on: date | None = None,
        *,
        associated_advisor_ids: Iterable[UUID] = (),
    ) -> HealthStatus:
        """rules §7: the highest monitoring level in force and whether unresolved
        debt exists, from the records on the party's contracts that ``viewer``
        may see. For a corporation, name in ``associated_advisor_ids`` the
        individual advisors associated with it (the read side knows them);
        each one is checked against its own party record, and any that is
        not an associated individual is ignored, so naming too many changes
        nothing. Records on a corporate advisor's contracts never count for
        the individuals associated with it.
        """
        subject = self._load_party(party_id)
        if subject.kind != "advisor":
            raise RuleBroken(
                "health.not_an_advisor",
                "Health status belongs to advisors and corporations (corporate advisors); choose one of them.",
                field="party_id",
            )
        day = today(self.clock) if on is None else on
        corporations_of_individuals: dict[UUID, frozenset[UUID]] = {}
        advisors = {subject.id}
        if subject.kind == "advisor" and subject.advisor_kind == "individual":
            corporations_of_individuals[subject.id] = subject.corporations
        for advisor_id in set(associated_advisor_ids) - advisors:
            advisor = self._load_party(advisor_id)
            if advisor.advisor_kind == "individual" and subject.id in advisor.corporations:
                corporations_of_individuals[advisor.id] = advisor.corporations
                advisors.add(advisor.id)
        monitoring: list[MonitoringOnContract] = []
        debts: list[DebtOnContract] = []
        chains: dict[UUID, tuple[UUID, ...]] = {}
        for advisor_id in advisors:
            index = self._find_advisor_record_index(advisor_id)
            if index is None:
                continue
            for record_id in index.monitoring_ids:
                record = self.repository.get(record_id)
                monitoring.append(MonitoringOnContract.of(record, self._chain(record.contract_id, chains)))
            for record_id in index.debt_ids:
                record = self.repository.get(record_id)
                debts.append(DebtOnContract.of(record, self._chain(record.contract_id, chains)))
        return health_status(
            subject.id,
            viewer=viewer,
            on=day,
            monitoring=monitoring,
            debts=debts,
            corporations_of_individuals=corporations_of_individuals,
        )

    # ----- the rules every record use case shares -----

    def _contract_for_new_record(self, actor: Actor, contract_id: UUID, what: str) -> Contract:
        ensure_may_change(actor)
        contract = self._load_contract(contract_id)
        ensure_on_contract(actor, contract)
        # The ledger itself and sync peers pass ensure_on_contract without a
        # party; a record needs one to belong to.
        if actor.party_id is None or not contract.has_party(actor.party_id):
            raise NotPermitted(
                f"{what}.party_required",
                f"{what.capitalize()} is recorded by a party on the contract; act for one of them.",
            )
        if contract.advisor_id is None:
            raise RuleBroken(
                f"{what}.not_advisor_contract",
                f"{what.capitalize()} is recorded on an advisor's contract, not on a direct relationship "
                "between organisations; choose the advisor's contract.",
                field="contract_id",
            )
        if actor.party_id == contract.advisor_id:
            verb = "placed" if what == "monitoring" else "logged"
            raise NotPermitted(
                f"{what}.advisor_may_not_record",
                f"{what.capitalize()} is {verb} on the advisor by another party on the contract, "
                "not by the advisor; ask the carrier or an agency on the contract.",
            )
        return contract

    def _monitoring_to_act_on(self, actor: Actor, record_id: UUID) -> MonitoringRecord:
        ensure_may_change(actor)
        record = self._get_record(record_id, MonitoringRecord, "monitoring")
        self._ensure_visible(actor, record)
        return record

    def _debt_to_act_on(self, actor: Actor, record_id: UUID) -> DebtRecord:
        ensure_may_change(actor)
        record = self._get_record(record_id, DebtRecord, "debt")
        self._ensure_visible(actor, record)
        return record

    def _record_to_act_on(self, actor: Actor, record_id: UUID) -> MonitoringRecord | DebtRecord:
        ensure_may_change(actor)
        return self.reminder_record(record_id, viewer=actor)

    def _ensure_visible(self, viewer: Actor | None, record: MonitoringRecord | DebtRecord) -> None:
        if viewer is None:
            return
        chain = self._load_contract(record.contract_id).chain
        visible = (
            may_see_monitoring(viewer, record, chain)
            if isinstance(record, MonitoringRecord)
            else may_see_debt(viewer, record, chain)
        )
        if not visible:
            raise _not_found("monitoring" if isinstance(record, MonitoringRecord) else "debt")

    def _get_record(self, record_id: UUID, kind: type[_Record], what: str) -> _Record:
        record = self._find(record_id)
        if not isinstance(record, kind):
            raise _not_found(what)
        return record

    def _record_as_of(self, record_id: UUID, instant: datetime, kind: type[_Record], what: str) -> _Record:
        if not isinstance(instant, datetime) or instant.tzinfo is None:
            raise InvalidInput(
                "as_of.instant_invalid", "Give the instant with its time zone, such as 2026-01-31T17:00:00Z.", "instant"
            )
        record = None
        # Recorded time, not effective date: "as the ledger knew it then".
        for event in self.repository.event_store.get(record_id):
            if event.timestamp > instant:
                break
            record = event.mutate(record)
        if not isinstance(record, kind):
            raise _not_found(what)
        return record

    def _find(self, record_id: UUID) -> Aggregate | None:
        try:
            return self.repository.get(record_id)
        except AggregateNotFoundError:
            return None

    def _advisor_record_index(self, actor: Actor, advisor_id: UUID) -> AdvisorRecordIndex:
        index = self._find_advisor_record_index(advisor_id)
        if index is None:
            index = AdvisorRecordIndex.start(actor=actor, clock=self.clock, advisor_id=advisor_id)
        return index

    def _find_advisor_record_index(self, advisor_id: UUID) -> AdvisorRecordIndex | None:
        index = self._find(advisor_record_index_id(advisor_id))
        return index if isinstance(index, AdvisorRecordIndex) else None

    def _chain(self, contract_id: UUID, known: dict[UUID, tuple[UUID, ...]]) -> tuple[UUID, ...]:
        if contract_id not in known:
            known[contract_id] = tuple(self._load_contract(contract_id).chain)
        return known[contract_id]


def _not_found(what: str) -> NotFound:
    return NotFound(f"{what}.not_found", f"No {what} record has this id; check it.", "record_id")


def _names(kinds: Iterable[NotificationKind]) -> list[str]:
    return sorted(kind.value for kind in kinds)


def _acting_party(actor: Actor, doing: str) -> UUID:
    if actor.party_id is None:
        raise NotPermitted("triggers.party_required", f"Only a user acting for a party can {doing}; act for one.")
    return actor.party_id

