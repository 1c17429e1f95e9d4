"""Push delivery to a real HTTPS endpoint on loopback, its certificate made
by a test certificate authority (trustme): every delivery is verified on the
receiving side by the Standard Webhooks library and parsed by the CloudEvents
SDK, so our signing and encoding are judged by code we did not write.
Signatures with a rotated key, certificates refused (the item waits until the
peer is fixed), redirects not followed, connect and read timeouts retried
with the same delivery id, order per contract, dead letters an operator
replays, and a 410 that pauses the peer."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).parent))

from stores import ledger_env  # noqa: E402
from views_scenario import ContractingWorld, project  # noqa: E402

from contractledger.domain.clock import SettableClock  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.projections.engine.view_database import view_database_for  # noqa: E402
from contractledger.sync import delivery_metrics  # noqa: E402
from contractledger.sync import delivery_state as state  # noqa: E402
from contractledger.sync.delivery import PeerDelivery, backoff, main  # noqa: E402
from contractledger.sync.peer import Delivery, peers  # noqa: E402
from contractledger.sync.signing import verify  # noqa: E402

OLD = "whsec_" + base64.b64encode(b"the key manage has held for a year").decode()
NEW = "whsec_" + base64.b64encode(b"the key manage is moving to").decode()


class Receiver:
    """A peer's endpoint: answers each request with the next planned answer
    (a status; "slow" to answer after the sender's read timeout; or
    ("redirect", status, location)), then 200. With ``keys``, every request
    is checked as a Standard Webhooks receiver holding them would (and its
    body parsed as a CloudEvent): one that fails is answered 401 (or 400) and
    kept in ``faults``. With an ``authority`` it serves https, its
    certificate issued by that authority for ``host_name``."""

    def __init__(
        self, keys: Sequence[str] = (), authority: trustme.CA | None = None, host_name: str = "127.0.0.1"
    ) -> None:
        self.plan: list[Any] = []
        self.received: list[dict[str, Any]] = []
        self.faults: list[str] = []
        self.connections = 0
        self.hang_up = False
        self.keys = list(keys)
        self.tls: ssl.SSLContext | None = None
        if authority is not None:
            self.use(authority, host_name)
        self._fillers: list[socket.socket] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # kept-alive connections, as a real endpoint keeps them

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers)
                request = {"headers": headers, "body": body, "path": self.path, **receiver.check(headers, body)}
                receiver.received.append(request)
                answer = receiver.plan.pop(0) if receiver.plan and request["fault"] is None else 200
                if request["fault"] is not None:
                    answer = 400 if request["event"] is None else 401
                self.send_response(answer[1] if isinstance(answer, tuple) else 200 if answer == "slow" else answer)
                if isinstance(answer, tuple):
                    self.send_header("Location", answer[2])
                if answer == "slow":
                    time.sleep(0.6)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if receiver.hang_up:
                    # without saying so, as an endpoint dropping idle connections does: a moment after the
                    # answer, so that the sender's next request is already on its way over the connection
                    self.wfile.flush()
                    time.sleep(0.05)
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, Any]:
                connection, address = super().get_request()
                receiver.connections += 1
                if receiver.tls is None:
                    return connection, address
                # the handshake is made in the request's thread, not in the one accepting connections
                return receiver.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

            def finish_request(self, request: Any, client_address: Any) -> None:
                if isinstance(request, ssl.SSLSocket):
                    try:
                        request.do_handshake()
                    except (ssl.SSLError, OSError):
                        return  # the sender refused our certificate (or was a filler, see hold)
                super().finish_request(request, client_address)

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a sender that gave up on a slow answer closed its end

        self.server = Server(("127.0.0.1", 0), Handler)
        self._serve()

    def use(self, authority: trustme.CA, host_name: str = "127.0.0.1") -> None:
        """Serve from now on with a certificate of ``authority`` for ``host_name``."""
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        authority.issue_cert(host_name).configure_cert(tls)
        self.tls = tls

    def check(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """What a receiver holding ``keys`` makes of a delivery: the keys its
        signature verifies with, and the body as the CloudEvents SDK reads it."""
        event, verified_by, fault = None, [], None
        try:
            event = from_http(HTTPMessage(headers={k.lower(): v for k, v in headers.items()}, body=body), JSONFormat())
        except Exception as error:  # the SDK's own refusal, whatever its kind
            fault = f"not a CloudEvent: {type(error).__name__}: {error}"
        for key in self.keys:
            try:
                Webhook(key).verify(body, headers)
                verified_by.append(key)
            except WebhookVerificationError as error:
                last = str(error)
        if self.keys and not verified_by:
            fault = fault or f"not verified by Standard Webhooks: {last}"
        if fault is not None:
            self.faults.append(fault)
        return {"event": event, "verified_by": verified_by, "fault": fault}

    def _serve(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def hold(self) -> None:
        """Stop accepting connections and fill the listening queue, so that a
        new connection is neither accepted nor refused: it times out."""
        self.server.shutdown()
        for _ in range(self.server.request_queue_size + 3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(self.server.server_address)
            self._fillers.append(filler)
        time.sleep(0.05)

    def release(self) -> None:
        """Accept connections again, once the fillers that got into the
        listening queue have been accepted: until then a new connection finds
        the queue still full and times out like the first attempt."""
        queued = 0
        for filler in self._fillers:
            try:
                filler.getpeername()  # connected: it waits in the listening queue
                queued += 1
            except OSError:
                pass  # its opening was dropped, the queue being full
            filler.close()
        self._fillers.clear()
        accepted = self.connections
        self._serve()
        deadline = time.monotonic() + 5.0
        while self.connections - accepted < queued:
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver accepted {self.connections - accepted} of {queued} queued connections in 5 s")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server.server_address[1]}/changes"

    def ids(self) -> list[str]:
        return [r["headers"]["webhook-id"] for r in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def delivery_counts(peer: str) -> tuple[float, float, float]:
    """The delivery worker's attempts, failures and dead letters for ``peer`` so far, as a scrape reads them."""
    registry = CollectorRegistry()
    for counter in (delivery_metrics.ATTEMPTS, delivery_metrics.FAILURES, delivery_metrics.DEAD_LETTERS):
        registry.register(counter)
    return tuple(  # type: ignore[return-value]
        registry.get_sample_value(f"{name}_total", {"peer": peer}) or 0.0
        for name in ("contractledger_sync_delivery_attempts", "contractledger_sync_delivery_failures",
                     "contractledger_sync_dead_letters")
    )


