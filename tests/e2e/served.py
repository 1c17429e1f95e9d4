"""A real server (the serve command: gunicorn and the views runner) on a free
port in a temporary directory, on the SQLite default, with tokens issued
straight into its store; and a small HTTP client for the tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from datetime import timedelta
from pathlib import Path
from typing import Any

from contractledger.domain.actor import Actor
from contractledger.domain.clock import SystemClock
from contractledger.domain.ledger import ContractLedger
from contractledger.http.tokens import TokenRegistry
from contractledger.projections.view_database import SqliteViewDatabase


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


class Server:
    def __init__(self, directory: Path, workers: int = 2) -> None:
        self.directory = directory
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SQLITE_", "PERSISTENCE_"))}
        env.update(CONTRACTLEDGER_BIND=f"127.0.0.1:{self.port}", CONTRACTLEDGER_WORKERS=str(workers))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "contractledger.http.serve"],
            env=env, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self._wait_until_up()
        database = str(directory / "var" / "contractledger.sqlite3")
        self.tokens = TokenRegistry(SqliteViewDatabase(database), SystemClock())
        self.tokens.ensure_schema()
        self.ledger = ContractLedger({"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": database})

    def _wait_until_up(self, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while self.request("GET", "/health").status != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {self.process.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)

    def token(self, actor: Actor, lifetime: timedelta = timedelta(days=1)) -> str:
        return self.tokens.issue(actor, lifetime).secret

    def position(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def request(
        self, method: str, path: str, token: str | None = None, body: Any = None, headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        if token:
            sent["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers, error.read())
        except OSError:
            return Answer(0, Message(), b"")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=40)
        self.ledger.close()
        return code
