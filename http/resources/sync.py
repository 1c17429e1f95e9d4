"""The sync routes (rules §9): a peer's pull feed and acknowledgement, its
inbound changes, its links of external ids, and reconcile; and the
operator's side of push delivery: dead letters, their replay, resuming a
paused peer.

Only the peer's own token (role ``sync_peer``, user = the peer's name) may
use its routes; auditors may read its feed too. ``{peer}`` is the peer's
name as in its file under ``sync/peers/`` (``contracting``, ``manage``).

Delivery is operated by people, not by the peer: operators and auditors
may read a peer's delivery state and dead letters; replaying them and
resuming a paused peer change what is sent, so only an operator may
(rules §1: operators run the service, replay dead letters included).
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from uuid import UUID

import falcon
import msgspec

from contractledger.domain.actor import Actor, Role
from contractledger.http import bodies
from contractledger.http.answer_once import answer_once
from contractledger.http.answers import send
from contractledger.http.config import AppConfig
from contractledger.domain.inputs import Position
from contractledger.http.problems import Problem
from contractledger.http.query_parameters import parse
from contractledger.http.read_your_writes import POSITION_HEADER
from contractledger.http.routing import Handler, Operation
from contractledger.projections.engine.view_database import ViewDatabase
from contractledger.sync import delivery_state, feed, links
from contractledger.sync.inbound import ChangeRefused, InboundChange, apply_change
from contractledger.sync.peer import Peer, peers
from contractledger.sync.reconcile import PeerView, reconcile

TAG = "sync"
STATUS_OF_REFUSAL = {
    "Conflict": falcon.HTTP_409,
    "InvalidInput": falcon.HTTP_422,
    "RuleBroken": falcon.HTTP_422,
    "NotFound": falcon.HTTP_404,
    "NotPermitted": falcon.HTTP_403,
}


class FeedParameters(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    after: Annotated[Position, msgspec.Meta(description="The position of the last item held (0: from the start).")] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000, description="At most this many items.")] = 100
    wait: Annotated[float, msgspec.Meta(ge=0, le=60, description="Seconds to wait for a new item when caught up.")] = 0.0


class Acknowledgement(msgspec.Struct, forbid_unknown_fields=True):
    position: Annotated[Position, msgspec.Meta(description="Every item up to this position is held by the peer.")]


class Link(msgspec.Struct, forbid_unknown_fields=True):
    contract_id: UUID
    external_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A CloudEvents 1.0 event (see sync/cloudevents.py for the extension attributes).",
    "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data", "position"],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string"},
        "source": {"type": "string"},
        "type": {"type": "string"},
        "subject": {"type": "string"},
        "time": {"type": "string"},
        "datacontenttype": {"type": "string"},
        "data": {"type": "object"},
        "position": {"type": "integer"},
        "contractsequence": {"type": "integer"},
        "ledgerversion": {"type": "integer"},
        "effectivedate": {"type": "string"},
        "origin": {"type": "string"},
        "causationid": {"type": ["string", "null"]},
    },
}
PAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["items", "next_after", "acknowledged"],
    "properties": {
        "items": {"type": "array", "items": ITEM_SCHEMA},
        "next_after": {"type": "integer", "description": "Pass as `after` for the next page; an empty page means caught up."},
        "acknowledged": {"type": "integer"},
    },
}
APPLIED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["change_id", "outcome", "contract_id", "version", "moved_contract_ids"],
    "properties": {
        "change_id": {"type": "string"},
        "outcome": {"const": "applied"},
        "contract_id": {"type": "string", "format": "uuid"},
        "external_id": {"type": ["string", "null"]},
        "version": {"type": "integer", "description": "The contract's version after the change: the next seen_version."},
        "moved_contract_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}},
        "contract": {"type": "object", "description": "The contract as this change left it (status, writing numbers, codes)."},
    },
}
RECONCILED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["peer", "compared", "discrepancies"],
    "properties": {
        "peer": {"type": "string"},
        "compared": {"type": "integer"},
        "discrepancies": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "kind": {"enum": ["missing_in_ledger", "missing_in_peer", "status_differs", "writing_numbers_differ"]}
                },
            },
        },
    },
}


class _PeerRoute(Handler):
    """A route of one peer's own: its token (role sync_peer, user = the peer's name), and the other roles its
    operation lists (auditors read a feed)."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config

    def answer_once(self, req: falcon.Request, resp: falcon.Response, body: Any, run: Any) -> None:
        """Sends ``run()``'s answer, once per ``Idempotency-Key`` (http/answer_once.py), as every command
        does (the sync routes are idempotent by their own ids too: this is the house rule)."""
        answer_once(req, resp, self.config.responses, body, lambda _command_id: send(resp, run()))

    def positioned(self, resp: falcon.Response, run: Any) -> Any:
        """``run`` as the answer of a route that records in the ledger: the
        answer names the ledger position of what it recorded
        (``Ledger-Position``, as a command's does), refusals recorded as
        refused too; a repeat that recorded nothing names the ledger's
        newest position, never one behind the first attempt."""
        ledger = self.config.ledger

        def answer() -> Any:
            ledger.forget_position()
            try:
                value = run()
            except Problem as problem:
                problem.headers = {**dict(problem.headers or {}), POSITION_HEADER: str(ledger.position_after_command())}
                raise
            resp.set_header(POSITION_HEADER, str(ledger.position_after_command()))
            return value

        return answer

    def peer(self, req: falcon.Request, name: str) -> Peer:
        actor = req.context.actor
        peer = configured_peer(name)
        if actor.role is Role.SYNC_PEER and actor.user == peer.name:
            return peer
        if actor.role is not Role.SYNC_PEER and actor.role in self.operation.roles:
            return peer
        raise Problem(falcon.HTTP_403, "sync.peer_only", f"Only {peer.name}'s own token may do this.")


