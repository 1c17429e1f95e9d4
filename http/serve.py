"""The serve command: checks the configuration, then runs gunicorn, the
views runner and the sync delivery worker side by side, and stops them together.

Bad configuration stops here with one sentence naming the setting, before
any worker starts (a worker failing to boot would print a traceback).

The children run in this process's care: SIGTERM or SIGINT is passed on to
each; when any one ends by itself, the others are stopped too and the
command exits non-zero (a service without its views answers stale reads
forever; views without the API serve nobody). The workers share a
temporary directory for their metrics (see ``metrics``), removed on exit.

Settings (environment): CONTRACTLEDGER_BIND (default 127.0.0.1:8000),
CONTRACTLEDGER_WORKERS (default: 2 per core, at least 2), plus the store's
settings (PERSISTENCE_MODULE, SQLITE_DBNAME, POSTGRES_*).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from contractledger.domain.ledger import LEDGER_NAME
from contractledger.store.environment import check_persistence_module, ledger_environment
from contractledger.store.errors import StoreConfigurationError


def check_store(env: dict[str, str]) -> None:
    """Opens the configured store once, so that a bad setting fails now."""
    check_persistence_module(env)
    factory = InfrastructureFactory.construct(Environment(LEDGER_NAME, env))
    try:
        factory.application_recorder()
    finally:
        factory.close()


def gunicorn_arguments(env: dict[str, str]) -> list[str]:
    bind = env.get("CONTRACTLEDGER_BIND", "127.0.0.1:8000")
    workers = env.get("CONTRACTLEDGER_WORKERS") or str(max(2, 2 * (os.cpu_count() or 1)))
    if not workers.isdigit() or int(workers) < 1:
        raise StoreConfigurationError(
            "CONTRACTLEDGER_WORKERS", f"CONTRACTLEDGER_WORKERS={workers!r} must be a whole number of at least 1."
        )
    return [
        "--no-control-socket",
        "--bind", bind,
        "--workers", workers,
        # no gunicorn access log: the app writes one structured line per request
        "contractledger.http.app:get_app()",
    ]


STOP_GRACE_SECONDS = 20.0


def main(argv: list[str] | None = None) -> int:
    env = ledger_environment()
    try:
        check_store(env)
        arguments = gunicorn_arguments(env)
    except StoreConfigurationError as error:
        print(f"contractledger: {error}", file=sys.stderr)
        return 2
    metrics = tempfile.mkdtemp(prefix="contractledger-metrics-")
    env = {**env, "CONTRACTLEDGER_METRICS_DIR": env.get("CONTRACTLEDGER_METRICS_DIR") or metrics}
    try:
        return supervise(
            [
                [sys.executable, "-m", "contractledger.projections.service"],
                [sys.executable, "-m", "gunicorn", *arguments, *(argv or [])],
                # pushes the sync peers' feeds to their endpoints (sync/delivery.py)
                [sys.executable, "-m", "contractledger.sync.delivery", "run"],
            ],
            env,
        )
    finally:
        shutil.rmtree(metrics, ignore_errors=True)


def supervise(commands: list[list[str]], env: dict[str, str]) -> int:
    """Runs the commands together until asked to stop or until one ends."""
    asked_to_stop: list[int] = []

    def stop(signum: int, frame: object) -> None:
        asked_to_stop.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    children = [subprocess.Popen(command, env=env) for command in commands]
    ended = None
    while not asked_to_stop and ended is None:
        ended = next((child for child in children if child.poll() is not None), None)
        time.sleep(0.1)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    if asked_to_stop:
        return 0
    name = ("the views runner", "gunicorn", "the sync delivery worker")[children.index(ended)]
    print(f"contractledger: {name} stopped (exit status {ended.returncode}); stopped the rest too.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
