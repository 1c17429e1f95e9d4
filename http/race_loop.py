"""``scripts/race-loop --runs N``: every race of ``races`` N times against
the served app (the serve command: gunicorn with several workers, the views
runner, the delivery worker) on PostgreSQL, in a schema of its own; prints
per race the runs, the clean winners and the serial orders seen. Exits 1
when a run was not clean.

The PostgreSQL server is the one ``POSTGRES_*`` names (scripts/race-loop
starts a throwaway one when none is set); ``--store sqlite`` races on the
SQLite default in a temporary directory instead.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from uuid import uuid4

from contractledger.domain.clock import SystemClock
from contractledger.domain.ledger import ContractLedger
from contractledger.http.races import RACES, RaceGround, report, run_races
from contractledger.http.tokens import TokenRegistry
from contractledger.projections.engine.view_database import view_database_for
from contractledger.store.errors import StoreConfigurationError
from contractledger.store.settings import Settings

POSTGRES_KEYS = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD")
STORE_PREFIXES = ("POSTGRES_", "SQLITE_", "PERSISTENCE_")


def store_settings(store: str, directory: Path) -> dict[str, str]:
    if store == "sqlite":
        return {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": str(directory / "ledger.sqlite3")}
    missing = [key for key in POSTGRES_KEYS if not os.environ.get(key)]
    if missing:
        raise SystemExit(f"race-loop: {missing[0]} is not set; run it as scripts/race-loop (it starts a PostgreSQL server).")
    return {
        "PERSISTENCE_MODULE": "contractledger.store.postgres",
        **{key: os.environ[key] for key in POSTGRES_KEYS},
        "POSTGRES_SCHEMA": f"race_{uuid4().hex[:12]}",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedLedger:
    """The serve command on a free port, on the given store settings."""

    def __init__(self, directory: Path, settings: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.log = directory / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(STORE_PREFIXES)}
        env.update(settings, CONTRACTLEDGER_BIND=f"127.0.0.1:{self.port}", CONTRACTLEDGER_WORKERS=str(workers))
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "contractledger.runtime.serve"], env=env, cwd=directory, stdout=log, stderr=log
            )
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._wait_until_up()

    def _wait_until_up(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"race-loop: the server did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def ensure_running(self) -> None:
        """A /health answer on the port could be another process's (a port taken in between)."""
        time.sleep(0.5)
        if self.process.poll() is not None:
            raise SystemExit(f"race-loop: the server stopped after starting:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()


RACE_LOOP_EPILOG = """\
It serves the ledger once (gunicorn with several workers, the views runner
and the delivery worker) from a temporary folder, on PostgreSQL in a
schema of its own (the server POSTGRES_* names; scripts/race-loop starts a
throwaway one when none is set) or, with --store sqlite, on SQLite. Prints,
per race, the runs, the clean winners and the serial orders seen.

exit status:
  0  every run of every race had one clean winner
  1  a run was not clean, or the served ledger did not start (its log's last
     lines are printed), or POSTGRES_* is not set for --store postgres
  2  arguments it cannot read
"""


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="contractledger race-loop",
        description="Run every two-writer race N times against the served ledger and count\n"
        "the clean winners.",
        epilog=RACE_LOOP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("--runs", type=int, default=100, help="runs of each race (default 100)")
    command.add_argument(
        "--race", action="append", choices=sorted(RACES), metavar="RACE",
        help="only this race (repeatable), named in quotes: " + ", ".join(f'"{name}"' for name in sorted(RACES)),
    )
    command.add_argument(
        "--store", choices=("postgres", "sqlite"), default="postgres",
        help="the store to race on: postgres (the default) or sqlite",
    )
    command.add_argument("--workers", type=int, default=4, help="gunicorn workers, at least 2 (default 4)")
    return command


def main(argv: list[str] | None = None) -> int:
    command = parser()
    arguments = command.parse_args(argv)
    if arguments.runs < 1 or arguments.workers < 2:
        command.error("--runs must be at least 1 and --workers at least 2 (two writers at once)")
    with tempfile.TemporaryDirectory(prefix="contractledger-races-") as folder:
        directory = Path(folder)
        settings = store_settings(arguments.store, directory)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(STORE_PREFIXES)}, **settings}
        try:
            Settings.read(env)  # the store it races on, checked before anything starts
        except StoreConfigurationError as error:
            print(f"race-loop: {error}", file=sys.stderr)
            return 2
        served = ServedLedger(directory, settings, arguments.workers)
        served.ensure_running()
        ledger, views = ContractLedger(env), view_database_for(env)
        try:
            tokens = TokenRegistry(views, SystemClock(), ledger)
            tokens.ensure_schema()
            ground = RaceGround(served.base_url, ledger, tokens)
            started = time.monotonic()
            tallies = run_races(ground, arguments.runs, arguments.race)
            elapsed = time.monotonic() - started
        finally:
            served.stop()
            ledger.close()
            views.close()
    print(f"{arguments.store}, {arguments.workers} gunicorn workers, {arguments.runs} runs of each race in {elapsed:.0f} s")
    print(report(tallies))
    return 0 if all(t.clean == t.runs for t in tallies.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
