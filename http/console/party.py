"""``GET /console/parties/{party_id}``: an advisor's, a corporation's (or any
party's) page, for the session's principal (rules §1, 5, 7 and 10).

Its profile as the API's ``GET /parties/{party_id}`` answers it (after the
viewer's last contract with an advisor is terminated, the snapshot taken
then; with no contract, the directory card), said which of the three it
is; the contracts the viewer may see with the party on their chain (the
API's ``GET /contracts?party_id=``), each linked to its timeline; an
advisor's health (``GET /parties/{party_id}/health``) with every record
that makes it, each with its level and reason or its amount, its dates,
who recorded it and a link to the timeline of the contract it is on
(``GET /monitoring/{id}``, ``GET /debts/{id}``); and an advisor's
associations (``GET /parties/{party_id}/associations``). An as-of form
(``?as_of=``) shows the profile and the contracts as the ledger knew them
then, and the health on that day.

Every section runs the API's own query (``http/resources/queries.py``, ``QUERIES``) with
``Viewer.of`` the session's principal; a section whose route the viewer's
role may not call (``Query.roles``) is left out with a sentence saying so.
A party the API answers 404 for is the same not-found page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import falcon
import msgspec

from contractledger.domain.clock import business_date, today
from contractledger.domain.health import HealthStatus
from contractledger.http.config import AppConfig
from contractledger.http.console.pages import ConsolePage, NoParameters, page_operation, render
from contractledger.http.console.sessions import ConsoleSessions, Session
from contractledger.domain.inputs import Instant
from contractledger.http.pagination import page
from contractledger.http.problems import Problem
from contractledger.http.queries import Query, Versioned, refuse_the_future
from contractledger.http.query_parameters import Paging
from contractledger.http.resources.queries import QUERIES, AsOf, ContractFilters, OnADay
from contractledger.http.route_roles import NAMES
from contractledger.projections import directory, oversight_records
from contractledger.projections.oversight_records import Debt, Monitoring
from contractledger.projections.viewer import Viewer

CONTRACTS_SHOWN = 50
ASSOCIATIONS_SHOWN = 100
SECTION_LABELS = {
    "identifiers": "Identifiers",
    "addresses": "Addresses",
    "errors_and_omissions": "E&O (errors and omissions)",
    "attributes": "Attributes",
}


def _query(operation_id: str) -> Query:
    return next(query for query in QUERIES if query.operation_id == operation_id)


PROFILE, CONTRACTS, HEALTH = _query("party_profile"), _query("contracts"), _query("health_status")
ASSOCIATIONS, MONITORING, DEBT = _query("associations"), _query("monitoring_record"), _query("debt_record")


class PartyParameters(NoParameters):
    as_of: Instant | None = None
    """Show the party as the ledger knew it at this instant."""
    after: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    """The cursor of the contracts shown before (their "next" link)."""


@dataclass(frozen=True)
class Contributing:
    """One record that makes the party's health, as the page shows it."""

    record: Monitoring | Debt

    @property
    def is_monitoring(self) -> bool:
        return isinstance(self.record, Monitoring)

    @property
    def recorded_by(self) -> UUID:
        return self.record.placed_by if isinstance(self.record, Monitoring) else self.record.logged_by


@dataclass(frozen=True)
class Withheld:
    """A section whose route the viewer's role may not call: said in one sentence."""

    sentence: str


def withheld(query: Query, session: Session, what: str) -> Withheld | None:
    """None when the viewer's role may call the query's route (http/route_roles.py)."""
    if session.actor.role in query.roles:
        return None
    named = NAMES.get(session.actor.role, session.actor.role.value.replace("_", " "))
    return Withheld(f"{what} are not shown: {named} may not read them ({query.path}).")


def not_found() -> Problem:
    # the words the API's party route answers with (http/queries.py), for an id nothing has
    return Problem(falcon.HTTP_404, PROFILE.missing, "No such party for you; check the id.")


