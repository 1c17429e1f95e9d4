"""The API document, OpenAPI 3.1, built from the same route registry the
app is built from: every route, method, parameter, body and answer, and
the problem documents each may refuse with. Schemas come from the msgspec
structs and dataclasses the handlers read and write.

Every operation carries an example request and answer, recorded: a scripted
scenario calls each operation once against the real app and keeps what it
sent and what it was answered in ``http/api_examples.json``, which
:func:`_add_examples` puts on the operation's parameters, body and answer.
After changing a route or an answer, record them again and commit the file::

    scripts/record-api-examples

(``tests/integration/api_examples.py``; ``tests/integration/test_api_examples.py``
replays the scenario on both stores and fails when an answer has drifted.)"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import falcon
import msgspec

from contractledger.domain.vocabulary import Vocabulary

from contractledger.http.answers import encode
from contractledger.http.problem_codes import PROBLEM_CODES
from contractledger.http.problem_statuses import STATUS_OF_CODE
from contractledger.http.query_parameters import fields_of
from contractledger.http.reference import ASSET_TYPES
from contractledger.http.route_problems import problem_codes_of
from contractledger.http.route_roles import EVERY_ROLE, who_may_call
from contractledger.http.routing import Handler, Operation, Route

REF = "#/components/schemas/{name}"
EXAMPLES_FILE = Path(__file__).with_name("api_examples.json")
"""Every operation's example request and answer, recorded by ``scripts/record-api-examples``."""

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details with the rule's stable code.",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference", "description": "the code's page: /problems/<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "stable, one per rule; every code and its meaning is at /problems"},
        "detail": {"type": "string", "description": "what to do, for a human"},
        "field": {"type": "string", "description": "the offending input, where there is one"},
        "current_version": {"type": "integer"},
    },
}

HEADER_DESCRIPTIONS = {
    "Idempotency-Key": "Makes a retry safe: a repeat with the same key answers the first response.",
    "If-Match": "The ETag (version) the command is based on; 412 when it has changed since.",
    "Ledger-Position": "The ledger position of the command's last event: pass it as wait_for to read your write.",
    "Location": "Where the created thing is read.",
    "ETag": "The aggregate's version, for If-Match.",
}


class ApiDocument(Handler):
    operation = Operation(
        method="GET",
        operation_id="openapi",
        summary="This API document (no token needed).",
        tag="operations",
        answer={"type": "object"},
        public=True,
    )

    def __init__(self) -> None:
        self.body = b"{}"

    def describe(self, routes: Sequence[Route]) -> None:
        self.body = encode(document(routes))

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self.body


def document(routes: Sequence[Route]) -> dict[str, Any]:
    types: list[Any] = []
    routes = [described for described in (_in_the_document(route) for route in routes) if described.handlers]
    for route in routes:
        for handler in route.handlers:
            op = handler.operation
            types += [t for t in (op.body, op.answer) if t is not None and not isinstance(t, dict)]
    unique = list(dict.fromkeys(types))
    found, components = msgspec.json.schema_components(unique, ref_template=REF)
    schema_of = dict(zip(unique, found))
    components["Problem"] = PROBLEM_SCHEMA
    paths: dict[str, Any] = {}
    for route in routes:
        item = paths.setdefault(route.document_path, {})
        for handler in route.handlers:
            item[handler.operation.method.lower()] = _operation(handler.operation, schema_of)
    named = _name_vocabularies(paths, components)
    components.update(named)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "contractledger",
            "version": "1",
            "description": "The system of record for insurance producer contracting. Every route but /health "
            "and this document needs 'Authorization: Bearer <token>'; refusals are application/problem+json. "
            "Every input is decoded one way: dates from 1900-01-01 to 2199-12-31 and instants within those days "
            "in UTC; positions and cursors from 0 to 2^63-1; vocabularies exactly as listed; text trimmed, not "
            "empty, without control characters (notes may hold line breaks and tabs), at most its maxLength (200 "
            "where none is given); money as a string such as \"1250.00\"; no undeclared query parameters. "
            "Anything else is 400 (query, header) or 422 (body) with the input named in `field`. "
            "Each operation says who may call it (`x-roles`, and the last sentence of its description) and, under "
            "each refusal status, the problem codes it can answer (`x-problem-codes`), each explained at "
            "/problems/<code>.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _in_the_document(route: Route) -> Route:
    """The route with the handlers the API document describes: the console's pages are not API."""
    return Route(route.path, [handler for handler in route.handlers if not handler.operation.console])


