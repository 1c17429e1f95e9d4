"""The WSGI entry point gunicorn loads (``contractledger.runtime.wsgi:get_app()``):
the app's parts made from the environment's settings."""

from __future__ import annotations

import logging
import os
from typing import Any

from contractledger.domain.clock import SystemClock
from contractledger.http.app import create_app
from contractledger.http.boot import BootWhenTheStoreAnswers
from contractledger.http.config import AppConfig
from contractledger.http.idempotency import IdempotentResponses
from contractledger.http.metrics import Metrics
from contractledger.http.read_your_writes import PositionedLedger
from contractledger.http.request_log import current_request_id
from contractledger.http.tokens import TokenRegistry
from contractledger.projections.engine.view_database import view_database_for
from contractledger.runtime import log_lines
from contractledger.runtime.catalogue import VIEWS
from contractledger.runtime.supervision import read_state
from contractledger.store.environment import ledger_environment
from contractledger.store.settings import Settings


def config_from_environment(found: Settings | None = None) -> AppConfig:
    found = found or Settings.read()
    env = ledger_environment(found.environment)
    clock = SystemClock.from_settings(env)  # the business time zone, read once for the app (rules §10)
    views = view_database_for(env)
    ledger = PositionedLedger(env, clock)
    tokens = TokenRegistry(views, clock, ledger)
    tokens.ensure_schema()
    responses = IdempotentResponses(views, clock)
    responses.ensure_schema()
    metrics_directory = None if found.metrics_dir is None else str(found.metrics_dir)
    return AppConfig(
        ledger=ledger,
        views=views,
        tokens=tokens,
        responses=responses,
        clock=clock,
        # prometheus_client chose multiprocess mode when it was imported, from this variable (set by serve)
        metrics=Metrics(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None),
        wait_bound=found.wait_bound,
        ready_max_lag=found.ready_max_lag,
        views_kept=VIEWS,
        processes=lambda: read_state(metrics_directory),
    )


def get_app() -> Any:
    found = Settings.read()  # serve checked them before it started gunicorn: this reads the same
    # the service's one log format (gunicorn's own lines included: runtime/gunicorn_hooks.py),
    # each line written while answering a request carrying its id
    log_lines.configure("http", found.environment, request_id=current_request_id, level=found.log_level)
    # No format of the served process shows a line's thread or multiprocessing
    # name: not looking them up makes each log record (one per request) cheaper.
    logging.logThreads = logging.logMultiprocessing = False
    # a worker booting while the database restarts serves 503 until it answers, instead of failing to boot
    return BootWhenTheStoreAnswers(lambda: create_app(config_from_environment(found))).first_try()
