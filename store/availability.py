"""Whether an error means the store is out of reach for a moment (down,
restarting, starting up, locked), as opposed to a fault of the request or a
bug: the HTTP app answers those with 503 ``store.unavailable`` and
``Retry-After``, and the views runner and the delivery worker wait and
reconnect instead of dying."""

from __future__ import annotations

import logging
import sqlite3

from eventsourcing.persistence import InterfaceError, OperationalError

from contractledger.store.errors import StoreUnavailable

log = logging.getLogger("contractledger.store")

# SQLite's passing faults: another writer holds the file past the busy timeout.
_SQLITE_PASSING = ("database is locked", "database table is locked")


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, (StoreUnavailable, OperationalError, InterfaceError)):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return any(reason in str(error).lower() for reason in _SQLITE_PASSING)
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - the PostgreSQL driver is a dependency
        return False
    return isinstance(error, (psycopg2.OperationalError, psycopg2.InterfaceError))


class StoreOutage:
    """Back-off while the store cannot be reached, and one log line when it goes and comes back."""

    FIRST_WAIT = 0.5
    LONGEST_WAIT = 2.0

    def __init__(self, what: str = "views runner") -> None:
        self.what = what
        self.failures = 0

    def wait(self, error: BaseException) -> float:
        self.failures += 1
        delay = min(self.LONGEST_WAIT, self.FIRST_WAIT * 2 ** (self.failures - 1))
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if self.failures == 1:
            log.warning("%s: the store is unavailable (%s); reconnecting", self.what, reason)
        return delay

    def over(self) -> None:
        if self.failures:
            log.info("%s: the store answers again after %d attempt(s)", self.what, self.failures)
        self.failures = 0
