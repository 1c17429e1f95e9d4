"""Two writers at once, against the served app: the races of issue 13.

Each race prepares a contract in the state it needs (through the ledger, on
the store the server serves), opens one HTTP connection per writer, lets
both writers go at the same instant (a barrier) and then judges what the
ledger recorded against the answers: a run is *clean* when what it shows is
what one serial order of the two commands gives (each applied whole or not
at all, no impossible event sequence), and the answers say so (a 200 for
what was applied, a 4xx refusal for what was not). Which order won is
counted too, with the loser's code: a ``*.concurrent_change`` loser
collided with the winner inside the store, so the race was a real one.

The races: deny against accept (a transfer), two If-Match writers on one
version, terminate against expire, a peer's change against a user's
status, and a detach against a bundle's workflow step (rules §4: the
detached member either moved before it left or stays where it was).

``RaceGround`` is the world they share: parties registered by the ledger
itself, tokens issued straight into the store. scripts/race-loop runs each
race N times on PostgreSQL (``contractledger.http.race_loop``); the suite
runs each a few times on both stores (tests/e2e/test_races_over_http.py).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from contractledger.domain.actor import Actor, Role
from contractledger.domain.ledger import ContractLedger
from contractledger.domain.status import Status
from contractledger.http.tokens import TokenRegistry

LETTER = {
    "name": "termination-letter.pdf",
    "media_type": "application/pdf",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "location": "s3://contracting-documents/termination-letter.pdf",
}


@dataclass(frozen=True)
class RaceAnswer:
    status: int
    body: Any

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def applied(self) -> bool:
        return 200 <= self.status < 300

    def refusal(self) -> str:
        return f"{self.status} {self.code}"


class Request:
    """One HTTP request on its own connection, opened before it is sent."""

    def __init__(self, base_url: str, method: str, path: str, token: str, body: Any = None, **headers: str) -> None:
        parts = urlsplit(base_url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.method, self.path = method, path
        self.data = None if body is None else json.dumps(body).encode()
        self.headers = {"Authorization": f"Bearer {token}", **headers}
        if self.data is not None:
            self.headers["Content-Type"] = "application/json"
        self.connection: http.client.HTTPConnection | None = None

    def connect(self) -> None:
        self.connection = http.client.HTTPConnection(*self.address, timeout=60)
        self.connection.connect()

    def send(self) -> RaceAnswer:
        if self.connection is None:
            self.connect()
        assert self.connection is not None
        try:
            self.connection.request(self.method, self.path, body=self.data, headers=self.headers)
            response = self.connection.getresponse()
            raw = response.read()
            return RaceAnswer(response.status, json.loads(raw) if raw else None)
        finally:
            self.connection.close()


def at_once(first: Request, second: Request) -> tuple[RaceAnswer, RaceAnswer]:
    """Sends both at the same instant, each from its own thread and connection."""
    for request in (first, second):
        request.connect()
    start = threading.Barrier(2)
    answers: list[RaceAnswer | BaseException | None] = [None, None]

    def send(index: int, request: Request) -> None:
        try:
            start.wait(timeout=30)
            answers[index] = request.send()
        except BaseException as error:  # reported below, in the racing thread's caller
            answers[index] = error

    threads = [threading.Thread(target=send, args=(i, r)) for i, r in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    for answer in answers:
        if not isinstance(answer, RaceAnswer):
            raise RuntimeError(f"a racing request did not complete: {answer!r}")
    return answers[0], answers[1]  # type: ignore[return-value]


class RaceGround:
    """The parties every race uses, a ledger on the served store, and tokens."""

    def __init__(self, base_url: str, ledger: ContractLedger, tokens: TokenRegistry) -> None:
        self.base_url, self.ledger, self.tokens = base_url, ledger, tokens
        system = Actor.system()
        register = lambda kind, name, **o: ledger.register_party(system, kind, {"name": name}, **o)  # noqa: E731
        self.carrier = register("carrier", "Northern Life")
        self.mga = register("agency", "Summit MGA", level="MGA")
        self.aga = register("agency", "Harbour AGA", level="AGA")
        self.other_aga = register("agency", "Lighthouse AGA", level="AGA")
        self.accepting = register("agency", "Beacon AGA", level="AGA")
        self.advisor = register("advisor", "Ada Lovelace", advisor_kind="individual")
        for upper, lower in ((self.carrier, self.mga), (self.mga, self.aga), (self.mga, self.other_aga), (self.mga, self.accepting)):
            relationship = ledger.establish_direct_relationship(system, upper, lower)
            ledger.set_manual_status(system, relationship, Status.ACTIVE)
        self.carrier_staff = Actor(Role.CARRIER_STAFF, "carol@northern", self.carrier)
        self.mga_admin = Actor(Role.AGENCY_ADMIN, "mike@summit", self.mga)
        self.accepting_admin = Actor(Role.AGENCY_ADMIN, "bea@beacon", self.accepting)
        self.producer = Actor(Role.PRODUCER, "ada", self.advisor)
        self.manage = Actor(Role.SYNC_PEER, "manage")
        self._tokens: dict[Actor, str] = {}

    def token(self, actor: Actor) -> str:
        if actor not in self._tokens:
            self._tokens[actor] = self.tokens.issue(actor, timedelta(hours=12)).secret
        return self._tokens[actor]

    def request(self, actor: Actor, method: str, path: str, body: Any = None, **headers: str) -> Request:
        return Request(self.base_url, method, path, self.token(actor), body, **headers)

    def post(self, actor: Actor, path: str, body: Any = None, **headers: str) -> Request:
        return self.request(actor, "POST", path, {} if body is None else body, **headers)

    # -- contracts as a race needs them (written through the ledger) ---------------------------

    def chain(self, aga: UUID | None = None) -> list[UUID]:
        return [self.carrier, self.mga, aga or self.aga, self.advisor]

    def pending_carrier(self) -> UUID:
        ledger = self.ledger
        (contract_id,) = ledger.assign_contracts(self.mga_admin, [self.chain()], "agency_admin")["contract_ids"]
        ledger.send_to_producer(self.mga_admin, contract_id)
        ledger.submit_by_producer(self.producer, contract_id)
        ledger.submit_to_carrier(self.mga_admin, contract_id)
        return contract_id

    def active(self) -> UUID:
        contract_id = self.pending_carrier()
        self.ledger.set_manual_status(self.carrier_staff, contract_id, Status.ACTIVE)
        return contract_id

    def position(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def events_since(self, position: int) -> list[tuple[str, UUID, Any]]:
        """(event class, aggregate id, event) of everything recorded after ``position``."""
        recorded = self.ledger.recorder.select_notifications(position + 1, 10_000)
        events = [self.ledger.mapper.to_domain_event(n) for n in recorded]
        return [(type(e).__qualname__, e.originator_id, e) for e in events]


@dataclass(frozen=True)
class Outcome:
    clean: bool
    order: str
    """Which serial order the run shows (and how the loser was refused)."""
    detail: str = ""


def one_winner(
    answers: dict[str, RaceAnswer], recorded: dict[str, list[str]], seen: list[str], losers: tuple[int, ...] = (409, 412, 422)
) -> Outcome:
    """Exactly one writer applied, the other refused with a 4xx and no trace:
    the contract events recorded are exactly the winner's."""
    winners = [name for name, answer in answers.items() if answer.applied]
    refused = {name: answer for name, answer in answers.items() if not answer.applied}
    shown = ", ".join(f"{n}: {a.refusal() if not a.applied else a.status}" for n, a in answers.items())
    if len(winners) != 1 or any(a.status not in losers for a in refused.values()):
        return Outcome(False, "not one winner", f"{shown}; recorded {seen}")
    (winner,), (loser,) = winners, list(refused)
    if sorted(seen) != sorted(recorded[winner]):
        return Outcome(False, f"{winner} won", f"{shown}; recorded {seen}, expected {recorded[winner]}")
    return Outcome(True, f"{winner} won ({loser}: {refused[loser].code})")


