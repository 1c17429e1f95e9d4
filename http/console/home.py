"""``GET /console``: the console's home page, with the pages a signed-in user opens,
and ``GET /console/assets/{asset}``: its style sheet, shipped in the package and
served by the app (nothing is fetched from the internet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon

from contractledger.http.console.pages import ConsolePage, page_operation, render
from contractledger.http.console.sessions import Session
from contractledger.http.problems import Problem

ASSETS = Path(__file__).parent / "assets"
ASSET_TYPES = {"console.css": "text/css; charset=utf-8"}


class Home(ConsolePage):
    operation = page_operation("home", "The console's home page: who you are signed in as, and its pages.")

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        render(resp, "home.html", session)


class Asset(ConsolePage):
    needs_session = False
    operation = page_operation(
        "asset", "The console's style sheet.", path_parameters=("asset",), media_type="text/css"
    )

    def answer(self, req: falcon.Request, resp: falcon.Response, session: Session | None, **params: Any) -> None:
        name = params["asset"]
        if name not in ASSET_TYPES:
            raise Problem(falcon.HTTP_404, "route.not_found", "The console has no such file.")
        resp.content_type = ASSET_TYPES[name]
        resp.cache_control = ["public", "max-age=3600"]
        resp.data = (ASSETS / name).read_bytes()
