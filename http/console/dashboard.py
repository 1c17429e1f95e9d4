"""``GET /console/dashboard``: the contracting team's dashboard, for the book
of the signed-in viewer.

Each section is the answer of one of the API's own GET routes, run by its
:class:`~contractledger.http.queries.Query` for ``Viewer.of`` the session's
principal, exactly as the API answers that principal (issue 14, rules §4,
5 and 8):

- the counts by status (``/dashboard/counts``) on a day, today by default
  or the one asked (``?on=``);
- the stage clock of the pending statuses (the same answer, for today), and
  the contracts waiting longest in them (``/dashboard/waiting``, oldest
  first across those statuses);
- the mixed bundles (``/mixed-bundles``), which must not exist: shown at the
  top of the page, as an alert, when one does;
- the open transfer requests (``/transfer-requests``, requested or awaiting
  a relationship), the oldest first;
- the open reminder tasks (``/tasks``), soonest first;
- the most recent notifications (``/notifications``), newest first.

A role the route does not serve (``Query.roles``, ``http/route_roles.py``)
does not get its section: the page says so in a sentence instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import falcon

from contractledger.domain.actor import Actor
from contractledger.domain.clock import today
from contractledger.domain.status import PENDING, Status
from contractledger.http.resources import dashboard as dashboard_routes
from contractledger.http.resources import queries as read_routes
from contractledger.http.config import AppConfig
from contractledger.http.console.pages import ConsolePage, NoParameters, page_operation, render
from contractledger.http.console.sessions import ConsoleSessions, Session
from contractledger.domain.inputs import Day
from contractledger.http.pagination import page
from contractledger.http.queries import Query
from contractledger.http.query_parameters import Paging
from contractledger.http.route_roles import NAMES
from contractledger.projections import directory
from contractledger.projections.dashboard import AGE_BUCKETS, DashboardCounts, StageAges, WaitingContract
from contractledger.projections.tasks_and_notifications import Notification
from contractledger.projections.transfer_requests import RequestState, TransferRequest
from contractledger.projections.viewer import Viewer


def _query(queries: Sequence[Query], operation_id: str) -> Query:
    return next(query for query in queries if query.operation_id == operation_id)


COUNTS = _query(dashboard_routes.QUERIES, "dashboard_counts")
WAITING = _query(dashboard_routes.QUERIES, "dashboard_waiting")
MIXED_BUNDLES = _query(read_routes.QUERIES, "mixed_bundles")
TRANSFER_REQUESTS = _query(read_routes.QUERIES, "transfer_requests")
TASKS = _query(read_routes.QUERIES, "tasks")
NOTIFICATIONS = _query(read_routes.QUERIES, "notifications")

SHOWN = 10
"""How many of a list a section shows (the oldest, soonest or newest, as the section says)."""
OPEN_REQUESTS = (RequestState.REQUESTED, RequestState.AWAITING_RELATIONSHIP)
PENDING_ORDER = tuple(status for status in Status if status in PENDING)
NOTIFICATIONS_PAGE = 500
FIRST_WINDOW = 256
"""The ledger positions the newest notifications are first looked for in (then four times as many, each time)."""


class DashboardParameters(NoParameters):
    on: Day | None = None
    """Count the contracts on this business date (today by default)."""


@dataclass(frozen=True)
class Listed:
    """A section's list: the items shown, and whether the API's list has more."""

    items: list[Any] = field(default_factory=list)
    more: bool = False


def withheld(query: Query, actor: Actor) -> str | None:
    """The sentence shown instead of a section whose route the principal's role may not call."""
    if actor.role in query.roles:
        return None
    return f"{NAMES[actor.role].capitalize()} may not call {query.path}, so this section is not shown to you."


def first_page(config: AppConfig, query: Query, viewer: Viewer, parameters: Any) -> tuple[list[Any], str | None]:
    """One page of a list route, read as the API reads it: its items and the cursor of the next, if any."""
    found = page(query.run(config, viewer, {}, parameters), query.key, parameters.limit)  # type: ignore[arg-type]
    return found["items"], found["next"]


def waiting_longest(config: AppConfig, viewer: Viewer, statuses: Sequence[Status], on: date) -> Listed:
    """The contracts in a pending status since before ``on``, oldest first across
    the statuses: each status's oldest, merged (one index range per status)."""
    found: list[WaitingContract] = []
    more = False
    for status in statuses:
        parameters = dashboard_routes.WaitingParameters(status=status, longer_than_days=0, on=on, limit=SHOWN)
        items, after = first_page(config, WAITING, viewer, parameters)
        found += items
        more = more or after is not None
    found.sort(key=lambda c: (c.status_since, str(c.contract_id)))
    return Listed(found[:SHOWN], more or len(found) > SHOWN)


def open_transfer_requests(config: AppConfig, viewer: Viewer) -> Listed:
    """The open requests the viewer may see (requested, or accepted awaiting a relationship), in the ledger's order."""
    found: list[TransferRequest] = []
    more = False
    for state in OPEN_REQUESTS:
        parameters = read_routes.TransferRequestFilters(state=state, limit=SHOWN)
        items, after = first_page(config, TRANSFER_REQUESTS, viewer, parameters)
        found += items
        more = more or after is not None
    found.sort(key=lambda r: r.position)
    return Listed(found[:SHOWN], more or len(found) > SHOWN)


