"""Request counts and latencies for ``/metrics`` (Prometheus text format).

Counted per worker process, in memory, by a middleware: requests by route
template, method and status, and a latency histogram by route. gunicorn
runs several workers and a scrape reaches one of them, so each worker also
writes its counts to its own file in a directory the serve command creates
for the service's lifetime (``CONTRACTLEDGER_METRICS_DIR``), at most once a
second, and the worker answering a scrape adds up every worker's file (its
own counts live). Other workers' counts are thus up to a second old; a
worker that stopped keeps its file, so totals never go backwards. Without a
directory (tests, one process) only the live counts are served.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import falcon

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
WRITE_EVERY = 1.0


class Metrics:
    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self.latency: dict[str, list[float]] = {}
        """Per route: a count per bucket (cumulative on output), then the sum and the count."""
        self._lock = threading.Lock()
        self._written = 0.0

    # -- counting ---------------------------------------------------------------------

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, method, str(status))] += 1
            cells = self.latency.setdefault(route, [0.0] * (len(BUCKETS) + 2))
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    cells[index] += 1
                    break
            cells[-2] += seconds
            cells[-1] += 1
        if self.directory and time.monotonic() - self._written >= WRITE_EVERY:
            self.write()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool) -> None:
        started = req.context.get("metrics_started", None)
        if started is None:
            return
        route = req.uri_template or "(no route)"
        self.observe(route, req.method, int(resp.status_code), time.perf_counter() - started)

    # -- sharing between workers -----------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": [[*key, count] for key, count in self.requests.items()],
                "latency": {route: list(cells) for route, cells in self.latency.items()},
            }

    def write(self) -> None:
        assert self.directory is not None
        self._written = time.monotonic()
        state = json.dumps(self._state())
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".worker-")
        with os.fdopen(handle, "w") as file:
            file.write(state)
        os.replace(temporary, os.path.join(self.directory, f"worker-{os.getpid()}.json"))

    def _every_worker(self) -> Iterable[dict[str, Any]]:
        yield self._state()
        if not self.directory:
            return
        own = f"worker-{os.getpid()}.json"
        for name in sorted(os.listdir(self.directory)):
            if name.startswith("worker-") and name != own:
                try:
                    with open(os.path.join(self.directory, name)) as file:
                        yield json.load(file)
                except (OSError, ValueError):
                    continue  # a file being replaced: its counts come with the next scrape

    # -- the exposition ---------------------------------------------------------------------

    def exposition(
        self,
        view_lag: dict[str, int],
        sync_backlog: dict[str, tuple[int, int]] | None = None,
        processes: dict[str, Any] | None = None,
    ) -> str:
        requests: Counter[tuple[str, str, str]] = Counter()
        latency: dict[str, list[float]] = {}
        for state in self._every_worker():
            for route, method, status, count in state["requests"]:
                requests[(route, method, status)] += count
            for route, cells in state["latency"].items():
                total = latency.setdefault(route, [0.0] * (len(BUCKETS) + 2))
                for index, value in enumerate(cells):
                    total[index] += value
        lines = [
            "# HELP contractledger_http_requests_total HTTP requests answered, by route template, method and status.",
            "# TYPE contractledger_http_requests_total counter",
        ]
        for (route, method, status), count in sorted(requests.items()):
            lines.append(
                f'contractledger_http_requests_total{{route="{_label(route)}",method="{method}",status="{status}"}} {count}'
            )
        lines += [
            "# HELP contractledger_http_request_duration_seconds Time to answer a request, by route template.",
            "# TYPE contractledger_http_request_duration_seconds histogram",
        ]
        for route, cells in sorted(latency.items()):
            cumulative = 0.0
            for bound, count in zip(BUCKETS, cells):
                cumulative += count
                lines.append(
                    f'contractledger_http_request_duration_seconds_bucket{{route="{_label(route)}",le="{bound}"}} {cumulative:g}'
                )
            lines.append(
                f'contractledger_http_request_duration_seconds_bucket{{route="{_label(route)}",le="+Inf"}} {cells[-1]:g}'
            )
            lines.append(f'contractledger_http_request_duration_seconds_sum{{route="{_label(route)}"}} {cells[-2]:.6f}')
            lines.append(f'contractledger_http_request_duration_seconds_count{{route="{_label(route)}"}} {cells[-1]:g}')
        lines += [
            "# HELP contractledger_view_lag_events Events recorded in the ledger that a view has not applied yet.",
            "# TYPE contractledger_view_lag_events gauge",
        ]
        lines += [f'contractledger_view_lag_events{{view="{view}"}} {lag}' for view, lag in sorted(view_lag.items())]
        lines += [
            "# HELP contractledger_sync_backlog_items Items waiting for delivery to a sync peer (state: waiting, dead_letter).",
            "# TYPE contractledger_sync_backlog_items gauge",
        ]
        for peer, (waiting, dead) in sorted((sync_backlog or {}).items()):
            lines.append(f'contractledger_sync_backlog_items{{peer="{_label(peer)}",state="waiting"}} {waiting}')
            lines.append(f'contractledger_sync_backlog_items{{peer="{_label(peer)}",state="dead_letter"}} {dead}')
        if processes is not None:
            lines += [
                "# HELP contractledger_process_restarts_total Times a supervised process was started again after it died.",
                "# TYPE contractledger_process_restarts_total counter",
            ]
            lines += [
                f'contractledger_process_restarts_total{{process="{_label(key)}"}} {int(state.get("restarts", 0))}'
                for key, state in sorted(processes.items())
            ]
            lines += [
                "# HELP contractledger_process_up Whether a supervised process is running (1) or waiting to restart (0).",
                "# TYPE contractledger_process_up gauge",
            ]
            lines += [
                f'contractledger_process_up{{process="{_label(key)}"}} {1 if state.get("running") else 0}'
                for key, state in sorted(processes.items())
            ]
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
