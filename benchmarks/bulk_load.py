"""Filling a big ledger quickly, through the same rules.

``BulkLoadLedger`` is the ``ContractLedger`` itself (every use case, every
rule of SPEC.md, the same aggregates and command methods); only how its
events reach the store differs, for a loader that is the ledger's one writer:

* the events of many commands are written in one store transaction
  (``HeldAppends``), in the order the commands saved them, so the store
  numbers and chains them exactly as it would have one command at a time
  (the hash chain depends on the events and their order, not on how they were
  grouped into transactions). A command's events are never split across two
  writes. Every read of the log sees the held events as if written;
* the aggregates stay in memory (an unbounded cache, never fast-forwarded
  from the store, since nothing else writes), and a command is handed the
  cached object itself instead of a deep copy. The copy is what keeps a
  refused command's half-made changes out of the next one; here, an aggregate
  a command was handed that still holds unsaved events when the command ends
  (refused, or not saved) is dropped from memory and read again from the log,
  as it stands (``forget_unsaved_changes``).

Same seed, same events, ids included: what ``tests/unit/test_bulk_load.py``
checks against the plain ledger, hash chain included.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from contractledger.domain.clock import SettableClock
from contractledger.domain.ledger import ContractLedger, LedgerRepository
from workload import Summary, generate  # beside this file, in benchmarks/

EVENTS_PER_WRITE = 5_000
"""Held events that start a write (a command's events are never split)."""


class HeldAppends:
    """The ledger's event log, with appends held in memory and written many
    commands at a time, in one transaction of the store's own ``insert_events``
    (which numbers and chains them).

    Events are numbered as the store will number them: this loader is the
    log's only writer, and a write that the store numbers otherwise stops the
    load. Reads of one aggregate's events see its held ones; any other use of
    the log writes what is held first."""

    select_from_latest_snapshot = None
    """Not offered: the repository reads snapshots and events in two reads, the
    second of which (``select_events``) sees what is held."""

    def __init__(self, recorder: Any, events_per_write: int = EVENTS_PER_WRITE) -> None:
        self.recorder = recorder
        self.events_per_write = events_per_write
        self.held: list[StoredEvent] = []
        self.held_by_originator: dict[UUID | str, list[StoredEvent]] = {}
        self.written_head: int = recorder.max_notification_id() or 0
        self.writes = 0
        self.seconds_writing = 0.0

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if any(value is not None for value in kwargs.values()):  # tracking: written with these events, now
            self.write()
            return self.recorder.insert_events(stored_events, **kwargs)
        first = self.written_head + len(self.held) + 1
        self.held.extend(stored_events)
        for event in stored_events:
            self.held_by_originator.setdefault(event.originator_id, []).append(event)
        if len(self.held) >= self.events_per_write:
            self.write()
        return list(range(first, first + len(stored_events)))

    def write(self) -> None:
        """Writes every held event in one transaction of the store."""
        if not self.held:
            return
        expected = list(range(self.written_head + 1, self.written_head + 1 + len(self.held)))
        started = time.perf_counter()
        numbered = self.recorder.insert_events(self.held)
        self.seconds_writing += time.perf_counter() - started
        if numbered is not None and list(numbered) != expected:
            raise RuntimeError(
                f"the store numbered the held events {numbered[0]}..{numbered[-1]}, not "
                f"{expected[0]}..{expected[-1]}: another process wrote to the log during the load"
            )
        self.written_head = expected[-1]
        self.held = []
        self.held_by_originator = {}
        self.writes += 1

    def max_notification_id(self) -> int | None:
        return (self.written_head + len(self.held)) or None

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        held = self.held_by_originator.get(originator_id)
        if not held:
            return self.recorder.select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        events = list(self.recorder.select_events(originator_id, gt=gt, lte=lte))
        events += [
            e for e in held if (gt is None or e.originator_version > gt) and (lte is None or e.originator_version <= lte)
        ]
        if desc:
            events.reverse()
        return events if limit is None else events[:limit]

    def __getattr__(self, name: str) -> Any:
        # Any other read (notifications, the chain, the datastore) sees the whole log.
        if name in ("recorder", "held"):  # not set yet (while unpickled or copied): no recursion
            raise AttributeError(name)
        self.write()
        return getattr(self.recorder, name)


class AggregatesInMemory(LedgerRepository):
    """The ledger's repository, remembering which cached aggregates it handed out."""

    handed_out: list[Aggregate]

    def get(self, aggregate_id: Any, **options: Any) -> Any:
        aggregate = super().get(aggregate_id, **options)
        if options.get("version") is None:
            self.handed_out.append(aggregate)
        return aggregate

    def forget_unsaved_changes(self) -> None:
        """Drops from memory every aggregate handed out that holds events not
        saved: the next read rebuilds it from the log, as the store has it."""
        for aggregate in self.handed_out:
            if aggregate.pending_events and self.cache is not None:
                try:
                    self.cache.get(aggregate.id, evict=True)
                except KeyError:
                    pass
        self.handed_out.clear()


class BulkLoadLedger(ContractLedger):
    """The ledger for a loader that is its one writer: same use cases and
    rules, many commands per store transaction, aggregates kept in memory."""

    def __init__(self, env: dict[str, str] | None = None, clock: SettableClock | None = None,
                 events_per_write: int = EVENTS_PER_WRITE) -> None:
        self.events_per_write = events_per_write
        in_memory = {
            "AGGREGATE_CACHE_MAXSIZE": "0",  # unbounded: every aggregate stays
            "AGGREGATE_CACHE_FASTFORWARD": "n",  # nothing else writes
            "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",  # see forget_unsaved_changes
        }
        super().__init__({**(env or {}), **in_memory}, clock=clock)

    def construct_recorder(self) -> Any:
        return HeldAppends(super().construct_recorder(), self.events_per_write)

    def construct_repository(self) -> Any:
        repository = super().construct_repository()
        repository.__class__ = AggregatesInMemory
        repository.handed_out = []
        return repository

    def _run(self, command_id: str | None, printed: Any, use_case: Callable[[], Any]) -> Any:
        try:
            return super()._run(command_id, printed, use_case)
        finally:
            self.repository.forget_unsaved_changes()

    def write_held(self) -> None:
        """Writes every held event: after it, the store holds the whole ledger."""
        self.recorder.write()

    def close(self) -> None:
        self.write_held()
        super().close()


START = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)


