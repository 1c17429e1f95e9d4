"""The service's settings, each declared once: its name, its type, its default
and what it means.

:class:`Settings` reads them from the environment once, when a process or a
command starts, and refuses a bad value with one sentence naming it
(:class:`~contractledger.store.errors.StoreConfigurationError`). The README's
settings table is generated from :data:`DECLARED` (``settings_table()``;
``python -m contractledger.store.settings`` prints it), and a test fails when
the two differ.

It lives in ``store/`` because every layer above reads it (the store's own
commands too), and ``store/`` may import only ``domain/``. The PostgreSQL
settings are parsed by the store's own reader (``postgres_settings.py``,
which knows the library's prefixed spellings); each peer's endpoint, CA
bundle and secrets are checked against its peer file by ``sync/endpoint.py``.
"""

from __future__ import annotations

import importlib
import ipaddress
import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsourcing.utils import Environment, strtobool

from contractledger.domain.clock import BUSINESS_TIME_ZONE_SETTING, UnknownBusinessTimeZone, business_zone_named
from contractledger.domain.ledger import LEDGER_NAME
from contractledger.store.errors import StoreConfigurationError

SQLITE = "contractledger.store.sqlite"
POSTGRES = "contractledger.store.postgres"
DEFAULT_SQLITE_FILE = os.path.join("var", "contractledger.sqlite3")
PEERS_DIRECTORY = Path(__file__).resolve().parent.parent / "sync" / "peers"
LONGEST_WAIT_SECONDS = 60.0
LONGEST_TIMEOUT_SECONDS = 300.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")
# the name eventsourcing gives the ledger's application: a POSTGRES_* key may also be spelt with it as prefix
APPLICATION_NAME = LEDGER_NAME

_HOST_NAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")


@dataclass(frozen=True)
class Setting:
    """One setting: ``parse`` turns the text given (None when unset) into its value,
    or raises StoreConfigurationError naming it."""

    name: str
    kind: str
    default: str
    meaning: str
    parse: Callable[[str, str | None], Any] | None = None

    def value(self, env: Mapping[str, str]) -> Any:
        assert self.parse is not None
        return self.parse(self.name, env.get(self.name))


def _refuse(name: str, sentence: str) -> StoreConfigurationError:
    return StoreConfigurationError(name, sentence)


def seconds(default: float, longest: float) -> Callable[[str, str | None], float]:
    def parse(name: str, given: str | None) -> float:
        if given is None or not given.strip():
            return default
        try:
            number = float(given)
        except ValueError:
            number = math.nan
        if not 0 < number <= longest:  # nan and inf fail too
            raise _refuse(name, f"{name}={given!r} must be a number of seconds above 0 and at most {longest:g}.")
        return number

    return parse


def whole_number(
    default: int | None, least: int, what: str, most: int | None = None
) -> Callable[[str, str | None], int | None]:
    def parse(name: str, given: str | None) -> int | None:
        if given is None or not given.strip():
            return default
        text = given.strip()
        if not (text.isascii() and text.isdigit()) or int(text) < least or (most is not None and int(text) > most):
            bounds = f"{least} or more" if most is None else f"from {least} to {most}"
            raise _refuse(name, f"{name}={given!r} must be a whole number of {what}, {bounds}.")
        return int(text)

    return parse


def text(default: str | None) -> Callable[[str, str | None], str | None]:
    return lambda name, given: given if given not in (None, "") else default


def flag(default: bool) -> Callable[[str, str | None], bool]:
    def parse(name: str, given: str | None) -> bool:
        if given is None or not given.strip():
            return default
        try:
            return bool(strtobool(given.strip()))
        except ValueError:
            raise _refuse(name, f"{name}={given!r} is not valid: expected yes/no (or true/false, on/off, 1/0).") from None

    return parse


def _persistence_module(name: str, given: str | None) -> str:
    module = SQLITE if given is None else given
    try:
        importlib.import_module(module)
    except ImportError as error:
        raise _refuse(
            name, f"{name}={module!r} cannot be imported ({error}); use {SQLITE!r} (the default) or {POSTGRES!r}."
        ) from None
    return module


def _time_zone(name: str, given: str | None) -> str:
    try:
        business_zone_named(given)
    except UnknownBusinessTimeZone as error:
        raise _refuse(name, str(error)) from None
    return (given or "").strip() or "UTC"


