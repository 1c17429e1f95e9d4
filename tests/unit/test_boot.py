"""A gunicorn worker booting while the store is away serves 503 until the
store answers, then the real app, instead of failing to boot."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contractledger.http.boot import BootWhenTheStoreAnswers
from contractledger.store.errors import StoreUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def call(app: Any, path: str) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(status=status, headers=dict(headers))

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
    return seen["status"], seen["headers"], body


def real_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the ledger"]


def test_a_worker_booting_while_the_store_is_away_answers_503_then_serves_once_it_answers() -> None:
    attempts: list[float] = []
    clock = Clock()

    def build() -> Any:
        attempts.append(clock.now)
        if clock.now < 2:
            raise StoreUnavailable("POSTGRES_HOST", "Cannot connect to PostgreSQL: connection refused.")
        return real_app

    app = BootWhenTheStoreAnswers(build, clock).first_try()
    status, headers, body = call(app, "/contracts")
    assert status.startswith("503") and headers["Retry-After"] == "1"
    assert headers["Content-Type"] == "application/problem+json" and json.loads(body)["code"] == "store.unavailable"
    assert call(app, "/health")[0] == "200 OK"  # alive, if not ready
    assert len(attempts) == 1  # not again within half a second
    clock.now = 2.5
    assert call(app, "/contracts") == ("200 OK", {"Content-Type": "text/plain"}, b"the ledger")
    assert call(app, "/contracts")[2] == b"the ledger" and len(attempts) == 2


def test_a_worker_whose_store_answers_boots_the_app_itself() -> None:
    assert BootWhenTheStoreAnswers(lambda: real_app).first_try() is real_app


def test_a_bad_setting_still_fails_the_boot() -> None:
    def build() -> Any:
        raise ValueError("not a store outage")

    with pytest.raises(ValueError):
        BootWhenTheStoreAnswers(build).first_try()
