"""Who may see a monitoring or debt record (rules §6), and which of a
contract's details reach a viewer who is not one of its parties (rules §5, 9).

Pure functions, so the read side applies the same rule to its rows as the
domain applies to its aggregates. A private record is seen by the party that
recorded it; a public one by every party on the contract's chain; auditors
(and the ledger itself) see everything. A party off the chain sees nothing,
even of public records.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from contractledger.domain.actor import Actor, Role
from contractledger.domain.contract import Contract
from contractledger.domain.debt import DebtRecord
from contractledger.domain.monitoring import MonitoringRecord
from contractledger.domain.status import Status


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


# ---- a contract's private details ----------------------------------------------------

PUBLIC_REASONS = (Contract.Downgraded,)
"""The actions whose reason every viewer of the contract may know: a downgrade
is public (rules §5). A vest's reason is private to the contract's parties, and
so is a termination's (Market Conduct, Deceased, ...)."""
PUBLIC_REASON_STATUSES = (Status.DOWNGRADED,)
"""The statuses those actions move a contract to: the reason a status was reached is public only for these."""
PRIVATE_DETAILS = ("note", "documents", "advisor_profile")
"""What of any action only the contract's parties (and auditors) see."""


def sees_private_details(viewer: Actor, chain: Collection[UUID]) -> bool:
    """Whether a contract's private details reach ``viewer``: its parties and
    auditors (and the ledger) see them; a sync peer, which serves parties that
    are not on the contract, gets the status alone (rules §9)."""
    if sees_every_record(viewer):
        return True
    return viewer.party_id is not None and viewer.party_id in chain


def public_details(action: str, details: dict[str, Any]) -> dict[str, Any]:
    """An action's details (``action``: the event's name) as a viewer without the
    contract's private details sees them: no note, document or profile
    snapshot, and a reason only for a downgrade."""
    public_reason = action in {kind.__name__ for kind in PUBLIC_REASONS}
    hidden = PRIVATE_DETAILS if public_reason else (*PRIVATE_DETAILS, "reason")
    return {key: value for key, value in details.items() if key not in hidden}
