"""One log, whatever class serves it: every subclass of the ledger (the HTTP
workers' wrapper, a benchmark's variant) opens the log under the ledger's
one name, and a PostgreSQL schema that holds events in another ledger table
is refused at start-up with one sentence naming both tables."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment

sys.path.insert(0, str(Path(__file__).parent))

from stores import ledger_env  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.domain.ledger import LEDGER_NAME, ContractLedger  # noqa: E402
from contractledger.http.read_your_writes import PositionedLedger  # noqa: E402
from contractledger.store.errors import StoreConfigurationError  # noqa: E402


def test_every_subclass_of_the_ledger_writes_the_log_the_ledger_reads(tmp_path: Path, store: str) -> None:
    class BenchmarkVariant(ContractLedger):
        pass

    env = ledger_env(store, tmp_path)
    assert PositionedLedger.name == BenchmarkVariant.name == ContractLedger.name == LEDGER_NAME
    writers = [PositionedLedger(env), BenchmarkVariant(env)]
    reader = ContractLedger(env)
    try:
        parties = [w.register_party(Actor.system(), "carrier", {"name": f"Carrier {n}"}) for n, w in enumerate(writers)]
        assert [reader.get_party(p).profile["name"] for p in parties] == ["Carrier 0", "Carrier 1"]
        assert reader.recorder.max_notification_id() == 2
    finally:
        for ledger in (*writers, reader):
            ledger.close()


def test_a_schema_holding_events_in_another_ledger_table_is_refused_naming_both(tmp_path: Path) -> None:
    env = ledger_env("postgres", tmp_path)
    schema = env["POSTGRES_SCHEMA"]
    # what an earlier build's HTTP workers left: events under the wrapper's own name
    stray = InfrastructureFactory.construct(Environment("PositionedLedger", env))
    try:
        stray.application_recorder().insert_events([StoredEvent(uuid.uuid4(), 1, "topic", b"{}")])
    finally:
        stray.close()
    with pytest.raises(StoreConfigurationError) as refused:
        ContractLedger(env)
    sentence = str(refused.value)
    assert f'"{schema}"."positionedledger_events"' in sentence
    assert f'"{schema}"."contractledger_events"' in sentence
    assert len(sentence.splitlines()) == 1 and refused.value.setting == "POSTGRES_SCHEMA"


def test_an_empty_table_of_another_name_is_no_second_log(tmp_path: Path) -> None:
    env = ledger_env("postgres", tmp_path)
    InfrastructureFactory.construct(Environment("PositionedLedger", env)).close()
    empty = InfrastructureFactory.construct(Environment("PositionedLedger", env))
    try:
        empty.application_recorder()
    finally:
        empty.close()
    ContractLedger(env).close()


def test_a_view_connection_the_server_ended_is_replaced_before_a_read_finds_out(tmp_path: Path) -> None:
    import os

    import psycopg2

    from contractledger.projections.engine.view_database import view_database_for

    env = ledger_env("postgres", tmp_path)
    ContractLedger(env).close()
    views = view_database_for(env)
    try:
        (backend,) = views.query("SELECT pg_backend_pid()")[0]
        admin = psycopg2.connect(
            host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
            user=os.environ["POSTGRES_SUPERUSER"], password=os.environ["POSTGRES_SUPERUSER_PASSWORD"],
        )
        admin.autocommit = True
        admin.cursor().execute("SELECT pg_terminate_backend(%s)", (backend,))
        admin.close()
        import time

        time.sleep(0.2)  # the server's goodbye reaches the socket
        assert views.query("SELECT 1") == [(1,)]  # no error: a new connection answered
        assert views.query("SELECT pg_backend_pid()")[0][0] != backend
    finally:
        views.close()
