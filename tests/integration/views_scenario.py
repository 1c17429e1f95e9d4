"""A realistic little ledger and the view databases the view tests run on.

``ContractingWorld`` drives the real ContractLedger (in memory by default):
a carrier, an MGA and an AGA with active direct relationships, an individual
advisor associated with a corporation, a second advisor, and helpers for the
lifecycle. ``project`` applies the whole log to every view of the catalogue.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import SettableClock, today
from contractledger.domain.documents import DocumentReference
from contractledger.domain.ledger import ContractLedger
from contractledger.domain.status import Status
from contractledger.projections.engine import positions
from contractledger.runtime.catalogue import VIEWS
from contractledger.projections.engine.runner import ViewRunner
from contractledger.projections.engine.view_database import (
    PostgresViewDatabase,
    SqliteViewDatabase,
    ViewDatabase,
    postgres_connect_kwargs,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LETTER = DocumentReference(
    name="termination-letter.pdf",
    media_type="application/pdf",
    sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    location="s3://contracting-documents/termination-letter.pdf",
)


def sqlite_views(tmp_path: Any) -> Iterator[ViewDatabase]:
    database = SqliteViewDatabase(str(tmp_path / "views.sqlite3"))
    yield database
    database.close()


def postgres_views() -> Iterator[ViewDatabase]:
    """Views in a fresh schema of the throwaway server, dropped afterwards."""
    if not os.environ.get("POSTGRES_HOST"):
        pytest.fail("PostgreSQL tests need the throwaway server: run them through scripts/with-postgres")
    import psycopg2

    settings = postgres_connect_kwargs(os.environ)
    schema = f"views_{uuid4().hex[:12]}"
    admin = psycopg2.connect(**settings)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
    database = PostgresViewDatabase(settings, schema)
    yield database
    database.close()
    with admin.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA {schema} CASCADE")
    admin.close()


def project(ledger: ContractLedger, database: ViewDatabase, batch_size: int = 1000) -> int:
    """Applies the whole log to every catalogued view, made live; returns the position."""
    with database.transaction() as tx:
        positions.ensure_schema(tx)
        for view_class in VIEWS:
            if positions.live_generation(tx, view_class.name) is None:
                positions.make_live(tx, view_class.name, 1)
    runner = ViewRunner(ledger.recorder, ledger.mapper, database, [v(1) for v in VIEWS], batch_size=batch_size)
    runner.prepare()
    return runner.catch_up()


class ContractingWorld:
    def __init__(self, ledger: ContractLedger | None = None, clock: SettableClock | None = None) -> None:
        self.clock = clock or SettableClock(START)
        self.ledger = ledger or ContractLedger(clock=self.clock)
        self.system = Actor.system()
        self.carrier = self.register("carrier", "Northern Life")
        self.mga = self.register("agency", "Summit MGA", level="MGA")
        self.aga = self.register("agency", "Harbour AGA", level="AGA")
        self.other_aga = self.register("agency", "Lighthouse AGA", level="AGA")
        self.advisor = self.register("advisor", "Ada Lovelace", advisor_kind="individual")
        self.corporation = self.register("advisor", "Lovelace Advisory Inc", advisor_kind="corporate")
        self.second_advisor = self.register("advisor", "Grace Hopper", advisor_kind="individual")
        self.carrier_staff = Actor(Role.CARRIER_STAFF, "carol@northern", self.carrier)
        self.mga_admin = Actor(Role.AGENCY_ADMIN, "mike@summit", self.mga)
        self.aga_admin = Actor(Role.AGENCY_ADMIN, "ann@harbour", self.aga)
        self.other_aga_admin = Actor(Role.AGENCY_ADMIN, "lee@lighthouse", self.other_aga)
        self.producer = Actor(Role.PRODUCER, "ada", self.advisor)
        self.second_producer = Actor(Role.PRODUCER, "grace", self.second_advisor)
        self.auditor = Actor(Role.AUDITOR, "audrey")
        self.peer = Actor(Role.SYNC_PEER, "manage")
        self.operator = Actor(Role.OPERATOR, "olive")
        self.carrier_mga = self.relate(self.carrier, self.mga)
        self.mga_aga = self.relate(self.mga, self.aga)
        self.mga_other_aga = self.relate(self.mga, self.other_aga)
        self.ledger.associate_advisor_with_corporation(self.producer, self.advisor, self.corporation)

    def register(self, kind: str, name: str, **options: Any) -> UUID:
        return self.ledger.register_party(self.system, kind, {"name": name, "identifiers": {"npn": name[:3]}}, **options)

    def admin_of(self, party_id: UUID) -> Actor:
        role = Role.CARRIER_STAFF if self.ledger.get_party(party_id).kind == "carrier" else Role.AGENCY_ADMIN
        return Actor(role, f"admin-{party_id.hex[:6]}", party_id)

    def relate(self, upper: UUID, lower: UUID) -> UUID:
        relationship = self.ledger.establish_direct_relationship(self.admin_of(lower), upper, lower)
        self.ledger.set_manual_status(self.admin_of(upper), relationship, Status.ACTIVE)
        return relationship

    def chain(self, advisor: UUID | None = None, aga: UUID | None = None) -> list[UUID]:
        return [self.carrier, self.mga, aga or self.aga, advisor or self.advisor]

    def assign(self, *chains: list[UUID], by: Actor | None = None) -> list[UUID]:
        outcome = self.ledger.assign_contracts(by or self.aga_admin, list(chains) or [self.chain()], "agency_admin")
        return outcome["contract_ids"]

    def onboard(self, contract_id: UUID, admin: Actor | None = None, producer: Actor | None = None) -> None:
        admin = admin or self.aga_admin
        self.ledger.send_to_producer(admin, contract_id)
        self.ledger.submit_by_producer(producer or self.producer, contract_id)
        self.ledger.submit_to_carrier(admin, contract_id)

    def active_contract(self, advisor: UUID | None = None, aga: UUID | None = None) -> UUID:
        admin = self.aga_admin if (aga or self.aga) == self.aga else self.other_aga_admin
        producer = self.producer if (advisor or self.advisor) == self.advisor else self.second_producer
        (contract_id,) = self.assign(self.chain(advisor, aga), by=admin)
        self.onboard(contract_id, admin, producer)
        self.ledger.set_manual_status(self.carrier_staff, contract_id, Status.ACTIVE)
        return contract_id

    @property
    def today(self) -> date:
        return today(self.clock)

    def in_days(self, days: int) -> date:
        return self.today + timedelta(days=days)

    def days_later(self, days: int) -> None:
        self.clock.advance(days=days)
