"""``/metrics``: the whole service's series in Prometheus text format, by
``prometheus_client``.

The HTTP middleware counts requests by route template, method and status, a
latency histogram by route, and the requests in progress. Served, every
process (each gunicorn worker, the views runner, the delivery worker) runs
``prometheus_client`` in multiprocess mode: serve points
``PROMETHEUS_MULTIPROC_DIR`` at the service's metrics folder, each process
keeps its counts in files there, and the worker answering a scrape adds up
every process's files (``MultiProcessCollector``). A dead process's counts
stay in their files, so totals never go backwards; its live gauges are
removed (``mark_process_dead``, by gunicorn's hook and the supervisor).
Without a folder (tests, one process) the app's own counts are served.

What is read when scraped is added then: each view's lag and each peer's
backlog (from the store), the supervised processes' restarts and whether
they run (the supervisor's state file), ``contractledger_build_info``, and
the standard process metrics of every process of the service (read from
/proc, labelled with the process and its pid: ``prometheus_client``'s own
process collector sees only the process it runs in).
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable, Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import falcon
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client import disable_created_metrics
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Multiprocess mode keeps no ``_created`` series; one process does not either, so both expose the same series.
disable_created_metrics()


class Metrics:
    """The HTTP middleware's counts, and the exposition. ``directory`` is the
    multiprocess folder (``PROMETHEUS_MULTIPROC_DIR``), None for one process."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "contractledger_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "contractledger_http_request_duration_seconds",
            "Time to answer a request, by route template.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "contractledger_http_requests_in_progress",
            "Requests being answered now, over every live worker.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    # -- counting ---------------------------------------------------------------------

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        counted = self._series.get(key)
        if counted is None:  # a route's series, looked up once (labels() costs as much as counting)
            counted = self._series[key] = (
                self.requests.labels(route=route, method=method, status=str(status)), self.latency.labels(route=route)
            )
        counted[0].inc()
        counted[1].observe(seconds)

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = time.perf_counter()
        self.in_progress.inc()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool) -> None:
        started = req.context.get("metrics_started", None)
        if started is None:
            return
        self.in_progress.dec()
        route = req.uri_template or "(no route)"
        self.observe(route, req.method, int(resp.status_code), time.perf_counter() - started)

    # -- the exposition ---------------------------------------------------------------------

    def exposition(
        self,
        view_lag: dict[str, int],
        sync_backlog: dict[str, tuple[int, int]] | None = None,
        processes: dict[str, Any] | None = None,
    ) -> str:
        scrape = CollectorRegistry(auto_describe=False)
        if self.directory:
            MultiProcessCollector(scrape, path=self.directory)
        else:
            for counted in (self.requests, self.latency, self.in_progress):
                scrape.register(counted)
        scrape.register(ReadWhenScraped(view_lag, sync_backlog or {}, processes))
        return generate_latest(scrape).decode()


class ReadWhenScraped:
    """The series whose values are looked up at the scrape (a custom collector)."""

    def __init__(
        self, view_lag: Mapping[str, int], sync_backlog: Mapping[str, tuple[int, int]], processes: Mapping[str, Any] | None
    ) -> None:
        self.view_lag = view_lag
        self.sync_backlog = sync_backlog
        self.processes = processes

    def collect(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "contractledger_view_lag_events", "Events recorded in the ledger that a view has not applied yet.", labels=["view"]
        )
        for view, behind in sorted(self.view_lag.items()):
            lag.add_metric([view], behind)
        yield lag
        backlog = GaugeMetricFamily(
            "contractledger_sync_backlog_items",
            "Items waiting for delivery to a sync peer (state: waiting, dead_letter).",
            labels=["peer", "state"],
        )
        for peer, (waiting, dead) in sorted(self.sync_backlog.items()):
            backlog.add_metric([peer, "waiting"], waiting)
            backlog.add_metric([peer, "dead_letter"], dead)
        yield backlog
        build = GaugeMetricFamily(
            "contractledger_build_info", "The service's version and Python's (always 1).", labels=["version", "python_version"]
        )
        build.add_metric([_version(), platform.python_version()], 1)
        yield build
        if self.processes is not None:
            restarts = CounterMetricFamily(
                "contractledger_process_restarts",
                "Times a supervised process was started again after it died.",
                labels=["process"],
            )
            up = GaugeMetricFamily(
                "contractledger_process_up",
                "Whether a supervised process is running (1) or waiting to restart (0).",
                labels=["process"],
            )
            for key, state in sorted(self.processes.items()):
                restarts.add_metric([key], int(state.get("restarts", 0)))
                up.add_metric([key], 1 if state.get("running") else 0)
            yield restarts
            yield up
        yield from process_metrics(self.service_processes())

    def service_processes(self) -> list[tuple[str, int]]:
        """(role, pid) of every process of the service: the supervised ones and
        gunicorn's workers; without a supervisor, this one process."""
        if self.processes is None:
            return [("http_worker", os.getpid())]
        found = []
        for key, state in sorted(self.processes.items()):
            pid = state.get("pid")
            if not isinstance(pid, int):
                continue
            found.append((key, pid))
            if key == "http":
                found += [("http_worker", worker) for worker in _children(pid)]
        return found


def process_metrics(processes: Iterable[tuple[str, int]]) -> Iterator[Metric]:
    """The standard process series (CPU, memory, open files, start time) of each
    process, labelled with its role and pid; a process gone since is left out."""
    families: dict[str, Metric] = {}
    for role, pid in processes:
        collector = ProcessCollector(pid=lambda pid=pid: pid, registry=None)  # type: ignore[misc]
        for family in collector.collect():
            merged = families.setdefault(family.name, Metric(family.name, family.documentation, family.type))
            for sample in family.samples:
                merged.add_sample(sample.name, {**sample.labels, "process": role, "pid": str(pid)}, sample.value)
    yield from families.values()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as file:
            return sorted(int(child) for child in file.read().split())
    except (OSError, ValueError):
        return []


def _version() -> str:
    try:
        return version("contractledger")
    except PackageNotFoundError:
        return "unknown"