# -- the races -------------------------------------------------------------------------------------


def deny_against_accept(ground: RaceGround) -> Outcome:
    contract_id = ground.active()
    ground.ledger.request_transfer(ground.producer, contract_id, ground.aga, ground.accepting)
    before = ground.position()
    path = f"/contracts/{contract_id}"
    answers = at_once(
        ground.post(ground.accepting_admin, f"{path}/deny-transfer"),
        ground.post(ground.accepting_admin, f"{path}/accept-transfer", {"option": "third_party", "third_party_id": str(ground.mga)}),
    )
    seen = [name for name, _, _ in ground.events_since(before)]
    recorded = {"deny": ["Contract.TransferDenied"], "accept": ["Contract.TransferAccepted", "Contract.TransferPackageCreated"]}
    # accepting after a denial, the accepting entity no longer sees the contract: 404, as for any contract hidden from it
    return one_winner(dict(zip(("deny", "accept"), answers)), recorded, seen, losers=(404, 409, 422))


def if_match_writers(ground: RaceGround) -> Outcome:
    contract_id = ground.active()
    version = ground.ledger.get_contract(contract_id).version
    before = ground.position()
    path = f"/contracts/{contract_id}"
    if_match = {"If-Match": f'"{version}"'}
    answers = at_once(
        ground.post(ground.carrier_staff, f"{path}/add-writing-number", {"writing_number": "WN-A"}, **if_match),
        ground.post(ground.mga_admin, f"{path}/add-contract-code", {"code": "C-B"}, **if_match),
    )
    seen = [name for name, _, _ in ground.events_since(before)]
    recorded = {"writing number": ["Contract.WritingNumberAdded"], "code": ["Contract.ContractCodeAdded"]}
    return one_winner(dict(zip(("writing number", "code"), answers)), recorded, seen)


