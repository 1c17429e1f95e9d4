"""The dashboard's GET routes (issue 14): counts by status and by carrier,
agency or advisor on a day, with the stage clock, in one call; and the
contracts waiting longer than some days in a status, oldest first."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import falcon
import msgspec

from contractledger.domain.clock import today
from contractledger.domain.status import Status
from contractledger.http.config import AppConfig
from contractledger.domain.inputs import Day
from contractledger.http.pagination import key_of
from contractledger.http.problems import Problem
from contractledger.http.queries import Query
from contractledger.http.query_parameters import Paging, QueryParameters
from contractledger.projections import dashboard
from contractledger.projections.viewer import Viewer

VIEWS = ("dashboard",)


class CountParameters(QueryParameters):
    by: Annotated[dashboard.Grouping, msgspec.Meta(
        description="Count by status alone (the default), or by status and carrier, agency (a contract counts once "
        "under each agency on its chain) or advisor.")] = "status"
    on: Day | None = None
    """The business date to count on (today by default); the stage clock is answered from today on."""


class WaitingParameters(Paging, kw_only=True):
    status: Status
    longer_than_days: Annotated[int, msgspec.Meta(
        ge=0, le=36_500, description="Only contracts in the status for more than this many whole days.")]
    on: Day | None = None
    """The business date to answer for: today (the default) or later."""


def _counts(config: AppConfig, viewer: Viewer, path: dict[str, UUID], p: CountParameters) -> dashboard.DashboardCounts:
    return dashboard.dashboard_counts(config.views, viewer, by=p.by, on=p.on, today=today(config.clock))


def _waiting(config: AppConfig, viewer: Viewer, path: dict[str, UUID], p: WaitingParameters) -> list[dashboard.WaitingContract]:
    if p.on < today(config.clock):
        raise Problem(
            falcon.HTTP_400, "dashboard.waiting_before_today",
            "The waiting list is kept from today on; ask for today or a later day.", field="on",
        )
    return dashboard.waiting_contracts(
        config.views, viewer, p.status, p.longer_than_days, on=p.on,
        # one page (and one more contract, to know there is a next) read in SQL
        after=_since_and_contract_cursor(p.after), limit=p.limit + 1,
    )


def _since_and_contract_cursor(after: str | None) -> tuple[date, UUID] | None:
    """The contract (its status date and id) a cursor of the waiting list stands for."""
    if after is None:
        return None
    key = key_of(after)
    try:
        if len(key) == 2 and all(isinstance(part, str) for part in key):
            return date.fromisoformat(key[0]), UUID(key[1])
    except ValueError:
        pass
    raise Problem(
        falcon.HTTP_400, "query.cursor_invalid", "The cursor belongs to another list; start without it.", field="after",
    )


QUERIES = (
    Query(
        "dashboard_counts", "/dashboard/counts",
        "How many of the contracts you may see are in each status on a day, by carrier, agency or advisor if "
        "asked; with the stage clock: per status, how many have been in it 0-7, 8-30, 31-90 and over 90 days.",
        "dashboard", CountParameters, VIEWS, _counts, dashboard.DashboardCounts,
    ),
    Query(
        "dashboard_waiting", "/dashboard/waiting",
        "The contracts you may see that have been in a status longer than some days, oldest first.",
        "dashboard", WaitingParameters, VIEWS, _waiting, dashboard.WaitingContract,
        key=lambda c: (c.status_since.isoformat(), str(c.contract_id)),
        problems=("dashboard.waiting_before_today",),
    ),
)
