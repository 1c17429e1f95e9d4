"""The WSGI application: ``create_app`` builds it from injected parts,
``get_app`` reads the environment and is what gunicorn loads."""

from __future__ import annotations

import falcon

from contractledger.http.health import Health


def create_app() -> falcon.App:
    app = falcon.App()
    app.add_route("/health", Health())
    return app


def get_app() -> falcon.App:
    return create_app()
