"""``GET /problems`` and ``GET /problems/{code}``: what each stable problem
code means, as plain HTML a browser or a client developer reads. A problem
document's ``type`` is its code's page. Needs no token."""

from __future__ import annotations

from html import escape
from typing import Any

import falcon

from contractledger.http.problem_codes import PROBLEM_CODES
from contractledger.http.problems import PROBLEMS_PATH, Problem, type_uri
from contractledger.http.routing import Handler, Operation

HTML = "text/html"
_PAGE = (
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
    "<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}"
    "dt{{font-family:monospace;font-weight:bold;margin-top:.8em}}</style></head>"
    "<body><h1>{title}</h1>{body}</body></html>"
)


def _entry(code: str) -> str:
    return f'<dt id="{escape(code)}"><a href="{escape(type_uri(code))}">{escape(code)}</a></dt><dd>{escape(PROBLEM_CODES[code])}</dd>'


class ProblemList(Handler):
    operation = Operation(
        method="GET",
        operation_id="problem_codes",
        summary="Every stable problem code with what it means (no token needed).",
        tag="operations",
        answer={"type": "string", "description": "An HTML page: one entry per code, its id the code."},
        answer_media_type=HTML,
        public=True,
    )

    def __init__(self) -> None:
        introduction = (
            "<p>Every refusal is <code>application/problem+json</code> with a stable <code>code</code>; "
            f"its <code>type</code> is <code>{PROBLEMS_PATH}/&lt;code&gt;</code>. The codes:</p>"
        )
        entries = "".join(_entry(code) for code in sorted(PROBLEM_CODES))
        self.page = _PAGE.format(title="contractledger problem codes", body=f"{introduction}<dl>{entries}</dl>").encode()

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        resp.content_type = HTML + "; charset=utf-8"
        resp.data = self.page


class ProblemCode(Handler):
    operation = Operation(
        method="GET",
        operation_id="problem_code",
        summary="What one problem code means: the page a problem's type points at (no token needed).",
        tag="operations",
        path_parameters=("code",),
        answer={"type": "string", "description": "An HTML page with the code and its meaning."},
        answer_media_type=HTML,
        refusals=(404,),
        public=True,
        problems=("route.not_found",),
    )

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        code = params["code"]
        if code not in PROBLEM_CODES:
            raise Problem(
                falcon.HTTP_404, "route.not_found", f"There is no problem code of this name; see {PROBLEMS_PATH}."
            )
        resp.content_type = HTML + "; charset=utf-8"
        resp.data = _PAGE.format(
            title=escape(code), body=f"<dl>{_entry(code)}</dl><p><a href=\"{PROBLEMS_PATH}\">Every code</a></p>"
        ).encode()
