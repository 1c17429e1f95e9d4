"""Writing one batch while the next is applied (catch-up on PostgreSQL).

In a catch-up, most of a batch's time is Python (decoding, handlers, rows
to COPY text) and the rest is the database taking the rows. PostgreSQL runs
in its own process, so the two can overlap: this thread applies batch k+1
while a writer thread sends batch k and commits it.

The handlers see a :class:`DeferredTransaction`. Its writes are kept, in
order, with COPY text built at once (in this thread), and handed to the
writer when the batch ends, together with the views' positions: rows and
positions still commit in one transaction. Its reads wait until the writer
has committed the previous batch, so a read sees exactly what it would have
seen without the pipeline. A batch that reads after it has written goes
synchronous: it waits for the writer, replays its writes into a real
transaction and goes on in it (views keep what they write in memory, so this
is rare).

Only one batch is ever in flight. A batch counts as applied (positions in
memory, progress reported) only once its commit has returned; a failed
write is raised in this thread at the next point it waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

from contractledger.projections.engine.view_database import (
    COPY_THRESHOLD,
    ViewDatabase,
    ViewTransaction,
    _copy_text,
)

_READS = ("SELECT", "WITH", "SHOW", "VALUES")


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper().startswith(_READS)


class DeferredTransaction:
    """One batch's transaction, written later by the writer (see the module)."""

    def __init__(self, database: ViewDatabase, pipeline: WritePipeline) -> None:
        self.dialect = database.dialect
        self._database = database
        self._pipeline = pipeline
        self._writes: list[tuple[str, tuple[Any, ...]]] = []
        self._resources = ExitStack()
        self._reader: ViewTransaction | None = None
        self._real: ViewTransaction | None = None
        self._current: ViewTransaction | None = None

    # -- what the handlers call -------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self._real is not None:
            self._real.execute(sql, params)
        elif _is_read(sql):
            self._read(sql, params)
        else:
            self._writes.append(("execute", (sql, tuple(params))))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._real is not None:
            self._real.executemany(sql, rows)
        elif rows:
            self._writes.append(("executemany", (sql, [tuple(r) for r in rows])))

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], on_conflict: str = ""
    ) -> None:
        if self._real is not None:
            self._real.insert_rows(table, columns, rows, on_conflict)
        elif rows and self.dialect == "postgres" and len(rows) >= COPY_THRESHOLD:
            # the COPY text is built here, so the writer thread only waits on the database
            self._writes.append(("copy_text", (table, ", ".join(columns), _copy_text(rows), on_conflict)))
        elif rows:
            self._writes.append(("insert_rows", (table, tuple(columns), [tuple(r) for r in rows], on_conflict)))

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._last().fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._last().fetchall()

    @property
    def rowcount(self) -> int:
        return self._last().rowcount

    def serialise_schema_changes(self) -> None:
        self._go_synchronous()
        assert self._real is not None
        self._real.serialise_schema_changes()

    # -- inside ---------------------------------------------------------------------------

    def _last(self) -> ViewTransaction:
        if self._current is None:
            raise RuntimeError("fetch without a query before it in this batch")
        return self._current

    def _read(self, sql: str, params: Sequence[Any]) -> None:
        self._pipeline.wait()  # the previous batch is committed: the read sees it
        if self._writes:
            self._go_synchronous()
            assert self._real is not None
            self._real.execute(sql, params)
            self._current = self._real
            return
        if self._reader is None:
            self._reader = self._resources.enter_context(self._database.transaction(write=False))
        self._reader.execute(sql, params)
        self._current = self._reader

    def _go_synchronous(self) -> None:
        if self._real is not None:
            return
        self._pipeline.wait()
        self._close_reader()
        self._real = self._resources.enter_context(self._database.transaction())
        _replay(self._real, self._writes)
        self._writes = []
        self._current = self._real

    def _close_reader(self) -> None:
        if self._reader is not None:
            resources, self._resources = self._resources, ExitStack()
            resources.close()
            self._reader = None

    @property
    def synchronous(self) -> bool:
        return self._real is not None

    def writes(self) -> list[tuple[str, tuple[Any, ...]]]:
        return self._writes

    def finish(self, error: BaseException | None) -> None:
        """Ends the batch's own resources: the read transaction, or the real
        transaction of a synchronous batch (committed unless ``error``)."""
        resources, self._resources = self._resources, ExitStack()
        if error is None:
            resources.close()
        else:
            resources.__exit__(type(error), error, error.__traceback__)


def _replay(tx: ViewTransaction, writes: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
    for kind, args in writes:
        if kind == "copy_text":
            table, names, text, on_conflict = args
            tx.copy_text(table, names, text, on_conflict)
        else:
            getattr(tx, kind)(*args)


class WritePipeline:
    """The writer thread and the one batch it may be writing."""

    def __init__(self, database: ViewDatabase) -> None:
        self.database = database
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="view-runner-write")
        self._pending: Future[None] | None = None
        self._on_commit: Callable[[], None] | None = None

    @contextmanager
    def batch(self) -> Iterator[DeferredTransaction]:
        """The batch's transaction; when the block ends without error its
        writes go to the writer (or, for a synchronous batch, are committed
        here)."""
        tx = DeferredTransaction(self.database, self)
        try:
            yield tx
        except BaseException as error:
            tx.finish(error)
            raise
        tx.finish(None)

    def submit(self, tx: DeferredTransaction, on_commit: Callable[[], None]) -> None:
        """Hands a finished batch to the writer (after the previous one has
        committed); ``on_commit`` runs in this thread once it has."""
        if tx.synchronous:
            on_commit()
            return
        self.wait()
        writes = tx.writes()
        self._pending = self._executor.submit(self._write, writes)
        self._on_commit = on_commit

    def _write(self, writes: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        with self.database.transaction() as real:
            _replay(real, writes)

    def wait(self) -> None:
        """Until the batch in flight (if any) has committed; raises its error."""
        pending, on_commit = self._pending, self._on_commit
        if pending is None:
            return
        self._pending = self._on_commit = None
        pending.result()
        if on_commit is not None:
            on_commit()

    def close(self) -> None:
        """Waits for the batch in flight, then stops the writer thread."""
        try:
            self.wait()
        finally:
            self._executor.shutdown(wait=True)

    def __enter__(self) -> WritePipeline:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> None:
        """Closes; when the block failed, a failure of the batch in flight as
        well is not raised over the block's own error (that one is the cause)."""
        if kind is None:
            self.close()
            return
        try:
            self.close()
        except Exception:  # noqa: S110
            pass
