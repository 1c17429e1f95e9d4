"""The recording that holds the API document's problem codes to what routes
answer (problems_answered.py, checked after every test by conftest.py) sees
what is answered, and reports a code a route does not declare."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import problems_answered  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path_factory.mktemp("answered"), store)


def test_each_problem_answered_is_recorded_with_its_route(api: Api) -> None:
    problems_answered.ANSWERED.clear()
    contract = uuid4()
    api.client.simulate_get(f"/contracts/{contract}", headers=api.as_(api.world.aga_admin))
    api.client.simulate_post(f"/contracts/{contract}/vest", headers=api.as_(api.world.auditor), json={"reason": "x"})
    api.client.simulate_get("/metrics")
    assert problems_answered.ANSWERED == [
        ("contract", f"GET /contracts/{contract}", 404, "contract.not_found"),
        ("vest", f"POST /contracts/{contract}/vest", 403, "actor.auditor_read_only"),
        ("metrics", "GET /metrics", 401, "auth.token_required"),
    ]
    assert problems_answered.undeclared_since_last_check() == []


def test_a_code_the_route_does_not_declare_or_another_status_is_reported(api: Api) -> None:
    problems_answered.ANSWERED[:] = [
        ("metrics", "GET /metrics", 403, "contract.admins_only"),
        ("vest", "POST /contracts/x/vest", 422, "actor.auditor_read_only"),
    ]
    assert problems_answered.undeclared_since_last_check() == [
        "GET /metrics (metrics) answered 403 contract.admins_only, which its route does not declare",
        "POST /contracts/x/vest (vest) answered actor.auditor_read_only with 422, not 403",
    ]
    assert problems_answered.ANSWERED == []
