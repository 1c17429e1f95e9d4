"""Proving a selection of the ledger's events (one contract's) by the hash chain."""

from __future__ import annotations

from uuid import uuid4

from contractledger.store.hashchain import GENESIS, ChainedEvent, link, prove


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
