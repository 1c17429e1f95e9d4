"""``GET /reference``: the API document rendered for people, with Swagger UI.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package, which
ships them (``swagger_ui_bundle.swagger_ui_path``), and are served by this
app under ``/reference/assets/``: nothing is fetched from the internet when
the page is read. The page reads ``/openapi.json``; "Authorize" takes a
bearer token to try routes. Each operation shows who may call it and, under
each refusal, its problem codes with their meanings (its description), and
the ``x-roles`` and ``x-problem-codes`` lists themselves (``showExtensions``).
Needs no token."""

from __future__ import annotations

from typing import Any

import falcon
from swagger_ui_bundle import swagger_ui_path

from contractledger.http.routing import Handler, Operation

ASSET_TYPES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
"""The files the page uses, by name, with their media types: nothing else of the package is served."""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>contractledger API reference</title>
<link rel="stylesheet" href="reference/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="reference/assets/favicon-32x32.png">
</head><body><div id="reference"></div>
<script src="reference/assets/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "openapi.json", dom_id: "#reference", deepLinking: true, showExtensions: true});</script>
</body></html>
"""


class Reference(Handler):
    operation = Operation(
        method="GET",
        operation_id="reference",
        summary="This API's reference, rendered from the API document for a browser (no token needed).",
        tag="operations",
        answer={"type": "string", "description": "An HTML page that renders /openapi.json with Swagger UI."},
        answer_media_type="text/html",
        public=True,
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        resp.content_type = "text/html; charset=utf-8"
        resp.text = _PAGE


class ReferenceAsset(Handler):
    operation = Operation(
        method="GET",
        operation_id="reference_asset",
        summary="A file of the rendered reference (Swagger UI's script, style sheet and icon), served from the "
        "package that ships them (no token needed).",
        tag="operations",
        path_parameters=("asset",),
        answer={"type": "string"},
        answer_media_type="text/javascript",
        other_answer_media_types=tuple(sorted(set(ASSET_TYPES.values()) - {"text/javascript"})),
        refusals=(404,),
        public=True,
        problems=("route.not_found",),
    )

    def __init__(self) -> None:
        self.assets = {name: (swagger_ui_path / name).read_bytes() for name in ASSET_TYPES}

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        name = params["asset"]
        if name not in self.assets:
            raise falcon.HTTPNotFound()
        resp.content_type = ASSET_TYPES[name]
        resp.cache_control = ["public", "max-age=86400"]
        resp.data = self.assets[name]
