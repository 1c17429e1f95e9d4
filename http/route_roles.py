"""Who may call a route, as data: each :class:`~contractledger.http.routing.Operation`
lists the roles whose tokens it serves, and the API document shows them
(``x-roles`` and a sentence closing the description).

Where the rule lives at the edge (operators' and sync peers' routes, the
auditor's exports, /metrics), the handler refuses by this same list. Where
it lives in the domain (who may change a contract, place a record, answer a
transfer: ``domain/permissions.py``), the list says what the domain allows,
and ``tests/integration/test_route_roles_http.py`` proves the two agree:
every role not listed is refused, every role listed is not.
"""

from __future__ import annotations

from collections.abc import Iterable

from contractledger.domain.actor import Role

EVERY_ROLE: tuple[Role, ...] = tuple(role for role in Role if role is not Role.SYSTEM)
"""Every role a token is issued for (no token acts as the ledger itself)."""
ADMINS: tuple[Role, ...] = (Role.AGENCY_ADMIN, Role.CARRIER_STAFF)
PARTY_USERS: tuple[Role, ...] = (*ADMINS, Role.PRODUCER)
CONTRACT_ADMINS: tuple[Role, ...] = (*ADMINS, Role.SYNC_PEER)
"""An admin of a party on the contract, or a sync peer, which acts as an admin of its primary owner."""
CONTRACT_READERS: tuple[Role, ...] = (*PARTY_USERS, Role.AUDITOR, Role.SYNC_PEER)
"""Who may read a contract: its parties, auditors and sync peers; operators read none (they run the service)."""
RECORD_READERS: tuple[Role, ...] = (*PARTY_USERS, Role.AUDITOR)
"""Who may read a monitoring or debt record, or a transfer request: parties and auditors, not sync peers."""

NAMES = {
    Role.AGENCY_ADMIN: "agency admins",
    Role.CARRIER_STAFF: "carrier staff",
    Role.PRODUCER: "producers",
    Role.AUDITOR: "auditors",
    Role.SYNC_PEER: "sync peers",
    Role.OPERATOR: "operators",
}


def who_may_call(roles: Iterable[Role], public: bool = False) -> str:
    """The sentence closing an operation's description: ``Who may call: agency admins, carrier staff.``"""
    if public:
        return "Who may call: anyone, without a token."
    named = [NAMES[role] for role in EVERY_ROLE if role in set(roles)]
    return "Who may call: " + (", ".join(named) if named else "nobody") + "."
