"""A realistic workload: thousands of parties and contracts living their
lives through the ledger's own use cases, reproducible from a seed.

The world: carriers; MGAs each contracted with a few carriers; AGAs under
each MGA; individual and corporate advisors under AGAs, some individuals
associated with corporations. Then, until the ledger holds the number of
events asked for, the generator picks what a real contracting team does
next: assign bundles, move them through onboarding, approve or decline,
add writing numbers and codes, downgrade, vest, upgrade, terminate and
reactivate, transfer between AGAs, place and lift monitoring, log and settle
debt, while business time moves forward. Every action goes through the
rules; one the rules refuse is counted, never forced.

Used by the projection benchmarks and the replay tests; pure (no SQL, no
HTTP): it drives whatever store the ledger was built on. A big book is filled
through ``bulk_load.BulkLoadLedger`` (``scripts/fill-ledger --contracts N``):
the same commands, many to a store transaction.
"""

from __future__ import annotations

import random
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import SettableClock, today
from contractledger.domain.documents import DocumentReference
from contractledger.domain.errors import LedgerError
from contractledger.domain.ledger import ContractLedger
from contractledger.domain.status import PENDING, TERMINAL, Status
from contractledger.domain.termination import TERMINATION_REASONS
from contractledger.domain.transfer import THIRD_PARTY

LETTER = DocumentReference(
    name="letter.pdf",
    media_type="application/pdf",
    sha256="0" * 64,
    location="documents/letter.pdf",
)


@dataclass
class Summary:
    events: int = 0
    actions: int = 0
    refused: int = 0
    parties: int = 0
    contracts: int = 0
    by_action: dict[str, int] = field(default_factory=dict)


@contextmanager
def deterministic_ids(rng: random.Random) -> Iterator[None]:
    """New aggregate ids drawn from the seeded generator, so that the same
    seed yields the same ledger, ids included."""

    def seeded_uuid4() -> UUID:
        return UUID(int=rng.getrandbits(128), version=4)

    patched = []
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith(("contractledger.", "eventsourcing.")) and getattr(module, "uuid4", None) is uuid.uuid4:
            patched.append(module)
            module.uuid4 = seeded_uuid4  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in patched:
            module.uuid4 = uuid.uuid4  # type: ignore[attr-defined]


