"""gunicorn's configuration module (``--config python:contractledger.runtime.gunicorn_hooks``),
which serve passes: its log in the service's one format, and its server hooks.

A worker that ends (killed, timed out, recycled) leaves its metrics files in
the multiprocess folder: its counts must stay there (totals never go
backwards), but its live gauges (requests in progress) must not be added
up any more, so they are removed when gunicorn sees it exit."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client.multiprocess import mark_process_dead

from contractledger.runtime.log_lines import gunicorn_logconfig

logconfig_dict = gunicorn_logconfig("http")


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mark_process_dead(worker.pid)
