"""Live subscription to the ledger in an SQLite file.

SQLite has no LISTEN/NOTIFY. A subscriber wakes when a writer in this process
commits (a condition signalled after each commit of events), and otherwise
every poll interval (20 ms by default), when it asks the file for anything
newer than what it has scanned. So an event written in this process reaches a
waiting subscriber at once, and one written by another process within about
one poll interval.

Nothing is skipped and nothing is delivered twice: writers commit notification
ids in increasing order (see :mod:`contractledger.store.sqlite.datastore`), so
everything up to the largest id a read sees is already visible to that read,
and the subscriber resumes strictly after the last id it scanned.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from eventsourcing.persistence import Notification, Subscription

if TYPE_CHECKING:
    from contractledger.store.sqlite.recorders import SQLiteLedgerApplicationRecorder


class SQLiteLedgerSubscription(Subscription["SQLiteLedgerApplicationRecorder"]):
    """Iterates over notifications after ``gt``, blocking for new ones until stopped.

    Iteration happens in the caller's thread; :meth:`stop` may be called from
    any thread, and wakes a blocked iterator, which then ends.
    """

    page_size = 500
    """Notifications fetched per read."""

    def __init__(
        self,
        recorder: SQLiteLedgerApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._scanned_to = gt or 0
        self._pending: deque[Notification] = deque()
        self._signal = recorder.datastore.commit_signal
        self._poll_interval = recorder.datastore.poll_interval

    def stop(self) -> None:
        with self._signal.condition:
            super().stop()
            self._signal.condition.notify_all()

    def __next__(self) -> Notification:
        while not self._has_been_stopped:
            if self._pending:
                notification = self._pending.popleft()
                self._last_notification_id = notification.id
                return notification
            # Read the commit count before looking, so a commit that lands
            # between the look and the wait still wakes us.
            seen = self._signal.commits
            notifications, self._scanned_to = self._recorder.scan_notifications(
                after=self._scanned_to, limit=self.page_size, topics=self._topics
            )
            self._pending.extend(notifications)
            if not self._pending:
                self._signal.wait(seen, self._poll_interval, lambda: self._has_been_stopped)
        raise StopIteration
