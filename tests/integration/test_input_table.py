"""The input table: every route's every path parameter, query parameter,
header and body field, read from the API document the app serves, is sent
its extreme values (empty, blank, control characters, NUL, very long,
digits that are not ASCII, dates and instants out of range, 2^63, negative,
wrong types, unknown vocabulary, amounts in other forms...), one at a time
in an otherwise valid request. Each must be refused with a 4xx problem that
names it with the edge's stable code, and leave the store as it was: the
ledger's head position after every case, every table of the view database
after every route.

Routes added to the registry are in the document, so they are in the table
with no change here. Which principal a route is sent as is found by
probing (the first whose malformed request reaches the route's decoding).
Values are sampled deterministically where a field's list is long: every
case of defect 11 is always sent.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.http.catalogue import routes  # noqa: E402
from contractledger.http.openapi import ApiDocument, document  # noqa: E402

OPERATOR_NAME = "olive"
PEER = "manage"
TWO_TO_THE_63 = 2**63


class _Unused:
    def __getattr__(self, name: str) -> Any:
        return None


REGISTRY_DOCUMENT = document(routes(_Unused(), ApiDocument()))  # type: ignore[arg-type]
OPERATIONS = sorted((path, method) for path, item in REGISTRY_DOCUMENT["paths"].items() for method in item)

# What the edge answers, by where the input is (any of these, with the input named).
BODY_CODES = {"request.invalid_field"}
QUERY_CODES = {"query.invalid_parameter", "query.cursor_invalid"}
PATH_CODES = {"route.not_found", "sync.peer.unknown"}


@dataclass
class Case:
    label: str
    path: str
    method: str
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: set[int] = field(default_factory=lambda: {400, 422})
    codes: set[str] = field(default_factory=set)
    named: str | None = None
    """The input the problem must name (its ``field``: it, or a part of it); None: not checked."""


# -- values -------------------------------------------------------------------------------


def encoded_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


TEXT_EXTREMES: list[Any] = ["", "   ", "a\x00b", "\x00", "a\x1bb", "\x7f", "a\x85b", "\u00a0\u3000"]
LINE_ONLY = ["a\nb", "a\tb", "a\rb"]
DATE_EXTREMES = [
    "0001-01-01", "9999-12-31", "9999-12-15", "1899-12-31", "2200-01-01", "2026-02-30", "2026-1-1",
    "２０２６-01-01", "2026-01-01T00:00:00Z", "", " 2026-01-01",
]
INSTANT_EXTREMES = [
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z", "2200-01-01T00:00:00Z",
    "2026-01-01T00:00:00", "2026-13-01T00:00:00Z", "", "yesterday",
]
AMOUNT_EXTREMES = ["1e-2", "1E+2", " 5.00", "5.00 ", "5.001", "-5.00", "+5", "05.00", "٥.00", "NaN", "Infinity", "1" * 16, ""]
UUID_EXTREMES = ["not-a-uuid", "", "0" * 31, "00000000-0000-0000-0000-00000000000g", "\x00"]
ENUM_EXTREMES = ["' OR 1=1--", "\x00", "", "%00"]
CURSOR_EXTREMES = [
    encoded_cursor([True]), encoded_cursor([False]), encoded_cursor([TWO_TO_THE_63]), encoded_cursor([-1]),
    encoded_cursor([None]), encoded_cursor({}), "!!!", "\x00",
]
INTEGER_TEXT = [
    str(TWO_TO_THE_63), str(2**64), "9" * 30, "-1", "1.5", "1e3", "0x10", "²", "٣", "１", " 1", "", "1_000", "+1",
]
NUMBER_TEXT = ["nan", "inf", "-1", "1e1", "61", "", "²", "1,5"]
BOOLEAN_TEXT = ["yes", "2", "", "truee"]


def sample(values: list[Any], key: str, keep: int, always: int = 0) -> list[Any]:
    """``keep`` of ``values``, the first ``always`` always and the rest chosen by ``key`` (the same every run)."""
    if len(values) <= keep:
        return values
    head, tail = values[:always], values[always:]
    ranked = sorted(tail, key=lambda v: hashlib.sha256(f"{key}|{v!r}".encode()).digest())
    chosen = set(map(repr, ranked[: keep - always]))
    return head + [v for v in tail if repr(v) in chosen]


class Schemas:
    def __init__(self, api_document: dict[str, Any]) -> None:
        self.components = api_document["components"]["schemas"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def options(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """The alternatives a value may take (null left out)."""
        schema = self.resolve(schema)
        alternatives = schema.get("anyOf") or schema.get("oneOf")
        if not alternatives:
            return [schema]
        found = []
        for alternative in alternatives:
            found += [a for a in self.options(alternative) if a.get("type") != "null"]
        return found

    def nullable(self, schema: dict[str, Any]) -> bool:
        schema = self.resolve(schema)
        return any(self.resolve(a).get("type") == "null" for a in schema.get("anyOf", []) + schema.get("oneOf", []))

    def example(self, schema: dict[str, Any]) -> Any:
        """A value the edge takes for ``schema``."""
        schema = self.options(schema)[0]
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object":
            properties = schema.get("properties", {})
            return {name: self.example(properties[name]) for name in schema.get("required", [])}
        if kind == "array":
            return [self.example(schema.get("items", {}))] * max(1, schema.get("minItems", 1))
        if kind == "integer":
            return max(schema.get("minimum", 1), 1) if schema.get("maximum", 1) >= 1 else schema.get("minimum", 0)
        if kind == "number":
            return schema.get("minimum", 0)
        if kind == "boolean":
            return False
        if kind == "string":
            return string_example(schema)
        return "x"


def string_example(schema: dict[str, Any]) -> str:
    chosen = {"uuid": "00000000-0000-4000-8000-000000000001", "date": "2026-03-02", "date-time": "2026-03-02T09:00:00Z"}
    if schema.get("format") in chosen:
        return chosen[schema["format"]]
    pattern = schema.get("pattern")
    if pattern:
        for candidate in ("5.00", "0" * 64, "1", "x"):
            if re.search(pattern, candidate):
                return candidate
        raise AssertionError(f"the table has no example for the pattern {pattern}: add one to string_example")
    return "x" * max(1, schema.get("minLength", 1))


def body_extremes(schemas: Schemas, schema: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    """(label, value) for one body field: each is refused whatever the rest of the body."""
    values: list[Any] = []
    nullable = schemas.nullable(schema)
    options = schemas.options(schema)
    kinds = {o.get("type") for o in options}
    for option in options:
        values += _extremes_of(option, key, kinds)
    if not nullable:
        values.append(None)
    wrong = [v for v in ([], {}, True, 7) if not _type_fits(v, kinds)]
    values += wrong[:2]
    unique: dict[str, Any] = {}
    for value in values:
        unique.setdefault(repr(value), value)
    return [(_label(v), v) for v in unique.values()]


def _type_fits(value: Any, kinds: set[Any]) -> bool:
    if None in kinds:  # untyped: anything fits
        return True
    if isinstance(value, bool):
        return "boolean" in kinds
    if isinstance(value, int):
        return bool({"integer", "number"} & kinds)
    return ("array" if isinstance(value, list) else "object") in kinds


def _extremes_of(schema: dict[str, Any], key: str, kinds: set[Any]) -> list[Any]:
    if "const" in schema:
        return ["not-" + str(schema["const"])]
    if "enum" in schema:
        first = schema["enum"][0]
        spelled = [first.upper(), f" {first}", f"{first} "] if isinstance(first, str) else [0, 5, -1, "1"]
        return ENUM_EXTREMES + spelled
    kind = schema.get("type")
    if kind == "string":
        form = schema.get("format")
        if form == "uuid":
            return UUID_EXTREMES + [5]
        if form == "date":
            return DATE_EXTREMES + [20260101]
        if form == "date-time":
            return INSTANT_EXTREMES + [0]
        if schema.get("pattern"):
            return sample(AMOUNT_EXTREMES, key, 13, always=4) + [5.0, 5]
        limit = schema.get("maxLength", 200)
        prose = "Line breaks and tabs are taken" in schema.get("description", "")
        long = ["x" * (limit + 1)] + (["W" * 200_000] if limit < 200_000 else [])
        return TEXT_EXTREMES + ([] if prose else LINE_ONLY) + long + [5]
    if kind == "integer":
        bounds = [schema["minimum"] - 1] if "minimum" in schema else [-TWO_TO_THE_63 - 1]
        bounds += [schema["maximum"] + 1] if "maximum" in schema and schema["maximum"] < TWO_TO_THE_63 - 1 else []
        return [TWO_TO_THE_63, 2**64, 10**30] + bounds + [1.5, "1", True]
    if kind == "number":
        return [schema.get("minimum", 0) - 1, schema.get("maximum", 1e300) + 1, "1", True]
    if kind == "boolean":
        return ["true", 1]
    if kind == "array":
        values: list[Any] = ["x"]
        if schema.get("minItems", 0) >= 1:
            values.append([])
        if "maxItems" in schema and schema["maxItems"] <= 1000:
            values.append(["x"] * (schema["maxItems"] + 1))
        return values
    if kind == "object":
        if "properties" not in schema and schema.get("additionalProperties", True) is not False:
            return [{"name\x00": "x"}, {"name": "a\x00b"}, {"name": "x" * 1001}, {"name": TWO_TO_THE_63}, {"": "x"}]
        return ["x", [], {"zz_unknown": 1}]
    # untyped (free-form): a value of a profile section, say
    return ["a\x00b", "x" * 1001, TWO_TO_THE_63, "", ["\x07"], {"k": "\x00"}]


def _label(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} chars)"


def query_extremes(schemas: Schemas, schema: dict[str, Any], name: str, key: str) -> list[Any]:
    option = schemas.options(schema)[0]
    kind, form = option.get("type"), option.get("format")
    if "enum" in option:
        values = ENUM_EXTREMES + [str(option["enum"][0]).upper(), f" {option['enum'][0]}"]
    elif kind == "integer":
        values = sample(INTEGER_TEXT, key, 10, always=4)
    elif kind == "number":
        values = NUMBER_TEXT
    elif kind == "boolean":
        values = BOOLEAN_TEXT
    elif form == "uuid":
        values = UUID_EXTREMES
    elif form == "date":
        values = sample(DATE_EXTREMES, key, 8, always=4)
    elif form == "date-time":
        values = INSTANT_EXTREMES
    elif name == "after":
        values = CURSOR_EXTREMES + ["", "   ", "x" * (option.get("maxLength", 512) + 1)]
    else:
        values = TEXT_EXTREMES + LINE_ONLY + ["x" * (option.get("maxLength", 200) + 1)]
    return values


# -- the table ----------------------------------------------------------------------------


def body_sites(schemas: Schemas, schema: dict[str, Any], trail: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every field of a body, nested: its steps (name or index, with the schema of the container taken) and schema."""
    for option in schemas.options(schema):
        if option.get("type") == "object":
            for name, child in option.get("properties", {}).items():
                steps = trail + ((name, option),)
                yield steps, child
                yield from body_sites(schemas, child, steps)
        elif option.get("type") == "array" and isinstance(option.get("items"), dict):
            steps = trail + ((0, option),)
            yield from (site for site in body_sites(schemas, option["items"], steps))
            child = schemas.resolve(option["items"])
            if child.get("type") not in ("object", "array") and not child.get("anyOf"):
                yield steps, option["items"]


