"""A contract's history as plain data (rules §10): what happened, who, when recorded, when effective."""

from __future__ import annotations

from typing import Any

from contractledger.domain.plain_data import plain

_ENVELOPE = ("originator_id", "originator_version", "timestamp", "actor", "effective_on", "originator_topic", "causation_id")


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
