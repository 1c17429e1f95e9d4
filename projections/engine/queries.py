"""The read API's common ground: one read transaction over the live
generation of each view it touches.

Every public query (in the module of the view it reads) takes the view
database and a :class:`~contractledger.projections.viewer.Viewer` first, and
answers only what that viewer may see. Queries that read several views do so
inside one read transaction, through :func:`reading`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from contractledger.domain.clock import SystemClock, end_of_day, today
from contractledger.projections.engine.view import View
from contractledger.projections.engine.view_database import ViewDatabase, ViewTransaction
from contractledger.store.settings import BUSINESS_TIME_ZONE


class ViewNotBuilt(LookupError):
    def __init__(self, view: str) -> None:
        super().__init__(
            f"the view {view!r} has not been built yet; start the views runner "
            "(python -m contractledger.runtime.views_runner) and wait for it to catch up"
        )


class Reading:
    """One read transaction, and the live tables of the views it reads: each
    by its live name (``View.live_table_names``), which the switch to a new
    generation moves in its own transaction, so no read looks the live
    generation up first."""

    def __init__(self, tx: ViewTransaction) -> None:
        self.tx = tx

    def tables(self, view_class: type[View]) -> dict[str, str]:
        return view_class.live_table_names()

    def rows(self, sql: str, params: Sequence[Any] = (), *, keyed: bool = False) -> list[tuple[Any, ...]]:
        """The statement's rows; ``keyed``: it reads by a unique key, one plan for every key
        (``ViewTransaction.execute_keyed``)."""
        if keyed:
            self.tx.execute_keyed(sql, params)
        else:
            self.tx.execute(sql, params)
        return self.tx.fetchall()


@contextmanager
def reading(database: ViewDatabase) -> Iterator[Reading]:
    try:
        with database.transaction(write=False) as tx:
            yield Reading(tx)
    except ViewNotBuilt:
        raise
    except Exception as error:  # sqlite3 and psycopg2 each say "no such table" their own way
        said = str(error)
        if ("view_generations" in said or "__live" in said) and ("no such table" in said or "does not exist" in said):
            raise ViewNotBuilt("any view") from None
        raise


def business_today() -> date:
    """Today in the ledger's business time zone (its setting, rules §10): the default
    date of a query whose caller gave none (the HTTP routes give their clock's)."""
    return today(SystemClock.from_settings(_business_time_zone()))


def business_end_of_day(day: date) -> datetime:
    """The last instant of ``day`` in the ledger's business time zone (its setting, rules §10)."""
    return end_of_day(SystemClock.from_settings(_business_time_zone()), day)


def _business_time_zone() -> dict[str, str]:
    """The one declared setting these defaults read, checked (StoreConfigurationError)."""
    zone = BUSINESS_TIME_ZONE.value(os.environ)
    return {BUSINESS_TIME_ZONE.name: zone}


def placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def merged_page(arms: Sequence[tuple[str, list[Any]]], order: str, limit: int | None) -> tuple[str, list[Any]]:
    """One page from several index ranges: each arm (a statement and its
    parameters) is already ordered and cut to ``limit`` in SQL, so each reads
    only its own range; the page is the first ``limit`` rows of all of them in
    ``order`` (column names of the arms' rows). One arm is its own page."""
    if len(arms) == 1:
        return arms[0]
    sql = " UNION ALL ".join(f"SELECT * FROM ({arm}) AS arm{n}" for n, (arm, _) in enumerate(arms))
    sql += f" ORDER BY {order}" + ("" if limit is None else " LIMIT ?")
    return sql, [param for _, params in arms for param in params] + ([] if limit is None else [limit])


def ensure_instant(as_of: datetime | None) -> None:
    if as_of is not None and (not isinstance(as_of, datetime) or as_of.tzinfo is None):
        raise ValueError("give the as-of instant with its time zone, such as 2026-01-31T17:00:00+00:00")
