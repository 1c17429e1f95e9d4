"""Kill things under load, over a socket, on each store: a gunicorn worker,
the views runner, the delivery worker, PostgreSQL itself, the whole service.
The service recovers by itself and loses nothing acknowledged (see
fault_drill; ``scripts/fault-drill`` runs the same drills longer and prints
the figures)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fault_drill import FAULTS, POSTGRES_ONLY, drill  # noqa: E402
from served import Server  # noqa: E402

# A recovery slower than this is a service that did not heal (the drill's figures are in scripts/fault-drill).
RECOVERED_WITHIN_SECONDS = 30.0


@pytest.mark.parametrize("fault", list(FAULTS))
def test_after_the_fault_nothing_acknowledged_is_lost_or_doubled_and_retries_replay(
    tmp_path: Path, store: str, fault: str
) -> None:
    if fault in POSTGRES_ONLY and store != "postgres":
        pytest.skip("a PostgreSQL fault")
    outcome = drill(tmp_path, store, fault)
    assert outcome.unexpected == [], outcome.unexpected[:5]
    assert outcome.problems == [], outcome.problems[:5]
    assert outcome.acknowledged > 10
    assert outcome.lost == outcome.duplicated == outcome.half_applied == 0
    assert outcome.exactly_once == outcome.acknowledged == outcome.replays_equal
    assert outcome.write_recovery is not None and outcome.write_recovery < RECOVERED_WITHIN_SECONDS
    assert outcome.read_recovery is not None and outcome.read_recovery < RECOVERED_WITHIN_SECONDS


def test_a_restarted_runner_is_counted_in_ready_and_metrics_as_prometheus_reads_them(tmp_path: Path, store: str) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from contractledger.domain.actor import Actor, Role

    server = Server(tmp_path, store=store)
    try:
        auditor = server.token(Actor(Role.AUDITOR, "audrey"))
        first = server.children()["views_runner"]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (ready := server.request("GET", "/ready", auditor)).status != 200 or ready.json["processes"]["views_runner"]["restarts"] != 1:
            assert time.monotonic() < deadline, ready.body
            time.sleep(0.1)
        runner = ready.json["processes"]["views_runner"]
        assert runner["running"] and runner["last_exit"] == "killed by SIGKILL" and runner["pid"] != first
        assert ready.json["processes"]["delivery_worker"]["restarts"] == 0
        operator = server.token(Actor(Role.OPERATOR, "olive"))  # /metrics is the operators'
        exposition = server.request("GET", "/metrics", operator).body.decode()
        samples = {
            (sample.name, sample.labels.get("process")): sample.value
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples
            if sample.name.startswith("contractledger_process_")
        }
        assert samples[("contractledger_process_restarts_total", "views_runner")] == 1
        assert samples[("contractledger_process_restarts_total", "http")] == 0
        assert samples[("contractledger_process_up", "views_runner")] == 1
    finally:
        assert server.stop() == 0


def test_while_postgresql_is_down_commands_and_reads_answer_503_and_resume_when_it_is_back(tmp_path: Path) -> None:
    from contractledger.domain.actor import Actor, Role

    server = Server(tmp_path, store="postgres")
    control = os.environ["POSTGRES_TEST_CONTROL"]
    try:
        carrier = server.ledger.register_party(Actor.system(), "carrier", {"name": "Northern Life"})
        advisor = server.ledger.register_party(Actor.system(), "advisor", {"name": "Ada"}, advisor_kind="individual")
        staff = server.token(Actor(Role.CARRIER_STAFF, "carol", carrier))
        body = {"chains": [[str(carrier), str(advisor)]], "initially_filled_by": "producer"}
        assert server.request("POST", "/bundles", staff, body).status == 201
        head = server.position()
        subprocess.run([control, "stop"], check=True, timeout=60)
        try:
            command = server.request("POST", "/bundles", staff, body, headers={"Idempotency-Key": "during-the-outage"})
            read = server.request("GET", "/contracts?limit=5", staff)
        finally:
            subprocess.run([control, "start"], check=True, timeout=60)
        for answer in (command, read):
            assert answer.status == 503, answer.body
            assert answer.headers["Content-Type"] == "application/problem+json"
            assert answer.json["code"] == "store.unavailable" and answer.headers["Retry-After"] == "1"
        back = time.monotonic()
        while (retry := server.request("POST", "/bundles", staff, body, headers={"Idempotency-Key": "during-the-outage"})).status != 201:
            assert retry.status in (503, 409) and time.monotonic() - back < 10, retry.body
            time.sleep(0.2)
        position = retry.headers["Ledger-Position"]
        contract = retry.json["contract_ids"][0]
        while (shown := server.request("GET", f"/contracts/{contract}?wait_for={position}", staff)).status != 200:
            assert time.monotonic() - back < 10, shown.body
            time.sleep(0.2)
        server.reopen()
        assert server.position() == head + 3  # the bundle, its contract and the command's record: once
        again = server.request("POST", "/bundles", staff, body, headers={"Idempotency-Key": "during-the-outage"})
        assert (again.status, again.body, again.headers["Idempotent-Replayed"]) == (201, retry.body, "true")
    finally:
        assert server.stop() == 0
