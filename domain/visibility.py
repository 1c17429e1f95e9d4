"""Who may see a monitoring or debt record (SPEC 6).

Pure functions, so the read side applies the same rule to its rows as the
domain applies to its aggregates. A private record is seen by the party that
recorded it; a public one by every party on the contract's chain; auditors
(and the ledger itself) see everything. A party off the chain sees nothing,
even of public records.
"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from contractledger.domain.actor import Actor, Role
from contractledger.domain.debt import DebtRecord
from contractledger.domain.monitoring import MonitoringRecord


def sees_every_record(viewer: Actor) -> bool:
    return viewer.is_auditor or viewer.role is Role.SYSTEM


def may_see_record(viewer: Actor, *, recorded_by: UUID, public: bool, chain: Collection[UUID]) -> bool:
    """The rule shared by monitoring and debt, on plain values."""
    if sees_every_record(viewer):
        return True
    if viewer.party_id is None:
        return False
    if viewer.party_id == recorded_by:
        return True
    return public and viewer.party_id in chain


def may_see_monitoring(viewer: Actor, record: MonitoringRecord, chain: Collection[UUID]) -> bool:
    return may_see_record(viewer, recorded_by=record.placed_by, public=record.is_public, chain=chain)


def may_see_debt(viewer: Actor, record: DebtRecord, chain: Collection[UUID]) -> bool:
    return may_see_record(viewer, recorded_by=record.logged_by, public=record.is_public, chain=chain)
