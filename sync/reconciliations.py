"""The last reconciliation of each peer, kept beside the views so an operator
can see what drifted (the console's sync page) after the peer was answered.

``sync_reconciliations``: per peer, the instant of its last reconciliation,
how many contracts the peer sent, whether it said its list was complete,
and the discrepancies it was answered, as the answer listed them (JSON).
A reconciliation replaces the one before; nothing else is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from contractledger.projections.engine.view_database import ViewDatabase
from contractledger.sync.tables import TablesMadeOnce

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sync_reconciliations (peer TEXT PRIMARY KEY, reconciled_at KEY_TEXT NOT NULL,"
    " compared INTEGER NOT NULL, complete INTEGER NOT NULL, discrepancies TEXT NOT NULL)",
)


@dataclass(frozen=True)
class Reconciliation:
    peer: str
    reconciled_at: str
    compared: int
    """The contracts the peer sent."""
    complete: bool
    """The peer said its list was everything it holds (contracts it left out were looked for)."""
    discrepancies: list[dict[str, Any]]


_TABLES = TablesMadeOnce(SCHEMA)


def ensure_schema(database: ViewDatabase) -> None:
    """Creates the table (once per database object)."""
    _TABLES.ensure(database)


def record(database: ViewDatabase, answer: dict[str, Any], complete: bool, at: str) -> None:
    """Keeps a reconciliation's answer (``reconcile``'s) as the peer's last."""
    ensure_schema(database)
    with database.transaction() as tx:
        tx.execute(
            "INSERT INTO sync_reconciliations (peer, reconciled_at, compared, complete, discrepancies)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (peer) DO UPDATE SET reconciled_at = excluded.reconciled_at,"
            " compared = excluded.compared, complete = excluded.complete, discrepancies = excluded.discrepancies",
            (answer["peer"], at, answer["compared"], int(complete), json.dumps(answer["discrepancies"])),
        )


def last(database: ViewDatabase, peer: str) -> Reconciliation | None:
    """The peer's last reconciliation (None: it has not reconciled)."""
    ensure_schema(database)
    rows = database.query(
        "SELECT peer, reconciled_at, compared, complete, discrepancies FROM sync_reconciliations WHERE peer = ?", (peer,)
    )
    if not rows:
        return None
    name, at, compared, complete, discrepancies = rows[0]
    return Reconciliation(name, at, int(compared), bool(complete), json.loads(discrepancies))
