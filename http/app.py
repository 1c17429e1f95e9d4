"""The WSGI application: ``create_app`` builds it from injected parts,
``get_app`` reads the environment and is what gunicorn loads."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import falcon

from contractledger.domain.clock import SystemClock
from contractledger.http import problems
from contractledger.http.auth import BearerTokens
from contractledger.http.boot import BootWhenTheStoreAnswers
from contractledger.http.catalogue import routes
from contractledger.http.config import AppConfig
from contractledger.http.idempotency import IdempotentResponses
from contractledger.http.metrics import Metrics
from contractledger.http.openapi import Document
from contractledger.http.read_your_writes import PositionedLedger
from contractledger.http.request_log import RequestLog
from contractledger.http.routing import Endpoint
from contractledger.http.tokens import TokenRegistry
from contractledger.projections.view_database import view_database_for
from contractledger.store.environment import ledger_environment


def create_app(config: AppConfig) -> falcon.App:
    app = falcon.App(middleware=[RequestLog(), config.metrics, BearerTokens(config.tokens)])
    # Query strings like ?status=a&status=b stay lists, so a repeated scalar parameter is refused, not guessed.
    app.req_options.auto_parse_qs_csv = False
    problems.install(app)
    document = Document()
    registry = routes(config, document)
    for route in registry:
        app.add_route(route.path, Endpoint(route.handlers))
    document.describe(registry)
    return app


def config_from_environment() -> AppConfig:
    env = ledger_environment()
    clock = SystemClock.from_settings(env)  # the business time zone, read once for the app (SPEC 10)
    views = view_database_for(env)
    ledger = PositionedLedger(env, clock)
    tokens = TokenRegistry(views, clock, ledger)
    tokens.ensure_schema()
    responses = IdempotentResponses(views, clock)
    responses.ensure_schema()
    return AppConfig(
        ledger=ledger,
        views=views,
        tokens=tokens,
        responses=responses,
        clock=clock,
        metrics=Metrics(env.get("CONTRACTLEDGER_METRICS_DIR") or None),
        wait_bound=float(env.get("CONTRACTLEDGER_WAIT_BOUND", "5")),
        ready_max_lag=int(env.get("CONTRACTLEDGER_READY_MAX_LAG", "100")),
    )


def get_app() -> Any:
    requests = logging.getLogger("contractledger.http.requests")
    if not requests.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        requests.addHandler(handler)
        requests.setLevel(logging.INFO)
        requests.propagate = False
    logging.basicConfig(level=os.environ.get("CONTRACTLEDGER_LOG_LEVEL", "INFO"))
    # No format of the served process shows a line's thread or multiprocessing
    # name: not looking them up makes each log record (one per request) cheaper.
    # Its process id stays: gunicorn's own lines show it ("[%(process)d]").
    logging.logThreads = logging.logMultiprocessing = False
    # a worker booting while the database restarts serves 503 until it answers, instead of failing to boot
    return BootWhenTheStoreAnswers(lambda: create_app(config_from_environment())).first_try()
