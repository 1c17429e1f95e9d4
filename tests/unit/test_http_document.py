"""The API document covers every route the app serves, from the same registry."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.inspect
import pytest

from contractledger.http.catalogue import routes
from contractledger.http.openapi import ApiDocument, document
from contractledger.http.routing import Endpoint, Route


class _Unused:
    """Handlers are built but never called here: any attribute will do."""

    def __getattr__(self, name: str) -> Any:
        return None


@pytest.fixture
def registry() -> list[Route]:
    return routes(_Unused(), ApiDocument())  # type: ignore[arg-type]


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


def console_pages(registry: list[Route]) -> set[tuple[str, str]]:
    """The console's pages: HTML for people, served but not API (the visibility matrix covers them)."""
    return {
        (route.document_path, handler.operation.method)
        for route in registry for handler in route.handlers if handler.operation.console
    }


def test_every_served_route_and_method_is_documented_and_nothing_else(registry: list[Route]) -> None:
    app = falcon.App()
    for route in registry:
        app.add_route(route.path, Endpoint(route.handlers))
    assert served(app) - console_pages(registry) == documented(document(registry))


def test_the_console_pages_are_served_and_left_out_of_the_api_document(registry: list[Route]) -> None:
    pages = console_pages(registry)
    assert {("/console", "GET"), ("/console/sign-in", "POST"), ("/console/sign-out", "POST")} <= pages
    assert pages & documented(document(registry)) == set()
    assert all(path.startswith("/console") for path, _ in pages)


def test_a_route_added_without_going_through_the_registry_is_caught(registry: list[Route]) -> None:
    app = falcon.App()
    for route in registry:
        app.add_route(route.path, Endpoint(route.handlers))

    class Stray:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.media = {}

    app.add_route("/stray", Stray())
    assert served(app) - console_pages(registry) - documented(document(registry)) == {("/stray", "GET")}


def test_every_command_takes_an_idempotency_key_and_documents_its_refusals(registry: list[Route]) -> None:
    api_document = document(registry)
    for path, item in api_document["paths"].items():
        for method, operation in item.items():
            if method in ("post", "delete"):
                headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
                assert "Idempotency-Key" in headers, path
                assert {"401", "404", "422"} <= set(operation["responses"]), path


def test_only_health_the_document_its_reference_and_the_problem_pages_are_open_without_a_token(registry: list[Route]) -> None:
    api_document = document(registry)
    open_routes = {
        path for path, item in api_document["paths"].items() for op in item.values() if op.get("security") == []
    }
    assert open_routes == {
        "/health", "/openapi.json", "/problems", "/problems/{code}", "/reference", "/reference/assets/{asset}"
    }


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


