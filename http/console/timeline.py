"""``GET /console/contracts/{contract_id}``: a contract's timeline, for
auditors and the contract's parties (rules §10).

Every history entry the viewer may see, in the ledger's order: the instant
it was recorded beside the date it takes effect (a back-dated change is
marked out of line), who acted and in which role, and the details; the
contract's status over time as a band of intervals; an as-of form
(``?as_of=``) that shows the contract as the ledger knew it then; and the
hash-chain verdict for exactly the entries shown, with each one's link to
the event before it in the ledger. Auditors get the export links (CSV and
JSON lines, each with its verdict), through
``/console/contracts/{contract_id}/export``, which answers as the API's
export route does, by the same handler.

It reads through the API's own readers, with ``Viewer.of`` the session's
principal: a contract the viewer may not see is answered exactly as one
that does not exist (404 ``contract.not_found``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import falcon

from contractledger.domain.actor import Role
from contractledger.domain.clock import business_date, today
from contractledger.http.config import AppConfig
from contractledger.http.console.pages import ConsolePage, NoParameters, page_operation, render
from contractledger.http.console.sessions import ConsoleSessions, Session
from contractledger.domain.inputs import Instant
from contractledger.http.problems import Problem
from contractledger.http.queries import refuse_the_future
from contractledger.http.resources.exports import ExportHistory, ExportParameters
from contractledger.projections import contract_history, contract_status, directory, status_timeline
from contractledger.projections.audit_export import MEDIA_TYPES
from contractledger.projections.engine import chain_checkpoints
from contractledger.projections.viewer import Viewer
from contractledger.store.hashchain import ChainLink, SelectionProof, prove_in_stretches


class TimelineParameters(NoParameters):
    as_of: Instant | None = None
    """Show the contract as the ledger knew it at this instant."""


@dataclass(frozen=True)
class TimelineEntry:
    """One history entry as the page shows it."""

    entry: contract_history.HistoryEntry
    recorded_on: date
    """The business date it was recorded on."""
    actor_name: str | None
    details: list[tuple[str, str]]
    link: ChainLink | None

    @property
    def out_of_line(self) -> str | None:
        """Said beside an entry whose effective date is not the day it was recorded."""
        effective_on = self.entry.effective_on
        if effective_on is None or effective_on == self.recorded_on:
            return None
        days = abs((effective_on - self.recorded_on).days)
        plural = "s" if days != 1 else ""
        return f"back-dated {days} day{plural}" if effective_on < self.recorded_on else f"dated {days} day{plural} ahead"


def not_found() -> Problem:
    # the words the API's contract routes answer with (http/queries.py), for an id nothing has and for one hidden
    return Problem(falcon.HTTP_404, "contract.not_found", "No such contract for you; check the id.")


def shown_details(details: dict[str, Any]) -> list[tuple[str, str]]:
    """Each detail as text: a value with parts as its JSON (the template escapes all of it)."""
    return [
        (name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True))
        for name, value in sorted(details.items())
    ]


class ContractTimeline(ConsolePage):
    operation = page_operation(
        "contract_timeline",
        "A contract's timeline: its history, its status over time, as of an instant, and the hash-chain verdict.",
        path_parameters=("contract_id",), query=TimelineParameters,
    )

    def __init__(self, sessions: ConsoleSessions, config: AppConfig) -> None:
        super().__init__(sessions)
        self.config = config
        self._checkpoints_ready = False

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        assert session is not None
        as_of = req.context.parameters.as_of
        refuse_the_future(self.config.clock, as_of)
        viewer = Viewer.of(session.actor)
        contract_id: UUID = params["contract_id"]
        views, clock = self.config.views, self.config.clock
        on = business_date(clock, as_of) if as_of is not None else today(clock)
        contract = contract_status.contract(views, viewer, contract_id, on=on, as_of=as_of)
        if contract is None:
            raise not_found()
        history = contract_history.contract_history(views, viewer, contract_id, as_of=as_of)
        changes = status_timeline.status_changes(views, viewer, contract_id, as_of=as_of)
        if history is None or changes is None:
            raise not_found()
        proof = self._proof([entry.notification_id for entry in history])
        named = {*contract.chain, *(e.actor_party_id for e in history if e.actor_party_id is not None)}
        # names as the directory shows them today, as the API's /parties does: the sight of a day before a
        # termination took effect would show the terminating party the advisor's later name (rules §5)
        cards = directory.parties(views, viewer, party_ids=named, on=today(clock))
        names = {card.party_id: card.name for card in cards}
        entries = [
            TimelineEntry(
                entry, business_date(clock, entry.recorded_at),
                names.get(entry.actor_party_id) if entry.actor_party_id else None,
                shown_details(entry.details), proof.links.get(entry.notification_id) if proof else None,
            )
            for entry in history
        ]
        render(
            resp, "timeline.html", session, contract=contract, names=names, entries=entries,
            intervals=status_timeline.intervals(changes), as_of=as_of, proof=proof,
            exports=sorted(MEDIA_TYPES) if session.actor.role is Role.AUDITOR else [],
        )

    def _proof(self, positions: list[int]) -> SelectionProof | None:
        """What the hash chain proves of these entries (None: the store keeps no
        chain): the stretches of the chain that hold them, each walked from the
        checkpoint before it to the one after (from the first event, where the
        chain watch has written none yet)."""
        chained_events = getattr(self.config.ledger.recorder, "chained_events", None)
        if chained_events is None:
            return None
        if not self._checkpoints_ready:
            chain_checkpoints.ensure_schema(self.config.views)
            self._checkpoints_ready = True
        stretches = chain_checkpoints.around(self.config.views, positions)
        return prove_in_stretches(
            lambda after, up_to: chained_events(after=after, up_to=up_to), positions, stretches.__getitem__,
        )


class ContractExport(ConsolePage):
    """The export route's handler (http/resources/exports.py), for the session's principal."""

    operation = page_operation(
        "contract_export",
        "A contract's full history as JSON lines or CSV with the hash-chain verdict, as the export route answers "
        "it. Auditors only.",
        path_parameters=("contract_id",), query=ExportParameters, media_type=MEDIA_TYPES["jsonl"],
    )

    def __init__(self, sessions: ConsoleSessions, config: AppConfig) -> None:
        super().__init__(sessions)
        self.export = ExportHistory(config, "contract")

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        self.export(req, resp, **params)
