"""psycopg2's exceptions, said in the eventsourcing library's terms.

Two translations: :func:`translated` turns any psycopg2 error raised while
the store runs into the library's exception of the same DB-API kind (the
library, and the conformance suites, catch ``IntegrityError`` and friends
from ``eventsourcing.persistence``); :func:`configuration_error` turns a
failure found while the store starts into one sentence naming the setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.errorcodes

from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
)

from contractledger.store.errors import StoreConfigurationError, StoreUnavailable, is_transient_connect_failure
from contractledger.store.postgres.settings import PostgresSettings

# Most specific first: psycopg2's classes form the DB-API hierarchy.
_TRANSLATIONS: tuple[tuple[type[psycopg2.Error], type[PersistenceError]], ...] = (
    (psycopg2.InterfaceError, InterfaceError),
    (psycopg2.IntegrityError, IntegrityError),
    (psycopg2.DataError, DataError),
    (psycopg2.OperationalError, OperationalError),
    (psycopg2.InternalError, InternalError),
    (psycopg2.ProgrammingError, ProgrammingError),
    (psycopg2.NotSupportedError, NotSupportedError),
    (psycopg2.DatabaseError, DatabaseError),
    (psycopg2.Error, PersistenceError),
)


def translate(error: psycopg2.Error) -> PersistenceError:
    """The library's exception for a psycopg2 error (same kind, same message)."""
    for source, target in _TRANSLATIONS:
        if isinstance(error, source):
            return target(str(error).strip())
    return PersistenceError(str(error).strip())


@contextmanager
def translated() -> Iterator[None]:
    """Re-raises psycopg2 errors as the library's, chained to the original."""
    try:
        yield
    except psycopg2.Error as error:
        raise translate(error) from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def configuration_error(error: BaseException, settings: PostgresSettings) -> StoreConfigurationError:
    """One sentence naming the setting that made the store fail to start."""
    where = f"{settings.host}:{settings.port}"
    host_port = f"{settings.key('POSTGRES_HOST')}/{settings.key('POSTGRES_PORT')}"
    text = str(error)
    lowered = text.lower()
    cause = getattr(error, "__cause__", None)
    pgcode = getattr(error, "pgcode", None) or getattr(cause, "pgcode", None)

    if "connection refused" in lowered:
        return StoreUnavailable(
            "POSTGRES_HOST",
            f"Cannot connect to PostgreSQL at {where} ({host_port}): connection refused.",
        )
    if "could not translate host name" in lowered or "name or service not known" in lowered:
        return StoreConfigurationError(
            "POSTGRES_HOST",
            f"Cannot connect to PostgreSQL at {where} ({settings.key('POSTGRES_HOST')}): "
            f"no such host {settings.host!r}.",
        )
    if "timeout expired" in lowered or "timed out" in lowered:
        return StoreUnavailable(
            "POSTGRES_HOST",
            f"Cannot connect to PostgreSQL at {where} ({host_port}): no answer within "
            f"{settings.connect_timeout} seconds ({settings.key('POSTGRES_CONNECT_TIMEOUT')}).",
        )
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return StoreConfigurationError(
            "POSTGRES_PASSWORD",
            f"PostgreSQL at {where} refused the login of user {settings.user!r} "
            f"({settings.key('POSTGRES_USER')}/{settings.key('POSTGRES_PASSWORD')}): wrong password or no such user.",
        )
    if "database" in lowered and "does not exist" in lowered:
        return StoreConfigurationError(
            "POSTGRES_DBNAME",
            f"PostgreSQL at {where} has no database {settings.dbname!r} ({settings.key('POSTGRES_DBNAME')}).",
        )
    if "role" in lowered and "does not exist" in lowered:
        return StoreConfigurationError(
            "POSTGRES_USER",
            f"PostgreSQL at {where} has no user {settings.user!r} ({settings.key('POSTGRES_USER')}).",
        )
    if "pg_hba.conf" in lowered:
        return StoreConfigurationError(
            "POSTGRES_USER",
            f"PostgreSQL at {where} does not accept user {settings.user!r} for database "
            f"{settings.dbname!r} from this host ({settings.key('POSTGRES_USER')}/"
            f"{settings.key('POSTGRES_DBNAME')}).",
        )
    if pgcode == psycopg2.errorcodes.INSUFFICIENT_PRIVILEGE:
        return StoreConfigurationError(
            "POSTGRES_SCHEMA",
            f"User {settings.user!r} has no rights on schema {settings.schema!r} "
            f"({settings.key('POSTGRES_SCHEMA')}): {_first_line(error)}.",
        )
    if "too many" in lowered and "connection" in lowered:
        return StoreUnavailable(
            "POSTGRES_POOL_SIZE",
            f"PostgreSQL at {where} has no connection to spare ({settings.key('POSTGRES_POOL_SIZE')}/"
            f"{settings.key('POSTGRES_MAX_OVERFLOW')}): {_first_line(error)}.",
        )
    kind = StoreUnavailable if is_transient_connect_failure(text) else StoreConfigurationError
    return kind(
        "POSTGRES_HOST",
        f"Cannot use PostgreSQL at {where} ({host_port}, database {settings.dbname!r}): {_first_line(error)}.",
    )
