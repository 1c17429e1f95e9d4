"""The ledger's scenarios on the real stores: SQLite and PostgreSQL.

Every scenario class of tests/unit runs again here through a thin subclass
whose ``make_ledger`` selects the store; the PostgreSQL ones need the
throwaway server that scripts/with-postgres (or scripts/test) starts:

    scripts/with-postgres .venv/bin/python -m pytest tests/integration/test_ledger_on_stores.py

Beside them: a command id shared by two ledgers on one store, and two
processes racing conflicting commands on one contract on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Any
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))

import ledger_scenarios  # noqa: E402
import test_as_of  # noqa: E402
import test_bundles  # noqa: E402
import test_consolidation  # noqa: E402
import test_debt  # noqa: E402
import test_health  # noqa: E402
import test_idempotent_commands  # noqa: E402
import test_lifecycle  # noqa: E402
import test_monitoring  # noqa: E402
import test_onboarding_workflow  # noqa: E402
import test_parties  # noqa: E402
import test_transfers  # noqa: E402
import test_triggers  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.domain.clock import SettableClock  # noqa: E402
from contractledger.domain.errors import Conflict  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402

SCENARIO_MODULES = (
    test_parties,
    test_onboarding_workflow,
    test_bundles,
    test_lifecycle,
    test_transfers,
    test_consolidation,
    test_as_of,
    test_idempotent_commands,
    test_monitoring,
    test_debt,
    test_triggers,
    test_health,
)


def sqlite_env(path: str) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": path}


def postgres_env(schema: str) -> dict[str, str]:
    if not os.environ.get("POSTGRES_HOST"):
        raise unittest.SkipTest("no PostgreSQL server: run under scripts/with-postgres")
    keys = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD")
    return {
        "PERSISTENCE_MODULE": "contractledger.store.postgres",
        **{k: os.environ[k] for k in keys},
        "POSTGRES_SCHEMA": schema,
    }


class OnSQLite:
    def make_ledger(self, clock: SettableClock) -> ContractLedger:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        return ContractLedger(env=sqlite_env(str(Path(folder.name) / "ledger.db")), clock=clock)


class OnPostgres:
    def make_ledger(self, clock: SettableClock) -> ContractLedger:
        # One schema per test: each starts from an empty ledger.
        return ContractLedger(env=postgres_env(f"t_{uuid4().hex[:16]}"), clock=clock)


# The thin subclasses, one per scenario class and store, named after both
# (e.g. TestBundlesOnSQLite); pytest collects them from this module's names.
for _module in SCENARIO_MODULES:
    for _name, _scenario in vars(_module).items():
        if isinstance(_scenario, type) and issubclass(_scenario, unittest.TestCase) and _name.startswith("Test"):
            for _store in (OnSQLite, OnPostgres):
                _subclass = f"{_name}{_store.__name__}"
                globals()[_subclass] = type(_subclass, (_store, _scenario), {"__module__": __name__})
del _module, _name, _scenario, _store, _subclass


class TestCommandIdsAcrossLedgers(unittest.TestCase):
    """Two ledgers (as two processes would) on one SQLite file share command ids."""

    def test_the_second_ledger_returns_the_first_ones_outcome_and_records_nothing(self) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        env = sqlite_env(str(Path(folder.name) / "ledger.db"))
        clock = SettableClock(ledger_scenarios.START)
        first, second = ContractLedger(env=env, clock=clock), ContractLedger(env=env, clock=clock)
        self.addCleanup(first.close)
        self.addCleanup(second.close)
        system = Actor.system()
        party = first.register_party(system, "carrier", {"name": "Northern Life"}, command_id="register-northern")
        before = second.recorder.max_notification_id()
        again = second.register_party(system, "carrier", {"name": "Northern Life"}, command_id="register-northern")
        self.assertEqual(party, again)
        self.assertEqual(before, second.recorder.max_notification_id())


def _race(
    env: dict[str, str], contract_id: Any, third_party_id: Any, actor: Actor, decision: str, barrier: Any, results: Any
) -> None:
    """One process: load the contract, wait for the other, then decide."""

    class RacingLedger(ContractLedger):
        name = ContractLedger.name

        def _load_contract(self, cid):  # type: ignore[no-untyped-def]
            contract = super()._load_contract(cid)
            if cid == contract_id and not getattr(self, "waited", False):
                self.waited = True
                barrier.wait(timeout=30)
            return contract

    ledger = RacingLedger(env=env, clock=SettableClock(ledger_scenarios.START))
    try:
        if decision == "deny":
            ledger.deny_transfer(actor, contract_id)
        else:
            ledger.accept_transfer(actor, contract_id, "third_party", third_party_id)
        results.put((decision, "won"))
    except Conflict as conflict:
        results.put((decision, conflict.code))
    except Exception as error:  # reported to the parent, which fails the test
        results.put((decision, repr(error)))
    finally:
        ledger.close()


class TestConcurrentDecisionsOnPostgres(test_transfers.TransferScenario):
    """Deny and accept of one transfer at the same moment: one wins, the other
    is told of the conflict, and the history holds no trace of the loser."""

    def make_ledger(self, clock: SettableClock) -> ContractLedger:
        self.env = postgres_env(f"t_{uuid4().hex[:16]}")
        return ContractLedger(env=self.env, clock=clock)

    def test_exactly_one_of_deny_and_accept_wins(self) -> None:
        self.request()
        before = self.ledger.recorder.max_notification_id()
        # Read here, not in the racer: the racer's first load of the contract
        # is where it waits for the other, so both decide on the same version.
        third_party = self.ledger.get_contract(self.contract_id).chain[1]
        context = multiprocessing.get_context("fork")
        barrier, results = context.Barrier(2), context.Queue()
        workers = [
            context.Process(
                target=_race,
                args=(self.env, self.contract_id, third_party, self.accepting_admin, d, barrier, results),
            )
            for d in ("deny", "accept")
        ]
        for worker in workers:
            worker.start()
        outcomes = dict(results.get(timeout=60) for _ in workers)
        for worker in workers:
            worker.join(timeout=60)
        self.assertEqual(["contract.concurrent_change", "won"], sorted(outcomes.values()), outcomes)
        winner = next(d for d, outcome in outcomes.items() if outcome == "won")
        history = self.ledger.history(self.contract_id)
        self.assertEqual({"deny": "TransferDenied", "accept": "TransferAccepted"}[winner], history[-1]["event"])
        self.assertNotIn({"deny": "TransferAccepted", "accept": "TransferDenied"}[winner], [h["event"] for h in history])
        # The loser's events (the package it would have created included) were never stored.
        self.assertEqual(before + (2 if winner == "accept" else 1), self.ledger.recorder.max_notification_id())
        expected = Status.ACTIVE if winner == "deny" else Status.TRANSFER_REQUESTED
        self.assertEqual(expected, self.status_of(self.contract_id))


def _detach_or_step(
    env: dict[str, str], waits_on: Any, then: float, actor: Actor, command: str, contract_id: Any, barrier: Any, results: Any
) -> None:
    """One process: read ``waits_on`` (the bundle for the step, the leaving member
    for the detach), wait for the other, ``then`` seconds more, and finish the command."""

    class RacingLedger(ContractLedger):
        def _load(self, aggregate_id, *args):  # type: ignore[no-untyped-def]
            found = super()._load(aggregate_id, *args)
            if aggregate_id == waits_on and not getattr(self, "waited", False):
                self.waited = True
                barrier.wait(timeout=30)
                time.sleep(then)
            return found

    ledger = RacingLedger(env=env, clock=SettableClock(ledger_scenarios.START))
    try:
        getattr(ledger, command)(actor, contract_id)
        results.put((command, "won"))
    except Conflict as conflict:
        results.put((command, conflict.code))
    except Exception as error:  # reported to the parent, which fails the test
        results.put((command, repr(error)))
    finally:
        ledger.close()


class TestConcurrentBundleMovesOnPostgres(ledger_scenarios.LedgerScenario):
    """A detach and a bundle step at the same moment, each having read what it
    decides on, in two processes: they end in one serial order (rules §4), the
    loser told of the conflict, and the leaving member never moves after it
    left."""

    def make_ledger(self, clock: SettableClock) -> ContractLedger:
        self.env = postgres_env(f"t_{uuid4().hex[:16]}")
        return ContractLedger(env=self.env, clock=clock)

    def test_a_detach_and_a_bundle_step_end_in_one_serial_order(self) -> None:
        other_carrier = self.register("carrier", "Southern Mutual")
        self.relate(other_carrier, self.mga)
        # the step reads the bundle, then its members: the later it reads them, the likelier
        # the detach has committed in between (where the step once moved the member that left)
        for then in (0.0, 0.005, 0.02, 0.05):
            with self.subTest(step_reads_the_members_after=then):
                self.race_detach_against_step(other_carrier, then)

    def race_detach_against_step(self, other_carrier: Any, then: float) -> None:
        ids = self.assign(self.full_chain, [other_carrier, self.mga, self.aga, self.advisor])
        bundle_id = self.ledger.get_contract(ids[0]).bundle_id
        context = multiprocessing.get_context("fork")
        barrier, results = context.Barrier(2), context.Queue()
        racers = (("send_to_producer", ids[0], bundle_id, then), ("detach_from_bundle", ids[1], ids[1], 0.0))
        workers = [
            context.Process(
                target=_detach_or_step, args=(self.env, waits_on, delay, self.aga_admin, command, contract_id, barrier, results)
            )
            for command, contract_id, waits_on, delay in racers
        ]
        for worker in workers:
            worker.start()
        outcomes = dict(results.get(timeout=60) for _ in workers)
        for worker in workers:
            worker.join(timeout=60)
        won = (outcomes["send_to_producer"] == "won", outcomes["detach_from_bundle"] == "won")
        self.assertTrue(set(outcomes.values()) <= {"won", "contract.concurrent_change"} and any(won), outcomes)
        # the serial orders: the step first (the detach then collides with it on the member), or
        # the detach first (the step collides with it on the bundle, or moves what was left)
        leaving, stepped = {
            (True, False): (["Assigned", "SentToProducer"], Status.PENDING_PRODUCER),
            (False, True): (["Assigned", "DetachedFromBundle"], Status.PENDING_AGENCY),
            (True, True): (["Assigned", "DetachedFromBundle"], Status.PENDING_PRODUCER),
        }[won]
        self.assertEqual(leaving, [type(e).__name__ for e in self.ledger.events.get(ids[1])], outcomes)
        self.assertEqual(stepped, self.status_of(ids[0]), outcomes)
