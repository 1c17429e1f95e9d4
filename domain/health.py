"""Health status of an advisor or a corporation (rules §7).

Derived, never stored: the highest monitoring level in force and whether
unresolved debt exists, from the records on the contracts that concern the
party, counting only the records the viewer may see. Pure, on plain values,
so the read side computes it from its rows exactly as the domain does.

Which contracts concern a party: those on which it is the advisor, and, for
a corporation, those of every individual advisor associated with it. The
association is read from the individual's side only
(``corporations_of_individuals``: individual advisor -> corporations), which
is what makes the rule one-way: a corporate advisor's records never reach the
individuals associated with it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from contractledger.domain.actor import Actor
from contractledger.domain.debt import DebtRecord, DebtStatus
from contractledger.domain.monitoring import MonitoringLevel, MonitoringRecord
from contractledger.domain.visibility import may_see_record


@dataclass(frozen=True)
class MonitoringOnContract:
    """What health needs to know of one monitoring record and its contract."""

    record_id: UUID
    advisor_id: UUID
    chain: tuple[UUID, ...]
    placed_by: UUID
    level: MonitoringLevel
    effective_on: date
    removed_on: date | None

    @classmethod
    def of(cls, record: MonitoringRecord, chain: Iterable[UUID]) -> "MonitoringOnContract":
        return cls(
            record_id=record.id,
            advisor_id=record.advisor_id,
            chain=tuple(chain),
            placed_by=record.placed_by,
            level=record.level,
            effective_on=record.effective_on,
            removed_on=record.removed_on,
        )

    def is_active_on(self, day: date) -> bool:
        return self.effective_on <= day and (self.removed_on is None or day < self.removed_on)

    def visible_to(self, viewer: Actor) -> bool:
        return may_see_record(viewer, recorded_by=self.placed_by, public=self.level.is_public, chain=self.chain)


@dataclass(frozen=True)
class DebtOnContract:
    """What health needs to know of one debt record and its contract."""

    record_id: UUID
    advisor_id: UUID
    chain: tuple[UUID, ...]
    logged_by: UUID
    status: DebtStatus
    public: bool
    effective_on: date

    @classmethod
    def of(cls, record: DebtRecord, chain: Iterable[UUID]) -> "DebtOnContract":
        return cls(
            record_id=record.id,
            advisor_id=record.advisor_id,
            chain=tuple(chain),
            logged_by=record.logged_by,
            status=record.status,
            public=record.is_public,
            effective_on=record.effective_on,
        )

    def is_unresolved_on(self, day: date) -> bool:
        return self.status is DebtStatus.UNRESOLVED and self.effective_on <= day

    def visible_to(self, viewer: Actor) -> bool:
        return may_see_record(viewer, recorded_by=self.logged_by, public=self.public, chain=self.chain)


@dataclass(frozen=True)
class HealthStatus:
    party_id: UUID
    on: date
    highest_monitoring_level: MonitoringLevel | None
    has_unresolved_debt: bool
    monitoring_record_ids: tuple[UUID, ...]
    """Every monitoring record in force on ``on``, not only the highest."""
    debt_record_ids: tuple[UUID, ...]
    """Every unresolved debt in effect on ``on``."""

    @property
    def contributing_record_ids(self) -> tuple[UUID, ...]:
        return self.monitoring_record_ids + self.debt_record_ids

    @property
    def is_clear(self) -> bool:
        return self.highest_monitoring_level is None and not self.has_unresolved_debt


def concerns(
    party_id: UUID, advisor_id: UUID, corporations_of_individuals: Mapping[UUID, Collection[UUID]]
) -> bool:
    """Whether a record on ``advisor_id``'s contract counts towards ``party_id``'s health."""
    return advisor_id == party_id or party_id in corporations_of_individuals.get(advisor_id, ())


def health_status(
    party_id: UUID,
    *,
    viewer: Actor,
    on: date,
    monitoring: Iterable[MonitoringOnContract],
    debts: Iterable[DebtOnContract],
    corporations_of_individuals: Mapping[UUID, Collection[UUID]],
) -> HealthStatus:
    """The health of ``party_id`` on ``on`` as ``viewer`` may know it."""

    def counts(advisor_id: UUID) -> bool:
        return concerns(party_id, advisor_id, corporations_of_individuals)

    in_force = [
        record
        for record in monitoring
        if counts(record.advisor_id) and record.is_active_on(on) and record.visible_to(viewer)
    ]
    owed = [
        record
        for record in debts
        if counts(record.advisor_id) and record.is_unresolved_on(on) and record.visible_to(viewer)
    ]
    return HealthStatus(
        party_id=party_id,
        on=on,
        highest_monitoring_level=max((record.level for record in in_force), default=None),
        has_unresolved_debt=bool(owed),
        monitoring_record_ids=tuple(sorted(record.record_id for record in in_force)),
        debt_record_ids=tuple(sorted(record.record_id for record in owed)),
    )
