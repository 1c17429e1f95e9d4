"""Consolidation over HTTP (rules §5), on both stores: what each code choice
does to the codes the target already has."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


@pytest.mark.parametrize("code_handling", ["copy", "merge"])
def test_neither_choice_changes_the_status_of_a_code_the_target_already_has(api: Api, code_handling: str) -> None:
    w = api.world
    relinquished, target = w.active_contract(), w.active_contract()
    # each code the target has arrives from the relinquished contract with the other status
    for contract, active, inactive in ((relinquished, "SHARED-A", "SHARED-B"), (target, "SHARED-B", "SHARED-A")):
        w.ledger.add_contract_code(w.carrier_staff, contract, active, status="active")
        w.ledger.add_contract_code(w.carrier_staff, contract, inactive, status="inactive")
    w.ledger.add_contract_code(w.carrier_staff, relinquished, "NEW-C", status="inactive")
    consolidated = api.client.simulate_post(
        f"/contracts/{relinquished}/consolidate",
        headers=api.as_(w.carrier_staff),
        json={"target_id": str(target), "code_handling": code_handling},
    )
    assert consolidated.status_code == 200, consolidated.json
    read = api.client.simulate_get(
        f"/contracts/{target}", headers=api.as_(w.carrier_staff),
        params={"wait_for": consolidated.headers["Ledger-Position"]},
    )
    assert read.json["codes"] == {"SHARED-A": "inactive", "SHARED-B": "active", "NEW-C": "inactive"}
    # the peer that receives code changes is told the same
    api.caught_up()
    feed = api.client.simulate_get("/sync/manage/feed", headers=api.as_(w.peer), params={"after": "0", "limit": "500"})
    last = [item for item in feed.json["items"] if item["subject"] == str(target)][-1]
    assert {(c["code"], c["status"]) for c in last["data"]["codes"]} == {
        ("SHARED-A", "inactive"), ("SHARED-B", "active"), ("NEW-C", "inactive"),
    }
