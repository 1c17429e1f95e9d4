"""How view rows are written: one encoding of ids, dates and instants for
both databases, and a buffer that writes a batch's touched rows in bulk.

Instants are stored as UTC text with microseconds, so that text order is
time order on both databases (as-of queries compare them). Dates are ISO
text for the same reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from contractledger.domain.history import plain
from contractledger.projections.view import View
from contractledger.projections.view_database import ViewTransaction

INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def instant_text(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError("an instant must carry its time zone, such as 2026-01-31T17:00:00+00:00")
    return instant.astimezone(timezone.utc).strftime(INSTANT_FORMAT)


def instant_from(text: str) -> datetime:
    return datetime.fromisoformat(text)


def id_text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def id_from(text: str | None) -> UUID | None:
    return None if text is None else UUID(text)


def date_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def date_from(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def json_text(value: Any) -> str:
    # Amounts stay exact: a Decimal is written as its text, never a float.
    return json.dumps(plain(value), default=_exact, sort_keys=True, separators=(",", ":"))


def json_from(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form in a view")


class MissingRow(RuntimeError):
    """An event names a row its creation event should have written."""


class UpsertBuffer:
    """The rows of one table a batch touches, by key: each is read from the
    table at most once per batch, changed in memory by the handlers, and
    written back in one bulk upsert when the batch flushes."""

    def __init__(self, table: str, columns: Sequence[str], key: str | None = None) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.key = key or self.columns[0]
        self._rows: dict[Any, dict[str, Any]] = {}
        self._missing: set[Any] = set()
        self._select = f"SELECT {', '.join(self.columns)} FROM {table} WHERE {self.key} = ?"
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c != self.key)
        self._on_conflict = f"ON CONFLICT ({self.key}) DO UPDATE SET {updates}"

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        self._rows[row[self.key]] = row
        self._missing.discard(row[self.key])
        return row

    def find(self, tx: ViewTransaction, key: Any) -> dict[str, Any] | None:
        row = self._rows.get(key)
        if row is None:
            if key in self._missing:
                return None
            tx.execute(self._select, (key,))
            found = tx.fetchone()
            if found is None:
                self._missing.add(key)
                return None
            row = self._rows[key] = dict(zip(self.columns, found))
        return row

    def get(self, tx: ViewTransaction, key: Any) -> dict[str, Any]:
        row = self.find(tx, key)
        if row is None:
            raise MissingRow(f"{self.table} has no row {key!r}, yet an event refers to it")
        return row

    def flush(self, tx: ViewTransaction) -> None:
        rows = [tuple(row[c] for c in self.columns) for row in self._rows.values()]
        tx.insert_rows(self.table, self.columns, rows, on_conflict=self._on_conflict)
        self.discard()

    def discard(self) -> None:
        self._rows.clear()
        self._missing.clear()


class AppendBuffer:
    """Rows that are only ever added (history, timelines): written in bulk at flush."""

    def __init__(self, table: str, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.rows: list[tuple[Any, ...]] = []

    def append(self, *values: Any) -> None:
        self.rows.append(values)

    def flush(self, tx: ViewTransaction) -> None:
        tx.insert_rows(self.table, self.columns, self.rows)
        self.rows = []

    def discard(self) -> None:
        self.rows = []


class BufferedView(View):
    """A view whose handlers write into buffers that flush once per batch.

    A batch that failed leaves its buffers half-filled; the runner then
    retries from the view's position, so an event id that does not move
    forward means a new attempt, and what the failed one buffered is dropped.
    """

    def __init__(self, generation: int = 1) -> None:
        super().__init__(generation)
        self.buffers: list[UpsertBuffer | AppendBuffer] = []
        self._last_seen = 0

    def buffer(self, kind: type, logical: str, columns: Sequence[str]) -> Any:
        made = kind(self.t[logical], columns)
        self.buffers.append(made)
        return made

    def apply(self, tx: ViewTransaction, event: Any, notification_id: int) -> None:
        if notification_id <= self._last_seen:
            for buffer in self.buffers:
                buffer.discard()
        self._last_seen = notification_id
        super().apply(tx, event, notification_id)

    def flush(self, tx: ViewTransaction) -> None:
        for buffer in self.buffers:
            buffer.flush(tx)
