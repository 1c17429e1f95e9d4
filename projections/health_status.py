"""Health status of advisors and corporations (rules §7), computed per viewer.

No table of its own: a health status depends on who asks (rules §7: a viewer
sees a health status computed only from records it may see), so storing one
per party would need one per viewer. Instead the facts are stored once, by
the views that own them (records in the oversight records view, chains in
the contract status view, associations in the directory), and each query
computes the status with :func:`contractledger.domain.health.health_status`,
the same rule the domain applies. The cost is the records of the advisors
asked about (plus their associated individuals' for a corporation), read
in one query per kind of record: a page of health statuses costs the page.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from contractledger.domain.health import HealthStatus, health_status as compute_health
from contractledger.projections.directory import read_advisor_ids, read_corporations_of_individuals
from contractledger.projections.oversight_records import health_facts
from contractledger.projections.engine.queries import Reading, business_today, reading
from contractledger.projections.engine.view_database import ViewDatabase
from contractledger.projections.viewer import Viewer


def _healths(read: Reading, viewer: Viewer, party_ids: list[UUID], on: date) -> list[HealthStatus]:
    # a corporation's health counts its associated individuals' records; never the reverse
    corporations_of_individuals = read_corporations_of_individuals(read, party_ids)
    advisors = set(party_ids) | set(corporations_of_individuals)
    monitoring, debts = health_facts(read, viewer, sorted(advisors))
    # each party is handed the records on its own contracts and its individuals', not the page's every record
    # (a page of 50 advisors would judge 50 times every record of all of them)
    concerned: dict[UUID, set[UUID]] = {party_id: {party_id} for party_id in party_ids}
    for individual, corporations in corporations_of_individuals.items():
        for corporation in corporations:
            concerned.setdefault(corporation, set()).add(individual)
    monitoring_on, debts_on = _by_advisor(monitoring), _by_advisor(debts)
    return [
        compute_health(
            party_id,
            viewer=viewer.actor,
            on=on,
            monitoring=_in_read_order(monitoring_on, concerned[party_id]),
            debts=_in_read_order(debts_on, concerned[party_id]),
            corporations_of_individuals=corporations_of_individuals,
        )
        for party_id in party_ids
    ]


def _by_advisor(records: list[Any]) -> dict[UUID, list[tuple[int, Any]]]:
    """The records by the advisor whose contract each is on, each with its place in the reading."""
    found: dict[UUID, list[tuple[int, Any]]] = {}
    for place, record in enumerate(records):
        found.setdefault(record.advisor_id, []).append((place, record))
    return found


def _in_read_order(by_advisor: dict[UUID, list[tuple[int, Any]]], advisors: set[UUID]) -> list[Any]:
    """The records on these advisors' contracts, in the order they were read."""
    return [record for _, record in sorted(pair for advisor in advisors for pair in by_advisor.get(advisor, ()))]


def health_status(database: ViewDatabase, viewer: Viewer, party_id: UUID, *, on: date | None = None) -> HealthStatus:
    """rules §7: the advisor's or corporation's highest monitoring level in force
    on ``on`` and whether unresolved debt exists, with the contributing
    records, counting only the records ``viewer`` may see (rules §6). Records
    on an individual advisor's contracts also count for its corporations."""
    with reading(database) as read:
        return _healths(read, viewer, [party_id], on or business_today())[0]


def health_statuses(
    database: ViewDatabase, viewer: Viewer, *, on: date | None = None, after: UUID | None = None,
    limit: int | None = None,
) -> list[HealthStatus]:
    """rules §7: the health of every advisor (individual or corporate) as
    ``viewer`` may know it, flagged ones and clear ones alike.

    In the order of the advisors' ids; ``after`` (an advisor's id) and
    ``limit`` read one page of advisors, and only their records."""
    on = on or business_today()
    with reading(database) as read:
        return _healths(read, viewer, read_advisor_ids(read, after=after, limit=limit), on)
