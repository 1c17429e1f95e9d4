"""Every view's query as a GET route (rules §2 to 10), with its parameters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import falcon

from contractledger.domain.clock import today
from contractledger.domain.errors import NotFound
from contractledger.domain.health import HealthStatus
from contractledger.domain.party import KINDS
from contractledger.domain.status import Status
from contractledger.http.commands.answers import TriggersChosen
from contractledger.http.pagination import key_of
from contractledger.http.problems import Problem
from contractledger.http.config import AppConfig
from contractledger.http.queries import Query, Versioned, carried_version
from contractledger.http.route_roles import CONTRACT_READERS, RECORD_READERS
from contractledger.domain.inputs import Day, Instant, Position
from contractledger.http.query_parameters import Paging, QueryParameters
from contractledger.projections import (
    bundle_consistency,
    contract_history,
    contract_status,
    directory,
    health_status,
    oversight_records,
    tasks_and_notifications,
    transfer_requests,
)
from contractledger.projections.viewer import Viewer

STATUS, HISTORY, RECORDS = "contract_status", "contract_history", "oversight_records"
TASKS, DIRECTORY, BUNDLES = "tasks_and_notifications", "directory", "bundle_consistency"
TRANSFERS = "transfer_requests"


# ---- parameters -------------------------------------------------------------------


class OnADay(QueryParameters):
    on: Day | None = None
    """The business date to answer for (today by default)."""


class AsOf(OnADay):
    as_of: Instant | None = None
    """Answer as the ledger knew it at this instant."""


class ContractFilters(Paging):
    party_id: UUID | None = None
    carrier_id: UUID | None = None
    advisor_id: UUID | None = None
    status: Status | None = None
    on: Day | None = None
    as_of: Instant | None = None


class HistoryParameters(Paging):
    as_of: Instant | None = None


class RecordFilters(Paging):
    contract_id: UUID | None = None
    advisor_id: UUID | None = None
    as_of: Instant | None = None


class RecordParameters(QueryParameters):
    pass


class TaskFilters(Paging):
    due_by: Day | None = None
    include_closed: bool = False


class NotificationFilters(Paging):
    since_position: Position = 0
    """Only what happened after this ledger position."""
    on: Day | None = None


class PartyFilters(Paging):
    kind: Literal[KINDS] | None = None  # type: ignore[valid-type]


class TransferRequestFilters(Paging):
    contract_id: UUID | None = None
    state: transfer_requests.RequestState | None = None
    """Only requests in this state (requested, awaiting_relationship, accepted, transferred, rescinded, denied,
    fell_through)."""


class DatedList(Paging):
    on: Day | None = None


class RelationshipFilters(Paging):
    party_id: UUID | None = None
    on: Day | None = None


# ---- how items are ordered ----------------------------------------------------------


def _by_recorded_contract(c: Any) -> tuple:
    return (c.recorded_at.isoformat(), str(c.contract_id))


def _by_notification(n: Any) -> tuple:
    reminder = n.notification_id is None
    return (int(reminder), n.notification_id or 0, n.kind.value, str(n.details.get("task_id", "")))


# ---- single items -------------------------------------------------------------------


def _record(kind: str) -> Any:
    """A monitoring or debt record by id, as the view answers it: the viewer's
    rule on records (viewer.py) in the same query, so a record it may not see is
    not found exactly as one that does not exist (rules §6), and no event-store
    read is made per request."""

    def run(config: AppConfig, viewer: Viewer, path: dict[str, UUID], p: Any) -> Any:
        found = getattr(oversight_records, f"{kind}_records")(config.views, viewer, record_ids=[path["record_id"]])
        return found[0] if found else None

    return run


def _bundle(config: AppConfig, viewer: Viewer, path: dict[str, UUID], p: Any) -> Any:
    found = bundle_consistency.bundles(config.views, viewer, bundle_ids=[path["bundle_id"]])
    return found[0] if found else None


def _triggers(config: AppConfig, viewer: Viewer, path: dict[str, UUID], p: Any) -> TriggersChosen:
    party_id = viewer.party_id
    return TriggersChosen.of(sorted(k.value for k in config.ledger.triggers_of(party_id)) if party_id else [])


def _contract(config: AppConfig, viewer: Viewer, path: dict[str, UUID], p: AsOf) -> Any:
    """The contract with the version it shows (its ETag) from the same view row: no
    event-store read per request, and never an ETag newer than the body."""
    if p.as_of is not None:
        return contract_status.contract(config.views, viewer, path["contract_id"], on=p.on, as_of=p.as_of)
    found = contract_status.versioned_contract(config.views, viewer, path["contract_id"], on=p.on)
    return Versioned(*found) if found is not None else None


def _party_profile(config: AppConfig, viewer: Viewer, path: dict[str, UUID], p: AsOf) -> Any:
    """The profile with the version of what it shows (its ETag), both as the
    viewer's sight of the profile allows (projections/profile_sight.py).

    The sight is the one the viewer has today, or on the later day asked
    about: a profile's changes are not dated, so a day before a termination
    took effect must not show a terminating party what changed after it
    (rules §5: on any surface)."""
    on = max(p.on, today(config.clock)) if p.on is not None else today(config.clock)
    if p.as_of is not None:
        return directory.party_profile(config.views, viewer, path["party_id"], on=on, as_of=p.as_of)
    found = directory.versioned_party_profile(config.views, viewer, path["party_id"], on=on)
    return Versioned(*found) if found is not None else None


QUERIES = (
    Query(
        "contracts", "/contracts",
        "The contracts you may see, with their status on a day (or as the ledger knew it then), "
        "filtered by a party on the chain, carrier, advisor or status.",
        "contracts", ContractFilters, (STATUS,),
        lambda c, viewer, path, p: contract_status.contracts(
            c.views, viewer, party_id=p.party_id, carrier_id=p.carrier_id, advisor_id=p.advisor_id,
            status=p.status, on=p.on, as_of=p.as_of,
            # one page (and one more contract, to know there is a next) read in SQL
            after=_instant_and_id_cursor(p.after), limit=p.limit + 1,
        ),
        contract_status.ContractStatus, key=_by_recorded_contract,
    ),
    Query(
        "contract", "/contracts/{contract_id:uuid}",
        "One contract's status, chain, numbers and codes; ETag is its version (for If-Match).",
        "contracts", AsOf, (STATUS,),
        _contract, contract_status.ContractStatus, version=carried_version, missing="contract.not_found",
        roles=CONTRACT_READERS,
    ),
    Query(
        "contract_history", "/contracts/{contract_id:uuid}/history",
        "Every event on the contract in the ledger's order, with the records' trail you may see.",
        "contracts", HistoryParameters, (STATUS, HISTORY, RECORDS),
        lambda c, viewer, path, p: _or_not_found(
            contract_history.contract_history(
                c.views, viewer, path["contract_id"], as_of=p.as_of,
                # one page (and one more entry, to know there is a next) read in SQL
                after=_position_cursor(p.after), limit=p.limit + 1,
            )
        ),
        contract_history.HistoryEntry, key=lambda e: (e.notification_id,),
        roles=CONTRACT_READERS,
        problems=("contract.not_found",),
    ),
    Query(
        "advisor_downgrades", "/advisors/{advisor_id:uuid}/downgrades",
        "The advisor's downgraded contracts, public to every party working with the advisor.",
        "contracts", DatedList, (STATUS,),
        lambda c, viewer, path, p: contract_status.advisor_downgrades(
            c.views, viewer, path["advisor_id"], on=p.on,
            # one page (and one more, to know there is a next) read in SQL
            after=_id_cursor(p.after), limit=p.limit + 1,
        ),
        contract_status.AdvisorDowngrade, key=lambda d: (str(d.contract_id),),
    ),
    Query(
        "direct_relationships", "/direct-relationships",
        "The two-party contracts between organisations you may see, with their status.",
        "contracts", RelationshipFilters, (STATUS,),
        lambda c, viewer, path, p: directory.direct_relationships(
            c.views, viewer, party_id=p.party_id, on=p.on,
            # one page (and one more, to know there is a next) read in SQL
            after=_id_cursor(p.after), limit=p.limit + 1,
        ),
        directory.DirectRelationship, key=lambda r: (str(r.contract_id),),
    ),
    Query(
        "bundles", "/bundles", "Bundles with the statuses of the members you may see.",
        "contracts", Paging, (BUNDLES, STATUS),
        lambda c, viewer, path, p: bundle_consistency.bundles(
            # one page (and one more bundle, to know there is a next) read in SQL
            c.views, viewer, after=_id_cursor(p.after), limit=p.limit + 1,
        ),
        bundle_consistency.BundleStatuses, key=lambda b: (str(b.bundle_id),),
    ),
    Query(
        "bundle", "/bundles/{bundle_id:uuid}", "One bundle with the statuses of the members you may see.",
        "contracts", QueryParameters, (BUNDLES, STATUS), _bundle, bundle_consistency.BundleStatuses, missing="bundle.not_found",
        roles=CONTRACT_READERS,
    ),
    Query(
        "mixed_bundles", "/mixed-bundles",
        "Bundles whose members disagree on their workflow status; always empty unless there is a defect.",
        "contracts", Paging, (BUNDLES, STATUS),
        lambda c, viewer, path, p: bundle_consistency.mixed_bundles(
            # one page (and one more bundle, to know there is a next) read in SQL
            c.views, viewer, after=_id_cursor(p.after), limit=p.limit + 1,
        ),
        bundle_consistency.BundleStatuses, key=lambda b: (str(b.bundle_id),),
    ),
    Query(
        "monitoring_records", "/monitoring",
        "Monitoring on a contract or an advisor's contracts that you may see, removed ones included.",
        "oversight", RecordFilters, (STATUS, RECORDS),
        lambda c, viewer, path, p: oversight_records.monitoring_records(
            c.views, viewer, contract_id=p.contract_id, advisor_id=p.advisor_id, as_of=p.as_of,
            # one page (and one more record, to know there is a next) read in SQL
            after=_instant_and_id_cursor(p.after), limit=p.limit + 1,
        ),
        oversight_records.Monitoring, key=lambda m: (m.placed_at.isoformat(), str(m.record_id)),
    ),
    Query(
        "monitoring_record", "/monitoring/{record_id:uuid}", "One monitoring record you may see.",
        "oversight", RecordParameters, (STATUS, RECORDS), _record("monitoring"), oversight_records.Monitoring,
        version=lambda c, path, found: found.version, missing="monitoring.not_found",
        roles=RECORD_READERS,
    ),
    Query(
        "debt_records", "/debts",
        "Debt on a contract or an advisor's contracts that you may see.",
        "oversight", RecordFilters, (STATUS, RECORDS),
        lambda c, viewer, path, p: oversight_records.debt_records(
            c.views, viewer, contract_id=p.contract_id, advisor_id=p.advisor_id, as_of=p.as_of,
            # one page (and one more record, to know there is a next) read in SQL
            after=_instant_and_id_cursor(p.after), limit=p.limit + 1,
        ),
        oversight_records.Debt, key=lambda d: (d.logged_at.isoformat(), str(d.record_id)),
    ),
    Query(
        "debt_record", "/debts/{record_id:uuid}", "One debt record you may see.",
        "oversight", RecordParameters, (STATUS, RECORDS), _record("debt"), oversight_records.Debt,
        version=lambda c, path, found: found.version, missing="debt.not_found",
        roles=RECORD_READERS,
    ),
    Query(
        "health_status", "/parties/{party_id:uuid}/health",
        "An advisor's or corporation's health from the records you may see.",
        "oversight", OnADay, (STATUS, RECORDS, DIRECTORY),
        lambda c, viewer, path, p: health_status.health_status(c.views, viewer, path["party_id"], on=p.on),
        HealthStatus,
    ),
    Query(
        "health_statuses", "/health-statuses", "Every advisor's health as you may know it.",
        "oversight", DatedList, (STATUS, RECORDS, DIRECTORY),
        lambda c, viewer, path, p: health_status.health_statuses(
            # one page (and one more advisor, to know there is a next) read in SQL
            c.views, viewer, on=p.on, after=_id_cursor(p.after), limit=p.limit + 1,
        ),
        HealthStatus, key=lambda h: (str(h.party_id),),
    ),
    Query(
        "tasks", "/tasks", "Your party's reminder tasks, soonest first.",
        "notifications", TaskFilters, (TASKS,),
        lambda c, viewer, path, p: tasks_and_notifications.tasks(
            c.views, viewer, due_by=p.due_by, include_closed=p.include_closed,
            # one page (and one more task, to know there is a next) read in SQL
            after=_day_and_text_cursor(p.after), limit=p.limit + 1,
        ),
        tasks_and_notifications.Task, key=lambda t: (t.due_on.isoformat(), t.task_id),
    ),
    Query(
        "notifications", "/notifications", "What your party's triggers asked to be told, in ledger order.",
        "notifications", NotificationFilters, (TASKS, RECORDS),
        lambda c, viewer, path, p: tasks_and_notifications.notifications(
            c.views, viewer, after=p.since_position, on=p.on,
            # one page (and one more, to know there is a next) read in SQL
            page_after=_notification_cursor(p.after), limit=p.limit + 1,
        ),
        tasks_and_notifications.Notification, key=_by_notification,
    ),
    Query(
        "trigger_settings", "/trigger-settings", "The kinds of happening your party chose to be told about.",
        "notifications", QueryParameters, (), _triggers, TriggersChosen,
    ),
    Query(
        "transfer_requests", "/transfer-requests",
        "The transfer requests you may see, in ledger order: made to you as the accepting entity (your "
        "request history: advisor, carrier, the chain as it is and as it would be, relinquishing entity, date, "
        "note, state), or on a contract you are on.",
        "contracts", TransferRequestFilters, (TRANSFERS,),
        lambda c, viewer, path, p: transfer_requests.transfer_requests(
            c.views, viewer, contract_id=p.contract_id, state=p.state,
            # one page (and one more, to know there is a next) read in SQL
            after=_position_cursor(p.after), limit=p.limit + 1,
        ),
        transfer_requests.TransferRequest, key=lambda r: (r.position,),
    ),
    Query(
        "transfer_request", "/transfer-requests/{request_id:uuid}",
        "One transfer request you may see (its accepting entity, a party on its contract, an auditor).",
        "contracts", QueryParameters, (TRANSFERS,),
        lambda c, viewer, path, p: transfer_requests.transfer_request(c.views, viewer, path["request_id"]),
        transfer_requests.TransferRequest, missing="transfer_request.not_found",
        roles=RECORD_READERS,
    ),
    Query(
        "parties", "/parties", "The directory of parties (kind, level, name, identifiers).",
        "parties", PartyFilters, (DIRECTORY,),
        lambda c, viewer, path, p: directory.parties(
            c.views, viewer, kind=p.kind, on=today(c.clock),
            # one page (and one more card, to know there is a next) read in SQL
            after=_text_and_id_cursor(p.after), limit=p.limit + 1,
        ),
        directory.PartyCard, key=lambda card: (card.name, str(card.party_id)),
    ),
    Query(
        "party_profile", "/parties/{party_id:uuid}",
        "A party's profile as you may read it (after a termination, the snapshot taken then); "
        "ETag is the version of what it shows.",
        "parties", AsOf, (DIRECTORY, STATUS),
        _party_profile, dict[str, Any], version=carried_version, missing="party.not_found",
    ),
    Query(
        "associations", "/parties/{party_id:uuid}/associations",
        "The corporations an individual advisor is associated with, or a corporation's individuals.",
        "parties", Paging, (DIRECTORY,),
        lambda c, viewer, path, p: directory.associations(
            # one page (and one more, to know there is a next) read in SQL
            c.views, viewer, path["party_id"], after=_id_cursor(p.after), limit=p.limit + 1,
        ),
        UUID, key=lambda party_id: (str(party_id),),
    ),
)


def _position_cursor(after: str | None) -> int | None:
    """The ledger position a cursor of a list ordered by position (a history,
    the transfer requests) stands for."""
    if after is None:
        return None
    key = key_of(after)
    if len(key) != 1 or not isinstance(key[0], int):
        raise _foreign_cursor()
    return key[0]


def _pair_cursor(after: str | None, first: Callable[[str], Any], second: Callable[[str], Any]) -> tuple[Any, Any] | None:
    """The item a cursor of two texts stands for, each read by its parser; a cursor of
    another shape, or a text its parser refuses, belongs to another list."""
    if after is None:
        return None
    key = key_of(after)
    if len(key) != 2 or not all(isinstance(part, str) for part in key):
        raise _foreign_cursor()
    try:
        return first(key[0]), second(key[1])
    except ValueError:
        raise _foreign_cursor() from None


def _instant_and_id_cursor(after: str | None) -> tuple[datetime, UUID] | None:
    """The item (an instant and an id: a contract's recording, a record's
    placing or logging) a cursor of a list ordered by them stands for."""
    found = _pair_cursor(after, datetime.fromisoformat, UUID)
    if found is not None and found[0].tzinfo is None:
        raise _foreign_cursor()
    return found


def _day_and_text_cursor(after: str | None) -> tuple[date, str] | None:
    """The item (a day and a text id: a task's due date and id) a cursor of a list ordered by them stands for."""
    return _pair_cursor(after, date.fromisoformat, str)


def _text_and_id_cursor(after: str | None) -> tuple[str, UUID] | None:
    """The item (a text and an id: a directory card's name and party) a cursor of a list ordered by them stands for."""
    return _pair_cursor(after, str, UUID)


def _notification_cursor(after: str | None) -> tuple[int, str] | str | None:
    """What a cursor of the notifications (ordered by ``_by_notification``) stands
    for: a ledger notification (its position and kind), or a reminder (its task id)."""
    if after is None:
        return None
    key = key_of(after)
    if len(key) == 4 and [type(part) for part in key] == [int, int, str, str]:
        if key[0] == 0:
            return key[1], key[2]
        if key[0] == 1:
            return key[3]
    raise _foreign_cursor()


def _id_cursor(after: str | None) -> UUID | None:
    """The item a cursor of a list ordered by id (the health statuses, the direct relationships,
    an advisor's downgrades, the bundles, the associations) stands for."""
    if after is None:
        return None
    key = key_of(after)
    if len(key) != 1 or not isinstance(key[0], str):
        raise _foreign_cursor()
    try:
        return UUID(key[0])
    except ValueError:
        raise _foreign_cursor() from None


def _foreign_cursor() -> Problem:
    return Problem(
        falcon.HTTP_400, "query.cursor_invalid", "The cursor belongs to another list; start without it.", field="after",
    )


def _or_not_found(found: Any) -> Any:
    if found is None:
        raise NotFound("contract.not_found", "No such contract; check the contract id.", "contract_id")
    return found
