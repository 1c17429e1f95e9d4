"""Keeping the service's processes running: gunicorn, the views runner and the
sync delivery worker, side by side, each restarted when it dies.

A child that ends by itself (a crash, a kill, a store it lost) is started
again after a back-off (half a second, doubling to ten), while the others
keep serving; each restart is logged in one line and recorded in the state
file (``processes.json`` in the service's metrics folder) that ``/ready`` and
``/metrics`` read. A child that stays up for ``STEADY_SECONDS`` has its
back-off reset. Only a child failing ``FAILURES_ALLOWED`` times within
``FAILURE_WINDOW_SECONDS`` stops the service, with one sentence naming it
and the last thing it said.

Every child is started with the parent-death signal set (Linux
``PR_SET_PDEATHSIG``): when the supervisor itself is killed, its children
end too, so a new ``serve`` finds the port and the views' locks free.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from prometheus_client.multiprocess import mark_process_dead

log = logging.getLogger("contractledger.supervision")
STATE_FILE = "processes.json"
FIRST_BACKOFF_SECONDS = 0.5
LONGEST_BACKOFF_SECONDS = 10.0
STEADY_SECONDS = 30.0
FAILURES_ALLOWED = 5
FAILURE_WINDOW_SECONDS = 60.0
STOP_GRACE_SECONDS = 20.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ChildSpec:
    name: str
    """What the operator reads: "the views runner"."""
    key: str
    """The label in /metrics and /ready: "views_runner"."""
    command: Sequence[str]
    death_signal: int = signal.SIGTERM
    """What the child gets when the supervisor dies."""


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures: deque[float] = field(default_factory=deque)
    last_exit: str | None = None
    restart_at: float | None = None
    last_words: deque[bytes] = field(default_factory=lambda: deque(maxlen=5))  # its last lines, as written

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _death_signal_setter(signum: int) -> Callable[[], None] | None:
    """A pre-exec function that asks the kernel to send ``signum`` to the child
    when its parent dies (resolved before the fork: nothing is loaded in the child)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signum)

    return set_death_signal


def _message_of(line: str) -> str:
    """What a child's log line says: its message when it is one of our JSON lines."""
    if line.startswith("{"):
        try:
            said = json.loads(line)
        except ValueError:
            return line
        if isinstance(said, dict) and isinstance(said.get("message"), str):
            return said["message"]
    return line


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


class Supervisor:
    """Runs the children until asked to stop, restarting any that dies."""

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        env: dict[str, str],
        state_directory: str,
        err: IO[str] = sys.stderr,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = [Child(spec) for spec in specs]
        self.env = env
        self.state_directory = state_directory
        self.err = err
        self.clock = clock
        self._asked_to_stop: list[int] = []
        self._err_lock = threading.Lock()

    # -- the loop ------------------------------------------------------------------

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: self._asked_to_stop.append(signum))
        for child in self.children:
            self._start(child)
        self._write_state()
        log.info("started %s", ", ".join(f"{c.spec.name} (pid {c.process.pid})" for c in self.children if c.process))
        gave_up: Child | None = None
        while not self._asked_to_stop and gave_up is None:
            time.sleep(0.1)
            gave_up = self._tend()
        self._stop_all()
        self._write_state()
        if gave_up is not None:
            last = f": {_message_of(gave_up.last_words[-1].decode(errors='replace').strip())}" if gave_up.last_words else ""
            self._say(
                logging.ERROR,
                f"contractledger: {gave_up.spec.name} failed {len(gave_up.failures)} times within "
                f"{FAILURE_WINDOW_SECONDS:g} s ({gave_up.last_exit}{last}); stopped the service."
            )
            return 1
        return 0

    def _tend(self) -> Child | None:
        """One look at every child: note deaths, restart those whose back-off is over."""
        now = self.clock()
        changed = False
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                returncode = child.process.returncode
                mark_process_dead(child.process.pid, self.state_directory)  # its live gauges; its counts stay
                child.process = None
                child.last_exit = describe_exit(returncode)
                if now - child.started_at >= STEADY_SECONDS:
                    child.failures.clear()
                child.failures.append(now)
                while child.failures and now - child.failures[0] > FAILURE_WINDOW_SECONDS:
                    child.failures.popleft()
                if len(child.failures) >= FAILURES_ALLOWED:
                    return child
                delay = min(LONGEST_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** (len(child.failures) - 1))
                child.restart_at = now + delay
                self._say(
                    logging.WARNING,
                    f"contractledger: {child.spec.name} stopped ({child.last_exit}); "
                    f"restarting it in {delay:g} s (restart {child.restarts + 1})."
                )
                changed = True
            elif child.process is None and child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                child.restarts += 1
                self._start(child)
                changed = True
        if changed:
            self._write_state()
        return None

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            list(child.spec.command),
            env=self.env,
            stderr=subprocess.PIPE,
            preexec_fn=_death_signal_setter(child.spec.death_signal),
        )
        child.started_at = self.clock()
        threading.Thread(target=self._relay, args=(child, child.process), daemon=True).start()

    def _relay(self, child: Child, process: subprocess.Popen[bytes]) -> None:
        """Passes the child's standard error on, remembering its last lines (the "why" of a failure)."""
        assert process.stderr is not None
        # every request's log line comes this way: passed on as bytes, read only if the child fails
        out = getattr(self.err, "buffer", None)
        for raw in process.stderr:
            if raw.strip():
                child.last_words.append(raw)
            line = raw if raw.endswith(b"\n") else raw + b"\n"
            with self._err_lock:
                if out is not None:
                    out.write(line)
                    out.flush()
                else:
                    self.err.write(line.decode(errors="replace"))
                    self.err.flush()

    def _stop_all(self) -> None:
        for child in self.children:
            if child.running:
                assert child.process is not None
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()

    def _say(self, level: int, sentence: str) -> None:
        """One line of the supervisor's own, in the service's log format (serve configures it)."""
        with self._err_lock:
            log.log(level, sentence)

    # -- what /ready and /metrics read ---------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            child.spec.key: {
                "name": child.spec.name,
                "running": child.running,
                "pid": child.process.pid if child.running and child.process is not None else None,
                "restarts": child.restarts,
                "last_exit": child.last_exit,
            }
            for child in self.children
        }

    def _write_state(self) -> None:
        write_state(self.state_directory, self.state())


def write_state(directory: str, state: dict[str, Any]) -> None:
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".processes-")
    with os.fdopen(handle, "w") as file:
        json.dump(state, file)
    os.replace(temporary, os.path.join(directory, STATE_FILE))


def read_state(directory: str | None) -> dict[str, Any] | None:
    """The supervised processes as the supervisor last wrote them (None: not supervised)."""
    if not directory:
        return None
    try:
        with open(os.path.join(directory, STATE_FILE)) as file:
            state = json.load(file)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None
