"""What every process and command checks before it starts: every declared
setting (``store/settings.py``), the settings no longer read, and each pushed
sync peer's endpoint. A bad one stops it with one sentence naming it."""

from __future__ import annotations

from collections.abc import Mapping

from contractledger.store.errors import StoreConfigurationError
from contractledger.store.settings import LONGEST_WAIT_SECONDS, READY_MAX_LAG as _READY_MAX_LAG
from contractledger.store.settings import WAIT_BOUND as _WAIT_BOUND
from contractledger.store.settings import LOG_FORMAT as _LOG_FORMAT
from contractledger.store.settings import Settings

WAIT_BOUND = _WAIT_BOUND.name
READY_MAX_LAG = _READY_MAX_LAG.name
__all__ = ["LOG_FORMAT", "LONGEST_WAIT_SECONDS", "READY_MAX_LAG", "WAIT_BOUND", "Settings", "checked_settings", "wait_bound",
           "ready_max_lag", "log_format"]

RETIRED_SETTINGS = {
    "CONTRACTLEDGER_SYNC_OPERATORS": "CONTRACTLEDGER_SYNC_OPERATORS is no longer read: operators now have tokens of their "
    "own, so issue one to each user it lists (scripts/tokens issue --role operator --user NAME) and unset it.",
}


def refuse_retired_settings(env: Mapping[str, str]) -> None:
    """A setting that no longer does anything stops the service rather than be silently ignored."""
    for setting, sentence in RETIRED_SETTINGS.items():
        if env.get(setting, "").strip():
            raise StoreConfigurationError(setting, sentence)


def checked_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Every setting, read once and checked (StoreConfigurationError or
    PeerDefinitionError, one sentence): what a process starts from."""
    from contractledger.sync import delivery  # the peers' files and endpoints, checked against the settings

    found = Settings.read(environ)
    refuse_retired_settings(found.environment)
    delivery.check_configuration(found.environment)
    return found


def wait_bound(env: Mapping[str, str]) -> float:
    """The longest a read waits for ``wait_for`` (seconds, default 5)."""
    return _WAIT_BOUND.value(env)


def ready_max_lag(env: Mapping[str, str]) -> int:
    """How many events a view may be behind while /ready still says ready (default 100)."""
    return _READY_MAX_LAG.value(env)


LOG_FORMAT = _LOG_FORMAT.name


def log_format(env: Mapping[str, str]) -> str | None:
    """How every process writes its log: "json" or "text" (None, unset: text on a terminal, JSON otherwise)."""
    return _LOG_FORMAT.value(env)
