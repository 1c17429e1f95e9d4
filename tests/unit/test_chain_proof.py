"""Proving a selection of the ledger's events (one contract's) by the hash chain."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from uuid import uuid4

from contractledger.store.hashchain import (
    GENESIS, ORIGIN, ChainedEvent, Checkpoint, link, prove, prove_in_stretches, verify,
)


def chain(count: int) -> list[ChainedEvent]:
    events, previous = [], GENESIS
    for position in range(1, count + 1):
        aggregate = uuid4()
        stored = link(previous, aggregate, 1, "topic", b"state %d" % position)
        events.append(ChainedEvent(position, aggregate, 1, "topic", b"state %d" % position, stored))
        previous = stored
    return events


def test_each_selected_event_links_to_the_one_before_it_in_the_ledger() -> None:
    events = chain(6)
    proof = prove(events, [2, 5])
    assert proof.intact and set(proof.links) == {2, 5}
    assert proof.links[2].previous_hash == events[0].stored_hash and proof.links[2].stored_hash == events[1].stored_hash
    assert proof.links[5].previous_hash == events[3].stored_hash
    assert prove(events, [1]).links[1].previous_hash == GENESIS


def test_a_change_before_a_selected_event_leaves_it_unproven() -> None:
    events = chain(6)
    events[2] = events[2]._replace(state=b"changed")
    proof = prove(events, [2, 5])
    assert not proof.intact and proof.first_broken_notification_id == 3
    assert proof.links[2].proven and not proof.links[5].proven


def test_a_break_after_the_last_selected_event_concerns_none_of_them() -> None:
    events = chain(6)
    events[5] = events[5]._replace(state=b"changed")
    assert prove(events, [2, 5]).intact


def test_an_empty_selection_is_intact_and_walks_nothing() -> None:
    assert prove(iter(()), []).intact


# ---------------------------------------------------------------- stretches between the verifier's checkpoints


def witnessed(events: list[ChainedEvent], every: int) -> list[Checkpoint]:
    """The checkpoints a verifier walking ``events`` unbroken writes every ``every`` events."""
    return [Checkpoint(e.notification_id, e.stored_hash) for e in events if e.notification_id % every == 0]


def checkpoints_around(found: list[Checkpoint]) -> Callable[[int], tuple[Checkpoint, Checkpoint | None]]:
    """The checkpoints around a position, as the chain watch's table answers them (the last before it, the first
    at or after it)."""
    keys = [checkpoint.position for checkpoint in found]

    def around(position: int) -> tuple[Checkpoint, Checkpoint | None]:
        at = bisect_left(keys, position)
        return (found[at - 1] if at else ORIGIN), (found[at] if at < len(found) else None)

    return around


class Reads:
    """The ledger's events by range, as a recorder gives them, counting what was read."""

    def __init__(self, events: list[ChainedEvent]) -> None:
        self.events = events
        self.read = 0

    def __call__(self, after: int, up_to: int) -> list[ChainedEvent]:
        found = [e for e in self.events if after < e.notification_id <= up_to]
        self.read += len(found)
        return found


def recomputed_from(events: list[ChainedEvent], position: int, state: bytes) -> list[ChainedEvent]:
    """The ledger after someone changed the event at ``position`` and computed every later hash again."""
    changed, previous = [], GENESIS
    for event in events:
        if event.notification_id == position:
            event = event._replace(state=state)
        if event.notification_id >= position:
            event = event._replace(stored_hash=link(previous, event.originator_id, 1, event.topic, event.state))
        changed.append(event)
        previous = event.stored_hash
    return changed


def test_a_selection_is_proven_by_walking_only_the_stretches_that_hold_it() -> None:
    events = chain(3000)
    reads = Reads(events)
    proof = prove_in_stretches(reads, [10, 700, 701, 2990], checkpoints_around(witnessed(events, 256)))
    assert proof.intact and set(proof.links) == {10, 700, 701, 2990}
    assert proof.links == prove(events, [10, 700, 701, 2990]).links  # the same links as the walk from the first event
    assert reads.read == 256 + 256 + (2990 - 2816)  # three stretches, the last one up to the entry


def test_without_checkpoints_the_stretch_is_the_chain_from_its_first_event() -> None:
    events = chain(40)
    reads = Reads(events)
    assert prove_in_stretches(reads, [5, 30], checkpoints_around([])).intact
    assert reads.read == 30


def test_a_changed_event_whose_later_hashes_were_computed_again_is_caught_by_the_next_checkpoint() -> None:
    events = chain(3000)
    checkpoints = witnessed(events, 256)
    forged = recomputed_from(events, 600, b"forged")
    assert prove(forged, [700]).intact  # the walk from the first event alone is fooled: every link holds
    proof = prove_in_stretches(Reads(forged), [10, 700, 2990], checkpoints_around(checkpoints))
    assert not proof.intact and proof.first_broken_notification_id == 768  # the stretch no longer ends as witnessed
    assert proof.links[10].proven and not proof.links[700].proven
    assert not proof.links[2990].proven  # its stretch's first link no longer follows the witnessed hash before it


def test_a_change_before_a_selected_event_in_its_stretch_leaves_it_unproven() -> None:
    events = chain(1000)
    events[599] = events[599]._replace(state=b"changed")  # position 600
    proof = prove_in_stretches(Reads(events), [599, 700], checkpoints_around(witnessed(events, 256)))
    assert proof.first_broken_notification_id == 600
    assert proof.links[599].proven and not proof.links[700].proven


def test_a_stretch_whose_last_event_was_removed_proves_nothing_in_it() -> None:
    whole = chain(600)
    events = [e for e in whole if e.notification_id != 512]
    proof = prove_in_stretches(Reads(events), [300], checkpoints_around(witnessed(whole, 256)))
    assert proof.first_broken_notification_id == 512 and not proof.links[300].proven


def test_verify_holds_the_walk_to_the_witnessed_hashes() -> None:
    events = chain(1000)
    witnessed_hashes = {c.position: c.hash for c in witnessed(events, 256)}
    assert verify(events, witnessed_hashes).checkpoints_agreed == len(witnessed_hashes) == 3
    assert "the 3 checkpoints of the chain watch agree" in verify(events, witnessed_hashes).sentence()
    forged = recomputed_from(events, 600, b"forged")
    assert verify(forged).intact  # every link holds
    verdict = verify(forged, witnessed_hashes)
    assert not verdict.intact and verdict.unwitnessed_at == verdict.first_broken_notification_id == 768
    assert verdict.events_checked == 767 and "not the one the chain watch witnessed" in verdict.sentence()
