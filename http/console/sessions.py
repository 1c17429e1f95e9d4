"""The console's sessions: a browser signed in with a token.

A session is a random id, sent to the browser once in its cookie and kept
here only as its SHA-256, beside the hash of the token it was signed in
with, in the view database every gunicorn worker shares: so it survives a
worker's restart and is the same on every worker, and signing out ends it
on the server (a sealed cookie would stay valid until it expired). Every
request re-checks the token through the token registry, the way the API
checks a bearer token, so a revoked or expired token ends its sessions
within the registry's ``CACHE_SECONDS``. The browser never holds the
token, only the session id.

Each session has its CSRF token: derived from the session id (an HMAC of
it), so it needs no row of its own and cannot be made without the id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from contractledger.domain.actor import Actor
from contractledger.http.tokens import TokenRefused, TokenRegistry, token_hash

SESSION_LIFETIME = timedelta(hours=12)
"""A session ends this long after sign-in, or sooner when its token does."""

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS console_sessions ("
    " session_hash TEXT PRIMARY KEY, token_hash TEXT NOT NULL, started_at KEY_TEXT NOT NULL, expires_at KEY_TEXT NOT NULL)",
)


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf_token: str


def csrf_token_of(secret: str) -> str:
    """The CSRF token that goes with a session (or a sign-in form's) secret."""
    return hmac.new(secret.encode(), b"contractledger console csrf", hashlib.sha256).hexdigest()


def same_token(given: str | None, expected: str) -> bool:
    """Whether a form's CSRF token is the one expected (never when either is empty)."""
    return bool(given) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


class ConsoleSessions:
    def __init__(self, tokens: TokenRegistry) -> None:
        self.tokens = tokens
        self._ready = False
        self._lock = threading.Lock()

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                with self.tokens.database.transaction() as tx:
                    tx.serialise_schema_changes()  # every worker makes it on its first sign-in
                    for statement in SCHEMA:
                        tx.execute(statement)
                self._ready = True

    def sign_in(self, token: str) -> tuple[str, Session]:
        """A new session for the principal ``token`` stands for (its id, for the
        cookie), or TokenRefused saying why not."""
        self._ensure_schema()
        hashed = token_hash(token)
        actor = self.tokens.principal_of(hashed)
        secret = secrets.token_urlsafe(32)
        now = self.tokens.clock.now()
        with self.tokens.database.transaction() as tx:
            tx.execute("DELETE FROM console_sessions WHERE expires_at <= ?", (now.isoformat(),))
            tx.execute(
                "INSERT INTO console_sessions (session_hash, token_hash, started_at, expires_at) VALUES (?, ?, ?, ?)",
                (token_hash(secret), hashed, now.isoformat(), (now + SESSION_LIFETIME).isoformat()),
            )
        return secret, Session(actor, csrf_token_of(secret))

    def find(self, secret: str | None) -> Session | None:
        """The live session a cookie names, None when there is none (never was,
        signed out, expired, or its token no longer authenticates)."""
        if not secret:
            return None
        self._ensure_schema()
        rows = self.tokens.database.query(
            "SELECT token_hash, expires_at FROM console_sessions WHERE session_hash = ?", (token_hash(secret),)
        )
        if not rows or datetime.fromisoformat(rows[0][1]) <= self.tokens.clock.now():
            return None
        try:
            actor = self.tokens.principal_of(rows[0][0])
        except TokenRefused:
            return None
        return Session(actor, csrf_token_of(secret))

    def sign_out(self, secret: str) -> None:
        self._ensure_schema()
        with self.tokens.database.transaction() as tx:
            tx.execute("DELETE FROM console_sessions WHERE session_hash = ?", (token_hash(secret),))
