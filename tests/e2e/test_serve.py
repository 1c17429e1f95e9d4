"""The serve command, started for real on a free port, answered over a socket."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment

sys.path.insert(0, str(Path(__file__).parent))

from served import Server, ledger_environment_in, store_settings  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(tmp_path: Path, **settings: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SQLITE_", "PERSISTENCE_"))}
    env.update(settings)
    return subprocess.Popen(
        [sys.executable, "-m", "contractledger.runtime.serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 20.0) -> bytes:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_service_answers_health_on_the_sqlite_default(tmp_path: Path) -> None:
    port = free_port()
    process = serve(tmp_path, CONTRACTLEDGER_BIND=f"127.0.0.1:{port}", CONTRACTLEDGER_WORKERS="2")
    try:
        body = wait_for(f"http://127.0.0.1:{port}/health", process)
        assert json.loads(body) == {"status": "ok"}
        assert (tmp_path / "var" / "contractledger.sqlite3").exists()
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_service_answers_health_on_postgresql(tmp_path: Path) -> None:
    server = Server(tmp_path, store="postgres")
    assert server.request("GET", "/health").json == {"status": "ok"}
    assert server.stop() == 0


def test_a_schema_holding_a_second_ledger_table_stops_the_service_naming_both(tmp_path: Path) -> None:
    settings = store_settings("postgres", tmp_path)
    stray = InfrastructureFactory.construct(Environment("PositionedLedger", ledger_environment_in(tmp_path, settings)))
    try:
        stray.application_recorder().insert_events([StoredEvent(uuid.uuid4(), 1, "topic", b"{}")])
    finally:
        stray.close()
    process = serve(tmp_path, CONTRACTLEDGER_BIND=f"127.0.0.1:{free_port()}", **settings)
    _, err = process.communicate(timeout=60)
    message = err.decode()
    assert process.returncode == 2, message
    assert "positionedledger_events" in message and "contractledger_events" in message
    assert "Traceback" not in message and len(message.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"PERSISTENCE_MODULE": "contractledger.store.nosuchstore"}, "PERSISTENCE_MODULE"),
        ({"SQLITE_DBNAME": "/nonexistent-folder/ledger.sqlite3"}, "SQLITE_DBNAME"),
        ({"CONTRACTLEDGER_WORKERS": "many"}, "CONTRACTLEDGER_WORKERS"),
        ({"CONTRACTLEDGER_WAIT_BOUND": "abc"}, "CONTRACTLEDGER_WAIT_BOUND"),
        ({"CONTRACTLEDGER_WAIT_BOUND": "nan"}, "CONTRACTLEDGER_WAIT_BOUND"),
        ({"CONTRACTLEDGER_WAIT_BOUND": "-1"}, "CONTRACTLEDGER_WAIT_BOUND"),
        ({"CONTRACTLEDGER_READY_MAX_LAG": "lots"}, "CONTRACTLEDGER_READY_MAX_LAG"),
        ({"CONTRACTLEDGER_BUSINESS_TIME_ZONE": "Mars/Olympus_Mons"}, "CONTRACTLEDGER_BUSINESS_TIME_ZONE"),
        ({"CONTRACTLEDGER_LOG_FORMAT": "xml"}, "CONTRACTLEDGER_LOG_FORMAT"),
        ({"CONTRACTLEDGER_BUSINESS_TIME_ZONE": "../../etc/passwd"}, "CONTRACTLEDGER_BUSINESS_TIME_ZONE"),
        # push delivery: a pushed peer's endpoint is refused before anything starts, not at its first delivery
        (
            {"CONTRACTLEDGER_SYNC_MANAGE_SECRETS": "whsec_a2V5", "CONTRACTLEDGER_SYNC_MANAGE_ENDPOINT": "http://manage.example/hook"},
            "CONTRACTLEDGER_SYNC_PLAIN_HTTP_HOSTS",
        ),
        (
            {"CONTRACTLEDGER_SYNC_MANAGE_SECRETS": "whsec_a2V5", "CONTRACTLEDGER_SYNC_MANAGE_ENDPOINT": "https://manage.example/hook",
             "CONTRACTLEDGER_SYNC_MANAGE_CA_BUNDLE": "/nonexistent/manage-ca.pem"},
            "CONTRACTLEDGER_SYNC_MANAGE_CA_BUNDLE",
        ),
        ({"CONTRACTLEDGER_SYNC_MANAGE_SECRETS": "not a base64 key"}, "CONTRACTLEDGER_SYNC_MANAGE_SECRETS"),
        ({"CONTRACTLEDGER_SYNC_PLAIN_HTTP_HOSTS": "http://manage.internal"}, "CONTRACTLEDGER_SYNC_PLAIN_HTTP_HOSTS"),
        ({"CONTRACTLEDGER_SYNC_CONNECT_TIMEOUT": "soon"}, "CONTRACTLEDGER_SYNC_CONNECT_TIMEOUT"),
        ({"CONTRACTLEDGER_SYNC_READ_TIMEOUT": "0"}, "CONTRACTLEDGER_SYNC_READ_TIMEOUT"),
        # retired: operators have tokens of their own (the sentence says what to do)
        ({"CONTRACTLEDGER_SYNC_OPERATORS": "olive"}, "scripts/tokens issue --role operator"),
    ],
)
def test_bad_configuration_stops_the_service_with_one_sentence_naming_the_setting(
    tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    process = serve(tmp_path, CONTRACTLEDGER_BIND=f"127.0.0.1:{free_port()}", **settings)
    _, err = process.communicate(timeout=60)
    message = err.decode()
    assert process.returncode == 2
    assert named in message
    assert "Traceback" not in message
    assert len(message.strip().splitlines()) == 1


def test_a_stopped_service_logs_no_traceback_on_the_way_down(tmp_path: Path, store: str) -> None:
    # gunicorn's own lines name their process: a served process that stopped looking
    # process ids up made every worker's "Worker exiting" line a logging error
    server = Server(tmp_path, store=store)
    assert server.request("GET", "/health").json == {"status": "ok"}
    assert server.stop() == 0
    time.sleep(0.5)  # the log reader drains what the processes wrote last
    log = (tmp_path / "serve.log").read_text(errors="replace")
    assert "Worker exiting" in log
    assert "Logging error" not in log and "Traceback" not in log, log[-3000:]
