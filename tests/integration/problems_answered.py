"""Every problem the HTTP tests are answered, recorded with the route that
answered it, and checked against what the API document declares for that
route: the code among its problem codes (``http/route_problems.py``), under
the status the code always comes with (``http/problem_statuses.py``).

``running_api`` (test_http_world.py) puts :class:`Recorder` in its app;
``tests/integration/conftest.py`` checks what was recorded after each test
and fails the test that was answered a code its route does not declare.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import falcon
from contractledger.http.catalogue import routes
from contractledger.http.openapi import ApiDocument
from contractledger.http.problem_statuses import STATUS_OF_CODE
from contractledger.http.route_problems import problem_codes_of
from contractledger.http.routing import operation_for

ANSWERED: list[tuple[str, str, int, str]] = []
"""(operation id, method and path, status, code) of each problem answered since the last check."""


class Recorder:
    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool) -> None:
        if not (resp.content_type or "").startswith("application/problem+json") or not resp.data:
            return
        operation = getattr(req.context, "operation", None) or operation_for(resource, req.method)
        if operation is None:  # no route at this address, or not this method: the address's answer, not a route's
            return
        code = json.loads(resp.data).get("code", "")
        ANSWERED.append((operation.operation_id, f"{req.method} {req.path}", resp.status_code, code))


class _Unused:
    def __getattr__(self, name: str) -> Any:
        return None


@cache
def declared() -> dict[str, frozenset[str]]:
    """Each operation's problem codes, as the API document lists them."""
    return {
        handler.operation.operation_id: problem_codes_of(handler.operation)
        for route in routes(_Unused(), ApiDocument())  # type: ignore[arg-type]
        for handler in route.handlers
    }


def undeclared_since_last_check() -> list[str]:
    """What was answered that the document does not say, and forgets what was recorded."""
    answered = list(ANSWERED)
    ANSWERED.clear()
    wrong = []
    for operation_id, request, status, code in dict.fromkeys(answered):
        if code not in declared()[operation_id]:
            wrong.append(f"{request} ({operation_id}) answered {status} {code}, which its route does not declare")
        elif STATUS_OF_CODE[code] != status:
            wrong.append(f"{request} ({operation_id}) answered {code} with {status}, not {STATUS_OF_CODE[code]}")
    return wrong