def terminate_against_expire(ground: RaceGround) -> Outcome:
    contract_id = ground.active()
    before = ground.position()
    path = f"/contracts/{contract_id}"
    answers = at_once(
        ground.post(ground.carrier_staff, f"{path}/terminate", {"reason": "Retired", "documents": [LETTER]}),
        ground.post(ground.mga_admin, f"{path}/set-manual-status", {"status": "expired"}),
    )
    events = ground.events_since(before)
    seen = [name if name != "Contract.StatusChanged" else f"{name}:{e.status}" for name, _, e in events]
    recorded = {"terminate": ["Contract.Terminated"], "expire": ["Contract.StatusChanged:expired"]}
    outcome = one_winner(dict(zip(("terminate", "expire"), answers)), recorded, seen)
    status = ground.ledger.get_contract(contract_id).status
    expected = {"terminate won": Status.TERMINATED, "expire won": Status.EXPIRED}
    if outcome.clean and expected.get(outcome.order.split(" (")[0]) is not status:
        return Outcome(False, outcome.order, f"the contract is {status.value}")
    return outcome


def sync_change_against_user(ground: RaceGround) -> Outcome:
    contract_id = ground.pending_carrier()
    version = ground.ledger.get_contract(contract_id).version
    before = ground.position()
    change = {
        "change_id": f"race-{uuid4().hex[:12]}",
        "contract_id": str(contract_id),
        "seen_version": version,
        "change": {"kind": "status", "status": "Declined"},
    }
    answers = at_once(
        ground.post(ground.manage, "/sync/manage/changes", change),
        ground.post(ground.carrier_staff, f"/contracts/{contract_id}/set-manual-status", {"status": "active"}),
    )
    # the peer's change is recorded applied or refused (its command record): only the contract's events judge
    events = [(name, e) for name, aggregate, e in ground.events_since(before) if aggregate == contract_id]
    seen = [f"{name}:{e.status}:{e.actor.role.value}" for name, e in events]
    recorded = {
        "peer": ["Contract.StatusChanged:declined:sync_peer"],
        "user": ["Contract.StatusChanged:active:carrier_staff"],
    }
    return one_winner(dict(zip(("peer", "user"), answers)), recorded, seen)


