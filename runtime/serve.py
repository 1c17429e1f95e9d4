"""The serve command: checks the configuration, then runs gunicorn, the
views runner and the sync delivery worker side by side.

Bad configuration stops here with one sentence naming the setting, before
any worker starts (a worker failing to boot would print a traceback).

The children run in this process's care (``supervision``): SIGTERM or
SIGINT is passed on to each; one that dies is restarted with back-off while
the others keep serving, and only one failing again and again stops the
service. The processes share a temporary folder for their metrics and their
state (see ``metrics`` and ``supervision``), removed on exit, and by the
next serve when this one was killed.

Settings (environment): CONTRACTLEDGER_BIND (default 127.0.0.1:8000),
CONTRACTLEDGER_WORKERS (default: 2 per core, at least 2),
CONTRACTLEDGER_THREADS (requests each worker serves at once, default 4),
CONTRACTLEDGER_BUSINESS_TIME_ZONE (an IANA name, default UTC), plus the
store's settings (PERSISTENCE_MODULE, SQLITE_DBNAME, POSTGRES_*) and push
delivery's (sync/endpoint.py: a pushed peer's endpoint that breaks its rules
stops the service here).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from contractledger.domain.ledger import LEDGER_NAME
from contractledger.runtime import log_lines
from contractledger.runtime.settings import LOG_FORMAT, Settings, checked_settings
from contractledger.runtime.supervision import ChildSpec, Supervisor
from contractledger.store.environment import check_persistence_module, ledger_environment
from contractledger.store.settings import METRICS_DIR
from contractledger.store.availability import is_unavailable
from contractledger.store.errors import StoreConfigurationError, StoreUnavailable
from contractledger.sync.peer import PeerDefinitionError


log = logging.getLogger("contractledger.serve")
STORE_WAIT_SECONDS = 10.0


def check_store(env: dict[str, str], wait: float = STORE_WAIT_SECONDS) -> None:
    """Opens the configured store once, so that a bad setting fails now. A store
    out of reach for a moment (a database still starting, a SQLite file another
    process is recovering) is waited for, up to ``wait`` seconds."""
    check_persistence_module(env)
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            _open_once(env)
            return
        except Exception as error:
            if not is_unavailable(error):
                raise
            if time.monotonic() >= deadline:
                if isinstance(error, StoreConfigurationError):
                    raise
                raise StoreUnavailable("PERSISTENCE_MODULE", f"The store did not answer within {wait:g} s: {_first_line(error)}.") from None
            if not said:
                log.warning("contractledger: waiting up to %g s for the store (%s)", wait, _first_line(error))
                said = True
            time.sleep(0.5)


def _open_once(env: dict[str, str]) -> None:
    factory = InfrastructureFactory.construct(Environment(LEDGER_NAME, env))
    try:
        factory.application_recorder()
    finally:
        factory.close()


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")


# What gunicorn itself refuses before the app sees a request (README, "Limits"):
# a longer request line is 414, more header fields or a longer one is 431.
# The longest request line the API means is under 1,000 bytes (three ids, a
# status, a day, an instant, a 512-character cursor); a bearer token is 47.
REQUEST_LINE_BYTES = 4096
REQUEST_HEADER_FIELDS = 64
REQUEST_HEADER_FIELD_BYTES = 8190


def gunicorn_arguments(found: Settings) -> list[str]:
    return [
        "--no-control-socket",
        # its hooks: a dead worker's live metrics removed (runtime/gunicorn_hooks.py)
        "--config", "python:contractledger.runtime.gunicorn_hooks",
        "--bind", found.bind,
        "--workers", str(found.workers),
        # threaded workers: a connection that sends nothing (a browser's preconnected socket, a
        # stalled client) holds one thread until it speaks or times out, not a whole worker,
        # which a sync worker would be for gunicorn's 30 s timeout while everyone else waits
        "--worker-class", "gthread",
        "--threads", str(found.threads),
        "--limit-request-line", str(REQUEST_LINE_BYTES),
        "--limit-request-fields", str(REQUEST_HEADER_FIELDS),
        "--limit-request-field_size", str(REQUEST_HEADER_FIELD_BYTES),
        # no gunicorn access log: the app writes one structured line per request
        "contractledger.runtime.wsgi:get_app()",
    ]


METRICS_PREFIX = "contractledger-metrics-"


def make_metrics_directory() -> str:
    """The service's shared folder for every process's metrics (prometheus_client's
    multiprocess files) and the processes' state, named after this process;
    folders of services no longer running (killed before they could remove
    their own) are removed first."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        if not name.startswith(METRICS_PREFIX):
            continue
        owner = name[len(METRICS_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{METRICS_PREFIX}{os.getpid()}-")


def clear_metrics(directory: str) -> None:
    """An earlier run's metrics files, removed from a folder the operator named:
    prometheus_client would add their counts to this run's."""
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def children(arguments: list[str]) -> list[ChildSpec]:
    return [
        ChildSpec("the views runner", "views_runner", [sys.executable, "-m", "contractledger.runtime.views_runner"]),
        # when the supervisor dies, gunicorn shuts down gracefully (SIGTERM): it closes its socket at once, so a
        # new serve can listen, and lets each worker finish the request it is answering (its quick shutdown,
        # SIGQUIT, would answer those with its own HTML 500 page)
        ChildSpec("gunicorn", "http", [sys.executable, "-m", "gunicorn", *arguments]),
        # pushes the sync peers' feeds to their endpoints (sync/delivery.py)
        ChildSpec("the sync delivery worker", "delivery_worker", [sys.executable, "-m", "contractledger.runtime.delivery_worker"]),
    ]


SERVE_EPILOG = """\
Settings are read from the environment when it starts (the README's
Configuration table): CONTRACTLEDGER_BIND (default 127.0.0.1:8000),
CONTRACTLEDGER_WORKERS (default 2 per core), CONTRACTLEDGER_THREADS (the
requests each worker serves at once, default 4), the business time zone and the
store's settings (PERSISTENCE_MODULE, SQLITE_DBNAME, POSTGRES_*). A bad
setting stops it before any process starts, with one sentence naming it.

A process that dies is started again after a back-off while the others keep
serving; SIGTERM or SIGINT stops them all.

exit status:
  0  stopped by SIGTERM or SIGINT
  1  a process failed 5 times within 60 s (it is named, with what it last said)
  2  a bad setting, a store that did not answer within 10 s, or arguments it cannot read
"""


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="contractledger serve",
        description="Serve the API with gunicorn, with the views runner and the sync delivery\n"
        "worker beside it, each restarted when it dies.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "gunicorn_options", nargs="*", metavar="-- GUNICORN_OPTION",
        help="after --, options passed on to gunicorn as they are (such as: -- --timeout 120)",
    )
    return command


def _gunicorn_options(argv: list[str]) -> list[str]:
    """The options after ``--``; anything before it but --help is refused (exit 2),
    so that a mistyped option is not handed to gunicorn as the app to load."""
    command = parser()
    before = argv[: argv.index("--")] if "--" in argv else argv
    known, unknown = command.parse_known_args(before)
    if unknown or known.gunicorn_options:
        command.error(
            f"unrecognized arguments: {' '.join(before)} (options for gunicorn go after --, "
            "as in: contractledger serve -- --timeout 120)"
        )
    return argv[len(before) + 1:]


def main(argv: list[str] | None = None) -> int:
    extra = _gunicorn_options(list(argv or []))
    try:
        found = checked_settings()
        # every process writes the one format; the children's standard error is a pipe to this one,
        # so whether it is a terminal is decided here
        env = {**ledger_environment(found.environment), LOG_FORMAT: log_lines.chosen_format(found.environment, sys.stderr)}
        log_lines.configure("supervisor", env, level=found.log_level)
        check_store(env)
        arguments = gunicorn_arguments(found)
    except (StoreConfigurationError, PeerDefinitionError) as error:
        print(f"contractledger: {error}", file=sys.stderr)
        return 2
    own_metrics = found.metrics_dir is None
    metrics = make_metrics_directory() if own_metrics else str(found.metrics_dir)
    if not own_metrics:
        clear_metrics(metrics)
    # every child counts in prometheus_client's multiprocess mode, in the one folder
    env = {**env, METRICS_DIR.name: metrics, "PROMETHEUS_MULTIPROC_DIR": metrics}
    try:
        return Supervisor(children([*arguments, *extra]), env, metrics).run()
    finally:
        if own_metrics:
            shutil.rmtree(metrics, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
