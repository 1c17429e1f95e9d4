"""Which store the ledger runs on, from the environment, with safe defaults.

The embedded default is SQLite (``contractledger.store.sqlite``) in
``var/contractledger.sqlite3`` under the working directory; PostgreSQL is
chosen with ``PERSISTENCE_MODULE=contractledger.store.postgres`` and the
library's ``POSTGRES_*`` settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from contractledger.store.settings import DEFAULT_SQLITE_FILE, PERSISTENCE_MODULE, POSTGRES, SQLITE

__all__ = ["DEFAULT_SQLITE_FILE", "POSTGRES", "SQLITE", "check_persistence_module", "ledger_environment"]


def ledger_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings the ledger's stores read, defaults filled in."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("PERSISTENCE_MODULE", SQLITE)
    if env["PERSISTENCE_MODULE"] == SQLITE:
        env.setdefault("SQLITE_DBNAME", DEFAULT_SQLITE_FILE)
        dbname = env["SQLITE_DBNAME"]
        if not dbname.startswith(("file:", ":memory:")):
            directory = os.path.dirname(os.path.abspath(dbname))
            if os.path.basename(os.path.dirname(dbname) or ".") == "var" and not os.path.exists(directory):
                # Our own default folder: create it; any other missing folder is the user's mistake.
                os.makedirs(directory, exist_ok=True)
    return env


def check_persistence_module(env: Mapping[str, str]) -> None:
    """Refuses an unknown or unimportable PERSISTENCE_MODULE in one sentence."""
    PERSISTENCE_MODULE.value(env)
