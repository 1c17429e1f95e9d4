"""The one strict decoding (domain/inputs.py): what a field's type allows but
nobody could mean is refused, naming the field; text is trimmed; and every
route's every input declares its bounds in the API document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import msgspec
import pytest

from contractledger.http.catalogue import routes
from contractledger.domain.inputs import (
    Amount,
    Day,
    Instant,
    Line,
    Position,
    Prose,
    Unmeant,
    checked,
    plain_numbers,
    whole_number,
)
from contractledger.http.openapi import ApiDocument, document

Name = Line(20)
Remark = Prose(50)


class Item(msgspec.Struct, tag="item", tag_field="kind"):
    label: Name


class Other(msgspec.Struct, tag="other", tag_field="kind"):
    on: Day


class Order(msgspec.Struct, kw_only=True):
    name: Name
    remark: Remark | None = None
    untyped: str = "x"
    lines: list[Item | Other] = []
    facts: dict[str, Any] = {}
    on: Day | None = None
    at: Instant | None = None
    count: int = 0
    amount: Amount | msgspec.UnsetType = msgspec.UNSET
    colour: Literal["red", "blue"] = "red"


def decoded(**fields: Any) -> Order:
    return checked(msgspec.json.decode(msgspec.json.encode({"name": "n", **fields}), type=Order), Order)


def refusal(**fields: Any) -> Unmeant:
    with pytest.raises(Unmeant) as raised:
        decoded(**fields)
    return raised.value


def test_text_is_trimmed_wherever_it_is() -> None:
    order = decoded(
        name="  Ada ", remark=" hello\n world\t", lines=[{"kind": "item", "label": " x "}], facts={" k ": [" v "]}
    )
    assert (order.name, order.remark, order.lines[0].label, order.facts) == ("Ada", "hello\n world", "x", {"k": ["v"]})


@pytest.mark.parametrize("text", ["a\x00b", "a\tb", "a\nb", "a\rb", "\x1b[2J", "a\x7fb", "a\x85b"])
def test_one_line_of_text_holds_no_control_character(text: str) -> None:
    assert refusal(name=text).field == "name"


def test_prose_takes_line_breaks_and_tabs_and_no_other_control_character() -> None:
    assert decoded(remark="one\r\ntwo\tthree").remark == "one\r\ntwo\tthree"
    assert refusal(remark="one\x00two").field == "remark"


@pytest.mark.parametrize("text", ["", " ", "\u00a0\u3000 "])
def test_text_that_is_nothing_once_trimmed_is_refused(text: str) -> None:
    with pytest.raises((Unmeant, msgspec.ValidationError)):
        decoded(name=text)
    with pytest.raises((Unmeant, msgspec.ValidationError)):
        decoded(untyped=text)


def test_text_whose_field_declares_no_maximum_is_at_most_two_hundred_characters() -> None:
    assert decoded(untyped="x" * 200).untyped == "x" * 200
    assert refusal(untyped="x" * 201).field == "untyped"


def test_free_form_values_are_bounded_by_what_they_are() -> None:
    assert refusal(facts={"a": {"b": ["ok", "x\x00"]}}).field == "facts.a.b[1]"
    assert refusal(facts={"a": "x" * 1001}).field == "facts.a"
    assert refusal(facts={"a\nb": 1}).field == "facts"
    assert refusal(facts={"n": 2**63}).field == "facts.n"
    assert decoded(facts={"n": -(2**63), "ok": True, "f": 1.5}).facts == {"n": -(2**63), "ok": True, "f": 1.5}


def test_the_member_of_a_union_that_was_decoded_is_the_one_checked() -> None:
    assert refusal(lines=[{"kind": "item", "label": "a"}, {"kind": "other", "on": "2200-01-01"}]).field == "lines[1].on"
    assert refusal(lines=[{"kind": "item", "label": "a\x00"}]).field == "lines[0].label"


@pytest.mark.parametrize("day, taken", [
    ("1900-01-01", True), ("2199-12-31", True), ("1899-12-31", False), ("2200-01-01", False),
    ("0001-01-01", False), ("9999-12-31", False),
])
def test_a_date_lies_between_1900_and_2199(day: str, taken: bool) -> None:
    if taken:
        assert decoded(on=day).on == date.fromisoformat(day)
    else:
        assert refusal(on=day).field == "on"


@pytest.mark.parametrize("instant, taken", [
    ("1900-01-01T00:00:00Z", True), ("2199-12-31T23:59:59.999999Z", True), ("1900-01-01T00:30:00+01:00", False),
    ("2199-12-31T23:30:00-01:00", False), ("0001-01-01T00:00:00+14:00", False), ("9999-12-31T23:59:59-14:00", False),
])
def test_an_instant_lies_between_1900_and_2199_in_utc(instant: str, taken: bool) -> None:
    if taken:
        assert decoded(at=instant).at == datetime.fromisoformat(instant.replace("Z", "+00:00"))
    else:
        assert refusal(at=instant).field == "at"


def test_a_whole_number_is_what_the_stores_keep() -> None:
    assert decoded(count=2**63 - 1).count == 2**63 - 1
    assert decoded(count=-(2**63)).count == -(2**63)
    assert refusal(count=2**63).field == "count"
    assert refusal(count=-(2**63) - 1).field == "count"


@pytest.mark.parametrize("amount", ["0.5", "1250", "1250.00", "75.5", "999999999999999.99"])
def test_an_amount_in_its_one_written_form_is_taken(amount: str) -> None:
    assert decoded(amount=amount).amount == amount


@pytest.mark.parametrize("amount", ["1e-2", "1E+2", " 5.00", "5.00 ", "+5", "-5", "05", "5.", ".5", "5.001", "1,000", "٥", "NaN"])
def test_an_amount_in_another_form_is_refused(amount: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        decoded(amount=amount)


def test_a_position_is_from_zero_to_two_to_the_63_minus_one() -> None:
    assert msgspec.convert(2**63 - 1, Position) == 2**63 - 1
    for wrong in (-1, 2**63):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(wrong, Position)


@pytest.mark.parametrize("text, number", [
    ("0", 0), ("7", 7), (str(2**63 - 1), 2**63 - 1), (str(2**63), None), ("²", None), ("１", None), ("٣", None),
    ("-1", None), ("1.0", None), (" 1", None), ("", None), ("1e3", None),
])
def test_a_whole_number_is_written_in_ascii_digits(text: str, number: int | None) -> None:
    assert whole_number(text) == number


class Parameters(msgspec.Struct):
    limit: int = 1
    wait: float = 0.0
    name: str | None = None


@pytest.mark.parametrize("parameters", [{"limit": "1e3"}, {"limit": "0x10"}, {"limit": "3.0"}, {"limit": "²"}, {"wait": "1e1"}, {"wait": "nan"}, {"wait": "inf"}])
def test_numbers_in_a_query_are_written_plainly(parameters: dict[str, str]) -> None:
    with pytest.raises(Unmeant):
        plain_numbers(parameters, Parameters)


def test_plain_numbers_and_other_parameters_pass() -> None:
    plain_numbers({"limit": "50", "wait": "2.5", "name": "1e3"}, Parameters)


# -- the API document says the bounds of every input ---------------------------------------


def _document() -> dict[str, Any]:
    class Unused:
        def __getattr__(self, name: str) -> Any:
            return None

    return document(routes(Unused(), ApiDocument()))  # type: ignore[arg-type]


def _inputs(api: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every schema a request can carry (query, header and body, nested), with where it is."""
    components = api["components"]["schemas"]
    found: list[tuple[str, dict[str, Any]]] = []

    def visit(where: str, schema: dict[str, Any], seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                visit(where, components[name], seen | {name})
            return
        found.append((where, schema))
        for key in ("anyOf", "oneOf"):
            for option in schema.get(key, []):
                visit(where, option, seen)
        for name, field in schema.get("properties", {}).items():
            visit(f"{where}.{name}", field, seen)
        if isinstance(schema.get("items"), dict):
            visit(f"{where}[]", schema["items"], seen)
        if isinstance(schema.get("additionalProperties"), dict):
            visit(f"{where}{{}}", schema["additionalProperties"], seen)

    for path, item in api["paths"].items():
        for method, operation in item.items():
            for parameter in operation["parameters"]:
                if parameter["in"] != "path":
                    visit(f"{method.upper()} {path} {parameter['name']}", parameter["schema"], frozenset())
            body = operation.get("requestBody")
            if body:
                visit(f"{method.upper()} {path} body", body["content"]["application/json"]["schema"], frozenset())
    return found


def test_every_text_a_route_takes_has_a_maximum_length_in_the_api_document() -> None:
    unbounded = [
        where for where, schema in _inputs(_document())
        if schema.get("type") == "string" and "enum" not in schema and "const" not in schema
        and "format" not in schema and "maxLength" not in schema and "pattern" not in schema
    ]
    assert unbounded == []


def test_every_date_and_instant_a_route_takes_states_the_ledgers_range_in_the_api_document() -> None:
    unbounded = [
        where for where, schema in _inputs(_document())
        if schema.get("format") in ("date", "date-time") and "formatMaximum" not in schema
    ]
    assert unbounded == []


def test_every_whole_number_a_route_takes_has_bounds_in_the_api_document() -> None:
    unbounded = [
        where for where, schema in _inputs(_document())
        if schema.get("type") == "integer" and not ("maximum" in schema or "enum" in schema)
    ]
    assert unbounded == []

