"""The operator's side of push delivery over HTTP, on a real SQLite ledger
with its views runner and a real endpoint on loopback: operators and
auditors read a peer's dead letters and delivery state; only operators
(rules §1: they run the service) replay dead letters and resume a paused
peer; every refusal is a problem document with a stable code and changes
nothing."""

from __future__ import annotations

import base64
import dataclasses
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402
from test_sync_delivery import Receiver  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.sync import delivery_state as state  # noqa: E402
from contractledger.sync.delivery import PeerDelivery  # noqa: E402
from contractledger.sync.peer import Delivery, peers  # noqa: E402

MANAGE = Actor(Role.SYNC_PEER, "manage")
OLIVE = Actor(Role.OPERATOR, "olive")
SECRET = "whsec_" + base64.b64encode(b"manage's signing key").decode()


class Pusher:
    """The delivery worker's rounds for manage, on a clock the test moves."""

    def __init__(self, api: Api, receiver: Receiver) -> None:
        self.api = api
        self.now = time.time()
        peer = dataclasses.replace(
            peers()["manage"],
            delivery=Delivery(
                endpoint=receiver.url, secrets_variable="MANAGE_SECRETS",
                first_retry_seconds=1.0, longest_retry_seconds=8.0, give_up_after_seconds=60.0,
            ),
        )
        state.ensure_schema(api.config.views)
        self.delivery = PeerDelivery(api.config.views, peer, {"MANAGE_SECRETS": SECRET, "CONTRACTLEDGER_SYNC_READ_TIMEOUT": "0.5"}, clock=lambda: self.now)

    def drain(self) -> None:
        self.api.caught_up()
        for _ in range(50):
            if self.delivery.step() != 0.0:
                return

    def give_up(self) -> None:
        """Retries until the give-up time has passed."""
        self.drain()
        for _ in range(12):
            self.now += 10
            self.drain()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(keys=[SECRET])
    yield made
    made.stop()
    assert made.faults == []  # every delivery verified by Standard Webhooks and read by the CloudEvents SDK


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


@pytest.fixture
def pusher(api: Api, receiver: Receiver) -> Iterator[Pusher]:
    made = Pusher(api, receiver)
    made.drain()  # the world's direct relationships
    receiver.received.clear()
    yield made
    made.delivery.close()


def letters(api: Api, actor: Actor, peer: str = "manage", **params: Any) -> Any:
    return api.client.simulate_get(
        f"/sync/{peer}/dead-letters", headers=api.as_(actor), params={k: str(v) for k, v in params.items()}
    )


def replay(api: Api, actor: Actor, body: Any, peer: str = "manage", key: str | None = None) -> Any:
    headers = {**api.as_(actor), **({"Idempotency-Key": key} if key else {})}
    return api.client.simulate_post(f"/sync/{peer}/dead-letters/replay", headers=headers, json=body)


def resume(api: Api, actor: Actor, body: Any = None, peer: str = "manage") -> Any:
    return api.client.simulate_post(f"/sync/{peer}/resume", headers=api.as_(actor), json={} if body is None else body)


def test_an_operator_lists_dead_letters_and_replays_one_which_is_then_delivered_under_its_id(
    api: Api, pusher: Pusher, receiver: Receiver
) -> None:
    w = api.world
    (contract_id,) = w.assign()
    receiver.plan = [500] * 30
    pusher.give_up()
    listed = letters(api, w.auditor)  # any auditor may look
    assert listed.status_code == 200, listed.json
    page = listed.json
    assert (page["peer"], page["paused_because"], page["waiting"]) == ("manage", None, 0)
    (letter,) = page["dead_letters"]
    assert letter["last_error"] == "HTTP 500" and letter["attempts"] >= 2
    assert letter["item"]["id"] == letter["item_id"] and letter["item"]["subject"] == str(contract_id)
    assert letter["contract_id"] == str(contract_id) and page["next_after"] == letter["position"]
    assert letters(api, OLIVE, after=letter["position"]).json["dead_letters"] == []
    receiver.plan = []
    received = len(receiver.received)

    replayed = replay(api, OLIVE, {"item_ids": [letter["item_id"]]}, key="replay-1")
    assert replayed.status_code == 200, replayed.json
    assert replayed.json == {"peer": "manage", "replayed": [letter["item_id"]], "paused_because": None}
    assert letters(api, OLIVE).json["dead_letters"] == []
    pusher.drain()
    assert receiver.ids()[received:] == [letter["item_id"]]  # the same delivery id as every attempt before
    # a retry of the request is answered the same, a new request for it finds no such dead letter
    again = replay(api, OLIVE, {"item_ids": [letter["item_id"]]}, key="replay-1")
    assert (again.status_code, again.json, again.headers.get("Idempotent-Replayed")) == (200, replayed.json, "true")
    gone = replay(api, OLIVE, {"item_ids": [letter["item_id"]]})
    assert (gone.status_code, gone.json["code"]) == (404, "sync.dead_letter.unknown")
    assert receiver.ids()[received:] == [letter["item_id"]]


