"""Directory view (rules §1 and 2): parties with their kind, level, advisor kind
and profile (as it stands and as it was at any past instant), individual
advisors' associations with corporations, and the direct relationships
between organisations.

Every profile change is kept, so a profile as the ledger knew it at an
instant is the registration plus the changes recorded by then (rules §10);
and every party event's version, so the version a reader is shown is the
party's version at the last instant of the history it sees. Which part of
a profile's history a viewer sees is :mod:`profile_sight`'s to say; every
read here asks it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from contractledger.domain.contract import DIRECT_RELATIONSHIP, Contract
from contractledger.domain.party import ADVISOR_KINDS, KINDS, Party
from contractledger.domain.status import Status
from contractledger.projections import profile_sight
from contractledger.projections.contract_status import END_OF_TIME, read_contracts_by_id
from contractledger.projections.engine.queries import Reading, business_today, ensure_instant, placeholders, reading
from contractledger.projections.engine.rows import (
    AppendBuffer,
    BufferedView,
    UpsertBuffer,
    id_text,
    instant_text,
    json_from,
    json_text,
)
from contractledger.projections.engine.view import handles
from contractledger.projections.engine.view_database import ViewDatabase, ViewTransaction
from contractledger.projections.viewer import Viewer

PARTY_COLUMNS = ("party_id", "kind", "advisor_kind", "level", "name", "identifiers", "profile", "registered_at")
CARD_FIELDS = frozenset({"name", "identifiers"})
"""What of a profile the directory's card shows."""
# '%%' is one wildcard to psycopg2's formatting and two (the same) to SQLite's LIKE
_CARD_CHANGED = " OR ".join(f"changes LIKE '%%\"{field}\"%%'" for field in sorted(CARD_FIELDS))


