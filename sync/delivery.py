"""Push delivery: POSTs each peer's feed items to its endpoint as they appear.

One thread per peer: it sends the new items of the peer's feed at once and
records the round in one write; an item that fails waits in the outbox
(``delivery_state``) for its retries, and later items of its contract wait
behind it, so items of one contract arrive in order while other contracts
go on. Delivery is at least once: a crash between a send and its record
sends the item again, under the same delivery id. Each
POST is the item as a structured CloudEvent with the Standard Webhooks
headers: ``webhook-id`` (the item's id, the same on every retry),
``webhook-timestamp`` and ``webhook-signature`` (one ``v1,`` signature per
current secret). A 2xx answer delivers the item; ``410 Gone`` pauses the
peer until an operator resumes it; anything else (or no answer within the
timeout, a redirect, a certificate refused) is retried after an exponential
back-off with jitter, and once the
peer's give-up time has passed since the first attempt the item becomes a
dead letter for an operator to inspect and replay. The pull feed is always
there for catch-up.

How an endpoint is reached (https verified, plain http only to loopback or
allowed hosts, a pool per peer, no redirects, timeouts) is ``endpoint``'s;
the worker refuses to start when a pushed peer's endpoint breaks its rules.

The worker wakes when the views runner commits a batch (the view database's
change announcements), so an item is pushed within a few milliseconds of
its event's commit.

    python -m contractledger.sync.delivery run            the worker (scripts/sync-deliver run)
    python -m contractledger.sync.delivery dead-letters PEER
    python -m contractledger.sync.delivery replay PEER [ITEM_ID ...]
    python -m contractledger.sync.delivery resume PEER

The same operator actions are served over HTTP (``/sync/{peer}/dead-letters``,
``/sync/{peer}/dead-letters/replay``, ``/sync/{peer}/resume``; see
http/resources/sync.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone

import urllib3

from contractledger.projections.engine.view_database import PostgresViewDatabase, ViewDatabase
from contractledger.store.availability import StoreOutage, is_unavailable
from contractledger.store.errors import StoreConfigurationError
from contractledger.sync import delivery_state as state
from contractledger.sync import delivery_metrics, endpoint, feed
from contractledger.sync.cloudevents import MEDIA_TYPE
from contractledger.sync.peer import Peer, peers
from contractledger.sync.signing import NotASecret, key_of, signature_header

log = logging.getLogger("contractledger.sync.delivery")
TAKE_BATCH = 500


def backoff(attempts: int, first: float, longest: float, draw: Callable[[], float] = random.random) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling
    from ``first`` up to ``longest``, with "equal jitter" (half fixed, half
    random) so that many retries due together spread out."""
    ceiling = min(longest, first * (2 ** max(0, attempts - 1)))
    return ceiling / 2 + draw() * ceiling / 2