def _log_level(name: str, given: str | None) -> str:
    level = (given or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise _refuse(name, f"{name}={given!r} must be one of {', '.join(LOG_LEVELS)}.")
    return level


def _log_format(name: str, given: str | None) -> str | None:
    chosen = (given or "").strip()
    if not chosen:
        return None
    if chosen not in LOG_FORMATS:
        raise _refuse(name, f"{name}={given!r} must be json or text (or unset: text on a terminal).")
    return chosen


def _folder(name: str, given: str | None) -> Path | None:
    if given is None or not given:
        return None
    if not Path(given).is_dir():
        raise _refuse(name, f"{name}={given!r} names no folder.")
    return Path(given)


def _peers_folder(name: str, given: str | None) -> Path:
    return _folder(name, given) or PEERS_DIRECTORY


def _hosts(name: str, given: str | None) -> frozenset[str]:
    hosts = set()
    for entry in (given or "").replace(",", " ").split():
        host = entry.lower()
        if not (_HOST_NAME.match(host) or is_address(host)):
            raise _refuse(
                name,
                f"{name}={given!r} must list host names or IP addresses separated by commas "
                f"(no scheme, port or path); {entry!r} is none.",
            )
        hosts.add(host)
    return frozenset(hosts)


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _workers(name: str, given: str | None) -> int:
    return whole_number(max(2, 2 * (os.cpu_count() or 1)), 1, "gunicorn workers")(name, given)  # type: ignore[return-value]


PERSISTENCE_MODULE = Setting(
    "PERSISTENCE_MODULE", "module", f"`{SQLITE}`", f"or `{POSTGRES}`", _persistence_module)
SQLITE_DBNAME = Setting(
    "SQLITE_DBNAME", "path", f"`{DEFAULT_SQLITE_FILE}`", "the SQLite file (its `var` folder is made when missing)",
    text(DEFAULT_SQLITE_FILE))
BIND = Setting("CONTRACTLEDGER_BIND", "host:port", "`127.0.0.1:8000`", "where gunicorn listens", text("127.0.0.1:8000"))
WORKERS = Setting("CONTRACTLEDGER_WORKERS", "whole number, 1 or more", "2 per core", "gunicorn workers", _workers)
THREADS = Setting(
    "CONTRACTLEDGER_THREADS", "whole number, 1 to 64", "`4`",
    "the requests each gunicorn worker serves at once (its threads): a connection that sends nothing, "
    "such as a browser's preconnected socket, holds one thread, not the worker",
    whole_number(4, 1, "threads", most=64))
BUSINESS_TIME_ZONE = Setting(
    BUSINESS_TIME_ZONE_SETTING, "IANA time zone", "`UTC`",
    "the ledger's business time zone, such as `America/Toronto`: \"today\", a read's default day, the 30-day "
    "reactivation window and the 5-day debt rule count its dates", _time_zone)
WAIT_BOUND = Setting(
    "CONTRACTLEDGER_WAIT_BOUND", f"seconds, above 0, at most {LONGEST_WAIT_SECONDS:g}", "`5`",
    "the longest a read with `wait_for=` waits for the views", seconds(5.0, LONGEST_WAIT_SECONDS))
READY_MAX_LAG = Setting(
    "CONTRACTLEDGER_READY_MAX_LAG", "whole number, 0 or more", "`100`",
    "`/ready` answers 503 when a view is more events than this behind the ledger", whole_number(100, 0, "events"))
LOG_LEVEL = Setting(
    "CONTRACTLEDGER_LOG_LEVEL", " / ".join(LOG_LEVELS), "`INFO`", "the least severe log line written", _log_level)
LOG_FORMAT = Setting(
    "CONTRACTLEDGER_LOG_FORMAT", "`json` / `text`", "text on a terminal, JSON otherwise",
    "how every process of `serve` writes its log lines", _log_format)
METRICS_DIR = Setting(
    "CONTRACTLEDGER_METRICS_DIR", "folder", "a new temporary folder per `serve`",
    "where the processes of one `serve` keep their metrics and state for `/metrics` and `/ready`", _folder)
TAMPER_EVIDENCE = Setting(
    "CONTRACTLEDGER_TAMPER_EVIDENCE", "yes/no", "`on`",
    "the PostgreSQL ledger's hash chain and append-only guard; `off` only to measure their cost in a benchmark "
    "(such a ledger fails verification)", flag(True))
SYNC_PEERS = Setting(
    "CONTRACTLEDGER_SYNC_PEERS", "folder", "the package's `sync/peers`",
    "the folder of the sync peers' files (`*.toml`, one per peer)", _peers_folder)
SYNC_ENDPOINT = Setting(
    "CONTRACTLEDGER_SYNC_<PEER>_ENDPOINT", "URL", "the peer file's `endpoint`",
    "where the peer's items are pushed: `https://...` (or plain `http://` to loopback or an allowed host)")
SYNC_CA_BUNDLE = Setting(
    "CONTRACTLEDGER_SYNC_<PEER>_CA_BUNDLE", "file", "the peer file's `ca_bundle`, else the system's trust store",
    "a PEM file of the certificate authorities the peer's https certificate must chain to")
SYNC_SECRETS = Setting(
    "CONTRACTLEDGER_SYNC_<PEER>_SECRETS", "secrets separated by spaces", "none: the peer is not pushed to",
    "the peer's signing secrets (`whsec_` and base64), newest first, several while a key is rotated; the name is "
    "the peer file's `secrets_variable`")
SYNC_PLAIN_HTTP_HOSTS = Setting(
    "CONTRACTLEDGER_SYNC_PLAIN_HTTP_HOSTS", "host names or IP addresses, separated by commas", "none",
    "hosts push delivery may reach over plain http besides loopback (a network you trust)", _hosts)
SYNC_CONNECT_TIMEOUT = Setting(
    "CONTRACTLEDGER_SYNC_CONNECT_TIMEOUT", f"seconds, above 0, at most {LONGEST_TIMEOUT_SECONDS:g}", "`5`",
    "how long push delivery waits to connect to a peer (and for the TLS handshake) before the attempt fails and "
    "is retried", seconds(5.0, LONGEST_TIMEOUT_SECONDS))
SYNC_READ_TIMEOUT = Setting(
    "CONTRACTLEDGER_SYNC_READ_TIMEOUT", f"seconds, above 0, at most {LONGEST_TIMEOUT_SECONDS:g}", "`10`",
    "how long push delivery waits for a peer's answer before the attempt fails and is retried",
    seconds(10.0, LONGEST_TIMEOUT_SECONDS))

# Read and checked by the store's own reader (sqlite.py, postgres_settings.py), which also takes them prefixed
STORE_SETTINGS = (
    Setting("SQLITE_LOCK_TIMEOUT", "whole seconds", "`5`", "how long a SQLite writer waits for another's write lock"),
    Setting("ORIGINATOR_ID_TYPE", "`uuid` or `text`", "`uuid`", "how the ledger's tables store an aggregate's id"),
    Setting("CREATE_TABLE", "yes/no", "`yes`", "whether the store creates its tables when they are missing"),
)

# Read by the PostgreSQL store's own reader (postgres_settings.read_settings), also with the prefix `CONTRACTLEDGER_`.
POSTGRES_SETTINGS = (
    Setting("POSTGRES_HOST", "host", "none (required)", "the PostgreSQL server's host name or address"),
    Setting("POSTGRES_PORT", "whole number, 1 to 65535", "`5432`", "the server's port"),
    Setting("POSTGRES_DBNAME", "name", "none (required)", "the database"),
    Setting("POSTGRES_USER", "name", "none (required)", "the user to log in as"),
    Setting("POSTGRES_PASSWORD", "text", "none (required)",
            "the user's password (or `POSTGRES_GET_PASSWORD_TOPIC` naming a function that returns it)"),
    Setting("POSTGRES_SCHEMA", "name, at most 63 bytes", "`public`", "the schema of the ledger's and the views' tables"),
    Setting("POSTGRES_CONNECT_TIMEOUT", "whole seconds, 1 or more", "`30`", "how long connecting may take"),
    Setting("POSTGRES_POOL_SIZE", "whole number", "`5`", "connections each process keeps open"),
    Setting("POSTGRES_MAX_OVERFLOW", "whole number", "`10`", "connections opened beyond the pool when it is busy"),
    Setting("POSTGRES_MAX_WAITING", "whole number", "`0` (no bound)", "requests that may wait for a connection"),
    Setting("POSTGRES_LOCK_TIMEOUT", "whole seconds", "`0` (none)", "how long a write waits for the table lock"),
    Setting("POSTGRES_CONN_MAX_AGE", "seconds, above 0", "`3600`", "a connection's longest life"),
    Setting("POSTGRES_PRE_PING", "yes/no", "`no`", "check each connection before use"),
    Setting("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "whole seconds", "`5`",
            "the server ends a session idle this long inside a transaction"),
)

DECLARED: tuple[Setting, ...] = (
    PERSISTENCE_MODULE, SQLITE_DBNAME, *STORE_SETTINGS, *POSTGRES_SETTINGS, BIND, WORKERS, THREADS, BUSINESS_TIME_ZONE, WAIT_BOUND,
    READY_MAX_LAG, LOG_LEVEL, LOG_FORMAT, METRICS_DIR, TAMPER_EVIDENCE, SYNC_PEERS, SYNC_ENDPOINT, SYNC_CA_BUNDLE, SYNC_SECRETS,
    SYNC_PLAIN_HTTP_HOSTS, SYNC_CONNECT_TIMEOUT, SYNC_READ_TIMEOUT,
)


@dataclass(frozen=True)
class Settings:
    """Every setting of the service, read once and checked. ``environment`` is
    what the eventsourcing stores read (store defaults filled in)."""

    persistence_module: str
    sqlite_dbname: str
    bind: str
    workers: int
    threads: int
    business_time_zone: str
    wait_bound: float
    ready_max_lag: int
    log_level: str
    log_format: str | None
    metrics_dir: Path | None
    tamper_evidence: bool
    sync_peers: Path
    sync_plain_http_hosts: frozenset[str]
    sync_connect_timeout: float
    sync_read_timeout: float
    environment: Mapping[str, str] = field(repr=False)
    postgres: Any = field(default=None, repr=False)

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Every declared setting from ``environ`` (default: this process's
        environment); StoreConfigurationError, in one sentence, on the first bad one."""
        env = dict(os.environ if environ is None else environ)
        module = PERSISTENCE_MODULE.value(env)
        env["PERSISTENCE_MODULE"] = module
        if module == SQLITE:
            env.setdefault("SQLITE_DBNAME", DEFAULT_SQLITE_FILE)
        postgres = None
        if module == SQLITE:
            from contractledger.store import sqlite

            sqlite.check_settings(Environment(APPLICATION_NAME, env))
        if module == POSTGRES:
            from contractledger.store.postgres.settings import read_settings

            postgres = read_settings(Environment(APPLICATION_NAME, env))
        return cls(
            persistence_module=module,
            sqlite_dbname=SQLITE_DBNAME.value(env),
            bind=BIND.value(env),
            workers=WORKERS.value(env),
            threads=THREADS.value(env),
            business_time_zone=BUSINESS_TIME_ZONE.value(env),
            wait_bound=WAIT_BOUND.value(env),
            ready_max_lag=READY_MAX_LAG.value(env),
            log_level=LOG_LEVEL.value(env),
            log_format=LOG_FORMAT.value(env),
            metrics_dir=METRICS_DIR.value(env),
            tamper_evidence=TAMPER_EVIDENCE.value(env),
            sync_peers=SYNC_PEERS.value(env),
            sync_plain_http_hosts=SYNC_PLAIN_HTTP_HOSTS.value(env),
            sync_connect_timeout=SYNC_CONNECT_TIMEOUT.value(env),
            sync_read_timeout=SYNC_READ_TIMEOUT.value(env),
            environment=env,
            postgres=postgres,
        )

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level)


TABLE_BEGINS = "<!-- the settings table, generated from store/settings.py: python -m contractledger.store.settings README.md -->\n"
TABLE_ENDS = "<!-- end of the settings table -->\n"


def settings_table() -> str:
    """The README's settings table, in Markdown, from the declarations."""
    rows = ["| setting | type | default | meaning |", "|---|---|---|---|"]
    rows += [f"| `{s.name}` | {s.kind} | {s.default} | {s.meaning} |" for s in DECLARED]
    return "\n".join(rows) + "\n"


def with_settings_table(readme: str) -> str:
    """``readme`` with the text between the table's two markers replaced by the generated table."""
    head, rest = readme.split(TABLE_BEGINS, 1)
    _, tail = rest.split(TABLE_ENDS, 1)
    return f"{head}{TABLE_BEGINS}{settings_table()}{TABLE_ENDS}{tail}"


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:  # rewrite the README named
        readme = Path(sys.argv[1])
        readme.write_text(with_settings_table(readme.read_text()))
    else:
        print(settings_table(), end="")
