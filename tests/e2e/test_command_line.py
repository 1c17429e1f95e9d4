"""The ``contractledger`` command and the scripts over it, run as a user runs
them: ``--help`` prints the help and exits 0 at once, starting nothing (no
process, no store opened, nothing written); a bad setting stops a command
with one sentence naming it and exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTLEDGER = Path(sys.executable).parent / "contractledger"
STORE_KEYS = ("POSTGRES_", "SQLITE_", "PERSISTENCE_")
UNREACHABLE_STORE = {
    "PERSISTENCE_MODULE": "contractledger.store.postgres",
    "POSTGRES_HOST": "no-such-host.invalid",
    "POSTGRES_PORT": "5432",
    "POSTGRES_DBNAME": "contractledger",
    "POSTGRES_USER": "ledger",
    "POSTGRES_PASSWORD": "secret",
}
STARTS_NOTHING = '''\
"""Loaded at start-up by every Python process of the test (PYTHONPATH): any
step towards starting something ends the process at once, exit status 97."""
import os
import sys

SPAWNS = {"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system",
          "pty.spawn"}
REACHES_OUT = {"socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname", "sqlite3.connect",
               "sqlite3.connect/handle", "os.mkdir", "os.rename", "os.remove", "shutil.rmtree", "tempfile.mkdtemp",
               "tempfile.mkstemp"}
WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def refuse(event, args):
    if event == "socket.bind" and args[1] == ("::1", 0):
        return  # urllib3's probe, on import, of whether IPv6 works: bound to no port and closed, nothing served
    writes = event == "open" and isinstance(args[2], int) and args[2] & WRITES and args[0] not in (0, 1, 2)
    if event in SPAWNS or event in REACHES_OUT or writes:
        os.write(2, f"STARTED SOMETHING: {event} {args!r}\\n".encode())
        os._exit(97)


sys.addaudithook(refuse)
'''


def quiet_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a user's shell with the given store settings, and the
    hook that ends a Python process the moment it would start something."""
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(STARTS_NOTHING)
    env = {k: v for k, v in os.environ.items() if not k.startswith(STORE_KEYS)}
    return {**env, **settings, "PYTHONPATH": str(hooks), "PYTHONDONTWRITEBYTECODE": "1"}


