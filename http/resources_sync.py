"""The sync routes (SPEC 9): a peer's pull feed and acknowledgement, its
inbound changes, its links of external ids, and reconcile.

Only the peer's own token (role ``sync_peer``, user = the peer's name) may
use its routes; auditors may read its feed too. ``{peer}`` is the peer's
name as in its file under ``sync/peers/`` (``contracting``, ``manage``).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import falcon
import msgspec

from contractledger.domain.actor import Role
from contractledger.domain.errors import LedgerError
from contractledger.http import bodies
from contractledger.http.answers import send
from contractledger.http.config import AppConfig
from contractledger.http.idempotency import KeptResponse, idempotency_key, principal_of, request_fingerprint
from contractledger.http.problems import PROBLEM_JSON, Problem, from_ledger_error, problem_body
from contractledger.http.query_parameters import parse
from contractledger.http.routing import Handler, Operation
from contractledger.sync import feed, links
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
    after: Annotated[int, msgspec.Meta(ge=0, description="The position of the last item held (0: from the start).")] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000, description="At most this many items.")] = 100
    wait: Annotated[float, msgspec.Meta(ge=0, le=60, description="Seconds to wait for a new item when caught up.")] = 0.0


class Acknowledgement(msgspec.Struct, forbid_unknown_fields=True):
    position: Annotated[int, msgspec.Meta(ge=0, description="Every item up to this position is held by the peer.")]


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
    auditors_read = False

    def __init__(self, config: AppConfig) -> None:
        self.config = config

    def answer_once(self, req: falcon.Request, resp: falcon.Response, body: Any, run: Any) -> None:
        """Sends ``run()``'s answer; with an ``Idempotency-Key``, keeps it and
        replays it for a repeat, as every POST of the API does (the sync
        routes are idempotent by their own ids too: this is the house rule)."""
        key = idempotency_key(req)
        if key is None:
            send(resp, run())
            return
        principal = principal_of(req.context.actor)
        fingerprint = request_fingerprint(req.method, req.path, msgspec.json.encode(body))
        kept = self.config.responses.begin(principal, key, fingerprint)
        if kept is not None:
            resp.status, resp.content_type, resp.data = kept.status, kept.content_type, kept.body
            resp.set_header("Idempotent-Replayed", "true")
            return
        try:
            try:
                send(resp, run())
            except LedgerError as error:
                raise from_ledger_error(error) from None
        except Problem as problem:
            self.config.responses.keep(principal, key, KeptResponse(int(problem.status_code), PROBLEM_JSON, {}, problem_body(problem)))
            raise
        except BaseException:
            self.config.responses.forget(principal, key)
            raise
        self.config.responses.keep(principal, key, KeptResponse(int(resp.status_code), resp.content_type, {}, resp.data))

    def peer(self, req: falcon.Request, name: str) -> Peer:
        actor = req.context.actor
        peer = peers().get(name)
        if peer is None:
            raise Problem(falcon.HTTP_404, "sync.peer.unknown", f"There is no sync peer {name!r}; see sync/peers/.")
        if actor.role is Role.SYNC_PEER and actor.user == peer.name:
            return peer
        if self.auditors_read and actor.role is Role.AUDITOR:
            return peer
        raise Problem(falcon.HTTP_403, "sync.peer_only", f"Only {peer.name}'s own token may do this.")


class ReadFeed(_PeerRoute):
    auditors_read = True
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
        "version that conflicts is 409 with the contract's current state.",
        tag=TAG,
        path_parameters=("peer",),
        body=InboundChange,
        request_headers=("Idempotency-Key",),
        answer=APPLIED_SCHEMA,
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

        self.answer_once(req, resp, body, run)


class PostLink(_PeerRoute):
    operation = Operation(
        method="POST",
        operation_id="linkSyncExternalId",
        summary="Links the peer's own id of a contract to the ledger's (once; the same pair again changes nothing).",
        tag=TAG,
        path_parameters=("peer",),
        body=Link,
        request_headers=("Idempotency-Key",),
        answer={"type": "object", "required": ["peer", "contract_id", "external_id"]},
        refusals=(400, 401, 403, 404, 409, 413, 415, 422),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        peer = self.peer(req, params["peer"])
        body = bodies.read(req, Link)
        self.answer_once(req, resp, body, lambda: links.link(self.config.ledger, peer.name, body.contract_id, body.external_id))


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
        refusals=(400, 401, 403, 404, 413, 415, 422),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        peer = self.peer(req, params["peer"])
        body = bodies.read(req, PeerView)
        self.answer_once(req, resp, body, lambda: reconcile(self.config.ledger, self.config.views, peer, body))


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
    }
