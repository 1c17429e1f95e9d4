"""One strict decoding of every input: the bounds of what a client may send.

msgspec decodes each body and each query string into the route's typed
struct (``http/bodies.py``, ``http/query_parameters.py``), and each sync
peer's change (``sync/inbound.py``); then ``checked`` walks
the decoded value beside its type and refuses, naming the input, what its
type allows but nobody could mean:

- a date outside 1900-01-01 to 2199-12-31, or an instant outside the same
  days in UTC (rules §10);
- a whole number beyond what the stores keep, 2^63-1 either way;
- text holding a control character (line breaks and tabs are taken in prose,
  such as notes; nowhere else), or nothing once trimmed; text is trimmed;
  text whose field declares no maximum is at most ``TEXT_LENGTH``
  characters, and a free-form value (a profile's) at most ``FREE_TEXT_LENGTH``.

The rest is declared where a field is, with the types below, which the API
document shows: ``Day``, ``Instant``, ``Position``, ``Line(n)``,
``Prose(n)``, ``Amount``; and closed vocabularies as enums. The domain keeps its
own rules (an amount is positive, a reason fits its level); this module
refuses only what cannot be meant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from msgspec import inspect

T = TypeVar("T")

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=timezone.utc)
END_OF_INSTANTS = datetime(2200, 1, 1, tzinfo=timezone.utc)
LARGEST_WHOLE_NUMBER = 2**63 - 1
TEXT_LENGTH = 200
FREE_TEXT_LENGTH = 1000
PROSE = "prose"

_RANGE = f"from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}"

Day = Annotated[
    date,
    msgspec.Meta(
        description=f"A calendar date (YYYY-MM-DD) {_RANGE}.",
        extra_json_schema={"formatMinimum": EARLIEST_DAY.isoformat(), "formatMaximum": LATEST_DAY.isoformat()},
    ),
]
Instant = Annotated[
    datetime,
    msgspec.Meta(
        tz=True,
        description=f"An instant with its time zone, such as 2026-01-31T17:00:00Z, {_RANGE} in UTC.",
        extra_json_schema={"formatMinimum": "1900-01-01T00:00:00Z", "formatMaximum": "2199-12-31T23:59:59.999999Z"},
    ),
]
Position = Annotated[int, msgspec.Meta(ge=0, le=LARGEST_WHOLE_NUMBER)]
"""A ledger position or a cursor: 0 to 2^63-1."""

AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,14})(\.[0-9]{1,2})?$"
Amount = Annotated[
    str,
    msgspec.Meta(
        pattern=AMOUNT_PATTERN,
        description="Money as a JSON string of digits with at most two decimal places, such as \"1250.00\" or "
        "\"75.5\": no sign, exponent, spaces, separators or leading zeros. It must be more than zero.",
    ),
]


def Line(max_length: int, description: str | None = None) -> Any:
    """One line of text: 1 to ``max_length`` characters once trimmed, no control characters."""
    return Annotated[str, msgspec.Meta(min_length=1, max_length=max_length, description=description)]


def Prose(max_length: int, description: str | None = None) -> Any:
    """Text that may run over lines (a note): line breaks and tabs, no other control characters."""
    told = "Line breaks and tabs are taken; no other control characters."
    return Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=max_length, description=f"{description} {told}" if description else told,
            extra={"text": PROSE},
        ),
    ]


class Unmeant(ValueError):
    """An input its type allows but nobody could mean; ``field`` is its path (``documents[0].name``)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail


def checked(value: T, shape: Any) -> T:
    """``value`` as decoded into ``shape``, its text trimmed; Unmeant when it holds what nobody could mean."""
    return _walk(value, _type_of(shape), "")


@lru_cache(maxsize=None)
def _type_of(shape: Any) -> inspect.Type:
    return inspect.type_info(shape)


def whole_number(text: str) -> int | None:
    """``text`` as a whole number from 0 to 2^63-1 written in ASCII digits, or None."""
    if not re.fullmatch(r"[0-9]{1,19}", text):
        return None
    number = int(text)
    return number if number <= LARGEST_WHOLE_NUMBER else None


def plain_numbers(parameters: Mapping[str, Any], shape: Any) -> None:
    """Query parameters read as numbers are written plainly: ``12``, ``-1``, ``2.5``; not ``1e3``,
    ``0x10``, ``²`` or `` 1``, which a string-to-number conversion would take or guess at."""
    struct = _type_of(shape)
    assert isinstance(struct, inspect.StructType)
    for field in struct.fields:
        raw = parameters.get(field.encode_name)
        if not isinstance(raw, str):
            continue
        kind = _number_kind(field.type)
        if kind is int and not re.fullmatch(r"-?[0-9]{1,20}", raw):
            raise Unmeant(field.encode_name, "Write the number in digits, such as 50.")
        if kind is float and not re.fullmatch(r"-?[0-9]{1,20}(\.[0-9]{1,9})?", raw):
            raise Unmeant(field.encode_name, "Write the number in digits, such as 2.5.")


def _number_kind(kind: inspect.Type) -> type | None:
    if isinstance(kind, inspect.Metadata):
        return _number_kind(kind.type)
    if isinstance(kind, inspect.UnionType):
        found = {_number_kind(member) for member in kind.types} - {None}
        return found.pop() if len(found) == 1 else None
    if isinstance(kind, inspect.IntType):
        return int
    if isinstance(kind, inspect.FloatType):
        return float
    return None


