"""Operations routes: ``/ready`` (store reachable, views caught up within a
bound, each view's lag, the supervised processes running) and ``/metrics``
(Prometheus text format), which only operators read: its counts are the
whole service's (debts posted, by status, for one), not any one party's to
know."""

from __future__ import annotations

import logging
from typing import Any

import falcon

from contractledger.domain.actor import Role
from contractledger.http.answers import send
from contractledger.http.config import AppConfig
from contractledger.http.metrics import CONTENT_TYPE
from contractledger.http.problems import Problem
from contractledger.http.routing import Handler, Operation
from contractledger.projections.engine.waiting import applied_positions
from contractledger.sync.delivery_state import backlog

log = logging.getLogger("contractledger.http")


def view_lag(config: AppConfig) -> tuple[int, dict[str, int]]:
    """The ledger's newest position, and how many events each catalogued view is behind it."""
    newest = config.ledger.recorder.max_notification_id() or 0
    applied = applied_positions(config.views)
    return newest, {view.name: max(0, newest - applied.get(view.name, 0)) for view in config.views_kept}


READINESS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["ready", "store", "max_lag"],
    "properties": {
        "ready": {"type": "boolean"},
        "store": {"enum": ["reachable", "unreachable"]},
        "ledger_position": {"type": "integer"},
        "max_lag": {"type": "integer"},
        "processes": {
            "type": "object",
            "description": "The processes the serve command supervises (absent when not served by it).",
            "additionalProperties": {
                "type": "object",
                "required": ["running", "restarts"],
                "properties": {
                    "name": {"type": "string"},
                    "running": {"type": "boolean"},
                    "pid": {"type": ["integer", "null"]},
                    "restarts": {"type": "integer", "description": "times it was started again after it died"},
                    "last_exit": {"type": ["string", "null"], "description": "how it last ended"},
                },
            },
        },
        "views": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["lag"],
                "properties": {"lag": {"type": "integer", "description": "events not applied yet"}},
            },
        },
    },
}


class Readiness(Handler):
    operation = Operation(
        method="GET",
        operation_id="ready",
        summary="Ready to serve: the store answers, every view is within the bound of the ledger and every "
        "supervised process runs (503 with each view's lag and each process's state when not).",
        tag="operations",
        answer=READINESS_SCHEMA,
        refusals=(401, 503),
    )

    def __init__(self, config: AppConfig) -> None:
        self.config = config

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        processes = self.config.processes()
        shown = {} if processes is None else {"processes": processes}
        try:
            newest, lag = view_lag(self.config)
        except Exception as error:  # the store's own driver errors, whichever store it is
            log.warning("readiness: the store did not answer: %s", error)
            answer = {"ready": False, "store": "unreachable", "max_lag": self.config.ready_max_lag, **shown}
            send(resp, answer, falcon.HTTP_503)
            return
        ready = all(behind <= self.config.ready_max_lag for behind in lag.values()) and all(
            process.get("running") for process in (processes or {}).values()
        )
        answer = {
            "ready": ready,
            "store": "reachable",
            "ledger_position": newest,
            "max_lag": self.config.ready_max_lag,
            **shown,
            "views": {name: {"lag": behind} for name, behind in lag.items()},
        }
        send(resp, answer, falcon.HTTP_200 if ready else falcon.HTTP_503)


class Scrape(Handler):
    """GET /metrics: what a Prometheus server scrapes (the counts themselves are kept by http/metrics.py Metrics)."""
    operation = Operation(
        method="GET",
        operation_id="metrics",
        summary="Requests by route and status, latency histogram, view lag, events applied per view, delivery "
        "attempts and failures per peer, dead letters, process restarts, build and process metrics, in Prometheus "
        "text format. "
        "Operators only (scrape with an operator's token).",
        tag="operations",
        answer={"type": "string"},
        answer_media_type="text/plain; version=0.0.4",
        refusals=(401, 403),
        roles=(Role.OPERATOR,),
        problems=("metrics.operators_only",),
    )

    def __init__(self, config: AppConfig) -> None:
        self.config = config

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        if req.context.actor.role not in self.operation.roles:
            raise Problem(
                falcon.HTTP_403,
                "metrics.operators_only",
                "Only an operator reads the service's metrics; scrape /metrics with an operator's token.",
            )
        _, lag = view_lag(self.config)
        resp.content_type = CONTENT_TYPE
        processes = self.config.processes()
        resp.text = self.config.metrics.exposition(lag, backlog(self.config.views), processes)
