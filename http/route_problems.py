"""The problem codes each route can answer, for the API document.

Three sources, each read from what the route is:

- its shape: every route refuses an undeclared query parameter and a request
  it cannot read; one that needs a token, a missing or refused token and an
  unreachable store; a body, a header, a paged list, ``wait_for`` and
  ``as_of`` each bring the codes of their decoding and rules;
- what its handler answers itself (``Operation.problems``): a peer's route,
  the export, /metrics, a query's missing item;
- the rules of the use cases it runs (``Operation.use_cases``), read from
  their source (``http/raised_codes.py``).

``tests/integration/conftest.py`` records every problem the HTTP tests are
answered and fails a test whose route answered a code not listed here.
"""

from __future__ import annotations

from contractledger.http.query_parameters import Paging
from contractledger.http.raised_codes import codes_raised_by
from contractledger.http.routing import Operation

EVERY_ROUTE = frozenset({"request.malformed", "query.invalid_parameter", "server.unexpected"})
"""A request it cannot read, a query parameter it does not declare, and the error nobody meant."""
WITH_A_TOKEN = frozenset({"auth.token_required", "auth.token_refused", "store.unavailable"})
BODY = frozenset({
    "request.invalid_field", "request.malformed_json", "request.too_deeply_nested",
    "request.unsupported_media_type", "request.body_too_large",
})
IDEMPOTENCY_KEY = frozenset({
    "request.idempotency_key_invalid", "request.idempotency_key_reused", "request.idempotency_key_in_flight",
})
IF_MATCH = frozenset({"request.if_match_invalid", "request.version_mismatch"})
WAIT_FOR = frozenset({"query.views_behind", "query.wait_for_beyond_ledger"})
AS_OF = frozenset({"query.as_of_in_the_future"})
PAGED = frozenset({"query.cursor_invalid"})
ID_IN_PATH = frozenset({"route.not_found"})
"""A path id that is not a UUID: no route has that address."""
PEER_IN_PATH = frozenset({"sync.peer.unknown"})

NOT_A_ROUTES = {
    "route.method_not_allowed": "an address answers it for a method none of its routes serves",
    "as_of.instant_invalid": "the ledger's own API: an instant without its zone never gets past the HTTP edge",
    "health.not_an_advisor": "the ledger's own API: over HTTP health is read from the views",
    "console.csrf_refused": "the console's pages (HTML, outside the API document): a form posted without its token",
    **{
        code: "the tokens command line: tokens are issued on the server, never over HTTP"
        for code in (
            "token.lifetime_not_positive", "token.party_not_for_role", "token.party_required", "token.party_unknown",
            "token.peer_unknown", "token.role_does_not_fit", "token.role_not_issuable", "token.user_required",
        )
    },
}
"""The codes no route answers as its own, and who answers them."""


def problem_codes_of(op: Operation) -> frozenset[str]:
    fields = set(getattr(op.query, "__struct_fields__", ()))
    codes = set(EVERY_ROUTE)
    codes |= WITH_A_TOKEN if not op.public else set()
    codes |= ID_IN_PATH if any(p == "id" or p.endswith("_id") for p in op.path_parameters) else set()
    codes |= PEER_IN_PATH if "peer" in op.path_parameters else set()
    codes |= BODY if op.body is not None else set()
    codes |= IDEMPOTENCY_KEY if "Idempotency-Key" in op.request_headers else set()
    codes |= IF_MATCH if "If-Match" in op.request_headers else set()
    codes |= WAIT_FOR if "wait_for" in fields else set()
    codes |= AS_OF if "as_of" in fields else set()
    codes |= PAGED if isinstance(op.query, type) and issubclass(op.query, Paging) else set()
    return frozenset(codes | set(op.problems) | codes_raised_by(op.use_cases))
