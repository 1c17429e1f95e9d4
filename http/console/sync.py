"""``GET /console/sync``: the operator's sync page (rules §1: operators run
the service, dead letters included; rules §9).

For every configured peer (``sync/peers/``): its backlog (the items of its
feed it has not acknowledged, and those push delivery has not delivered:
not yet taken from the feed, or waiting in the outbox), its endpoint's last
attempt (when, which item, delivered or why not), whether delivery is
paused, its dead letters (the page ``GET /sync/{peer}/dead-letters``
answers, by the same reader) and its last reconciliation's discrepancies.

Its forms replay dead letters (one, or every one) and resume a paused
peer: ``POST /console/sync/{peer}/replay`` and ``/resume`` run what the
API's ``/sync/{peer}/dead-letters/replay`` and ``/sync/{peer}/resume``
run, with the same refusals, then send the browser back to the page (303).

Only operators: any other principal is refused as the API's operator
routes refuse it (403 ``sync.operator_only``), and an unknown peer is the
API's 404 ``sync.peer.unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import falcon
import msgspec
from contractledger.domain.actor import Role
from contractledger.http.bodies import invalid_field
from contractledger.http.config import AppConfig
from contractledger.http.console.pages import (
    CONSOLE,
    ConsoleForm,
    ConsolePage,
    page_operation,
    render,
    see_other,
)
from contractledger.http.console.sessions import ConsoleSessions, Session
from contractledger.http.resources.sync import (
    DeadLetterParameters,
    Replay,
    ReplayDeadLetters,
    ResumeDelivery,
    dead_letter_page,
    delivery_peer,
    operators_only,
    replay_dead_letters,
    resume_delivery,
)
from contractledger.projections.engine.view_database import ViewDatabase
from contractledger.sync import delivery_state, feed, reconciliations
from contractledger.sync.peer import Peer, peers

SYNC_PAGE = f"{CONSOLE}/sync"
DEAD_LETTERS_SHOWN = 100  # the API's page of dead letters
DISCREPANCIES_SHOWN = 100
BACKLOG_COUNTED = 10_000
"""A feed's backlog is counted up to this many items; past it the page says "more than": a peer that never
acknowledged a 250,000-contract book has millions, and counting them took the page 33 s."""


@dataclass(frozen=True)
class PeerStanding:
    """Where one peer's sync stands, as the page shows it."""

    peer: Peer
    acknowledged: tuple[int, str] | None
    """The position the peer last acknowledged, and when."""
    unacknowledged: int
    """Items of its feed after that position."""
    taken: int
    """The feed position push delivery has taken (sent, or queued in the outbox)."""
    not_taken: int
    waiting: int
    """Items in the outbox, waiting for (re)delivery."""
    paused_because: str | None
    last_attempt: delivery_state.Attempt | None
    dead_letter_count: int
    dead_letters: list[dict[str, Any]]
    """The first page of them, as the API answers it."""
    reconciliation: reconciliations.Reconciliation | None

    @property
    def undelivered(self) -> int:
        return self.not_taken + self.waiting


