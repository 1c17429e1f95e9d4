"""A contract's status over time, from its status changes in recorded order."""

from __future__ import annotations

from datetime import date, datetime, timezone

from contractledger.domain.status import Status
from contractledger.projections.status_timeline import RecordedStatusChange, StatusInterval, intervals

AT = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)


def change(sequence: int, day: int, status: Status, reason: str | None = None) -> RecordedStatusChange:
    return RecordedStatusChange(sequence, date(2026, 3, day), status, reason, AT)


def test_each_status_holds_from_its_date_until_the_next_one() -> None:
    held = intervals([
        change(1, 2, Status.PENDING_AGENCY), change(2, 4, Status.ACTIVE), change(3, 20, Status.TERMINATED, "Moved"),
    ])
    assert held == [
        StatusInterval(Status.PENDING_AGENCY, None, date(2026, 3, 2), date(2026, 3, 4), AT),
        StatusInterval(Status.ACTIVE, None, date(2026, 3, 4), date(2026, 3, 20), AT),
        StatusInterval(Status.TERMINATED, "Moved", date(2026, 3, 20), None, AT),
    ]


def test_a_change_overtaken_on_its_own_date_held_no_day() -> None:
    held = intervals([change(1, 2, Status.PENDING_AGENCY), change(2, 5, Status.PENDING_CARRIER), change(3, 5, Status.ACTIVE)])
    assert [(i.status, i.since, i.until) for i in held] == [
        (Status.PENDING_AGENCY, date(2026, 3, 2), date(2026, 3, 5)), (Status.ACTIVE, date(2026, 3, 5), None),
    ]


def test_the_same_status_again_continues_its_interval() -> None:
    held = intervals([change(1, 2, Status.ACTIVE), change(2, 9, Status.ACTIVE)])
    assert [(i.status, i.since, i.until) for i in held] == [(Status.ACTIVE, date(2026, 3, 2), None)]


def test_no_changes_no_intervals() -> None:
    assert intervals([]) == []
