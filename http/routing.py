"""The route registry: one list of routes that both the app and the API
document are built from, so neither can know a route the other does not.

A route is a path and the handlers answering its methods. Each handler
carries its :class:`Operation`: what the API document says of it (summary,
parameters, body, answer, refusals). :class:`Endpoint` is the falcon
resource of a route: its responders are the handlers themselves. A route
whose operation declares no query parameters refuses any it is sent, as
the others refuse the ones they do not declare.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import falcon

from contractledger.domain.actor import Role
from contractledger.http.problems import Problem
from contractledger.http.route_roles import EVERY_ROLE

_CONVERTER = re.compile(r"\{(\w+):\w+\}")


@dataclass(frozen=True)
class Operation:
    method: str
    operation_id: str
    summary: str
    tag: str
    path_parameters: tuple[str, ...] = ()
    query: type | None = None
    """A msgspec Struct whose fields are the query parameters."""
    body: type | None = None
    answer: Any = None
    """The success body's type (a Struct or dataclass) or a JSON Schema dict."""
    success: int = 200
    answer_media_type: str = "application/json"
    other_answer_media_types: tuple[str, ...] = ()
    """Further media types the same answer comes in (chosen by a query parameter)."""
    refusals: tuple[int, ...] = ()
    request_headers: tuple[str, ...] = ()
    response_headers: tuple[str, ...] = ()
    public: bool = False
    """Answered without a bearer token."""
    roles: tuple[Role, ...] = EVERY_ROLE
    """The roles whose tokens the route serves (http/route_roles.py); any other is refused."""
    problems: tuple[str, ...] = ()
    """Problem codes the handler answers itself, beyond those of its shape (http/route_problems.py)."""
    use_cases: tuple[str, ...] = ()
    """The functions of domain/ or sync/ it runs: it answers the codes their rules raise (http/raised_codes.py)."""
    console: bool = False
    """A page of the console (``http/console/``): HTML for people, signed in by the
    console's session cookie instead of a bearer token, and not part of the API
    document (``/openapi.json`` describes the JSON API; the visibility matrix covers
    the pages all the same)."""


class Handler:
    """A responder with its Operation: ``handler(req, resp, **path_params)``."""

    operation: Operation

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:  # pragma: no cover
        raise NotImplementedError


@dataclass
class Route:
    path: str
    """As falcon takes it, with converters: ``/contracts/{contract_id:uuid}``."""
    handlers: Sequence[Handler] = field(default_factory=list)

    @property
    def document_path(self) -> str:
        """As OpenAPI writes it: ``/contracts/{contract_id}``."""
        return _CONVERTER.sub(r"{\1}", self.path)


class Endpoint:
    """The falcon resource of one route: ``on_<method>`` is that method's handler."""

    def __init__(self, handlers: Sequence[Handler]) -> None:
        self.handlers = {h.operation.method.upper(): h for h in handlers}
        for method, handler in self.handlers.items():
            setattr(self, f"on_{method.lower()}", _responder(handler))


def _responder(handler: Handler) -> Callable[..., None]:
    def respond(req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        req.context.operation = handler.operation
        if handler.operation.query is None and req.query_string:
            name = next(iter(req.params), None)
            raise Problem(
                falcon.HTTP_400,
                "query.invalid_parameter",
                "This route takes no query parameters; see /openapi.json." + (f" (parameter '{name}')" if name else ""),
                field=name,
            )
        handler(req, resp, **params)

    return respond


def operation_for(resource: Any, method: str) -> Operation | None:
    """The operation a routed request will run (None when falcon answers 404/405)."""
    handler = getattr(resource, "handlers", {}).get(method.upper())
    return handler.operation if handler is not None else None