def detach_against_bundle_step(ground: RaceGround) -> Outcome:
    chains = [ground.chain(), ground.chain(ground.other_aga), [ground.carrier, ground.mga, ground.advisor]]
    ids = ground.ledger.assign_contracts(ground.mga_admin, chains, "agency_admin")["contract_ids"]
    stepped, leaving = ids[0], ids[2]
    before = ground.position()
    step, detach = at_once(
        ground.post(ground.mga_admin, f"/contracts/{stepped}/send-to-producer"),
        ground.post(ground.mga_admin, f"/contracts/{leaving}/detach-from-bundle"),
    )
    events: dict[UUID, list[str]] = {i: [] for i in ids}
    for name, aggregate, _ in ground.events_since(before):
        events.setdefault(aggregate, []).append(name.split(".")[-1])
    shown = f"step: {step.refusal() if not step.applied else step.status}, detach: {detach.refusal() if not detach.applied else detach.status}"
    left = events[leaving]
    # the serial orders: the step first (the member moved, then left), or the detach first
    # (it stays where it was and the step moves the others, or is refused for colliding)
    orders = {
        "step, then detach": (True, True, ["SentToProducer", "DetachedFromBundle"], True),
        "detach, then step": (True, True, ["DetachedFromBundle"], True),
        "step won": (True, False, ["SentToProducer"], True),
        "detach won": (False, True, ["DetachedFromBundle"], False),
    }
    for order, (step_applied, detach_applied, leaving_events, others_moved) in orders.items():
        if (step.applied, detach.applied, left) != (step_applied, detach_applied, leaving_events):
            continue
        moved_others = [events[i] == ["SentToProducer"] for i in ids[:2]]
        if moved_others != [others_moved, others_moved]:
            break
        if step.applied and set(step.body["contract_ids"]) != {str(i) for i in ids if "SentToProducer" in events[i]}:
            break
        loser = next((f" (the {n}: {a.code})" for n, a in (("step", step), ("detach", detach)) if not a.applied), "")
        if loser and (step if not step.applied else detach).status not in (409, 422):
            break
        return Outcome(True, order + loser)
    return Outcome(False, "no serial order", f"{shown}; events {({str(k)[:8]: v for k, v in events.items()})}")


RACES: dict[str, Callable[[RaceGround], Outcome]] = {
    "deny against accept": deny_against_accept,
    "If-Match writers": if_match_writers,
    "terminate against expire": terminate_against_expire,
    "sync change against user command": sync_change_against_user,
    "detach against bundle step": detach_against_bundle_step,
}


@dataclass
class Tally:
    runs: int = 0
    clean: int = 0
    orders: Counter[str] = field(default_factory=Counter)
    unclean: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.runs += 1
        self.clean += outcome.clean
        self.orders[outcome.order] += 1
        if not outcome.clean:
            self.unclean.append(f"{outcome.order}: {outcome.detail}")


def run_races(ground: RaceGround, runs: int, names: list[str] | None = None) -> dict[str, Tally]:
    """Each race ``runs`` times, one run after the other; each run on contracts of its own."""
    tallies = {name: Tally() for name in names or RACES}
    for _ in range(runs):
        for name, tally in tallies.items():
            tally.add(RACES[name](ground))
    return tallies


def report(tallies: dict[str, Tally]) -> str:
    width = max(len(name) for name in tallies)
    lines = [f"{'race':<{width}}  {'runs':>5}  {'clean winners':>13}  serial orders seen"]
    for name, tally in tallies.items():
        orders = "; ".join(f"{order} {count}" for order, count in tally.orders.most_common())
        lines.append(f"{name:<{width}}  {tally.runs:>5}  {tally.clean:>13}  {orders}")
        lines += [f"    not clean: {u}" for u in tally.unclean[:5]]
    return "\n".join(lines)
