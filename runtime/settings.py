"""The app's own numeric settings, read one way by ``serve`` (which refuses a
bad one at start-up, in one sentence naming it) and by the WSGI entry point."""

from __future__ import annotations

import math
from collections.abc import Mapping

from contractledger.store.errors import StoreConfigurationError

WAIT_BOUND = "CONTRACTLEDGER_WAIT_BOUND"
READY_MAX_LAG = "CONTRACTLEDGER_READY_MAX_LAG"
LONGEST_WAIT_SECONDS = 60.0


def wait_bound(env: Mapping[str, str]) -> float:
    """The longest a read waits for ``wait_for`` (seconds, default 5)."""
    given = env.get(WAIT_BOUND, "5")
    try:
        seconds = float(given)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= LONGEST_WAIT_SECONDS:  # nan and inf fail too
        raise StoreConfigurationError(
            WAIT_BOUND, f"{WAIT_BOUND}={given!r} must be a number of seconds above 0 and at most {LONGEST_WAIT_SECONDS:g}."
        )
    return seconds


def ready_max_lag(env: Mapping[str, str]) -> int:
    """How many events a view may be behind while /ready still says ready (default 100)."""
    given = env.get(READY_MAX_LAG, "100")
    if not given.isdigit() or not given.isascii():
        raise StoreConfigurationError(READY_MAX_LAG, f"{READY_MAX_LAG}={given!r} must be a whole number of events, 0 or more.")
    return int(given)


LOG_FORMAT = "CONTRACTLEDGER_LOG_FORMAT"


def log_format(env: Mapping[str, str]) -> str | None:
    """How every process writes its log: "json" or "text" (None, unset: text on a terminal, JSON otherwise)."""
    given = env.get(LOG_FORMAT, "").strip()
    if not given:
        return None
    if given not in ("json", "text"):
        raise StoreConfigurationError(LOG_FORMAT, f"{LOG_FORMAT}={given!r} must be json or text (or unset: text on a terminal).")
    return given
