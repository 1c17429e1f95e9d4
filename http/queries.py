"""Every view's query as a GET route: one generic handler, and per route a
:class:`Query` saying its parameters, the views it reads, how to call the
query function, and how its items are ordered (list routes) or versioned
(single items, for ``ETag``).

Reads apply the projections' visibility for the caller (``Viewer.of``):
something the caller may not see is answered exactly like something that
does not exist (404). ``wait_for`` waits (bounded) until the views read
have applied the caller's last write; ``as_of`` is refused in the future,
where the ledger knows nothing yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import falcon
import msgspec

from contractledger.domain.actor import Role
from contractledger.domain.clock import Clock, today
from contractledger.http.answers import etag, send
from contractledger.http.config import AppConfig
from contractledger.http.pagination import Key, page
from contractledger.http.problems import Problem
from contractledger.http.query_parameters import Paging, parse
from contractledger.http.read_your_writes import wait_for_position
from contractledger.http.route_roles import EVERY_ROLE
from contractledger.http.routing import Handler, Operation
from contractledger.projections.engine.queries import ViewNotBuilt
from contractledger.projections.viewer import Viewer

QUERY_REFUSALS = (400, 401, 404, 422, 503, 504)
CLOCK_SKEW = timedelta(seconds=5)


@dataclass(frozen=True)
class Query:
    operation_id: str
    path: str
    summary: str
    tag: str
    parameters: type[msgspec.Struct]
    views: tuple[str, ...]
    run: Callable[[AppConfig, Viewer, dict[str, UUID], Any], Any]
    """(config, viewer, path parameters, parameters) -> the items, or one item, or None (not found)."""
    item: Any
    key: Callable[[Any], Key] | None = None
    """List routes: the key ordering the items, of which the cursor is made; ``run`` reads one page
    (up to limit + 1 items after the cursor's key, in that order)."""
    version: Callable[[AppConfig, dict[str, UUID], Any], int | None] | None = None
    """Single items: the aggregate version sent as ETag (current reads only, not ``as_of``).
    ``carried_version`` when ``run`` answers a :class:`Versioned` item."""
    missing: str = "not_found"
    """The problem code when the item does not exist for the caller."""
    roles: tuple[Role, ...] = EVERY_ROLE
    """Who may read it (http/route_roles.py): what each sees of it is the views' visibility."""
    problems: tuple[str, ...] = ()
    """Codes ``run`` answers with itself (the views not built, a single item missing and the paging's are known)."""

    def operation(self) -> Operation:
        answer = self.item
        if self.key is not None:
            answer = msgspec.defstruct(f"{_camel(self.operation_id)}Page", [("items", list[self.item]), ("next", str | None)])
        return Operation(
            method="GET",
            operation_id=self.operation_id,
            summary=self.summary,
            tag=self.tag,
            path_parameters=tuple(re.findall(r"\{(\w+)(?::\w+)?\}", self.path)),
            query=self.parameters,
            answer=answer,
            refusals=QUERY_REFUSALS,
            response_headers=("ETag",) if self.version else (),
            roles=self.roles,
            problems=("views.not_built",) + ((self.missing,) if self.key is None and self.missing != "not_found" else ())
            + self.problems,
        )


@dataclass(frozen=True)
class Versioned:
    """A single item read together with the version it shows: the body is the
    item, the version goes out as its ETag. Read in one go with the item, so
    an ETag never names a version other than the one the body shows."""

    item: Any
    version: int | None


def carried_version(config: AppConfig, path: dict[str, UUID], found: Any) -> int | None:
    return found.version if isinstance(found, Versioned) else None


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


class QueryHandler(Handler):
    def __init__(self, query: Query, config: AppConfig) -> None:
        self.query = query
        self.config = config
        self.operation = query.operation()

    def __call__(self, req: falcon.Request, resp: falcon.Response, **path: Any) -> None:
        parameters = self._on_a_business_day(parse(req, self.query.parameters))
        self._refuse_the_future(parameters)
        wait_for_position(
            self.config.ledger, self.config.views, parameters.wait_for, self.query.views, self.config.wait_bound
        )
        viewer = Viewer.of(req.context.actor)
        try:
            found = self.query.run(self.config, viewer, path, parameters)
        except ViewNotBuilt:
            raise Problem(
                falcon.HTTP_503,
                "views.not_built",
                "The views are still being built for the first time; retry shortly.",
                headers={"Retry-After": "5"},
            ) from None
        if self.query.key is not None:
            assert isinstance(parameters, Paging)
            # the route's query read the page itself (limit + 1 items after the cursor, in SQL)
            send(resp, page(found, self.query.key, parameters.limit))
            return
        if found is None:
            noun = self.query.missing.split(".")[0]
            raise Problem(
                falcon.HTTP_404, self.query.missing, f"No such {noun.replace('_', ' ')} for you; check the id.",
            )
        version = None
        if self.query.version is not None and getattr(parameters, "as_of", None) is None:
            version = self.query.version(self.config, path, found)
        send(resp, found.item if isinstance(found, Versioned) else found)
        if version is not None:
            resp.set_header("ETag", etag(version))

    def _on_a_business_day(self, parameters: Any) -> Any:
        """A query answering for a day answers for today in the business time zone unless told otherwise."""
        if "on" in getattr(parameters, "__struct_fields__", ()) and parameters.on is None:
            return msgspec.structs.replace(parameters, on=today(self.config.clock))
        return parameters

    def _refuse_the_future(self, parameters: Any) -> None:
        refuse_the_future(self.config.clock, getattr(parameters, "as_of", None))


def refuse_the_future(clock: Clock, as_of: datetime | None) -> None:
    """``as_of`` asks what the ledger knew at an instant: one still to come is refused."""
    if as_of is not None and as_of > clock.now() + CLOCK_SKEW:
        raise Problem(
            falcon.HTTP_422,
            "query.as_of_in_the_future",
            "as_of asks what the ledger knew at an instant; give one that has passed.",
            field="as_of",
        )
