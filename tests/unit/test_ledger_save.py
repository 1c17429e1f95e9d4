"""The ledger's own ``save`` records what the library's would: every pending
event of every aggregate given, in the order given, events given bare, and
nothing for ``None``; the saved aggregates are the ones a repository cache
would keep."""

from __future__ import annotations

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate

from contractledger.domain.ledger import AggregatesCollected, ContractLedger


class Counted(Aggregate):
    def add(self) -> None:
        self.trigger_event(self.Added)

    class Added(Aggregate.Event):
        def apply(self, aggregate: "Counted") -> None:
            pass


def _pending() -> tuple[Counted, Counted, Aggregate.Event]:
    first, second = Counted(), Counted()
    first.add()
    first.add()
    bare = Counted()
    (bare_event,) = bare.collect_events()
    return first, second, bare_event


def test_aggregates_are_collected_as_the_library_collects_them() -> None:
    first, second, bare_event = _pending()
    ours = AggregatesCollected()
    ours.collect_events(first, None, bare_event, second, note="kept")
    expected = ProcessingEvent()
    expected.collect_events(first, None, bare_event, second, note="kept")  # already collected: none again
    assert [type(e).__name__ for e in ours.events] == ["Created", "Added", "Added", "Created", "Created"]
    assert ours.events[3] is bare_event
    assert list(ours.aggregates) == [first.id, second.id] == list(expected.aggregates)
    assert ours.saved_kwargs == expected.saved_kwargs == {"note": "kept"}
    assert expected.events == [bare_event]  # the library took nothing twice: ours had emptied the aggregates


def test_a_saved_aggregate_reads_back_with_every_event(tmp_path) -> None:
    ledger = ContractLedger(env={"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": str(tmp_path / "l.sqlite3")})
    first, second, bare_event = _pending()
    recordings = ledger.save(first, None, bare_event, second)
    assert len(recordings) == 5
    assert ledger.repository.get(first.id).version == 3
    assert ledger.repository.get(second.id).version == 1
    assert ledger.repository.get(bare_event.originator_id).version == 1


def test_an_aggregate_loads_through_the_ledgers_repository_at_any_version(tmp_path) -> None:
    ledger = ContractLedger(env={"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": str(tmp_path / "l.sqlite3")})
    counted = Counted()
    for _ in range(4):
        counted.add()
    ledger.save(counted)
    assert type(ledger.repository).__name__ == "LedgerRepository"
    assert ledger.repository.get(counted.id).version == 5
    assert ledger.repository.get(counted.id, version=2).version == 2
