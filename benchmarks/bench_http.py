"""``scripts/bench-http``: real HTTP load (wrk) against the served ledger on
loopback, beside a bare falcon app with one trivial JSON route under the
same gunicorn settings.

In one run, at 32 connections each, on each store (SQLite, and PostgreSQL
when ``POSTGRES_*`` is set, as ``scripts/bench-http`` does beside a throwaway
server; over TCP, and over the server's Unix socket when ``POSTGRES_SOCKET_DIR``
names it, as an application on the database's own host connects): GET one contract's status, GET a page of a 1,000-event contract's
history, POST a status change (spread over 64 pending contracts, moving each
between two holds); and GET the bare app's route. Each reports requests/s,
p50 and p99, and the share of answers that were not 2xx, in one table.
Targets (issues 5 and 12), on each store: status reads at 0.5x or more of
the bare app's requests/s with p99 under 25 ms; history page p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import falcon

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import SystemClock
from contractledger.domain.ledger import ContractLedger
from contractledger.runtime.serve import gunicorn_arguments
from contractledger.store.settings import Settings
from contractledger.http.tokens import TokenRegistry
from contractledger.projections.engine.view_database import view_database_for

CONNECTIONS = 32
HOLDS = ("pending_backgrounds", "pending_new_business")
STATUS_CHANGE_LUA = """
local contracts = {%(contracts)s}
local holds = {"pending_backgrounds", "pending_new_business"}
local counter = 0
local offset = 0
local id = 0
setup = function(thread) thread:set("offset", id); id = id + 1 end
init = function(args) offset = tonumber(wrk.thread:get("offset")) or 0 end
request = function()
  counter = counter + 1
  local n = counter * 2 + offset
  local contract = contracts[(n %% #contracts) + 1]
  local hold = holds[(math.floor(n / #contracts) %% 2) + 1]
  return wrk.format("POST", "/contracts/" .. contract .. "/set-manual-status",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"},
    '{"status": "' .. hold .. '"}')
end
"""


class Hello:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"hello": "world"}


def bare_app() -> falcon.App:
    """The yardstick: falcon with one trivial JSON route, nothing else."""
    app = falcon.App()
    app.add_route("/hello", Hello())
    return app


STORE_KEYS = ("POSTGRES_", "SQLITE_", "PERSISTENCE_")


def store_env(store: str, directory: Path) -> dict[str, str]:
    """The settings the served ledger runs with: a new SQLite file, or a new PostgreSQL schema."""
    (directory / "var").mkdir(parents=True, exist_ok=True)
    if store == "sqlite":
        return {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": str(directory / "var" / "contractledger.sqlite3")}
    keys = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD")
    env = {
        "PERSISTENCE_MODULE": "contractledger.store.postgres",
        **{k: os.environ[k] for k in keys},
        "POSTGRES_SCHEMA": f"bench_http_{os.getpid()}_{int(time.time())}",
    }
    if store == "postgres-socket":  # libpq reads a host that is a directory as the socket's
        env["POSTGRES_HOST"] = os.environ["POSTGRES_SOCKET_DIR"]
    return env


def seed_parties(env: dict[str, str], contracts: int) -> tuple[str, list[object]]:
    """A carrier and ``contracts`` advisors each with a contract from it (pending with the
    producer); a carrier staff token for them."""
    ledger = ContractLedger(env)
    system = Actor.system()
    carrier = ledger.register_party(system, "carrier", {"name": "Northern Life"})
    staff = Actor(Role.CARRIER_STAFF, "bench", carrier)
    contract_ids: list[object] = []
    for number in range(contracts):
        advisor = ledger.register_party(system, "advisor", {"name": f"Advisor {number}"}, advisor_kind="individual")
        contract_ids += ledger.assign_contracts(staff, [[carrier, advisor]], "producer")["contract_ids"]
    views = view_database_for(env)
    tokens = TokenRegistry(views, SystemClock(), ledger)
    tokens.ensure_schema()
    token = tokens.issue(staff, timedelta(days=1)).secret
    views.close()
    ledger.close()
    return token, contract_ids


def seed(env: dict[str, str]) -> dict[str, object]:
    ledger = ContractLedger(env)
    system = Actor.system()

    def register(kind: str, name: str, **options: str):  # noqa: ANN202 - a UUID
        return ledger.register_party(system, kind, {"name": name}, **options)

    carrier, mga = register("carrier", "Northern Life"), register("agency", "Summit MGA", level="MGA")
    relationship = ledger.establish_direct_relationship(system, carrier, mga)
    ledger.set_manual_status(system, relationship, "active")
    admin = Actor(Role.AGENCY_ADMIN, "mike", mga)
    contracts = []
    for n in range(66):
        advisor = register("advisor", f"Advisor {n}", advisor_kind="individual")
        contracts += ledger.assign_contracts(admin, [[carrier, mga, advisor]], "agency_admin")["contract_ids"]
    read, long_history, changing = contracts[0], contracts[1], contracts[2:]
    for n in range(999):
        ledger.add_writing_number(admin, long_history, f"WN-{n:04d}")
    for contract in changing:
        ledger.set_manual_status(admin, contract, HOLDS[1])
    views = view_database_for(env)
    tokens = TokenRegistry(views, SystemClock(), ledger)
    tokens.ensure_schema()
    token = tokens.issue(admin, timedelta(days=1)).secret
    views.close()
    ledger.close()
    return {"read": read, "long_history": long_history, "changing": changing, "token": token}


def start(arguments: list[str], directory: Path, env: dict[str, str], serve: bool) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "contractledger.runtime.serve"] if serve else [sys.executable, "-m", "gunicorn", *arguments]
    return subprocess.Popen(command, cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until(url: str, token: str | None = None, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 within {seconds:.0f} s")
        time.sleep(0.2)


def wait_until_settled(server: int, seconds: float = 30.0) -> None:
    """Waits until the service's processes are quiet (under 5% of a core for a second): /ready answers
    from the first worker that booted, while the others may still be importing the app, and a run
    measured then counts their boot as serving time (its first seconds served half as many reads)."""
    deadline = time.monotonic() + seconds
    used = _tree_seconds(server)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = _tree_seconds(server)
        if now - used < 0.05:
            return
        used = now
    raise RuntimeError(f"the service was still busy {seconds:.0f} s after it was ready")


def _busy_seconds() -> float:
    """CPU time the whole machine spent busy since boot (all cores)."""
    with open("/proc/stat") as stat:
        user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _tree_seconds(root: int) -> float:
    """CPU time used by ``root`` and its living descendants (the server's processes)."""
    parents: dict[int, tuple[int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, grown = {root}, True
    while grown:
        grown = False
        for pid, (parent, _) in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grown = True
    return sum(parents[pid][1] for pid in tree if pid in parents)


def wrk(
    url: str, seconds: int, token: str | None = None, script: str | None = None, server: int | None = None
) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    if script:
        command[1:1] = ["-s", script]
    # The machine is shared: the CPU that neither the server nor wrk used during the run
    # is other programs' (a run they took much of is not comparable with one they did not).
    busy, ours, children = _busy_seconds(), _tree_seconds(server or os.getpid()), os.times()
    started = time.monotonic()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed, now = time.monotonic() - started, os.times()
    wrk_seconds = now.children_user + now.children_system - children.children_user - children.children_system
    others = (_busy_seconds() - busy) - (_tree_seconds(server or os.getpid()) - ours) - wrk_seconds
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "not_2xx": (int(bad.group(1)) if bad else 0) / max(total, 1),
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "others_cpu": max(0.0, others) / (elapsed * (os.cpu_count() or 1)),
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench-http", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="load per workload (default 10)")
    parser.add_argument("--workers", default=os.environ.get("CONTRACTLEDGER_WORKERS", ""), help="gunicorn workers")
    parser.add_argument(
        "--store", choices=("sqlite", "postgres", "postgres-socket"), action="append",
        help="the stores to serve on (default: every one available; PostgreSQL needs POSTGRES_*, and its socket"
        " POSTGRES_SOCKET_DIR, which scripts/bench-http sets)",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench-http: wrk is missing; install it with 'apt-get install wrk'", file=sys.stderr)
        return 2
    stores = args.store or [
        "sqlite", *(["postgres"] if os.environ.get("POSTGRES_HOST") else []),
        *(["postgres-socket"] if os.environ.get("POSTGRES_SOCKET_DIR") else []),
    ]
    if any(s.startswith("postgres") for s in stores) and not os.environ.get("POSTGRES_HOST"):
        print("bench-http: PostgreSQL needs POSTGRES_* (run it through scripts/bench-http)", file=sys.stderr)
        return 2
    if "postgres-socket" in stores and not os.environ.get("POSTGRES_SOCKET_DIR"):
        print("bench-http: postgres-socket needs POSTGRES_SOCKET_DIR (run it through scripts/bench-http)", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="bench-http-"))
    port = _free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(STORE_KEYS)}
    base_env.update(CONTRACTLEDGER_BIND=f"127.0.0.1:{port}")
    if args.workers:
        base_env["CONTRACTLEDGER_WORKERS"] = args.workers
    arguments = gunicorn_arguments(Settings.read(base_env))
    base = f"http://127.0.0.1:{port}"
    results: dict[tuple[str, str], dict[str, float]] = {}
    for store in stores:
        env = {**base_env, **store_env(store, directory / store)}
        print(f"seeding {store}: 66 contracts, one with 1,000 events ...", file=sys.stderr)
        seeded = seed(env)
        token = str(seeded["token"])
        served = start(arguments, directory / store, env, serve=True)
        try:
            wait_until(f"{base}/ready", token)
            wait_until_settled(served.pid)
            results[(store, "contract status")] = wrk(f"{base}/contracts/{seeded['read']}", args.seconds, token, server=served.pid)
            results[(store, "history page (1,000 events)")] = wrk(
                f"{base}/contracts/{seeded['long_history']}/history?limit=100", args.seconds, token, server=served.pid
            )
            script = directory / store / "status_change.lua"
            script.write_text(
                STATUS_CHANGE_LUA % {"contracts": ", ".join(f'"{c}"' for c in seeded["changing"]), "token": token}
            )
            results[(store, "status change (POST)")] = wrk(f"{base}/", args.seconds, script=str(script), server=served.pid)
        finally:
            served.terminate()
            served.wait(timeout=60)
    bare_arguments = arguments[:-1] + ["--pythonpath", os.path.dirname(os.path.abspath(__file__)), "bench_http:bare_app()"]
    bare = start(bare_arguments, directory, base_env, serve=False)
    try:
        wait_until(f"{base}/hello")
        wait_until_settled(bare.pid)
        results[("-", "bare falcon app")] = wrk(f"{base}/hello", args.seconds, server=bare.pid)
    finally:
        bare.terminate()
        bare.wait(timeout=60)
    workers = arguments[arguments.index("--workers") + 1]
    threads = arguments[arguments.index("--threads") + 1]
    print(f"\n{CONNECTIONS} connections, gunicorn --workers {workers} --threads {threads}, {args.seconds} s each; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}\n")
    print(f"{'store':15} {'workload':30} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'not 2xx':>8} {'others':>7}")
    for (store, name), r in results.items():
        print(f"{store:15} {name:30} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['not_2xx']:8.1%} {r['others_cpu']:7.0%}")
    print("(others: the share of the machine's CPU that neither the server nor wrk used while the workload ran,\n"
          " i.e. other programs and some kernel work; runs where it is large are not comparable)")
    bare_result = results[("-", "bare falcon app")]
    for store in stores:
        status, history = results[(store, "contract status")], results[(store, "history page (1,000 events)")]
        ratio = status["rps"] / bare_result["rps"]
        print(
            f"\n{store}: status reads {ratio:.2f}x the bare app (target >= 0.5x): {'met' if ratio >= 0.5 else 'MISSED'}; "
            f"p99 {status['p99']:.1f} ms (target < 25): {'met' if status['p99'] < 25 else 'MISSED'}; "
            f"history page p99 {history['p99']:.1f} ms (target < 50): {'met' if history['p99'] < 50 else 'MISSED'}"
        )
    shutil.rmtree(directory, ignore_errors=True)
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
