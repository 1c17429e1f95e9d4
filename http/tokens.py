"""Bearer tokens: random, shown once, stored only as hashes, expiring, revocable.

A token belongs to one principal: a user acting for one party with a role, an
auditor, a sync peer or an operator (an
:class:`~contractledger.domain.actor.Actor`). It is issued only as rules §1
allows: for a party that exists, with the role that fits its kind (the
ledger's rule, ``ensure_may_hold_token``), and a sync peer's only for a
configured peer. The table keeps the SHA-256 of each token, never the token.
Verified tokens are remembered per process for a few seconds, so a
revocation takes effect within ``CACHE_SECONDS`` everywhere.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import Clock
from contractledger.domain.errors import InvalidInput
from contractledger.projections.engine.view_database import ViewDatabase
from contractledger.sync.peer import peers

PREFIX = "clt_"
CACHE_SECONDS = 2.0

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS access_tokens ("
    " token_hash TEXT PRIMARY KEY, token_id KEY_TEXT NOT NULL UNIQUE, role TEXT NOT NULL,"
    " user_name TEXT NOT NULL, party_id KEY_TEXT, label TEXT NOT NULL, issued_at KEY_TEXT NOT NULL,"
    " expires_at KEY_TEXT NOT NULL, revoked_at KEY_TEXT)",
)


class TokenHolders(Protocol):
    """Who may hold a token: the ledger, which knows the parties."""

    def ensure_may_hold_token(self, actor: Actor) -> None: ...


class TokenRefused(Exception):
    """Why a presented token does not authenticate (for the 401's sentence)."""


@dataclass(frozen=True)
class IssuedToken:
    token_id: str
    secret: str  # shown once, to whoever issued it
    actor: Actor
    expires_at: datetime


@dataclass(frozen=True)
class TokenListing:
    token_id: str
    actor: Actor
    label: str
    issued_at: str
    expires_at: str
    revoked_at: str | None


def token_hash(secret: str) -> str:
    """What the table keeps of a token (and a console session, of the token it was signed in with)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenRegistry:
    def __init__(self, database: ViewDatabase, clock: Clock, holders: TokenHolders) -> None:
        self.database = database
        self.clock = clock
        self.holders = holders
        self._verified: dict[str, tuple[Actor, datetime, float]] = {}
        self._lock = threading.Lock()

    def ensure_schema(self) -> None:
        with self.database.transaction() as tx:
            tx.serialise_schema_changes()  # every gunicorn worker makes it at boot, as do scripts/tokens and tests
            for statement in SCHEMA:
                tx.execute(statement)

    def issue(self, actor: Actor, lifetime: timedelta, label: str = "") -> IssuedToken:
        """A new token for ``actor``; a LedgerError with the sentence saying why not."""
        if not actor.user.strip():
            raise InvalidInput("token.user_required", "Name the user the token is for.", "user")
        self.holders.ensure_may_hold_token(actor)
        if actor.role is Role.SYNC_PEER and actor.user not in peers():
            raise InvalidInput(
                "token.peer_unknown",
                f"There is no sync peer {actor.user!r}; a sync_peer token is for one of "
                f"{', '.join(sorted(peers()))} (sync/peers/).",
                "user",
            )
        if lifetime <= timedelta(0):
            raise InvalidInput("token.lifetime_not_positive", "A token's lifetime must be positive; give days > 0.", "days")
        secret = PREFIX + secrets.token_urlsafe(32)
        hashed = token_hash(secret)
        token_id = hashed[:16]
        issued = self.clock.now()
        expires = issued + lifetime
        with self.database.transaction() as tx:
            tx.execute(
                "INSERT INTO access_tokens (token_hash, token_id, role, user_name, party_id, label,"
                " issued_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    hashed, token_id, actor.role.value, actor.user,
                    str(actor.party_id) if actor.party_id else None, label,
                    issued.isoformat(), expires.isoformat(),
                ),
            )
        return IssuedToken(token_id, secret, actor, expires)

    def authenticate(self, secret: str) -> Actor:
        """The principal a token stands for, or TokenRefused saying why not."""
        return self.principal_of(token_hash(secret))

    def principal_of(self, hashed: str) -> Actor:
        """As ``authenticate``, from the token's hash (a console session keeps only that)."""
        now = self.clock.now()
        with self._lock:
            remembered = self._verified.get(hashed)
        if remembered and time.monotonic() - remembered[2] < CACHE_SECONDS and now < remembered[1]:
            return remembered[0]
        rows = self.database.query(
            "SELECT role, user_name, party_id, expires_at, revoked_at FROM access_tokens WHERE token_hash = ?",
            (hashed,),
        )
        if not rows:
            raise TokenRefused("The bearer token is not known; ask for a new one.")
        role, user, party, expires_at, revoked_at = rows[0]
        if revoked_at:
            raise TokenRefused("The bearer token was revoked; ask for a new one.")
        expires = datetime.fromisoformat(expires_at)
        if now >= expires:
            raise TokenRefused("The bearer token has expired; ask for a new one.")
        actor = Actor(role=Role(role), user=user, party_id=UUID(party) if party else None)
        with self._lock:
            self._verified[hashed] = (actor, expires, time.monotonic())
        return actor

    def revoke(self, token_id: str) -> bool:
        with self.database.transaction() as tx:
            tx.execute(
                "UPDATE access_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (self.clock.now().isoformat(), token_id),
            )
            changed = tx.rowcount > 0
        with self._lock:
            self._verified.clear()
        return changed

    def listing(self) -> list[TokenListing]:
        rows = self.database.query(
            "SELECT token_id, role, user_name, party_id, label, issued_at, expires_at, revoked_at"
            " FROM access_tokens ORDER BY issued_at, token_id"
        )
        return [
            TokenListing(
                token_id, Actor(Role(role), user, UUID(party) if party else None), label, issued, expires, revoked
            )
            for token_id, role, user, party, label, issued, expires, revoked in rows
        ]
