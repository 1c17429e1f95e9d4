"""The two stores a test can run on: the SQLite default in a temporary file,
and PostgreSQL (the throwaway server scripts/test starts) in a new schema.

A test that takes the ``store`` fixture (tests/integration/conftest.py) runs
once on each; ``ledger_env`` gives the settings a process would be started
with, which the ledger and ``view_database_for`` both read."""

from __future__ import annotations

import os
from pathlib import Path
from uuid import uuid4

import pytest

STORES = ("sqlite", "postgres")
POSTGRES_KEYS = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD")


def ledger_env(store: str, folder: Path) -> dict[str, str]:
    if store == "sqlite":
        return {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": str(folder / "ledger.sqlite3")}
    if not os.environ.get("POSTGRES_HOST"):
        pytest.skip("no PostgreSQL server: run under scripts/test (or scripts/with-postgres)")
    return {
        "PERSISTENCE_MODULE": "contractledger.store.postgres",
        **{key: os.environ[key] for key in POSTGRES_KEYS},
        "POSTGRES_SCHEMA": f"t_{uuid4().hex[:16]}",
    }