class Ground:
    """A ledger, its views and manage's delivery to ``receiver`` over https,
    its certificate authority named in manage's CA bundle setting."""

    def __init__(self, tmp_path: Path, receiver: Receiver, authority: trustme.CA, store: str) -> None:
        self.env = ledger_env(store, tmp_path)
        self.ledger = ContractLedger(self.env, clock=SettableClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)))
        self.views = view_database_for(self.env)
        self.world = ContractingWorld(self.ledger, self.ledger.clock)
        state.ensure_schema(self.views)
        self.now = time.time()
        bundle = tmp_path / "manage-ca.pem"
        authority.cert_pem.write_to_path(str(bundle))
        self.peer = dataclasses.replace(
            peers()["manage"],
            delivery=Delivery(
                endpoint=receiver.url, secrets_variable="MANAGE_SECRETS",
                first_retry_seconds=1.0, longest_retry_seconds=8.0, give_up_after_seconds=60.0,
            ),
        )  # fmt: skip
        self.delivery_env = {
            "MANAGE_SECRETS": f"{NEW} {OLD}",
            "CONTRACTLEDGER_SYNC_MANAGE_CA_BUNDLE": str(bundle),
            "CONTRACTLEDGER_SYNC_CONNECT_TIMEOUT": "0.3",
            "CONTRACTLEDGER_SYNC_READ_TIMEOUT": "0.3",
        }
        self.delivery = PeerDelivery(self.views, self.peer, self.delivery_env, clock=lambda: self.now)

    def drain(self, rounds: int = 50) -> None:
        project(self.ledger, self.views)
        for _ in range(rounds):
            if self.delivery.step() != 0.0:
                return

    def afresh(self) -> None:
        """The delivery worker started again: a new pool, no connection kept."""
        self.delivery.close()
        self.delivery = PeerDelivery(self.views, self.peer, self.delivery_env, clock=lambda: self.now)

    def last_errors(self) -> list[str]:
        return [row[0] for row in self.views.query("SELECT last_error FROM sync_delivery_outbox WHERE peer = 'manage' ORDER BY position")]


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def receiver(authority: trustme.CA) -> Iterator[Receiver]:
    made = Receiver(keys=[OLD], authority=authority)
    yield made
    made.stop()
    assert made.faults == []  # every delivery verified by Standard Webhooks and read by the CloudEvents SDK


