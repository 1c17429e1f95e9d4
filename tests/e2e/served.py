"""A real server (the serve command: gunicorn, the views runner and the
delivery worker) on a free port in a temporary directory, started the way
the README says, on either store: the SQLite default in that directory, or
PostgreSQL (the server scripts/test starts) in a schema of its own. Tokens
are issued straight into its store. And a small HTTP client for the tests.

Every end-to-end test takes its server from the ``store`` fixture
(tests/e2e/conftest.py), so it runs once on each store."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from contractledger.domain.actor import Actor
from contractledger.domain.clock import SystemClock
from contractledger.domain.ledger import ContractLedger
from contractledger.http.tokens import TokenRegistry
from contractledger.projections.engine.view_database import ViewDatabase, view_database_for

STORES = ("sqlite", "postgres")
STORE_KEYS = ("POSTGRES_", "SQLITE_", "PERSISTENCE_")


def ledger_environment_in(directory: Path, settings: dict[str, str]) -> dict[str, str]:
    """The store settings the served process sees, as a test process opens them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(STORE_KEYS)}
    env.update(settings)
    env.setdefault("PERSISTENCE_MODULE", "contractledger.store.sqlite")
    if env["PERSISTENCE_MODULE"].endswith("sqlite"):
        env.setdefault("SQLITE_DBNAME", str(directory / "var" / "contractledger.sqlite3"))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: Message  # case-insensitive, as HTTP header names are
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def store_settings(store: str, directory: Path) -> dict[str, str]:
    """The settings a user sets to serve on ``store``; PostgreSQL in a new schema."""
    if store == "sqlite":
        return {}  # the README's default: var/contractledger.sqlite3 under the working directory
    if not os.environ.get("POSTGRES_HOST"):
        raise RuntimeError("no PostgreSQL server: run the suite with scripts/test")
    keys = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD")
    return {
        "PERSISTENCE_MODULE": "contractledger.store.postgres",
        **{k: os.environ[k] for k in keys},
        "POSTGRES_SCHEMA": f"e2e_{uuid4().hex[:12]}",
    }


def ask(
    port: int, method: str, path: str, token: str | None = None, body: Any = None,
    headers: dict[str, str] | None = None, raw: bytes | None = None,
) -> Answer:
    """One request to the served app; an answer of status 0 when no whole answer came back."""
    sent = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        sent.setdefault("Content-Type", "application/json")
    if token:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=sent)
    try:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers, error.read())
    except (OSError, http.client.HTTPException) as error:
        # No whole answer: the connection refused, dropped, timed out or cut mid-body (said in the body).
        return Answer(0, Message(), f"{type(error).__name__}: {error}".encode())


class Server:
    def __init__(
        self, directory: Path, workers: int = 2, store: str = "sqlite", settings: dict[str, str] | None = None
    ) -> None:
        self.directory = directory
        self.workers = workers
        self.store = store
        self.port = free_port()
        self.settings = {**store_settings(store, directory), **(settings or {})}
        self.process = self.start()
        self.env = ledger_environment_in(directory, self.settings)
        self.open()

    def open(self) -> None:
        """The test's own connections to the served store (again after the database restarted)."""
        self.views: ViewDatabase = view_database_for(self.env)
        self.ledger = ContractLedger(self.env)
        self.tokens = TokenRegistry(self.views, SystemClock(), self.ledger)
        self.tokens.ensure_schema()

    def reopen(self) -> None:
        self.ledger.close()
        self.views.close()
        self.open()

    def served_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(STORE_KEYS)}
        env.update(self.settings, CONTRACTLEDGER_BIND=f"127.0.0.1:{self.port}", CONTRACTLEDGER_WORKERS=str(self.workers))
        return env

    def start(self, wait: bool = True) -> subprocess.Popen[bytes]:
        """Runs the serve command (again, after a kill: same store, same port).
        Its standard error (one line per request, and every process's log) is
        read all the time, or the pipe fills and the server's writes block;
        the last lines are kept for a failing test to show (``log_tail``)."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "contractledger.runtime.serve"],
            env=self.served_env(), cwd=self.directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.log: deque[str] = getattr(self, "log", deque(maxlen=400))
        threading.Thread(target=self._read_log, args=(self.process,), daemon=True).start()
        if wait:
            self.wait_until_up()
        return self.process

    def _read_log(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        with open(self.directory / "serve.log", "ab") as kept:
            for line in process.stderr:
                kept.write(line)
                self.log.append(line.decode(errors="replace").rstrip("\n"))

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(list(self.log)[-lines:])

    def wait_until_up(self, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while self.request("GET", "/health").status != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.2)  # the last lines reach the log
                raise RuntimeError(f"the server did not start:\n{self.log_tail()}")
            time.sleep(0.2)

    def children(self) -> dict[str, int]:
        """The serve command's processes by what they are: views_runner, gunicorn, delivery_worker,
        and each gunicorn worker (worker_1, worker_2...)."""
        found: dict[str, int] = {}
        kids = _children_of(self.process.pid)
        for pid in kids:
            command = _command_line(pid)
            if "contractledger.runtime.views_runner" in command:
                found["views_runner"] = pid
            elif "contractledger.runtime.delivery_worker" in command:
                found["delivery_worker"] = pid
            elif "gunicorn" in command:
                found["gunicorn"] = pid
                for number, worker in enumerate(sorted(_children_of(pid)), start=1):
                    found[f"worker_{number}"] = worker
        return found

    def token(self, actor: Actor, lifetime: timedelta = timedelta(days=1)) -> str:
        return self.tokens.issue(actor, lifetime).secret

    def position(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def request(
        self, method: str, path: str, token: str | None = None, body: Any = None, headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        return ask(self.port, method, path, token, body, headers, raw)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=40)
        self.ledger.close()
        self.views.close()
        return code


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
