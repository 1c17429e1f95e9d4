"""rules §1 (Users): operators run the service and read no contract data beyond
what operating needs, over HTTP on each store. /metrics, the whole service's
counts, is theirs alone (the README says so); a contract, its
records and its history are unknown to an operator exactly as to a party
off the contract."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path_factory.mktemp("operators"), store)


def test_metrics_are_read_by_operators_only(api: Api) -> None:
    w = api.world
    contract = w.active_contract()
    logged = api.client.simulate_post(f"/contracts/{contract}/debts", headers=api.as_(w.aga_admin),
                                      json={"amount": "10.00", "effective_on": str(w.today), "reminder_on": str(w.in_days(9))})
    assert logged.status_code == 201
    for actor in (w.aga_admin, w.carrier_staff, w.producer, w.auditor, w.peer):
        refused = api.client.simulate_get("/metrics", headers=api.as_(actor))
        assert (refused.status_code, refused.json["code"]) == (403, "metrics.operators_only"), actor
        assert "contractledger_http" not in refused.text
    read = api.client.simulate_get("/metrics", headers=api.as_(w.operator))
    assert read.status_code == 200 and read.headers["Content-Type"].startswith("text/plain")
    requests = {
        (sample.labels["route"], sample.labels["method"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(read.text)
        for sample in family.samples
        if sample.name == "contractledger_http_requests_total"
    }
    assert requests[("/contracts/{contract_id:uuid}/debts", "POST", "201")] == 1
    assert requests[("/metrics", "GET", "403")] == 5


def test_operators_read_no_contract_data(api: Api) -> None:
    w = api.world
    contract = w.active_contract()
    logged = api.client.simulate_post(f"/contracts/{contract}/debts", headers=api.as_(w.aga_admin),
                                      json={"amount": "10.00", "effective_on": str(w.today), "reminder_on": str(w.in_days(9))})
    assert logged.status_code == 201
    api.caught_up()
    lists = {  # each list, and who sees something in it (the positive control)
        "/contracts": w.auditor, f"/contracts?party_id={w.aga}": w.auditor, "/bundles": w.auditor,
        "/debts": w.auditor, "/tasks": w.aga_admin,
    }
    for path, seer in lists.items():
        listed = api.client.simulate_get(path, headers=api.as_(w.operator))
        assert listed.status_code == 200 and listed.json["items"] == [], path
        assert api.client.simulate_get(path, headers=api.as_(seer)).json["items"], path
    for path in (f"/contracts/{contract}", f"/contracts/{contract}/history"):
        hidden = api.client.simulate_get(path, headers=api.as_(w.operator))
        missing = api.client.simulate_get(path.replace(str(contract), str(uuid4())), headers=api.as_(w.operator))
        assert hidden.status_code == 404 and (hidden.json, hidden.headers.get("ETag")) == (missing.json, None), path
        assert api.client.simulate_get(path, headers=api.as_(w.auditor)).status_code == 200
    before = api.position()
    acted = api.client.simulate_post(f"/contracts/{contract}/set-manual-status", headers=api.as_(w.operator), json={"status": "expired"})
    assert (acted.status_code, acted.json["code"]) == (404, "contract.not_found")
    assert api.position() == before