def fill(
    env: dict[str, str],
    *,
    contracts: int | None = None,
    events: int | None = None,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
    events_per_write: int = EVENTS_PER_WRITE,
    start: datetime = START,
) -> tuple[Summary, HeldAppends]:
    """Fills the ledger of ``env``'s store with the workload (``workload.generate``)
    through ``BulkLoadLedger``, its first event recorded at ``start``; every
    event is written when it returns."""
    clock = SettableClock(start)
    ledger = BulkLoadLedger(env, clock=clock, events_per_write=events_per_write)
    try:
        summary = generate(ledger, clock, events, seed=seed, progress=progress, contracts=contracts)
        ledger.write_held()
    finally:
        ledger.close()
    return summary, ledger.recorder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/fill-ledger",
        description="Fill the configured store's ledger (PERSISTENCE_MODULE and its settings, as for serve) with the "
        "workload generator's contracting work, through the ledger's rules, many commands per transaction.",
    )
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--contracts", type=int, help="stop once this many contracts were assigned")
    size.add_argument("--events", type=int, help="stop once the ledger holds this many events")
    parser.add_argument("--seed", type=int, default=1, help="the workload's seed: the same seed, the same ledger (default 1)")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    started, cpu = time.perf_counter(), time.process_time()
    load = os.getloadavg()[0]

    def progress(recorded: int) -> None:
        if recorded // 100_000 != progress.last // 100_000:  # type: ignore[attr-defined]
            rate = recorded / (time.perf_counter() - started)
            print(f"  {recorded:,} events ({rate:,.0f} events/s)", file=sys.stderr, flush=True)
        progress.last = recorded  # type: ignore[attr-defined]

    progress.last = 0  # type: ignore[attr-defined]
    summary, log = fill(env, contracts=args.contracts, events=args.events, seed=args.seed, progress=progress)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"store {env.get('PERSISTENCE_MODULE', 'eventsourcing.popo')}, seed {args.seed}: {summary.events:,} events, "
        f"{summary.contracts:,} contracts, {summary.parties:,} parties, {summary.actions:,} actions "
        f"({summary.refused:,} refused by the rules)\n"
        f"{seconds:.1f} s ({cpu:.1f} s CPU), {summary.events / seconds:,.0f} events/s; "
        f"{log.writes} writes, {log.seconds_writing:.1f} s writing; "
        f"load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end, {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
