"""Every operation of the API document carries its recorded example request
and answer (http/api_examples.json, scripts/record-api-examples), and each
example keeps to the operation's own schemas in the document. (That the
record is what the app answers today is tests/integration/test_api_examples.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest

from contractledger.http.catalogue import routes
from contractledger.http.openapi import EXAMPLES_FILE, ApiDocument, document
from contractledger.http.routing import Handler, Operation


class _Unused:
    """Handlers are built but never called here: any attribute will do."""

    def __getattr__(self, name: str) -> Any:
        return None


@pytest.fixture(scope="module")
def api_document() -> dict[str, Any]:
    return document(routes(_Unused(), ApiDocument()))  # type: ignore[arg-type]


def operations(api_document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in api_document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def answer_media(operation: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for status, response in operation["responses"].items():
        for media_type, media in response.get("content", {}).items():
            yield status, media_type, media


def test_every_operation_carries_an_example_request_and_answer(api_document: dict[str, Any]) -> None:
    for name, operation in operations(api_document):
        for parameter in operation["parameters"]:
            if parameter["in"] == "path":
                assert "examples" in parameter, (name, parameter["name"])
        queried = [p for p in operation["parameters"] if p["in"] == "query"]
        if queried:
            assert any("examples" in p for p in queried), (name, "no query parameter has an example")
        if "requestBody" in operation:
            assert operation["requestBody"]["content"]["application/json"].get("examples"), name
        answered = [(status, media) for status, _, media in answer_media(operation) if media.get("examples")]
        assert answered, (name, "no example answer")
        has_success = any(status.startswith("2") for status in operation["responses"])
        assert not has_success or any(status.startswith("2") for status, _ in answered), (name, "no example success")


def test_a_new_operation_without_a_recorded_example_is_found_out() -> None:
    class Unrecorded(Handler):
        operation = Operation(method="GET", operation_id="unrecorded", summary="A route nobody recorded.", tag="operations",
                              answer={"type": "object"})

    registry = routes(_Unused(), ApiDocument())  # type: ignore[arg-type]
    registry[0].handlers = [*registry[0].handlers, Unrecorded()]
    with pytest.raises(AssertionError, match="no example answer"):
        test_every_operation_carries_an_example_request_and_answer(document(registry))


def test_every_recorded_example_is_of_an_operation_the_document_has(api_document: dict[str, Any]) -> None:
    recorded = set(json.loads(EXAMPLES_FILE.read_text()))
    assert recorded == {operation["operationId"] for _, operation in operations(api_document)}


def _validator(schema: dict[str, Any], api_document: dict[str, Any]) -> Any:
    """The schema with the document's components beside it, so that its references resolve."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": api_document["components"]}, validate_formats=True)


def _refusals(schema: dict[str, Any], value: Any, api_document: dict[str, Any]) -> list[str]:
    return [f"{error.instance_path}: {error.message}" for error in _validator(schema, api_document).iter_errors(value)]


def test_every_example_keeps_to_its_operations_schemas(api_document: dict[str, Any]) -> None:
    checked = 0
    for name, operation in operations(api_document):
        for parameter in operation["parameters"]:
            for example in parameter.get("examples", {}).values():
                assert not _refusals(parameter["schema"], example["value"], api_document), (name, parameter["name"])
                checked += 1
        if "requestBody" in operation:
            media = operation["requestBody"]["content"]["application/json"]
            for example in media["examples"].values():
                assert not _refusals(media["schema"], example["value"], api_document), (name, "body")
                checked += 1
        for status, media_type, media in answer_media(operation):
            for example in media.get("examples", {}).values():
                refusals = _refusals(media["schema"], example["value"], api_document)
                assert not refusals, (name, status, media_type, refusals[:3])
                checked += 1
    assert checked > 2 * 70


def test_an_example_that_breaks_its_schema_is_found_out(api_document: dict[str, Any]) -> None:
    (created,) = [op for _, op in operations(api_document) if op["operationId"] == "assign_contracts"]
    media = created["responses"]["201"]["content"]["application/json"]
    (example,) = media["examples"].values()
    assert not _refusals(media["schema"], example["value"], api_document)
    broken = {**example["value"], "contract_ids": ["not an id"]}
    assert _refusals(media["schema"], broken, api_document)