class PeerDelivery:
    """Delivers one peer's items; ``step`` does one round and says when to come back."""

    def __init__(
        self,
        database: ViewDatabase,
        peer: Peer,
        env: Mapping[str, str],
        clock: Callable[[], float] = time.time,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.database = database
        self.peer = peer
        self.secrets = peer.secrets(env)
        self.endpoint = endpoint.PeerEndpoint(peer, env)
        self.clock = clock
        self.draw = draw

    def step(self) -> float | None:
        """Sends new items and the retries that are due. Answers the seconds
        until the next retry is due (0: more to do now; None: nothing pending)."""
        taken, paused, waiting = state.standing(self.database, self.peer.name)
        if paused:
            return None
        more = self._send_new(taken, waiting)
        if more is None:
            return None  # paused
        sent_any = more
        for item in state.due_heads(self.database, self.peer.name, self.clock()):
            sent_any = True
            if not self._send(item):
                return None  # paused
        if sent_any:
            return 0.0
        upcoming = state.next_due(self.database, self.peer.name)
        return None if upcoming is None else max(0.0, upcoming - self.clock())

    def _send_new(self, taken: int, waiting: set[str]) -> bool | None:
        """New feed items go out at once, but behind any item of their contract
        still waiting in the outbox; a failure queues there for its retries.
        One write records the round. Answers whether there were new items
        (None: the peer paused)."""
        rows = feed.read_raw(self.database, self.peer.name, taken, TAKE_BATCH)
        if not rows:
            return False
        queued = []
        last: state.Attempt | None = None
        for position, body in rows:
            item = json.loads(body)
            delivery_id, contract_id = item["id"], item["subject"]
            if contract_id in waiting:
                queued.append((position, delivery_id, contract_id, body, 0, None, self.clock(), None))
                continue
            now = self.clock()
            status, error = self._post(delivery_id, body.encode(), now)
            last = state.Attempt(position, delivery_id, _iso(now), error)
            if status == 410:
                queued.append((position, delivery_id, contract_id, body, 0, None, now, error))
                state.take(self.database, self.peer.name, queued, position, last)
                self._pause(position, now)
                return None
            if error is not None:
                delay = backoff(1, self.peer.delivery.first_retry_seconds, self.peer.delivery.longest_retry_seconds, self.draw)
                queued.append((position, delivery_id, contract_id, body, 1, now, now + delay, error))
                waiting.add(contract_id)
        state.take(self.database, self.peer.name, queued, rows[-1][0], last)
        log.info("%s: delivered %d of %d new item(s), up to position %d", self.peer.name, len(rows) - len(queued), len(rows), rows[-1][0])
        return True

    def _post(self, delivery_id: str, body: bytes, now: float) -> tuple[int, str | None]:
        """(status, None) when delivered, else (status or 0, why not)."""
        timestamp = int(now)
        headers = {
            "Content-Type": MEDIA_TYPE,
            "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(self.secrets, delivery_id, timestamp, body),
        }
        delivery_metrics.ATTEMPTS.labels(peer=self.peer.name).inc()
        try:
            status = self.endpoint.post(body, headers)
        except (OSError, urllib3.exceptions.HTTPError) as failure:
            delivery_metrics.FAILURES.labels(peer=self.peer.name).inc()
            return 0, f"{type(failure).__name__}: {failure}"
        if 200 <= status < 300:
            return status, None
        delivery_metrics.FAILURES.labels(peer=self.peer.name).inc()
        return status, f"HTTP {status}"

    def _pause(self, position: int, now: float, attempt: state.Attempt | None = None) -> None:
        state.pause(self.database, self.peer.name, f"the endpoint answered 410 Gone at position {position}", _iso(now), attempt)
        log.warning("%s: paused, its endpoint answered 410 Gone", self.peer.name)

    def _send(self, item: state.Pending) -> bool:
        """A retry (or a queued item) from the outbox; False when the peer paused."""
        now = self.clock()
        status, error = self._post(item.item_id, item.body.encode(), now)
        attempt = state.Attempt(item.position, item.item_id, _iso(now), error)
        if error is None:
            state.delivered(self.database, item, attempt)
            log.info("%s: delivered item %s at attempt %d", self.peer.name, item.item_id, item.attempts + 1)
            return True
        if status == 410:
            self._pause(item.position, now, attempt)
            return False
        first = item.first_attempt_at if item.first_attempt_at is not None else now
        if now - first >= self.peer.delivery.give_up_after_seconds:
            state.give_up(self.database, item, error, _iso(now), attempt)
            delivery_metrics.DEAD_LETTERS.labels(peer=self.peer.name).inc()
            log.warning("%s: gave up on item %s after %d attempts (%s)", self.peer.name, item.item_id, item.attempts + 1, error)
            return True
        delay = backoff(item.attempts + 1, self.peer.delivery.first_retry_seconds, self.peer.delivery.longest_retry_seconds, self.draw)
        state.failed(self.database, item, error, first, now + delay, attempt)
        return True

    def close(self) -> None:
        self.endpoint.close()


def _iso(instant: float) -> str:
    return datetime.fromtimestamp(instant, timezone.utc).isoformat()


def run(
    open_database: Callable[[], ViewDatabase], chosen: Sequence[Peer], env: Mapping[str, str], stop: threading.Event
) -> None:
    """Delivers for every chosen peer (one thread each) until ``stop`` is set.
    Each thread opens its own database: a change announcement consumed by one
    listener must not be missed by another peer's thread."""
    outage = StoreOutage("delivery worker")
    while not stop.is_set():  # started while the database is down, it waits for it
        try:
            first = open_database()
            try:
                state.ensure_schema(first)
            finally:
                first.close()
            break
        except Exception as error:
            if not is_unavailable(error):
                raise
            stop.wait(outage.wait(error))
    outage.over()
    delivery_metrics.start_counting(peer.name for peer in chosen)
    failures: list[BaseException] = []

    def follow(peer: Peer) -> None:
        try:
            _follow(open_database, peer, env, stop)
        except BaseException as error:
            log.exception("%s: delivery stopped", peer.name)
            failures.append(error)
            stop.set()

    threads = [threading.Thread(target=follow, args=(p,), name=f"deliver-{p.name}") for p in chosen]
    for thread in threads:
        thread.start()
    # with no peer to push to, the worker still lives as long as the service
    # (the serve command restarts a worker that ends)
    stop.wait()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def _follow(open_database: Callable[[], ViewDatabase], peer: Peer, env: Mapping[str, str], stop: threading.Event) -> None:
    """One peer's delivery until ``stop``. The store going away (a database
    restart) is waited out with back-off, reconnecting; any other failure
    ends the whole worker (see ``run``), so that its supervisor restarts it
    rather than a peer silently going without delivery."""
    outage = StoreOutage(f"delivery to {peer.name}")
    database = open_database()
    delivery = PeerDelivery(database, peer, env)
    try:
        while not stop.is_set():
            try:
                if isinstance(database, PostgresViewDatabase):
                    database.start_listening()
                wait = delivery.step()
                if wait is None or wait > 0:
                    # a committed view batch (or the next retry, or a check for a stop) ends the wait
                    database.wait_for_change(min(wait if wait is not None else 1.0, 1.0))
                outage.over()
            except Exception as error:
                if not is_unavailable(error):
                    raise
                stop.wait(outage.wait(error))
    finally:
        delivery.close()
        database.close()


def pushed(all_peers: Mapping[str, Peer], env: Mapping[str, str]) -> list[Peer]:
    """Peers with signing secrets: an unsigned push would be refused by a
    Standard Webhooks receiver, so a peer without them reads its pull feed."""
    return [peer for peer in all_peers.values() if peer.secrets(env)]


def check(chosen: Sequence[Peer], env: Mapping[str, str]) -> None:
    """The delivery settings, and each pushed peer's endpoint and secrets,
    refused in one sentence naming the setting (StoreConfigurationError)."""
    endpoint.check(chosen, env)
    for peer in chosen:
        for number, secret in enumerate(peer.secrets(env), 1):
            try:
                key_of(secret)
            except NotASecret as why:
                variable = peer.delivery.secrets_variable
                raise StoreConfigurationError(
                    variable, f"Sync peer {peer.name}: secret {number} of {variable} {why} (the secret itself is not shown)."
                ) from None


def check_configuration(env: Mapping[str, str]) -> None:
    """For the serve command's start-up: ``check`` for every pushed peer."""
    check(pushed(peers(), env), env)


def deliverable(all_peers: Mapping[str, Peer], env: Mapping[str, str]) -> list[Peer]:
    """``pushed``, saying which peers are not."""
    chosen = pushed(all_peers, env)
    for peer in all_peers.values():
        if peer not in chosen:
            log.warning("%s: no signing secrets in %s; not pushing (its pull feed is served)", peer.name, peer.delivery.secrets_variable)
    return chosen


DELIVER_EPILOG = """\
The peers are the files of sync/peers/; a peer is pushed to only when its
signing secrets are set. The store is the one the service uses
(PERSISTENCE_MODULE and its settings, read from the environment). The same
operator actions are served over HTTP, under /sync/PEER/.

exit status:
  0  done (run: stopped by SIGTERM or SIGINT)
  1  replay: an item named is not a dead letter; resume: the peer is not paused
  2  no such peer, or arguments it cannot read
"""
PEER_HELP = "the sync peer's name, as its file in sync/peers/ is named"


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="contractledger sync-deliver",
        description="Push delivery to the sync peers, and what an operator does about\n"
        "the items given up on.",
        epilog=DELIVER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = command.add_subparsers(dest="command", required=True, metavar="ACTION", help="what to do")

    def action(name: str, summary: str, description: str, exits: str) -> argparse.ArgumentParser:
        return actions.add_parser(
            name, help=summary, description=description, epilog=f"exit status:\n{exits}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    action(
        "run", "deliver until stopped (SIGTERM or SIGINT)",
        "The delivery worker alone (serve runs it itself): push each peer's new feed\n"
        "items to its endpoint, retrying with back-off, until stopped.",
        "  0  stopped by SIGTERM or SIGINT\n  2  arguments it cannot read",
    )
    action(
        "dead-letters", "print a peer's dead letters, one JSON object a line",
        "Print the items delivery gave up on for a peer, one JSON object a line.",
        "  0  printed (none is no line)\n  2  no such peer, or arguments it cannot read",
    ).add_argument("peer", metavar="PEER", help=PEER_HELP)
    replay = action(
        "replay", "put dead letters back for delivery (all, or the ids named)",
        "Put a peer's dead letters back for delivery: all of them, or the items named.",
        "  0  put back\n  1  an item named is not a dead letter of the peer (none is put back)\n"
        "  2  no such peer, or arguments it cannot read",
    )
    replay.add_argument("peer", metavar="PEER", help=PEER_HELP)
    replay.add_argument(
        "item_ids", nargs="*", metavar="ITEM_ID", help="the ids of the dead letters to put back (default: all)"
    )
    action(
        "resume", "resume delivery to a peer paused by a 410 Gone answer",
        "Resume delivery to a peer that answered 410 Gone, from where it paused.",
        "  0  resumed\n  1  delivery to the peer is not paused\n  2  no such peer, or arguments it cannot read",
    ).add_argument("peer", metavar="PEER", help=PEER_HELP)
    return command


def main(argv: Sequence[str] | None = None) -> int:
    from contractledger.projections.engine.view_database import view_database_for
    from contractledger.store.environment import ledger_environment
    from contractledger.store.settings import Settings

    arguments = parser().parse_args(argv)
    try:
        found = Settings.read()
    except StoreConfigurationError as error:
        print(f"sync-deliver: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=found.log_level, format="%(asctime)s delivery %(levelname)s %(message)s")
    env = ledger_environment(found.environment)
    configured = peers()
    if getattr(arguments, "peer", None) is not None and arguments.peer not in configured:
        print(f"sync-deliver: there is no sync peer {arguments.peer!r} (see sync/peers/).", file=sys.stderr)
        return 2
    if arguments.command == "run":
        chosen = deliverable(configured, env)
        try:
            check(chosen, env)
        except StoreConfigurationError as error:
            print(f"sync-deliver: {error}", file=sys.stderr)
            return 2
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        run(lambda: view_database_for(env), chosen, env, stop)
        return 0
    database = view_database_for(env)
    try:
        state.ensure_schema(database)
        if arguments.command == "dead-letters":
            for letter in state.dead_letters(database, arguments.peer):
                print(json.dumps(letter))
        elif arguments.command == "replay":
            try:
                replayed = state.replay(database, arguments.peer, arguments.item_ids or None, time.time())
            except state.UnknownDeadLetters as unknown:
                print(f"sync-deliver: {arguments.peer} has {unknown}; nothing replayed.", file=sys.stderr)
                return 1
            print(f"{len(replayed)} dead letter(s) of {arguments.peer} put back for delivery")
        elif arguments.command == "resume":
            if not state.resume(database, arguments.peer):
                print(f"sync-deliver: delivery to {arguments.peer} is not paused.", file=sys.stderr)
                return 1
            print(f"delivery to {arguments.peer} resumed")
    finally:
        database.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
