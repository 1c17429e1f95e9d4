"""How a console page answers: its templates (Jinja2, every value escaped),
its session, its forms' CSRF check, and its refusals as HTML pages.

A :class:`ConsolePage` is a route handler (``http/routing.py``) whose
operation is marked ``console``: the bearer middleware leaves it alone,
and the page finds its principal in the session cookie instead
(``http/console/sessions.py``). A page that needs a session and has none
sends the browser to the sign-in page (303). Every POST carries the
session's CSRF token in the hidden field ``csrf_token``; one without it,
or with another, is refused 403 ``console.csrf_refused`` before anything
is done. A refusal the page meets (a bad parameter, a contract the viewer
may not see, the views not built yet) is the same problem the API answers,
shown as a page with its status and its stable code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import falcon
import jinja2
import msgspec

from contractledger.domain.errors import LedgerError
from contractledger.http.console.sessions import ConsoleSessions, Session, same_token
from contractledger.http.problems import Problem, from_ledger_error, type_uri
from contractledger.http.query_parameters import parse_parameters
from contractledger.http.routing import Handler, Operation
from contractledger.projections.engine.queries import ViewNotBuilt

CONSOLE = "/console"
SIGN_IN = f"{CONSOLE}/sign-in"
SESSION_COOKIE = "contractledger_session"
HTML = "text/html; charset=utf-8"
MAX_FORM_BYTES = 16 * 1024
TEMPLATES = Path(__file__).parent / "templates"

# No script runs on any page, nothing is framed, and forms post only here.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every value a page shows is escaped, whatever its template
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class NoParameters(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A page that takes no query parameters (refused as the API refuses them, as a page)."""


def page_operation(
    operation_id: str, summary: str, *, method: str = "GET", path_parameters: tuple[str, ...] = (),
    query: type | None = NoParameters, media_type: str = "text/html",
) -> Operation:
    return Operation(
        method=method, operation_id=f"console_{operation_id}", summary=summary, tag="console",
        path_parameters=path_parameters, query=query, answer={"type": "string"}, answer_media_type=media_type,
        success=303 if method == "POST" else 200, console=True,
    )


def secure(req: falcon.Request) -> bool:
    """Whether the browser reached us over TLS: its cookies are then sent over TLS only."""
    return req.scheme == "https"


def set_cookie(req: falcon.Request, resp: falcon.Response, name: str, value: str, max_age: int) -> None:
    resp.set_cookie(
        name, value, max_age=max_age, path=CONSOLE, secure=secure(req), http_only=True, same_site="Strict"
    )


def render(
    resp: falcon.Response, template: str, session: Session | None, *, status: str = falcon.HTTP_200, **context: Any
) -> None:
    resp.status = status
    resp.content_type = HTML
    resp.set_headers(SECURITY_HEADERS)
    resp.text = templates.get_template(template).render(
        session=session, csrf_token=session.csrf_token if session else "", **context
    )


def see_other(resp: falcon.Response, location: str) -> None:
    resp.status = falcon.HTTP_303
    resp.location = location
    resp.content_type = HTML
    resp.set_headers(SECURITY_HEADERS)
    resp.text = templates.get_template("moved.html").render(location=location)


def form_of(req: falcon.Request) -> Mapping[str, str]:
    """A form's fields (``application/x-www-form-urlencoded``); a field sent twice keeps its first value."""
    media_type = (req.content_type or "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise Problem(
            falcon.HTTP_415, "request.unsupported_media_type", "Send the form as the console's page sends it.",
        )
    raw = req.bounded_stream.read(MAX_FORM_BYTES + 1)
    if len(raw) > MAX_FORM_BYTES:
        raise Problem(
            falcon.HTTP_413, "request.body_too_large", f"A form may be at most {MAX_FORM_BYTES} bytes.",
        )
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise Problem(falcon.HTTP_400, "request.malformed", "The form is not UTF-8 text.") from None
    return {name: values[0] for name, values in fields.items()}


def refuse_forged(form: Mapping[str, str], expected: str) -> None:
    if not same_token(form.get("csrf_token"), expected):
        raise Problem(
            falcon.HTTP_403, "console.csrf_refused",
            "The form did not come from this console's own page (its CSRF token is missing or wrong); "
            "open the page again and send it from there.",
        )


class ConsolePage(Handler):
    """A console route's handler: ``answer`` does the page's own work, its query
    parameters parsed in ``req.context.parameters``."""

    needs_session = True

    def __init__(self, sessions: ConsoleSessions) -> None:
        self.sessions = sessions

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        session: Session | None = None
        try:
            session = self.sessions.find(req.cookies.get(SESSION_COOKIE))
            if session is None and self.needs_session:
                see_other(resp, SIGN_IN)
                return
            if session is not None:
                req.context.actor = session.actor
            req.context.parameters = self.parameters(req)
            self.answer(req, resp, session, **params)
        except Problem as problem:
            self.refused(resp, session, problem)
        except LedgerError as error:
            self.refused(resp, session, from_ledger_error(error))
        except ViewNotBuilt:
            self.refused(resp, session, Problem(
                falcon.HTTP_503, "views.not_built", "The views are still being built for the first time; retry shortly.",
                headers={"Retry-After": "5"},
            ))

    def parameters(self, req: falcon.Request) -> Any:
        """The page's query parameters, refused as the API refuses them; a form's
        field left empty (``?as_of=``, ``?status=``) is a parameter not given."""
        query = self.operation.query
        if query is None:
            return None
        given = {name: value for name, value in req.params.items() if value != ""}
        return parse_parameters(given, query)

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        raise NotImplementedError  # pragma: no cover

    def refused(self, resp: falcon.Response, session: Session | None, problem: Problem) -> None:
        render(
            resp, "problem.html", session, status=problem.status, code=problem.code, title=problem.title,
            detail=problem.description, problem_page=type_uri(problem.code),
        )
        resp.set_headers(problem.headers or {})


class ConsoleForm(ConsolePage):
    """A POST page: refused unless its form carries the session's CSRF token."""

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        form = form_of(req)
        assert session is not None  # needs_session: the page answered sign-in otherwise
        refuse_forged(form, session.csrf_token)
        self.submitted(req, resp, session, form, **params)

    def submitted(
        self, req: falcon.Request, resp: falcon.Response, session: Session, form: Mapping[str, str], **params: Any
    ) -> None:
        raise NotImplementedError  # pragma: no cover
