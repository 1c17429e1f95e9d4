"""The console over falcon's TestClient, on each store: signing in and out,
the session cookie's flags, the redirect without a session, CSRF refusals,
and that what a page shows is escaped."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from console_browser import FORM, ConsoleBrowser, csrf_token_in  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402

from contractledger.http.console.pages import SESSION_COOKIE  # noqa: E402


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path_factory.mktemp("console"), store)


def test_a_page_asked_for_without_a_session_sends_the_browser_to_sign_in(api: Api) -> None:
    for path in ("/console", "/console/contracts"):
        answer = api.client.simulate_get(path)
        assert answer.status_code == 303, (path, answer.text)
        assert answer.headers["Location"].endswith("/console/sign-in")


def test_a_bearer_token_does_not_open_a_console_page(api: Api) -> None:
    answer = api.client.simulate_get("/console", headers=api.as_(api.world.auditor))
    assert answer.status_code == 303


def test_signing_in_sets_a_session_cookie_only_the_console_sends_back_over_http(api: Api) -> None:
    browser = ConsoleBrowser(api.client)
    answer = browser.sign_in(api.token(api.world.auditor))
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/console")
    cookie = answer.cookies[SESSION_COOKIE]
    assert (cookie.http_only, cookie.same_site, cookie.path, cookie.secure) == (True, "Strict", "/console", False)
    home = browser.get("/console")
    assert home.status_code == 200 and home.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "audrey" in home.text and "auditor" in home.text


def test_over_tls_the_session_cookie_is_secure(api: Api) -> None:
    answer = ConsoleBrowser(api.client, scheme="https").sign_in(api.token(api.world.auditor))
    assert answer.status_code == 303
    assert answer.cookies[SESSION_COOKIE].secure is True


def test_a_session_serves_another_app_on_the_same_store_as_a_restarted_worker_would(api: Api) -> None:
    from falcon.testing import TestClient

    from contractledger.http.app import create_app

    browser = ConsoleBrowser(api.client)
    browser.sign_in(api.token(api.world.carrier_staff))
    browser.client = TestClient(create_app(api.config))
    assert browser.get("/console").status_code == 200


def test_signing_out_ends_the_session_on_the_server(api: Api) -> None:
    browser = ConsoleBrowser(api.client)
    browser.sign_in(api.token(api.world.producer))
    kept = dict(browser.cookies)
    answer = browser.sign_out()
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/sign-in")
    assert SESSION_COOKIE not in browser.cookies
    assert browser.get("/console").status_code == 303
    browser.cookies = kept  # the old cookie, kept by someone: the session is gone all the same
    assert browser.get("/console").status_code == 303


def test_a_revoked_token_ends_its_sessions(api: Api) -> None:
    issued = api.config.tokens.issue(api.world.mga_admin, timedelta(days=1))
    browser = ConsoleBrowser(api.client)
    browser.sign_in(issued.secret)
    assert browser.get("/console").status_code == 200
    api.config.tokens.revoke(issued.token_id)
    assert browser.get("/console").status_code == 303


def test_a_token_the_api_refuses_is_refused_at_sign_in_with_the_api_code(api: Api) -> None:
    browser = ConsoleBrowser(api.client)
    answer = browser.sign_in("clt_not-a-token")
    assert answer.status_code == 401
    assert "auth.token_refused" in answer.text and SESSION_COOKIE not in browser.cookies
    assert browser.sign_in("  ").status_code == 401


@pytest.mark.parametrize("sent", [None, "", "forged"])
def test_a_form_without_its_csrf_token_is_refused_and_does_nothing(api: Api, sent: str | None) -> None:
    browser = ConsoleBrowser(api.client)
    browser.sign_in(api.token(api.world.aga_admin))
    fields = {} if sent is None else {"csrf_token": sent}
    answer = browser.post("/console/sign-out", fields)
    assert answer.status_code == 403 and "console.csrf_refused" in answer.text
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert browser.get("/console").status_code == 200, "still signed in"


def test_signing_in_needs_the_sign_in_forms_own_csrf_token(api: Api) -> None:
    token = api.token(api.world.auditor)
    browser = ConsoleBrowser(api.client)
    form = browser.get("/console/sign-in")
    other = ConsoleBrowser(api.client)  # another browser's form: its token is not this browser's
    other_token = csrf_token_in(other.get("/console/sign-in").text)
    assert browser.post("/console/sign-in", {"token": token, "csrf_token": other_token}).status_code == 403
    assert ConsoleBrowser(api.client).post("/console/sign-in", {"token": token}).status_code == 403
    # no sign-in cookie and an empty token: nothing to match is no match
    assert ConsoleBrowser(api.client).post("/console/sign-in", {"token": token, "csrf_token": ""}).status_code == 403
    assert SESSION_COOKIE not in browser.cookies
    signed_in = browser.post("/console/sign-in", {"token": token, "csrf_token": csrf_token_in(form.text)})
    assert signed_in.status_code == 303


def test_a_form_sent_as_something_else_than_a_form_is_refused_as_a_page(api: Api) -> None:
    answer = api.client.simulate_post("/console/sign-in", json={"token": "x"})
    assert answer.status_code == 415 and "request.unsupported_media_type" in answer.text
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"


def test_a_page_refuses_a_query_parameter_it_does_not_take_as_a_page(api: Api) -> None:
    browser = ConsoleBrowser(api.client)
    browser.sign_in(api.token(api.world.auditor))
    answer = browser.get("/console", colour="blue")
    assert answer.status_code == 400 and "query.invalid_parameter" in answer.text
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"


def test_pages_run_no_script_and_are_never_framed(api: Api) -> None:
    answer = api.client.simulate_get("/console/sign-in")
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "<script" not in answer.text
    assert '<label for="token">' in answer.text and 'lang="en"' in answer.text and 'name="viewport"' in answer.text


def test_the_style_sheet_is_served_by_the_app(api: Api) -> None:
    answer = api.client.simulate_get("/console/assets/console.css")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/css")
    assert "@media" in answer.text
    assert api.client.simulate_get("/console/assets/other.css").status_code == 404


def test_a_user_name_with_markup_is_shown_as_text(api: Api) -> None:
    from contractledger.domain.actor import Actor, Role

    browser = ConsoleBrowser(api.client)
    browser.sign_in(api.token(Actor(Role.AUDITOR, "<script>alert(1)</script>")))
    home = browser.get("/console")
    assert "<script>alert(1)</script>" not in home.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home.text


def test_a_form_body_too_large_is_refused(api: Api) -> None:
    answer = api.client.simulate_post("/console/sign-in", body="token=" + "x" * 20000, headers={"Content-Type": FORM})
    assert answer.status_code == 413
