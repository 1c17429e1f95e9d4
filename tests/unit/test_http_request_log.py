"""One structured log line per request (its fields the record's own, JSON keys in the service's format), with a request id."""

from __future__ import annotations

import json
import logging

import falcon
import falcon.testing
import pytest

from contractledger.http.request_log import RequestLog, current_request_id, log
from contractledger.runtime.log_lines import ProcessRole, formatter

FIELDS = ("request_id", "method", "path", "route", "status", "duration_ms", "principal", "party_id", "remote_addr")


class Hello:
    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str = "") -> None:
        logging.getLogger("contractledger.http").warning("saying hello to %s", name)
        resp.media = {"hello": name}


@pytest.fixture
def client() -> falcon.testing.TestClient:
    app = falcon.App(middleware=[RequestLog()])
    app.add_route("/hello/{name}", Hello())
    return falcon.testing.TestClient(app)


def lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [{field: getattr(r, field) for field in FIELDS} for r in caplog.records if r.name == log.name]


def as_json(record: logging.LogRecord) -> dict:
    ProcessRole("http", current_request_id).filter(record)
    line = formatter("json").format(record)
    assert line.isascii() and "\n" not in line
    return json.loads(line)


def test_each_request_writes_one_json_line_with_its_request_id(
    client: falcon.testing.TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=log.name):
        answer = client.simulate_get("/hello/ada", headers={"X-Request-ID": "trace-42"}, remote_addr="10.0.0.7")
        made_up = client.simulate_get("/nowhere", headers={"X-Request-ID": "not sensible!"})
    first, second = lines(caplog)
    assert answer.headers["X-Request-ID"] == "trace-42"
    assert first["request_id"] == "trace-42"
    assert {k: first[k] for k in ("method", "path", "route", "status", "principal", "remote_addr")} == {
        "method": "GET", "path": "/hello/ada", "route": "/hello/{name}", "status": 200, "principal": None,
        "remote_addr": "10.0.0.7",
    }
    assert isinstance(first["duration_ms"], float)
    assert second["status"] == 404 and second["route"] is None
    assert len(second["request_id"]) == 32 and second["request_id"] == made_up.headers["X-Request-ID"]
    assert all(record.levelno == logging.INFO for record in caplog.records if record.name == log.name)
    assert as_json(caplog.records[-1])["message"] == "GET /nowhere 404"


def test_a_line_logged_while_answering_a_request_carries_its_id(
    client: falcon.testing.TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(ProcessRole("http", current_request_id))  # as the served process's handler has it
    with caplog.at_level(logging.INFO):
        client.simulate_get("/hello/ada", headers={"X-Request-ID": "trace-43"})
    said, answered = [as_json(r) for r in caplog.records if r.name.startswith("contractledger.http")]
    assert (said["message"], said["logger"], said["request_id"], said["role"]) == (
        "saying hello to ada", "contractledger.http", "trace-43", "http"
    )
    assert {key: answered[key] for key in ("message", "level", "request_id", "status")} == {
        "message": "GET /hello/ada 200", "level": "INFO", "request_id": "trace-43", "status": 200
    }
    assert "timestamp" in answered and current_request_id() is None  # none once answered


def test_a_line_stays_ascii_whatever_the_path(client: falcon.testing.TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=log.name):
        client.simulate_get('/hello/Zo\u00eb "quoted"\n')
    (record,) = [r for r in caplog.records if r.name == log.name]
    assert "\n" not in record.getMessage()
    assert as_json(record)["path"] == '/hello/Zo\u00eb "quoted"\n'


def test_the_line_follows_the_logger_s_level(client: falcon.testing.TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=log.name):
        answer = client.simulate_get("/hello/ada")
    assert answer.status_code == 200 and "X-Request-ID" in answer.headers
    assert lines(caplog) == []
