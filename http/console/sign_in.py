"""Signing in and out of the console.

``GET /console/sign-in`` shows the form where a user pastes a token.
Before there is a session, the form's CSRF token comes from a sign-in
cookie of its own (a random secret, HttpOnly and SameSite=Strict like the
session's): ``POST /console/sign-in`` is refused unless the form's token
matches it, so no other site can sign a browser in under a token of its
choosing. The token is checked as the API checks a bearer token (the
token registry); a token it refuses is shown the form again, 401 with
the API's code. Signed in, the browser holds the session cookie and goes
to the console's home page. ``POST /console/sign-out`` ends the session
on the server and clears the cookie.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import falcon

from contractledger.http.console.pages import (
    CONSOLE,
    SESSION_COOKIE,
    SIGN_IN,
    ConsoleForm,
    ConsolePage,
    form_of,
    page_operation,
    refuse_forged,
    render,
    see_other,
    set_cookie,
)
from contractledger.http.console.sessions import SESSION_LIFETIME, Session, csrf_token_of
from contractledger.http.tokens import TokenRefused

SIGN_IN_COOKIE = "contractledger_sign_in"
SIGN_IN_FORM_SECONDS = 3600


def _sign_in_form(req: falcon.Request, resp: falcon.Response, session: Session | None, **context: Any) -> None:
    """The form, with a fresh sign-in secret in its cookie and its CSRF token in the form."""
    secret = secrets.token_urlsafe(32)
    set_cookie(req, resp, SIGN_IN_COOKIE, secret, SIGN_IN_FORM_SECONDS)
    status = context.pop("status", falcon.HTTP_200)
    render(resp, "sign_in.html", session, status=status, sign_in_csrf_token=csrf_token_of(secret), **context)


class SignInForm(ConsolePage):
    needs_session = False
    operation = page_operation("sign_in_form", "The console's sign-in form: paste a token.")

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        _sign_in_form(req, resp, session, refusal=None)


class SignIn(ConsolePage):
    needs_session = False
    operation = page_operation("sign_in", "Sign in to the console with a token.", method="POST", query=None)

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        form: Mapping[str, str] = form_of(req)
        secret = req.cookies.get(SIGN_IN_COOKIE)
        refuse_forged(form, csrf_token_of(secret) if secret else "")
        token = form.get("token", "").strip()
        if not token:
            _sign_in_form(req, resp, session, status=falcon.HTTP_401, refusal=("auth.token_required", "Paste your token."))
            return
        try:
            session_id, _ = self.sessions.sign_in(token)
        except TokenRefused as refusal:
            _sign_in_form(req, resp, session, status=falcon.HTTP_401, refusal=("auth.token_refused", str(refusal)))
            return
        set_cookie(req, resp, SESSION_COOKIE, session_id, int(SESSION_LIFETIME.total_seconds()))
        resp.unset_cookie(SIGN_IN_COOKIE, path=CONSOLE, same_site="Strict")
        see_other(resp, CONSOLE)


class SignOut(ConsoleForm):
    operation = page_operation("sign_out", "End the console's session.", method="POST", query=None)

    def submitted(
        self, req: falcon.Request, resp: falcon.Response, session: Session, form: Mapping[str, str], **params: Any
    ) -> None:
        self.sessions.sign_out(req.cookies[SESSION_COOKIE])
        resp.unset_cookie(SESSION_COOKIE, path=CONSOLE, same_site="Strict")
        see_other(resp, SIGN_IN)
