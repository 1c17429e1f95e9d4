"""One log format for every process of the service: the serve command's
supervisor, gunicorn (its own error log included) and its workers, the views
runner and the delivery worker.

Each line is one JSON object (python-json-logger) with ``timestamp`` (UTC,
ISO 8601), ``level``, ``logger``, ``role`` (which process: supervisor, http,
views_runner, delivery_worker, or the command's name), ``pid``, ``message``,
``request_id`` when the line was written while answering a request, and the
line's own fields (a request's method, path, status...). Written to a
terminal, lines are plain text for a person instead.

``CONTRACTLEDGER_LOG_FORMAT`` chooses: ``json``, ``text``, or unset (text on
a terminal, JSON otherwise). serve decides for its children from its own
standard error, since theirs is a pipe to it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

from contractledger.runtime import settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(role)s[%(process)d] %(name)s: %(message)s"


class ProcessRole(logging.Filter):
    """Puts the process's role, and the request id where there is one, on every record."""

    def __init__(self, role: str, request_id: Callable[[], str | None] = lambda: None) -> None:
        super().__init__()
        self.role = role
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.role = self.role
        if getattr(record, "request_id", None) is None:
            request_id = self.request_id()
            if request_id is not None:
                record.request_id = request_id
        return True


class TextLines(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return line if request_id is None else f"{line} [request {request_id}]"


def formatter(kind: str) -> logging.Formatter:
    if kind == "text":
        return TextLines()
    return JsonFormatter(
        "%(levelname)s %(name)s %(role)s %(process)d %(message)s",
        rename_fields={"levelname": "level", "name": "logger", "process": "pid"},
        timestamp=True,
    )


def chosen_format(env: Mapping[str, str], stream: IO[str]) -> str:
    """``json`` or ``text``: the setting, or by whether ``stream`` is a terminal."""
    kind = settings.log_format(env)
    if kind is None:
        kind = "text" if stream.isatty() else "json"
    return kind


def handler(role: str, kind: str, stream: IO[str] | None = None,
            request_id: Callable[[], str | None] = lambda: None) -> logging.Handler:
    made = logging.StreamHandler(stream if stream is not None else sys.stderr)
    made.setFormatter(formatter(kind))
    made.addFilter(ProcessRole(role, request_id))
    return made


def configure(role: str, env: Mapping[str, str] | None = None, request_id: Callable[[], str | None] = lambda: None,
              level: str | None = None) -> None:
    """This process's logging: one handler on the root logger, in the chosen
    format, at ``CONTRACTLEDGER_LOG_LEVEL`` (default INFO). Python's warnings
    and an uncaught exception are logged lines too."""
    env = os.environ if env is None else env
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler(role, chosen_format(env, sys.stderr), request_id=request_id))
    root.setLevel(level or env.get("CONTRACTLEDGER_LOG_LEVEL", "INFO"))
    logging.captureWarnings(True)

    def uncaught(kind: type[BaseException], error: BaseException, traceback: Any) -> None:
        logging.getLogger("contractledger").critical("uncaught %s: %s", kind.__name__, error, exc_info=(kind, error, traceback))

    sys.excepthook = uncaught


def gunicorn_logconfig(role: str = "http") -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its error log, and the root logger its
    workers' app logs to, in our format."""
    kind = chosen_format(os.environ, sys.stderr)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"role": {"()": ProcessRole, "role": role}},
        "formatters": {"ours": {"()": formatter, "kind": kind}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "ours", "filters": ["role"]},
        },
        "root": {"level": os.environ.get("CONTRACTLEDGER_LOG_LEVEL", "INFO"), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
    }
