"""Writers to one SQLite file take turns in a queue the kernel keeps.

SQLite has one write lock per file. A writer that finds it taken waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25 ... 100 ms
between looks: under a steady load of commands from several gunicorn
workers, a writer sleeps on long after the lock was let go, so throughput
falls below one writer's and the slowest commands wait hundreds of
milliseconds. Here every writing transaction first takes an exclusive
``flock`` on a file beside the database (``<file>.writers``): the kernel
wakes a waiter the moment the holder lets go (or dies: a killed process
holds nothing), so SQLite's own lock is then free at once. Threads of one
process queue on a lock of their own first (``flock`` does not exclude two
holders of the same open file), one per file in a process
(:func:`writer_queue_for`), so that a thread that writes while it already
has its turn (two ledgers on one file, nested) goes on as before instead of
waiting for itself.

The queue only orders writers; SQLite's lock still decides what is safe. A
file whose lock file cannot be made (a read-only folder) is written without
the queue, as before. A process forked while holding no turn opens its own
lock file (an inherited one would share its parent's turn).
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager


class WriterQueue:
    def __init__(self, database_path: str) -> None:
        self.path = f"{database_path}.writers"
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid: int | None = None
        self._usable = True

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._threads:
            fd = self._file()
            first = self._depth == 0
            if fd is not None and first:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if fd is not None and first:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self) -> int | None:
        if self._pid != os.getpid():  # new, or inherited over a fork: open this process's own
            self._fd, self._pid = None, os.getpid()
            if self._usable:
                try:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                except OSError:
                    self._usable = False
        return self._fd

    def __del__(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)


_queues: weakref.WeakValueDictionary[str, WriterQueue] = weakref.WeakValueDictionary()
_queues_lock = threading.Lock()


def writer_queue_for(database_path: str) -> WriterQueue:
    """The one queue for a file in this process, shared by all its datastores."""
    key = os.path.realpath(database_path)
    with _queues_lock:
        queue = _queues.get(key)
        if queue is None:
            queue = WriterQueue(key)
            _queues[key] = queue
        return queue
