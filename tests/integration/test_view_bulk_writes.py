"""Bulk view writes (``ViewTransaction.insert_rows``) keep every value exactly,
whichever way they go: VALUES for a few rows, COPY for many on PostgreSQL
(through a staging table when rows may conflict), executemany on SQLite."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from contractledger.projections.engine.view_database import (
    COPY_THRESHOLD,
    ViewDatabase,
)
from views_scenario import postgres_views, sqlite_views  # noqa: E402

AWKWARD = ["plain", "tab\there", "new\nline", "cr\rhere", "back\\slash", "\\N", "\\", "é ü 中文 🙂", "", "'quote\"", "%s ?"]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: Any, tmp_path: Any) -> Any:
    yield from (sqlite_views(tmp_path) if request.param == "sqlite" else postgres_views())


def _rows(count: int, offset: int = 0) -> list[tuple[Any, ...]]:
    return [
        (f"k{i}", AWKWARD[i % len(AWKWARD)], None if i % 3 == 0 else i * 10**12, None if i % 4 == 0 else AWKWARD[(i * 7) % len(AWKWARD)])
        for i in range(offset, offset + count)
    ]


@pytest.mark.parametrize("count", [3, COPY_THRESHOLD + 17])
def test_awkward_values_come_back_exactly(database: ViewDatabase, count: int) -> None:
    with database.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, a TEXT, n BIGINT, b TEXT)")
        tx.insert_rows("t", ("k", "a", "n", "b"), _rows(count))
    assert sorted(database.query("SELECT k, a, n, b FROM t")) == sorted(_rows(count))


@pytest.mark.parametrize("count", [3, COPY_THRESHOLD + 17])
def test_conflicting_rows_update_in_place_twice_in_one_transaction(database: ViewDatabase, count: int) -> None:
    on_conflict = "ON CONFLICT (k) DO UPDATE SET a = excluded.a, n = excluded.n, b = excluded.b"
    first = _rows(count)
    changed = [(k, b, n, a) for k, a, n, b in first]
    with database.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, a TEXT, n BIGINT, b TEXT)")
        tx.insert_rows("t", ("k", "a", "n", "b"), first, on_conflict=on_conflict)
        tx.insert_rows("t", ("k", "a", "n", "b"), changed, on_conflict=on_conflict)
    with database.transaction() as tx:
        tx.insert_rows("t", ("k", "a", "n", "b"), _rows(count, offset=count), on_conflict=on_conflict)
    assert sorted(database.query("SELECT k, a, n, b FROM t")) == sorted(changed + _rows(count, offset=count))


def test_postgres_view_tables_keep_ids_dates_and_instants_in_byte_order() -> None:
    """On PostgreSQL a view's ids, dates and instants are created in the "C"
    collation (compared as bytes, their order); names keep the server's."""
    from contractledger.projections.contract_status import ContractStatusView
    from contractledger.projections.directory import DirectoryView

    for database in postgres_views():
        status, directory = ContractStatusView(1), DirectoryView(1)
        with database.transaction() as tx:
            for statement in status.tables_schema() + directory.tables_schema():
                tx.execute(statement)
        collations = dict(
            database.query(
                "SELECT table_name || '.' || column_name, COALESCE(collation_name, 'default')"
                " FROM information_schema.columns WHERE table_schema = current_schema() AND data_type = 'text'"
            )
        )
        contracts, parties = status.t["contracts"], directory.t["parties"]
        assert collations[f"{contracts}.contract_id"] == "C"
        assert collations[f"{contracts}.created_at"] == "C"
        assert collations[f"{status.t['status_changes']}.effective_on"] == "C"
        assert collations[f"{parties}.party_id"] == "C"
        assert collations[f"{parties}.name"] == "default"
        assert collations[f"{contracts}.chain"] == "default"
