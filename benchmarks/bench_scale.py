"""The read side at scale: every list route, the dashboard and a command, on a small and a big book.

    python benchmarks/bench_scale.py [--small 2500] [--large 250000] [--seconds 5] [--store sqlite|postgres]
    (scripts/bench-scale, which starts a throwaway PostgreSQL)

For each store, two ledgers from the same generator and seed (``bulk_load.fill``:
the workload's contracting work through the ledger's rules), one of
``--small`` contracts and one of ``--large``, each served as ``serve`` serves
(gunicorn, the views runner, the delivery worker) once the views have caught
up. Then, at 32 connections (wrk), for the same four viewers on both books
(an auditor; the agency admin, the carrier and the advisor with the most
contracts), each list route's first page (limit 50), its page after a cursor
taken from the first, the dashboard's counts and stage clock, and a POST status
change; each console page, read by one browser (one connection) as each
viewer (the sync page as an operator); and a worker's resident memory after the run. Reported beside each
other: p50 and p99 per route and viewer on each book, the ratio large/small of
the p99 (target at most 1.5) and the large p99 (target under 25 ms); each
console page's p99 on the big book (target under 100 ms); the
POST's rate against the same store's one-event save rate measured in the
same run (target at least 0.5x, p99 under 50 ms); the worker's memory
large/small (target at most 1.2).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench_http import (  # beside this file
    STATUS_CHANGE_LUA,
    STORE_KEYS,
    _free_port,
    seed,
    start,
    store_env,
    wrk,
)
from bulk_load import fill
from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import SystemClock
from contractledger.domain.ledger import ContractLedger
from contractledger.http.tokens import TokenRegistry
from contractledger.projections.contract_status import ContractStatusView
from contractledger.projections.directory import DirectoryView
from contractledger.projections.engine.queries import reading
from contractledger.projections.engine.view_database import view_database_for
from contractledger.runtime.serve import gunicorn_arguments
from contractledger.store.settings import Settings

LIMIT = 50
CONNECTIONS = 32
PAGE_P99_MS = 100  # issue 17: each console page's server time


def wait_for_views(base: str, token: str, seconds: float, every: float = 60.0) -> None:
    """Until ``/ready`` answers 200: the served views have caught up with the ledger. Says
    how far behind the furthest view is every ``every`` seconds (a big book takes minutes)."""
    started = said = time.monotonic()
    deadline = started + seconds
    request = urllib.request.Request(f"{base}/ready", headers={"Authorization": f"Bearer {token}"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as refused:  # 503 with each view's lag while catching up
            if time.monotonic() - said >= every:
                said = time.monotonic()
                answer = json.loads(refused.read() or b"{}")
                lags = [view.get("lag", 0) for view in answer.get("views", {}).values()]
                print(f"    views catching up: {time.monotonic() - started:.0f} s, furthest behind by "
                      f"{max(lags, default=0):,} of {answer.get('ledger_position', 0):,} events", file=sys.stderr)
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base}/ready did not answer 200 within {seconds:.0f} s")
        time.sleep(1)


def busiest_parties(env: dict[str, str]) -> dict[str, str]:
    """The agency, the carrier and the advisor on the most contracts, from the served views."""
    views = view_database_for(env)
    try:
        with reading(views) as read:
            contracts, parties = read.tables(ContractStatusView), read.tables(DirectoryView)
            found = {}
            for kind in ("agency", "carrier", "advisor"):
                [(party_id, _)] = read.rows(
                    f"SELECT p.party_id, COUNT(*) AS n FROM {contracts['contract_parties']} p"
                    f" JOIN {parties['parties']} d ON d.party_id = p.party_id WHERE d.kind = ?"
                    " GROUP BY p.party_id ORDER BY n DESC, p.party_id LIMIT 1",
                    (kind,),
                )
                found[kind] = str(party_id)
            [(contract_id,)] = read.rows(
                f"SELECT contract_id FROM {contracts['contract_parties']} WHERE party_id = ? ORDER BY contract_id LIMIT 1",
                (found["advisor"],),
            )
            found["contract"] = str(contract_id)
            return found
    finally:
        views.close()


def tokens_for(env: dict[str, str], parties: dict[str, str]) -> dict[str, str]:
    from uuid import UUID

    return issue_tokens(env, {
        "agency admin": Actor(Role.AGENCY_ADMIN, "agnes", UUID(parties["agency"])),
        "carrier": Actor(Role.CARRIER_STAFF, "carl", UUID(parties["carrier"])),
        "advisor": Actor(Role.PRODUCER, "ada", UUID(parties["advisor"])),
    })


def issue_tokens(env: dict[str, str], actors: dict[str, Actor]) -> dict[str, str]:
    """A day's token for each actor, by name."""
    ledger = ContractLedger(env)
    views = view_database_for(env)
    try:
        registry = TokenRegistry(views, SystemClock(), ledger)
        registry.ensure_schema()
        return {name: registry.issue(actor, timedelta(days=1)).secret for name, actor in actors.items()}
    finally:
        views.close()
        ledger.close()


