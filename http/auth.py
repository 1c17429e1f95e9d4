"""Authentication: every route but the public ones (``/health``, the API
document) and the console's pages (signed in by their session cookie,
``http/console/sessions.py``) needs a bearer token; the principal it stands for becomes
``req.context.actor``. What the principal may do is the domain's rules and
the projections' visibility, not this module's."""

from __future__ import annotations

from typing import Any

import falcon

from contractledger.http.problems import Problem
from contractledger.http.routing import operation_for
from contractledger.http.tokens import TokenRefused, TokenRegistry

CHALLENGE = 'Bearer realm="contractledger"'


class BearerTokens:
    def __init__(self, tokens: TokenRegistry) -> None:
        self.tokens = tokens

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict) -> None:
        operation = operation_for(resource, req.method)
        if operation is None or operation.public or operation.console:
            return  # falcon answers 404/405 itself; public routes need no token; the console signs in by session
        header = req.get_header("Authorization") or ""
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise _refused("auth.token_required", "Send a bearer token: 'Authorization: Bearer <token>'.")
        try:
            req.context.actor = self.tokens.authenticate(secret.strip())
        except TokenRefused as refusal:
            raise _refused("auth.token_refused", str(refusal), error="invalid_token") from None


def _refused(code: str, detail: str, error: str | None = None) -> Problem:
    challenge = CHALLENGE + (f', error="{error}"' if error else "")
    return Problem(falcon.HTTP_401, code, detail, headers={"WWW-Authenticate": challenge})
