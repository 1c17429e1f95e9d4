"""How view rows are written: one encoding of ids, dates and instants for
both databases, and a buffer that writes a batch's touched rows in bulk.

Instants are stored as UTC text with microseconds, so that text order is
time order on both databases (as-of queries compare them). Dates are ISO
text for the same reason.
"""

from __future__ import annotations

import json
from operator import itemgetter
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from contractledger.domain.history import _ENVELOPE, plain
from contractledger.projections.engine.view import View
from contractledger.projections.engine.view_database import ViewTransaction

INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"
_ZERO = timedelta(0)

# Texts of values that recur across events (ids on every chain, instants
# shared by the events of one command): computed once, forgotten in bulk when
# there are many. The values are immutable, so a remembered text is exact.
MEMO_LIMIT = 200_000
_id_texts: dict[int, str] = {}
_instant_texts: dict[datetime, str] = {}


def instant_text(instant: datetime) -> str:
    text = _instant_texts.get(instant)
    if text is not None and instant.tzinfo is not None:
        return text
    if instant.tzinfo is None:
        raise ValueError("an instant must carry its time zone, such as 2026-01-31T17:00:00+00:00")
    if instant.utcoffset() == _ZERO and instant.year >= 1000:
        # the same text as the strftime below, several times faster
        text = instant.replace(tzinfo=None).isoformat(timespec="microseconds") + "+00:00"
    else:
        text = instant.astimezone(timezone.utc).strftime(INSTANT_FORMAT)
    if len(_instant_texts) >= MEMO_LIMIT:
        _instant_texts.clear()
    _instant_texts[instant] = text
    return text


def instant_from(text: str) -> datetime:
    return datetime.fromisoformat(text)


def id_text(value: UUID | None) -> str | None:
    if value is None:
        return None
    if type(value) is not UUID:
        return str(value)
    # keyed by the id's integer: hashing a UUID itself runs Python code
    number = value.int
    text = _id_texts.get(number)
    if text is None:
        text = str(value)
        if len(_id_texts) >= MEMO_LIMIT:
            _id_texts.clear()
        _id_texts[number] = text
    return text


_ids_of_texts: dict[str, UUID] = {}


def id_from(text: str | None) -> UUID | None:
    """The UUID of an id's text; each text parsed once while remembered
    (UUIDs are immutable, and the same few recur on every read)."""
    if text is None:
        return None
    found = _ids_of_texts.get(text)
    if found is None:
        if len(_ids_of_texts) >= MEMO_LIMIT:
            _ids_of_texts.clear()
        found = _ids_of_texts[text] = UUID(text)
    return found


