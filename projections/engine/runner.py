"""Runs views over the event log: catch up in batches, then follow live.

Many events go into one view transaction (the batch), and the position of the
batch's last event is written in that same transaction: a runner killed
mid-batch leaves the view exactly at the previous batch, and the next run
resumes from there. Live, the store's subscription only wakes the runner; it
then takes everything that has arrived, up to a batch, in one transaction, so
the lag stays near one commit even under load.

Only one runner may apply a given view generation at a time: each holds a
cross-process lock on it (an advisory lock on PostgreSQL, a file lock on
SQLite) and a second one refuses to start.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, nullcontext
from typing import Any

from contractledger.projections.engine import positions, runner_metrics
from contractledger.domain.event_decoding import BatchDecoder
from contractledger.projections.engine.view import View
from contractledger.projections.engine.view_database import ViewDatabase
from contractledger.projections.engine.write_pipeline import WritePipeline
from contractledger.store.notifications import StatePage
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.utils import resolve_topic


@contextmanager
def batch_collections() -> Iterator[Callable[[], None]]:
    """Python's cycle collector off for the block; the block calls the
    function it is given once a batch instead. A catch-up keeps hundreds of
    thousands of objects alive (remembered ids, rows, decoded values), and
    every automatic collection walks them: reading and decoding 1,000,000
    events ran at 25,000 events/s with it and 64,000 without.

    Once a batch, what the batch left alive is frozen (``gc.freeze``): the
    collector never walks it again. A batch leaves no cycles (a collection
    after each of the 50 batches of a 1,000,000-event rebuild found none,
    and walking their survivors cost 1.3-1.6 s of CPU per process), and
    objects freed by their reference count are freed as always. At the end
    of the block everything is unfrozen, so the normal collector would find
    any cycle a batch did leave."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _last_id(page: Sequence[Notification] | StatePage) -> int:
    return page.last_id if isinstance(page, StatePage) else page[-1].id


class UndecodableEvent(RuntimeError):
    def __init__(self, notification: Notification, error: Exception) -> None:
        super().__init__(
            f"the event at notification id {notification.id} (topic {notification.topic}) cannot be "
            f"decoded: {error}. The runner has stopped without applying it."
        )


