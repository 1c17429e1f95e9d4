"""Where push delivery stands, in tables beside the views (any process may
read them; only the delivery worker and the operator's commands write).

``sync_delivery_peers``: per peer, the feed position taken into the outbox
and whether the peer paused delivery (it answered 410 Gone).
``sync_delivery_outbox``: items taken from the feed and not yet delivered,
with their attempts and when the next one is due; the lowest position of a
contract is its head, and only heads are sent (in order per contract).
``sync_dead_letters``: items given up on after the peer's give-up time, for
an operator to inspect and replay (back into the outbox, first of its contract).
``sync_delivery_last_attempts``: per peer, its endpoint's last attempt (when,
which item, and what went wrong, or nothing: delivered), written with the
round or the retry that made it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from contractledger.projections.engine.view_database import ViewDatabase

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sync_delivery_peers (peer TEXT PRIMARY KEY, taken BIGINT NOT NULL,"
    " paused_at KEY_TEXT, paused_because TEXT)",
    "CREATE TABLE IF NOT EXISTS sync_delivery_outbox (peer TEXT NOT NULL, position BIGINT NOT NULL,"
    " item_id KEY_TEXT NOT NULL, contract_id KEY_TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " first_attempt_at DOUBLE PRECISION, next_attempt_at DOUBLE PRECISION NOT NULL, last_error TEXT,"
    " PRIMARY KEY (peer, position))",
    "CREATE TABLE IF NOT EXISTS sync_dead_letters (peer TEXT NOT NULL, position BIGINT NOT NULL,"
    " item_id KEY_TEXT NOT NULL, contract_id KEY_TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " last_error TEXT, given_up_at KEY_TEXT NOT NULL, PRIMARY KEY (peer, position))",
    "CREATE TABLE IF NOT EXISTS sync_delivery_last_attempts (peer TEXT PRIMARY KEY, position BIGINT NOT NULL,"
    " item_id KEY_TEXT NOT NULL, attempted_at KEY_TEXT NOT NULL, error TEXT)",
)


@dataclass(frozen=True)
class Attempt:
    """One POST of an item to a peer's endpoint."""

    position: int
    item_id: str
    attempted_at: str
    error: str | None
    """Why it did not deliver (None: delivered)."""


def _record_attempt(tx: Any, peer: str, attempt: Attempt | None) -> None:
    if attempt is None:
        return
    tx.execute(
        "INSERT INTO sync_delivery_last_attempts (peer, position, item_id, attempted_at, error) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (peer) DO UPDATE SET position = excluded.position, item_id = excluded.item_id,"
        " attempted_at = excluded.attempted_at, error = excluded.error",
        (peer, attempt.position, attempt.item_id, attempt.attempted_at, attempt.error),
    )


def last_attempt(database: ViewDatabase, peer: str) -> Attempt | None:
    """The peer's endpoint's last attempt (None: never pushed to)."""
    rows = database.query(
        "SELECT position, item_id, attempted_at, error FROM sync_delivery_last_attempts WHERE peer = ?", (peer,)
    )
    return Attempt(int(rows[0][0]), rows[0][1], rows[0][2], rows[0][3]) if rows else None


@dataclass(frozen=True)
class Pending:
    peer: str
    position: int
    item_id: str
    contract_id: str
    body: str
    attempts: int
    first_attempt_at: float | None


# Instants are seconds since the epoch: on PostgreSQL REAL is four bytes, and
# rounds today's instants to 128 s (retries came due minutes late), so outboxes
# made with it are widened.
WIDENED = "ALTER TABLE sync_delivery_outbox ALTER COLUMN {0} TYPE DOUBLE PRECISION"


def ensure_schema(database: ViewDatabase) -> None:
    with database.transaction() as tx:
        tx.serialise_schema_changes()
        for statement in SCHEMA:
            tx.execute(statement)
        if tx.dialect == "postgres":
            tx.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = 'sync_delivery_outbox' AND data_type = 'real'"
            )
            for (column,) in tx.fetchall():
                tx.execute(WIDENED.format(column))


def taken(database: ViewDatabase, peer: str) -> int:
    rows = database.query("SELECT taken FROM sync_delivery_peers WHERE peer = ?", (peer,))
    return int(rows[0][0]) if rows else 0


def paused(database: ViewDatabase, peer: str) -> str | None:
    rows = database.query("SELECT paused_because FROM sync_delivery_peers WHERE peer = ? AND paused_at IS NOT NULL", (peer,))
    return rows[0][0] if rows else None


