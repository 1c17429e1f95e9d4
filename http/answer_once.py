"""The one idempotency path: every route that takes ``Idempotency-Key``
(each command, a sync peer's ack, changes, links and reconcile, the
operator's replay of dead letters and resume) answers through
:func:`answer_once`.

Without a key the route simply answers. With one, the first answer is kept
(``idempotency.IdempotentResponses``) and a repeat gets it back with
``Idempotent-Replayed: true``; the same key with another request is refused
(422), a repeat while the first is being answered too (409, unless its
process is gone: then it takes over). What is kept: a success, and a
refusal (a problem, or the domain's error as its problem) below 500. A
server error, or an attempt that did not finish, forgets the key, so a
retry runs again (the use case's command id makes that safe).

Why a function the handler calls and not a falcon middleware (as falcon's
``asgilook`` cache is): the request's fingerprint is the decoded body
(``msgspec.json.encode`` of it, so two JSON spellings of the same body are
one request), and a route's own refusals come before the key is looked
at, and are never kept: an unknown query parameter, a sync route's peer
checks, a body that does not decode, a malformed key. A middleware's
``process_resource`` runs before all of them; and falcon never calls its
``process_response`` when a ``BaseException`` (a worker's ``SystemExit``)
cuts the attempt off, so the key would stay in flight instead of being
forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon
import msgspec

from contractledger.domain.errors import LedgerError
from contractledger.http.idempotency import (
    KEPT_HEADERS,
    IdempotentResponses,
    KeptResponse,
    command_id,
    idempotency_key,
    principal_of,
    request_fingerprint,
)
from contractledger.http.problems import (
    PROBLEM_JSON,
    Problem,
    from_ledger_error,
    problem_body,
)


def answer_once(
    req: falcon.Request,
    resp: falcon.Response,
    responses: IdempotentResponses,
    body: Any,
    answer: Callable[[str | None], None],
) -> None:
    """Answers the request by ``answer(command_id)``, which writes ``resp``;
    with an ``Idempotency-Key``, once: ``command_id`` is the key scoped by
    the principal presenting it (None without a key), and a repeat of the
    request (``body``: as decoded, None for a route that takes none) gets
    the first answer back."""
    key = idempotency_key(req)
    if key is None:
        answer(None)
        return
    actor = req.context.actor
    principal = principal_of(actor)
    fingerprint = request_fingerprint(req.method, req.path, msgspec.json.encode(body) if body is not None else b"")
    kept = responses.begin(principal, key, fingerprint)
    if kept is not None:
        _replay(kept, resp)
        return
    try:
        try:
            answer(command_id(actor, key))
        except LedgerError as error:
            raise from_ledger_error(error) from None
    except Problem as problem:
        responses.keep(principal, key, _kept_problem(problem))
        raise
    except BaseException:
        responses.forget(principal, key)
        raise
    responses.keep(principal, key, _kept_answer(resp))


def _kept_answer(resp: falcon.Response) -> KeptResponse:
    headers = {name: resp.headers[name.lower()] for name in KEPT_HEADERS if name.lower() in resp.headers}
    return KeptResponse(int(resp.status_code), resp.content_type, headers, resp.data)


def _kept_problem(problem: Problem) -> KeptResponse:
    headers = {name: value for name, value in (problem.headers or {}).items() if name in KEPT_HEADERS}
    return KeptResponse(int(problem.status_code), PROBLEM_JSON, headers, problem_body(problem))


def _replay(kept: KeptResponse, resp: falcon.Response) -> None:
    resp.status = kept.status
    resp.content_type = kept.content_type
    resp.data = kept.body
    for name, value in kept.headers.items():
        resp.set_header(name, value)
    resp.set_header("Idempotent-Replayed", "true")
