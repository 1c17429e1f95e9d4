"""Push delivery to a real HTTP endpoint on loopback: signatures (with a
rotated key), a timeout retried with the same delivery id, order per
contract, dead letters an operator replays, and a 410 that pauses the peer."""

from __future__ import annotations

import base64
import dataclasses
import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from stores import ledger_env  # noqa: E402
from views_scenario import ContractingWorld, project  # noqa: E402

from contractledger.domain.clock import SettableClock  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.projections.view_database import view_database_for  # noqa: E402
from contractledger.sync import delivery_state as state  # noqa: E402
from contractledger.sync.delivery import PeerDelivery, backoff, main  # noqa: E402
from contractledger.sync.peer import Delivery, peers  # noqa: E402
from contractledger.sync.signing import verify  # noqa: E402

OLD = "whsec_" + base64.b64encode(b"the key manage has held for a year").decode()
NEW = "whsec_" + base64.b64encode(b"the key manage is moving to").decode()


class Receiver:
    """A peer's endpoint: answers each request with the next planned answer
    (a status, or "slow" to answer after the sender's timeout), then 200."""

    def __init__(self) -> None:
        self.plan: list[Any] = []
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                answer = receiver.plan.pop(0) if receiver.plan else 200
                if answer == "slow":
                    time.sleep(0.6)
                    answer = 200
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/changes"

    def ids(self) -> list[str]:
        return [r["headers"]["webhook-id"] for r in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Ground:
    def __init__(self, tmp_path: Path, receiver: Receiver, store: str) -> None:
        self.env = ledger_env(store, tmp_path)
        self.ledger = ContractLedger(self.env, clock=SettableClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)))
        self.views = view_database_for(self.env)
        self.world = ContractingWorld(self.ledger, self.ledger.clock)
        state.ensure_schema(self.views)
        self.now = time.time()
        self.peer = dataclasses.replace(
            peers()["manage"],
            delivery=Delivery(
                endpoint=receiver.url, secrets_variable="MANAGE_SECRETS", timeout_seconds=0.3,
                first_retry_seconds=1.0, longest_retry_seconds=8.0, give_up_after_seconds=60.0,
            ),
        )
        self.delivery = PeerDelivery(self.views, self.peer, {"MANAGE_SECRETS": f"{NEW} {OLD}"}, clock=lambda: self.now)

    def drain(self, rounds: int = 50) -> None:
        project(self.ledger, self.views)
        for _ in range(rounds):
            if self.delivery.step() != 0.0:
                return


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.stop()


@pytest.fixture
def ground(tmp_path: Path, receiver: Receiver, store: str) -> Iterator[Ground]:
    made = Ground(tmp_path, receiver, store)
    made.drain()  # the world's direct relationships
    receiver.received.clear()
    yield made
    made.delivery.close()
    made.ledger.close()
    made.views.close()


def test_every_item_arrives_signed_with_every_current_key_during_a_rotation(ground: Ground, receiver: Receiver) -> None:
    ground.world.active_contract()
    ground.drain()
    assert len(receiver.received) >= 5
    for request in receiver.received:
        headers, body = request["headers"], request["body"]
        item = json.loads(body)
        assert headers["webhook-id"] == item["id"] and headers["Content-Type"] == "application/cloudevents+json"
        timestamp = int(headers["webhook-timestamp"])
        signatures = headers["webhook-signature"]
        assert len(signatures.split()) == 2
        assert verify(OLD, item["id"], timestamp, body, signatures)  # a receiver still on the old key
        assert verify(NEW, item["id"], timestamp, body, signatures)  # and one already on the new one
        assert not verify("whsec_" + base64.b64encode(b"someone else").decode(), item["id"], timestamp, body, signatures)
        assert not verify(OLD, item["id"], timestamp + 1, body, signatures)


def test_a_delivery_that_times_out_is_retried_later_with_the_same_id(ground: Ground, receiver: Receiver) -> None:
    (contract_id,) = ground.world.assign()
    receiver.plan = ["slow"]
    ground.drain()
    assert len(receiver.received) == 1
    [pending] = state.due_heads(ground.views, "manage", ground.now + 100)
    assert pending.attempts == 1
    ground.now += 0.4  # not due yet: the back-off is at least half of first_retry_seconds
    assert ground.delivery.step() is not None and len(receiver.received) == 1
    ground.now += 1.0
    ground.drain()
    assert receiver.ids() == [pending.item_id, pending.item_id]
    assert state.due_heads(ground.views, "manage", ground.now + 100) == []