def test_replaying_every_dead_letter_and_naming_an_unknown_one(api: Api, pusher: Pusher, receiver: Receiver) -> None:
    w = api.world
    w.assign()
    w.assign(w.chain(advisor=w.second_advisor))
    receiver.plan = [500] * 60
    pusher.give_up()
    dead = letters(api, OLIVE).json["dead_letters"]
    assert len(dead) == 2
    assert [d["item_id"] for d in letters(api, OLIVE, limit=1).json["dead_letters"]] == [dead[0]["item_id"]]
    # one id unknown: nothing is replayed, and the answer names it
    unknown = replay(api, OLIVE, {"item_ids": [dead[0]["item_id"], "no-such-item"]})
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    assert (unknown.json["code"], unknown.json["field"], unknown.json["unknown_item_ids"]) == (
        "sync.dead_letter.unknown", "item_ids", ["no-such-item"],
    )
    assert letters(api, OLIVE).json["dead_letters"] == dead
    receiver.plan = []
    everything = replay(api, OLIVE, {})
    assert everything.status_code == 200
    assert everything.json["replayed"] == [d["item_id"] for d in dead]
    pusher.drain()
    assert sorted(receiver.ids()[-2:]) == sorted(d["item_id"] for d in dead)
    assert replay(api, OLIVE, {}).json["replayed"] == []  # nothing left


def test_only_operators_replay_and_resume_and_only_operators_and_auditors_read(api: Api, pusher: Pusher, receiver: Receiver) -> None:
    w = api.world
    w.assign()
    receiver.plan = [500] * 30
    pusher.give_up()
    dead = letters(api, OLIVE).json["dead_letters"]
    assert len(dead) == 1
    for actor in (MANAGE, w.aga_admin, w.carrier_staff, w.producer):
        refused = letters(api, actor)
        assert (refused.status_code, refused.json["code"]) == (403, "sync.auditors_only")
    assert letters(api, w.auditor).json["dead_letters"] == dead
    for actor in (w.auditor, MANAGE, w.aga_admin, w.carrier_staff, Actor(Role.AUDITOR, "olive")):
        for attempt in (replay(api, actor, {}), resume(api, actor)):
            assert (attempt.status_code, attempt.json["code"]) == (403, "sync.operator_only"), actor
            assert "operator" in attempt.json["detail"]
    assert letters(api, OLIVE).json["dead_letters"] == dead  # refused: nothing changed
    assert letters(api, w.auditor, peer="nobody").json["code"] == "sync.peer.unknown"
    assert replay(api, OLIVE, {}, peer="nobody").status_code == 404
    assert api.client.simulate_get("/sync/manage/dead-letters").status_code == 401


def test_bad_requests_are_refused_with_stable_codes_and_change_nothing(api: Api, pusher: Pusher, receiver: Receiver) -> None:
    w = api.world
    w.assign()
    receiver.plan = [500] * 30
    pusher.give_up()
    dead = letters(api, OLIVE).json["dead_letters"]
    for params in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"limit": "many"}, {"cursor": 1}):
        bad = letters(api, OLIVE, **params)
        assert (bad.status_code, bad.json["code"]) == (400, "query.invalid_parameter"), params
    for body in ({"item_ids": []}, {"item_ids": [""]}, {"item_ids": "all"}, {"item_ids": None}, {"items": []}):
        bad = replay(api, OLIVE, body)
        assert (bad.status_code, bad.json["code"]) == (422, "request.invalid_field"), body
    bad = resume(api, OLIVE, {"now": True})
    assert (bad.status_code, bad.json["code"]) == (422, "request.invalid_field")
    assert resume(api, OLIVE, "[]").json["code"] in ("request.invalid_field", "request.malformed_json")
    not_paused = resume(api, OLIVE)
    assert (not_paused.status_code, not_paused.json["code"]) == (409, "sync.delivery.not_paused")
    assert letters(api, OLIVE).json["dead_letters"] == dead


def test_an_operator_resumes_a_peer_paused_by_410_and_what_waited_is_sent(
    api: Api, pusher: Pusher, receiver: Receiver
) -> None:
    w = api.world
    w.assign()
    receiver.plan = [410]
    pusher.drain()
    paused = letters(api, w.auditor).json
    assert "410" in paused["paused_because"] and paused["waiting"] == 1 and paused["dead_letters"] == []
    pusher.now += 200  # past every retry's back-off, within Standard Webhooks' five minutes
    pusher.drain()
    assert len(receiver.received) == 1  # paused: nothing more is sent
    resumed = resume(api, OLIVE)
    assert resumed.status_code == 200 and resumed.json == {"peer": "manage", "resumed": True}
    pusher.drain()
    assert len(receiver.received) == 2 and receiver.ids()[0] == receiver.ids()[1]
    after = letters(api, w.auditor).json
    assert (after["paused_because"], after["waiting"]) == (None, 0)
    assert resume(api, OLIVE).json["code"] == "sync.delivery.not_paused"