class Workload:
    def __init__(self, ledger: ContractLedger, clock: SettableClock, seed: int, scale: int = 1) -> None:
        self.ledger = ledger
        self.clock = clock
        self.rng = random.Random(seed)
        self.scale = scale
        self.summary = Summary()
        self.system = Actor.system()
        self.admins: dict[UUID, Actor] = {}
        self.mga_carriers: dict[UUID, list[UUID]] = {}
        self.aga_mga: dict[UUID, UUID] = {}
        self.advisor_aga: dict[UUID, UUID] = {}
        self.contracts: list[UUID] = []
        self.records: list[tuple[str, UUID, Actor]] = []

    # -- the world ------------------------------------------------------------

    def _register(self, kind: str, name: str, **options: Any) -> UUID:
        party = self.ledger.register_party(self.system, kind, {"name": name, "identifiers": {"npn": f"{self.rng.randrange(10**9):09d}"}}, **options)
        self.summary.parties += 1
        if kind == "carrier":
            self.admins[party] = Actor(Role.CARRIER_STAFF, f"staff-{party.hex[:6]}", party)
        elif kind == "agency":
            self.admins[party] = Actor(Role.AGENCY_ADMIN, f"admin-{party.hex[:6]}", party)
        else:
            self.admins[party] = Actor(Role.PRODUCER, f"advisor-{party.hex[:6]}", party)
        return party

    def _relate(self, upper: UUID, lower: UUID) -> None:
        relationship = self.ledger.establish_direct_relationship(self.admins[lower], upper, lower)
        self.ledger.set_manual_status(self.admins[upper], relationship, Status.ACTIVE)

    def build_world(self) -> None:
        carriers = [self._register("carrier", f"Carrier {i}") for i in range(3 * self.scale)]
        for m in range(4 * self.scale):
            mga = self._register("agency", f"MGA {m}", level="MGA")
            self.mga_carriers[mga] = self.rng.sample(carriers, k=min(len(carriers), 2))
            for carrier in self.mga_carriers[mga]:
                self._relate(carrier, mga)
            for a in range(3):
                aga = self._register("agency", f"AGA {m}.{a}", level="AGA")
                self.aga_mga[aga] = mga
                self._relate(mga, aga)
        corporations = []
        for a in range(60 * self.scale):
            aga = self.rng.choice(list(self.aga_mga))
            corporate = a % 10 == 0
            advisor = self._register(
                "advisor", f"Advisor {a}", advisor_kind="corporate" if corporate else "individual"
            )
            self.advisor_aga[advisor] = aga
            if corporate:
                corporations.append(advisor)
            elif corporations and self.rng.random() < 0.2:
                self.ledger.associate_advisor_with_corporation(self.system, advisor, self.rng.choice(corporations))

    # -- what happens next -----------------------------------------------------

    def _contract(self, contract_id: UUID) -> Any:
        """The contract as it stands, for reading only: with the ledger's
        aggregate cache on (AGGREGATE_CACHE_MAXSIZE), the cached object itself
        rather than a deep copy, which is most of a generator step's cost."""
        return self.ledger.repository.get(contract_id, deepcopy_from_cache=False)

    def _status(self, contract_id: UUID) -> Status:
        return self._contract(contract_id).status

    def _pick(self, wanted: Callable[[Status], bool]) -> UUID | None:
        for _ in range(12):
            if not self.contracts:
                return None
            contract_id = self.rng.choice(self.contracts)
            if wanted(self._status(contract_id)):
                return contract_id
        return None

    def assign_bundle(self) -> None:
        advisor = self.rng.choice(list(self.advisor_aga))
        aga = self.advisor_aga[advisor]
        mga = self.aga_mga[aga]
        chains = [[carrier, mga, aga, advisor] for carrier in self.mga_carriers[mga]]
        filled_by = self.rng.choice(["producer", "agency_admin"])
        outcome = self.ledger.assign_contracts(self.admins[aga], chains, filled_by)
        self.contracts.extend(outcome["contract_ids"])  # type: ignore[arg-type]
        self.summary.contracts += len(chains)

    def onboard(self) -> None:
        contract_id = self._pick(lambda s: s in PENDING)
        if contract_id is None:
            return self.assign_bundle()
        contract = self._contract(contract_id)
        aga_admin = self.admins[contract.chain[-2]]
        producer = self.admins[contract.advisor_id]
        carrier_staff = self.admins[contract.carrier_id]
        status = contract.status
        if status is Status.PENDING_AGENCY:
            if self.rng.random() < 0.6:
                self.ledger.submit_to_carrier(aga_admin, contract_id)
            else:
                self.ledger.send_to_producer(aga_admin, contract_id)
        elif status is Status.PENDING_PRODUCER:
            self.ledger.submit_by_producer(producer, contract_id)
        elif status is Status.PENDING_CARRIER:
            outcome = self.rng.choices(
                [Status.ACTIVE, Status.DECLINED, Status.PENDING_BACKGROUNDS], weights=[8, 1, 1]
            )[0]
            self.ledger.set_manual_status(carrier_staff, contract_id, outcome)
        else:
            self.ledger.set_manual_status(carrier_staff, contract_id, Status.ACTIVE)

    def number(self) -> None:
        contract_id = self._pick(lambda s: s not in TERMINAL)
        if contract_id is None:
            return
        carrier_staff = self.admins[self._contract(contract_id).carrier_id]
        if self.rng.random() < 0.5:
            self.ledger.add_writing_number(carrier_staff, contract_id, f"WN{self.rng.randrange(10**7):07d}")
        else:
            self.ledger.add_contract_code(carrier_staff, contract_id, f"C{self.rng.randrange(10**5):05d}")

    def lifecycle(self) -> None:
        contract_id = self._pick(lambda s: s in (Status.ACTIVE, Status.DOWNGRADED, Status.VESTED, Status.TERMINATED))
        if contract_id is None:
            return
        contract = self._contract(contract_id)
        owner = self.admins[contract.chain[self.rng.randrange(len(contract.chain) - 1)]]
        status = contract.status
        effective = today(self.clock) + timedelta(days=self.rng.choice([0, 0, 0, -3, 10]))
        if status is Status.ACTIVE:
            choice = self.rng.choices(["downgrade", "vest", "terminate"], weights=[3, 2, 2])[0]
            if choice == "downgrade":
                self.ledger.downgrade(owner, contract_id, "Lack of Production", effective_on=effective)
            elif choice == "vest":
                self.ledger.vest(owner, contract_id, "Retired", effective_on=effective)
            else:
                reason = self.rng.choice(TERMINATION_REASONS)
                self.ledger.terminate(owner, contract_id, reason, [LETTER], effective_on=effective)
        elif status in (Status.DOWNGRADED, Status.VESTED):
            self.ledger.upgrade(owner, contract_id)
        else:
            self.ledger.reactivate(owner, contract_id)

    def transfer(self) -> None:
        contract_id = self._pick(lambda s: s in (Status.ACTIVE, Status.TRANSFER_REQUESTED))
        if contract_id is None:
            return
        contract = self._contract(contract_id)
        if len(contract.chain) < 4:
            return
        carrier, mga, aga, advisor = contract.chain[0], contract.chain[1], contract.chain[-2], contract.chain[-1]
        if contract.status is Status.ACTIVE:
            others = [a for a, m in self.aga_mga.items() if m == mga and a != aga]
            if others:
                self.ledger.request_transfer(self.admins[advisor], contract_id, aga, self.rng.choice(others))
            return
        accepting = contract.accepting_entity_id
        roll = self.rng.random()
        if roll < 0.6:
            outcome = self.ledger.accept_transfer(self.admins[accepting], contract_id, THIRD_PARTY, mga)
            successor = outcome.get("successor_id") or outcome.get("contract_id")
            if isinstance(successor, UUID):
                self.contracts.append(successor)
        elif roll < 0.8:
            self.ledger.deny_transfer(self.admins[accepting], contract_id)
        else:
            self.ledger.rescind_transfer(self.admins[advisor], contract_id)

    def oversee(self) -> None:
        if self.records and self.rng.random() < 0.5:
            kind, record_id, actor = self.rng.choice(self.records)
            if kind == "monitoring":
                if self.rng.random() < 0.5:
                    self.ledger.change_monitoring(actor, record_id, reminder_on=today(self.clock) + timedelta(days=30))
                else:
                    self.ledger.remove_monitoring(actor, record_id)
            else:
                roll = self.rng.random()
                if roll < 0.4:
                    self.ledger.make_debt_public(actor, record_id)
                elif roll < 0.7:
                    self.ledger.change_debt(actor, record_id, status="resolved")
                else:
                    self.ledger.close_debt(actor, record_id)
            return
        contract_id = self._pick(lambda s: s is Status.ACTIVE)
        if contract_id is None:
            return
        contract = self._contract(contract_id)
        actor = self.admins[contract.chain[self.rng.randrange(len(contract.chain) - 1)]]
        day = today(self.clock)
        if self.rng.random() < 0.5:
            level, reason = self.rng.choice(
                [(1, "New to Industry"), (2, "Internal Investigation"), (3, "Sales"), (4, "Carrier initiated")]
            )
            record = self.ledger.add_monitoring(
                actor, contract_id, level=level, reason=reason, effective_on=day, reminder_on=day + timedelta(days=14)
            )
            self.records.append(("monitoring", record, actor))
        else:
            amount = Decimal(self.rng.randrange(100, 500_000)) / 100
            record = self.ledger.log_debt(
                actor, contract_id, amount=amount, effective_on=day, reminder_on=day + timedelta(days=30)
            )
            self.records.append(("debt", record, actor))

    def profile(self) -> None:
        party = self.rng.choice(list(self.advisor_aga))
        self.ledger.change_profile(self.admins[party], party, {"attributes": {"phone": f"+1555{self.rng.randrange(10**7):07d}"}})

    ACTIONS = (
        ("assign_bundle", 2),
        ("onboard", 10),
        ("number", 4),
        ("lifecycle", 3),
        ("transfer", 2),
        ("oversee", 4),
        ("profile", 1),
    )

    def step(self) -> None:
        names, weights = zip(*self.ACTIONS)
        name = self.rng.choices(names, weights=weights)[0]
        self.summary.actions += 1
        self.summary.by_action[name] = self.summary.by_action.get(name, 0) + 1
        try:
            getattr(self, name)()
        except LedgerError:
            self.summary.refused += 1
        # a bigger world does more in a day, not for longer: a book of any scale spans about the same years
        # (about 3.4 from the first event, measured at 2,500 and 250,000 contracts)
        self.clock.advance(minutes=self.rng.randrange(1, 240) / self.scale)


def generate(
    ledger: ContractLedger,
    clock: SettableClock,
    events: int | None = None,
    seed: int = 1,
    scale: int | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    contracts: int | None = None,
) -> Summary:
    """Fills ``ledger`` until it holds at least ``events`` events, or until at
    least ``contracts`` contracts were assigned (one of the two). The world
    grows with the size asked for: one scale per 20,000 events, or per 2,000
    contracts (about as many)."""
    if (events is None) == (contracts is None):
        raise ValueError("generate takes a number of events or a number of contracts, not both")
    if scale is None:
        scale = max(1, events // 20_000) if events is not None else max(1, contracts // 2_000)  # type: ignore[operator]
    rng = random.Random(seed)
    workload = Workload(ledger, clock, seed, scale)

    def done(recorded: int) -> bool:
        return recorded >= events if events is not None else workload.summary.contracts >= contracts  # type: ignore[operator]

    with deterministic_ids(rng):
        workload.build_world()
        recorded = ledger.recorder.max_notification_id() or 0
        while not done(recorded):
            workload.step()
            recorded = ledger.recorder.max_notification_id() or 0
            if progress is not None and workload.summary.actions % 200 == 0:
                progress(recorded)
    workload.summary.events = recorded
    return workload.summary
