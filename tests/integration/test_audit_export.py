"""An auditor's export from the command line (rules §10), on both stores: the
right events for a contract, a party or the whole ledger, in order, money
exact, with the hash-chain verdict for exactly the events it holds, written
last and only when the export is complete."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from stores import ledger_env  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.clock import SettableClock  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.projections import audit_export  # noqa: E402


@pytest.fixture
def world(tmp_path: Path, store: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    env = ledger_env(store, tmp_path)
    for key in [k for k in os.environ if k.startswith(("POSTGRES_", "SQLITE_", "PERSISTENCE_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    clock = SettableClock(datetime(2026, 4, 1, 9, tzinfo=timezone.utc))
    ledger = ContractLedger(env, clock=clock)
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
    debt = ledger.log_debt(staff, contracts[0], amount="250.00", effective_on=day, reminder_on=day,
                           last_paid_on=day, last_payment_amount="0.10")
    ledger.add_monitoring(staff, contracts[1], level=1, reason="New to Industry", effective_on=day, reminder_on=day)
    head = ledger.recorder.max_notification_id()
    ledger.close()
    return {"store": store, "env": env, "advisor": advisor, "contract": contracts[0], "other_contract": contracts[1],
            "record": record, "debt": debt, "head": head}


def export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = audit_export.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def jsonl(out: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    lines = [json.loads(line) for line in out.splitlines()]
    assert "verdict" in lines[-1] and all("verdict" not in line for line in lines[:-1])
    return lines[:-1], lines[-1]["verdict"]


def test_money_goes_out_as_its_exact_decimal_text(world: dict[str, Any], capsys: Any) -> None:
    for scope in (["--contract", str(world["contract"])], ["--party", str(world["advisor"])], ["--all"]):
        code, out, err = export(capsys, *scope)
        assert code == 0, err
        events, _ = jsonl(out)
        (logged,) = [e for e in events if e["event"] == "DebtRecord.Logged"]
        assert (logged["details"]["amount"], logged["details"]["last_payment_amount"]) == ("250.00", "0.10")
        code, out, err = export(capsys, *scope, "--format", "csv")
        assert code == 0, err
        (row,) = [r for r in csv.DictReader(io.StringIO(out)) if r["event"] == "DebtRecord.Logged"]
        assert json.loads(row["details"])["amount"] == "250.00"


def test_a_contracts_export_holds_its_events_and_its_records_in_order(world: dict[str, Any], capsys: Any) -> None:
    code, out, _ = export(capsys, "--contract", str(world["contract"]))
    events, verdict = jsonl(out)
    assert code == 0 and verdict["intact"] is True
    assert {e["contract_id"] for e in events} == {str(world["contract"])}
    assert [e["event"] for e in events][:3] == ["Contract.Assigned", "Contract.SubmittedToCarrier", "Contract.StatusChanged"]
    assert {str(world["record"]), str(world["debt"])} <= {e["aggregate_id"] for e in events}
    assert [e["notification_id"] for e in events] == sorted(e["notification_id"] for e in events)
    assert all(e["recorded_at"] and e["effective_on"] and e["actor_role"] for e in events)


def test_a_partys_export_holds_its_own_events_and_its_contracts_but_not_others(world: dict[str, Any], capsys: Any) -> None:
    code, out, _ = export(capsys, "--party", str(world["advisor"]))
    events, _ = jsonl(out)
    aggregates = {e["aggregate_id"] for e in events}
    assert str(world["advisor"]) in aggregates and str(world["contract"]) in aggregates
    assert str(world["other_contract"]) not in aggregates


def test_an_export_states_the_hash_chain_verdict_for_exactly_the_events_it_holds(world: dict[str, Any], capsys: Any) -> None:
    for scope in (["--contract", str(world["contract"])], ["--party", str(world["advisor"])], ["--all"]):
        for form in ("jsonl", "csv"):
            code, out, err = export(capsys, *scope, "--format", form)
            if form == "jsonl":
                events, verdict = jsonl(out)
                positions = [e["notification_id"] for e in events]
            else:
                table = list(csv.DictReader(io.StringIO(out)))
                assert [r["event"] for r in table].count(audit_export.VERDICT_EVENT) == 1
                assert table[-1]["event"] == audit_export.VERDICT_EVENT
                verdict = json.loads(table[-1]["details"])
                positions = [int(r["notification_id"]) for r in table[:-1]]
                assert int(table[-1]["notification_id"]) == positions[-1]
            assert code == 0
            assert verdict["events_exported"] == verdict["events_proven"] == len(positions)
            assert verdict["positions"] == {"first": positions[0], "last": positions[-1]}
            assert verdict["chain_walked"] == {"from": 1, "to": positions[-1]}
            assert verdict["up_to_position"] == world["head"] and verdict["intact"] is True
            assert f"the {len(positions)} exported events (positions {positions[0]} to {positions[-1]})" in verdict["sentence"]
            assert verdict["sentence"] in err
    _, out, _ = export(capsys, "--all")
    assert [e["notification_id"] for e in jsonl(out)[0]] == list(range(1, world["head"] + 1))


def test_the_csv_export_opens_with_its_header_row_in_the_csv_module_and_in_pandas(world: dict[str, Any], capsys: Any, tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    output = tmp_path / "history.csv"
    code, out, _ = export(capsys, "--all", "--format", "csv", "--output", str(output))
    assert code == 0 and out == ""
    text = output.read_bytes().decode("utf-8")
    assert text.split("\r\n", 1)[0] == ",".join(audit_export.COLUMNS)
    table = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(table[0]) == audit_export.COLUMNS
    assert len(table) == world["head"] + 1  # every event, then the verdict
    frame = pandas.read_csv(output)
    assert tuple(frame.columns) == audit_export.COLUMNS
    assert len(frame) == world["head"] + 1
    assert list(frame["notification_id"][:-1]) == list(range(1, world["head"] + 1))
    assert frame["event"].iloc[-1] == audit_export.VERDICT_EVENT
    assert json.loads(frame["details"].iloc[-1])["events_exported"] == world["head"]
    logged = frame[frame["event"] == "DebtRecord.Logged"]
    assert json.loads(logged["details"].iloc[0])["amount"] == "250.00"


def test_an_export_of_an_unknown_contract_or_party_fails_without_a_verdict(world: dict[str, Any], capsys: Any) -> None:
    for scope in (["--contract", str(world["advisor"])], ["--party", str(world["contract"])]):
        code, out, err = export(capsys, *scope)
        assert (code, out) == (2, "") and "holds no" in err


def test_a_failed_export_exits_non_zero_and_claims_no_verdict(world: dict[str, Any], capsys: Any, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = ContractLedger(world["env"])
    recorder_class = type(ledger.recorder)
    ledger.close()
    read = recorder_class.chained_events

    def lost_after_five(self: Any) -> Any:
        for count, stored in enumerate(read(self)):
            if count == 5:
                raise ConnectionError("the connection to the store was lost")
            yield stored

    monkeypatch.setattr(recorder_class, "chained_events", lost_after_five)
    for form in ("jsonl", "csv"):
        code, out, err = export(capsys, "--all", "--format", form)
        assert code == 2 and "the connection to the store was lost" in err and "no verdict" in err
        assert "verdict" not in out.lower() and out.count("\n") <= 6  # what was written: rows, never a verdict
    output = tmp_path / "history.jsonl"
    output.write_text("an older export\n")
    code, out, err = export(capsys, "--all", "--output", str(output), "--format", "csv")
    assert code == 2 and f"nothing was written to {output}" in err
    assert output.read_text() == "an older export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_an_export_of_a_tampered_ledger_says_where_the_chain_breaks_and_fails(world: dict[str, Any], capsys: Any) -> None:
    if world["store"] != "sqlite":
        pytest.skip("tampering is done by hand on the SQLite file")
    raw = sqlite3.connect(world["env"]["SQLITE_DBNAME"])
    raw.execute("DROP TRIGGER stored_events_refuse_update")
    raw.execute("UPDATE stored_events SET state = CAST('{}' AS BLOB) WHERE rowid = 5")
    raw.commit()
    raw.close()
    code, out, err = export(capsys, "--all")
    assert code == 1, err
    events, verdict = jsonl(out)
    assert (verdict["intact"], verdict["first_broken_position"]) == (False, 5)
    assert (verdict["events_exported"], verdict["events_proven"]) == (world["head"], 4)
    assert verdict["sentence"].startswith("BROKEN: the hash chain breaks at position 5")
    assert [e["notification_id"] for e in events if e["event"] == "UNREADABLE"] == [5]


def test_a_break_after_the_last_exported_event_leaves_its_verdict_intact(world: dict[str, Any], capsys: Any) -> None:
    if world["store"] != "sqlite":
        pytest.skip("tampering is done by hand on the SQLite file")
    code, out, _ = export(capsys, "--contract", str(world["contract"]))
    last = jsonl(out)[1]["positions"]["last"]
    raw = sqlite3.connect(world["env"]["SQLITE_DBNAME"])
    raw.execute("DROP TRIGGER stored_events_refuse_update")
    # still readable (so not shown as UNREADABLE in every export), but no longer what was hashed
    ((tampered,),) = raw.execute(
        "SELECT rowid FROM stored_events WHERE CAST(state AS TEXT) LIKE '%New to Industry%' AND topic LIKE '%Placed'"
    ).fetchall()
    raw.execute(
        "UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT), 'New to Industry', 'Sales') AS BLOB)"
        " WHERE rowid = ?", (tampered,),
    )
    raw.commit()
    raw.close()
    assert last < tampered
    code, out, _ = export(capsys, "--contract", str(world["contract"]))
    assert code == 0 and jsonl(out)[1]["chain_walked"] == {"from": 1, "to": last}
    code, out, _ = export(capsys, "--all")
    assert code == 1 and jsonl(out)[1]["first_broken_position"] == tampered
