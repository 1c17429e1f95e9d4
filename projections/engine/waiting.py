"""Read your writes: wait until the live views have applied a position.

A caller that just recorded events at notification id N waits here until
every view it reads from has applied N. The runner announces each committed
batch (NOTIFY on PostgreSQL, the data version on SQLite), so the wait ends
with the batch's commit, not on a polling step.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from contractledger.projections.engine import positions
from contractledger.projections.engine.view_database import PostgresViewDatabase, ViewDatabase


def applied_positions(database: ViewDatabase) -> dict[str, int]:
    """Every live view's position; none before the runner's first start
    (its tables do not exist yet)."""
    try:
        with database.transaction(write=False) as tx:
            return positions.live_positions(tx)
    except Exception as error:  # sqlite3 and psycopg2 each say "no such table" their own way
        if "view_generations" in str(error) or "does not exist" in str(error):
            return {}
        raise


def wait_until_applied(
    database: ViewDatabase, notification_id: int, views: Iterable[str], timeout: float
) -> bool:
    """True once every named live view has applied ``notification_id``;
    False when the timeout passes first."""
    wanted = list(views)
    deadline = time.monotonic() + timeout
    if isinstance(database, PostgresViewDatabase):
        database.start_listening()
    while True:
        applied = applied_positions(database)
        if all(applied.get(view, 0) >= notification_id for view in wanted):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        database.wait_for_change(remaining)
