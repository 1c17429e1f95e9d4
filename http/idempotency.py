"""Idempotent commands over HTTP: ``Idempotency-Key``.

The key, scoped by the principal presenting it, is passed to the use case
as its ``command_id``: the ledger itself guarantees, in the store's
transaction, that a repeat records nothing new and has the first outcome.
This module adds what HTTP clients expect on top: the first response
(status, the headers that matter, body) is kept in a small table of the
view database and a repeat gets it back byte for byte; the same key with
another request is refused (422); a repeat while the first is still being
answered is refused (409). Every route taking the key answers through one
path, ``http/answer_once.py``.

Each row in flight names the process answering it (``owner``: host, boot,
pid and the process's start time). A repeat finding the row in flight
takes over at once, and runs the command again (which the ledger's command
id makes safe: a command that did commit answers its first outcome), when
that process is gone (a killed worker, a crashed or restarted service) or
is this very process and no longer answering it (its bookkeeping was cut
off by a store outage). Only an owner on another host, whose life cannot
be seen from here, is waited out for ``ABANDONED_AFTER``. Bookkeeping that
fails (the store went away mid-request) is retried in the background, so a
row is never left in flight by a process that lives on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import falcon

from contractledger.domain.actor import Actor
from contractledger.domain.clock import Clock
from contractledger.http.problems import Problem
from contractledger.projections.engine.view_database import ViewDatabase

ABANDONED_AFTER = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
KEPT_HEADERS = ("Location", "ETag", "Ledger-Position")

SETTLE_EVERY_SECONDS = 1.0
log = logging.getLogger("contractledger.http")

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS http_idempotent_responses ("
    " principal TEXT NOT NULL, idempotency_key TEXT NOT NULL, request_fingerprint TEXT NOT NULL,"
    " started_at KEY_TEXT NOT NULL, status INTEGER, content_type TEXT, headers TEXT, body TEXT, owner TEXT,"
    " PRIMARY KEY (principal, idempotency_key))",
)


@dataclass(frozen=True)
class Owner:
    """The process answering a request: which host, which boot of it, which
    process (its pid and its start time, so a reused pid is not mistaken for it)."""

    host: str
    boot: str
    pid: int
    started: str

    def __str__(self) -> str:
        return f"{self.host} {self.boot} {self.pid} {self.started}"

    @classmethod
    def parse(cls, text: str | None) -> "Owner | None":
        parts = (text or "").split(" ")
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]), parts[3])

    def is_gone(self) -> bool | None:
        """Whether the process has ended (None: it runs on another host, so nobody here can tell)."""
        here = this_process()
        if self.host != here.host:
            return None
        if self.boot != here.boot:
            return True  # the host has restarted since
        return _start_time(self.pid) != self.started


def _read(path: str) -> str | None:
    try:
        with open(path) as file:
            return file.read().strip()
    except OSError:
        return None


def _start_time(pid: int) -> str | None:
    """When the process started (clock ticks since boot, /proc/PID/stat field 22), None if it is gone."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


_this: dict[int, Owner] = {}


