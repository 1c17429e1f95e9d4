"""The stores' module paths are settings: ``PERSISTENCE_MODULE`` names
``contractledger.store.sqlite`` or ``contractledger.store.postgres`` (README),
and the library's recorder-topic settings name a class in them. Each store is
a folder of modules now; those paths still work."""

from __future__ import annotations

from pathlib import Path

import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import resolve_topic

from contractledger.store.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from contractledger.store.sqlite import (
    SQLiteLedgerAggregateRecorder,
    SQLiteLedgerApplicationRecorder,
    SQLiteLedgerFactory,
    SQLiteLedgerProcessRecorder,
    SQLiteLedgerTrackingRecorder,
)

STORES = {
    "contractledger.store.sqlite": (SQLiteLedgerFactory, (
        SQLiteLedgerAggregateRecorder, SQLiteLedgerApplicationRecorder,
        SQLiteLedgerTrackingRecorder, SQLiteLedgerProcessRecorder,
    )),
    "contractledger.store.postgres": (PostgresFactory, (
        PostgresAggregateRecorder, PostgresApplicationRecorder,
        PostgresTrackingRecorder, PostgresProcessRecorder,
    )),
}


@pytest.mark.parametrize("module", sorted(STORES))
def test_the_persistence_module_holds_exactly_the_one_factory_the_library_looks_for(module: str) -> None:
    # InfrastructureFactory.construct resolves the module, then takes the one
    # concrete factory class among its names; two, or none, and it refuses.
    found = {
        member for member in vars(resolve_topic(module)).values()
        if isinstance(member, type) and issubclass(member, InfrastructureFactory)
        and not getattr(member, "__parameters__", None)
    }
    assert found == {STORES[module][0]}


@pytest.mark.parametrize("module", sorted(STORES))
def test_a_recorder_topic_setting_names_the_class_by_the_stores_module(module: str) -> None:
    for recorder in STORES[module][1]:
        assert resolve_topic(f"{module}:{recorder.__name__}") is recorder


def test_the_library_builds_the_sqlite_store_from_its_module_path(tmp_path: Path) -> None:
    factory = InfrastructureFactory.construct(
        {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": str(tmp_path / "ledger.sqlite3")}
    )
    try:
        assert type(factory) is SQLiteLedgerFactory
        assert isinstance(factory.application_recorder(), SQLiteLedgerApplicationRecorder)
    finally:
        factory.close()
