"""Who acts: the principal behind every command, recorded on every event."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID


class Role(str, Enum):
    """The role a principal acts in: agency_admin, carrier_staff or producer (a user of a party of that kind),
    auditor (reads everything, changes nothing), sync_peer (a connected system), operator (runs the service),
    system (the ledger itself)."""

    AGENCY_ADMIN = "agency_admin"
    CARRIER_STAFF = "carrier_staff"
    PRODUCER = "producer"
    AUDITOR = "auditor"
    SYNC_PEER = "sync_peer"
    OPERATOR = "operator"  # runs the service (rules §1): registers carriers and agencies, replays dead letters
    SYSTEM = "system"  # the ledger itself (e.g. a transfer completing)


@dataclass(frozen=True)
class Actor:
    """A user acting for a party (or an auditor, a sync peer, an operator, the system).

    ``party_id`` is the party the user acts for; auditors, peers and
    operators have none. ``user`` names the individual (or the peer system)
    for the audit trail. ``on_behalf_of`` is set on a sync peer relaying a
    workflow step taken in it (rules §9): the role of whoever took the step
    there (the producer who signed, the agency admin who reviewed); the peer
    stays the origin.
    """

    role: Role
    user: str
    party_id: UUID | None = None
    on_behalf_of: Role | None = None

    @property
    def is_auditor(self) -> bool:
        return self.role is Role.AUDITOR

    @classmethod
    def relaying(cls, peer: str, taken_by: Role) -> "Actor":
        """A sync peer relaying a step that ``taken_by`` took in the peer's system."""
        return cls(role=Role.SYNC_PEER, user=peer, on_behalf_of=taken_by)

    def relays_for(self, role: Role) -> bool:
        return self.role is Role.SYNC_PEER and self.on_behalf_of is role

    @classmethod
    def system(cls) -> "Actor":
        return cls(role=Role.SYSTEM, user="contractledger")
