"""rules §10 (the business time zone is a setting) over HTTP on each store: with
CONTRACTLEDGER_BUSINESS_TIME_ZONE=America/Toronto, the 5-day debt rule and the
30-day reactivation window (day 30 included) count Toronto's days, at
instants where UTC's date is another one, and a read with no ``on`` answers
for Toronto's today. The clock is set far ahead (2150), so a read that
counted the real day instead would see none of it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from uuid import UUID

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402

LETTER = {"name": "letter.pdf", "media_type": "application/pdf", "sha256": "9f86d08188" + "0" * 54, "location": "s3://docs/letter.pdf"}


@pytest.fixture
def toronto(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store, settings={"CONTRACTLEDGER_BUSINESS_TIME_ZONE": "America/Toronto"})


def at(api: Api, instant: str) -> None:
    api.clock.set(datetime.fromisoformat(instant).astimezone(timezone.utc))


def post(api: Api, actor: Actor, path: str, body: dict | None = None) -> object:
    return api.client.simulate_post(path, headers=api.as_(actor), json=body or {})


def status(api: Api, actor: Actor, contract_id: UUID) -> str:
    api.caught_up()
    answer = api.client.simulate_get(f"/contracts/{contract_id}", headers=api.as_(actor))
    assert answer.status_code == 200, answer.text
    return answer.json["status"]


def test_debt_may_be_made_public_five_days_after_it_was_recorded_counted_in_the_business_time_zone(toronto: Api) -> None:
    w = toronto.world
    contract = w.active_contract()
    at(toronto, "2150-01-10T03:00:00+00:00")  # 2150-01-09 22:00 in Toronto: recorded on the 9th there
    logged = post(toronto, w.mga_admin, f"/contracts/{contract}/debts",
                  {"amount": "120.00", "effective_on": "2150-01-09", "reminder_on": "2150-02-01"})
    assert logged.status_code == 201, logged.text
    debt = logged.json["record_id"]
    at(toronto, "2150-01-14T04:30:00+00:00")  # the 13th in Toronto (the 14th in UTC): day 4
    early = post(toronto, w.mga_admin, f"/debts/{debt}/make-public")
    assert early.status_code == 422 and early.json["code"] == "debt.publish.too_early", early.text
    at(toronto, "2150-01-14T12:00:00+00:00")  # the 14th in Toronto: day 5 (in UTC, where it was the 10th, day 4)
    made_public = post(toronto, w.mga_admin, f"/debts/{debt}/make-public")
    assert made_public.status_code == 200, made_public.text


def test_reactivation_within_thirty_days_counts_day_thirty_in_the_business_time_zone(toronto: Api) -> None:
    w = toronto.world
    day_thirty, day_thirty_one = w.active_contract(), w.active_contract()
    at(toronto, "2150-03-01T12:00:00+00:00")
    for contract in (day_thirty, day_thirty_one):
        terminated = post(toronto, w.carrier_staff, f"/contracts/{contract}/terminate",
                          {"reason": "Retired", "documents": [LETTER], "effective_on": "2150-03-01"})
        assert terminated.status_code == 200, terminated.text
    assert status(toronto, w.aga_admin, day_thirty) == "terminated"  # Toronto's today, not the real one
    at(toronto, "2150-04-01T03:00:00+00:00")  # 2150-03-31 23:00 in Toronto: day 30 (in UTC, day 31)
    assert w.today == date(2150, 3, 31)
    reactivated = post(toronto, w.aga_admin, f"/contracts/{day_thirty}/reactivate")
    assert reactivated.status_code == 200, reactivated.text
    assert status(toronto, w.aga_admin, day_thirty) == "active"
    at(toronto, "2150-04-01T05:00:00+00:00")  # 2150-04-01 01:00 in Toronto: day 31
    refused = post(toronto, w.aga_admin, f"/contracts/{day_thirty_one}/reactivate")
    assert refused.status_code == 422 and refused.json["code"] == "contract.reactivate.window_closed", refused.text
    assert status(toronto, w.aga_admin, day_thirty_one) == "terminated"