def standing(database: ViewDatabase, peer: str) -> tuple[int, bool, set[str]]:
    """In one read: the feed position taken, whether the peer is paused, and
    the contracts with an item waiting in the outbox (their new items queue behind)."""
    with database.transaction(write=False) as tx:
        tx.execute("SELECT taken, paused_at FROM sync_delivery_peers WHERE peer = ?", (peer,))
        row = tx.fetchone()
        tx.execute("SELECT DISTINCT contract_id FROM sync_delivery_outbox WHERE peer = ?", (peer,))
        waiting = {r[0] for r in tx.fetchall()}
    return (int(row[0]) if row else 0), bool(row and row[1]), waiting


def take(
    database: ViewDatabase, peer: str, queued: list[tuple[int, str, str, str, int, float | None, float, str | None]], up_to: int,
    attempt: Attempt | None = None,
) -> None:
    """Records that the feed up to ``up_to`` was taken: sent, or queued in the
    outbox (position, item id, contract id, body, attempts, first attempt,
    next attempt, last error) behind a failure; and the round's last attempt,
    when it made one. Losing this write in a crash
    only sends those items again, under the same delivery ids, so the
    bookkeeping does not wait for the disk (synchronous_commit off)."""
    with database.transaction() as tx:
        if tx.dialect == "postgres":
            tx.execute("SET LOCAL synchronous_commit TO OFF")
        tx.insert_rows(
            "sync_delivery_outbox",
            ("peer", "position", "item_id", "contract_id", "body", "attempts", "first_attempt_at", "next_attempt_at", "last_error"),
            [(peer, *row) for row in queued],
            on_conflict="ON CONFLICT (peer, position) DO NOTHING",
        )
        tx.execute(
            "INSERT INTO sync_delivery_peers (peer, taken) VALUES (?, ?)"
            " ON CONFLICT (peer) DO UPDATE SET taken = excluded.taken",
            (peer, up_to),
        )
        _record_attempt(tx, peer, attempt)


def due_heads(database: ViewDatabase, peer: str, now: float, limit: int = 200) -> list[Pending]:
    """Each contract's first undelivered item, when its next attempt is due."""
    rows = database.query(
        "SELECT o.peer, o.position, o.item_id, o.contract_id, o.body, o.attempts, o.first_attempt_at"
        " FROM sync_delivery_outbox o JOIN (SELECT contract_id, MIN(position) AS head FROM sync_delivery_outbox"
        " WHERE peer = ? GROUP BY contract_id) h ON o.contract_id = h.contract_id AND o.position = h.head"
        " WHERE o.peer = ? AND o.next_attempt_at <= ? ORDER BY o.position LIMIT ?",
        (peer, peer, now, limit),
    )
    return [Pending(r[0], int(r[1]), r[2], r[3], r[4], int(r[5]), r[6]) for r in rows]


def next_due(database: ViewDatabase, peer: str) -> float | None:
    rows = database.query("SELECT MIN(next_attempt_at) FROM sync_delivery_outbox WHERE peer = ?", (peer,))
    return rows[0][0] if rows and rows[0][0] is not None else None


def delivered(database: ViewDatabase, item: Pending, attempt: Attempt | None = None) -> None:
    with database.transaction() as tx:
        tx.execute("DELETE FROM sync_delivery_outbox WHERE peer = ? AND position = ?", (item.peer, item.position))
        _record_attempt(tx, item.peer, attempt)


def failed(
    database: ViewDatabase, item: Pending, error: str, first_attempt_at: float, next_attempt_at: float,
    attempt: Attempt | None = None,
) -> None:
    with database.transaction() as tx:
        tx.execute(
            "UPDATE sync_delivery_outbox SET attempts = attempts + 1, first_attempt_at = ?, next_attempt_at = ?,"
            " last_error = ? WHERE peer = ? AND position = ?",
            (first_attempt_at, next_attempt_at, error, item.peer, item.position),
        )
        _record_attempt(tx, item.peer, attempt)


def give_up(database: ViewDatabase, item: Pending, error: str, at: str, attempt: Attempt | None = None) -> None:
    with database.transaction() as tx:
        _record_attempt(tx, item.peer, attempt)
        tx.execute("DELETE FROM sync_delivery_outbox WHERE peer = ? AND position = ?", (item.peer, item.position))
        tx.execute(
            "INSERT INTO sync_dead_letters (peer, position, item_id, contract_id, body, attempts, last_error, given_up_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (peer, position) DO NOTHING",
            (item.peer, item.position, item.item_id, item.contract_id, item.body, item.attempts + 1, error, at),
        )


