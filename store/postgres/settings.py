"""The PostgreSQL store's settings, read from the environment and checked.

The keys are the eventsourcing library's (``POSTGRES_*``, ``CREATE_TABLE``,
``ORIGINATOR_ID_TYPE``...), looked up with the application's name as prefix
first, as the library does. Every bad value raises
:class:`~contractledger.store.errors.StoreConfigurationError` with one
sentence naming the key as the user spelt it.

One key is ours: ``CONTRACTLEDGER_TAMPER_EVIDENCE`` (default ``on``). Set to
``off`` only by the benchmark, to measure what the hash chain and the
append-only guard cost: a ledger written with it off has no hashes, no guard,
and fails verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from eventsourcing.utils import Environment, resolve_topic, strtobool

from contractledger.store.errors import StoreConfigurationError

MAX_IDENTIFIER_LENGTH = 63


@dataclass(frozen=True)
class PostgresSettings:
    """Everything the PostgreSQL store needs to know, already validated."""

    dbname: str
    host: str
    port: int
    user: str
    password: str
    get_password: Callable[[], str] | None = None
    connect_timeout: int = 30
    conn_max_age: float = 60 * 60.0
    pre_ping: bool = False
    max_waiting: int = 0
    lock_timeout: int = 0
    pool_size: int = 5
    max_overflow: int = 10
    idle_in_transaction_session_timeout: int = 5
    schema: str = "public"
    originator_id_type: str = "uuid"
    create_table: bool = True
    tamper_evidence: bool = True
    key_names: dict[str, str] | None = None

    def key(self, name: str) -> str:
        """The environment key the user set for ``name`` (prefixed or not)."""
        return (self.key_names or {}).get(name, name)


class _Reader:
    """Looks keys up in an Environment and remembers which spelling was found."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.found: dict[str, str] = {}

    def raw(self, key: str) -> str | None:
        for candidate in self.env.create_keys(key):
            value = dict.get(self.env, candidate)
            if value is not None:
                self.found[key] = candidate
                return value
        return None

    def name(self, key: str) -> str:
        return self.found.get(key, key)

    def required(self, key: str, what: str) -> str:
        value = self.raw(key)
        if value is None or value == "":
            raise StoreConfigurationError(
                key, f"{self.name(key)} is not set: the PostgreSQL store needs {what}."
            )
        return value

    def integer(self, key: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.raw(key)
        if value is None or value.strip() == "":
            return default
        try:
            number = int(value.strip())
        except ValueError:
            number = None
        if number is None or number < minimum or (maximum is not None and number > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise StoreConfigurationError(
                key,
                f"{self.name(key)}={value!r} is not valid: expected a whole number of at least {minimum}{upper}.",
            )
        return number

    def number(self, key: str, default: float) -> float:
        value = self.raw(key)
        if value is None or value.strip() == "":
            return default
        try:
            number = float(value.strip())
        except ValueError:
            number = -1.0
        if not number > 0:
            raise StoreConfigurationError(
                key, f"{self.name(key)}={value!r} is not valid: expected a number of seconds above 0."
            )
        return number

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None or value.strip() == "":
            return default
        try:
            return strtobool(value.strip())
        except ValueError:
            raise StoreConfigurationError(
                key, f"{self.name(key)}={value!r} is not valid: expected yes/no (or true/false, on/off, 1/0)."
            ) from None


def read_settings(env: Environment) -> PostgresSettings:
    """Reads and checks the store's settings; raises StoreConfigurationError."""
    r = _Reader(env)
    dbname = r.required("POSTGRES_DBNAME", "the name of the database")
    host = r.required("POSTGRES_HOST", "the host name or address of the server")
    port = r.integer("POSTGRES_PORT", 5432, minimum=1, maximum=65535)
    user = r.required("POSTGRES_USER", "the user to log in as")

    get_password = None
    topic = r.raw("POSTGRES_GET_PASSWORD_TOPIC")
    if topic:
        try:
            get_password = resolve_topic(topic)
        except Exception as error:  # any failure to resolve is the same mistake
            raise StoreConfigurationError(
                "POSTGRES_GET_PASSWORD_TOPIC",
                f"{r.name('POSTGRES_GET_PASSWORD_TOPIC')}={topic!r} does not name a function ({error}).",
            ) from None
        password = ""
    else:
        password = r.raw("POSTGRES_PASSWORD")
        if password is None:
            raise StoreConfigurationError(
                "POSTGRES_PASSWORD",
                "POSTGRES_PASSWORD is not set: the PostgreSQL store needs the user's password "
                "(or POSTGRES_GET_PASSWORD_TOPIC naming a function that returns it).",
            )

    schema = (r.raw("POSTGRES_SCHEMA") or "").strip() or "public"
    if len(schema.encode()) > MAX_IDENTIFIER_LENGTH:
        raise StoreConfigurationError(
            "POSTGRES_SCHEMA",
            f"{r.name('POSTGRES_SCHEMA')}={schema!r} is too long: PostgreSQL names have at most "
            f"{MAX_IDENTIFIER_LENGTH} bytes.",
        )

    originator_id_type = (r.raw("ORIGINATOR_ID_TYPE") or "uuid").strip().lower()
    if originator_id_type not in ("uuid", "text"):
        raise StoreConfigurationError(
            "ORIGINATOR_ID_TYPE",
            f"{r.name('ORIGINATOR_ID_TYPE')}={originator_id_type!r} is not valid: expected 'uuid' or 'text'.",
        )

    if not r.flag("SINGLE_ROW_TRACKING", True):
        raise StoreConfigurationError(
            "SINGLE_ROW_TRACKING",
            f"{r.name('SINGLE_ROW_TRACKING')} is off, but this store keeps one tracking row per "
            "upstream application only; unset it.",
        )
    if r.flag("POSTGRES_ENABLE_DB_FUNCTIONS", False):
        raise StoreConfigurationError(
            "POSTGRES_ENABLE_DB_FUNCTIONS",
            f"{r.name('POSTGRES_ENABLE_DB_FUNCTIONS')} is on, but this store never inserts without "
            "the table lock (readers would miss events); unset it.",
        )

    pool_size = r.integer("POSTGRES_POOL_SIZE", 5)
    max_overflow = r.integer("POSTGRES_MAX_OVERFLOW", 10)
    if pool_size + max_overflow < 1:
        raise StoreConfigurationError(
            "POSTGRES_POOL_SIZE",
            f"{r.name('POSTGRES_POOL_SIZE')} plus {r.name('POSTGRES_MAX_OVERFLOW')} is 0: "
            "the store needs at least one connection.",
        )

    return PostgresSettings(
        dbname=dbname,
        host=host,
        port=port,
        user=user,
        password=password,
        get_password=get_password,
        connect_timeout=r.integer("POSTGRES_CONNECT_TIMEOUT", 30, minimum=1),
        conn_max_age=r.number("POSTGRES_CONN_MAX_AGE", 60 * 60.0),
        pre_ping=r.flag("POSTGRES_PRE_PING", False),
        max_waiting=r.integer("POSTGRES_MAX_WAITING", 0),
        lock_timeout=r.integer("POSTGRES_LOCK_TIMEOUT", 0),
        pool_size=pool_size,
        max_overflow=max_overflow,
        idle_in_transaction_session_timeout=r.integer("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", 5),
        schema=schema,
        originator_id_type=originator_id_type,
        create_table=r.flag("CREATE_TABLE", True),
        tamper_evidence=r.flag("CONTRACTLEDGER_TAMPER_EVIDENCE", True),
        # Keyword arguments are evaluated in order, so every key above is in r.found by now.
        key_names=dict(r.found),
    )


def read_flag(env: Environment, key: str, default: bool) -> bool:
    """One yes/no setting; raises StoreConfigurationError when it is neither."""
    return _Reader(env).flag(key, default)
