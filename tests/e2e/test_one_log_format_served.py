"""One serve run's log, every process's (the supervisor, gunicorn and its
workers, the views runner, the delivery worker): every line is one JSON
object with its timestamp, level, logger, the process's role and its
message, and a request's lines carry its id. Among them a start, a
request, a runner batch and a delivery."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))

from served import Server  # noqa: E402
from test_sync_delivery import Receiver  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"a webhook key for the log").decode()
KEYS = {"timestamp", "level", "logger", "role", "pid", "message"}


def test_every_line_of_a_serve_run_is_one_json_object_with_the_same_keys(tmp_path: Path, store: str) -> None:
    receiver = Receiver(keys=[SECRET])
    saved = dict(os.environ)
    os.environ.update({"CONTRACTLEDGER_SYNC_MANAGE_ENDPOINT": receiver.url, "CONTRACTLEDGER_SYNC_MANAGE_SECRETS": SECRET})
    try:
        server = Server(tmp_path, store=store)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        ledger, system = server.ledger, Actor.system()
        carrier = ledger.register_party(system, "carrier", {"name": "Northern Life"})
        advisor = ledger.register_party(system, "advisor", {"name": "Ada"}, advisor_kind="individual")
        ledger.assign_contracts(Actor(Role.CARRIER_STAFF, "carol", carrier), [[carrier, advisor]], "producer")
        deadline = time.monotonic() + 30
        while not receiver.received:
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.1)
        auditor = server.token(Actor(Role.AUDITOR, "audrey"))
        assert server.request("GET", "/contracts", auditor, headers={"X-Request-ID": "trace-77"}).status == 200
        time.sleep(0.5)
    finally:
        assert server.stop() == 0
        receiver.stop()
    time.sleep(0.5)  # the log reader drains what the processes wrote last
    text = (tmp_path / "serve.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every one is JSON
    assert all(isinstance(line, dict) and KEYS <= line.keys() for line in lines), [l for l in lines if not KEYS <= l.keys()][:3]
    assert all(datetime.fromisoformat(line["timestamp"]).utcoffset() is not None for line in lines)
    assert {line["role"] for line in lines} == {"supervisor", "http", "views_runner", "delivery_worker"}

    def said(role: str, logger: str, starting: str) -> list[dict]:
        return [l for l in lines if l["role"] == role and l["logger"] == logger and l["message"].startswith(starting)]

    assert said("supervisor", "contractledger.supervision", "started the views runner (pid")
    assert said("http", "gunicorn.error", "Listening at: http://127.0.0.1:")  # gunicorn's own error log
    assert said("views_runner", "contractledger.views", "views runner started for")
    [request] = [l for l in lines if l.get("request_id") == "trace-77"]
    assert (request["logger"], request["role"], request["message"], request["status"], request["level"]) == (
        "contractledger.http.requests", "http", "GET /contracts 200", 200, "INFO"
    )
    assert said("views_runner", "contractledger.views", "applied a batch of")
    assert said("delivery_worker", "contractledger.sync.delivery", "manage: delivered 1 of 1 new item(s)")
