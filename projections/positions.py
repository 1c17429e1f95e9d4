"""Where each view stands: its applied position per generation, and which
generation is live. Written in the same transaction as the view's rows, so a
view and its position can never disagree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contractledger.projections.view_database import ViewTransaction

if TYPE_CHECKING:
    from contractledger.projections.view import View

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS view_positions ("
    " view TEXT NOT NULL, generation INTEGER NOT NULL, position BIGINT NOT NULL,"
    " PRIMARY KEY (view, generation))",
    "CREATE TABLE IF NOT EXISTS view_generations (view TEXT PRIMARY KEY, live INTEGER NOT NULL)",
)


def ensure_schema(tx: ViewTransaction) -> None:
    tx.serialise_schema_changes()
    for statement in SCHEMA:
        tx.execute(statement)


def position(tx: ViewTransaction, view: str, generation: int) -> int:
    tx.execute("SELECT position FROM view_positions WHERE view = ? AND generation = ?", (view, generation))
    row = tx.fetchone()
    return int(row[0]) if row else 0


def record_position(tx: ViewTransaction, view: str, generation: int, applied: int) -> None:
    tx.execute(
        "INSERT INTO view_positions (view, generation, position) VALUES (?, ?, ?)"
        " ON CONFLICT (view, generation) DO UPDATE SET position = excluded.position",
        (view, generation, applied),
    )


def record_positions(tx: ViewTransaction, applied: list[tuple[str, int, int]]) -> None:
    """Several views' positions, (view, generation, position) each, in one statement."""
    tx.insert_rows(
        "view_positions", ("view", "generation", "position"), applied,
        on_conflict="ON CONFLICT (view, generation) DO UPDATE SET position = excluded.position",
    )


def live_generation(tx: ViewTransaction, view: str) -> int | None:
    tx.execute("SELECT live FROM view_generations WHERE view = ?", (view,))
    row = tx.fetchone()
    return int(row[0]) if row else None


def alias_if_live(tx: ViewTransaction, view: "View") -> None:
    """Points the view's live table names at its generation when that one is
    live (a runner's start: the first one, or one on a ledger whose names
    point nowhere yet)."""
    if live_generation(tx, view.name) == view.generation:
        for statement in view.alias_statements():
            tx.execute(statement)


def make_live(tx: ViewTransaction, view: str, generation: int) -> None:
    tx.execute(
        "INSERT INTO view_generations (view, live) VALUES (?, ?)"
        " ON CONFLICT (view) DO UPDATE SET live = excluded.live",
        (view, generation),
    )


def live_positions(tx: ViewTransaction) -> dict[str, int]:
    """Every live view's applied position."""
    tx.execute(
        "SELECT g.view, COALESCE(p.position, 0) FROM view_generations g"
        " LEFT JOIN view_positions p ON p.view = g.view AND p.generation = g.live"
    )
    return {view: int(applied) for view, applied in tx.fetchall()}
