"""Every refusal as ``application/problem+json`` (RFC 9457), mapped in one place.

Domain errors carry a stable ``code``; the problem document repeats it, with
the sentence for a human (``detail``) and the offending ``field`` where there
is one. Nothing ever answers with a traceback.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import falcon

from contractledger.domain.errors import (
    Conflict,
    InvalidInput,
    LedgerError,
    NotFound,
    NotPermitted,
    RuleBroken,
)
from contractledger.store.availability import is_unavailable

PROBLEM_JSON = "application/problem+json"
PROBLEMS_PATH = "/problems"
log = logging.getLogger("contractledger.http")

STATUS_OF: dict[type[LedgerError], str] = {
    InvalidInput: falcon.HTTP_422,
    RuleBroken: falcon.HTTP_422,
    NotFound: falcon.HTTP_404,
    NotPermitted: falcon.HTTP_403,
    Conflict: falcon.HTTP_409,
}


def type_uri(code: str) -> str:
    """A problem's ``type``: the page this service serves for its code (relative, so it resolves
    against whichever address the client reached the service at)."""
    return f"{PROBLEMS_PATH}/{code}"


class Problem(falcon.HTTPError):
    """An HTTP error whose body is a problem document with a stable code."""

    def __init__(
        self,
        status: str,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(status, title=falcon.code_to_http_status(status)[4:], description=detail, headers=headers)
        self.code = code
        self.field = field
        self.extensions = extensions

    def to_dict(self, obj_type: type = dict) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": type_uri(self.code),
            "title": self.title,
            "status": int(self.status_code),
            "code": self.code,
            "detail": self.description,
        }
        if self.field:
            document["field"] = self.field
        document.update(self.extensions)
        return document


def from_ledger_error(error: LedgerError) -> Problem:
    status = next((s for kind, s in STATUS_OF.items() if isinstance(error, kind)), falcon.HTTP_422)
    extensions: dict[str, Any] = {}
    if isinstance(error, Conflict) and error.current_version is not None:
        extensions["current_version"] = error.current_version
    return Problem(status, error.code, error.message, field=error.field, **extensions)


def handle_ledger_error(req: falcon.Request, resp: falcon.Response, error: LedgerError, params: Any) -> None:
    raise from_ledger_error(error)


STORE_RETRY_AFTER_SECONDS = 1


def store_unavailable() -> Problem:
    return Problem(
        falcon.HTTP_503,
        "store.unavailable",
        "The ledger's store cannot be reached for the moment; nothing was changed by this request. "
        f"Retry in {STORE_RETRY_AFTER_SECONDS} s (with the same Idempotency-Key for a command).",
        headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
    )


def handle_unexpected(req: falcon.Request, resp: falcon.Response, error: Exception, params: Any) -> None:
    if isinstance(error, falcon.HTTPError):
        raise error
    if is_unavailable(error):
        log.warning("store unavailable on %s %s: %s", req.method, req.path, (str(error).strip().splitlines() or [type(error).__name__])[0])
        raise store_unavailable()
    log.exception("unexpected error on %s %s", req.method, req.path)
    raise Problem(
        falcon.HTTP_500,
        "server.unexpected",
        "The ledger could not answer this request; nothing was changed. The error is logged with the request id.",
    )


def problem_body(error: falcon.HTTPError) -> bytes:
    """The problem document of any HTTP error, as sent (and as kept for an idempotent repeat)."""
    if isinstance(error, Problem):
        document = error.to_dict()
    else:
        code = _FALCON_CODES.get(int(error.status_code), f"http.{int(error.status_code)}")
        document = {
            "type": type_uri(code),
            "title": falcon.code_to_http_status(int(error.status_code))[4:],
            "status": int(error.status_code),
            "code": code,
            "detail": error.description or _DEFAULT_DETAILS.get(int(error.status_code), error.title),
        }
    return json.dumps(document).encode()


def serialize(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    """Writes falcon's own errors (404 route, 405 method, 413...) as problems too."""
    resp.content_type = PROBLEM_JSON
    resp.data = problem_body(error)


_FALCON_CODES = {
    400: "request.malformed",
    401: "auth.token_required",
    404: "route.not_found",
    405: "route.method_not_allowed",
    413: "request.body_too_large",
    415: "request.unsupported_media_type",
}
_DEFAULT_DETAILS = {
    404: "There is nothing at this address. See /openapi.json for the routes.",
    405: "This address does not accept that method. See /openapi.json for the routes.",
}


def install(app: falcon.App) -> None:
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(LedgerError, handle_ledger_error)
    app.set_error_serializer(serialize)