def pause(database: ViewDatabase, peer: str, because: str, at: str, attempt: Attempt | None = None) -> None:
    with database.transaction() as tx:
        _record_attempt(tx, peer, attempt)
        tx.execute(
            "INSERT INTO sync_delivery_peers (peer, taken, paused_at, paused_because) VALUES (?, 0, ?, ?)"
            " ON CONFLICT (peer) DO UPDATE SET paused_at = excluded.paused_at, paused_because = excluded.paused_because",
            (peer, at, because),
        )


def resume(database: ViewDatabase, peer: str) -> bool:
    """Lifts a pause (after the peer answered 410 Gone); answers whether the
    peer was paused. The delivery worker is woken to send at once."""
    with database.transaction() as tx:
        tx.execute(
            "UPDATE sync_delivery_peers SET paused_at = NULL, paused_because = NULL WHERE peer = ? AND paused_at IS NOT NULL",
            (peer,),
        )
        was_paused = tx.rowcount > 0
        if was_paused:
            database.announce_change(tx)
    return was_paused


def dead_letters(
    database: ViewDatabase, peer: str, after: int = 0, limit: int | None = None, with_items: bool = False
) -> list[dict[str, Any]]:
    """The peer's dead letters after a position, oldest first (with the items themselves when asked)."""
    rows = database.query(
        "SELECT position, item_id, contract_id, attempts, last_error, given_up_at, body FROM sync_dead_letters"
        " WHERE peer = ? AND position > ? ORDER BY position" + (" LIMIT ?" if limit is not None else ""),
        (peer, after) if limit is None else (peer, after, limit),
    )
    keys = ("position", "item_id", "contract_id", "attempts", "last_error", "given_up_at")
    letters = []
    for row in rows:
        letter = dict(zip(keys, row[:6]))
        letter["position"], letter["attempts"] = int(letter["position"]), int(letter["attempts"])
        if with_items:
            letter["item"] = json.loads(row[6])
        letters.append(letter)
    return letters


class UnknownDeadLetters(LookupError):
    """Item ids named for a replay that are not among the peer's dead letters."""

    def __init__(self, item_ids: list[str]) -> None:
        super().__init__(f"no dead letter with the item id(s) {', '.join(item_ids)}")
        self.item_ids = item_ids


def replay(database: ViewDatabase, peer: str, item_ids: list[str] | None, now: float) -> list[str]:
    """Puts dead letters (all, or those named) back in the outbox, due now,
    with fresh attempts, and wakes the delivery worker; answers their item
    ids. Naming an item id that is not a dead letter of the peer replays
    nothing (UnknownDeadLetters)."""
    with database.transaction() as tx:
        tx.execute(
            "SELECT position, item_id, contract_id, body FROM sync_dead_letters WHERE peer = ? ORDER BY position", (peer,)
        )
        letters = tx.fetchall()
        if item_ids is not None:
            unknown = sorted(set(item_ids) - {r[1] for r in letters})
            if unknown:
                raise UnknownDeadLetters(unknown)
        chosen = [r for r in letters if item_ids is None or r[1] in item_ids]
        tx.insert_rows(
            "sync_delivery_outbox",
            ("peer", "position", "item_id", "contract_id", "body", "attempts", "next_attempt_at"),
            [(peer, p, i, c, b, 0, now) for p, i, c, b in chosen],
            on_conflict="ON CONFLICT (peer, position) DO NOTHING",
        )
        tx.executemany("DELETE FROM sync_dead_letters WHERE peer = ? AND position = ?", [(peer, r[0]) for r in chosen])
        if chosen:
            database.announce_change(tx)
    return [r[1] for r in chosen]


def backlog(database: ViewDatabase) -> dict[str, tuple[int, int]]:
    """Per peer: items waiting in the outbox for (re)delivery, and dead letters.
    Empty before the delivery worker first ran (its tables do not exist yet)."""
    try:
        waiting = dict(database.query("SELECT peer, COUNT(*) FROM sync_delivery_outbox GROUP BY peer"))
        dead = dict(database.query("SELECT peer, COUNT(*) FROM sync_dead_letters GROUP BY peer"))
    except Exception as error:  # sqlite3 and psycopg2 each say "no such table" their own way
        if "sync_" in str(error) or "does not exist" in str(error):
            return {}
        raise
    return {peer: (int(waiting.get(peer, 0)), int(dead.get(peer, 0))) for peer in sorted(set(waiting) | set(dead))}
