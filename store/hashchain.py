"""The ledger's hash chain: what makes the history tamper-evident (rules §10).

Every stored event carries ``hash = H(previous hash, its own content)``, where
the content is its originator id, originator version, topic and state, and the
previous hash is that of the event before it in the ledger's order
(notification id). Changing, removing or reordering any stored event breaks the
chain at that point, and :func:`verify` names the first broken link.

Both stores compute hashes with :func:`link` so that one verifier proves either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, NamedTuple
from uuid import UUID

GENESIS = bytes(32)
"""The 'previous hash' of the very first event in a ledger."""


def link(
    previous: bytes,
    originator_id: UUID | str,
    originator_version: int,
    topic: str,
    state: bytes,
) -> bytes:
    """The hash of one event, chained onto the hash of the event before it."""
    digest = hashlib.sha256(previous)
    for field in (str(originator_id).encode(), str(originator_version).encode(), topic.encode()):
        # Length-prefixed, so that no two different field splits hash alike.
        digest.update(len(field).to_bytes(4, "big"))
        digest.update(field)
    digest.update(len(state).to_bytes(8, "big"))
    digest.update(state)
    return digest.digest()


class ChainedEvent(NamedTuple):
    """One stored event as the verifier reads it, in the ledger's order."""

    notification_id: int
    originator_id: UUID | str
    originator_version: int
    topic: str
    state: bytes
    stored_hash: bytes


@dataclass(frozen=True)
class Verdict:
    """The outcome of walking a ledger's hash chain."""

    intact: bool
    events_checked: int
    first_broken_notification_id: int | None = None

    def sentence(self) -> str:
        if self.intact:
            return f"intact: {self.events_checked} events, hash chain unbroken"
        return (
            f"BROKEN: the hash chain breaks at notification id "
            f"{self.first_broken_notification_id} (after {self.events_checked} intact events): "
            "that event, or the one before it, was changed, removed or reordered"
        )


class ChainWalker:
    """Checks the links of a ledger one event at a time, in the ledger's order:
    what :func:`verify` does, for a reader that does something with each event
    as it is proven (an export writes exactly the events whose links it checked).

    After the first broken link nothing later is proven: a tamperer can
    recompute every hash after the one it changed, so later links that match
    their stored hashes prove nothing."""

    def __init__(self) -> None:
        self.previous = GENESIS
        self.checked = 0
        self.first_broken_notification_id: int | None = None

    def check(self, event: ChainedEvent) -> bool:
        """True when ``event`` is proven: its link and every one before it hold."""
        if self.first_broken_notification_id is not None:
            return False
        expected = link(self.previous, event.originator_id, event.originator_version, event.topic, bytes(event.state))
        if expected != bytes(event.stored_hash):
            self.first_broken_notification_id = event.notification_id
            return False
        self.previous = expected
        self.checked += 1
        return True

    def verdict(self) -> Verdict:
        return Verdict(self.first_broken_notification_id is None, self.checked, self.first_broken_notification_id)


def verify(events: Iterable[ChainedEvent]) -> Verdict:
    """Walks events in the ledger's order and recomputes every link."""
    walker = ChainWalker()
    for event in events:
        if not walker.check(event):
            break
    return walker.verdict()


@dataclass(frozen=True)
class ChainLink:
    """One event's link in the chain: the hash of the event before it (in the
    ledger's order, whichever aggregate that was) and its own, as stored,
    and whether the chain proves it (its link and every one before it hold)."""

    notification_id: int
    previous_hash: bytes
    stored_hash: bytes
    proven: bool


@dataclass(frozen=True)
class SelectionProof:
    """What the chain proves of a selection of events (one contract's, say)."""

    links: dict[int, ChainLink]
    """By position, each selected event found in the ledger."""
    first_broken_notification_id: int | None
    """The first broken link at or before the last selected event."""

    @property
    def intact(self) -> bool:
        return self.first_broken_notification_id is None and all(link.proven for link in self.links.values())


def prove(events: Iterable[ChainedEvent], positions: Iterable[int]) -> SelectionProof:
    """Walks the chain from its first event to the last of ``positions`` (the
    chain is one for the whole ledger: an event is proven only by every link
    before it) and keeps the links of the events at ``positions``."""
    wanted = set(positions)
    last = max(wanted, default=0)
    walker = ChainWalker()
    links: dict[int, ChainLink] = {}
    previous_stored = GENESIS
    for event in events:
        if event.notification_id > last:
            break
        proven = walker.check(event)
        if event.notification_id in wanted:
            links[event.notification_id] = ChainLink(event.notification_id, previous_stored, bytes(event.stored_hash), proven)
        previous_stored = bytes(event.stored_hash)
    return SelectionProof(links, walker.first_broken_notification_id)
