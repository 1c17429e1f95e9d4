"""The ledger's chain checkpoints: links of the hash chain witnessed by a
verifier that walks the chain as events arrive (rules §10).

The verifier (:class:`ChainWatch`, run beside the views by the views
runner's process) walks the ledger from its first event, checks every link,
and every :data:`EVERY` events writes down the hash it computed
(``chain_checkpoints``), only ever after every link before it held. It goes
on from its last checkpoint, so each event is hashed once as it arrives.
When a link does not hold it records where (``chain_breaks``), says so in
the log, and writes no checkpoint past it.

The checkpoints live apart from the events, in tables nothing else writes
and no rebuild touches. What they buy: a contract's timeline proves its few
events by walking the stretches of the chain that hold them, from the
checkpoint before each to the one after it (``store/hashchain.py``
``prove_in_stretches``), instead of the whole ledger from its first event;
and a changed event whose later links were all computed again no longer
passes, because its stretch no longer ends in the witnessed hash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from contractledger.projections.engine.view_database import KEY_TEXT, ViewDatabase, ViewTransaction
from contractledger.store.availability import StoreOutage, is_unavailable
from contractledger.store.hashchain import CHECKPOINTS_TABLE, ORIGIN, ChainWalker, Checkpoint

log = logging.getLogger("contractledger.chain")

EVERY = 64
"""Events between two checkpoints: a stretch a page walks to prove an event in it."""

SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS_TABLE} ("
    f" position BIGINT PRIMARY KEY, hash TEXT NOT NULL, witnessed_at {KEY_TEXT} NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS chain_breaks (position BIGINT PRIMARY KEY, found_at {KEY_TEXT} NOT NULL)",
)


def ensure_schema(database: ViewDatabase) -> None:
    with database.transaction() as tx:
        tx.serialise_schema_changes()
        for statement in SCHEMA:
            tx.execute(statement)


def _checkpoint(row: tuple[Any, ...] | None) -> Checkpoint | None:
    return Checkpoint(int(row[0]), bytes.fromhex(row[1])) if row else None


def last_checkpoint(tx: ViewTransaction) -> Checkpoint:
    tx.execute(f"SELECT position, hash FROM {CHECKPOINTS_TABLE} ORDER BY position DESC LIMIT 1")
    return _checkpoint(tx.fetchone()) or ORIGIN


def around(database: ViewDatabase, positions: Iterable[int]) -> dict[int, tuple[Checkpoint, Checkpoint | None]]:
    """For each position, the last checkpoint before it (:data:`ORIGIN` when
    none) and the first at or after it (None when the verifier has not got
    that far): two key lookups each, in one read."""
    found: dict[int, tuple[Checkpoint, Checkpoint | None]] = {}
    with database.transaction(write=False) as tx:
        for position in sorted(set(positions)):
            tx.execute(
                f"SELECT position, hash FROM {CHECKPOINTS_TABLE} WHERE position < ? ORDER BY position DESC LIMIT 1",
                (position,),
            )
            before = _checkpoint(tx.fetchone()) or ORIGIN
            tx.execute(
                f"SELECT position, hash FROM {CHECKPOINTS_TABLE} WHERE position >= ? ORDER BY position LIMIT 1",
                (position,),
            )
            found[position] = (before, _checkpoint(tx.fetchone()))
    return found


class ChainWatch:
    """Walks the ledger's hash chain as it grows and writes its checkpoints."""

    IDLE = 1.0
    """Seconds between two looks at the ledger once the walk has caught up."""
    AFTER_FAULT = 30.0
    """Seconds before trying again after a fault that is not the store's absence."""

    def __init__(self, recorder: Any, database: ViewDatabase, every: int = EVERY) -> None:
        self.recorder = recorder
        self.database = database
        self.every = every
        self._told_of: int | None = None
        self._schema_ready = False

    def advance(self) -> Checkpoint:
        """Walks on from the last checkpoint to the ledger's end, writing a
        checkpoint every ``every`` events (committed page by page, so a long
        walk that stops keeps what it proved). Returns the last checkpoint."""
        if not self._schema_ready:
            ensure_schema(self.database)
            self._schema_ready = True
        with self.database.transaction(write=False) as tx:
            start = last_checkpoint(tx)
        walker = ChainWalker(start.hash)
        witnessed = start
        pending: list[Checkpoint] = []
        broken: int | None = None
        for event in self.recorder.chained_events(after=start.position):
            if not walker.check(event):
                broken = event.notification_id
                break
            if event.notification_id - witnessed.position >= self.every:
                witnessed = Checkpoint(event.notification_id, walker.previous)
                pending.append(witnessed)
                if len(pending) >= 4:
                    self._write(pending)
                    pending = []
        self._write(pending)
        if broken is not None:
            self._record_break(broken)
        return witnessed

    def _write(self, checkpoints: list[Checkpoint]) -> None:
        if not checkpoints:
            return
        now = datetime.now(timezone.utc).isoformat()
        with self.database.transaction() as tx:
            tx.insert_rows(
                CHECKPOINTS_TABLE, ("position", "hash", "witnessed_at"),
                [(c.position, c.hash.hex(), now) for c in checkpoints],
                on_conflict="ON CONFLICT (position) DO NOTHING",
            )

    def _record_break(self, position: int) -> None:
        with self.database.transaction() as tx:
            tx.execute(
                "INSERT INTO chain_breaks (position, found_at) VALUES (?, ?) ON CONFLICT (position) DO NOTHING",
                (position, datetime.now(timezone.utc).isoformat()),
            )
        if self._told_of != position:
            log.error(
                "the ledger's hash chain breaks at position %d: that event, or the one before it, was changed, "
                "removed or reordered; no checkpoint is written past it (verify-ledger says the same)", position,
            )
            self._told_of = position

    def run(self, stop: threading.Event) -> None:
        """Keeps walking until ``stop`` is set; the store's absence is waited
        out, any other fault logged and tried again later: the watch never
        takes the views down with it."""
        outage = StoreOutage("chain watch")
        while not stop.is_set():
            try:
                self.advance()
                outage.over()
            except Exception as error:
                if is_unavailable(error):
                    stop.wait(outage.wait(error))
                    continue
                log.exception("the chain watch failed; it tries again in %.0f s", self.AFTER_FAULT)
                stop.wait(self.AFTER_FAULT)
                continue
            stop.wait(self.IDLE)