def recent_notifications(config: AppConfig, viewer: Viewer, on: date) -> Listed:
    """The newest of the ledger's notifications to the viewer's party, newest first.

    The API lists them in the ledger's order from a position, so they are
    read from the last few positions of the ledger, then from four times as
    many back each time, until there are enough or the list starts at the
    ledger's first: a party told often costs one short read, a quiet one a
    few index lookups more. Reminders due (listed after them, without a
    position) are the tasks' section's."""
    newest = config.ledger.recorder.max_notification_id() or 0
    window = FIRST_WINDOW
    while True:
        since = max(0, newest - window)
        told: list[Notification] = []
        after: str | None = None
        while True:
            parameters = read_routes.NotificationFilters(
                since_position=since, on=on, after=after, limit=NOTIFICATIONS_PAGE
            )
            items, after = first_page(config, NOTIFICATIONS, viewer, parameters)
            positioned = [n for n in items if n.notification_id is not None]
            told += positioned
            if after is None or len(positioned) < len(items):
                break  # the end of the list, or its reminders: every notification from ``since`` is read
        if len(told) > SHOWN or since == 0:
            return Listed(told[::-1][:SHOWN], len(told) > SHOWN)
        window *= 4


@dataclass(frozen=True)
class Dashboard:
    """What the page shows; a section of None is one the viewer's role does not get (see ``withheld``)."""

    today: date
    counts: DashboardCounts | None
    stage_clock: tuple[StageAges, ...] | None
    waiting: Listed | None
    mixed_bundles: Listed | None
    transfer_requests: Listed | None
    tasks: Listed | None
    notifications: Listed | None
    withheld: dict[str, str]
    names: dict[UUID, str]
    contracts_seen: frozenset[UUID]
    """The open requests' contracts the viewer may see (linked to their timelines): an accepting
    entity sees the request, not the contract (rules §5)."""


class ContractingDashboard(ConsolePage):
    operation = page_operation(
        "dashboard",
        "The contracting team's dashboard for your book: counts by status, the stage clock and who waits longest, "
        "mixed bundles, open transfer requests, tasks due and recent notifications.",
        query=DashboardParameters,
    )

    def __init__(self, sessions: ConsoleSessions, config: AppConfig) -> None:
        super().__init__(sessions)
        self.config = config

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        assert session is not None
        asked: DashboardParameters = req.context.parameters
        dashboard = self.read(Viewer.of(session.actor), asked.on)
        render(resp, "dashboard.html", session, dashboard=dashboard, age_buckets=AGE_BUCKETS)

    def read(self, viewer: Viewer, on: date | None) -> Dashboard:
        config, actor = self.config, viewer.actor
        now = today(config.clock)
        shown = {
            name: withheld(query, actor) for name, query in (
                ("counts", COUNTS), ("waiting", WAITING), ("mixed_bundles", MIXED_BUNDLES),
                ("transfer_requests", TRANSFER_REQUESTS), ("tasks", TASKS), ("notifications", NOTIFICATIONS),
            )
        }
        counts = stage_clock = waiting = mixed = requests = tasks = notifications = None
        if shown["counts"] is None:
            counts = COUNTS.run(config, viewer, {}, dashboard_routes.CountParameters(on=on or now))
            clock_today = counts if counts.on == now else COUNTS.run(
                config, viewer, {}, dashboard_routes.CountParameters(on=now)
            )
            stage_clock = tuple(ages for ages in clock_today.stage_clock or () if ages.status in PENDING)
        if shown["waiting"] is None:
            pending = [ages.status for ages in stage_clock] if stage_clock is not None else PENDING_ORDER
            waiting = waiting_longest(config, viewer, pending, now)
        if shown["mixed_bundles"] is None:
            items, after = first_page(config, MIXED_BUNDLES, viewer, Paging(limit=SHOWN))
            mixed = Listed(items, after is not None)
        if shown["transfer_requests"] is None:
            requests = open_transfer_requests(config, viewer)
        if shown["tasks"] is None:
            items, after = first_page(config, TASKS, viewer, read_routes.TaskFilters(limit=SHOWN))
            tasks = Listed(items, after is not None)
        if shown["notifications"] is None:
            notifications = recent_notifications(config, viewer, now)
        parties = {
            party_id for r in (requests.items if requests else ())
            for party_id in (r.relinquishing_entity_id, r.accepting_entity_id)
        }
        cards = directory.parties(config.views, viewer, party_ids=parties, on=now)
        return Dashboard(
            now, counts, stage_clock, waiting, mixed, requests, tasks, notifications,
            {name: sentence for name, sentence in shown.items() if sentence is not None},
            {card.party_id: card.name for card in cards},
            frozenset(r.contract_id for r in (requests.items if requests else ()) if viewer.may_see_contract(r.chain)),
        )
