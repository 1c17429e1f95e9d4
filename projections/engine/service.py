"""Keeping views current: every live view, caught up, then following (the
views runner's process, ``runtime/views_runner.py``, runs this). When a rebuild switches a view to a
new generation, the runner notices on its next idle moment and rebinds. A
second runner waits until the first one stops (it never applies events
twice). A view that meets an event it cannot handle stops the runner with a
message naming the event. When the store goes away (a database restart, an
outage) the runner says so in one line, waits (half a second, doubling to
two) and starts over from the views' committed positions: nothing is
applied twice and nothing skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from contractledger.projections.engine import positions
from contractledger.projections.engine.runner import ViewRunner
from contractledger.projections.engine.view import View
from contractledger.projections.engine.view_database import ViewDatabase, ViewRunnerAlreadyRunning
from contractledger.store.availability import StoreOutage, is_unavailable

log = logging.getLogger("contractledger.views")


def live_generations(database: ViewDatabase, view_classes: Sequence[type[View]]) -> dict[str, int]:
    """Each view's live generation; a view never built before starts at 1."""
    with database.transaction() as tx:
        positions.ensure_schema(tx)
        found = {}
        for view_class in view_classes:
            generation = positions.live_generation(tx, view_class.name)
            if generation is None:
                generation = 1
                positions.make_live(tx, view_class.name, generation)
            found[view_class.name] = generation
        return found


def _logged(events: int, last: int) -> None:
    log.info("applied a batch of %d event(s), up to position %d", events, last)


def run_views(
    recorder: Any,
    mapper: Any,
    database: ViewDatabase,
    view_classes: Sequence[type[View]],
    stop: threading.Event,
    batch_size: int = 1000,
    wait_for_other_runner: float = 1.0,
    catch_up_batch_size: int | None = None,
) -> None:
    """Runs until ``stop`` is set; raises UnhandledEvent/UndecodableEvent if a view cannot go on.

    What is already recorded is applied ``catch_up_batch_size`` events a
    transaction (``batch_size`` when not given), what arrives live
    ``batch_size`` at most."""
    outage = StoreOutage()
    while not stop.is_set():
        try:
            _run_once(recorder, mapper, database, view_classes, stop, batch_size, wait_for_other_runner,
                      catch_up_batch_size)
            outage.over()
        except Exception as error:
            if not is_unavailable(error):
                raise
            stop.wait(outage.wait(error))


def _run_once(
    recorder: Any,
    mapper: Any,
    database: ViewDatabase,
    view_classes: Sequence[type[View]],
    stop: threading.Event,
    batch_size: int,
    wait_for_other_runner: float,
    catch_up_batch_size: int | None,
) -> None:
    bound = live_generations(database, view_classes)
    views = [view_class(bound[view_class.name]) for view_class in view_classes]
    runner = ViewRunner(recorder, mapper, database, views, batch_size=batch_size, on_batch=_logged,
                        catch_up_batch_size=catch_up_batch_size)
    try:
        runner.acquire()
    except ViewRunnerAlreadyRunning as busy:
        log.warning("%s; waiting", busy)
        stop.wait(wait_for_other_runner)
        return
    try:
        runner.prepare()
        runner.catch_up()

        def switched() -> bool:
            return live_generations(database, view_classes) != bound

        runner.follow(stop, should_stop=switched)
    finally:
        try:
            runner.release()
        except Exception as error:  # its lock's connection died with the store: the lock went with it
            if not is_unavailable(error):
                raise