def profile_sections(profile: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Each section of the profile but its name, as lines of text (the template escapes them)."""
    return [
        (SECTION_LABELS.get(section, section.replace("_", " ").capitalize()), _lines(value))
        for section, value in sorted(profile.items())
        if section != "name"
    ]


def _lines(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{key}: {_text(part)}" for key, part in sorted(value.items())]
    if isinstance(value, list):
        return [_text(part) for part in value] or ["none"]
    return [_text(value)]


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_text(part)}" for key, part in sorted(value.items()))
    if isinstance(value, list):
        return ", ".join(_text(part) for part in value)
    return "none" if value is None else str(value)


class PartyPage(ConsolePage):
    operation = page_operation(
        "party",
        "A party's page: its profile as you may read it (after a termination, the snapshot taken then), as of an "
        "instant; its contracts; an advisor's health with the records that make it; its associations.",
        path_parameters=("party_id",), query=PartyParameters,
    )

    def __init__(self, sessions: ConsoleSessions, config: AppConfig) -> None:
        super().__init__(sessions)
        self.config = config

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        assert session is not None
        asked: PartyParameters = req.context.parameters
        as_of = asked.as_of
        refuse_the_future(self.config.clock, as_of)
        viewer, config = Viewer.of(session.actor), self.config
        party_id: UUID = params["party_id"]
        path = {"party_id": party_id}
        now = today(config.clock)
        on = business_date(config.clock, as_of) if as_of is not None else now
        # as the API's party route asks it: the sight the viewer has today, the profile as the ledger knew it then
        found = PROFILE.run(config, viewer, path, AsOf(on=now, as_of=as_of))
        if found is None:
            raise not_found()
        profile = found.item if isinstance(found, Versioned) else found
        sight = directory.party_sight(config.views, viewer, party_id, on=now, as_of=as_of)
        (card,) = directory.parties(config.views, viewer, party_ids=[party_id], on=now)
        is_advisor = card.kind == "advisor"

        contracts = withheld(CONTRACTS, session, "Contracts") or page(
            CONTRACTS.run(config, viewer, {}, ContractFilters(
                party_id=party_id, on=on, as_of=as_of, after=asked.after, limit=CONTRACTS_SHOWN,
            )),
            CONTRACTS.key, CONTRACTS_SHOWN,  # read in SQL: limit + 1
        )
        health: HealthStatus | Withheld | None = None
        records: list[Contributing] | Withheld = []
        associations: dict[str, Any] | Withheld | None = None
        if is_advisor:
            health = withheld(HEALTH, session, "Health statuses") or HEALTH.run(config, viewer, path, OnADay(on=on))
            if isinstance(health, HealthStatus):
                records = self._contributing(session, viewer, health)
            associations = withheld(ASSOCIATIONS, session, "Associations") or page(
                ASSOCIATIONS.run(config, viewer, path, Paging(limit=ASSOCIATIONS_SHOWN)),
                ASSOCIATIONS.key, ASSOCIATIONS_SHOWN,
            )

        named = {party_id}
        if isinstance(contracts, dict):
            named.update(p for contract in contracts["items"] for p in contract.chain)
        if isinstance(records, list):
            named.update(p for shown in records for p in (shown.recorded_by, shown.record.advisor_id))
        if isinstance(associations, dict):
            named.update(associations["items"])
        # names as the directory shows them today: a past day's sight could show a terminating party later names
        names = {c.party_id: c.name for c in directory.parties(config.views, viewer, party_ids=named, on=now)}
        render(
            resp, "party.html", session, party_id=party_id, card=card, profile=profile, name=profile.get("name"),
            sections=profile_sections(profile), sight=sight, as_of=as_of, on=on, contracts=contracts,
            health=health, records=records, associations=associations, names=names,
        )

    def _contributing(self, session: Session, viewer: Viewer, health: HealthStatus) -> list[Contributing] | Withheld:
        """Each record the health names, read as the API's record routes read
        them (the viewer's rule on records in SQL): one query per kind."""
        for query, what in ((MONITORING, "Monitoring records"), (DEBT, "Debt records")):
            refused = withheld(query, session, what)
            if refused is not None:
                return refused
        shown: list[Contributing] = []
        for read, record_ids in ((oversight_records.monitoring_records, health.monitoring_record_ids),
                                 (oversight_records.debt_records, health.debt_record_ids)):
            if record_ids:  # the health counted only records the viewer may see: each is there
                found = {r.record_id: r for r in read(self.config.views, viewer, record_ids=record_ids)}
                shown.extend(Contributing(found[i]) for i in record_ids if i in found)
        return shown
