"""The pages a client developer reads, served without a token: a problem's
``type`` resolves to a page saying what its code means, the list page holds
every code, and /reference renders the API document from files the app
serves itself (nothing from the internet)."""

from __future__ import annotations

import re
import sys
from urllib.parse import urljoin
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


def test_the_rendered_reference_is_served_with_every_file_it_needs_and_nothing_from_elsewhere(api: Api) -> None:
    page = api.client.simulate_get("/reference")  # no token
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text and "openapi.json" in page.text
    assert "showExtensions: true" in page.text  # each operation's x-roles and x-problem-codes are shown
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)  # nothing from another host
    files = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(files) == 3
    for file in files:
        served = api.client.simulate_get(urljoin("/reference", file))
        assert served.status_code == 200, file
        assert len(served.content) > 500, file
    script = api.client.simulate_get(urljoin("/reference", next(f for f in files if f.endswith(".js"))))
    assert script.headers["content-type"] == "text/javascript" and b"SwaggerUIBundle" in script.content
    assert api.client.simulate_get(urljoin("/reference", "openapi.json")).json["openapi"] == "3.1.0"
    assert api.client.simulate_get("/reference/assets/index.html").status_code == 404
