"""One structured (JSON) log line per request, with a request id."""

from __future__ import annotations

import json
import logging

import falcon
import falcon.testing
import pytest

from contractledger.http.request_log import RequestLog, log


class Hello:
    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str = "") -> None:
        resp.media = {"hello": name}


@pytest.fixture
def client() -> falcon.testing.TestClient:
    app = falcon.App(middleware=[RequestLog()])
    app.add_route("/hello/{name}", Hello())
    return falcon.testing.TestClient(app)


def lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == log.name]


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
    assert all(record.levelno == logging.INFO for record in caplog.records)


def test_a_line_stays_ascii_whatever_the_path(client: falcon.testing.TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=log.name):
        client.simulate_get('/hello/Zo\u00eb "quoted"\n')
    (record,) = [r for r in caplog.records if r.name == log.name]
    assert record.getMessage().isascii() and "\n" not in record.getMessage()
    assert json.loads(record.getMessage())["path"] == '/hello/Zo\u00eb "quoted"\n'


def test_the_line_follows_the_logger_s_level(client: falcon.testing.TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=log.name):
        answer = client.simulate_get("/hello/ada")
    assert answer.status_code == 200 and "X-Request-ID" in answer.headers
    assert lines(caplog) == []
