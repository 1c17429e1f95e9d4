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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple
from uuid import UUID

GENESIS = bytes(32)
"""The 'previous hash' of the very first event in a ledger."""

CHECKPOINTS_TABLE = "chain_checkpoints"
"""Where the chain watch (projections/engine/chain_checkpoints.py) keeps the
hashes it witnessed, beside the ledger: position, and the hash as hex text."""


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
    checkpoints_agreed: int = 0
    """Of the hashes the chain watch witnessed, how many the walk met and computed alike."""
    unwitnessed_at: int | None = None
    """Where every link held but the hash was no longer the one the watch witnessed there."""

    def sentence(self) -> str:
        if self.intact:
            agreed = f"; the {self.checkpoints_agreed} checkpoints of the chain watch agree" if self.checkpoints_agreed else ""
            return f"intact: {self.events_checked} events, hash chain unbroken{agreed}"
        if self.unwitnessed_at is not None:
            return (
                f"BROKEN: at notification id {self.unwitnessed_at} every link holds but the hash is not the one "
                f"the chain watch witnessed there (after {self.events_checked} intact events): an event at or "
                "before it was changed and the hashes after it computed again"
            )
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

    def __init__(self, previous: bytes = GENESIS, witnessed: Mapping[int, bytes] | None = None) -> None:
        self.previous = previous
        self.checked = 0
        self.first_broken_notification_id: int | None = None
        self.witnessed = witnessed or {}
        self.agreed = 0
        self.unwitnessed_at: int | None = None

    def check(self, event: ChainedEvent) -> bool:
        """True when ``event`` is proven: its link and every one before it
        hold, and its hash is the one witnessed there, if one was."""
        if self.first_broken_notification_id is not None:
            return False
        expected = link(self.previous, event.originator_id, event.originator_version, event.topic, bytes(event.state))
        if expected != bytes(event.stored_hash):
            self.first_broken_notification_id = event.notification_id
            return False
        witnessed = self.witnessed.get(event.notification_id)
        if witnessed is not None:
            if witnessed != expected:
                self.first_broken_notification_id = self.unwitnessed_at = event.notification_id
                return False
            self.agreed += 1
        self.previous = expected
        self.checked += 1
        return True

    def verdict(self) -> Verdict:
        return Verdict(
            self.first_broken_notification_id is None, self.checked, self.first_broken_notification_id,
            self.agreed, self.unwitnessed_at,
        )


def verify(events: Iterable[ChainedEvent], witnessed: Mapping[int, bytes] | None = None) -> Verdict:
    """Walks events in the ledger's order and recomputes every link; where
    the chain watch witnessed a hash (``witnessed``, by position), the one
    computed must be it."""
    walker = ChainWalker(witnessed=witnessed)
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


class Checkpoint(NamedTuple):
    """A link of the chain witnessed by the ledger's verifier: the hash it
    computed for the event at ``position`` after walking every link before it
    unbroken from the first event (``chain_checkpoints`` keeps them apart from
    the events). A stretch of the chain between two checkpoints is proven by
    walking just that stretch: from the first one's hash, each link must hold,
    and the last must be the second one's hash."""

    position: int
    hash: bytes


ORIGIN = Checkpoint(0, GENESIS)
"""Where every chain starts: before its first event, the genesis hash."""


def prove(
    events: Iterable[ChainedEvent], positions: Iterable[int], start: Checkpoint = ORIGIN, end: Checkpoint | None = None
) -> SelectionProof:
    """Walks the chain from ``start`` (its first event, when not given) and
    keeps the links of the events at ``positions``: an event is proven only by
    every link before it, back to ``start``. Without ``end`` the walk stops at
    the last of ``positions``; with it, it goes on to ``end`` and the stretch
    is proven only if its last link is the hash witnessed there (a changed
    event whose later links were all computed again is caught so). ``events``
    are the ledger's in order; those at or before ``start`` are passed by."""
    wanted = set(positions)
    last = end.position if end is not None else max(wanted, default=0)
    walker = ChainWalker(start.hash)
    links: dict[int, ChainLink] = {}
    previous_stored = start.hash
    for event in events:
        if event.notification_id <= start.position:
            continue
        if event.notification_id > last:
            break
        proven = walker.check(event)
        if event.notification_id in wanted:
            links[event.notification_id] = ChainLink(event.notification_id, previous_stored, bytes(event.stored_hash), proven)
        previous_stored = bytes(event.stored_hash)
    broken = walker.first_broken_notification_id
    if end is not None and broken is None and previous_stored != end.hash:
        # every link holds, yet the stretch no longer ends in the witnessed hash: an event in it was changed
        # (or its last event removed) and the links after it computed again; none of the stretch is proven
        broken = end.position
        links = {position: replace(found, proven=False) for position, found in links.items()}
    return SelectionProof(links, broken)


def prove_in_stretches(
    read: Callable[[int, int], Iterable[ChainedEvent]],
    positions: Iterable[int],
    checkpoints: Callable[[int], tuple[Checkpoint, Checkpoint | None]],
) -> SelectionProof:
    """What the chain proves of the events at ``positions``, walking only the
    stretches that hold them: ``checkpoints(p)`` names the checkpoints around
    position ``p`` (the last one before it, :data:`ORIGIN` when none, and the
    first at or after it, None when the verifier has not got that far) and
    ``read(after, up_to)`` gives the ledger's events in that range. Each
    stretch is proven on its own (:func:`prove`), so a selection spread over a
    long ledger costs a few stretches, not the ledger."""
    stretches: dict[tuple[Checkpoint, Checkpoint | None], list[int]] = {}
    for position in sorted(set(positions)):
        stretches.setdefault(checkpoints(position), []).append(position)
    links: dict[int, ChainLink] = {}
    breaks = []
    for (start, end), held in stretches.items():
        up_to = end.position if end is not None else held[-1]
        proof = prove(read(start.position, up_to), held, start, end)
        links.update(proof.links)
        if proof.first_broken_notification_id is not None:
            breaks.append(proof.first_broken_notification_id)
    return SelectionProof(dict(sorted(links.items())), min(breaks, default=None))
