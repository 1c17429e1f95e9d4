"""Bearer tokens are stored only as hashes, expire, and can be revoked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import SettableClock
from contractledger.http import tokens
from contractledger.http.tokens import TokenRefused, TokenRegistry
from contractledger.projections.view_database import SqliteViewDatabase


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def registry(tmp_path: Any, clock: SettableClock) -> TokenRegistry:
    database = SqliteViewDatabase(str(tmp_path / "ledger.sqlite3"))
    registry = TokenRegistry(database, clock)
    registry.ensure_schema()
    return registry


ADMIN = Actor(Role.AGENCY_ADMIN, "alice", uuid4())


def test_an_issued_token_authenticates_as_its_principal(registry: TokenRegistry) -> None:
    issued = registry.issue(ADMIN, timedelta(days=1), "alice's laptop")
    assert issued.secret.startswith("clt_") and len(issued.secret) > 40
    assert registry.authenticate(issued.secret) == ADMIN


def test_the_secret_itself_is_never_stored(registry: TokenRegistry) -> None:
    issued = registry.issue(ADMIN, timedelta(days=1))
    rows = registry.database.query("SELECT * FROM access_tokens")
    assert all(issued.secret not in str(value) for value in rows[0])


def test_an_unknown_token_is_refused(registry: TokenRegistry) -> None:
    with pytest.raises(TokenRefused, match="not known"):
        registry.authenticate("clt_made-up")


def test_an_expired_token_is_refused(registry: TokenRegistry, clock: SettableClock) -> None:
    issued = registry.issue(ADMIN, timedelta(hours=1))
    clock.advance(hours=1)
    with pytest.raises(TokenRefused, match="expired"):
        registry.authenticate(issued.secret)


def test_a_revoked_token_is_refused_even_when_recently_verified(registry: TokenRegistry) -> None:
    issued = registry.issue(ADMIN, timedelta(days=1))
    registry.authenticate(issued.secret)
    assert registry.revoke(issued.token_id)
    with pytest.raises(TokenRefused, match="revoked"):
        registry.authenticate(issued.secret)
    assert not registry.revoke(issued.token_id)


def test_a_revocation_reaches_other_processes_within_the_cache_time(
    registry: TokenRegistry, clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_process = TokenRegistry(registry.database, clock)
    issued = registry.issue(ADMIN, timedelta(days=1))
    assert other_process.authenticate(issued.secret) == ADMIN
    registry.revoke(issued.token_id)
    monkeypatch.setattr(tokens, "CACHE_SECONDS", 0.0)
    with pytest.raises(TokenRefused, match="revoked"):
        other_process.authenticate(issued.secret)


def test_a_party_user_token_must_name_its_party(registry: TokenRegistry) -> None:
    with pytest.raises(ValueError, match="must name the party"):
        registry.issue(Actor(Role.PRODUCER, "bob"), timedelta(days=1))


def test_the_listing_shows_tokens_without_secrets(registry: TokenRegistry) -> None:
    auditor = registry.issue(Actor(Role.AUDITOR, "carol"), timedelta(days=1), "audit 2026")
    listing = registry.listing()
    assert [(t.token_id, t.actor, t.label, t.revoked_at) for t in listing] == [
        (auditor.token_id, Actor(Role.AUDITOR, "carol"), "audit 2026", None)
    ]
