"""Reading a command's JSON body strictly: media type, size, shape, types, bounds.

Bodies are decoded straight into typed request structs (msgspec), which
refuses unknown fields, missing fields and wrong types with the path of the
offending field; then ``inputs.checked`` refuses what the types allow but
nobody could mean (dates out of range, control characters, ...). The same
structs give the API document its schemas.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import falcon
import msgspec

from contractledger.domain.inputs import Unmeant, checked
from contractledger.http.problems import Problem

MAX_BODY_BYTES = 256 * 1024
MAX_NESTING = 32

T = TypeVar("T")
_PATH = re.compile(r" - at `\$\.?([^`]*)`$")


def read(req: falcon.Request, shape: type[T]) -> T:
    """The request body as ``shape``, or a 4xx problem saying what is wrong."""
    media_type = (req.content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise Problem(
            falcon.HTTP_415,
            "request.unsupported_media_type",
            "Send the command as JSON with the header 'Content-Type: application/json'.",
        )
    length = req.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise Problem(
            falcon.HTTP_413,
            "request.body_too_large",
            f"The body is {length} bytes; a command may be at most {MAX_BODY_BYTES} bytes.",
        )
    raw = req.bounded_stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise Problem(
            falcon.HTTP_413,
            "request.body_too_large",
            f"The body is larger than {MAX_BODY_BYTES} bytes, the most a command may be.",
        )
    if raw.count(b"[") + raw.count(b"{") > MAX_NESTING and _nesting(raw) > MAX_NESTING:
        raise Problem(
            falcon.HTTP_400,
            "request.too_deeply_nested",
            f"The body nests objects or arrays deeper than {MAX_NESTING} levels.",
        )
    try:
        return checked(msgspec.json.decode(raw, type=shape, strict=True), shape)
    except Unmeant as unmeant:
        raise invalid_field(unmeant.field or None, f"{unmeant.detail} (field '{unmeant.field}')." if unmeant.field
                            else unmeant.detail) from None
    except msgspec.ValidationError as error:
        message = str(error)
        match = _PATH.search(message)
        field = match.group(1) if match and match.group(1) else _missing_field(message)
        raise invalid_field(field, _PATH.sub("", message) + (f" (field '{field}')" if field else "") + ".") from None
    except msgspec.DecodeError as error:
        raise Problem(falcon.HTTP_400, "request.malformed_json", f"The body is not valid JSON: {error}.") from None


def invalid_field(field: str | None, detail: str) -> Problem:
    return Problem(falcon.HTTP_422, "request.invalid_field", detail, field=field)


def _missing_field(message: str) -> str | None:
    found = re.search(r"(?:missing required|unknown) field `([^`]*)`", message)
    return found.group(1) if found else None


def _nesting(raw: bytes) -> int:
    """The deepest nesting of arrays and objects, ignoring brackets in strings."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def schema_of(shape: type[Any]) -> dict[str, Any]:
    """JSON Schema of a request or response struct, for the API document."""
    return msgspec.json.schema(shape)