def said(side: Mapping[str, Any] | None) -> str:
    """One side of a discrepancy (the ledger's, the peer's) as a line of text."""
    if not side:
        return ""
    parts = []
    for name, value in side.items():
        shown = (", ".join(value) or "none") if isinstance(value, list) else str(value)
        parts.append(f"{name.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


class _DeliveryTables:
    """The delivery worker's tables, made when it has not run yet (as the API's delivery routes make them)."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self._ready = False

    @property
    def views(self) -> ViewDatabase:
        if not self._ready:
            delivery_state.ensure_schema(self.config.views)
            self._ready = True
        return self.config.views


class SyncPage(ConsolePage):
    operation = page_operation(
        "sync",
        "Each sync peer's backlog, last delivery, dead letters (to replay) and last reconciliation. Operators only.",
    )

    def __init__(self, sessions: ConsoleSessions, config: AppConfig) -> None:
        super().__init__(sessions)
        self.tables = _DeliveryTables(config)

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        assert session is not None
        if session.actor.role not in ReplayDeadLetters.operation.roles:  # the page is there to act on delivery
            raise operators_only()
        views = self.tables.views
        counts = delivery_state.backlog(views)
        standings = [self._standing(views, peer, counts.get(peer.name, (0, 0))[1]) for peer in peers().values()]
        render(resp, "sync.html", session, standings=standings, said=said, discrepancies_shown=DISCREPANCIES_SHOWN,
               backlog_counted=BACKLOG_COUNTED)

    def _standing(self, views: ViewDatabase, peer: Peer, dead_letter_count: int) -> PeerStanding:
        page = dead_letter_page(views, peer, DeadLetterParameters(limit=DEAD_LETTERS_SHOWN))
        acknowledged = feed.acknowledgement(views, peer.name)
        taken = delivery_state.taken(views, peer.name)
        return PeerStanding(
            peer=peer,
            acknowledged=acknowledged,
            unacknowledged=feed.items_after(views, peer.name, acknowledged[0] if acknowledged else 0, at_most=BACKLOG_COUNTED),
            taken=taken,
            not_taken=feed.items_after(views, peer.name, taken, at_most=BACKLOG_COUNTED),
            waiting=page["waiting"],
            paused_because=page["paused_because"],
            last_attempt=delivery_state.last_attempt(views, peer.name),
            dead_letter_count=dead_letter_count,
            dead_letters=page["dead_letters"],
            reconciliation=reconciliations.last(views, peer.name),
        )


def back_to_the_peer(resp: falcon.Response, peer: Peer) -> None:
    see_other(resp, f"{SYNC_PAGE}#peer-{peer.name}")


class _PeerForm(ConsoleForm):
    """A form of one peer's (the path's ``peer``): refused as the API's route of the same work
    refuses its caller, then done, then back to the peer's section of the page."""

    roles: tuple[Role, ...]

    def __init__(self, sessions: ConsoleSessions, config: AppConfig) -> None:
        super().__init__(sessions)
        self.tables = _DeliveryTables(config)

    def submitted(
        self, req: falcon.Request, resp: falcon.Response, session: Session, form: Mapping[str, str], **params: Any
    ) -> None:
        peer = delivery_peer(session.actor, params["peer"], self.roles)
        self.for_peer(resp, peer, form)
        back_to_the_peer(resp, peer)

    def for_peer(self, resp: falcon.Response, peer: Peer, form: Mapping[str, str]) -> None:
        raise NotImplementedError  # pragma: no cover


class ReplayForm(_PeerForm):
    """The replay buttons: one dead letter (``item_id``), or every one (no ``item_id``)."""

    operation = page_operation(
        "sync_replay", "Put a peer's dead letters back for delivery, as the API's replay does. Operators only.",
        method="POST", path_parameters=("peer",), query=None,
    )

    roles = ReplayDeadLetters.operation.roles

    def for_peer(self, resp: falcon.Response, peer: Peer, form: Mapping[str, str]) -> None:
        asked = {"item_ids": [form["item_id"]]} if "item_id" in form else {}
        try:
            body = msgspec.convert(asked, Replay)  # the API's body, bounds and all
        except msgspec.ValidationError as error:
            raise invalid_field("item_id", f"The dead letter's id is not one: {error}.") from None
        replay_dead_letters(self.tables.views, peer, body)


class ResumeForm(_PeerForm):
    operation = page_operation(
        "sync_resume", "Resume push delivery to a paused peer, as the API's resume does. Operators only.",
        method="POST", path_parameters=("peer",), query=None,
    )

    roles = ResumeDelivery.operation.roles

    def for_peer(self, resp: falcon.Response, peer: Peer, form: Mapping[str, str]) -> None:
        resume_delivery(self.tables.views, peer)