class ViewRunner:
    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        database: ViewDatabase,
        views: Sequence[View],
        batch_size: int = 1000,
        on_batch: Callable[[int, int], None] | None = None,
        catch_up_batch_size: int | None = None,
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.database = database
        self.views = list(views)
        self.batch_size = batch_size
        """Events per transaction while following live."""
        self.catch_up_batch_size = catch_up_batch_size or batch_size
        """Events per transaction while catching up on what is already recorded."""
        self.on_batch = on_batch
        self.applied: dict[str, int] = {}
        self.work: dict[str, tuple[float, int]] = {view.name: (0.0, 0) for view in self.views}
        """Per view: the seconds spent applying events and writing rows, and the events applied."""
        self.decoder = BatchDecoder(mapper)
        self._wanted_topics: dict[str, bool] = {}
        # States that are plain JSON can be read as text where the store offers it (PostgreSQL),
        # and a catch-up's pages in columns, their states joined into one JSON array
        utf8_states = self.decoder.fast and getattr(recorder, "reads_utf8_states", False)
        self._page_options = {"utf8_states": True} if utf8_states else {}
        self._reads_state_pages = self.decoder.fast and hasattr(recorder, "select_state_page")
        self._skipped_topics: tuple[str, ...] = ()  # every view ignores them (replaced whole: read by the reader thread)
        self._locks = ExitStack()

    def lock_name(self, view: View) -> str:
        return f"{view.name}.g{view.generation}"

    def acquire(self) -> None:
        """Takes every view's runner lock, or raises ViewRunnerAlreadyRunning."""
        try:
            for view in self.views:
                self._locks.enter_context(self.database.exclusive(self.lock_name(view)))
        except BaseException:
            self._locks.close()
            raise

    def release(self) -> None:
        self._locks.close()

    def prepare(self, *, indexes: bool = True) -> None:
        """Creates the views' tables and reads where each stands. Without
        ``indexes``, a view starting from nothing (a rebuild's fresh
        generation) gets its secondary indexes later, from
        :meth:`build_indexes` once its tables are filled; a view resuming
        from a position gets them now (its handlers hold the whole tables in
        memory only when they start from empty ones, and may otherwise look
        rows up through an index)."""
        with self.database.transaction() as tx:
            positions.ensure_schema(tx)  # also serialises concurrent schema changes
            for view in self.views:
                applied = self.applied[view.name] = positions.position(tx, view.name, view.generation)
                for statement in view.schema() if indexes or applied else view.tables_schema():
                    tx.execute(statement)
                positions.alias_if_live(tx, view)

    def build_indexes(self) -> None:
        """Creates the views' secondary indexes that do not exist yet."""
        with self.database.transaction() as tx:
            for view in self.views:
                for statement in view.indexes_schema():
                    tx.execute(statement)

    @property
    def position(self) -> int:
        return min(self.applied.values()) if self.applied else 0

    def catch_up(self, until: int | None = None) -> int:
        """Applies every recorded event after the views' positions (up to
        ``until`` if given), a batch per transaction. Returns the position.

        While a batch is applied, the next page is read by a helper thread
        (the database does that work while this thread decodes and applies),
        and on PostgreSQL the previous batch is written and committed by
        another (``write_pipeline``): its server works while this thread
        applies. Returns once every batch has committed."""
        page = self._page(self.position, until)
        if not page:
            return self.position
        pipelined = self.database.dialect == "postgres"
        with (
            batch_collections() as after_batch,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="view-runner-read") as reader,
            WritePipeline(self.database) if pipelined else nullcontext() as pipeline,
        ):
            while page:
                last = _last_id(page)
                ahead = reader.submit(self._page, last, until) if len(page) == self.catch_up_batch_size else None
                try:
                    self.apply_batch(page, pipeline)
                except BaseException:
                    if ahead is not None:
                        ahead.cancel()
                    raise
                after_batch()
                if until is not None and last >= until:
                    break
                page = ahead.result() if ahead is not None else self._page(last, until)
        return self.position

    def _page(self, after: int, until: int | None) -> Sequence[Notification] | StatePage:
        if self._reads_state_pages:
            page = self.recorder.select_state_page(  # type: ignore[attr-defined]
                after, self.catch_up_batch_size, until, skip_topics=self._skipped_topics
            )
            if page is not None:
                return page
        return self._notifications(after, self.catch_up_batch_size, until)

    def _notifications(self, after: int, limit: int, until: int | None) -> Sequence[Notification]:
        return self.recorder.select_notifications(
            start=after, limit=limit, stop=until, inclusive_of_start=False, **self._page_options
        )

    def _wanted(self, topic: str) -> bool:
        """Whether any of the views may need events of ``topic`` (remembered
        per topic): a topic every view ignores is not decoded at all, as
        when a parallel rebuild's worker applies only some of the views."""
        wanted = self._wanted_topics.get(topic)
        if wanted is None:
            try:
                event_class = resolve_topic(topic)
            except Exception:  # decoding it names the event at fault
                wanted = True
            else:
                wanted = not all(type(view).ignores_class(event_class) for view in self.views)
            self._wanted_topics[topic] = wanted
            if not wanted:
                self._skipped_topics = (*self._skipped_topics, topic)
        return wanted

    def decode(self, page: Sequence[Notification] | StatePage) -> list[tuple[int, Any]]:
        """The batch's events, decoded once for all views (but those of
        topics that every view ignores)."""
        if isinstance(page, StatePage):
            try:
                pairs = self.decoder.decode_page(page)
            except Exception:
                pairs = None
            if pairs is None:  # event by event, to name the one at fault
                return self.decode(self._notifications(page.after, page.count, page.last_id))
            if all(map(self._wanted, set(page.topics))):
                return pairs
            return [(i, event) for (i, event), topic in zip(pairs, page.topics) if self._wanted(topic)]
        notifications = page
        unwanted = {topic for topic in {n.topic for n in notifications} if not self._wanted(topic)}
        if unwanted:
            notifications = [n for n in notifications if n.topic not in unwanted]
        try:
            decoded = self.decoder.decode_all(notifications)
        except Exception:
            decoded = []
            for notification in notifications:  # again one by one, to name the event at fault
                try:
                    decoded.append(self.mapper.to_domain_event(notification))
                except Exception as error:  # the mapper raises several kinds; all mean the same here
                    raise UndecodableEvent(notification, error) from error
        return [(notification.id, event) for notification, event in zip(notifications, decoded)]

    def apply_batch(self, notifications: Sequence[Notification] | StatePage, pipeline: WritePipeline | None = None) -> None:
        """Applies one batch in one transaction: committed here, or, with a
        ``pipeline``, handed to its writer (the views' positions and the
        progress move when it has committed)."""
        events = self.decode(notifications)
        last = _last_id(notifications)
        context = self.database.transaction() if pipeline is None else pipeline.batch()
        with context as tx:
            moved = []
            counted = []
            for view in self.views:
                applied = self.applied[view.name]
                if applied >= last:
                    continue
                todo = events if not events or events[0][0] > applied else [(i, e) for i, e in events if i > applied]
                started = time.perf_counter()
                view.begin(tx, todo)
                view.apply_all(tx, todo)
                view.flush(tx)
                seconds, count = self.work[view.name]
                self.work[view.name] = (seconds + time.perf_counter() - started, count + len(todo))
                moved.append((view.name, view.generation, last))
                counted.append((view.name, len(todo)))
            positions.record_positions(tx, moved)  # in the same transaction as the rows
            self.database.announce_change(tx)

        def committed() -> None:
            for view in self.views:
                self.applied[view.name] = max(self.applied[view.name], last)
            runner_metrics.count_batch(counted)
            if self.on_batch is not None:
                self.on_batch(len(notifications), last)

        if pipeline is None:
            committed()
        else:
            pipeline.submit(tx, committed)  # type: ignore[arg-type]

    def follow(self, stop: threading.Event, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Applies new events as they are recorded until ``stop`` is set (or
        ``should_stop()``, asked when idle, says so: e.g. a rebuild switched
        the live generation and the runner must rebind).

        The subscription feeds a queue from its own thread; this thread takes
        whatever has arrived (up to a batch) and applies it in one transaction.
        """
        arrivals: queue.Queue[Notification | BaseException] = queue.Queue()
        subscription = self.recorder.subscribe(gt=self.position)

        def feed() -> None:
            try:
                for notification in subscription:
                    arrivals.put(notification)
            except BaseException as error:  # handed to the applying thread, which re-raises it
                arrivals.put(error)

        feeder = threading.Thread(target=feed, name="view-runner-subscription", daemon=True)
        feeder.start()
        try:
            while not stop.is_set():
                try:
                    first = arrivals.get(timeout=0.2)
                except queue.Empty:
                    if should_stop():
                        return
                    # A wake-up lost by a store's subscription must not
                    # leave the view behind: when idle, look at the head.
                    head = self.recorder.max_notification_id() or 0
                    if head > self.position:
                        self.catch_up(until=head)
                    continue
                batch = [first]
                while len(batch) < self.batch_size:
                    try:
                        batch.append(arrivals.get_nowait())
                    except queue.Empty:
                        break
                errors = [item for item in batch if isinstance(item, BaseException)]
                # after an idle catch-up the subscription still delivers what
                # was applied then: skip what the views already have
                notifications = [n for n in batch if isinstance(n, Notification) and n.id > self.position]
                if notifications:
                    self.apply_batch(notifications)
                if errors:
                    raise errors[0]
        finally:
            subscription.stop()
            feeder.join(timeout=5)

    def run(self, stop: threading.Event) -> None:
        """The runner's whole life: lock, prepare, catch up, follow."""
        self.acquire()
        try:
            self.prepare()
            self.catch_up()
            self.follow(stop)
        finally:
            self.release()
