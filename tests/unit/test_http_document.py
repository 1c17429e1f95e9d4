"""The API document covers every route the app serves, from the same registry."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.inspect
import pytest

from contractledger.http.catalogue import routes
from contractledger.http.openapi import Document, document
from contractledger.http.routing import Endpoint, Route


class _Unused:
    """Handlers are built but never called here: any attribute will do."""

    def __getattr__(self, name: str) -> Any:
        return None


@pytest.fixture
def registry() -> list[Route]:
    return routes(_Unused(), Document())  # type: ignore[arg-type]


def served(app: falcon.App) -> set[tuple[str, str]]:
    import re

    return {
        (re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path), method.method)
        for route in falcon.inspect.inspect_routes(app)
        for method in route.methods
        if not method.internal
    }


def documented(api_document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in api_document["paths"].items() for method in item}


def test_every_served_route_and_method_is_documented_and_nothing_else(registry: list[Route]) -> None:
    app = falcon.App()
    for route in registry:
        app.add_route(route.path, Endpoint(route.handlers))
    assert served(app) == documented(document(registry))


def test_a_route_added_without_going_through_the_registry_is_caught(registry: list[Route]) -> None:
    app = falcon.App()
    for route in registry:
        app.add_route(route.path, Endpoint(route.handlers))

    class Stray:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.media = {}

    app.add_route("/stray", Stray())
    assert served(app) - documented(document(registry)) == {("/stray", "GET")}


def test_every_command_takes_an_idempotency_key_and_documents_its_refusals(registry: list[Route]) -> None:
    api_document = document(registry)
    for path, item in api_document["paths"].items():
        for method, operation in item.items():
            if method in ("post", "delete"):
                headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
                assert "Idempotency-Key" in headers, path
                assert {"401", "404", "422"} <= set(operation["responses"]), path


def test_only_health_the_document_and_the_problem_pages_are_open_without_a_token(registry: list[Route]) -> None:
    api_document = document(registry)
    open_routes = {
        path for path, item in api_document["paths"].items() for op in item.values() if op.get("security") == []
    }
    assert open_routes == {"/health", "/openapi.json", "/problems", "/problems/{code}"}


def test_the_document_is_openapi_3_1_with_every_schema_it_refers_to(registry: list[Route]) -> None:
    import json
    import re

    api_document = document(registry)
    assert api_document["openapi"] == "3.1.0"
    text = json.dumps(api_document)
    referred = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert referred <= set(api_document["components"]["schemas"])


def test_summaries_are_in_users_words_without_rulebook_section_numbers(registry: list[Route]) -> None:
    import re

    api_document = document(registry)
    summaries = [op["summary"] for item in api_document["paths"].values() for op in item.values()]
    assert len(summaries) > 60
    assert [s for s in summaries if re.search(r"\bSPEC\b", s)] == []
    assert [s for s in summaries if not s[:1].isupper()] == []