def date_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def date_from(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def json_text(value: Any) -> str:
    # Amounts stay exact: a Decimal is written as its text, never a float.
    return _encode(_plain(value))


def details_text(event: Any) -> str:
    """``json_text`` of an event's details (``event_as_plain_data(event)["details"]``)."""
    return _encode({key: _plain(value) for key, value in event.__dict__.items() if key not in _ENVELOPE})


def _plain(value: Any) -> Any:
    """``plain(value)``, with the values views write most (text, numbers,
    ids, dates, and lists and dicts of them) converted without its general
    walk of isinstance checks; anything else goes through ``plain``."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool or kind is float or kind is Decimal:
        return value
    if kind is UUID:
        return id_text(value)
    if kind is date:
        return value.isoformat()
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if kind is dict:
        return {(key if type(key) is str else str(key)): _plain(item) for key, item in value.items()}
    return plain(value)


_decode_json = msgspec.json.Decoder().decode  # the same values as json.loads, several times faster


def json_from(text: str | None) -> Any:
    return None if text is None else _decode_json(text)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form in a view")


_encode = json.JSONEncoder(default=_exact, sort_keys=True, separators=(",", ":")).encode


class MissingRow(RuntimeError):
    """An event names a row its creation event should have written."""


class UpsertBuffer:
    """The rows of one table a batch touches, by key: each is read from the
    table at most once, changed in memory by the handlers, and written back
    in one bulk upsert when the batch flushes.

    Written rows are also remembered across batches (up to ``keep`` of them):
    only the view's own runner writes its tables (the runner lock), so the
    remembered row is the table's row, and a rebuild reads nothing back. What
    a failed batch left in memory is dropped with :meth:`discard`.
    """

    keep = 500_000

    def __init__(self, table: str, columns: Sequence[str], key: str | None = None) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.key = key or self.columns[0]
        self._rows: dict[Any, dict[str, Any]] = {}
        self._known: dict[Any, dict[str, Any]] = {}
        self._missing: set[Any] = set()
        # True once every row of the table is in memory (see load_all and
        # check_empty); asked whether the table is empty once per start
        self._complete = False
        self._checked_empty = False
        self._select = f"SELECT {', '.join(self.columns)} FROM {table} WHERE {self.key} = ?"
        self._select_many = f"SELECT {', '.join(self.columns)} FROM {table} WHERE {self.key} IN "
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c != self.key)
        self._on_conflict = f"ON CONFLICT ({self.key}) DO UPDATE SET {updates}"
        # a row's values in column order, as a tuple (one C call per row)
        getter = itemgetter(*self.columns)
        self._values = getter if len(self.columns) > 1 else (lambda row: (getter(row),))

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        self._rows[row[self.key]] = row
        self._missing.discard(row[self.key])
        return row

    def find(self, tx: ViewTransaction, key: Any) -> dict[str, Any] | None:
        row = self._rows.get(key)
        if row is None:
            row = self._known.pop(key, None)
            if row is not None:
                self._rows[key] = row
                return row
            if self._complete or key in self._missing:
                return None
            tx.execute(self._select, (key,))
            found = tx.fetchone()
            if found is None:
                self._missing.add(key)
                return None
            row = self._rows[key] = dict(zip(self.columns, found))
        return row

    def check_empty(self, tx: ViewTransaction) -> None:
        """Once (per start, or after a failed batch): an empty table has all
        its rows in memory (none), and keeps them there as they are written,
        so a view filling fresh tables, as a rebuild does, reads nothing back."""
        if self._checked_empty:
            return
        self._checked_empty = True
        if not self._complete and not self._rows and not self._known:
            tx.execute(f"SELECT 1 FROM {self.table} LIMIT 1")
            self._complete = tx.fetchone() is None

    def load(self, tx: ViewTransaction, keys: Any) -> None:
        """Reads the rows of ``keys`` not yet in memory, many per query
        (before a batch, so that its handlers find them without a query each)."""
        if self._complete:
            return
        wanted = [k for k in dict.fromkeys(keys) if k not in self._rows and k not in self._known and k not in self._missing]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            tx.execute(self._select_many + "(" + ", ".join("?" for _ in chunk) + ")", chunk)
            index = self.columns.index(self.key)
            found = {row[index]: row for row in tx.fetchall()}
            for key in chunk:
                row = found.get(key)
                if row is None:
                    self._missing.add(key)
                else:
                    self._known[key] = dict(zip(self.columns, row))

    def load_all(self, tx: ViewTransaction, limit: int) -> bool:
        """Reads the whole table into memory when it has at most ``limit``
        rows (small tables looked up by many absent keys, such as trigger
        settings): from then on a key not in memory is known to be absent,
        without a query. True when loaded."""
        tx.execute(f"SELECT COUNT(*) FROM {self.table}")
        (count,) = tx.fetchone()  # type: ignore[misc]
        if count > limit or count + len(self._known) > self.keep:
            return False
        tx.execute(f"SELECT {', '.join(self.columns)} FROM {self.table}")
        index = self.columns.index(self.key)
        for row in tx.fetchall():
            key = row[index]
            if key not in self._rows:
                self._known[key] = dict(zip(self.columns, row))
        self._missing.clear()
        self._complete = True
        return True

    def get(self, tx: ViewTransaction, key: Any) -> dict[str, Any]:
        row = self.find(tx, key)
        if row is None:
            raise MissingRow(f"{self.table} has no row {key!r}, yet an event refers to it")
        return row

    def flush(self, tx: ViewTransaction) -> None:
        rows = list(map(self._values, self._rows.values()))
        tx.insert_rows(self.table, self.columns, rows, on_conflict=self._on_conflict)
        if len(self._known) + len(self._rows) > self.keep:
            self._known.clear()
            self._complete = False
        if len(self._missing) > self.keep:
            self._missing.clear()
        self._known.update(self._rows)
        self._rows.clear()

    def discard(self) -> None:
        self._rows.clear()
        self._known.clear()
        self._missing.clear()
        self._complete = False
        self._checked_empty = False


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
            self.forget()
        self._last_seen = notification_id
        super().apply(tx, event, notification_id)

    def forget(self) -> None:
        """Drops everything held in memory (a batch failed and is retried):
        the buffers, and what views remember across batches (override, and
        call this)."""
        for buffer in self.buffers:
            buffer.discard()

    def apply_all(self, tx: ViewTransaction, events: Sequence[tuple[int, Any]]) -> None:
        if events and events[0][0] <= self._last_seen:
            self.forget()
        super().apply_all(tx, events)
        if events:
            self._last_seen = events[-1][0]

    def begin(self, tx: ViewTransaction, events: Sequence[tuple[int, Any]]) -> None:
        """Before a batch (the runner calls it with the events this view will apply)."""
        if events and events[0][0] <= self._last_seen:
            self.forget()
        for buffer in self.buffers:
            if isinstance(buffer, UpsertBuffer):
                buffer.check_empty(tx)
        self.prefetch(tx, events)

    def prefetch(self, tx: ViewTransaction, events: Sequence[tuple[int, Any]]) -> None:
        """Before a batch: read what its events will need, many rows per query
        (override; rows not read here are read one by one when first needed)."""

    def flush(self, tx: ViewTransaction) -> None:
        for buffer in self.buffers:
            buffer.flush(tx)
