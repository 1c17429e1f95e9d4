"""rules §10 (the business time zone is a setting), served for real on each
store: with CONTRACTLEDGER_BUSINESS_TIME_ZONE set, the 30-day reactivation
window (day 30 included) and a contract's status today count the days of
that zone. The zone is chosen so that its date is not UTC's while the test
runs (a service counting in UTC answers one of the cases wrongly)."""

from __future__ import annotations

import sys
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))

from served import Server  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402

LETTER = {"name": "letter.pdf", "media_type": "application/pdf", "sha256": "9f86d08188" + "0" * 54, "location": "s3://docs/letter.pdf"}


def a_zone_on_another_date_than_utc() -> str:
    """Kiritimati (UTC+14) is a day ahead of UTC from 10:00 UTC to midnight, and
    its date holds until 10:00 UTC; Etc/GMT+12 (UTC-12) is a day behind until
    noon UTC. Either way the zone's date does not change during the test."""
    return "Pacific/Kiritimati" if datetime.now(timezone.utc).time() >= time(10, 5) else "Etc/GMT+12"


def test_the_served_service_counts_the_reactivation_window_in_the_business_time_zone_setting(
    tmp_path: Path, store: str
) -> None:
    zone = a_zone_on_another_date_than_utc()
    server = Server(tmp_path, store=store, settings={"CONTRACTLEDGER_BUSINESS_TIME_ZONE": zone})
    try:
        business_today = datetime.now(ZoneInfo(zone)).date()
        assert business_today != datetime.now(timezone.utc).date()
        ledger, system = server.ledger, Actor.system()
        carrier = ledger.register_party(system, "carrier", {"name": "Northern Life"})
        staff = Actor(Role.CARRIER_STAFF, "carol", carrier)
        contracts = []
        for name in ("Ada", "Grace", "Edsger"):
            advisor = ledger.register_party(system, "advisor", {"name": name}, advisor_kind="individual")
            signed_on = business_today - timedelta(days=40)
            assigned = ledger.assign_contracts(staff, [[carrier, advisor]], "agency_admin", effective_on=signed_on)
            (contract,) = assigned["contract_ids"]
            ledger.submit_to_carrier(staff, contract, effective_on=signed_on)
            ledger.set_manual_status(staff, contract, Status.ACTIVE, effective_on=signed_on)
            contracts.append(str(contract))
        day_thirty, day_thirty_one, today = contracts
        token = server.token(staff)
        for contract, days_ago in ((day_thirty, 30), (day_thirty_one, 31), (today, 0)):
            effective = (business_today - timedelta(days=days_ago)).isoformat()
            answer = server.request("POST", f"/contracts/{contract}/terminate", token,
                                    {"reason": "Retired", "documents": [LETTER], "effective_on": effective})
            assert answer.status == 200, answer.body
        position = answer.headers["Ledger-Position"]
        read = server.request("GET", f"/contracts/{today}?wait_for={position}", token)
        assert read.status == 200 and read.json["status"] == "terminated", read.body
        assert server.request("POST", f"/contracts/{day_thirty}/reactivate", token, {}).status == 200
        refused = server.request("POST", f"/contracts/{day_thirty_one}/reactivate", token, {})
        assert refused.status == 422 and refused.json["code"] == "contract.reactivate.window_closed", refused.body
    finally:
        assert server.stop() == 0
