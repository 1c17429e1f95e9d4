"""Comparing a rebuilt generation of a view with the live one, at one
position (``scripts/rebuild-views --verify``: ``runtime/rebuild_views.py``)."""

from __future__ import annotations

import time
from typing import Any

from contractledger.projections.engine import positions
from contractledger.projections.engine.rebuild import compare
from contractledger.projections.engine.runner import ViewRunner
from contractledger.projections.engine.view import View
from contractledger.projections.engine.view_database import ViewDatabase, ViewRunnerAlreadyRunning


def live_position(database: ViewDatabase, name: str) -> tuple[int | None, int]:
    with database.transaction(write=False) as tx:
        generation = positions.live_generation(tx, name)
        return generation, positions.position(tx, name, generation) if generation else 0


def verify_against_live(
    recorder: Any, mapper: Any, database: ViewDatabase, view_class: type[View], generation: int, wait: float = 10.0
) -> list[str]:
    """Differences between a rebuilt generation and the live one, compared at one position."""
    live_generation, live_at = live_position(database, view_class.name)
    if live_generation is None or live_generation == generation:
        return []
    rebuilt = ViewRunner(recorder, mapper, database, [view_class(generation)])
    rebuilt.acquire()
    try:
        rebuilt.prepare()
        deadline = time.monotonic() + wait
        while live_at < rebuilt.position and time.monotonic() < deadline:
            time.sleep(0.05)  # the live runner is catching up to what the rebuild saw
            live_generation, live_at = live_position(database, view_class.name)
        if live_at < rebuilt.position:
            try:
                live = ViewRunner(recorder, mapper, database, [view_class(live_generation)])
                live.acquire()
            except ViewRunnerAlreadyRunning:
                return [f"{view_class.name}: the live view stays behind at {live_at}; cannot compare at one position"]
            try:
                live.prepare()
                live.catch_up(until=rebuilt.position)
                live_at = live.position
            finally:
                live.release()
        rebuilt.catch_up(until=live_at)
    finally:
        rebuilt.release()
    return compare(database, view_class, live_generation, generation)
