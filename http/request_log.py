"""One structured log line per request, with a request id.

An incoming ``X-Request-ID`` is honoured when it is a sensible token (so a
request can be followed across systems); otherwise one is made. Either way
it is echoed in the response and written on the line, and problem
documents of unexpected errors can be matched to the log by it. The line's
message is "METHOD path status"; its fields (request_id, method, path,
route, status, duration_ms, principal, party_id, remote_addr) are the
record's own, which the service's JSON log format writes as keys
(runtime/log_lines.py). While a request is answered, ``current_request_id``
names it, so that any other line logged meanwhile carries it too.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from typing import Any

import falcon

log = logging.getLogger("contractledger.http.requests")
_SENSIBLE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_answering: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this thread is answering, if any."""
    return _answering.get()


class RequestLog:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        offered = req.get_header("X-Request-ID")
        req.context.request_id = offered if offered and _SENSIBLE.match(offered) else uuid.uuid4().hex
        req.context.log_started = time.perf_counter()
        req.context.log_token = _answering.set(req.context.request_id)
        resp.set_header("X-Request-ID", req.context.request_id)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool) -> None:
        request_id = req.context.get("request_id", None)
        if request_id is None:
            return
        resp.set_header("X-Request-ID", request_id)
        token = req.context.get("log_token", None)
        if token is not None:
            _answering.reset(token)
        if not log.isEnabledFor(logging.INFO):
            return
        actor = req.context.get("actor", None)
        fields = {
            "request_id": request_id,
            "method": req.method,
            "path": req.path,
            "route": req.uri_template,
            "status": int(resp.status_code),
            "duration_ms": round((time.perf_counter() - req.context.log_started) * 1000, 3),
            "principal": f"{actor.role.value}:{actor.user}" if actor else None,
            "party_id": str(actor.party_id) if actor and actor.party_id else None,
            "remote_addr": req.remote_addr,
        }
        path = req.path if req.path.isprintable() else req.path.encode("unicode_escape").decode()  # one line, as text too
        message = f"{req.method} {path} {fields['status']}"
        # As log.info(message, extra=fields) does, less looking up the caller's file and line
        # (this line's own place in the code, the same every time, and shown by no format).
        log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, message, None, None, extra=fields))
