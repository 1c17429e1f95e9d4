"""Does a long history make commands slower? (issue 3, item 7)

Builds one contract with 10,000 events and one new contract, then times the
same command (toggling a contract code's status) on each and prints both
median timings, their ratio, the store and the machine. Snapshots every 100
events (ContractLedger.snapshotting_intervals) should keep the ratio under 2.

Runs on the in-memory store unless PERSISTENCE_MODULE names another one
(contractledger.store.sqlite: a temporary file unless SQLITE_DBNAME is set;
contractledger.store.postgres: a fresh schema in the POSTGRES_* database).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from uuid import UUID, uuid4

from contractledger.domain.actor import Actor
from contractledger.domain.clock import SettableClock
from contractledger.domain.ledger import ContractLedger
from contractledger.domain.status import Status


def store_env(workdir: str) -> dict[str, str]:
    module = os.environ.get("PERSISTENCE_MODULE", "")
    if module.endswith(".sqlite") and not os.environ.get("SQLITE_DBNAME"):
        return {"SQLITE_DBNAME": str(Path(workdir) / "bench.db")}
    if module.endswith(".postgres") and not os.environ.get("POSTGRES_SCHEMA"):
        return {"POSTGRES_SCHEMA": f"bench_{uuid4().hex[:12]}"}
    return {}


def active_contract(ledger: ContractLedger, system: Actor) -> UUID:
    carrier = ledger.register_party(system, "carrier", {"name": "Bench Life"})
    advisor = ledger.register_party(system, "advisor", {"name": "Bench Advisor"}, advisor_kind="individual")
    (contract_id,) = ledger.assign_contracts(system, [[carrier, advisor]], "agency_admin")["contract_ids"]
    ledger.submit_to_carrier(system, contract_id)
    ledger.set_manual_status(system, contract_id, Status.ACTIVE)
    ledger.add_contract_code(system, contract_id, "BENCH-01")
    return contract_id


def grow_history(ledger: ContractLedger, contract_id: UUID, events: int, system: Actor) -> None:
    """Appends code-status changes straight on the aggregate, saved in batches (setup, not measured)."""
    remaining = events - ledger.get_contract(contract_id).version
    while remaining > 0:
        contract = ledger.get_contract(contract_id)
        for _ in range(min(500, remaining)):
            status = "inactive" if contract.code_statuses["BENCH-01"] == "active" else "active"
            contract.change_code_status("BENCH-01", status, actor=system, effective_on=ledger._today(), at=ledger._now())
            remaining -= 1
        ledger.save(contract)


def time_command(ledger: ContractLedger, contract_id: UUID, system: Actor) -> float:
    status = "inactive" if ledger.get_contract(contract_id).code_statuses["BENCH-01"] == "active" else "active"
    started = time.perf_counter()
    ledger.set_contract_code_status(system, contract_id, "BENCH-01", status)
    return time.perf_counter() - started


def time_both(ledger: ContractLedger, long_lived: UUID, fresh: UUID, runs: int, system: Actor) -> tuple[float, float]:
    """Median timings, alternating the two contracts so warm-up and drift hit both alike."""
    long_timings, new_timings = [], []
    for _ in range(runs):
        long_timings.append(time_command(ledger, long_lived, system))
        new_timings.append(time_command(ledger, fresh, system))
    return statistics.median(long_timings), statistics.median(new_timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="length of the long history")
    parser.add_argument("--runs", type=int, default=300, help="timed commands per contract")
    args = parser.parse_args()
    system = Actor.system()
    with tempfile.TemporaryDirectory() as workdir:
        ledger = ContractLedger(env=store_env(workdir), clock=SettableClock(datetime.now(timezone.utc)))
        try:
            long_lived = active_contract(ledger, system)
            grow_history(ledger, long_lived, args.events, system)
            fresh = active_contract(ledger, system)
            long_time, new_time = time_both(ledger, long_lived, fresh, args.runs, system)
            long_version = ledger.get_contract(long_lived).version
        finally:
            ledger.close()
    print(f"store:    {os.environ.get('PERSISTENCE_MODULE') or 'in-memory (eventsourcing POPO)'}")
    print(f"machine:  {platform.node()} {platform.machine()} {os.cpu_count()} cpus, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
    print(f"command:  set_contract_code_status, median of {args.runs} runs each")
    print(f"new contract:                    {new_time * 1e3:8.3f} ms")
    print(f"contract with {long_version:>6} events:     {long_time * 1e3:8.3f} ms")
    ratio = long_time / new_time
    print(f"ratio (long / new):              {ratio:8.2f}  ({'within' if ratio <= 2 else 'OVER'} the 2x budget)")


if __name__ == "__main__":
    main()
