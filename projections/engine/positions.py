"""Where each view stands: its applied position per generation, and which
generation is live. Written in the same transaction as the view's rows, so a
view and its position can never disagree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contractledger.projections.engine.view_database import ViewTransaction

if TYPE_CHECKING:
    from contractledger.projections.engine.view import View

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS view_positions ("
    " view TEXT NOT NULL, generation INTEGER NOT NULL, position BIGINT NOT NULL,"
    " PRIMARY KEY (view, generation))",
    "CREATE TABLE IF NOT EXISTS view_generations (view TEXT PRIMARY KEY, live INTEGER NOT NULL)",
    # what a rebuild measured of each view: to share views out among parallel rebuild workers
    "CREATE TABLE IF NOT EXISTS view_rebuild_work ("
    " view TEXT PRIMARY KEY, seconds DOUBLE PRECISION NOT NULL, events BIGINT NOT NULL)",
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


def record_rebuild_work(tx: ViewTransaction, work: dict[str, tuple[float, int]]) -> None:
    """Keeps what a rebuild measured of each view (seconds applying, events
    applied), unless an earlier rebuild measured it over at least twice as
    many events: a short last stretch says little of a view's weight."""
    tx.execute("SELECT view, events FROM view_rebuild_work")
    kept = {view: int(events) for view, events in tx.fetchall()}
    for view, (seconds, events) in work.items():
        if events and events * 2 >= kept.get(view, 0):
            tx.execute(
                "INSERT INTO view_rebuild_work (view, seconds, events) VALUES (?, ?, ?)"
                " ON CONFLICT (view) DO UPDATE SET seconds = excluded.seconds, events = excluded.events",
                (view, seconds, events),
            )


def rebuild_work(tx: ViewTransaction) -> dict[str, float]:
    """Each measured view's seconds per event in its last telling rebuild."""
    tx.execute("SELECT view, seconds, events FROM view_rebuild_work WHERE events > 0")
    return {view: float(seconds) / int(events) for view, seconds, events in tx.fetchall()}
