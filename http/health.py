"""``GET /health``: the process is up and answering. Needs no token."""

from __future__ import annotations

import falcon

from contractledger.http.routing import Handler, Operation


class Health(Handler):
    operation = Operation(
        method="GET",
        operation_id="health",
        summary="The process is up and answering (no token needed).",
        tag="operations",
        answer={"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]},
        public=True,
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: object) -> None:
        resp.media = {"status": "ok"}