def routes(parties: dict[str, str]) -> dict[str, str]:
    advisor, contract = parties["advisor"], parties["contract"]
    return {
        "contracts": "/contracts",
        "contracts active": "/contracts?status=active",
        "history": f"/contracts/{contract}/history",
        "monitoring": "/monitoring",
        "debts": "/debts",
        "health statuses": "/health-statuses",
        "tasks": "/tasks",
        "notifications": "/notifications",
        "parties": "/parties",
        "associations": f"/parties/{advisor}/associations",
        "bundles": "/bundles",
        "mixed bundles": "/mixed-bundles",
        "direct relationships": "/direct-relationships",
        "downgrades": f"/advisors/{advisor}/downgrades",
        "transfer requests": "/transfer-requests",
        "dashboard counts": "/dashboard/counts?by=carrier",
        "dashboard waiting": "/dashboard/waiting?status=pending_agency&longer_than_days=7",
    }


def console_pages(parties: dict[str, str]) -> dict[str, str]:
    """The console's pages a contracting team and an auditor open every day."""
    return {
        "console contracts": "/console/contracts",
        "console active": "/console/contracts?status=active",
        "console timeline": f"/console/contracts/{parties['contract']}",
        "console dashboard": "/console/dashboard",
        "console party": f"/console/parties/{parties['advisor']}",
        "console home": "/console",
    }


OPERATOR_PAGES = {"console sync": "/console/sync"}
"""The operator's pages: each peer's backlog (millions of items when a peer never acknowledged a big book)."""