class DirectoryView(BufferedView):
    name = "directory"
    tables = ("parties", "profile_changes", "party_versions", "associations", "direct_relationships", "changed_cards")
    follows = (Party, Contract)
    ignores = (Contract.Event,)  # of contracts, the direct relationships requested

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.parties: UpsertBuffer = self.buffer(UpsertBuffer, "parties", PARTY_COLUMNS)
        self.profile_changes: AppendBuffer = self.buffer(
            AppendBuffer, "profile_changes", ("party_id", "version", "recorded_at", "changes")
        )
        self.versions: AppendBuffer = self.buffer(AppendBuffer, "party_versions", ("party_id", "version", "recorded_at"))
        self.relationships: AppendBuffer = self.buffer(
            AppendBuffer, "direct_relationships", ("contract_id", "upper_id", "lower_id", "requested_at")
        )

    def schema(self) -> list[str]:
        t = self.t
        return [
            f"CREATE TABLE IF NOT EXISTS {t['parties']} (party_id KEY_TEXT PRIMARY KEY, kind TEXT NOT NULL,"
            " advisor_kind TEXT, level TEXT, name TEXT NOT NULL, identifiers TEXT, profile TEXT NOT NULL,"
            " registered_at KEY_TEXT NOT NULL)",
            # the advisors' health statuses, page by page
            f"CREATE INDEX IF NOT EXISTS {t['parties']}_kind ON {t['parties']} (kind, party_id)",
            # the directory's order, of every party or of one kind: a page is a range of one of these
            f"CREATE INDEX IF NOT EXISTS {t['parties']}_name ON {t['parties']} (name, party_id)",
            f"CREATE INDEX IF NOT EXISTS {t['parties']}_kind_name ON {t['parties']} (kind, name, party_id)",
            f"CREATE TABLE IF NOT EXISTS {t['profile_changes']} (party_id KEY_TEXT NOT NULL, version INTEGER NOT NULL,"
            " recorded_at KEY_TEXT NOT NULL, changes TEXT NOT NULL, PRIMARY KEY (party_id, version))",
            f"CREATE TABLE IF NOT EXISTS {t['party_versions']} (party_id KEY_TEXT NOT NULL, version INTEGER NOT NULL,"
            " recorded_at KEY_TEXT NOT NULL, PRIMARY KEY (party_id, version))",
            f"CREATE TABLE IF NOT EXISTS {t['associations']} (individual_id KEY_TEXT NOT NULL,"
            " corporation_id KEY_TEXT NOT NULL, associated_at KEY_TEXT NOT NULL, PRIMARY KEY (individual_id, corporation_id))",
            # a corporation's individuals, whose records count for its health
            f"CREATE INDEX IF NOT EXISTS {t['associations']}_corporation ON {t['associations']} (corporation_id, individual_id)",
            f"CREATE TABLE IF NOT EXISTS {t['direct_relationships']} (contract_id KEY_TEXT PRIMARY KEY,"
            " upper_id KEY_TEXT NOT NULL, lower_id KEY_TEXT NOT NULL, requested_at KEY_TEXT NOT NULL)",
            # the parties whose card (name or identifiers) was ever changed: only such an advisor's card can
            # differ from its termination snapshot's, so only they are placed by a snapshot in the directory
            f"CREATE TABLE IF NOT EXISTS {t['changed_cards']} (party_id KEY_TEXT PRIMARY KEY)",
            # a generation built before this table kept its profile changes: they are read once for it
            f"INSERT INTO {t['changed_cards']} (party_id) SELECT DISTINCT party_id FROM {t['profile_changes']}"
            f" WHERE version > 1 AND ({_CARD_CHANGED}) ON CONFLICT (party_id) DO NOTHING",
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
        self.versions.append(party_id, e.originator_version, at)

    @handles(Party.ProfileChanged)
    def profile_changed(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        party_id = id_text(e.originator_id)
        row = self.parties.get(tx, party_id)
        profile = {**json_from(row["profile"]), **json_from(json_text(e.changes))}
        row.update(profile=json_text(profile), name=str(profile.get("name", "")), identifiers=json_text(profile.get("identifiers")))
        self.profile_changes.append(party_id, e.originator_version, instant_text(e.timestamp), json_text(e.changes))
        self.versions.append(party_id, e.originator_version, instant_text(e.timestamp))
        if CARD_FIELDS & e.changes.keys():  # rare: written at once
            tx.execute(
                f"INSERT INTO {self.t['changed_cards']} (party_id) VALUES (?) ON CONFLICT (party_id) DO NOTHING",
                (party_id,),
            )

    # associations are rare: written at once rather than buffered
    @handles(Party.AssociatedWithCorporation)
    def associated(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        tx.execute(
            f"INSERT INTO {self.t['associations']} (individual_id, corporation_id, associated_at) VALUES (?, ?, ?)",
            (id_text(e.originator_id), id_text(e.corporation_id), instant_text(e.timestamp)),
        )
        self.versions.append(id_text(e.originator_id), e.originator_version, instant_text(e.timestamp))

    @handles(Party.DissociatedFromCorporation)
    def dissociated(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        tx.execute(
            f"DELETE FROM {self.t['associations']} WHERE individual_id = ? AND corporation_id = ?",
            (id_text(e.originator_id), id_text(e.corporation_id)),
        )
        self.versions.append(id_text(e.originator_id), e.originator_version, instant_text(e.timestamp))

    @handles(Contract.DirectRelationshipRequested)
    def relationship_requested(self, tx: ViewTransaction, e: Any, notification_id: int) -> None:
        upper, lower = e.chain
        self.relationships.append(id_text(e.originator_id), id_text(upper), id_text(lower), instant_text(e.timestamp))


# ---- reading ------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyCard:
    """What the directory shows of every party to every viewer."""

    party_id: UUID
    kind: Literal[KINDS]  # type: ignore[valid-type]
    advisor_kind: Literal[ADVISOR_KINDS] | None  # type: ignore[valid-type]
    level: str | None
    name: str
    identifiers: Any


def parties(
    database: ViewDatabase, viewer: Viewer, *, kind: str | None = None, on: date | None = None,
    after: tuple[str, UUID] | None = None, limit: int | None = None,
    party_ids: Collection[UUID] | None = None,
) -> list[PartyCard]:
    """rules §1 and 5: the directory of parties (kind, level, advisor kind, name and
    identifiers), which every viewer may search to find whom to contract
    with; an advisor's card as ``viewer`` may see it on ``on`` (after a
    termination, a terminating party's card of the advisor is the snapshot's:
    :mod:`profile_sight`). The rest of a profile is read through :func:`party_profile`.

    In the order of the names shown (then by id), as the store collates
    names; ``after`` (a card's name and id) and ``limit`` read one page in
    SQL: a range of the index on (name, party_id), or (kind, name,
    party_id) for a kind, merged with the few cards this viewer sees by a
    snapshot's name, each where that name falls. ``party_ids``: only these
    parties' cards (a page naming a contract's chain)."""
    if party_ids is not None and not party_ids:
        return []
    on = on or business_today()
    with reading(database) as read:
        # only advisors are seen by a snapshot, and only one whose card changed sees a card other than its own
        frozen = {
            advisor_id: sight.snapshot
            for advisor_id, sight in profile_sight.advisor_sights(
                read, viewer, on=on, hiding_among=read_changed_cards(read, among=party_ids)
            ).items()
            if sight.snapshot is not None
        } if kind in (None, "advisor") else {}
        sql, params = _parties_page(read, frozen, kind=kind, after=after, limit=limit, party_ids=party_ids)
        rows = read.rows(sql, params)
    cards = []
    for p, k, a, lv, n, i in rows:
        party_id = UUID(p)
        snapshot = frozen.get(party_id)
        identifiers = snapshot.get("identifiers") if snapshot is not None else json_from(i)
        cards.append(PartyCard(party_id, k, a, lv, n, identifiers))
    return cards


def _parties_page(
    read: Reading, frozen: dict[UUID, dict[str, Any]], *, kind: str | None, after: tuple[str, UUID] | None,
    limit: int | None, party_ids: Collection[UUID] | None = None,
) -> tuple[str, list[Any]]:
    """The statement of a page of the directory and its parameters: the cards
    of the parties table by their names (but the ``frozen`` ones), a range of
    its index; when there are frozen ones, that range's first page merged
    with their cards by their snapshots' names (on PostgreSQL a UNION ALL
    sorts both arms whole unless the indexed arm is cut first)."""
    t = read.tables(DirectoryView)
    order = " ORDER BY shown, party_id" + ("" if limit is None else " LIMIT ?")
    paging = [] if limit is None else [limit]

    def arm(name: str, source: str, excluded: bool) -> tuple[str, list[Any]]:
        where, values = [], []
        if kind is not None:
            where.append("p.kind = ?")
            values.append(kind)
        if after is not None:
            where.append(f"({name}, p.party_id) > (?, ?)")  # a row value: the index is sought, not scanned
            values += [after[0], id_text(after[1])]
        if party_ids is not None:
            where.append(f"p.party_id IN ({', '.join('?' for _ in party_ids)})")
            values += [id_text(party) for party in party_ids]
        if excluded:
            where.append("p.party_id NOT IN (SELECT f.party_id FROM frozen f)")
        conditions = f" WHERE {' AND '.join(where)}" if where else ""
        return (
            f"SELECT p.party_id, p.kind, p.advisor_kind, p.level, {name} AS shown, p.identifiers"
            f" FROM {source}{conditions}"
        ), values

    if not frozen:
        sql, params = arm("p.name", f"{t['parties']} p", False)
        return sql + order, [*params, *paging]
    indexed, params = arm("p.name", f"{t['parties']} p", True)
    named, values = arm("f.name", f"frozen f JOIN {t['parties']} p ON p.party_id = f.party_id", False)
    snapshots = [value for party_id, snapshot in frozen.items() for value in (id_text(party_id), _name(snapshot))]
    sql = (
        f"WITH frozen (party_id, name) AS (VALUES {', '.join('(?, ?)' for _ in frozen)})"
        f" SELECT * FROM (SELECT * FROM ({indexed}{order}) listed UNION ALL {named}) cards{order}"
    )
    return sql, [*snapshots, *params, *paging, *values, *paging]


def read_changed_cards(read: Reading, *, among: Collection[UUID] | None = None) -> set[UUID]:
    """The parties whose name or identifiers were changed since they were
    registered (of those ``among``, when given): a termination's snapshot of
    any other advisor shows the card it has now."""
    t = read.tables(DirectoryView)
    sql, params = f"SELECT party_id FROM {t['changed_cards']}", []
    if among is not None:
        if not among:
            return set()
        params = sorted(id_text(party_id) for party_id in among)
        sql += f" WHERE party_id IN ({placeholders(params)})"
    return {UUID(party_id) for (party_id,) in read.rows(sql, params)}


def _name(profile: dict[str, Any]) -> str:
    return str(profile.get("name", ""))


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


def read_version(read: Reading, party_id: UUID, as_of: datetime | None = None) -> int | None:
    """The party's version (its last event's) as the ledger knew it at ``as_of``."""
    t = read.tables(DirectoryView)
    ((version,),) = read.rows(
        f"SELECT MAX(version) FROM {t['party_versions']} WHERE party_id = ? AND recorded_at <= ?",
        [id_text(party_id), instant_text(as_of) if as_of else END_OF_TIME],
    )
    return None if version is None else int(version)


def party_profile(
    database: ViewDatabase, viewer: Viewer, party_id: UUID, *, on: date | None = None, as_of: datetime | None = None
) -> dict[str, Any] | None:
    """rules §1, 5 and 10: a party's profile as ``viewer`` may read it on ``on``
    (:mod:`profile_sight` says which): for a party whose every contract with
    the advisor is terminated on ``on``, the snapshot recorded at termination,
    not the later changes (reactivation lifts that); for a party with no
    contract with the advisor, its directory card (name and identifiers).
    ``as_of`` reads it as the ledger knew it then. None when there is no
    such party."""
    found = _visible_profile(database, viewer, party_id, on, as_of)
    return found[0] if found else None


def versioned_party_profile(
    database: ViewDatabase, viewer: Viewer, party_id: UUID, *, on: date | None = None
) -> tuple[dict[str, Any], int | None] | None:
    """``party_profile`` now, with the version of what it shows (its ETag):
    the party's version when the viewer's sight of it ends, so a terminating
    party is never told that the advisor's profile moved on. (None for a
    view generation built before it kept versions: rebuild the directory.)"""
    return _visible_profile(database, viewer, party_id, on, None)


def _visible_profile(
    database: ViewDatabase, viewer: Viewer, party_id: UUID, on: date | None, as_of: datetime | None
) -> tuple[dict[str, Any], int | None] | None:
    ensure_instant(as_of)
    on = on or business_today()
    with reading(database) as read:
        sight = _sight_of(read, viewer, party_id, on, as_of)
        if sight is None:
            return None
        until = sight.until(as_of)
        profile = read_profile(read, party_id, until)
        if profile is None:
            return None
        version = read_version(read, party_id, until)
    if sight.snapshot is not None:
        return dict(sight.snapshot), version
    if not sight.whole:
        return {"name": profile.get("name"), "identifiers": profile.get("identifiers")}, version
    return profile, version


def party_sight(
    database: ViewDatabase, viewer: Viewer, party_id: UUID, *, on: date | None = None, as_of: datetime | None = None
) -> profile_sight.Sight | None:
    """What of the party's profile ``viewer`` sees on ``on`` (:mod:`profile_sight`),
    as :func:`party_profile` decides it: the whole profile, a termination's
    snapshot (and when it was taken), or the directory card. None when there
    is no such party. For a page that says which one it shows."""
    ensure_instant(as_of)
    with reading(database) as read:
        return _sight_of(read, viewer, party_id, on or business_today(), as_of)


def _sight_of(
    read: Reading, viewer: Viewer, party_id: UUID, on: date, as_of: datetime | None
) -> profile_sight.Sight | None:
    t = read.tables(DirectoryView)
    kinds = read.rows(f"SELECT kind FROM {t['parties']} WHERE party_id = ?", [id_text(party_id)])
    if not kinds:
        return None
    return profile_sight.sight_of(read, viewer, party_id, kinds[0][0], on=on, as_of=as_of)


def read_advisor_ids(read: Reading, *, after: UUID | None = None, limit: int | None = None) -> list[UUID]:
    """Every advisor (individual or corporate) in the order of their ids; ``after``
    (an id) and ``limit`` read one page of the index on (kind, party_id)."""
    t = read.tables(DirectoryView)
    sql, params = f"SELECT party_id FROM {t['parties']} WHERE kind = ?", ["advisor"]
    if after is not None:
        sql += " AND party_id > ?"
        params.append(id_text(after))
    sql += " ORDER BY party_id" + ("" if limit is None else " LIMIT ?")
    return [UUID(p) for (p,) in read.rows(sql, params if limit is None else [*params, limit])]


def read_corporations_of_individuals(
    read: Reading, corporation_ids: Collection[UUID] | None = None
) -> dict[UUID, set[UUID]]:
    """Each individual advisor's corporations: all, or only these corporations."""
    t = read.tables(DirectoryView)
    sql, params = f"SELECT individual_id, corporation_id FROM {t['associations']}", []
    if corporation_ids is not None:
        params = [id_text(c) for c in corporation_ids]
        sql += f" WHERE corporation_id IN ({', '.join('?' for _ in params)})" if params else " WHERE 1 = 0"
    found: dict[UUID, set[UUID]] = {}
    for individual, corporation in read.rows(sql, params):
        found.setdefault(UUID(individual), set()).add(UUID(corporation))
    return found


def associations(
    database: ViewDatabase, viewer: Viewer, party_id: UUID, *, after: UUID | None = None, limit: int | None = None
) -> list[UUID]:
    """rules §1 and 7: the corporations an individual advisor is associated with,
    or the individual advisors associated with a corporation. Associations
    are part of the directory every viewer may read. In the order of their
    ids; ``after`` (an id) and ``limit`` read one page in SQL, in one
    statement: a range of the associations' key (individual_id,
    corporation_id) and one of their index on (corporation_id,
    individual_id), each cut to the page (one of the two is empty)."""
    with reading(database) as read:
        t = read.tables(DirectoryView)
        order = " ORDER BY other" + ("" if limit is None else " LIMIT ?")
        paging = [] if limit is None else [limit]
        arms, params = [], []
        for other, own in (("corporation_id", "individual_id"), ("individual_id", "corporation_id")):
            arm = f"SELECT {other} AS other FROM {t['associations']} WHERE {own} = ?"
            params.append(id_text(party_id))
            if after is not None:
                arm += f" AND {other} > ?"
                params.append(id_text(after))
            arms.append(f"SELECT * FROM ({arm}{order}) of_{own.removesuffix('_id')}")
            params += paging
        rows = read.rows(f"SELECT * FROM ({arms[0]} UNION ALL {arms[1]}) associated{order}", [*params, *paging])
    return [UUID(other) for (other,) in rows]


@dataclass(frozen=True)
class DirectRelationship:
    contract_id: UUID
    upper_id: UUID
    lower_id: UUID
    status: Status
    pending_change: Any


def direct_relationships(
    database: ViewDatabase, viewer: Viewer, *, party_id: UUID | None = None, on: date | None = None,
    after: UUID | None = None, limit: int | None = None,
) -> list[DirectRelationship]:
    """rules §2: the two-party contracts between organisations, with their status
    on ``on``; like every contract, seen only by its two parties, auditors
    and sync peers. In the order of their ids; ``after`` (an id) and
    ``limit`` read one page in SQL."""
    with reading(database) as read:
        found = read_contracts_by_id(
            read, viewer, kind=DIRECT_RELATIONSHIP, party_id=party_id, on=on, after=after, limit=limit
        )
    return [DirectRelationship(c.contract_id, c.chain[0], c.chain[1], c.status, c.pending_change) for c in found]
