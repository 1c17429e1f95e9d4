"""A problem's ``type`` resolves to a page the service serves, without a
token, saying what its code means; the list page holds every code."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.http.problem_codes import PROBLEM_CODES  # noqa: E402


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path_factory.mktemp("problems"), store)


def test_a_problems_type_is_a_page_served_without_a_token_that_says_what_its_code_means(api: Api) -> None:
    refused = api.client.simulate_get(f"/contracts/{uuid.uuid4()}", headers=api.as_(api.world.aga_admin))
    assert refused.status_code == 404
    problem = refused.json
    assert problem["type"] == f"/problems/{problem['code']}"
    page = api.client.simulate_get(problem["type"])  # no Authorization header
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert problem["code"] in page.text and "No such contract" in page.text
    unauthenticated = api.client.simulate_get("/contracts").json
    assert api.client.simulate_get(unauthenticated["type"]).status_code == 200


def test_the_problems_page_lists_every_code_with_its_meaning(api: Api) -> None:
    page = api.client.simulate_get("/problems")
    assert page.status_code == 200
    for code in PROBLEM_CODES:
        assert f'id="{code}"' in page.text
    assert api.client.simulate_get("/problems/no.such_code").json["code"] == "route.not_found"