def console_session(base: str, token: str) -> str:
    """Signs in through the console's form, as a browser does: the session's cookie."""
    host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.request("GET", "/console/sign-in")
        form = connection.getresponse()
        sign_in_cookie = (form.getheader("Set-Cookie") or "").split(";")[0]
        csrf = form.read().decode().split('name="csrf_token" value="')[1].split('"')[0]
        body = urllib.parse.urlencode({"token": token, "csrf_token": csrf})
        connection.request("POST", "/console/sign-in", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": sign_in_cookie})
        signed_in = connection.getresponse()
        signed_in.read()
        if signed_in.status != 303:
            raise RuntimeError(f"signing in to the console answered {signed_in.status}")
        return (signed_in.getheader("Set-Cookie") or "").split(";")[0]
    finally:
        connection.close()


def page_times(base: str, path: str, cookie: str, seconds: float) -> dict[str, Any]:
    """One browser's reading: a page asked again and again on one kept-alive
    connection, each answer read whole; the time of each, close to the
    server's own (nothing queues behind another request)."""
    host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
    connection = http.client.HTTPConnection(host, port, timeout=60)
    times: list[float] = []
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie})
            answer = connection.getresponse()
            answer.read()
            times.append((time.perf_counter() - started) * 1000)
            if answer.status != 200:
                return {"status": answer.status}
    finally:
        connection.close()
    times.sort()
    return {"n": len(times), "p50": times[len(times) // 2], "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}


def get(url: str, token: str) -> tuple[int | str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None
    except TimeoutError:  # reported as the route's answer; the run goes on
        return "no answer in 30 s", None


def with_limit(path: str) -> str:
    return path if path.startswith("/dashboard/counts") else f"{path}{'&' if '?' in path else '?'}limit={LIMIT}"


def worker_memory(served_pid: int) -> int:
    """The largest resident set among gunicorn's workers (kB)."""
    best = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        if b"gunicorn" in cmdline and f"PPid:\t{served_pid}" not in status:
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    best = max(best, int(line.split()[1]))
    return best


def one_event_save_rate(env: dict[str, str], saves: int = 300) -> float:
    ledger = ContractLedger(env)
    try:
        system = Actor.system()
        started = time.perf_counter()
        for n in range(saves):
            ledger.register_party(system, "carrier", {"name": f"Save {n}"})
        return saves / (time.perf_counter() - started)
    finally:
        ledger.close()


def measure_book(store: str, contracts: int, seconds: int, directory: Path, base_env: dict[str, str],
                 arguments: list[str], base: str) -> dict[str, Any]:
    env = {**base_env, **store_env(store, directory / f"{store}-{contracts}")}
    started = time.perf_counter()
    # the book's years end about today, as a served ledger's do (the generator's books span about 3.4 years)
    first_event_at = datetime.now(timezone.utc).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=1240)
    summary, _ = fill(dict(env), contracts=contracts, seed=1, start=first_event_at)
    filled = time.perf_counter() - started
    print(f"  {store}: {contracts:,} contracts, {summary.events:,} events filled in {filled:.0f} s", file=sys.stderr)
    changing = seed(env)  # bench-http's 64 pending contracts of one agency, for the POST, beside the book
    served = start(arguments, directory / f"{store}-{contracts}", env, serve=True)
    results: dict[str, Any] = {"events": summary.events, "fill_seconds": filled, "routes": {}}
    try:
        auditor = issue_tokens(env, {"auditor": Actor(Role.AUDITOR, "audrey")})["auditor"]
        wait_for_views(base, auditor, seconds=7200)  # the views catch up before anything is chosen or timed
        parties = busiest_parties(env)
        tokens = {"auditor": auditor, **tokens_for(env, parties)}
        results["caught_up_seconds"] = time.perf_counter() - started - filled
        for route, path in routes(parties).items():
            for viewer, token in tokens.items():
                url = f"{base}{with_limit(path)}"
                status, body = get(url, token)
                if status != 200:
                    results["routes"][(route, viewer, "first")] = {"status": status}
                    continue
                results["routes"][(route, viewer, "first")] = found = wrk(url, seconds, token, server=served.pid)
                print(f"    {contracts:,}: {route}, {viewer}: p50 {found['p50']:.1f} ms, p99 {found['p99']:.1f} ms",
                      file=sys.stderr)
                after = body.get("next") if isinstance(body, dict) else None
                if after:
                    cursor_url = f"{url}&after={urllib.parse.quote(after)}"
                    results["routes"][(route, viewer, "after")] = wrk(cursor_url, seconds, token, server=served.pid)
        results["pages"] = {}
        for page_name, path in console_pages(parties).items():
            for viewer, token in tokens.items():
                results["pages"][(page_name, viewer)] = page_times(base, path, console_session(base, token), seconds)
        operator = issue_tokens(env, {"operator": Actor(Role.OPERATOR, "otto")})["operator"]
        for page_name, path in OPERATOR_PAGES.items():
            results["pages"][(page_name, "operator")] = page_times(base, path, console_session(base, operator), seconds)
        script = directory / f"{store}-{contracts}" / "status_change.lua"
        script.write_text(STATUS_CHANGE_LUA % {
            "contracts": ", ".join(f'"{c}"' for c in changing["changing"]), "token": changing["token"]})
        results["post"] = wrk(f"{base}/", seconds, script=str(script), server=served.pid)
        results["worker_kb"] = worker_memory(served.pid)
    finally:
        served.terminate()
        served.wait(timeout=120)
    results["save_rate"] = one_event_save_rate(env)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench-scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=2_500, help="contracts in the small book (default 2,500)")
    parser.add_argument("--large", type=int, default=250_000, help="contracts in the big book (default 250,000)")
    parser.add_argument("--seconds", type=int, default=5, help="load per route and viewer (default 5)")
    parser.add_argument("--store", choices=("sqlite", "postgres"), action="append", help="default: both when POSTGRES_* is set")
    args = parser.parse_args(argv)
    import shutil

    if shutil.which("wrk") is None:
        print("bench-scale: wrk is missing; install it with 'apt-get install wrk'", file=sys.stderr)
        return 2
    stores = args.store or ["sqlite", *(["postgres"] if os.environ.get("POSTGRES_HOST") else [])]
    directory = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    port = _free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(STORE_KEYS)}
    base_env.update(CONTRACTLEDGER_BIND=f"127.0.0.1:{port}")
    arguments = gunicorn_arguments(Settings.read(base_env))
    base = f"http://127.0.0.1:{port}"
    load = os.getloadavg()[0]
    for store in stores:
        books = {size: measure_book(store, size, args.seconds, directory, base_env, arguments, base)
                 for size in (args.small, args.large)}
        small, large = books[args.small], books[args.large]
        print(f"\n{store}: {args.small:,} contracts ({small['events']:,} events) against {args.large:,} "
              f"({large['events']:,} events); {CONNECTIONS} connections, {args.seconds} s each; "
              f"{os.cpu_count()} cores, load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} now")
        print(f"{'route':22} {'viewer':13} {'page':6} {'small p50':>9} {'p99':>7} {'large p50':>9} {'p99':>7} {'ratio':>6}  verdict")
        ratios, misses = [], 0
        for key, found in large["routes"].items():
            route, viewer, page = key
            before = small["routes"].get(key)
            if "rps" not in found or before is None or "rps" not in before:
                print(f"{route:22} {viewer:13} {page:6} answered {found.get('status')} (small: {before and before.get('status')})")
                continue
            ratio = found["p99"] / before["p99"]
            ratios.append(ratio)
            met = ratio <= 1.5 and found["p99"] < 25
            misses += not met
            print(f"{route:22} {viewer:13} {page:6} {before['p50']:9.2f} {before['p99']:7.2f} {found['p50']:9.2f} "
                  f"{found['p99']:7.2f} {ratio:6.2f}  {'met' if met else 'MISSED'}")
        print(f"p99 large/small: median {statistics.median(ratios):.2f}, worst {max(ratios):.2f}; {misses} of {len(ratios)} missed")
        print(f"\nconsole pages, one connection, each answer read whole (target: large p99 under {PAGE_P99_MS} ms)")
        print(f"{'page':22} {'viewer':13} {'small p50':>9} {'p99':>7} {'large p50':>9} {'p99':>7}  verdict")
        for key, found in large["pages"].items():
            before = small["pages"].get(key) or {}
            if "p99" not in found or "p99" not in before:
                print(f"{key[0]:22} {key[1]:13} answered {found.get('status')} (small: {before.get('status')})")
                continue
            print(f"{key[0]:22} {key[1]:13} {before['p50']:9.2f} {before['p99']:7.2f} {found['p50']:9.2f} {found['p99']:7.2f}"
                  f"  {'met' if found['p99'] < PAGE_P99_MS else 'MISSED'}")
        for name, book in (("small", small), ("large", large)):
            post, ratio = book["post"], book["post"]["rps"] / book["save_rate"]
            print(f"POST status change, {name} book: {post['rps']:.0f} req/s, p50 {post['p50']:.1f} ms, p99 {post['p99']:.1f} ms;"
                  f" one-event saves {book['save_rate']:.0f}/s: {ratio:.2f}x (target >= 0.5x, p99 < 50 ms): "
                  f"{'met' if ratio >= 0.5 and post['p99'] < 50 else 'MISSED'}")
        memory = large["worker_kb"] / max(small["worker_kb"], 1)
        print(f"worker memory after the run: small {small['worker_kb'] / 1024:.0f} MB, large {large['worker_kb'] / 1024:.0f} MB,"
              f" {memory:.2f}x (target <= 1.2): {'met' if memory <= 1.2 else 'MISSED'}")
        print(f"fill: small {small['fill_seconds']:.0f} s, large {large['fill_seconds']:.0f} s "
              f"({large['events'] / large['fill_seconds']:,.0f} events/s); views caught up after "
              f"{small['caught_up_seconds']:.0f} s and {large['caught_up_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
