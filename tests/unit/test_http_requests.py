"""Every malformed request gets a clear 4xx problem document, never a traceback."""

from __future__ import annotations

import json

import falcon
import falcon.testing
import msgspec
import pytest

from contractledger.domain.errors import Conflict, NotFound, RuleBroken
from contractledger.http import bodies, problems


class Terminate(msgspec.Struct, forbid_unknown_fields=True):
    reason: str
    days: int


class Commands:
    def __init__(self) -> None:
        self.accepted: list[Terminate] = []

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.accepted.append(bodies.read(req, Terminate))
        resp.media = {"ok": True}

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise RuntimeError("a bug with a secret in it")


class Refusals:
    def on_post_rule(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise RuleBroken("contract.terminate.pending", "A pending contract cannot be terminated; decline it instead.")

    def on_post_missing(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise NotFound("contract.not_found", "No such contract.", field="contract_id")

    def on_post_stale(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise Conflict("contract.concurrent_change", "Someone changed it first.", current_version=7)


@pytest.fixture
def commands() -> Commands:
    return Commands()


@pytest.fixture
def client(commands: Commands) -> falcon.testing.TestClient:
    app = falcon.App()
    problems.install(app)
    app.add_route("/commands", commands)
    refusals = Refusals()
    app.add_route("/rule", refusals, suffix="rule")
    app.add_route("/missing", refusals, suffix="missing")
    app.add_route("/stale", refusals, suffix="stale")
    return falcon.testing.TestClient(app)


def problem(result: falcon.testing.Result) -> dict:
    assert result.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in result.text
    return json.loads(result.text)


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        ('{"reason": "Retired"}', 422, "request.invalid_field", "days"),
        ('{"reason": "Retired", "days": "3"}', 422, "request.invalid_field", "days"),
        ('{"reason": "Retired", "days": 3, "extra": 1}', 422, "request.invalid_field", "extra"),
        ('{"reason": ', 400, "request.malformed_json", None),
        ("[1, 2]", 422, "request.invalid_field", None),
        ("[" * 100 + "]" * 100, 400, "request.too_deeply_nested", None),
        ('{"reason": "' + "x" * 300_000 + '", "days": 1}', 413, "request.body_too_large", None),
    ],
)
def test_a_malformed_body_is_refused_with_its_code_and_field_and_changes_nothing(
    client: falcon.testing.TestClient, commands: Commands, body: str, status: int, code: str, field: str | None
) -> None:
    result = client.simulate_post("/commands", body=body, headers=JSON)
    document = problem(result)
    assert (result.status_code, document["code"], document.get("field")) == (status, code, field)
    assert document["detail"].endswith(".")
    assert commands.accepted == []


def test_a_body_that_is_not_json_is_refused_with_415(client: falcon.testing.TestClient, commands: Commands) -> None:
    result = client.simulate_post("/commands", body="reason=Retired", headers={"Content-Type": "text/plain"})
    assert result.status_code == 415
    assert problem(result)["code"] == "request.unsupported_media_type"
    assert commands.accepted == []


def test_a_well_formed_body_is_decoded_into_its_typed_command(client: falcon.testing.TestClient, commands: Commands) -> None:
    result = client.simulate_post("/commands", json={"reason": "Retired", "days": 3})
    assert result.status_code == 200
    assert commands.accepted == [Terminate("Retired", 3)]


def test_brackets_inside_strings_do_not_count_as_nesting(client: falcon.testing.TestClient) -> None:
    result = client.simulate_post("/commands", json={"reason": "[" * 100, "days": 1})
    assert result.status_code == 200


def test_unknown_routes_and_methods_answer_problems(client: falcon.testing.TestClient) -> None:
    assert problem(client.simulate_get("/nowhere"))["code"] == "route.not_found"
    assert problem(client.simulate_delete("/commands"))["code"] == "route.method_not_allowed"


def test_an_unexpected_error_answers_500_without_leaking_anything(client: falcon.testing.TestClient) -> None:
    result = client.simulate_put("/commands")
    document = problem(result)
    assert result.status_code == 500
    assert document["code"] == "server.unexpected"
    assert "secret" not in result.text


def test_domain_refusals_map_to_status_codes_with_their_stable_codes(client: falcon.testing.TestClient) -> None:
    rule = client.simulate_post("/rule")
    assert (rule.status_code, problem(rule)["code"]) == (422, "contract.terminate.pending")
    missing = client.simulate_post("/missing")
    assert (missing.status_code, problem(missing)["field"]) == (404, "contract_id")
    stale = client.simulate_post("/stale")
    assert (stale.status_code, problem(stale)["current_version"]) == (409, 7)
