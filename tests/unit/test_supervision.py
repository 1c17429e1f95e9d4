"""The serve command's supervisor, driving real child processes: one that dies
is restarted with back-off and counted, one that keeps dying stops the
service with one sentence naming it, and killing the supervisor itself
takes its children with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from contractledger.runtime.supervision import STATE_FILE, read_state

DRIVER = textwrap.dedent(
    """
    import json, sys
    from contractledger.runtime import supervision
    supervision.FIRST_BACKOFF_SECONDS = 0.05
    supervision.LONGEST_BACKOFF_SECONDS = 0.2
    specs = [supervision.ChildSpec(name, key, command) for name, key, command in json.loads(sys.argv[2])]
    sys.exit(supervision.Supervisor(specs, dict(__import__("os").environ), sys.argv[1]).run())
    """
)


def supervise(state: Path, *children: tuple[str, str, list[str]]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(state), json.dumps(children)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def wait_until(condition, seconds: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_child_that_dies_is_restarted_with_its_restarts_counted_while_the_others_run(tmp_path: Path) -> None:
    marker = tmp_path / "runs"
    dies_twice = python(
        f"import pathlib, sys, time; p = pathlib.Path({str(marker)!r}); n = len(p.read_text()) if p.exists() else 0; "
        "p.write_text('x' * (n + 1)); sys.exit(1) if n < 2 else time.sleep(60)"
    )
    steady = python("import time; time.sleep(60)")
    process = supervise(tmp_path, ("the views runner", "views_runner", dies_twice), ("gunicorn", "http", steady))
    try:
        wait_until(lambda: (read_state(str(tmp_path)) or {}).get("views_runner", {}).get("restarts") == 2)
        wait_until(lambda: read_state(str(tmp_path))["views_runner"]["running"])
        state = read_state(str(tmp_path))
        assert state["views_runner"]["last_exit"] == "exit status 1"
        assert state["http"] == {"name": "gunicorn", "running": True, "pid": state["http"]["pid"], "restarts": 0, "last_exit": None}
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    restarts = [line for line in err.splitlines() if "restarting it in" in line]
    assert len(restarts) == 2 and restarts[0].startswith("contractledger: the views runner stopped (exit status 1)")
    assert not read_state(str(tmp_path))["views_runner"]["running"]


def test_a_child_failing_again_and_again_stops_the_service_with_one_sentence_naming_it(tmp_path: Path) -> None:
    always_fails = python("import sys; print('cannot reach the widget store', file=sys.stderr); sys.exit(3)")
    process = supervise(tmp_path, ("the sync delivery worker", "delivery_worker", always_fails), ("gunicorn", "http", python("import time; time.sleep(60)")))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("contractledger: the sync delivery worker failed 5 times within 60 s (exit status 3")
    assert "cannot reach the widget store" in last and last.endswith("stopped the service.")
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["http"]["running"] is False  # the others were stopped too


def test_what_a_child_last_said_in_a_json_log_line_is_named_by_its_message(tmp_path: Path) -> None:
    line = json.dumps({"level": "ERROR", "role": "delivery_worker", "message": "cannot reach the widget store"})
    always_fails = python(f"import sys; print({line!r}, file=sys.stderr); sys.exit(3)")
    process = supervise(tmp_path, ("the sync delivery worker", "delivery_worker", always_fails))
    _, err = process.communicate(timeout=60)
    last = err.strip().splitlines()[-1]
    assert process.returncode == 1
    assert last.endswith("(exit status 3: cannot reach the widget store); stopped the service."), last


def test_killing_the_supervisor_ends_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    child = python(f"import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(60)")
    process = supervise(tmp_path, ("the views runner", "views_runner", child))
    try:
        wait_until(pid_file.exists)
        child_pid = int(pid_file.read_text())
        process.kill()
        process.wait(timeout=10)
        wait_until(lambda: not _running(child_pid), 10)
    finally:
        process.kill()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False
    finally:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def test_a_killed_service_s_metrics_folder_is_removed_by_the_next_serve(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    from contractledger.runtime import serve

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{serve.METRICS_PREFIX}{ended.stdout.strip()}-abc"
    alive = tmp_path / f"{serve.METRICS_PREFIX}{os.getppid()}-def"
    for folder in (stale, alive):
        folder.mkdir()
        (folder / "worker-1.json").write_text("{}")
    made = serve.make_metrics_directory()
    assert not stale.exists() and alive.exists()
    assert Path(made).name.startswith(f"{serve.METRICS_PREFIX}{os.getpid()}-")