def test_items_of_one_contract_wait_behind_its_failing_head_while_others_go_on(ground: Ground, receiver: Receiver) -> None:
    w = ground.world
    (first,) = w.assign()
    ground.drain()
    receiver.received.clear()
    receiver.plan = [503]
    w.ledger.send_to_producer(w.aga_admin, first)
    (second,) = w.assign(w.chain(advisor=w.second_advisor))
    w.ledger.add_writing_number(w.carrier_staff, first, "WN-1")
    ground.drain()
    subjects = [json.loads(r["body"])["subject"] for r in receiver.received]
    assert subjects == [str(first), str(second)]  # first's next item waits behind its failed head
    ground.now += 10
    ground.drain()
    types = [json.loads(r["body"])["type"].rsplit(".", 1)[1] for r in receiver.received if json.loads(r["body"])["subject"] == str(first)]
    assert types == ["status_changed", "status_changed", "writing_number_added"]


def test_an_item_given_up_on_is_a_dead_letter_an_operator_replays(
    ground: Ground, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ground.world.assign()
    receiver.plan = [500] * 30
    ground.drain()
    for _ in range(12):  # retries until the give-up time has passed
        ground.now += 10
        ground.drain()
    letters = state.dead_letters(ground.views, "manage")
    assert len(letters) == 1 and letters[0]["last_error"] == "HTTP 500"
    assert state.backlog(ground.views)["manage"] == (0, 1)  # what /metrics reports as sync backlog
    receiver.plan = []
    ground.drain()
    assert state.dead_letters(ground.views, "manage") == letters  # nothing replays by itself
    for key, value in ground.env.items():
        monkeypatch.setenv(key, value)
    assert main(["dead-letters", "manage"]) == 0
    assert letters[0]["item_id"] in capsys.readouterr().out
    assert main(["replay", "manage", letters[0]["item_id"], "no-such-item"]) == 1  # one unknown: nothing replayed
    assert "no-such-item" in capsys.readouterr().err and state.dead_letters(ground.views, "manage") == letters
    assert main(["resume", "manage"]) == 1  # not paused
    assert main(["replay", "manage", letters[0]["item_id"]]) == 0
    received = len(receiver.received)
    ground.drain()
    assert receiver.ids()[received:] == [letters[0]["item_id"]]
    assert state.dead_letters(ground.views, "manage") == []
    assert state.backlog(ground.views).get("manage", (0, 0)) == (0, 0)


def test_a_peer_answering_410_is_paused_until_resumed(ground: Ground, receiver: Receiver) -> None:
    ground.world.assign()
    receiver.plan = [410]
    ground.drain()
    assert state.paused(ground.views, "manage") is not None
    ground.now += 1000
    ground.drain()
    assert len(receiver.received) == 1
    assert state.resume(ground.views, "manage") is True
    assert state.resume(ground.views, "manage") is False  # no longer paused
    ground.drain()
    assert len(receiver.received) == 2 and receiver.ids()[0] == receiver.ids()[1]


def test_the_back_off_doubles_up_to_its_ceiling_with_jitter() -> None:
    assert [backoff(n, 1.0, 8.0, lambda: 1.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert [backoff(n, 1.0, 8.0, lambda: 0.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_an_outbox_made_with_four_byte_instants_is_widened_and_keeps_retries_to_the_second(tmp_path: Path) -> None:
    env = ledger_env("postgres", tmp_path)
    ContractLedger(env).close()  # creates the schema
    views = view_database_for(env)
    try:
        with views.transaction() as tx:  # the outbox as earlier versions made it
            tx.execute(
                "CREATE TABLE sync_delivery_outbox (peer TEXT NOT NULL, position BIGINT NOT NULL,"
                " item_id TEXT NOT NULL, contract_id TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL,"
                " first_attempt_at REAL, next_attempt_at REAL NOT NULL, last_error TEXT, PRIMARY KEY (peer, position))"
            )
        state.ensure_schema(views)
        now = 1_796_284_576.66
        state.take(views, "manage", [(7, "item-7", "contract-1", "{}", 1, now, now + 1.0, "HTTP 503")], 7)
        assert state.due_heads(views, "manage", now + 0.5) == []
        assert [p.position for p in state.due_heads(views, "manage", now + 1.0)] == [7]
        assert state.next_due(views, "manage") == pytest.approx(now + 1.0, abs=0.001)
    finally:
        views.close()