@pytest.fixture
def ground(tmp_path: Path, receiver: Receiver, authority: trustme.CA, store: str) -> Iterator[Ground]:
    made = Ground(tmp_path, receiver, authority, store)
    made.drain()  # the world's direct relationships
    receiver.received.clear()
    yield made
    made.delivery.close()
    made.ledger.close()
    made.views.close()


def test_every_item_arrives_over_https_signed_with_every_current_key_during_a_rotation(ground: Ground, receiver: Receiver) -> None:
    ground.world.active_contract()
    ground.drain()
    assert len(receiver.received) >= 5 and receiver.url.startswith("https://")
    assert receiver.connections == 1  # one kept-alive connection carried every delivery
    someone_else = Webhook("whsec_" + base64.b64encode(b"someone else").decode())
    for request in receiver.received:
        headers, body, event = request["headers"], request["body"], request["event"]
        assert request["verified_by"] == [OLD]  # a receiver still on the old key
        assert Webhook(NEW).verify(body, headers) == json.loads(body)  # and one already on the new one
        with pytest.raises(WebhookVerificationError):
            someone_else.verify(body, headers)
        with pytest.raises(WebhookVerificationError):  # the body is what is signed
            Webhook(OLD).verify(body.replace(b'"specversion"', b' "specversion"'), headers)
        item = json.loads(body)
        assert headers["webhook-id"] == event.get_id() == item["id"] and headers["Content-Type"] == "application/cloudevents+json"
        assert event.get_specversion() == "1.0" and event.get_source() == "/contractledger"
        assert event.get_type() == item["type"] and event.get_type().startswith("contractledger.contract.")
        assert event.get_subject() == item["subject"] and event.get_time() == datetime.fromisoformat(item["time"])
        assert event.get_extension("position") == item["position"] and event.get_data() == item["data"]
        timestamp = int(headers["webhook-timestamp"])
        assert len(headers["webhook-signature"].split()) == 2
        assert verify(NEW, item["id"], timestamp, body, headers["webhook-signature"])  # our own receiver's check agrees
        assert not verify(OLD, item["id"], timestamp + 1, body, headers["webhook-signature"])


def test_a_secret_written_without_its_prefix_is_read_as_the_base64_key_standard_webhooks_reads(
    ground: Ground, receiver: Receiver
) -> None:
    ground.delivery_env["MANAGE_SECRETS"] = OLD.removeprefix("whsec_")  # the prefix is optional in the standard
    ground.afresh()
    ground.world.assign()
    ground.drain()
    assert receiver.received and all(r["verified_by"] == [OLD] for r in receiver.received)


def test_an_endpoint_that_drops_its_connections_unannounced_still_gets_every_item_at_the_first_attempt(
    ground: Ground, receiver: Receiver
) -> None:
    receiver.hang_up = True
    ground.world.active_contract()
    ground.drain()
    # a new connection for each item (the old one was hung up); one more may be opened and find the peer
    # hanging up before it sent anything (seen once in a full suite on two loaded cores): nothing is lost by it
    assert len(receiver.received) >= 5 and len(receiver.received) <= receiver.connections <= len(receiver.received) + 1
    assert len(set(receiver.ids())) == len(receiver.received)  # none sent twice
    assert state.due_heads(ground.views, "manage", ground.now + 100) == []  # none failed