def this_process() -> Owner:
    pid = os.getpid()  # a forked worker is another process: looked up again
    owner = _this.get(pid)
    if owner is None:
        owner = _this[pid] = Owner(
            socket.gethostname().replace(" ", "_") or "host",
            _read("/proc/sys/kernel/random/boot_id") or "unknown-boot",
            pid,
            _start_time(pid) or "unknown-start",
        )
    return owner


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
        self._answering: set[tuple[str, str]] = set()
        """The (principal, key) pairs this process is answering now."""
        self._unsettled: dict[tuple[str, str], KeptResponse | None] = {}
        """Rows this process left in flight because the store failed it, with the response to keep
        (None: to release), settled in the background."""
        self._lock = threading.Lock()
        self._settler: threading.Thread | None = None

    def ensure_schema(self) -> None:
        with self.database.transaction() as tx:
            tx.serialise_schema_changes()
            for statement in SCHEMA:
                tx.execute(statement)
            if "owner" not in tx.columns("http_idempotent_responses"):  # made before owners were kept
                tx.execute("ALTER TABLE http_idempotent_responses ADD COLUMN owner TEXT")

    def begin(self, principal: str, key: str, fingerprint: str) -> KeptResponse | None:
        """The kept response of an earlier request with this key, or None when
        this request goes first (it then must ``keep`` or ``forget``)."""
        now = self.clock.now()
        me = str(this_process())
        with self.database.transaction() as tx:
            tx.execute(
                "INSERT INTO http_idempotent_responses (principal, idempotency_key, request_fingerprint, started_at, owner)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (principal, idempotency_key) DO NOTHING",
                (principal, key, fingerprint, now.isoformat(), me),
            )
            if tx.rowcount == 1:
                self._answer(principal, key)
                return None
            tx.execute(
                "SELECT request_fingerprint, started_at, status, content_type, headers, body, owner"
                " FROM http_idempotent_responses WHERE principal = ? AND idempotency_key = ?",
                (principal, key),
            )
            kept_fingerprint, started_at, status, content_type, headers, body, owner = tx.fetchone()
            if kept_fingerprint != fingerprint:
                raise Problem(
                    falcon.HTTP_422,
                    "request.idempotency_key_reused",
                    "This Idempotency-Key was used for a different request; use a new key for a new request.",
                    field="Idempotency-Key",
                )
            if status is not None:
                return KeptResponse(int(status), content_type, json.loads(headers), body.encode())
            if not self._abandoned(principal, key, owner, datetime.fromisoformat(started_at), now):
                raise _in_flight()
            # take it over, unless another repeat just did
            tx.execute(
                "UPDATE http_idempotent_responses SET started_at = ?, owner = ?"
                " WHERE principal = ? AND idempotency_key = ? AND status IS NULL AND started_at = ?",
                (now.isoformat(), me, principal, key, started_at),
            )
            if tx.rowcount != 1:
                raise _in_flight()
            self._answer(principal, key)
            return None

    def _abandoned(self, principal: str, key: str, owner_text: str | None, started_at: datetime, now: datetime) -> bool:
        owner = Owner.parse(owner_text)
        if owner == this_process():
            with self._lock:
                return (principal, key) not in self._answering
        gone = owner.is_gone() if owner is not None else None
        if gone is None:  # kept before owners were, or another host: wait its answer out
            return now - started_at >= ABANDONED_AFTER
        return gone

    def _answer(self, principal: str, key: str) -> None:
        with self._lock:
            self._answering.add((principal, key))
            self._unsettled.pop((principal, key), None)

    def _done(self, principal: str, key: str) -> None:
        with self._lock:
            self._answering.discard((principal, key))

    def keep(self, principal: str, key: str, response: KeptResponse) -> None:
        """Keeps the answer for repeats. A server error is not kept (a retry runs again)."""
        if response.status >= 500:
            self.forget(principal, key)
            return
        self._settle_now(principal, key, response)

    def forget(self, principal: str, key: str) -> None:
        """After a server error: nothing to replay, so a retry runs the command again."""
        self._settle_now(principal, key, None)

    def _settle_now(self, principal: str, key: str, response: KeptResponse | None) -> None:
        try:
            self._settle_row(principal, key, response)
        except Exception as error:  # the store failed the bookkeeping: done in the background when it answers
            log.warning(
                "idempotency key of %s left in flight (%s); settling it when the store answers",
                principal, (str(error).strip().splitlines() or [type(error).__name__])[0],
            )
            with self._lock:
                self._unsettled[(principal, key)] = response
                if self._settler is None or not self._settler.is_alive():
                    self._settler = threading.Thread(target=self._settle_later, name="idempotency-settle", daemon=True)
                    self._settler.start()
        finally:
            self._done(principal, key)

    def _settle_row(self, principal: str, key: str, response: KeptResponse | None) -> None:
        """Keeps the response (or, with none, releases the key) of a row still in flight."""
        with self.database.transaction() as tx:
            if response is None:
                tx.execute(
                    "DELETE FROM http_idempotent_responses WHERE principal = ? AND idempotency_key = ? AND status IS NULL",
                    (principal, key),
                )
                return
            tx.execute(
                "UPDATE http_idempotent_responses SET status = ?, content_type = ?, headers = ?, body = ?"
                " WHERE principal = ? AND idempotency_key = ? AND status IS NULL",
                (
                    response.status, response.content_type, json.dumps(response.headers),
                    response.body.decode(), principal, key,
                ),
            )

    def _settle_later(self) -> None:
        while True:
            time.sleep(SETTLE_EVERY_SECONDS)
            with self._lock:
                pending = {pair: kept for pair, kept in self._unsettled.items() if pair not in self._answering}
                if not self._unsettled:
                    self._settler = None
                    return
            for (principal, key), response in pending.items():
                try:
                    self._settle_row(principal, key, response)
                except Exception:
                    break  # still away: try again later
                with self._lock:
                    if self._unsettled.get((principal, key), "gone") is response:
                        del self._unsettled[(principal, key)]


def _in_flight() -> Problem:
    return Problem(
        falcon.HTTP_409,
        "request.idempotency_key_in_flight",
        "The first request with this Idempotency-Key is still being answered; retry in a moment.",
        field="Idempotency-Key",
        headers={"Retry-After": "1"},
    )
