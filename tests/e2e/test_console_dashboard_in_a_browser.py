"""The console's dashboard in a real browser (issue 17 item 4): headless
chromium against the served app, once per store, on a handful of contracts.
An agency admin and a carrier user each sign in by pasting a token, reach
the dashboard from the nav with the keyboard, and read their own counts by
status; a contract off their book (another agency's, another carrier's) is
nowhere on it. The page fits a phone's screen."""

from __future__ import annotations

import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))

from served import Server  # noqa: E402
from test_console_in_a_browser import arrives_at, browser, sign_in  # noqa: E402, F401 (browser: the fixture)
from views_scenario import ContractingWorld  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.projections.engine.waiting import wait_until_applied  # noqa: E402
from contractledger.runtime.catalogue import VIEWS  # noqa: E402


@dataclass
class Scene:
    server: Server
    world: ContractingWorld
    harbour_ada: UUID  # Northern Life, Summit MGA, Harbour AGA, Ada: active
    harbour_pending: UUID  # the same chain, just assigned
    lighthouse_ada: UUID  # Northern Life, Summit MGA, Lighthouse AGA, Ada: active
    southern: UUID  # Southern Mutual, Summit MGA, Harbour AGA, Ada: just assigned

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Scene]:
    server = Server(tmp_path_factory.mktemp("console-dashboard-browser"), store=store)
    try:
        w = ContractingWorld(server.ledger)
        southern_mutual = w.register("carrier", "Southern Mutual")
        w.relate(southern_mutual, w.mga)
        (southern,) = w.assign([southern_mutual, w.mga, w.aga, w.advisor])
        (harbour_pending,) = w.assign()
        scene = Scene(server, w, w.active_contract(), harbour_pending, w.active_contract(aga=w.other_aga), southern)
        assert wait_until_applied(server.views, server.position(), [v.name for v in VIEWS], 60)
        yield scene
    finally:
        assert server.stop() == 0


def open_the_dashboard_with_the_keyboard(browser: WebDriver) -> None:
    """Tab from the top of the page to the nav's Dashboard link and press Enter."""
    for _ in range(12):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.switch_to.active_element.text == "Dashboard":
            break
    focused = browser.switch_to.active_element
    assert focused.text == "Dashboard" and focused.get_attribute("href").endswith("/console/dashboard")
    focused.send_keys(Keys.ENTER)
    assert arrives_at(browser, "/console/dashboard")


def counts(browser: WebDriver) -> dict[str, int]:
    rows = browser.find_elements(By.CSS_SELECTOR, "#status-counts tr.status-count")
    return {row.get_attribute("data-status"): int(row.find_element(By.CSS_SELECTOR, "td").text) for row in rows}


VIEWERS = {
    "agency admin": lambda w: w.aga_admin,
    "carrier user": lambda w: w.carrier_staff,
}


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_each_viewer_reaches_its_dashboard_by_keyboard_and_reads_its_own_book(
    browser: WebDriver, scene: Scene, viewer: str
) -> None:
    actor: Actor = VIEWERS[viewer](scene.world)
    sign_in(browser, scene, actor)
    open_the_dashboard_with_the_keyboard(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Dashboard"

    # Harbour: its two contracts with Ada and Southern Mutual's, and its relationship with Summit (active);
    # Northern Life: its contracts through Harbour and Lighthouse, and its relationship with Summit
    expected, off_the_book = {
        "agency admin": ({"active": 2, "pending_agency": 2}, scene.lighthouse_ada),
        "carrier user": ({"active": 3, "pending_agency": 1}, scene.southern),
    }[viewer]
    assert counts(browser) == expected
    assert browser.find_element(By.ID, "total-contracts").text == str(sum(expected.values()))
    assert browser.find_element(By.ID, "no-mixed-bundles").is_displayed()
    assert str(off_the_book) not in browser.page_source

    browser.find_element(By.CSS_SELECTOR, '#status-counts a[href="/console/contracts?status=pending_agency"]').click()
    assert arrives_at(browser, "/console/contracts")
    listed = {row.get_attribute("data-contract-id") for row in browser.find_elements(By.CSS_SELECTOR, "tr.contract")}
    assert str(scene.harbour_pending) in listed and str(off_the_book) not in listed


def test_the_dashboard_fits_a_phones_screen(browser: WebDriver, scene: Scene) -> None:
    sign_in(browser, scene, scene.world.aga_admin)
    browser.set_window_size(390, 844)
    try:
        browser.get(f"{scene.base}/console/dashboard")
        assert urllib.parse.urlparse(browser.current_url).path == "/console/dashboard"
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the dashboard is {overflow}px wider than a phone's screen"
        labelled = browser.find_element(By.CSS_SELECTOR, "#status-counts tr.status-count td")
        assert browser.execute_script("return getComputedStyle(arguments[0], '::before').content", labelled) == (
            '"Contracts: "')  # each cell says what it is once the table is stacked
        nothing = browser.find_element(By.CSS_SELECTOR, "#waiting tbody td")  # nobody has waited since before today
        assert nothing.text.startswith("No contract") and browser.execute_script(
            "return getComputedStyle(arguments[0], '::before').content", nothing) == "none"  # a sentence, no label
    finally:
        browser.set_window_size(1280, 900)
