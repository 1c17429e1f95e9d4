"""One structured log line per request (JSON), with a request id.

An incoming ``X-Request-ID`` is honoured when it is a sensible token (so a
request can be followed across systems); otherwise one is made. Either way
it is echoed in the response and written on the line, and problem
documents of unexpected errors can be matched to the log by it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

import falcon

log = logging.getLogger("contractledger.http.requests")
_SENSIBLE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


class RequestLog:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        offered = req.get_header("X-Request-ID")
        req.context.request_id = offered if offered and _SENSIBLE.match(offered) else uuid.uuid4().hex
        req.context.log_started = time.perf_counter()
        resp.set_header("X-Request-ID", req.context.request_id)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool) -> None:
        request_id = req.context.get("request_id", None)
        if request_id is None:
            return
        resp.set_header("X-Request-ID", request_id)
        actor = req.context.get("actor", None)
        line = {
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
        log.info(json.dumps(line, separators=(",", ":")))
