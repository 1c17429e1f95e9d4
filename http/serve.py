"""The serve command: checks the configuration, then runs gunicorn.

Bad configuration stops here with one sentence naming the setting, before
any worker starts (a worker failing to boot would print a traceback).

Settings (environment): CONTRACTLEDGER_BIND (default 127.0.0.1:8000),
CONTRACTLEDGER_WORKERS (default: 2 per core, at least 2), plus the store's
settings (PERSISTENCE_MODULE, SQLITE_DBNAME, POSTGRES_*).
"""

from __future__ import annotations

import os
import sys

from eventsourcing.persistence import InfrastructureFactory

from contractledger.store.environment import check_persistence_module, ledger_environment
from contractledger.store.errors import StoreConfigurationError


def check_store(env: dict[str, str]) -> None:
    """Opens the configured store once, so that a bad setting fails now."""
    check_persistence_module(env)
    factory = InfrastructureFactory.construct(env)
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
        "--access-logfile", "-",
        "contractledger.http.app:get_app()",
    ]


def main(argv: list[str] | None = None) -> int:
    env = ledger_environment()
    try:
        check_store(env)
        arguments = gunicorn_arguments(env)
    except StoreConfigurationError as error:
        print(f"contractledger: {error}", file=sys.stderr)
        return 2
    os.environ.update(env)
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", *arguments, *(argv or [])])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