# -- the walk -----------------------------------------------------------------------------


def _walk(value: Any, kind: inspect.Type, path: str, prose: bool = False) -> Any:
    if isinstance(kind, inspect.Metadata):
        return _walk(value, kind.type, path, prose=(kind.extra or {}).get("text") == PROSE)
    if value is None or value is msgspec.UNSET:
        return value
    if isinstance(kind, inspect.StructType):
        for field in kind.fields:
            current = getattr(value, field.name)
            cleaned = _walk(current, field.type, _join(path, field.encode_name))
            if cleaned is not current:
                setattr(value, field.name, cleaned)
        return value
    if isinstance(kind, inspect.UnionType):
        member = next((m for m in kind.types if _fits(value, m)), None)
        return value if member is None else _walk(value, member, path, prose)
    if isinstance(kind, (inspect.ListType, inspect.VarTupleType, inspect.SetType, inspect.FrozenSetType)):
        items = [_walk(item, kind.item_type, f"{path}[{i}]") for i, item in enumerate(value)]
        return type(value)(items)
    if isinstance(kind, inspect.TupleType):
        return tuple(_walk(item, t, f"{path}[{i}]") for i, (item, t) in enumerate(zip(value, kind.item_types)))
    if isinstance(kind, inspect.DictType):
        return {
            _walk(key, kind.key_type, path): _walk(item, kind.value_type, _join(path, str(key)))
            for key, item in value.items()
        }
    if isinstance(kind, inspect.StrType):
        return _text(value, path, prose, kind.max_length or TEXT_LENGTH)
    if isinstance(kind, inspect.DateTimeType):
        return _instant(value, path)
    if isinstance(kind, inspect.DateType):
        return _day(value, path)
    if isinstance(kind, inspect.IntType):
        return _whole(value, path)
    if isinstance(kind, inspect.AnyType):
        return _free(value, path)
    return value


def _free(value: Any, path: str) -> Any:
    """A value of no declared type (a profile's sections): the same bounds, by what it is."""
    if isinstance(value, str):
        return _text(value, path, False, FREE_TEXT_LENGTH)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _whole(value, path)
    if isinstance(value, list):
        return [_free(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {_text(key, path, False, TEXT_LENGTH): _free(item, _join(path, key)) for key, item in value.items()}
    return value


def _fits(value: Any, kind: inspect.Type) -> bool:
    """Whether ``value`` is what msgspec decoded for this member of a union."""
    if isinstance(kind, inspect.Metadata):
        return _fits(value, kind.type)
    if isinstance(kind, inspect.StructType):
        return isinstance(value, kind.cls)
    if isinstance(kind, inspect.EnumType):
        return isinstance(value, kind.cls)
    if isinstance(kind, inspect.LiteralType):
        return value in kind.values
    if isinstance(kind, inspect.UUIDType):
        return isinstance(value, UUID)
    if isinstance(kind, inspect.BoolType):
        return isinstance(value, bool)
    if isinstance(kind, inspect.StrType):
        return isinstance(value, str)
    if isinstance(kind, inspect.IntType):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(kind, inspect.DateTimeType):
        return isinstance(value, datetime)
    if isinstance(kind, inspect.DateType):
        return isinstance(value, date) and not isinstance(value, datetime)
    if isinstance(kind, (inspect.ListType, inspect.VarTupleType, inspect.SetType, inspect.FrozenSetType, inspect.TupleType)):
        return isinstance(value, (list, tuple, set, frozenset))
    if isinstance(kind, inspect.DictType):
        return isinstance(value, dict)
    return isinstance(kind, inspect.AnyType)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _text(value: str, path: str, prose: bool, max_length: int) -> str:
    if (_CONTROL_BUT_LINES if prose else _CONTROL).search(value):
        raise Unmeant(
            path,
            "Text may not hold control characters other than line breaks and tabs." if prose
            else "This text is one line: it may not hold control characters (NUL, tab, line breaks, escapes).",
        )
    trimmed = value.strip()
    if not trimmed:
        raise Unmeant(path, "Give some text here, or leave the field out where it is optional.")
    if len(trimmed) > max_length:
        raise Unmeant(path, f"This text is {len(trimmed)} characters long; it may be at most {max_length}.")
    return trimmed


def _day(value: date, path: str) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise Unmeant(path, f"Give a date {_RANGE}; {value.isoformat()} is outside the ledger's range.")
    return value


def _instant(value: datetime, path: str) -> datetime:
    # compared as instants (offsets applied) without converting: year 1 at +14:00 has no UTC value
    moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if not EARLIEST_INSTANT <= moment < END_OF_INSTANTS:
        raise Unmeant(path, f"Give an instant {_RANGE} (in UTC); {value.isoformat()} is outside the ledger's range.")
    return value


def _whole(value: int, path: str) -> int:
    if not -LARGEST_WHOLE_NUMBER - 1 <= value <= LARGEST_WHOLE_NUMBER:
        raise Unmeant(path, f"Give a whole number of at most {LARGEST_WHOLE_NUMBER} (2^63-1) either way.")
    return value
