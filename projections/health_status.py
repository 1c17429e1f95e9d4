"""Health status of advisors and corporations (SPEC 7), computed per viewer.

No table of its own: a health status depends on who asks (SPEC 7: a viewer
sees a health status computed only from records it may see), so storing one
per party would need one per viewer. Instead the facts are stored once, by
the views that own them (records in the oversight records view, chains in
the contract status view, associations in the directory), and each query
computes the status with :func:`contractledger.domain.health.health_status`,
the same rule the domain applies. The cost is one advisor's records (plus
its associated individuals' for a corporation) per query.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from contractledger.domain.health import HealthStatus, health_status as compute_health
from contractledger.projections.directory import DirectoryView, read_corporations_of_individuals
from contractledger.projections.oversight_records import health_facts
from contractledger.projections.queries import Reading, business_today, reading
from contractledger.projections.view_database import ViewDatabase
from contractledger.projections.viewer import Viewer


def _health(read: Reading, viewer: Viewer, party_id: UUID, on: date) -> HealthStatus:
    corporations_of_individuals = read_corporations_of_individuals(read)
    # a corporation's health counts its associated individuals' records; never the reverse
    advisors = {party_id} | {i for i, corporations in corporations_of_individuals.items() if party_id in corporations}
    monitoring, debts = health_facts(read, viewer, sorted(advisors))
    return compute_health(
        party_id,
        viewer=viewer.actor,
        on=on,
        monitoring=monitoring,
        debts=debts,
        corporations_of_individuals=corporations_of_individuals,
    )


def health_status(database: ViewDatabase, viewer: Viewer, party_id: UUID, *, on: date | None = None) -> HealthStatus:
    """SPEC 7: the advisor's or corporation's highest monitoring level in force
    on ``on`` and whether unresolved debt exists, with the contributing
    records, counting only the records ``viewer`` may see (SPEC 6). Records
    on an individual advisor's contracts also count for its corporations."""
    with reading(database) as read:
        return _health(read, viewer, party_id, on or business_today())


def health_statuses(database: ViewDatabase, viewer: Viewer, *, on: date | None = None) -> list[HealthStatus]:
    """SPEC 7: the health of every advisor (individual or corporate) as
    ``viewer`` may know it, flagged ones and clear ones alike."""
    on = on or business_today()
    with reading(database) as read:
        t = read.tables(DirectoryView)
        advisor_ids = [UUID(p) for (p,) in read.rows(f"SELECT party_id FROM {t['parties']} WHERE kind = ? ORDER BY party_id", ["advisor"])]
        return [_health(read, viewer, advisor_id, on) for advisor_id in advisor_ids]
