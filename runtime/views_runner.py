"""The views runner's process (``python -m contractledger.runtime.views_runner``,
which ``serve`` supervises): every view of the catalogue kept current, through
database outages, until SIGTERM. Exits 2 on a bad setting, 3 when a view
meets an event it cannot apply (it names it)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from contractledger.domain.clock import UnknownBusinessTimeZone
from contractledger.domain.ledger import ContractLedger
from contractledger.projections.engine import runner_metrics
from contractledger.projections.engine.chain_checkpoints import ChainWatch
from contractledger.projections.engine.rebuild import REBUILD_BATCH
from contractledger.projections.engine.runner import UndecodableEvent
from contractledger.projections.engine.service import run_views
from contractledger.projections.engine.view import UnhandledEvent
from contractledger.projections.engine.view_database import view_database_for
from contractledger.runtime import log_lines
from contractledger.runtime.catalogue import VIEWS
from contractledger.store.availability import StoreOutage
from contractledger.store.environment import ledger_environment
from contractledger.store.errors import StoreConfigurationError, StoreUnavailable
from contractledger.store.settings import Settings

log = logging.getLogger("contractledger.views")


def main() -> int:
    try:
        found = Settings.read()
    except StoreConfigurationError as error:
        print(f"contractledger views: {error}", file=sys.stderr)
        return 2
    log_lines.configure("views_runner", found.environment, level=found.log_level)
    env = ledger_environment(found.environment)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    outage = StoreOutage()
    while True:  # restarted while the database is down, it waits for it rather than failing again and again
        ledger = None
        try:
            ledger = ContractLedger(env)
            database = view_database_for(env)
            break
        except StoreUnavailable as error:
            if ledger is not None:
                ledger.close()
            if stop.wait(outage.wait(error)):
                return 0
        except (StoreConfigurationError, UnknownBusinessTimeZone) as error:
            log.error("contractledger views: %s", error)
            return 2
    outage.over()
    runner_metrics.start_counting(view.name for view in VIEWS)
    started = time.monotonic()
    log.info("views runner started for %s", ", ".join(v.name for v in VIEWS))
    # the chain's checkpoints are written beside the views, by a watch that never takes them down with it
    watch = threading.Thread(
        target=ChainWatch(ledger.recorder, database).run, args=(stop,), name="chain-watch", daemon=True
    )
    watch.start()
    try:
        # far behind (a new view, a restored copy, a long stop), the views catch up in a rebuild's batches
        run_views(ledger.recorder, ledger.mapper, database, VIEWS, stop, catch_up_batch_size=REBUILD_BATCH)
    except (UnhandledEvent, UndecodableEvent) as error:
        log.error("contractledger views: %s", error)
        return 3
    finally:
        log.info("views runner stopped after %.0f s", time.monotonic() - started)
        stop.set()
        watch.join(timeout=5)
        ledger.close()
        database.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
