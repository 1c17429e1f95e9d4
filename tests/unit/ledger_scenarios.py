"""The scenario base every ledger test builds on.

``make_ledger`` is the one factory: the unit tests run on the in-memory store
(the library's default), and tests/integration/test_ledger_on_stores.py
subclasses the same test classes to run them on SQLite and PostgreSQL.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from uuid import UUID

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import SettableClock, today
from contractledger.domain.documents import DocumentReference
from contractledger.domain.errors import LedgerError
from contractledger.domain.ledger import ContractLedger
from contractledger.domain.status import Status

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SIGNED_LETTER = DocumentReference(
    name="termination-letter.pdf",
    media_type="application/pdf",
    sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    location="s3://contracting-documents/termination-letter.pdf",
)


class LedgerScenario(unittest.TestCase):
    """A carrier, an MGA under it, an AGA under the MGA, and an advisor, with
    active direct relationships carrier-MGA and MGA-AGA."""

    business_zone: tzinfo = timezone.utc

    def make_ledger(self, clock: SettableClock) -> ContractLedger:
        # Named, not inherited from the environment: unit tests stay in memory.
        return ContractLedger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)

    def setUp(self) -> None:
        self.clock = SettableClock(START, business_zone=self.business_zone)
        self.ledger = self.make_ledger(self.clock)
        self.addCleanup(self.ledger.close)
        self.system = Actor.system()
        self.carrier = self.register("carrier", "Northern Life")
        self.mga = self.register("agency", "Summit MGA", level="MGA")
        self.aga = self.register("agency", "Harbour AGA", level="AGA")
        self.advisor = self.register("advisor", "Ada Lovelace", advisor_kind="individual")
        self.carrier_staff = Actor(Role.CARRIER_STAFF, "carol@northern", self.carrier)
        self.mga_admin = Actor(Role.AGENCY_ADMIN, "mike@summit", self.mga)
        self.aga_admin = Actor(Role.AGENCY_ADMIN, "ann@harbour", self.aga)
        self.producer = Actor(Role.PRODUCER, "ada", self.advisor)
        self.auditor = Actor(Role.AUDITOR, "audrey")
        self.peer = Actor(Role.SYNC_PEER, "manage")
        self.relate(self.carrier, self.mga)
        self.relate(self.mga, self.aga)

    # -- building the world ----------------------------------------------------

    def register(self, kind: str, name: str, **options: Any) -> UUID:
        return self.ledger.register_party(self.system, kind, {"name": name}, **options)

    def admin_of(self, party_id: UUID) -> Actor:
        role = Role.CARRIER_STAFF if self.ledger.get_party(party_id).kind == "carrier" else Role.AGENCY_ADMIN
        return Actor(role, f"admin-{party_id.hex[:6]}", party_id)

    def relate(self, upper: UUID, lower: UUID) -> UUID:
        relationship = self.ledger.establish_direct_relationship(self.admin_of(lower), upper, lower)
        self.ledger.set_manual_status(self.admin_of(upper), relationship, Status.ACTIVE)
        return relationship

    @property
    def full_chain(self) -> list[UUID]:
        return [self.carrier, self.mga, self.aga, self.advisor]

    def assign(self, *chains: Sequence[UUID], filled_by: str = "agency_admin", actor: Actor | None = None) -> list[UUID]:
        outcome = self.ledger.assign_contracts(actor or self.aga_admin, list(chains) or [self.full_chain], filled_by)
        return outcome["contract_ids"]

    def active_contract(self, chain: Sequence[UUID] | None = None) -> UUID:
        """A contract taken through the whole onboarding workflow and approved by the carrier."""
        (contract_id,) = self.assign(chain or self.full_chain)
        self.ledger.send_to_producer(self.aga_admin, contract_id)
        self.ledger.submit_by_producer(self.producer, contract_id)
        self.ledger.submit_to_carrier(self.aga_admin, contract_id)
        self.ledger.set_manual_status(self.carrier_staff, contract_id, Status.ACTIVE)
        return contract_id

    def status_of(self, contract_id: UUID) -> Status:
        return self.ledger.get_contract(contract_id).status

    def days_later(self, days: int) -> None:
        self.clock.advance(days=days)

    @property
    def today(self) -> date:
        return today(self.clock)

    def in_days(self, days: int) -> date:
        return self.today + timedelta(days=days)

    # -- refusals leave the ledger exactly as it was -------------------------------

    def ledger_fingerprint(self, *aggregate_ids: UUID) -> tuple[int, tuple[int, ...]]:
        return (
            self.ledger.recorder.max_notification_id() or 0,
            tuple(self.ledger.repository.get(a).version for a in aggregate_ids),
        )

    def assert_refused(
        self, error: type[LedgerError], code: str, command: Callable[[], Any], *watched: UUID
    ) -> LedgerError:
        """The command is refused with ``code`` and nothing at all is recorded."""
        before = self.ledger_fingerprint(*watched)
        with self.assertRaises(error) as caught:
            command()
        self.assertEqual(code, caught.exception.code, caught.exception.message)
        self.assertTrue(caught.exception.message.strip().endswith("."), "the message is a sentence")
        self.assertEqual(before, self.ledger_fingerprint(*watched), "a refused command changed the ledger")
        return caught.exception