@pytest.mark.parametrize("fault", ["a certificate of another authority", "a certificate for another host"])
def test_an_endpoint_whose_certificate_is_not_trusted_is_refused_and_its_item_waits_until_it_is_fixed(
    ground: Ground, receiver: Receiver, authority: trustme.CA, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    if fault == "a certificate of another authority":
        receiver.use(trustme.CA())
    else:
        receiver.use(authority, "manage.example")  # trusted, but not for 127.0.0.1
    ground.afresh()  # no connection made with the good certificate kept
    (contract_id,) = ground.world.assign()
    with caplog.at_level(logging.WARNING, "contractledger.sync.delivery"):
        ground.drain()
    assert receiver.received == []  # nothing was sent to it: the handshake was refused
    [pending] = state.due_heads(ground.views, "manage", ground.now + 100)
    assert pending.attempts == 1 and pending.contract_id == str(contract_id)
    [error] = ground.last_errors()
    assert "SSLError" in error and ("certificate verify failed" in error or "match" in error), error
    assert any("TLS to https://127.0.0.1" in record.getMessage() for record in caplog.records)
    receiver.use(authority)  # the peer fixes its certificate
    ground.now += 2.0
    ground.drain()
    assert receiver.ids() == [pending.item_id]
    assert state.due_heads(ground.views, "manage", ground.now + 100) == []


def test_a_redirect_is_not_followed_and_is_a_failed_attempt_retried_later(
    ground: Ground, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    ground.world.assign()
    moved = receiver.url.replace("/changes", "/elsewhere")
    receiver.plan = [("redirect", 307, moved)]
    with caplog.at_level(logging.WARNING, "contractledger.sync.delivery"):
        ground.drain()
    assert [r["path"] for r in receiver.received] == ["/changes"]  # nothing went to /elsewhere
    [pending] = state.due_heads(ground.views, "manage", ground.now + 100)
    assert pending.attempts == 1 and ground.last_errors() == ["HTTP 307"]
    assert any("307" in r.getMessage() and moved in r.getMessage() and "not followed" in r.getMessage() for r in caplog.records)
    ground.now += 2.0
    ground.drain()
    assert [r["path"] for r in receiver.received] == ["/changes", "/changes"]
    assert receiver.ids() == [pending.item_id, pending.item_id]
    assert state.due_heads(ground.views, "manage", ground.now + 100) == []


def test_a_connection_that_times_out_is_a_failed_attempt_retried_later(ground: Ground, receiver: Receiver) -> None:
    (contract_id,) = ground.world.assign()
    receiver.hold()  # connections to it are neither accepted nor refused
    ground.afresh()
    started = time.monotonic()
    ground.drain()
    assert time.monotonic() - started < 3.0  # the connect timeout (0.3 s) ended the attempt
    [pending] = state.due_heads(ground.views, "manage", ground.now + 100)
    assert pending.attempts == 1 and pending.contract_id == str(contract_id)
    assert ground.last_errors()[0].startswith("ConnectTimeoutError"), ground.last_errors()
    receiver.release()
    ground.now += 2.0
    ground.drain()
    assert receiver.ids() == [pending.item_id], ground.last_errors()
    assert state.due_heads(ground.views, "manage", ground.now + 100) == []


def test_a_delivery_whose_answer_times_out_is_retried_later_with_the_same_id(ground: Ground, receiver: Receiver) -> None:
    (contract_id,) = ground.world.assign()
    receiver.plan = ["slow"]
    ground.drain()
    assert len(receiver.received) == 1
    [pending] = state.due_heads(ground.views, "manage", ground.now + 100)
    assert pending.attempts == 1 and ground.last_errors()[0].startswith("ReadTimeoutError"), ground.last_errors()
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
    before = delivery_counts("manage")
    ground.drain()
    for _ in range(12):  # retries until the give-up time has passed
        ground.now += 10
        ground.drain()
    letters = state.dead_letters(ground.views, "manage")
    assert len(letters) == 1 and letters[0]["last_error"] == "HTTP 500"
    attempts, failures, dead = (after - earlier for after, earlier in zip(delivery_counts("manage"), before))
    assert attempts == failures == len(receiver.received) > 1 and dead == 1  # what /metrics counts for the delivery worker
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
    ground.now += 200  # past every retry's back-off, within Standard Webhooks' five minutes
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
