"""``GET /console/contracts``: the contracts the viewer may see, a page at a
time, each linked to its timeline.

It runs the API's own ``GET /contracts`` query (``http/resources/queries.py``:
the same reader, the same keyset pages and cursors) for the session's
principal, with its status today in the business time zone, filtered by
status when asked.
"""

from __future__ import annotations

from typing import Annotated, Any

import falcon
import msgspec

from contractledger.domain.clock import today
from contractledger.domain.status import Status
from contractledger.http.config import AppConfig
from contractledger.http.console.pages import ConsolePage, NoParameters, page_operation, render
from contractledger.http.console.sessions import ConsoleSessions, Session
from contractledger.http.pagination import page
from contractledger.http.resources.queries import QUERIES, ContractFilters
from contractledger.projections import directory
from contractledger.projections.viewer import Viewer

PAGE_SIZE = 50
CONTRACTS = next(query for query in QUERIES if query.operation_id == "contracts")


class ContractListParameters(NoParameters):
    after: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    """The cursor of the page before (its "next" link)."""
    status: Status | None = None
    """Only contracts in this status today."""


class ContractList(ConsolePage):
    operation = page_operation(
        "contracts", "The contracts you may see, a page at a time, each linked to its timeline.",
        query=ContractListParameters,
    )

    def __init__(self, sessions: ConsoleSessions, config: AppConfig) -> None:
        super().__init__(sessions)
        self.config = config

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        assert session is not None
        asked: ContractListParameters = req.context.parameters
        on = today(self.config.clock)
        filters = ContractFilters(after=asked.after, status=asked.status, on=on, limit=PAGE_SIZE)
        viewer = Viewer.of(session.actor)
        found = page(CONTRACTS.run(self.config, viewer, {}, filters), CONTRACTS.key, PAGE_SIZE)  # read in SQL: limit + 1
        parties = {party_id for contract in found["items"] for party_id in contract.chain}
        names = {card.party_id: card.name for card in directory.parties(self.config.views, viewer, party_ids=parties, on=on)}
        render(
            resp, "contracts.html", session, contracts=found["items"], next_page=found["next"], names=names,
            chosen_status=asked.status, statuses=[s.value for s in Status], on=on,
        )
