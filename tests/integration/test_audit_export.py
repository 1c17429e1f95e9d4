"""An auditor's export: the right events for a contract, a party or the whole
ledger, in order, with the hash-chain verdict in the header."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import SettableClock
from contractledger.domain.ledger import ContractLedger
from contractledger.domain.status import Status
from contractledger.projections import audit_export


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    path = tmp_path / "ledger.sqlite3"
    for key in [k for k in __import__("os").environ if k.startswith(("POSTGRES_", "SQLITE_", "PERSISTENCE_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PERSISTENCE_MODULE", "contractledger.store.sqlite")
    monkeypatch.setenv("SQLITE_DBNAME", str(path))
    clock = SettableClock(datetime(2026, 4, 1, 9, tzinfo=timezone.utc))
    ledger = ContractLedger({"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": str(path)}, clock=clock)
    system = Actor.system()
    carrier = ledger.register_party(system, "carrier", {"name": "Northern Life"})
    advisor = ledger.register_party(system, "advisor", {"name": "Ada"}, advisor_kind="individual")
    other = ledger.register_party(system, "advisor", {"name": "Bob"}, advisor_kind="individual")
    staff = Actor(Role.CARRIER_STAFF, "carol", carrier)
    contracts = []
    for person in (advisor, other):
        (contract,) = ledger.assign_contracts(staff, [[carrier, person]], "agency_admin")["contract_ids"]
        ledger.submit_to_carrier(staff, contract)
        ledger.set_manual_status(staff, contract, Status.ACTIVE)
        contracts.append(contract)
    day = clock.now().date()
    record = ledger.add_monitoring(staff, contracts[0], level=3, reason="Sales", effective_on=day, reminder_on=day + timedelta(days=7))
    ledger.add_monitoring(staff, contracts[1], level=1, reason="New to Industry", effective_on=day, reminder_on=day)
    ledger.close()
    return {"path": path, "advisor": advisor, "contract": contracts[0], "other_contract": contracts[1], "record": record}


def export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = audit_export.main(list(args))
    return code, capsys.readouterr().out


def test_a_contracts_export_holds_its_events_and_its_records_in_order(world: dict[str, Any], capsys: Any) -> None:
    code, out = export(capsys, "--contract", str(world["contract"]))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert lines[0]["header"]["hash_chain"]["intact"] is True
    events = lines[1:]
    assert {e["contract_id"] for e in events} == {str(world["contract"])}
    assert [e["event"] for e in events][:3] == ["Contract.Assigned", "Contract.SubmittedToCarrier", "Contract.StatusChanged"]
    assert str(world["record"]) in {e["aggregate_id"] for e in events}
    assert [e["notification_id"] for e in events] == sorted(e["notification_id"] for e in events)
    assert all(e["recorded_at"] and e["effective_on"] and e["actor_role"] for e in events)


def test_a_partys_export_holds_its_own_events_and_its_contracts_but_not_others(world: dict[str, Any], capsys: Any) -> None:
    code, out = export(capsys, "--party", str(world["advisor"]))
    events = [json.loads(line) for line in out.splitlines()][1:]
    aggregates = {e["aggregate_id"] for e in events}
    assert str(world["advisor"]) in aggregates and str(world["contract"]) in aggregates
    assert str(world["other_contract"]) not in aggregates


def test_the_csv_export_opens_with_the_verdict_and_has_every_column(world: dict[str, Any], capsys: Any) -> None:
    code, out = export(capsys, "--all", "--format", "csv")
    first, rest = out.split("\n", 1)
    assert json.loads(first[2:])["hash_chain"]["intact"] is True
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert tuple(rows[0]) == audit_export.COLUMNS
    assert len(rows) > 10 and json.loads(rows[0]["details"]) is not None


def test_an_export_of_a_tampered_ledger_says_where_the_chain_breaks_and_fails(world: dict[str, Any], capsys: Any) -> None:
    raw = sqlite3.connect(world["path"])
    raw.execute("DROP TRIGGER stored_events_refuse_update")
    raw.execute("UPDATE stored_events SET state = CAST('{}' AS BLOB) WHERE rowid = 5")
    raw.commit()
    raw.close()
    code, out = export(capsys, "--all")
    chain = json.loads(out.splitlines()[0])["header"]["hash_chain"]
    assert code == 1
    assert (chain["intact"], chain["first_broken_notification_id"]) == (False, 5)
    unreadable = [json.loads(line) for line in out.splitlines()[1:] if '"UNREADABLE"' in line]
    assert [u["notification_id"] for u in unreadable] == [5]
