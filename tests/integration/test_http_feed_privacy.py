"""rules §9, "Private stays private in feeds", over HTTP on both stores: a feed
item carries only what every receiver of its peer may see. Each lifecycle
action's private details (reasons, notes, documents) are sent through the
API, then looked for in both peers' feeds, live and rebuilt."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.projections.engine.rebuild import rebuild  # noqa: E402
from contractledger.sync.feed_view import FEED_VIEWS  # noqa: E402

PEERS = ("manage", "contracting")
DOCUMENT = {
    "name": "SECRET-DOCUMENT.pdf", "media_type": "application/pdf",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "location": "s3://documents/SECRET-DOCUMENT.pdf",
}


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


def post(api: Api, actor: Actor, path: str, body: dict[str, Any]) -> Any:
    answer = api.client.simulate_post(path, headers=api.as_(actor), json=body)
    assert answer.status_code in (200, 201), answer.json
    return answer


def feed(api: Api, peer: str) -> list[dict[str, Any]]:
    api.caught_up()
    page = api.client.simulate_get(
        f"/sync/{peer}/feed", headers=api.as_(Actor(Role.SYNC_PEER, peer)), params={"after": "0", "limit": "1000"}
    )
    assert page.status_code == 200
    return page.json["items"]


def test_private_stays_private_in_feeds(api: Api) -> None:
    w = api.world
    vested, terminated, downgraded, moved = (w.active_contract() for _ in range(4))
    post(api, w.carrier_staff, f"/contracts/{vested}/vest",
         {"reason": "SECRET-VEST-REASON", "note": "SECRET-VEST-NOTE", "documents": [DOCUMENT]})
    post(api, w.carrier_staff, f"/contracts/{vested}/upgrade", {"note": "SECRET-UPGRADE-NOTE", "documents": [DOCUMENT]})
    post(api, w.carrier_staff, f"/contracts/{terminated}/terminate",
         {"reason": "Market Conduct", "note": "SECRET-TERMINATION-NOTE", "documents": [DOCUMENT]})
    post(api, w.carrier_staff, f"/contracts/{terminated}/reactivate", {"note": "SECRET-REACTIVATION-NOTE"})
    post(api, w.carrier_staff, f"/contracts/{downgraded}/downgrade",
         {"reason": "Persistent complaints", "note": "SECRET-DOWNGRADE-NOTE", "documents": [DOCUMENT]})
    post(api, w.producer, f"/contracts/{moved}/request-transfer",
         {"relinquishing_entity_id": str(w.aga), "accepting_entity_id": str(w.other_aga), "note": "SECRET-TRANSFER-NOTE",
          "documents": [DOCUMENT]})
    post(api, w.other_aga_admin, f"/contracts/{moved}/deny-transfer", {"note": "SECRET-DENIAL-NOTE"})
    declined = w.assign()[0]
    post(api, w.aga_admin, f"/contracts/{declined}/set-manual-status",
         {"status": "declined", "note": "SECRET-STATUS-NOTE", "documents": [DOCUMENT]})

    for peer in PEERS:
        items = feed(api, peer)
        text = json.dumps(items)
        assert sorted(set(re.findall(r"SECRET-[A-Z-]+", text))) == [], peer
        assert "Market Conduct" not in text, peer  # a termination's reason is the contract's parties' alone
        by_contract = {c: [i for i in items if i["subject"] == str(c)] for c in (vested, terminated, downgraded, moved)}
        vest = next(i for i in by_contract[vested] if i["data"]["status"] == "vested")
        # the status alone: the vest says it happened, nothing of why
        assert vest["data"]["change"] == {}
        ended = next(i for i in by_contract[terminated] if i["type"].endswith(".terminated"))
        assert (ended["data"]["status"], ended["data"]["change"]) == ("terminated", {})
        # positive control: a downgrade is public (rules §5), so its reason is sent
        downgrade = next(i for i in by_contract[downgraded] if i["data"]["status"] == "downgraded")
        assert downgrade["data"]["change"] == {"reason": "Persistent complaints"}
        assert [i["data"]["status"] for i in by_contract[moved]][-2:] == ["transfer_requested", "active"]


def test_a_rebuilt_feed_gives_the_same_items_as_the_live_one(api: Api) -> None:
    w = api.world
    contract = w.active_contract()
    post(api, w.carrier_staff, f"/contracts/{contract}/vest", {"reason": "SECRET-VEST-REASON", "note": "SECRET-VEST-NOTE"})
    post(api, w.carrier_staff, f"/contracts/{contract}/upgrade", {})
    post(api, w.carrier_staff, f"/contracts/{contract}/terminate", {"reason": "Retired", "documents": [DOCUMENT]})
    live = {peer: feed(api, peer) for peer in PEERS}
    for view_class in FEED_VIEWS:
        rebuilt = rebuild(api.config.ledger.recorder, api.config.ledger.mapper, api.config.views, view_class)
        assert rebuilt.previous_generation is not None
    for peer in PEERS:
        again = feed(api, peer)
        assert [i["id"] for i in again] == [i["id"] for i in live[peer]]
        assert again == live[peer]
        assert "SECRET" not in json.dumps(again)
