"""Random sequences of use cases never break the ledger's invariants (rules §2 to 5).

After every step: no bundle whose attached, non-terminal members disagree
while one of them is with the agency or the producer (bundle.detach_first), no event after a terminal status, every chain within 2 to 6
parties, and replaying the stored events reproduces the state the ledger reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from ledger_scenarios import SIGNED_LETTER, LedgerScenario  # noqa: E402

from contractledger.domain.contract import Contract  # noqa: E402
from contractledger.domain.errors import LedgerError  # noqa: E402
from contractledger.domain.bundle import WITH_AGENCY_OR_PRODUCER  # noqa: E402
from contractledger.domain.status import MANUAL, TERMINAL  # noqa: E402

MANUAL_STATUSES = sorted(MANUAL)


class World(LedgerScenario):
    """The scenario's world, driven by hypothesis rather than by unittest."""

    __test__ = False

    def runTest(self) -> None:  # unittest requires a test method to instantiate a case
        pass

    def build(self) -> None:
        self.setUp()
        self.second_carrier = self.register("carrier", "Southern Mutual")
        self.relate(self.second_carrier, self.mga)
        self.accepting = self.register("agency", "Lighthouse AGA")
        self.relate(self.mga, self.accepting)
        bundle = self.assign(self.full_chain, [self.second_carrier, self.mga, self.aga, self.advisor])
        single = self.assign(self.full_chain, filled_by="producer")
        established = [self.active_contract(), self.active_contract()]
        self.contracts = [*bundle, *single, *established]

    def step(self, action: str, index: int, number: int) -> None:
        ledger, contract_id = self.ledger, self.contracts[index % len(self.contracts)]
        admin, accepting_admin = self.aga_admin, self.admin_of(self.accepting)
        actions = {
            "send_to_producer": lambda: ledger.send_to_producer(admin, contract_id),
            "submit_by_producer": lambda: ledger.submit_by_producer(self.producer, contract_id),
            "return_to_producer": lambda: ledger.return_to_producer(admin, contract_id),
            "submit_to_carrier": lambda: ledger.submit_to_carrier(admin, contract_id),
            "set_manual_status": lambda: ledger.set_manual_status(
                admin, contract_id, MANUAL_STATUSES[number % len(MANUAL_STATUSES)]
            ),
            "set_bundle_manual_status": lambda: ledger.set_bundle_manual_status(
                admin, contract_id, MANUAL_STATUSES[number % len(MANUAL_STATUSES)]
            ),
            "approve": lambda: ledger.set_manual_status(self.carrier_staff, contract_id, "active"),
            "nullify": lambda: ledger.nullify(admin, contract_id),
            "detach": lambda: ledger.detach_from_bundle(admin, contract_id),
            "downgrade": lambda: ledger.downgrade(admin, contract_id, "quiet"),
            "vest": lambda: ledger.vest(admin, contract_id, "vested"),
            "upgrade": lambda: ledger.upgrade(admin, contract_id),
            "terminate": lambda: ledger.terminate(admin, contract_id, "Retired", [SIGNED_LETTER]),
            "reactivate": lambda: ledger.reactivate(admin, contract_id),
            "request_transfer": lambda: ledger.request_transfer(self.producer, contract_id, self.aga, self.accepting),
            "rescind": lambda: ledger.rescind_transfer(self.producer, contract_id),
            "deny": lambda: ledger.deny_transfer(accepting_admin, contract_id),
            "accept": lambda: self.accept(contract_id),
            "writing_number": lambda: ledger.add_writing_number(admin, contract_id, f"WN-{number}"),
            "consolidate": lambda: ledger.consolidate(
                self.carrier_staff, contract_id, self.contracts[number % len(self.contracts)], "merge"
            ),
            "wait": lambda: self.days_later(number),
        }
        try:
            actions[action]()
        except LedgerError:
            pass

    def accept(self, contract_id) -> None:
        outcome = self.ledger.accept_transfer(self.admin_of(self.accepting), contract_id, "third_party", self.mga)
        self.contracts.append(outcome["successor_id"])

    def check_invariants(self) -> None:
        contracts = [self.ledger.get_contract(c) for c in self.contracts]
        for bundle_id in {c.bundle_id for c in contracts if c.bundle_id}:
            members = [self.ledger.get_contract(m) for m in self.ledger.get_bundle(bundle_id).member_ids]
            moving = {m.status for m in members if m.status not in TERMINAL}
            if moving & WITH_AGENCY_OR_PRODUCER:
                self.assertEqual(1, len(moving), f"bundle {bundle_id} is mixed: {moving}")
        for contract in contracts:
            self.assertTrue(2 <= len(contract.chain) <= 6)
            self.assertEqual(len(set(contract.chain)), len(contract.chain))
            replayed, ended = None, False
            for event in self.ledger.events.get(contract.id):
                self.assertFalse(ended, f"{type(event).__name__} recorded after a terminal status")
                replayed = event.mutate(replayed)
                ended = replayed.status in TERMINAL
            self.assertIsInstance(replayed, Contract)
            self.assertEqual(replayed.__dict__, contract.__dict__)


ACTIONS = [
    "send_to_producer",
    "submit_by_producer",
    "return_to_producer",
    "submit_to_carrier",
    "set_manual_status",
    "set_manual_status",
    "set_bundle_manual_status",
    "approve",
    "nullify",
    "detach",
    "downgrade",
    "vest",
    "upgrade",
    "terminate",
    "reactivate",
    "request_transfer",
    "rescind",
    "deny",
    "accept",
    "writing_number",
    "consolidate",
    "wait",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 5), st.integers(0, 40)), min_size=1, max_size=30))
def test_random_use_cases_keep_every_invariant(steps) -> None:
    world = World()
    world.build()
    try:
        for action, index, number in steps:
            world.step(action, index, number)
            world.check_invariants()
    finally:
        world.doCleanups()