def with_value(schemas: Schemas, steps: tuple[Any, ...], value: Any) -> Any:
    """A body the edge takes, but for ``value`` at ``steps``; each container on the way is its own example."""
    body = copy.deepcopy(schemas.example(steps[0][1]))
    container = body
    for index, (key, _) in enumerate(steps):
        if index == len(steps) - 1:
            container[key] = value
        else:
            child = copy.deepcopy(schemas.example(steps[index + 1][1]))
            container[key] = child
            container = child
    return body


def field_name(steps: tuple[Any, ...]) -> str:
    name = ""
    for key, _ in steps:
        name += f"[{key}]" if isinstance(key, int) else (f".{key}" if name else key)
    return name


def path_with(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def path_values(operation: dict[str, Any], ids: dict[str, str]) -> dict[str, str]:
    """A value the route takes for each path parameter: a real id of the world where there is one, or the peer's name."""
    return {
        p["name"]: ids.get(p["name"], str(UUID(int=1))) if p["schema"].get("format") == "uuid" else PEER
        for p in operation.get("parameters", []) if p["in"] == "path"
    }


def cases_of(schemas: Schemas, path: str, method: str, operation: dict[str, Any], ids: dict[str, str]) -> list[Case]:
    key = f"{method} {path}"
    parameters = operation.get("parameters", [])
    base_path = path_values(operation, ids)
    target = path_with(path, base_path)
    body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    base_body = schemas.example(body_schema) if body_schema else None
    cases: list[Case] = []
    # a route's required query parameters go with every case, valid, but where the case tries that one
    required = {
        p["name"]: str(schemas.example(p["schema"])) for p in parameters if p["in"] == "query" and p.get("required")
    }

    def add(label: str, **kwargs: Any) -> None:
        kwargs.setdefault("path", target)
        if required:
            kwargs["query"] = {**required, **kwargs.get("query", {})}
        if body_schema is not None and "body" not in kwargs and "raw" not in kwargs:
            kwargs["body"] = base_body
        cases.append(Case(label=label, method=method.upper(), **kwargs))

    for parameter in parameters:
        name, schema = parameter["name"], parameter["schema"]
        if parameter["in"] == "path":
            wrong = UUID_EXTREMES[:1] + ["%00", "1" * 40] if schema.get("format") == "uuid" else ["nobody", "%00", "x" * 300, PEER.upper()]
            for value in wrong:
                add(f"path {name}={value!r}", path=path_with(path, {**base_path, name: value}), status={404}, codes=PATH_CODES)
        elif parameter["in"] == "query":
            for value in query_extremes(schemas, schema, name, f"{key} {name}"):
                add(f"query {name}={value!r}", query={name: value}, codes=QUERY_CODES, named=name)
            add(f"query {name} twice", query={name: [str(schemas.example(schema))] * 2}, codes=QUERY_CODES, named=name)
        elif parameter["in"] == "header":
            if name == "If-Match":
                for value in ('"²"', "²", '"１"', '"-1"', '"1.5"', '"' + "9" * 20 + '"', '""', "W/", '"1" "2"', "1,2"):
                    add(f"If-Match {value!r}", headers={name: value}, codes={"request.if_match_invalid"}, named=name)
            elif name == "Idempotency-Key":
                for value in ("", "x" * 256, "a\x00b", "a\x07b"):
                    add(f"Idempotency-Key {value[:10]!r}", headers={name: value}, codes={"request.idempotency_key_invalid"}, named=name)
    add("an unknown query parameter", query={"zz_unknown": "1"}, codes=QUERY_CODES, named="zz_unknown")
    if body_schema is None:
        return cases
    add("a body that is not JSON", raw=b"<a/>", headers={"Content-Type": "application/xml"}, status={415},
        codes={"request.unsupported_media_type"})
    add("malformed JSON", raw=b'{,}', codes={"request.malformed_json"})
    add("a JSON array for a body", body=[], codes=BODY_CODES)
    add("a body over 256 KB", raw=json.dumps({"x": "y" * 300_000}).encode(), status={413}, codes={"request.body_too_large"})
    add("a body nested too deep", raw=b"[" * 64 + b"]" * 64, codes={"request.too_deeply_nested"})
    if isinstance(base_body, dict):
        add("an unknown field", body={**base_body, "zz_unknown": 1}, codes=BODY_CODES, named="zz_unknown")
    for steps, schema in body_sites(schemas, body_schema):
        name = field_name(steps)
        for label, value in body_extremes(schemas, schema, f"{key} {name}"):
            add(f"{name}={label}", body=with_value(schemas, steps, value), codes=BODY_CODES, named=name)
    return cases


# -- sending ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path_factory.mktemp("input-table"), store)


@pytest.fixture(scope="module")
def served_document(api: Api) -> dict[str, Any]:
    served = api.client.simulate_get("/openapi.json").json
    assert sorted((p, m) for p, item in served["paths"].items() for m in item) == OPERATIONS
    return served


@pytest.fixture(scope="module")
def ids(api: Api) -> dict[str, str]:
    """Real things for the path parameters, so a request that got past the edge would reach them."""
    w = api.world
    contract = w.active_contract()
    bundle = w.ledger.get_contract(contract).bundle_id
    record = w.ledger.add_monitoring(
        w.aga_admin, contract, level=3, reason="Sales", effective_on=w.today, reminder_on=w.in_days(7)
    )
    api.caught_up()
    return {
        "contract_id": str(contract), "bundle_id": str(bundle), "record_id": str(record),
        "party_id": str(w.advisor), "advisor_id": str(w.advisor),
    }


@pytest.fixture(scope="module")
def principals(api: Api) -> list[tuple[str, dict[str, str]]]:
    w = api.world
    actors = [
        ("agency admin", w.aga_admin), ("carrier staff", w.carrier_staff), ("producer", w.producer),
        ("auditor", w.auditor), ("operator", Actor(Role.OPERATOR, OPERATOR_NAME)),
        ("peer", Actor(Role.SYNC_PEER, PEER)),
    ]
    return [(name, api.as_(actor)) for name, actor in actors]


def send(api: Api, case: Case, authorization: dict[str, str]) -> Any:
    headers = {**authorization, **case.headers}
    if case.raw is not None:
        headers.setdefault("Content-Type", "application/json")
        return api.client.simulate_request(case.method, case.path, headers=headers, params=case.query, body=case.raw)
    if case.body is not None:
        return api.client.simulate_request(case.method, case.path, headers=headers, params=case.query, json=case.body)
    return api.client.simulate_request(case.method, case.path, headers=headers, params=case.query)


def reaching(api: Api, principals: list[tuple[str, dict[str, str]]], path: str, method: str, has_body: bool) -> dict[str, str]:
    """The first principal whose malformed request reaches the route's own decoding."""
    probe = Case("probe", path, method.upper(), body=[] if has_body else None, query={} if has_body else {"zz_unknown": "1"})
    wanted = "request.invalid_field" if has_body else "query.invalid_parameter"
    for _, authorization in principals:
        answer = send(api, probe, authorization)
        if answer.status_code in (400, 422) and answer.json.get("code") == wanted:
            return authorization
    raise AssertionError(f"no principal's request reaches the decoding of {method.upper()} {path}; add one to `principals`")


def views_digest(api: Api) -> str:
    views = api.config.views
    if views.dialect == "sqlite":
        tables = [name for (name,) in views.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    else:
        tables = [name for (name,) in views.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
        )]
    digest = hashlib.sha256()
    for table in tables:
        rows = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in views.query(f'SELECT * FROM "{table}"')]
        digest.update(table.encode() + b"\n" + "\n".join(sorted(map(repr, rows))).encode())
    return digest.hexdigest()


