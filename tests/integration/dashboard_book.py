"""A book for the dashboard tests: contracts of several chains, entering
their statuses on different days over four months (several the same day),
two terminations dated ahead (of a contract long active, and of one just active), one hold back-dated, and the world's direct
relationships; with the domain's own answer to what the dashboard counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from views_scenario import LETTER, ContractingWorld

from contractledger.domain.actor import Actor
from contractledger.domain.status import Status


@dataclass
class DashboardBook:
    contracts: list[UUID]
    days: dict[str, date]


def dashboard_book(w: ContractingWorld) -> DashboardBook:
    ledger = w.ledger
    days = {"start": w.today}
    (pending,) = w.assign()
    made = [pending, w.active_contract(), w.active_contract(advisor=w.second_advisor, aga=w.other_aga)]
    w.days_later(10)
    (held,) = w.assign()
    made.append(held)
    ledger.downgrade(w.carrier_staff, made[1], "Complaints")
    days["day_12"] = w.in_days(2)
    w.days_later(25)
    made.append(w.active_contract(aga=w.other_aga))
    ledger.send_to_producer(w.aga_admin, pending)
    days["day_50"] = w.in_days(15)
    w.days_later(40)
    ledger.terminate(w.carrier_staff, made[2], "Retired", [LETTER], effective_on=w.in_days(20))
    (late,) = w.assign(w.chain(advisor=w.second_advisor))
    made.append(late)
    ledger.set_manual_status(w.aga_admin, held, Status.PENDING_BACKGROUNDS, effective_on=w.in_days(-5))
    w.days_later(30)
    made.append(w.active_contract())
    made.append(w.active_contract(advisor=w.second_advisor, aga=w.other_aga))
    w.days_later(2)
    ledger.terminate(w.carrier_staff, made[-1], "Retired", [LETTER], effective_on=w.in_days(10))
    ledger.upgrade(w.carrier_staff, made[1])
    ledger.vest(w.carrier_staff, made[1], "Retiring soon")
    days["today"] = w.today
    days["after_the_termination"] = w.in_days(30)
    return DashboardBook([*made, w.carrier_mga, w.mga_aga, w.mga_other_aga], days)


def sees(actor: Actor, chain: tuple[UUID, ...]) -> bool:
    return actor.party_id is None and actor.role.value in ("auditor", "sync_peer") or actor.party_id in chain


def groups(w: ContractingWorld, contract_id: UUID, by: str) -> list[UUID | None]:
    c = w.ledger.get_contract(contract_id)
    if by == "status":
        return [None]
    if by == "carrier":
        return [c.carrier_id]
    if by == "advisor":
        return [c.advisor_id]
    return list(c.agencies) or [None]


def expected_counts(w: ContractingWorld, book: DashboardBook, actor: Actor, by: str, on: date) -> Counter:
    """(status, group) -> contracts, from each contract aggregate's own status on the day."""
    found: Counter = Counter()
    for contract_id in book.contracts:
        c = w.ledger.get_contract(contract_id)
        if sees(actor, c.chain):
            for group in groups(w, contract_id, by):
                found[(c.status_on(on), group)] += 1
    return found
