"""A gunicorn worker that boots while the store is away.

Building the app opens the store (the ledger checks its tables, the views
connect). A worker started while the database restarts (one gunicorn
replaced after a kill, say) would fail to boot, and gunicorn stops
altogether when a worker fails to boot. So the worker serves this instead:
``/health`` answers (the process is alive), every other request answers
``503 store.unavailable`` with ``Retry-After``, and each request, at most
every half second, tries to build the real app again; once it is built,
every request goes to it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from contractledger.http.problems import PROBLEM_JSON, problem_body, store_unavailable
from contractledger.store.availability import is_unavailable

log = logging.getLogger("contractledger.http")
RETRY_EVERY_SECONDS = 0.5

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BootWhenTheStoreAnswers:
    def __init__(self, build: Callable[[], Wsgi], clock: Callable[[], float] = time.monotonic) -> None:
        self.build = build
        self.clock = clock
        self.app: Wsgi | None = None
        self._next_try = 0.0
        self._lock = threading.Lock()

    def first_try(self) -> "Wsgi":
        """The real app when the store answers now, else this stand-in."""
        return self._built() or self

    def _built(self) -> Wsgi | None:
        with self._lock:
            if self.app is None and self.clock() >= self._next_try:
                try:
                    self.app = self.build()
                except Exception as error:
                    if not is_unavailable(error):
                        raise
                    self._next_try = self.clock() + RETRY_EVERY_SECONDS
                    log.warning("the store is unavailable (%s); serving 503 until it answers",
                                (str(error).strip().splitlines() or [type(error).__name__])[0])
            return self.app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        app = self._built()
        if app is not None:
            return app(environ, start_response)
        if environ.get("PATH_INFO") == "/health":
            body = b'{"status": "ok"}'
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        problem = store_unavailable()
        body = problem_body(problem)
        start_response(
            "503 Service Unavailable",
            [("Content-Type", PROBLEM_JSON), ("Content-Length", str(len(body))), *problem.headers.items()],
        )
        return [body]
