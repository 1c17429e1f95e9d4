"""The one canonical status vocabulary (rules §3). Peers' names map onto it."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """A contract's status. Onboarding: pending_agency, pending_producer and pending_carrier (set by the
    workflow only); the holds pending_backgrounds, pending_new_business, awaiting_incoming_release and
    awaiting_outgoing_release (set by hand). Established: active. Lifecycle: transfer_requested, downgraded
    (public), vested (private), terminated (reactivated within 30 days, or not). Terminal, accepting no further
    change: declined, expired, withdrawn, consolidated, nullified."""

    PENDING_AGENCY = "pending_agency"
    PENDING_PRODUCER = "pending_producer"
    PENDING_CARRIER = "pending_carrier"
    PENDING_BACKGROUNDS = "pending_backgrounds"
    PENDING_NEW_BUSINESS = "pending_new_business"
    AWAITING_INCOMING_RELEASE = "awaiting_incoming_release"
    AWAITING_OUTGOING_RELEASE = "awaiting_outgoing_release"
    ACTIVE = "active"
    TRANSFER_REQUESTED = "transfer_requested"
    DOWNGRADED = "downgraded"
    VESTED = "vested"
    TERMINATED = "terminated"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    CONSOLIDATED = "consolidated"
    NULLIFIED = "nullified"


WORKFLOW = frozenset({Status.PENDING_AGENCY, Status.PENDING_PRODUCER, Status.PENDING_CARRIER})
"""Set by the onboarding workflow only, never by hand."""

ONBOARDING_HOLDS = frozenset(
    {
        Status.PENDING_BACKGROUNDS,
        Status.PENDING_NEW_BUSINESS,
        Status.AWAITING_INCOMING_RELEASE,
        Status.AWAITING_OUTGOING_RELEASE,
    }
)

PENDING = WORKFLOW | ONBOARDING_HOLDS
"""Not yet established: such a contract is declined, never terminated."""

MANUAL = ONBOARDING_HOLDS | frozenset(
    {Status.ACTIVE, Status.DECLINED, Status.EXPIRED, Status.WITHDRAWN}
)
"""What an admin may set by a status change."""

TERMINAL = frozenset(
    {Status.DECLINED, Status.EXPIRED, Status.WITHDRAWN, Status.CONSOLIDATED, Status.NULLIFIED}
)
"""Final: no further status change of any kind."""

ESTABLISHED_INACTIVE = frozenset({Status.DOWNGRADED, Status.VESTED})
"""Monitored but inactive; upgrade returns them to active."""
