"""Bearer tokens are stored only as hashes, expire, and can be revoked; and
they are issued only as rules §1 says (Who registers whom): for a party that
exists, with the role that fits its kind; auditors, peers and operators for
no party; a sync peer's for a configured peer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import SettableClock
from contractledger.domain.errors import LedgerError
from contractledger.domain.ledger import ContractLedger
from contractledger.http import tokens
from contractledger.http.tokens import TokenRefused, TokenRegistry
from contractledger.projections.engine.view_database import SqliteViewDatabase


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def ledger(tmp_path: Any, clock: SettableClock) -> Iterator[ContractLedger]:
    path = str(tmp_path / "ledger.sqlite3")
    made = ContractLedger({"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": path}, clock=clock)
    yield made
    made.close()


@pytest.fixture
def parties(ledger: ContractLedger) -> dict[str, UUID]:
    system = Actor.system()
    return {
        "carrier": ledger.register_party(system, "carrier", {"name": "Northern Life"}),
        "agency": ledger.register_party(system, "agency", {"name": "Summit MGA"}, level="MGA"),
        "advisor": ledger.register_party(system, "advisor", {"name": "Ada"}, advisor_kind="individual"),
    }


@pytest.fixture
def admin(parties: dict[str, UUID]) -> Actor:
    return Actor(Role.AGENCY_ADMIN, "alice", parties["agency"])


@pytest.fixture
def registry(tmp_path: Any, clock: SettableClock, ledger: ContractLedger) -> TokenRegistry:
    database = SqliteViewDatabase(str(tmp_path / "ledger.sqlite3"))
    registry = TokenRegistry(database, clock, ledger)
    registry.ensure_schema()
    return registry


def test_an_issued_token_authenticates_as_its_principal(registry: TokenRegistry, admin: Actor) -> None:
    issued = registry.issue(admin, timedelta(days=1), "alice's laptop")
    assert issued.secret.startswith("clt_") and len(issued.secret) > 40
    assert registry.authenticate(issued.secret) == admin


def test_the_secret_itself_is_never_stored(registry: TokenRegistry, admin: Actor) -> None:
    issued = registry.issue(admin, timedelta(days=1))
    rows = registry.database.query("SELECT * FROM access_tokens")
    assert all(issued.secret not in str(value) for value in rows[0])


def test_an_unknown_token_is_refused(registry: TokenRegistry) -> None:
    with pytest.raises(TokenRefused, match="not known"):
        registry.authenticate("clt_made-up")


def test_an_expired_token_is_refused(registry: TokenRegistry, clock: SettableClock, admin: Actor) -> None:
    issued = registry.issue(admin, timedelta(hours=1))
    clock.advance(hours=1)
    with pytest.raises(TokenRefused, match="expired"):
        registry.authenticate(issued.secret)


def test_a_revoked_token_is_refused_even_when_recently_verified(registry: TokenRegistry, admin: Actor) -> None:
    issued = registry.issue(admin, timedelta(days=1))
    registry.authenticate(issued.secret)
    assert registry.revoke(issued.token_id)
    with pytest.raises(TokenRefused, match="revoked"):
        registry.authenticate(issued.secret)
    assert not registry.revoke(issued.token_id)


def test_a_revocation_reaches_other_processes_within_the_cache_time(
    registry: TokenRegistry, clock: SettableClock, monkeypatch: pytest.MonkeyPatch, admin: Actor
) -> None:
    other_process = TokenRegistry(registry.database, clock, registry.holders)
    issued = registry.issue(admin, timedelta(days=1))
    assert other_process.authenticate(issued.secret) == admin
    registry.revoke(issued.token_id)
    monkeypatch.setattr(tokens, "CACHE_SECONDS", 0.0)
    with pytest.raises(TokenRefused, match="revoked"):
        other_process.authenticate(issued.secret)


def refusal(registry: TokenRegistry, actor: Actor, lifetime: timedelta = timedelta(days=1)) -> tuple[str, str]:
    before = registry.listing()
    with pytest.raises(LedgerError) as refused:
        registry.issue(actor, lifetime)
    assert registry.listing() == before, "a refused token was stored"
    return refused.value.code, refused.value.message


def test_a_party_user_token_must_name_its_party(registry: TokenRegistry) -> None:
    code, message = refusal(registry, Actor(Role.PRODUCER, "bob"))
    assert code == "token.party_required" and message == "A producer token acts for an advisor; name the party."


def test_a_token_is_issued_only_for_a_party_that_exists(registry: TokenRegistry) -> None:
    nobody = uuid4()
    code, message = refusal(registry, Actor(Role.AGENCY_ADMIN, "alice", nobody))
    assert code == "token.party_unknown" and message == f"There is no party {nobody}; register it first, or check the id."


@pytest.mark.parametrize(
    "role, kind, fitting",
    [
        (Role.CARRIER_STAFF, "agency", "an agency_admin"),
        (Role.PRODUCER, "carrier", "a carrier_staff"),
        (Role.AGENCY_ADMIN, "advisor", "a producer"),
        (Role.CARRIER_STAFF, "advisor", "a producer"),
    ],
)
def test_a_token_is_issued_only_with_the_role_that_fits_the_partys_kind(
    registry: TokenRegistry, parties: dict[str, UUID], role: Role, kind: str, fitting: str
) -> None:
    code, message = refusal(registry, Actor(role, "someone", parties[kind]))
    assert code == "token.role_does_not_fit"
    assert message.startswith(f"Party {parties[kind]} is a") and message.endswith(f"issue {fitting} token for it.")


def test_each_party_role_is_issued_for_its_own_kind_of_party(registry: TokenRegistry, parties: dict[str, UUID]) -> None:
    for role, kind in ((Role.CARRIER_STAFF, "carrier"), (Role.AGENCY_ADMIN, "agency"), (Role.PRODUCER, "advisor")):
        issued = registry.issue(Actor(role, "someone", parties[kind]), timedelta(days=1))
        assert registry.authenticate(issued.secret) == Actor(role, "someone", parties[kind])


def test_auditor_peer_and_operator_tokens_act_for_no_party(registry: TokenRegistry, parties: dict[str, UUID]) -> None:
    for actor in (Actor(Role.AUDITOR, "audrey"), Actor(Role.SYNC_PEER, "manage"), Actor(Role.OPERATOR, "olive")):
        code, _ = refusal(registry, Actor(actor.role, actor.user, parties["agency"]))
        assert code == "token.party_not_for_role"
        assert registry.authenticate(registry.issue(actor, timedelta(days=1)).secret) == actor


def test_a_sync_peer_token_is_only_for_a_configured_peer(registry: TokenRegistry) -> None:
    code, message = refusal(registry, Actor(Role.SYNC_PEER, "crm"))
    assert code == "token.peer_unknown" and "contracting, manage" in message


def test_no_token_acts_as_the_ledger_itself_or_for_nobody_or_for_no_time(registry: TokenRegistry) -> None:
    assert refusal(registry, Actor.system())[0] == "token.role_not_issuable"
    assert refusal(registry, Actor(Role.AUDITOR, " "))[0] == "token.user_required"
    assert refusal(registry, Actor(Role.AUDITOR, "audrey"), timedelta(0))[0] == "token.lifetime_not_positive"


def test_the_listing_shows_tokens_without_secrets(registry: TokenRegistry) -> None:
    auditor = registry.issue(Actor(Role.AUDITOR, "carol"), timedelta(days=1), "audit 2026")
    listing = registry.listing()
    assert [(t.token_id, t.actor, t.label, t.revoked_at) for t in listing] == [
        (auditor.token_id, Actor(Role.AUDITOR, "carol"), "audit 2026", None)
    ]
