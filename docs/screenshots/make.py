"""``scripts/console-screenshots``: a screenshot of every console page,
taken in Debian's chromium (headless, through chromium-driver) from a
generated ledger, into ``docs/screenshots/`` (the README shows them).

    python docs/screenshots/make.py [--contracts 400] [--seed 1] [--into docs/screenshots]

The ledger is the workload generator's contracting work through the
ledger's rules (``benchmarks/bulk_load.py``), on a new SQLite file, served
as ``scripts/serve`` serves it; once the views have caught up, each page is
opened signed in as the viewer a contracting team or an auditor would be:
an auditor, the agency admin, the carrier user and the advisor with the
most contracts, and an operator: the contracts list, a timeline, the
dashboard, the advisor's party page and the operator's sync page. Each
page is taken at a laptop's width, and the contracts list, a timeline
and the party page at a phone's as well.

Exit status: 0 done; 1 a page did not answer as a page (its path named);
2 chromium or chromium-driver missing (``scripts/ensure-chromium``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_http import STORE_KEYS, _free_port, start, store_env  # noqa: E402
from bench_scale import busiest_parties, issue_tokens, wait_for_views  # noqa: E402
from bulk_load import fill  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402

LAPTOP, PHONE = (1280, 900), (390, 844)


def viewers(parties: dict[str, str]) -> dict[str, Actor]:
    return {
        "auditor": Actor(Role.AUDITOR, "audrey"),
        "agency-admin": Actor(Role.AGENCY_ADMIN, "agnes", UUID(parties["agency"])),
        "carrier": Actor(Role.CARRIER_STAFF, "carl", UUID(parties["carrier"])),
        "advisor": Actor(Role.PRODUCER, "ada", UUID(parties["advisor"])),
        "operator": Actor(Role.OPERATOR, "olive"),
    }


def pages(parties: dict[str, str]) -> list[tuple[str, str, str, tuple[int, int]]]:
    """(file name, viewer, path, window size) of every shot."""
    contract, advisor = parties["contract"], parties["advisor"]
    return [
        ("sign-in", "", "/console/sign-in", LAPTOP),
        ("home", "auditor", "/console", LAPTOP),
        ("contracts-auditor", "auditor", "/console/contracts", LAPTOP),
        ("contracts-agency-admin", "agency-admin", "/console/contracts?status=active", LAPTOP),
        ("timeline", "auditor", f"/console/contracts/{contract}", LAPTOP),
        ("timeline-advisor", "advisor", f"/console/contracts/{contract}", LAPTOP),
        ("dashboard-agency-admin", "agency-admin", "/console/dashboard", LAPTOP),
        ("contracts-phone", "carrier", "/console/contracts", PHONE),
        ("dashboard-carrier", "carrier", "/console/dashboard", LAPTOP),
        ("party-carrier", "carrier", f"/console/parties/{advisor}", LAPTOP),
        ("party-phone", "carrier", f"/console/parties/{advisor}", PHONE),
        ("sync-operator", "operator", "/console/sync", LAPTOP),
        ("timeline-phone", "advisor", f"/console/contracts/{contract}", PHONE),
        ("not-found", "advisor", f"/console/contracts/{UUID(int=1)}", LAPTOP),
    ]


def browser(chromium: str, driver: str):  # noqa: ANN201 - a selenium WebDriver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--hide-scrollbars", "--no-first-run", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def sign_in(page, base: str, token: str) -> None:  # noqa: ANN001 - a selenium WebDriver
    from selenium.webdriver.common.by import By

    page.delete_all_cookies()
    page.get(f"{base}/console/sign-in")
    page.find_element(By.ID, "token").send_keys(token)
    page.find_element(By.CSS_SELECTOR, 'form[action="/console/sign-in"] button[type="submit"]').click()
    deadline = time.monotonic() + 15
    while page.find_elements(By.ID, "signed-in-as") == []:
        if time.monotonic() > deadline:
            raise RuntimeError("signing in did not reach the console's home page")
        time.sleep(0.1)


def whole_page(page, size: tuple[int, int], path: Path) -> None:  # noqa: ANN001
    """The page at the window's width, as tall as its content (capped at two screens)."""
    page.set_window_size(*size)
    height = page.execute_script("return document.documentElement.scrollHeight")
    page.set_window_size(size[0], min(max(size[1], height), 2 * size[1]))
    page.save_screenshot(str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/console-screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=400, help="contracts in the generated ledger (default 400)")
    parser.add_argument("--seed", type=int, default=1, help="the workload's seed (default 1)")
    parser.add_argument("--into", type=Path, default=ROOT / "docs" / "screenshots", help="the folder for the PNG files")
    args = parser.parse_args(argv)
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        print("console-screenshots: chromium and chromium-driver are needed (scripts/ensure-chromium)", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="console-screenshots-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(STORE_KEYS)}
    env.update(store_env("sqlite", directory), CONTRACTLEDGER_BIND=f"127.0.0.1:{port}")
    summary, _ = fill(dict(env), contracts=args.contracts, seed=args.seed)
    print(f"console-screenshots: {args.contracts:,} contracts, {summary.events:,} events", file=sys.stderr)
    served = start([], directory, env, serve=True)
    base = f"http://127.0.0.1:{port}"
    page = None
    try:
        auditor = issue_tokens(env, {"auditor": Actor(Role.AUDITOR, "audrey")})["auditor"]
        wait_for_views(base, auditor, seconds=600)  # the views catch up before anyone is chosen or a page taken
        parties = busiest_parties(env)
        tokens = issue_tokens(env, viewers(parties))
        args.into.mkdir(parents=True, exist_ok=True)
        page = browser(chromium, driver)
        signed_in_as = None
        for name, viewer, path, size in pages(parties):
            if viewer != signed_in_as:
                if viewer:
                    sign_in(page, base, tokens[viewer])
                else:
                    page.delete_all_cookies()
                signed_in_as = viewer
            page.set_window_size(*size)
            page.get(f"{base}{path}")
            wanted_problem = name == "not-found"
            if bool(page.find_elements("id", "problem-code")) != wanted_problem:
                print(f"console-screenshots: {path} ({viewer or 'signed out'}) did not answer as expected", file=sys.stderr)
                return 1
            whole_page(page, size, args.into / f"{name}.png")
            print(f"  {name}.png: {path} as {viewer or 'signed out'}", file=sys.stderr)
        return 0
    finally:
        if page is not None:
            page.quit()
        served.terminate()
        served.wait(timeout=60)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
