"""Reading a peer's feed from a cursor, and the positions peers acknowledge.

A page is the items after a position, in the ledger's order; an empty page
means the reader is caught up. Items are written once by the feed view and
never changed, so reading the same range twice gives the same items, byte
for byte. With ``wait`` a reader that is caught up waits (up to that many
seconds) for the next item instead of polling: the views runner announces
each committed batch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from contractledger.projections.engine import positions
from contractledger.projections.engine.view_database import (
    PostgresViewDatabase,
    ViewDatabase,
)
from contractledger.sync.feed_view import feed_tables
from contractledger.sync.tables import TablesMadeOnce

ACKS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sync_acknowledgements (peer TEXT PRIMARY KEY, position BIGINT NOT NULL,"
    " acknowledged_at KEY_TEXT NOT NULL)",
)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    after: int
    """The position this page was read after."""

    @property
    def next_after(self) -> int:
        """Where the next page starts: the last item's position (or the same cursor when empty)."""
        return self.items[-1]["position"] if self.items else self.after


def _feed_table(tx: Any, peer: str) -> str | None:
    generation = positions.live_generation(tx, f"sync_feed_{peer}")
    return None if generation is None else feed_tables(peer, generation)["feed"]


def read_raw(database: ViewDatabase, peer: str, after: int, limit: int) -> list[tuple[int, str]]:
    """(position, item JSON) after ``after``, oldest first: the JSON as stored, for delivery."""
    try:
        with database.transaction(write=False) as tx:
            table = _feed_table(tx, peer)
            if table is None:
                return []
            tx.execute(f"SELECT position, item FROM {table} WHERE position > ? ORDER BY position LIMIT ?", (after, limit))
            return [(int(p), i) for p, i in tx.fetchall()]
    except Exception as error:  # before the runner's first start the tables are not there yet
        if "view_generations" in str(error) or "does not exist" in str(error) or "no such table" in str(error):
            return []
        raise


def read_page(database: ViewDatabase, peer: str, after: int, limit: int, wait: float = 0.0) -> Page:
    deadline = time.monotonic() + wait
    if wait > 0 and isinstance(database, PostgresViewDatabase):
        database.start_listening()
    while True:
        rows = read_raw(database, peer, after, limit)
        remaining = deadline - time.monotonic()
        if rows or remaining <= 0:
            return Page([json.loads(item) for _, item in rows], after)
        database.wait_for_change(remaining)


_TABLES = TablesMadeOnce(ACKS_SCHEMA)


def ensure_schema(database: ViewDatabase) -> None:
    """Creates the acknowledgements table (once per database object)."""
    _TABLES.ensure(database)


def acknowledge(database: ViewDatabase, peer: str, position: int, at: str) -> int:
    """Records that ``peer`` holds everything up to ``position``; an older
    acknowledgement never moves it back. Answers the acknowledged position."""
    ensure_schema(database)
    with database.transaction() as tx:
        tx.execute(
            "INSERT INTO sync_acknowledgements (peer, position, acknowledged_at) VALUES (?, ?, ?)"
            " ON CONFLICT (peer) DO UPDATE SET position = excluded.position, acknowledged_at = excluded.acknowledged_at"
            " WHERE excluded.position > sync_acknowledgements.position",
            (peer, position, at),
        )
        tx.execute("SELECT position FROM sync_acknowledgements WHERE peer = ?", (peer,))
        row = tx.fetchone()
    return int(row[0]) if row else 0


def acknowledged(database: ViewDatabase, peer: str) -> int:
    ensure_schema(database)
    rows = database.query("SELECT position FROM sync_acknowledgements WHERE peer = ?", (peer,))
    return int(rows[0][0]) if rows else 0


def acknowledgement(database: ViewDatabase, peer: str) -> tuple[int, str] | None:
    """The position the peer last acknowledged and when (None: it never has)."""
    ensure_schema(database)
    rows = database.query("SELECT position, acknowledged_at FROM sync_acknowledgements WHERE peer = ?", (peer,))
    return (int(rows[0][0]), rows[0][1]) if rows else None


def items_after(database: ViewDatabase, peer: str, after: int, *, at_most: int | None = None) -> int:
    """How many items of the peer's feed lie after a position (0 before its feed is built);
    counted up to ``at_most`` and one more, when given, so that a backlog of millions
    costs no more than that to tell apart from a small one."""
    try:
        with database.transaction(write=False) as tx:
            table = _feed_table(tx, peer)
            if table is None:
                return 0
            if at_most is None:
                tx.execute(f"SELECT COUNT(*) FROM {table} WHERE position > ?", (after,))
            else:
                tx.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE position > ? LIMIT ?) AS counted",
                           (after, at_most + 1))
            row = tx.fetchone()
            return int(row[0]) if row else 0
    except Exception as error:  # before the runner's first start the tables are not there yet
        if "view_generations" in str(error) or "does not exist" in str(error) or "no such table" in str(error):
            return 0
        raise
