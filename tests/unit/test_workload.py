"""The workload generator fills a ledger realistically and reproducibly."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from contractledger.domain.clock import SettableClock, today
from contractledger.domain.ledger import ContractLedger
from contractledger.domain.status import TERMINAL, WORKFLOW

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # the workload generator, not shipped
from workload import generate


def filled(seed: int, events: int = 2500) -> tuple[ContractLedger, object]:
    clock = SettableClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    ledger = ContractLedger(clock=clock)
    return ledger, generate(ledger, clock, events, seed=seed)


def event_log(ledger: ContractLedger) -> list[tuple[object, int, str, bytes]]:
    return [
        (n.originator_id, n.originator_version, n.topic, n.state)
        for n in ledger.recorder.select_notifications(start=1, limit=10**6)
    ]


def test_the_same_seed_yields_the_same_ledger_ids_included() -> None:
    first, _ = filled(seed=11)
    second, _ = filled(seed=11)
    assert event_log(first) == event_log(second)
    other, _ = filled(seed=12)
    assert event_log(other) != event_log(first)


def test_the_workload_reaches_the_size_asked_for_through_the_rules() -> None:
    ledger, summary = filled(seed=5)
    assert summary.events >= 2500  # type: ignore[attr-defined]
    assert summary.refused < summary.actions * 0.2  # type: ignore[attr-defined]
    kinds = Counter(topic.split(":")[1] for _, _, topic, _ in event_log(ledger))
    for kind in (
        "Contract.Assigned", "Bundle.Formed", "Contract.SubmittedToCarrier", "Contract.StatusChanged",
        "Contract.WritingNumberAdded", "Contract.Terminated", "Contract.TransferRequested",
        "Contract.TransferAccepted", "MonitoringRecord.Placed", "DebtRecord.Logged",
    ):
        assert kinds[kind] > 0, kind


def test_no_bundle_is_left_mixed_by_the_workload() -> None:
    ledger, _ = filled(seed=9)
    bundles: dict[object, set[str]] = {}
    contract_ids = {
        n.originator_id for n in ledger.recorder.select_notifications(start=1, limit=10**6) if n.topic.endswith("Contract.Assigned")
    }
    for contract_id in contract_ids:
        contract = ledger.get_contract(contract_id)  # type: ignore[arg-type]
        if contract.bundle_id and contract.status not in TERMINAL and contract.status in WORKFLOW:
            bundles.setdefault(contract.bundle_id, set()).add(contract.status.value)
    assert all(len(statuses) == 1 for statuses in bundles.values())


def test_a_bigger_world_does_more_in_a_day_not_for_longer() -> None:
    """The scale grows the world, not the calendar: the same events in a world four times as big take about a
    quarter of the days, so books of any size span about the same years (a 250,000-contract book once ran to
    the year 2361, far ahead of any reader's today)."""
    spans = {}
    for scale in (1, 4):
        start = datetime(2026, 1, 5, 9, tzinfo=UTC)
        clock = SettableClock(start)
        generate(ContractLedger(clock=clock), clock, 3000, seed=7, scale=scale)
        spans[scale] = (today(clock) - start.date()).days
    assert 0.15 < spans[4] / spans[1] < 0.35, spans