def check(api: Api, case: Case, answer: Any) -> str | None:
    """What is wrong with the answer to ``case``, or None."""
    problem = answer.json if answer.headers.get("content-type") == "application/problem+json" else None
    if problem is None:
        return f"{case.label}: {answer.status_code} {answer.headers.get('content-type')} {answer.text[:120]!r}"
    if answer.status_code not in case.status or problem.get("code") not in case.codes:
        return f"{case.label}: {answer.status_code} {problem.get('code')} ({problem.get('detail', '')[:120]})"
    named = str(problem.get("field"))
    if case.named is not None and not (named == case.named or named.startswith((f"{case.named}.", f"{case.named}["))):
        return f"{case.label}: names {problem.get('field')!r}, not {case.named!r} ({problem.get('detail', '')[:120]})"
    return None


CASES_SENT: dict[str, int] = {}


@pytest.mark.parametrize("path, method", OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_every_input_of_the_route_at_its_extremes_is_refused_naming_it_and_stores_nothing(
    api: Api, served_document: dict[str, Any], ids: dict[str, str], principals: list[tuple[str, dict[str, str]]],
    path: str, method: str,
) -> None:
    schemas = Schemas(served_document)
    operation = served_document["paths"][path][method]
    cases = cases_of(schemas, path, method, operation, ids)
    target = path_with(path, path_values(operation, ids))
    authorization = {} if operation.get("security") == [] else reaching(api, principals, target, method, "requestBody" in operation)
    views_before, problems = views_digest(api), []
    for case in cases:
        before = api.position()
        answer = send(api, case, authorization)
        wrong = check(api, case, answer)
        if api.position() != before:
            wrong = f"{case.label}: the ledger moved from {before} to {api.position()} ({answer.status_code})"
        if wrong:
            problems.append(wrong)
    CASES_SENT[f"{method.upper()} {path}"] = len(cases)
    assert not problems, f"{len(problems)} of {len(cases)} cases:\n" + "\n".join(problems)
    assert views_digest(api) == views_before, "a refused request changed the view database"


def test_the_table_sent_every_operation_of_the_api_document(request: pytest.FixtureRequest) -> None:
    """Runs last in this module: how many cases were sent (shown with -rP)."""
    ran = {name for name in CASES_SENT}
    expected = {f"{m.upper()} {p}" for p, m in OPERATIONS}
    if ran != expected:
        pytest.skip("run with the whole module to count the table")
    print(f"input table: {sum(CASES_SENT.values())} cases over {len(CASES_SENT)} operations")
    CASES_SENT.clear()
