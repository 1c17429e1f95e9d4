"""Start-up failures of a store, said in one sentence naming the setting."""

from __future__ import annotations


class StoreConfigurationError(Exception):
    """Bad configuration found when a store starts: which setting, and why.

    The serve and script entry points print ``str(error)`` and exit non-zero,
    never a traceback.
    """

    def __init__(self, setting: str, sentence: str) -> None:
        super().__init__(sentence)
        self.setting = setting


class StoreUnavailable(StoreConfigurationError):
    """The store could not be reached: it is down, restarting or starting up.

    At start-up it stops the service like any bad setting (one sentence); while
    the service runs it is passing: commands and reads answer 503
    ``store.unavailable`` and the background processes wait and reconnect.
    """


# What a driver says when the server is not there (yet, or any more), as
# opposed to a setting that will never work (a wrong password, no such database).
TRANSIENT_CONNECT_FAILURES = (
    "connection refused",
    "timeout expired",
    "timed out",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "could not connect to server",
    "server closed the connection",
    "terminating connection",
    "no route to host",
    "network is unreachable",
    "could not receive data from server",
    "could not send data to server",
    "connection reset",
    "too many clients",
)


def is_transient_connect_failure(text: str) -> bool:
    lowered = text.lower()
    return any(reason in lowered for reason in TRANSIENT_CONNECT_FAILURES)
