"""Directory view (SPEC 1 and 2): parties with their kind, level, advisor kind
and profile (as it stands and as it was at any past instant), individual
advisors' associations with corporations, and the direct relationships
between organisations.

Every profile change is kept, so a profile as the ledger knew it at an
instant is the registration plus the changes recorded by then (SPEC 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from contractledger.domain.bundle import Bundle
from contractledger.domain.command_record import CommandRecord
from contractledger.domain.contract import Contract
from contractledger.domain.debt import DebtRecord
from contractledger.domain.monitoring import MonitoringRecord
from contractledger.domain.oversight import AdvisorRecordIndex
from contractledger.domain.party import Party
from contractledger.domain.relationship_index import DirectRelationships
from contractledger.domain.status import Status
from contractledger.domain.triggers import TriggerSettings
from contractledger.projections.contract_status import ContractStatus, END_OF_TIME, read_contracts
from contractledger.projections.queries import Reading, business_today, ensure_instant, reading
from contractledger.projections.rows import (
    AppendBuffer,
    BufferedView,
    UpsertBuffer,
    id_text,
    instant_text,
    json_from,
    json_text,
)
from contractledger.projections.view import handles
from contractledger.projections.view_database import ViewDatabase, ViewTransaction
from contractledger.projections.viewer import Viewer

PARTY_COLUMNS = ("party_id", "kind", "advisor_kind", "level", "name", "identifiers", "profile", "registered_at")


class DirectoryView(BufferedView):
    name = "directory"
    rebuild_cost = 3.5
    tables = ("parties", "profile_changes", "associations", "direct_relationships")
    ignores = (
        Contract.Event,
        Bundle.Event,
        DirectRelationships.Event,
        MonitoringRecord.Event,
        DebtRecord.Event,
        TriggerSettings.Event,
        AdvisorRecordIndex.Event,
        CommandRecord.Event,
    )

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.parties: UpsertBuffer = self.buffer(UpsertBuffer, "parties", PARTY_COLUMNS)
        self.profile_changes: AppendBuffer = self.buffer(
            AppendBuffer, "profile_changes", ("party_id", "version", "recorded_at", "changes")
        )
        self.relationships: AppendBuffer = self.buffer(
            AppendBuffer, "direct_relationships", ("contract_id", "upper_id", "lower_id", "requested_at")
        )

    def schema(self) -> list[str]:
        t = self.t
        return [
            f"CREATE TABLE IF NOT EXISTS {t['parties']} (party_id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
            " advisor_kind TEXT, level TEXT, name TEXT NOT NULL, identifiers TEXT, profile TEXT NOT NULL,"
            " registered_at TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t['profile_changes']} (party_id TEXT NOT NULL, version INTEGER NOT NULL,"
            " recorded_at TEXT NOT NULL, changes TEXT NOT NULL, PRIMARY KEY (party_id, version))",
            f"CREATE TABLE IF NOT EXISTS {t['associations']} (individual_id TEXT NOT NULL,"
            " corporation_id TEXT NOT NULL, associated_at TEXT NOT NULL, PRIMARY KEY (individual_id, corporation_id))",
            f"CREATE TABLE IF NOT EXISTS {t['direct_relationships']} (contract_id TEXT PRIMARY KEY,"
            " upper_id TEXT NOT NULL, lower_id TEXT NOT NULL, requested_at TEXT NOT NULL)",
        ]

    @handles(Party.Registered)
    def registered(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        party_id, at = id_text(e.originator_id), instant_text(e.timestamp)
        profile = json_text(e.profile)
        self.parties.add(
            {
                "party_id": party_id,
                "kind": e.kind,
                "advisor_kind": e.advisor_kind,
                "level": e.level,
                "name": str(e.profile.get("name", "")),
                "identifiers": json_text(e.profile.get("identifiers")),
                "profile": profile,
                "registered_at": at,
            }
        )
        self.profile_changes.append(party_id, e.originator_version, at, profile)

    @handles(Party.ProfileChanged)
    def profile_changed(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        party_id = id_text(e.originator_id)
        row = self.parties.get(tx, party_id)
        profile = {**json_from(row["profile"]), **json_from(json_text(e.changes))}
        row.update(profile=json_text(profile), name=str(profile.get("name", "")), identifiers=json_text(profile.get("identifiers")))
        self.profile_changes.append(party_id, e.originator_version, instant_text(e.timestamp), json_text(e.changes))

    # associations are rare: written at once rather than buffered
    @handles(Party.AssociatedWithCorporation)
    def associated(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        tx.execute(
            f"INSERT INTO {self.t['associations']} (individual_id, corporation_id, associated_at) VALUES (?, ?, ?)",
            (id_text(e.originator_id), id_text(e.corporation_id), instant_text(e.timestamp)),
        )

    @handles(Party.DissociatedFromCorporation)
    def dissociated(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        tx.execute(
            f"DELETE FROM {self.t['associations']} WHERE individual_id = ? AND corporation_id = ?",
            (id_text(e.originator_id), id_text(e.corporation_id)),
        )

    @handles(Contract.DirectRelationshipRequested)
    def relationship_requested(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        upper, lower = e.chain
        self.relationships.append(id_text(e.originator_id), id_text(upper), id_text(lower), instant_text(e.timestamp))


# ---- reading ------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyCard:
    """What the directory shows of every party to every viewer."""

    party_id: UUID
    kind: str
    advisor_kind: str | None
    level: str | None
    name: str
    identifiers: Any


def parties(database: ViewDatabase, viewer: Viewer, *, kind: str | None = None) -> list[PartyCard]:
    """SPEC 1: the directory of parties (kind, level, advisor kind, name and
    identifiers), which every viewer may search to find whom to contract
    with. The rest of a profile is read through :func:`party_profile`."""
    with reading(database) as read:
        t = read.tables(DirectoryView)
        sql = f"SELECT party_id, kind, advisor_kind, level, name, identifiers FROM {t['parties']}"
        rows = read.rows(sql + " WHERE kind = ? ORDER BY name, party_id", [kind]) if kind else read.rows(sql + " ORDER BY name, party_id")
    return [PartyCard(UUID(p), k, a, lv, n, json_from(i)) for p, k, a, lv, n, i in rows]


def read_profile(read: Reading, party_id: UUID, as_of: datetime | None = None) -> dict[str, Any] | None:
    t = read.tables(DirectoryView)
    rows = read.rows(
        f"SELECT changes FROM {t['profile_changes']} WHERE party_id = ? AND recorded_at <= ? ORDER BY version",
        [id_text(party_id), instant_text(as_of) if as_of else END_OF_TIME],
    )
    if not rows:
        return None
    profile: dict[str, Any] = {}
    for (changes,) in rows:
        profile.update(json_from(changes))
    return profile


def party_profile(
    database: ViewDatabase, viewer: Viewer, party_id: UUID, *, on: date | None = None, as_of: datetime | None = None
) -> dict[str, Any] | None:
    """SPEC 1, 5 and 10: a party's profile as ``viewer`` may read it on ``on``.

    For an advisor, a party whose every contract with the advisor is
    terminated on ``on`` (the termination has taken effect) reads the
    snapshot recorded at termination, not the later changes; reactivation
    lifts that. A party with no contract with the advisor reads only its
    directory card (name and identifiers). The advisor itself, auditors and
    sync peers read the profile; ``as_of`` reads it as the ledger knew it
    then. None when there is no such party."""
    ensure_instant(as_of)
    on = on or business_today()
    with reading(database) as read:
        profile = read_profile(read, party_id, as_of)
        if profile is None:
            return None
        t = read.tables(DirectoryView)
        (kind,) = read.rows(f"SELECT kind FROM {t['parties']} WHERE party_id = ?", [id_text(party_id)])[0]
        if kind != "advisor" or viewer.sees_every_contract or viewer.party_id == party_id:
            return profile
        shared = read_contracts(read, viewer, advisor_id=party_id, on=on, as_of=as_of)
    return _advisor_profile_for(profile, shared)


def _advisor_profile_for(profile: dict[str, Any], shared: list[ContractStatus]) -> dict[str, Any]:
    if any(c.status is not Status.TERMINATED for c in shared):
        return profile
    snapshots = sorted(
        (c.termination["effective_on"], c.termination["advisor_profile"])
        for c in shared
        if c.termination and c.termination.get("advisor_profile") is not None
    )
    if snapshots:
        return dict(snapshots[-1][1])
    return {"name": profile.get("name"), "identifiers": profile.get("identifiers")}


def read_corporations_of_individuals(read: Reading) -> dict[UUID, set[UUID]]:
    t = read.tables(DirectoryView)
    found: dict[UUID, set[UUID]] = {}
    for individual, corporation in read.rows(f"SELECT individual_id, corporation_id FROM {t['associations']}"):
        found.setdefault(UUID(individual), set()).add(UUID(corporation))
    return found


def associations(database: ViewDatabase, viewer: Viewer, party_id: UUID) -> list[UUID]:
    """SPEC 1 and 7: the corporations an individual advisor is associated with,
    or the individual advisors associated with a corporation. Associations
    are part of the directory every viewer may read."""
    with reading(database) as read:
        pairs = read_corporations_of_individuals(read)
    if party_id in pairs:
        return sorted(pairs[party_id])
    return sorted(individual for individual, corporations in pairs.items() if party_id in corporations)


@dataclass(frozen=True)
class DirectRelationship:
    contract_id: UUID
    upper_id: UUID
    lower_id: UUID
    status: Status
    pending_change: Any


def direct_relationships(
    database: ViewDatabase, viewer: Viewer, *, party_id: UUID | None = None, on: date | None = None
) -> list[DirectRelationship]:
    """SPEC 2: the two-party contracts between organisations, with their status
    on ``on``; like every contract, seen only by its two parties, auditors
    and sync peers."""
    with reading(database) as read:
        found = read_contracts(read, viewer, party_id=party_id, on=on)
    return [
        DirectRelationship(c.contract_id, c.chain[0], c.chain[1], c.status, c.pending_change)
        for c in found
        if c.kind == "direct_relationship"
    ]