def _enums(node: Any, path: str = "") -> Any:
    if isinstance(node, dict):
        if "enum" in node:
            yield path, node
        for key, value in node.items():
            yield from _enums(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _enums(value, f"{path}[{index}]")


def test_every_closed_vocabulary_of_the_domain_is_one_enum_with_its_meaning(registry: list[Route]) -> None:
    from contractledger.http.openapi import domain_vocabularies

    api_document = document(registry)
    schemas = api_document["components"]["schemas"]
    vocabularies = {v.name: v for v in domain_vocabularies()}
    assert {"PartyKind", "AdvisorKind", "InitiallyFilledBy", "TransferOption", "CodeHandling", "CodeStatus",
            "TerminationReason", "MonitoringReason", "ContractKind"} <= set(vocabularies)
    for name, vocabulary in vocabularies.items():
        if name in schemas:
            assert schemas[name] == {"type": "string", "enum": list(vocabulary), "description": vocabulary.meaning}
    # no field spells a domain vocabulary's words out again: each refers to the one component
    spelled_again = [
        path for path, enum in _enums(api_document)
        if not path.startswith(".components.schemas.") or path.count(".") > 3
        if any(set(enum["enum"]) == set(v) for v in vocabularies.values())
    ]
    assert spelled_again == []


def test_closed_vocabularies_of_bodies_and_answers_are_enums_with_descriptions(registry: list[Route]) -> None:
    schemas = document(registry)["components"]["schemas"]

    def refers(schema: dict[str, Any]) -> set[str]:
        import json
        import re

        return set(re.findall(r'#/components/schemas/(\w+)', json.dumps(schema)))

    expected = {
        ("RegisterParty", "kind"): "PartyKind", ("RegisterParty", "advisor_kind"): "AdvisorKind",
        ("PartyCard", "kind"): "PartyKind", ("PartyCard", "advisor_kind"): "AdvisorKind",
        ("AssignContracts", "initially_filled_by"): "InitiallyFilledBy",
        ("TransferAcceptance", "option"): "TransferOption", ("Consolidation", "code_handling"): "CodeHandling",
        ("ContractCode", "status"): "CodeStatus", ("SetManualStatus", "status"): "Status",
        ("Termination", "reason"): "TerminationReason", ("PlaceMonitoring", "reason"): "MonitoringReason",
        ("Monitoring", "reason"): "MonitoringReason", ("Monitoring", "level"): "MonitoringLevel",
        ("ConfigureTriggers", "kinds"): "NotificationKind", ("TriggersChosen", "kinds"): "NotificationKind",
        ("Debt", "status"): "DebtStatus", ("ContractStatus", "kind"): "ContractKind",
        ("ContractStatus", "status"): "Status", ("HistoryEntry", "actor_role"): "Role",
    }
    for (struct, field), vocabulary in expected.items():
        assert vocabulary in refers(schemas[struct]["properties"][field]), (struct, field)
        assert schemas[vocabulary]["description"].strip(), vocabulary
    for path, enum in _enums(schemas):
        if len(enum["enum"]) > 1 and path.count(".") == 1:  # a component of its own says what it is
            assert enum.get("description"), path


def test_every_operation_says_which_roles_may_call_it(registry: list[Route]) -> None:
    from contractledger.domain.actor import Role
    from contractledger.http.route_roles import NAMES

    by_id = {h.operation.operation_id: h.operation for route in registry for h in route.handlers}
    for item in document(registry)["paths"].values():
        for described in item.values():
            op = by_id[described["operationId"]]
            assert described["x-roles"] == [r.value for r in Role if r in op.roles or (op.public and r is not Role.SYSTEM)]
            named = ", ".join(NAMES[Role(r)] for r in described["x-roles"])
            sentence = "Who may call: anyone, without a token." if op.public else f"Who may call: {named}."
            assert described["description"].endswith(sentence), described["operationId"]
    paths = document(registry)["paths"]
    assert paths["/metrics"]["get"]["x-roles"] == ["operator"]
    assert paths["/contracts/{contract_id}/terminate"]["post"]["description"] == (
        "Who may call: agency admins, carrier staff, sync peers."
    )


def test_every_refusal_lists_its_problem_codes_each_under_its_one_status(registry: list[Route]) -> None:
    from contractledger.http.problem_codes import PROBLEM_CODES
    from contractledger.http.problem_statuses import STATUS_OF_CODE
    from contractledger.http.route_problems import NOT_A_ROUTES, problem_codes_of

    by_id = {h.operation.operation_id: h.operation for route in registry for h in route.handlers}
    listed: set[str] = set()
    for item in document(registry)["paths"].values():
        for described in item.values():
            shown = {}
            for status, response in described["responses"].items():
                for code in response.get("x-problem-codes", []):
                    assert STATUS_OF_CODE[code] == int(status), (described["operationId"], code, status)
                    assert f"- `{code}`: {PROBLEM_CODES[code]}" in response["description"]
                    shown[code] = status
            assert set(shown) == problem_codes_of(by_id[described["operationId"]]), described["operationId"]
            listed |= set(shown)
    assert listed <= set(PROBLEM_CODES)
    assert set(PROBLEM_CODES) - listed == set(NOT_A_ROUTES), "a code no route lists, and nobody says who answers it"
    assert not listed & set(NOT_A_ROUTES)


def test_a_commands_problem_codes_are_its_shape_s_and_its_use_case_s(registry: list[Route]) -> None:
    paths = document(registry)["paths"]
    terminate = {c for r in paths["/contracts/{contract_id}/terminate"]["post"]["responses"].values()
                 for c in r.get("x-problem-codes", [])}
    assert {"auth.token_required", "request.invalid_field", "request.idempotency_key_reused",
            "request.version_mismatch", "contract.terminate.document_required", "contract.admins_only",
            "actor.auditor_read_only", "store.unavailable"} <= terminate
    assert not {"contract.vest.not_active", "debt.closed", "query.cursor_invalid", "sync.peer_only"} & terminate
    contracts = {c for r in paths["/contracts"]["get"]["responses"].values() for c in r.get("x-problem-codes", [])}
    assert {"query.cursor_invalid", "query.views_behind", "query.as_of_in_the_future", "views.not_built"} <= contracts
    assert not {"request.invalid_field", "contract.not_found"} & contracts
    health = paths["/health"]["get"]["responses"]
    assert "auth.token_required" not in {c for r in health.values() for c in r.get("x-problem-codes", [])}
