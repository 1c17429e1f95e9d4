"""Every command as an HTTP route: one generic handler, and per route a
:class:`CommandRoute` saying its path, its body, the ledger's command it
makes (domain/commands.py) and what to answer.

The handler reads the body strictly (``bodies.read``) and makes the command
from the path's parameters and the body's fields, by name (``command_of``):
``If-Match`` on the aggregate the path names is the command's expected
version, ``Idempotency-Key`` its command id (the first response is kept for
repeats); the ledger runs it (``ContractLedger.handle``). It answers
with the ledger position of the command's last event
(``Ledger-Position``), 201 and ``Location`` for creations. Refusals are
the domain's errors, mapped in ``problems``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import falcon
import msgspec

from contractledger.domain.actor import Actor, Role
from contractledger.domain.command_handlers import handler_for
from contractledger.domain.commands import Command
from contractledger.domain.debt import KEEP
from contractledger.http import bodies
from contractledger.http.answer_once import answer_once
from contractledger.http.answers import encode
from contractledger.http.commands.answers import Answer
from contractledger.http.commands.bodies import Document, references
from contractledger.http.concurrency import ensure_version, expected_version, refused_as_precondition
from contractledger.http.config import AppConfig
from contractledger.http.read_your_writes import POSITION_HEADER, PositionedLedger
from contractledger.http.routing import Handler, Operation

COMMAND_REFUSALS = (400, 401, 403, 404, 409, 412, 413, 415, 422)


@dataclass(frozen=True)
class CommandRoute:
    operation_id: str
    path: str
    summary: str
    tag: str
    body: type[msgspec.Struct] | None
    """None: the command takes no body (a DELETE)."""
    command: type[Command]
    """The ledger's command the route makes: its fields are the path's parameters and the body's, by name."""
    answer: type[Answer] | None
    """None: the use case only ever refuses (its refusal says what to do instead)."""
    aggregate: str | None = None
    """The path parameter naming the aggregate ``If-Match`` is checked against (the command's expected version)."""
    visible: Callable[[PositionedLedger, Actor, UUID], None] | None = None
    """Refuses, as the use case would, an actor who may not be told the aggregate's version (NotFound
    when it may not see it): run before a 412 reveals that version."""
    location: Callable[[Any], str | None] | None = None
    """Where the created thing is read (a 201 with Location); None: nothing was created."""
    method: str = "POST"
    roles: tuple[Role, ...] = ()
    """Who may run it, as the use case's rules allow (http/route_roles.py); every command says."""
    path_as: dict[str, str] = field(default_factory=dict)
    """A path parameter the command names otherwise (``party_id`` that is the command's ``advisor_id``)."""
    instead: tuple[tuple[str, type[Command]], ...] = ()
    """A body's true flag that makes another command (``whole_bundle``: the bundle's manual status); the flag
    is no field of either."""

    @property
    def commands(self) -> tuple[type[Command], ...]:
        return (self.command, *(other for _, other in self.instead))

    @property
    def use_cases(self) -> tuple[str, ...]:
        """The ledger's use cases the route runs, whose rules' codes it answers."""
        return tuple(handler_for(c).use_case for c in self.commands)

    def command_of(self, path: dict[str, Any], body: Any, expected_version: int | None) -> Command:
        """The command the request asks for: the path's parameters and the body's fields by name."""
        kind = next((other for flag, other in self.instead if getattr(body, flag, False)), self.command)
        given = {self.path_as.get(name, name): value for name, value in path.items()}
        if body is not None:
            given.update({name: _field_value(getattr(body, name)) for name in body.__struct_fields__})
        fields = {name: given[name] for name in kind.__struct_fields__ if name in given}
        return kind(**fields, expected_version=expected_version)

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
            use_cases=self.use_cases,
        )


def _field_value(value: Any) -> Any:
    """A body's field as the command takes it: document references for documents, KEEP for a term not given."""
    if value is msgspec.UNSET:
        return KEEP
    if isinstance(value, list) and value and all(isinstance(v, Document) for v in value):
        return references(value)
    if isinstance(value, list) and not value:
        return ()
    return value


def _path_parameters(path: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\{(\w+)(?::\w+)?\}", path))


class CommandHandler(Handler):
    def __init__(self, route: CommandRoute, config: AppConfig) -> None:
        self.route = route
        self.config = config
        self.operation = route.operation()

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        actor: Actor = req.context.actor
        body = bodies.read(req, self.route.body) if self.route.body is not None else None
        answer_once(
            req, resp, self.config.responses, body, lambda cid: self._respond(self._run(req, actor, params, body, cid), resp)
        )

    def _run(self, req: falcon.Request, actor: Actor, params: dict[str, Any], body: Any, cid: str | None) -> "_Answer":
        ledger = self.config.ledger
        expected = None
        if self.route.aggregate is not None:
            aggregate_id = params[self.route.aggregate]

            def ensure_visible() -> None:
                if self.route.visible is not None:
                    self.route.visible(ledger, actor, aggregate_id)

            expected = expected_version(req)
            ensure_version(expected, ledger, aggregate_id, ensure_visible)
        command = self.route.command_of(params, body, expected)
        ledger.forget_position()
        with refused_as_precondition(expected):
            outcome = ledger.handle(actor, command, command_id=cid)
        location = self.route.location(outcome) if self.route.location else None
        answer = self.route.answer.of(outcome, command) if self.route.answer is not None else None
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
