"""/metrics over a real socket while the serve command's three processes run
(gunicorn's workers, the views runner, the delivery worker), read by
Prometheus's own parser: each process's series are there (requests,
events and batches applied per view, delivery attempts and failures per
peer, dead letters, restarts, build_info, process metrics); a dead worker's
live files are removed while its counts stay; the folder goes at exit; and
every metric the shipped Grafana dashboard queries is in a scrape."""

from __future__ import annotations

import base64
import glob
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))

from served import Server, free_port  # noqa: E402
from test_sync_delivery import Receiver  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.runtime.catalogue import VIEWS  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"a webhook key for the metrics").decode()
DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "contractledger.json"


def wait_for(condition: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    wanted = set(labels.items())
    found = [v for (n, got), v in scraped.items() if n == name and wanted <= got]
    return sum(found) if found else None


class Served:
    def __init__(self, server: Server, receiver: Receiver) -> None:
        self.server = server
        self.receiver = receiver
        self.operator = server.token(Actor(Role.OPERATOR, "olive"))

    def scrape(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        answer = self.server.request("GET", "/metrics", self.operator)
        assert answer.status == 200, answer.body
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return samples(answer.body.decode())

    def folder(self) -> str:
        [found] = glob.glob(os.path.join(tempfile.gettempdir(), f"contractledger-metrics-{self.server.process.pid}-*"))
        return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Served]:
    """A server pushing to two peers: manage answers, contracting's endpoint refuses every connection."""
    receiver = Receiver(keys=[SECRET])
    saved = dict(os.environ)
    os.environ.update({
        "CONTRACTLEDGER_SYNC_MANAGE_ENDPOINT": receiver.url,
        "CONTRACTLEDGER_SYNC_MANAGE_SECRETS": SECRET,
        "CONTRACTLEDGER_SYNC_CONTRACTING_ENDPOINT": f"http://127.0.0.1:{free_port()}/nobody-listens",
        "CONTRACTLEDGER_SYNC_CONTRACTING_SECRETS": SECRET,
    })
    try:
        server = Server(tmp_path_factory.mktemp("metrics"), store=store)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    ledger, system = server.ledger, Actor.system()
    carrier = ledger.register_party(system, "carrier", {"name": "Northern Life"})
    advisor = ledger.register_party(system, "advisor", {"name": "Ada"}, advisor_kind="individual")
    ledger.assign_contracts(Actor(Role.CARRIER_STAFF, "carol", carrier), [[carrier, advisor]], "producer")
    wait_for(lambda: receiver.received)
    yield Served(server, receiver)
    receiver.stop()
    if server.process.poll() is None:
        assert server.stop() == 0


def test_a_scrape_holds_the_series_of_every_process_as_prometheus_reads_them(served: Served) -> None:
    server = served.server
    auditor = server.token(Actor(Role.AUDITOR, "audrey"))
    assert server.request("GET", "/contracts", auditor).status == 200
    ready = server.request("GET", "/ready", auditor).json
    assert {key for key, process in ready["processes"].items() if process["running"]} == {
        "http", "views_runner", "delivery_worker"
    }
    wait_for(lambda: (value(served.scrape(), "contractledger_sync_delivery_failures_total", peer="contracting") or 0) >= 1)
    scraped = served.scrape()
    assert value(scraped, "contractledger_http_requests_total", route="/contracts", method="GET", status="200") == 1
    assert value(scraped, "contractledger_http_request_duration_seconds_count", route="/contracts") == 1
    for view in VIEWS:  # the runner's
        assert value(scraped, "contractledger_view_events_applied_total", view=view.name) >= 1, view.name
        assert value(scraped, "contractledger_view_batches_applied_total", view=view.name) >= 1, view.name
        assert value(scraped, "contractledger_view_lag_events", view=view.name) is not None
    # the delivery worker's
    assert value(scraped, "contractledger_sync_delivery_attempts_total", peer="manage") >= 1
    assert value(scraped, "contractledger_sync_delivery_failures_total", peer="manage") == 0
    assert value(scraped, "contractledger_sync_delivery_attempts_total", peer="contracting") >= 1
    assert value(scraped, "contractledger_sync_dead_letters_total", peer="contracting") == 0
    assert value(scraped, "contractledger_process_restarts_total", process="views_runner") == 0
    assert value(scraped, "contractledger_process_up", process="delivery_worker") == 1
    [build] = [labels for (name, labels), v in scraped.items() if name == "contractledger_build_info" and v == 1]
    assert ("version", "0.1.0") in build
    for process in ("http", "http_worker", "views_runner", "delivery_worker"):
        assert value(scraped, "process_resident_memory_bytes", process=process) > 0, process
        assert value(scraped, "process_cpu_seconds_total", process=process) is not None, process


def test_every_metric_the_grafana_dashboard_queries_is_in_a_scrape(served: Served) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(queries) >= 10
    names = {name for query in queries for name in re.findall(r"\b((?:contractledger|process)_[a-z_]+)\b", query)}
    scraped = {name for name, _ in served.scrape()}
    assert names - scraped == set()
    assert {"contractledger_view_events_applied_total", "contractledger_sync_delivery_failures_total",
            "contractledger_sync_dead_letters_total", "contractledger_process_restarts_total"} <= names


def test_a_dead_worker_s_live_files_are_removed_its_counts_kept_and_the_folder_goes_at_exit(served: Served) -> None:
    server = served.server
    folder = served.folder()
    before = value(served.scrape(), "contractledger_http_requests_total")
    worker = server.children()["worker_1"]
    assert glob.glob(os.path.join(folder, f"gauge_livesum_{worker}.db"))
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: worker not in server.children().values() and len(server.children()) == 5)
    wait_for(lambda: not glob.glob(os.path.join(folder, f"gauge_livesum_{worker}.db")))
    assert value(served.scrape(), "contractledger_http_requests_total") > before  # its counts stayed
    assert server.stop() == 0
    assert not os.path.exists(folder)
