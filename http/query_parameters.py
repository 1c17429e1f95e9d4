"""Query parameters, typed: each query route declares a msgspec Struct of its
parameters, which both parses the query string (unknown parameters, wrong
types and what nobody could mean, see ``inputs``, are 400 problems naming
the parameter) and gives the API document its parameter schemas."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import falcon
import msgspec

from contractledger.domain.inputs import Position, Unmeant, checked, plain_numbers
from contractledger.http.problems import Problem

T = TypeVar("T")


class QueryParameters(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What every read route takes (a route's own parameters extend it); not
    projections.engine.queries.Reading, the read transaction."""

    wait_for: Annotated[Position, msgspec.Meta(description="A Ledger-Position to wait for (read your writes).")] | None = None


class Paging(QueryParameters):
    after: Annotated[str, msgspec.Meta(max_length=512, description="The cursor of the previous page's `next`.")] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500, description="At most this many items.")] = 50


def parse(req: falcon.Request, shape: type[T]) -> T:
    return parse_parameters(dict(req.params), shape)


def parse_parameters(parameters: dict[str, Any], shape: type[T]) -> T:
    """As ``parse``, of parameters already taken from a query string."""
    try:
        plain_numbers(parameters, shape)
        return checked(msgspec.convert(parameters, type=shape, strict=False), shape)
    except Unmeant as unmeant:
        raise Problem(
            falcon.HTTP_400, "query.invalid_parameter", f"{unmeant.detail} (parameter '{unmeant.field}').",
            field=unmeant.field,
        ) from None
    except msgspec.ValidationError as error:
        message = str(error)
        field = _parameter_named(message)
        raise Problem(
            falcon.HTTP_400,
            "query.invalid_parameter",
            message.split(" - at ")[0] + (f" (parameter '{field}')" if field else "") + ".",
            field=field,
        ) from None


def _parameter_named(message: str) -> str | None:
    import re

    found = re.search(r"`\$\.([^`\[]+)", message) or re.search(r"field `([^`]+)`", message)
    return found.group(1) if found else None


def fields_of(shape: type[Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """Each parameter's name, JSON Schema and whether it is required, for the API document."""
    (schema,), components = msgspec.json.schema_components([shape], ref_template="#/components/schemas/{name}")
    definition = components[schema["$ref"].rsplit("/", 1)[1]]
    required = set(definition.get("required", []))
    return [(name, prop, name in required) for name, prop in definition.get("properties", {}).items()]
