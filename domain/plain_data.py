"""Plain data: ids, dates and amounts as strings, value objects as dicts, ready for JSON."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from contractledger.domain.actor import Actor


def plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # an amount exactly as written, "250.00", never a float
    if isinstance(value, Actor):
        actor = {"role": value.role.value, "user": value.user, "party_id": plain(value.party_id)}
        if value.on_behalf_of is not None:
            actor["on_behalf_of"] = value.on_behalf_of.value
        return actor
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    return value
