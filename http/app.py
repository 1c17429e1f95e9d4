"""The WSGI application: ``create_app`` builds it from injected parts (the
composition root, ``runtime/wsgi.py``, from the environment; tests by hand)."""

from __future__ import annotations

import falcon

from contractledger.http import problems
from contractledger.http.auth import BearerTokens
from contractledger.http.catalogue import routes
from contractledger.http.config import AppConfig
from contractledger.http.openapi import ApiDocument
from contractledger.http.request_log import RequestLog
from contractledger.http.routing import Endpoint


def create_app(config: AppConfig) -> falcon.App:
    app = falcon.App(middleware=[RequestLog(), config.metrics, BearerTokens(config.tokens)])
    # Query strings like ?status=a&status=b stay lists, so a repeated scalar parameter is refused, not guessed.
    app.req_options.auto_parse_qs_csv = False
    problems.install(app)
    document = ApiDocument()
    registry = routes(config, document)
    for route in registry:
        app.add_route(route.path, Endpoint(route.handlers))
    document.describe(registry)
    return app
