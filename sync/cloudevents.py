"""A feed item as a CloudEvents 1.0 event (structured JSON mode).

The standard attributes say what and when (``id``, ``source``, ``type``,
``subject``, ``time``); our extension attributes (lower-case letters and
digits only, as the specification requires) say where it sits in the feed
and why it happened: ``position`` (the ledger's notification id, the feed's
cursor), ``contractsequence`` (the item's number among this contract's items
in this feed, gap-free), ``ledgerversion`` (the contract's version after the
change, what a peer sends back as the version it saw), ``effectivedate``,
``origin`` (the peer whose inbound change caused it, or ``ledger``) and
``causationid`` (the command that caused it: ``<peer>:<change id>`` for a
peer's change, the caller's command id, or ``ledger:<uuid>`` for a command
given none; the items of one command share it).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

SOURCE = "/contractledger"
TYPE_PREFIX = "contractledger.contract."
MEDIA_TYPE = "application/cloudevents+json"
_ITEMS = uuid5(NAMESPACE_URL, "https://contractledger/sync/items")


def item_id(peer: str, contract_id: UUID, version: int) -> str:
    """Stable across reads, rebuilds and delivery retries: it names the change, not the attempt."""
    return str(uuid5(_ITEMS, f"{peer}/{contract_id}/{version}"))


def event(
    *,
    peer: str,
    kind: str,
    position: int,
    contract_id: UUID,
    version: int,
    sequence: int,
    recorded_at: str,
    effective_on: str,
    origin: str,
    causation: str | None,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": item_id(peer, contract_id, version),
        "source": SOURCE,
        "type": TYPE_PREFIX + kind,
        "subject": str(contract_id),
        "time": recorded_at,
        "datacontenttype": "application/json",
        "data": data,
        "position": position,
        "contractsequence": sequence,
        "ledgerversion": version,
        "effectivedate": effective_on,
        "origin": origin,
        "causationid": causation,
    }


def encode(item: dict[str, Any]) -> str:
    """One spelling per item (sorted keys, no spaces), so its bytes never vary."""
    return json.dumps(item, sort_keys=True, separators=(",", ":"))
