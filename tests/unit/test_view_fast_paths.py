"""The views' fast paths give exactly what the general ones give: the batch
decoder the mapper's events, ``details_text`` the JSON of
``event_as_plain_data``'s details, ``instant_text`` the strftime text, and the
workload generator the same ledger with the aggregate cache on or off."""

from __future__ import annotations

import sys
from pathlib import Path

import json
from datetime import datetime, timedelta, timezone

import pytest

from contractledger.domain.clock import SettableClock
from contractledger.domain.history import event_as_plain_data, plain
from contractledger.domain.ledger import ContractLedger
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # the workload generator, not shipped
from workload import generate  # noqa: E402
from contractledger.domain.event_decoding import BatchDecoder
from contractledger.projections.engine.rows import INSTANT_FORMAT, _exact, details_text, id_text, instant_text, json_text

START = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)


def _ledger(env: dict[str, str] | None = None, events: int = 2500) -> ContractLedger:
    clock = SettableClock(START)
    ledger = ContractLedger(env or {"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    generate(ledger, clock, events, seed=3)
    return ledger


@pytest.fixture(scope="module")
def ledger() -> ContractLedger:
    return _ledger()


def test_the_batch_decoder_yields_the_mappers_events(ledger: ContractLedger) -> None:
    notifications = ledger.recorder.select_notifications(start=1, limit=10**6)
    decoder = BatchDecoder(ledger.mapper)
    assert decoder.fast
    for decoded in (decoder.decode_all(notifications), [decoder.decode(n) for n in notifications]):
        for notification, event in zip(notifications, decoded, strict=True):
            expected = ledger.mapper.to_domain_event(notification)
            assert type(event) is type(expected)
            assert event.__dict__ == expected.__dict__


def test_the_ledger_loads_aggregates_with_the_fast_decoder_and_gets_the_librarys_events(ledger: ContractLedger) -> None:
    from eventsourcing.persistence import Mapper

    from contractledger.domain.event_decoding import LedgerMapper

    assert type(ledger.mapper) is LedgerMapper
    for notification in ledger.recorder.select_notifications(start=1, limit=10**6):
        event, expected = ledger.mapper.to_domain_event(notification), Mapper.to_domain_event(ledger.mapper, notification)
        assert type(event) is type(expected) and event.__dict__ == expected.__dict__
    assert ledger.mapper._decoder.fast and len(ledger.mapper._decoder._memo) <= LedgerMapper.MEMO_LIMIT + 40


def test_a_decoder_with_a_small_memo_forgets_and_still_yields_the_mappers_events(ledger: ContractLedger) -> None:
    notifications = ledger.recorder.select_notifications(start=1, limit=10**6)
    decoder = BatchDecoder(ledger.mapper, memo_limit=50)  # the export's is small, so its memory stays flat
    largest = 0
    for notification in notifications:
        event = decoder.decode(notification)
        largest = max(largest, len(decoder._memo))
        assert event.__dict__ == ledger.mapper.to_domain_event(notification).__dict__
    assert 50 < largest <= 50 + 40  # one event's values at most beyond the limit before it is cleared


def test_a_batch_with_a_bad_state_fails_as_the_mapper_does(ledger: ContractLedger) -> None:
    from dataclasses import replace

    from eventsourcing.persistence import MapperDeserialisationError

    notifications = list(ledger.recorder.select_notifications(start=1, limit=5))
    notifications[3] = replace(notifications[3], state=b"{not json")
    with pytest.raises(MapperDeserialisationError):
        BatchDecoder(ledger.mapper).decode_all(notifications)


def test_details_text_is_the_json_of_the_plain_details(ledger: ContractLedger) -> None:
    decoder = BatchDecoder(ledger.mapper)
    for event in decoder.decode_all(ledger.recorder.select_notifications(start=1, limit=10**6)):
        expected = json.dumps(
            plain(event_as_plain_data(event)["details"]), default=_exact, sort_keys=True, separators=(",", ":")
        )
        assert details_text(event) == expected
        assert id_text(event.originator_id) == str(event.originator_id)


def test_instant_text_is_utc_text_with_microseconds() -> None:
    east = timezone(timedelta(hours=5, minutes=30))
    for instant in (
        START,
        START.replace(microsecond=7),
        datetime(2026, 6, 1, 23, 59, 59, 999999, tzinfo=east),
        datetime(999, 1, 1, tzinfo=timezone.utc),
    ):
        expected = instant.astimezone(timezone.utc).strftime(INSTANT_FORMAT)
        assert instant_text(instant) == expected
        assert instant_text(instant) == expected  # remembered
    with pytest.raises(ValueError):
        instant_text(datetime(2026, 1, 1))


def test_json_text_of_a_list_of_text_is_the_general_json() -> None:
    values = ["a", "é", "b\"c"]
    assert json_text(values) == json.dumps(values, sort_keys=True, separators=(",", ":"))


def test_the_workload_is_the_same_with_the_aggregate_cache_on(ledger: ContractLedger) -> None:
    cached = _ledger({"PERSISTENCE_MODULE": "eventsourcing.popo", "AGGREGATE_CACHE_MAXSIZE": "10000"})

    def log(of: ContractLedger) -> list[tuple[object, int, str, bytes]]:
        return [
            (n.originator_id, n.originator_version, n.topic, n.state)
            for n in of.recorder.select_notifications(start=1, limit=10**6)
        ]

    assert log(cached) == log(ledger)


def test_batch_collections_freeze_what_batches_keep_and_collect_cycles_after() -> None:
    """A catch-up's batches do not pay for the cycle collector walking what
    earlier batches keep; a cycle a batch does leave is still collected once
    the catch-up ends, and the collector is as it was before."""
    import gc
    import weakref

    from contractledger.projections.engine.runner import batch_collections

    class Node:
        pass

    assert gc.isenabled()
    with batch_collections() as after_batch:
        assert not gc.isenabled()
        kept = [Node() for _ in range(1000)]
        cycle = Node()
        cycle.me = cycle  # type: ignore[attr-defined]
        watch = weakref.ref(cycle)
        del cycle
        after_batch()
        assert gc.get_freeze_count() >= len(kept)
        gc.collect()
        assert watch() is not None  # frozen: not walked while the catch-up runs
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert watch() is None