def run(command: list[str], env: dict[str, str], cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def every_help() -> list[list[str]]:
    from contractledger.runtime import command_line

    found = [["--help"]]
    for subcommand in command_line.SUBCOMMANDS:
        parser = subcommand.load().parser()
        found.append([subcommand.name, "--help"])
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found += [[subcommand.name, verb, "--help"] for verb in action.choices]
    return found


def test_without_help_the_same_commands_reach_for_the_store_and_are_stopped(tmp_path: Path) -> None:
    """Positive controls for the test below: on the SQLite default, serve opens its
    file and the hook ends it; on the unreachable PostgreSQL, it says so and exits 2."""
    empty = tmp_path / "empty"
    empty.mkdir()
    on_sqlite = run([str(CONTRACTLEDGER), "serve"], quiet_env(tmp_path), empty)
    assert on_sqlite.returncode == 97, on_sqlite.stderr
    assert "STARTED SOMETHING" in on_sqlite.stderr
    on_postgres = run([str(CONTRACTLEDGER), "serve"], quiet_env(tmp_path, **UNREACHABLE_STORE), empty)
    assert on_postgres.returncode == 2, on_postgres.stderr
    assert "no-such-host.invalid" in on_postgres.stderr


def test_every_help_exits_0_at_once_starting_nothing_and_writing_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = quiet_env(tmp_path, **UNREACHABLE_STORE)
    invocations = every_help()
    began = time.monotonic()
    processes = [
        (words, subprocess.Popen([str(CONTRACTLEDGER), *words], env=env, cwd=empty, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for words in invocations
    ]
    wrong = []
    for words, process in processes:
        out, err = process.communicate(timeout=60)
        prog = " ".join(["contractledger", *words[:-1]])
        if process.returncode != 0 or not out.startswith(f"usage: {prog} ") or "exit status:" not in out or err:
            wrong.append(f"{' '.join(words)}: exit status {process.returncode}, {err.strip() or out[:200]!r}")
    assert wrong == []
    assert len(invocations) == 16
    assert time.monotonic() - began < 30  # at once: nothing waited for a store
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("script", ["serve", "tokens", "verify-ledger", "export-history", "rebuild-views", "reconcile",
                                    "sync-deliver", "race-loop"])
def test_each_script_is_the_command_and_its_help_starts_nothing(script: str, tmp_path: Path) -> None:
    env = quiet_env(tmp_path, **UNREACHABLE_STORE)
    env.pop("POSTGRES_HOST")  # scripts/race-loop starts a throwaway server when none is named, unless asked for help
    helped = run([str(ROOT / "scripts" / script), "--help"], env, tmp_path)
    assert (helped.returncode, helped.stderr) == (0, "")
    assert helped.stdout.startswith(f"usage: contractledger {script} ")
    assert "exit status:" in helped.stdout


def fake_postgres_tools(folder: Path) -> Path:
    """Stand-ins, first on PATH, for what scripts/with-postgres starts a server
    with: each leaves a mark that it was called."""
    folder.mkdir()
    for tool in ("mktemp", "initdb", "pg_ctl", "psql", "su", "sudo", "apt-get", "python3"):
        (folder / tool).write_text(f"#!/bin/sh\necho {tool} >> {folder}/called\nexit 1\n")
        (folder / tool).chmod(0o755)
    return folder


@pytest.mark.parametrize("asking", ["--help", "-h"])
def test_with_postgres_help_prints_its_usage_and_starts_no_server(asking: str, tmp_path: Path) -> None:
    tools = fake_postgres_tools(tmp_path / "tools")
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"}
    helped = run([str(ROOT / "scripts" / "with-postgres"), asking], env, tmp_path)
    assert (helped.returncode, helped.stderr) == (0, "")
    assert helped.stdout.startswith("usage: scripts/with-postgres COMMAND [ARGS...]")
    assert "exit status:" in helped.stdout
    assert not (tools / "called").exists()


def test_with_postgres_without_a_command_prints_its_usage_and_exits_2(tmp_path: Path) -> None:
    tools = fake_postgres_tools(tmp_path / "tools")
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"}
    refused = run([str(ROOT / "scripts" / "with-postgres")], env, tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith("usage: scripts/with-postgres COMMAND [ARGS...]")
    assert not (tools / "called").exists()


def test_serve_hands_gunicorn_only_the_options_after_a_double_dash(tmp_path: Path) -> None:
    refused = run([str(CONTRACTLEDGER), "serve", "--timeout", "60"], quiet_env(tmp_path, **UNREACHABLE_STORE), tmp_path)
    assert refused.returncode == 2
    assert "contractledger serve: error: unrecognized arguments: --timeout 60 (options for gunicorn go after --" in refused.stderr


TOOLS = sorted(
    path.name for path in (ROOT / "scripts").iterdir()
    if path.name not in {"setup", "test", "ensure-chromium", "with-postgres", "serve", "tokens", "verify-ledger",
                         "export-history", "rebuild-views", "reconcile", "sync-deliver", "race-loop"}
)


@pytest.mark.parametrize("script", TOOLS)
def test_every_other_script_answers_help_with_its_usage_and_runs_nothing(script: str, tmp_path: Path) -> None:
    """The benchmarks, the drills and the recorders: ``--help`` prints their usage at once, and nothing they
    make (a ledger, a served app, the API's recorded examples) is made."""
    examples = ROOT / "http" / "api_examples.json"
    before = examples.stat().st_mtime_ns
    began = time.monotonic()
    helped = run([str(ROOT / "scripts" / script), "--help"], quiet_env(tmp_path), tmp_path)
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert helped.stdout.startswith("usage: "), helped.stdout[:300]
    assert examples.stat().st_mtime_ns == before
    assert time.monotonic() - began < 30
