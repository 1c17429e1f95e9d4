"""A contract's history as plain data (SPEC 10): what happened, who, when recorded, when effective."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from contractledger.domain.actor import Actor

_ENVELOPE = ("originator_id", "originator_version", "timestamp", "actor", "effective_on", "originator_topic")


def plain(value: Any) -> Any:
    """JSON-ready: ids and dates as strings, value objects as dicts."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Actor):
        return {"role": value.role.value, "user": value.user, "party_id": plain(value.party_id)}
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def event_as_plain_data(event: Any) -> dict[str, Any]:
    fields = dict(event.__dict__)
    return {
        "event": type(event).__name__,
        "contract_id": str(event.originator_id),
        "sequence": event.originator_version,
        "recorded_at": event.timestamp.isoformat(),
        "effective_on": plain(fields.get("effective_on")),
        "actor": plain(fields.get("actor")),
        "details": {k: plain(v) for k, v in fields.items() if k not in _ENVELOPE},
    }
