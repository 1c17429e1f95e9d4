"""Every use case as an HTTP command: one generic handler, and per use case
a :class:`Command` saying its path, its body, how to call the ledger and
what to answer.

The handler reads the body strictly (``bodies.read``), honours
``If-Match`` on the aggregate the path names, passes ``Idempotency-Key`` as
the use case's command id (and keeps the first response for repeats),
and answers with the ledger position of the command's last event
(``Ledger-Position``), 201 and ``Location`` for creations. Refusals are
the domain's errors, mapped in ``problems``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import falcon
import msgspec

from contractledger.domain.actor import Actor, Role
from contractledger.http import bodies
from contractledger.http.answer_once import answer_once
from contractledger.http.answers import encode
from contractledger.http.command_answers import Answer
from contractledger.http.concurrency import conditional_on, ensure_version
from contractledger.http.config import AppConfig
from contractledger.http.read_your_writes import POSITION_HEADER, PositionedLedger
from contractledger.http.routing import Handler, Operation

COMMAND_REFUSALS = (400, 401, 403, 404, 409, 412, 413, 415, 422)


@dataclass(frozen=True)
class Command:
    operation_id: str
    path: str
    summary: str
    tag: str
    body: type[msgspec.Struct] | None
    """None: the command takes no body (a DELETE)."""
    run: Callable[[PositionedLedger, Actor, dict[str, UUID], Any, str | None], Any]
    """Calls the use case: (ledger, actor, path parameters, body, command id) -> outcome."""
    answer: type[Answer] | None
    """None: the use case only ever refuses (its refusal says what to do instead)."""
    aggregate: str | None = None
    """The path parameter naming the aggregate ``If-Match`` is checked against."""
    visible: Callable[[PositionedLedger, Actor, UUID], None] | None = None
    """Refuses, as the use case would, an actor who may not be told the aggregate's version (NotFound
    when it may not see it): run before a 412 reveals that version."""
    location: Callable[[Any], str | None] | None = None
    """Where the created thing is read (a 201 with Location); None: nothing was created."""
    method: str = "POST"
    roles: tuple[Role, ...] = ()
    """Who may run it, as the use case's rules allow (http/route_roles.py); every command says."""
    use_cases: tuple[str, ...] = ()
    """The ledger's methods ``run`` calls, whose rules' codes it answers; () when it is the one named operation_id."""

    def operation(self) -> Operation:
        if not self.roles:
            raise ValueError(f"{self.operation_id}: say which roles may run it")
        headers = ("Idempotency-Key",) + (("If-Match",) if self.aggregate else ())
        return Operation(
            method=self.method,
            operation_id=self.operation_id,
            summary=self.summary,
            tag=self.tag,
            path_parameters=_path_parameters(self.path),
            body=self.body,
            answer=self.answer,
            success=201 if self.location else 200,
            refusals=COMMAND_REFUSALS,
            request_headers=headers,
            response_headers=(POSITION_HEADER,) + (("Location",) if self.location else ()),
            roles=self.roles,
            use_cases=self.use_cases or (self.operation_id,),
        )


def _path_parameters(path: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\{(\w+)(?::\w+)?\}", path))


class CommandHandler(Handler):
    def __init__(self, command: Command, config: AppConfig) -> None:
        self.command = command
        self.config = config
        self.operation = command.operation()

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        actor: Actor = req.context.actor
        body = bodies.read(req, self.command.body) if self.command.body is not None else None
        answer_once(
            req, resp, self.config.responses, body, lambda cid: self._respond(self._run(req, actor, params, body, cid), resp)
        )

    def _run(self, req: falcon.Request, actor: Actor, params: dict[str, Any], body: Any, cid: str | None) -> "_Answer":
        ledger = self.config.ledger
        if self.command.aggregate is not None:
            aggregate_id = params[self.command.aggregate]

            def ensure_visible() -> None:
                if self.command.visible is not None:
                    self.command.visible(ledger, actor, aggregate_id)

            ensure_version(req, ledger, aggregate_id, ensure_visible)
        ledger.forget_position()
        with conditional_on(req, aggregate_id if self.command.aggregate is not None else None):
            outcome = self.command.run(ledger, actor, params, body, cid)
        location = self.command.location(outcome) if self.command.location else None
        answer = self.command.answer.of(outcome) if self.command.answer is not None else None
        return _Answer(answer, location, ledger.position_after_command())

    def _respond(self, answer: "_Answer", resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_201 if answer.location else falcon.HTTP_200
        resp.content_type = falcon.MEDIA_JSON
        resp.data = encode(answer.body)
        resp.set_header(POSITION_HEADER, str(answer.position))
        if answer.location:
            resp.set_header("Location", answer.location)


@dataclass(frozen=True)
class _Answer:
    body: Any
    location: str | None
    position: int
