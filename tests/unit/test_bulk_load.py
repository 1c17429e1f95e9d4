"""The bulk loader keeps its aggregates in memory, handing a command the
cached object itself: a command refused after changing one leaves nothing of
that change behind, as the plain ledger's deep copy guarantees."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import SettableClock
from contractledger.domain.errors import RuleBroken
from contractledger.domain.ledger import mutate_in_turn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # the bulk loader, not shipped
from bulk_load import BulkLoadLedger  # noqa: E402

START = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def stored_topics(ledger: BulkLoadLedger) -> list[str]:
    return [n.topic.split(":")[1] for n in ledger.recorder.select_notifications(start=1, limit=1000)]


def test_a_command_refused_after_changing_an_aggregate_leaves_no_trace_of_the_change() -> None:
    clock = SettableClock(START)
    ledger = BulkLoadLedger(MEMORY, clock=clock, events_per_write=1000)
    system = Actor.system()
    party_id = ledger.register_party(system, "carrier", {"name": "Carrier", "identifiers": {"npn": "000000001"}})

    def changes_then_refuses() -> None:
        party = ledger._load_party(party_id)
        party.change_profile({"name": "Half-made"}, actor=system, effective_on=clock.now().date(), at=clock.now())
        raise RuleBroken("test.refused", "Refused after the change.")

    with pytest.raises(RuleBroken):
        ledger._run(None, {}, changes_then_refuses)

    party = ledger.get_party(party_id)
    assert party.name == "Carrier"
    assert party.version == 1 and not party.pending_events
    actor = Actor(Role.CARRIER_STAFF, "staff", party_id)
    ledger.change_profile(actor, party_id, {"attributes": {"phone": "+15550000000"}})
    ledger.write_held()
    # The next command on the party saves its own change, and only that.
    assert stored_topics(ledger).count("Party.ProfileChanged") == 1
    assert ledger.get_party(party_id).name == "Carrier"


def test_reads_see_the_events_held_for_the_next_write() -> None:
    clock = SettableClock(START)
    ledger = BulkLoadLedger(MEMORY, clock=clock, events_per_write=1000)
    party_id = ledger.register_party(Actor.system(), "carrier", {"name": "Carrier", "identifiers": {"npn": "000000001"}})
    assert ledger.recorder.held and ledger.recorder.recorder.max_notification_id() in (None, 0)
    assert [e.originator_version for e in ledger.events.get(party_id)] == [1]
    assert ledger.recorder.max_notification_id() == 1
    # a read of the log in order writes what is held first
    assert stored_topics(ledger) == ["Party.Registered"]
    assert not ledger.recorder.held


def test_a_snapshot_taken_while_events_are_held_is_the_aggregate_at_its_version() -> None:
    clock = SettableClock(START)
    ledger = BulkLoadLedger(MEMORY, clock=clock, events_per_write=10_000)
    party_id = ledger.register_party(Actor.system(), "carrier", {"name": "Carrier", "identifiers": {"npn": "000000001"}})
    actor = Actor(Role.CARRIER_STAFF, "staff", party_id)
    for n in range(105):
        ledger.change_profile(actor, party_id, {"attributes": {"phone": f"+1555{n:07d}"}})
    assert ledger.recorder.written_head == 0  # every event still held when the snapshot at 100 was taken
    assert ledger.snapshots is not None
    (snapshot,) = ledger.snapshots.get(party_id)
    assert snapshot.originator_version == 100
    ledger.write_held()
    replayed = mutate_in_turn(None, ledger.events.get(party_id, lte=100))  # from the events alone
    assert snapshot.state["profile"] == replayed.profile
    assert replayed.profile["attributes"]["phone"] == "+15550000098"
    assert ledger.get_party(party_id).version == 106
