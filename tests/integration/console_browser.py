"""A browser's part in the console, on falcon's TestClient: it keeps the
cookies the app sets (as a browser does, for paths under /console) and
sends the forms the pages carry, hidden CSRF field included. No tests here."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import falcon.testing

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')
FORM = "application/x-www-form-urlencoded"


class ConsoleBrowser:
    def __init__(self, client: falcon.testing.TestClient, scheme: str = "http") -> None:
        self.client = client
        self.scheme = scheme
        self.cookies: dict[str, str] = {}

    def _keep(self, answer: Any) -> Any:
        for name, cookie in answer.cookies.items():
            if cookie.max_age == 0 or cookie.value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = cookie.value
        return answer

    def get(self, path: str, **params: str) -> Any:
        return self._keep(self.client.simulate_get(path, params=params, cookies=self.cookies, protocol=self.scheme))

    def post(self, path: str, fields: dict[str, str]) -> Any:
        return self._keep(self.client.simulate_post(
            path, body=urlencode(fields), headers={"Content-Type": FORM}, cookies=self.cookies, protocol=self.scheme,
        ))

    def sign_in(self, token: str) -> Any:
        form = self.get("/console/sign-in")
        return self.post("/console/sign-in", {"token": token, "csrf_token": csrf_token_in(form.text)})

    def sign_out(self) -> Any:
        page = self.get("/console")
        return self.post("/console/sign-out", {"csrf_token": csrf_token_in(page.text)})


def csrf_token_in(page: str) -> str:
    found = CSRF_FIELD.search(page)
    assert found, f"no CSRF field in the page:\n{page[:2000]}"
    return found.group(1)
