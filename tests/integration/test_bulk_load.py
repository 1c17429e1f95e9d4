"""The bulk loader (benchmarks/bulk_load.py) stores, on each store, exactly
the events the plain ledger stores for the same seed, ids included, chained
as the plain ledger's would be; the views built from it answer as the plain
ledger's do."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from contractledger.domain.clock import SettableClock
from contractledger.domain.ledger import ContractLedger
from contractledger.projections.engine.rebuild import digest, rebuild_all
from contractledger.projections.engine.view_database import SqliteViewDatabase
from contractledger.runtime.catalogue import VIEWS
from contractledger.store.hashchain import GENESIS, link, verify
from stores import ledger_env

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # the generator, not shipped
from bench_views import copy_events  # noqa: E402
from bulk_load import START, fill  # noqa: E402
from workload import generate  # noqa: E402

CONTRACTS = 300
SEED = 4


def plain_ledger() -> ContractLedger:
    """The same workload through the plain ledger, in memory."""
    clock = SettableClock(START)
    ledger = ContractLedger({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    generate(ledger, clock, contracts=CONTRACTS, seed=SEED)
    return ledger


def bulk_loaded(env: dict[str, str]) -> ContractLedger:
    """The ledger as the bulk load left it in the store, opened afresh."""
    # small writes, so that many commands read aggregates whose events are still held
    summary, log = fill(env, contracts=CONTRACTS, seed=SEED, events_per_write=400)
    assert summary.contracts >= CONTRACTS and log.writes > 3
    return ContractLedger(env)


def event_log(ledger: Any) -> list[tuple[object, int, str, bytes]]:
    return [
        (n.originator_id, n.originator_version, n.topic, n.state)
        for n in ledger.recorder.select_notifications(start=1, limit=10**6)
    ]


def test_the_bulk_load_stores_the_plain_ledgers_events_with_the_same_hash_chain(store: str, tmp_path: Path) -> None:
    plain = event_log(plain_ledger())
    bulk = bulk_loaded(ledger_env(store, tmp_path))
    assert event_log(bulk) == plain
    chain, previous = [], GENESIS
    for originator_id, version, topic, state in plain:
        previous = link(previous, originator_id, version, topic, state)
        chain.append(previous)
    stored = list(bulk.recorder.chained_events())
    assert [bytes(e.stored_hash) for e in stored] == chain
    verdict = verify(stored)
    assert verdict.intact and verdict.events_checked == len(plain)
    bulk.close()


def test_the_views_built_from_a_bulk_load_equal_those_of_the_plain_ledger(tmp_path: Path) -> None:
    plain_env = ledger_env("sqlite", tmp_path / "plain")
    (tmp_path / "plain").mkdir()
    plain = ContractLedger(plain_env)
    copy_events(plain_ledger().recorder, plain.recorder)
    (tmp_path / "bulk").mkdir()
    bulk_env = ledger_env("sqlite", tmp_path / "bulk")
    bulk = bulk_loaded(bulk_env)
    digests = []
    for ledger, env in ((plain, plain_env), (bulk, bulk_env)):
        database = SqliteViewDatabase(env["SQLITE_DBNAME"])
        rebuilt = rebuild_all(ledger.recorder, ledger.mapper, database, VIEWS)
        assert {r.position for r in rebuilt} == {ledger.recorder.max_notification_id()}
        digests.append([digest(database, view_class(r.generation)) for view_class, r in zip(VIEWS, rebuilt)])
        database.close()
    assert digests[0] == digests[1]
    contracts = {t.table: t.rows for t in digests[1][[v.name for v in VIEWS].index("contract_status")]}["contracts"]
    assert contracts >= CONTRACTS
