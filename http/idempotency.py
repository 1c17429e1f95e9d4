"""Idempotent commands over HTTP: ``Idempotency-Key``.

The key, scoped by the principal presenting it, is passed to the use case
as its ``command_id``: the ledger itself guarantees, in the store's
transaction, that a repeat records nothing new and has the first outcome.
This module adds what HTTP clients expect on top: the first response
(status, the headers that matter, body) is kept in a small table of the
view database and a repeat gets it back byte for byte; the same key with
another request is refused (422); a repeat while the first is still being
answered is refused (409).

A first attempt that died before its response was kept (a killed worker)
leaves its row in flight; after ``ABANDONED_AFTER`` seconds a repeat takes
over and runs the command again, which the ledger's command id makes safe.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import falcon

from contractledger.domain.actor import Actor
from contractledger.domain.clock import Clock
from contractledger.http.problems import Problem
from contractledger.projections.view_database import ViewDatabase

ABANDONED_AFTER = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
KEPT_HEADERS = ("Location", "ETag", "Ledger-Position")

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS http_idempotent_responses ("
    " principal TEXT NOT NULL, idempotency_key TEXT NOT NULL, request_fingerprint TEXT NOT NULL,"
    " started_at TEXT NOT NULL, status INTEGER, content_type TEXT, headers TEXT, body TEXT,"
    " PRIMARY KEY (principal, idempotency_key))",
)


@dataclass(frozen=True)
class KeptResponse:
    status: int
    content_type: str
    headers: dict[str, str]
    body: bytes


def principal_of(actor: Actor) -> str:
    return f"{actor.role.value}:{actor.user}:{actor.party_id or ''}"


def command_id(actor: Actor, key: str) -> str:
    """The use case's command id: the key, scoped by who presented it."""
    return f"http {principal_of(actor)} {key}"


def request_fingerprint(method: str, path: str, canonical_body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), canonical_body])).hexdigest()


def idempotency_key(req: falcon.Request) -> str | None:
    key = req.get_header("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(
            falcon.HTTP_400,
            "request.idempotency_key_invalid",
            f"Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable characters; a random UUID is a good choice.",
            field="Idempotency-Key",
        )
    return key


class IdempotentResponses:
    def __init__(self, database: ViewDatabase, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def ensure_schema(self) -> None:
        with self.database.transaction() as tx:
            tx.serialise_schema_changes()
            for statement in SCHEMA:
                tx.execute(statement)

    def begin(self, principal: str, key: str, fingerprint: str) -> KeptResponse | None:
        """The kept response of an earlier request with this key, or None when
        this request goes first (it then must ``keep`` or ``forget``)."""
        now = self.clock.now()
        with self.database.transaction() as tx:
            tx.execute(
                "INSERT INTO http_idempotent_responses (principal, idempotency_key, request_fingerprint, started_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (principal, idempotency_key) DO NOTHING",
                (principal, key, fingerprint, now.isoformat()),
            )
            if tx.rowcount == 1:
                return None
            tx.execute(
                "SELECT request_fingerprint, started_at, status, content_type, headers, body"
                " FROM http_idempotent_responses WHERE principal = ? AND idempotency_key = ?",
                (principal, key),
            )
            kept_fingerprint, started_at, status, content_type, headers, body = tx.fetchone()
            if kept_fingerprint != fingerprint:
                raise Problem(
                    falcon.HTTP_422,
                    "request.idempotency_key_reused",
                    "This Idempotency-Key was used for a different request; use a new key for a new request.",
                    field="Idempotency-Key",
                )
            if status is not None:
                return KeptResponse(int(status), content_type, json.loads(headers), body.encode())
            if now - datetime.fromisoformat(started_at) < ABANDONED_AFTER:
                raise Problem(
                    falcon.HTTP_409,
                    "request.idempotency_key_in_flight",
                    "The first request with this Idempotency-Key is still being answered; retry in a moment.",
                    field="Idempotency-Key",
                )
            tx.execute(
                "UPDATE http_idempotent_responses SET started_at = ? WHERE principal = ? AND idempotency_key = ?",
                (now.isoformat(), principal, key),
            )
            return None

    def keep(self, principal: str, key: str, response: KeptResponse) -> None:
        with self.database.transaction() as tx:
            tx.execute(
                "UPDATE http_idempotent_responses SET status = ?, content_type = ?, headers = ?, body = ?"
                " WHERE principal = ? AND idempotency_key = ?",
                (
                    response.status, response.content_type, json.dumps(response.headers),
                    response.body.decode(), principal, key,
                ),
            )

    def forget(self, principal: str, key: str) -> None:
        """After a server error: nothing to replay, so a retry runs the command again."""
        with self.database.transaction() as tx:
            tx.execute(
                "DELETE FROM http_idempotent_responses WHERE principal = ? AND idempotency_key = ? AND status IS NULL",
                (principal, key),
            )