def _path_parameter_schema(name: str) -> dict[str, Any]:
    """Ids are UUIDs, a problem code one of the list; other path parameters (a sync peer's name) are plain names."""
    if name == "id" or name.endswith("_id"):
        return {"type": "string", "format": "uuid"}
    if name == "code":
        return {"type": "string", "enum": sorted(PROBLEM_CODES)}
    if name == "asset":
        return {"type": "string", "enum": sorted(ASSET_TYPES)}
    return {"type": "string"}


def _operation(op: Operation, schema_of: dict[Any, Any]) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _path_parameter_schema(name)}
        for name in op.path_parameters
    ]
    if op.query is not None:
        parameters += [
            {"name": name, "in": "query", "required": required, "schema": _without_null(schema)}
            for name, schema, required in fields_of(op.query)
        ]
    parameters += [
        {"name": name, "in": "header", "required": False, "schema": _header_schema(name),
         "description": HEADER_DESCRIPTIONS[name]}
        for name in op.request_headers
    ]
    answer = op.answer if isinstance(op.answer, dict) else schema_of.get(op.answer)
    responses: dict[str, Any] = {}
    if answer is not None:
        responses[str(op.success)] = {
            "description": "done" if op.method != "GET" else "found",
            "content": {
                media_type: {"schema": answer} for media_type in (op.answer_media_type, *op.other_answer_media_types)
            },
            "headers": {
                name: {"description": HEADER_DESCRIPTIONS[name], "schema": {"type": "string"}}
                for name in op.response_headers
            },
        }
    # a route that takes no query parameters refuses any with 400 (routing.py)
    codes = _codes_of(op)
    refusals = sorted(set(op.refusals) | ({400} if op.query is None else set()) | set(codes))
    for status in refusals:
        responses[str(status)] = {
            "description": _refusal(status, codes.get(status, [])),
            "content": {"application/problem+json": {"schema": {"$ref": REF.format(name="Problem")}}},
            **({"x-problem-codes": codes[status]} if status in codes else {}),
        }
    described: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
    }
    roles, sentence = _roles_of(op)
    described["x-roles"] = roles
    described["description"] = " ".join(filter(None, [described.get("description"), sentence]))
    if op.public:
        described["security"] = []
    if op.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema_of[op.body]}}}
    _add_examples(described, recorded_examples().get(op.operation_id))
    return described


@functools.cache
def recorded_examples() -> dict[str, Any]:
    """The examples of :data:`EXAMPLES_FILE`, by operation id: each a request (the role that called, ``by``,
    null without a token; its ``path`` and ``query`` parameters, its ``body``) and its answer (``status``,
    ``media_type``, ``body``; ``excerpt`` says what was kept of an answer kept in part). None before the first recording, which builds the document without
    them (tests/unit/test_api_examples.py fails on a document without them)."""
    if not EXAMPLES_FILE.exists():
        return {}
    examples: dict[str, Any] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    return examples


def _add_examples(described: dict[str, Any], example: dict[str, Any] | None) -> None:
    """The recorded request and answer of the operation, as OpenAPI 3.1 ``examples`` on its parameters,
    its body and the answer's media type."""
    if example is None:
        return
    request, answer = example["request"], example["answer"]
    by = request.get("by")
    recorded = f"recorded, called by {by}" if by else "recorded, called without a token"
    for parameter in described["parameters"]:
        given = request.get(parameter["in"], {})
        if parameter["name"] in given:
            parameter["examples"] = {"recorded": {"value": given[parameter["name"]]}}
    if "body" in request and "requestBody" in described:
        described["requestBody"]["content"]["application/json"]["examples"] = {
            "recorded": {"summary": recorded, "value": request["body"]}
        }
    content = described["responses"].get(str(answer["status"]), {}).get("content", {})
    # the answer's media type without its parameters, as the document names it with them or not
    for media_type, media in content.items():
        if media_type.split(";")[0].strip() != answer["media_type"]:
            continue
        summary = f"{recorded}; in part: {answer['excerpt']}" if "excerpt" in answer else recorded
        media["examples"] = {"recorded": {"summary": summary, "value": answer["body"]}}