class ReadFeed(_PeerRoute):
    operation = Operation(
        method="GET",
        operation_id="readSyncFeed",
        summary="A peer's feed from a cursor, oldest first (CloudEvents items); an empty page means caught up, "
        "`wait` long-polls for the next item. {peer} is the peer's name (contracting, manage).",
        tag=TAG,
        path_parameters=("peer",),
        query=FeedParameters,
        answer=PAGE_SCHEMA,
        refusals=(400, 401, 403, 404),
        roles=(Role.SYNC_PEER, Role.AUDITOR),
        problems=("sync.peer_only",),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        peer = self.peer(req, params["peer"])
        parameters = parse(req, FeedParameters)
        wait = min(parameters.wait, self.config.wait_bound)
        page = feed.read_page(self.config.views, peer.name, parameters.after, parameters.limit, wait)
        send(resp, {"items": page.items, "next_after": page.next_after, "acknowledged": feed.acknowledged(self.config.views, peer.name)})


class Acknowledge(_PeerRoute):
    operation = Operation(
        method="POST",
        operation_id="acknowledgeSyncFeed",
        summary="The peer holds every item of its feed up to a position (never moves back).",
        tag=TAG,
        path_parameters=("peer",),
        body=Acknowledgement,
        request_headers=("Idempotency-Key",),
        answer={"type": "object", "required": ["acknowledged"], "properties": {"acknowledged": {"type": "integer"}}},
        roles=(Role.SYNC_PEER,),
        problems=("sync.peer_only",),
        refusals=(400, 401, 403, 404, 413, 415, 422),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        peer = self.peer(req, params["peer"])
        body = bodies.read(req, Acknowledgement)
        at = self.config.clock.now().isoformat()
        self.answer_once(req, resp, body, lambda: {"acknowledged": feed.acknowledge(self.config.views, peer.name, body.position, at)})


class PostChange(_PeerRoute):
    operation = Operation(
        method="POST",
        operation_id="postSyncChange",
        summary="A peer's change (status in its own words, writing number, code), applied once per change id "
        "with the same rules as any user; a refusal is recorded and answered the same on a repeat; a stale "
        "version that conflicts is 409 with the contract's current state (sync.stale_version), as is a change "
        "that other writers collided with twice as it was saved (sync.concurrent_change).",
        tag=TAG,
        path_parameters=("peer",),
        body=InboundChange,
        request_headers=("Idempotency-Key",),
        response_headers=(POSITION_HEADER,),
        answer=APPLIED_SCHEMA,
        roles=(Role.SYNC_PEER,),
        problems=("sync.peer_only",),
        # the workflow steps a peer relays are run by name (getattr), out of the walk's sight
        use_cases=("apply_change", "send_to_producer", "submit_by_producer", "return_to_producer", "submit_to_carrier"),
        refusals=(400, 401, 403, 404, 409, 413, 415, 422),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        peer = self.peer(req, params["peer"])
        body = bodies.read(req, InboundChange)

        def run() -> dict[str, Any]:
            try:
                return apply_change(self.config.ledger, peer, body)
            except ChangeRefused as refused:
                raise refusal_problem(refused.refusal) from None

        self.answer_once(req, resp, body, self.positioned(resp, run))


class PostLink(_PeerRoute):
    operation = Operation(
        method="POST",
        operation_id="linkSyncExternalId",
        summary="Links the peer's own id of a contract to the ledger's (once; the same pair again changes nothing).",
        tag=TAG,
        path_parameters=("peer",),
        body=Link,
        request_headers=("Idempotency-Key",),
        response_headers=(POSITION_HEADER,),
        answer={"type": "object", "required": ["peer", "contract_id", "external_id"]},
        roles=(Role.SYNC_PEER,),
        problems=("sync.peer_only",),
        use_cases=("link",),
        refusals=(400, 401, 403, 404, 409, 413, 415, 422),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        peer = self.peer(req, params["peer"])
        body = bodies.read(req, Link)
        run = self.positioned(resp, lambda: links.link(self.config.ledger, peer.name, body.contract_id, body.external_id))
        self.answer_once(req, resp, body, run)


class Reconcile(_PeerRoute):
    operation = Operation(
        method="POST",
        operation_id="reconcileSyncPeer",
        summary="The peer's view of statuses and writing numbers; the answer lists every discrepancy "
        "(missing in the ledger, missing in the peer when `complete`, different status, different writing numbers).",
        tag=TAG,
        path_parameters=("peer",),
        body=PeerView,
        request_headers=("Idempotency-Key",),
        answer=RECONCILED_SCHEMA,
        roles=(Role.SYNC_PEER,),
        problems=("sync.peer_only",),
        use_cases=("reconcile",),
        refusals=(400, 401, 403, 404, 413, 415, 422),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        peer = self.peer(req, params["peer"])
        body = bodies.read(req, PeerView)
        at = self.config.clock.now().isoformat()
        self.answer_once(req, resp, body, lambda: reconcile(self.config.ledger, self.config.views, peer, body, at=at))


# -- the operator's side of push delivery ------------------------------------------------


class DeadLetterParameters(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    after: Annotated[Position, msgspec.Meta(description="The position of the last dead letter read (0: from the first).")] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000, description="At most this many dead letters.")] = 100


ItemId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class Replay(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # left out (not null) to replay every one: a null is refused, never read as "all"
    item_ids: (
        Annotated[
            list[ItemId],
            msgspec.Meta(min_length=1, max_length=1000, description="The dead letters to replay (left out: every one)."),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET


class Resume(msgspec.Struct, forbid_unknown_fields=True):
    """No fields: send ``{}``."""


DEAD_LETTERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["peer", "paused_because", "waiting", "dead_letters", "next_after"],
    "properties": {
        "peer": {"type": "string"},
        "paused_because": {"type": ["string", "null"], "description": "Why delivery is paused (null: it is not)."},
        "waiting": {"type": "integer", "description": "Items waiting in the outbox for (re)delivery."},
        "dead_letters": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["position", "item_id", "contract_id", "attempts", "last_error", "given_up_at", "item"],
                "properties": {
                    "position": {"type": "integer"},
                    "item_id": {"type": "string", "description": "The item's id: its webhook-id on every attempt."},
                    "contract_id": {"type": "string", "format": "uuid"},
                    "attempts": {"type": "integer"},
                    "last_error": {"type": ["string", "null"]},
                    "given_up_at": {"type": "string"},
                    "item": ITEM_SCHEMA,
                },
            },
        },
        "next_after": {"type": "integer", "description": "Pass as `after` for the next page; an empty page is the end."},
    },
}
REPLAYED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["peer", "replayed", "paused_because"],
    "properties": {
        "peer": {"type": "string"},
        "replayed": {"type": "array", "items": {"type": "string"}, "description": "The item ids put back for delivery."},
        "paused_because": {"type": ["string", "null"], "description": "Not null: nothing is sent until the peer is resumed."},
    },
}


class _DeliveryRoute(_PeerRoute):
    """A route of a peer's push delivery: operators and auditors read, operators act (as its operation lists)."""

    def __init__(self, config: AppConfig) -> None:
        super().__init__(config)
        self._tables_ready = False

    def peer(self, req: falcon.Request, name: str) -> Peer:
        return delivery_peer(req.context.actor, name, self.operation.roles)

    @property
    def views(self) -> Any:
        if not self._tables_ready:  # before the delivery worker first ran, its tables are not there yet
            delivery_state.ensure_schema(self.config.views)
            self._tables_ready = True
        return self.config.views


class ReadDeadLetters(_DeliveryRoute):
    operation = Operation(
        method="GET",
        operation_id="readSyncDeadLetters",
        summary="A peer's dead letters (items given up on after its give-up time), oldest first, each with the item "
        "itself, beside whether delivery is paused and how many items wait for (re)delivery. Operators and auditors only.",
        tag=TAG,
        path_parameters=("peer",),
        query=DeadLetterParameters,
        answer=DEAD_LETTERS_SCHEMA,
        roles=(Role.OPERATOR, Role.AUDITOR),
        problems=("sync.auditors_only",),
        refusals=(400, 401, 403, 404),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        peer = self.peer(req, params["peer"])
        parameters = parse(req, DeadLetterParameters)
        send(resp, dead_letter_page(self.views, peer, parameters))


class ReplayDeadLetters(_DeliveryRoute):
    operation = Operation(
        method="POST",
        operation_id="replaySyncDeadLetters",
        summary="Puts a peer's dead letters (those named, or every one) back for delivery at once, first of their "
        "contracts, with fresh attempts and the same delivery ids. An id that is not a dead letter of the peer "
        "replays nothing (404). Operators only.",
        tag=TAG,
        path_parameters=("peer",),
        body=Replay,
        request_headers=("Idempotency-Key",),
        answer=REPLAYED_SCHEMA,
        roles=(Role.OPERATOR,),
        problems=("sync.operator_only", "sync.dead_letter.unknown"),
        refusals=(400, 401, 403, 404, 413, 415, 422),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        peer = self.peer(req, params["peer"])
        body = bodies.read(req, Replay)

        self.answer_once(req, resp, body, lambda: replay_dead_letters(self.views, peer, body))


class ResumeDelivery(_DeliveryRoute):
    operation = Operation(
        method="POST",
        operation_id="resumeSyncDelivery",
        summary="Resumes push delivery to a peer paused because its endpoint answered 410 Gone; what waited is sent "
        "at once. A peer that is not paused is 409. Operators only.",
        tag=TAG,
        path_parameters=("peer",),
        body=Resume,
        request_headers=("Idempotency-Key",),
        answer={"type": "object", "required": ["peer", "resumed"], "properties": {"peer": {"type": "string"}, "resumed": {"const": True}}},
        roles=(Role.OPERATOR,),
        problems=("sync.operator_only", "sync.delivery.not_paused"),
        refusals=(400, 401, 403, 404, 409, 413, 415, 422),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        peer = self.peer(req, params["peer"])
        body = bodies.read(req, Resume)

        self.answer_once(req, resp, body, lambda: resume_delivery(self.views, peer))


def delivery_peer(actor: Actor, name: str, roles: tuple[Role, ...]) -> Peer:
    """The peer named, for a principal of one of the roles a delivery route
    serves (``roles``: operators and auditors read, operators act); anyone
    else is refused with the route's code. The console's sync page asks by
    the same rule."""
    peer = configured_peer(name)
    if actor.role in roles:
        return peer
    if roles == (Role.OPERATOR,):
        raise operators_only()
    raise Problem(falcon.HTTP_403, "sync.auditors_only", "Only an operator or an auditor may read a peer's delivery.")


def operators_only() -> Problem:
    return Problem(
        falcon.HTTP_403,
        "sync.operator_only",
        "Only an operator may do this; ask the service's operator (scripts/tokens issue --role operator).",
    )


def dead_letter_page(views: ViewDatabase, peer: Peer, parameters: DeadLetterParameters) -> dict[str, Any]:
    """What ``GET /sync/{peer}/dead-letters`` answers (the console's sync page
    shows it too): a page of the peer's dead letters, with the items, beside
    whether delivery is paused and how many items wait for (re)delivery."""
    letters = delivery_state.dead_letters(views, peer.name, parameters.after, parameters.limit, with_items=True)
    return {
        "peer": peer.name,
        "paused_because": delivery_state.paused(views, peer.name),
        "waiting": delivery_state.backlog(views).get(peer.name, (0, 0))[0],
        "dead_letters": letters,
        "next_after": letters[-1]["position"] if letters else parameters.after,
    }


def replay_dead_letters(views: ViewDatabase, peer: Peer, body: Replay) -> dict[str, Any]:
    """What ``POST /sync/{peer}/dead-letters/replay`` does and answers (the
    console's replay form runs it too): the dead letters named (or every one)
    back for delivery; an id that is not a dead letter of the peer replays
    nothing (404 ``sync.dead_letter.unknown``)."""
    try:
        named = None if body.item_ids is msgspec.UNSET else body.item_ids
        replayed = delivery_state.replay(views, peer.name, named, time.time())
    except delivery_state.UnknownDeadLetters as unknown:
        raise Problem(
            falcon.HTTP_404,
            "sync.dead_letter.unknown",
            f"{peer.name} has {unknown}; list them at /sync/{peer.name}/dead-letters. Nothing was replayed.",
            field="item_ids",
            unknown_item_ids=unknown.item_ids,
        ) from None
    return {"peer": peer.name, "replayed": replayed, "paused_because": delivery_state.paused(views, peer.name)}


def resume_delivery(views: ViewDatabase, peer: Peer) -> dict[str, Any]:
    """What ``POST /sync/{peer}/resume`` does and answers (the console's resume
    form runs it too); a peer that is not paused is 409 ``sync.delivery.not_paused``."""
    if not delivery_state.resume(views, peer.name):
        raise Problem(
            falcon.HTTP_409,
            "sync.delivery.not_paused",
            f"Delivery to {peer.name} is not paused; nothing to resume.",
        )
    return {"peer": peer.name, "resumed": True}


def configured_peer(name: str) -> Peer:
    peer = peers().get(name)
    if peer is None:
        raise Problem(falcon.HTTP_404, "sync.peer.unknown", f"There is no sync peer {name!r}; see sync/peers/.")
    return peer


def refusal_problem(refusal: dict[str, Any]) -> Problem:
    extensions = {k: refusal[k] for k in ("change_id", "current") if refusal.get(k) is not None}
    return Problem(
        STATUS_OF_REFUSAL.get(refusal["error"], falcon.HTTP_422),
        refusal["code"],
        refusal["message"],
        field=refusal.get("field"),
        **extensions,
    )


def routes(config: AppConfig) -> dict[str, list[Handler]]:
    return {
        "/sync/{peer}/feed": [ReadFeed(config)],
        "/sync/{peer}/ack": [Acknowledge(config)],
        "/sync/{peer}/changes": [PostChange(config)],
        "/sync/{peer}/links": [PostLink(config)],
        "/sync/{peer}/reconcile": [Reconcile(config)],
        "/sync/{peer}/dead-letters": [ReadDeadLetters(config)],
        "/sync/{peer}/dead-letters/replay": [ReplayDeadLetters(config)],
        "/sync/{peer}/resume": [ResumeDelivery(config)],
    }