def _codes_of(op: Operation) -> dict[int, list[str]]:
    """The problem codes the route can answer (http/route_problems.py), by the status each comes with."""
    by_status: dict[int, list[str]] = {}
    for code in sorted(problem_codes_of(op)):
        by_status.setdefault(STATUS_OF_CODE[code], []).append(code)
    return by_status


def _refusal(status: int, codes: list[str]) -> str:
    """A refusal's description: its reason, then each code it may carry with what the code means."""
    reason = falcon.code_to_http_status(status)[4:]
    if not codes:
        return reason
    return f"{reason}, with one of these codes:\n\n" + "\n".join(f"- `{code}`: {PROBLEM_CODES[code]}" for code in codes)


def _roles_of(op: Operation) -> tuple[list[str], str]:
    """Who may call the route: the role names its tokens carry (``x-roles``) and the sentence closing its
    description (a public route: anyone, without a token)."""
    roles = EVERY_ROLE if op.public else op.roles
    return [role.value for role in EVERY_ROLE if role in roles], who_may_call(roles, op.public)


def _header_schema(name: str) -> dict[str, Any]:
    if name == "Idempotency-Key":
        return {"type": "string", "minLength": 1, "maxLength": 255}
    if name == "If-Match":  # a version: 0 to 2^63-1 in ASCII digits, quoted as the ETag sends it or not
        return {"type": "string", "pattern": '^(W/)?"[0-9]{1,19}"$|^[0-9]{1,19}$|^[*]$', "maxLength": 23}
    return {"type": "string"}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An absent query parameter is its null: the document offers only the value."""
    alternatives = schema.get("anyOf")
    if not alternatives:
        return schema
    kept = [a for a in alternatives if a.get("type") != "null"]
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default") or (k == "default" and v is not None)}
    return {**kept[0], **rest} if len(kept) == 1 else {"anyOf": kept, **rest}


def domain_vocabularies() -> list[Vocabulary]:
    """Every closed vocabulary the domain declares (a :class:`Vocabulary` at the top of one of its modules)."""
    import contractledger.domain as domain

    found: dict[str, Vocabulary] = {}
    for module in pkgutil.iter_modules(domain.__path__):
        for value in vars(importlib.import_module(f"{domain.__name__}.{module.name}")).values():
            if isinstance(value, Vocabulary):
                found.setdefault(value.name, value)
    return sorted(found.values(), key=lambda v: v.name)


def _name_vocabularies(*schemas: Any) -> dict[str, Any]:
    """Each inline enum of a domain vocabulary's words (a Literal of it) becomes a reference to the vocabulary's
    own component, with its meaning; an enum of the words of several vocabularies, to each of them."""
    vocabularies = domain_vocabularies()
    used: dict[str, Any] = {}

    def named(words: frozenset[Any]) -> list[Vocabulary] | None:
        exact = [v for v in vocabularies if frozenset(v) == words]
        if exact:
            return exact[:1]
        parts = [v for v in vocabularies if frozenset(v) <= words]
        covered = frozenset().union(*parts) if parts else frozenset()
        if covered == words and sum(len(v) for v in parts) == len(words):
            return parts
        return None

    def referred(schema: dict[str, Any]) -> dict[str, Any] | None:
        found = named(frozenset(schema["enum"])) if "enum" in schema and "$ref" not in schema else None
        if not found:
            return None
        for vocabulary in found:
            used[vocabulary.name] = {"type": "string", "enum": list(vocabulary), "description": vocabulary.meaning}
        rest = {k: v for k, v in schema.items() if k not in ("enum", "type")}
        refs = [{"$ref": REF.format(name=v.name)} for v in found]
        return {**refs[0], **rest} if len(refs) == 1 else {"anyOf": refs, **rest}

    def visit(node: Any) -> None:
        slots = list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(node, list) else []
        for key, value in slots:
            replacement = referred(value) if isinstance(value, dict) else None
            if replacement is not None:
                node[key] = replacement
            else:
                visit(value)

    for schema in schemas:
        visit(schema)
    return used
