"""The operator's sync page in a real browser (issue 17): headless chromium
against the served app on each store, its delivery worker pushing to manage's
endpoint on loopback (from a copy of the peer files whose manage gives up
after a second). The endpoint refuses every item until delivery gives up on
them; the operator signs in, opens the sync page from the nav, presses
replay on one dead letter, and sees it gone, delivered once the endpoint
answers again."""

from __future__ import annotations

import base64
import re
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))

from served import Server  # noqa: E402
from test_console_in_a_browser import arrives_at, browser, sign_in  # noqa: E402, F401 (browser: the fixture)
from test_sync_delivery import Receiver  # noqa: E402
from views_scenario import ContractingWorld  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.sync import delivery_state  # noqa: E402
from contractledger.sync.peer import PEERS_DIRECTORY  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"manage's key, in a browser test").decode()
OPERATOR = Actor(Role.OPERATOR, "olive")


@dataclass
class Scene:
    server: Server
    receiver: Receiver
    world: ContractingWorld

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


def quick_to_give_up(folder: Path) -> Path:
    """The package's peer files, manage's retries shortened to give up after a second."""
    peers = folder / "peers"
    peers.mkdir()
    for path in PEERS_DIRECTORY.glob("*.toml"):
        text = path.read_text()
        if path.stem == "manage":
            for name, seconds in (("first_retry_seconds", 0.1), ("longest_retry_seconds", 0.2), ("give_up_after_seconds", 1.0)):
                text, made = re.subn(rf"(?m)^{name} = .*$", f"{name} = {seconds}", text)
                assert made == 1, name
        (peers / path.name).write_text(text)
    return peers


def wait_for(condition, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Scene]:
    folder = tmp_path_factory.mktemp("console-sync-browser")
    receiver = Receiver(keys=[SECRET])
    receiver.plan = [500] * 10_000  # every item refused until the test says otherwise
    server = Server(folder, store=store, settings={
        "CONTRACTLEDGER_SYNC_PEERS": str(quick_to_give_up(folder)),
        "CONTRACTLEDGER_SYNC_MANAGE_ENDPOINT": receiver.url,
        "CONTRACTLEDGER_SYNC_MANAGE_SECRETS": SECRET,
    })
    try:
        world = ContractingWorld(server.ledger)
        world.assign()
        wait_for(lambda: len(delivery_state.dead_letters(server.views, "manage")) >= 2)
        receiver.plan = []
        # what was still being retried is delivered now: no more dead letters come while the test looks
        wait_for(lambda: delivery_state.backlog(server.views).get("manage", (0, 0))[0] == 0)
        receiver.received.clear()
        yield Scene(server, receiver, world)
    finally:
        assert server.stop() == 0
        receiver.stop()
        assert receiver.faults == []


def dead_letters_shown(browser: WebDriver) -> list[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, "#peer-manage tr.dead-letter")
    return [row.get_attribute("data-item-id") or "" for row in rows]


def test_an_operator_replays_a_dead_letter_from_the_sync_page(browser: WebDriver, scene: Scene) -> None:
    sign_in(browser, scene, OPERATOR)  # type: ignore[arg-type]  # a scene with a server and its address
    browser.find_element(By.LINK_TEXT, "Sync").click()
    assert arrives_at(browser, "/console/sync")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sync"
    listed = dead_letters_shown(browser)
    assert len(listed) >= 2, browser.page_source[:3000]
    assert "HTTP 500" in browser.find_element(By.ID, "dead-letters-manage").text
    chosen = listed[0]
    button = browser.find_element(By.CSS_SELECTOR, f'#peer-manage tr[data-item-id="{chosen}"] button[type="submit"]')
    assert button.accessible_name == f"Replay item {chosen}"  # each button says which item, to a screen reader
    button.click()
    # the answer is the same page, at the peer's section: the click has been answered once the address says so
    wait_for(lambda: urllib.parse.urlparse(browser.current_url).fragment == "peer-manage", 15)
    assert arrives_at(browser, "/console/sync")
    assert dead_letters_shown(browser) == listed[1:]  # the dead letter is gone from the page
    wait_for(lambda: chosen in scene.receiver.ids())  # and the worker delivered it, under its own id

    def delivery_shown() -> bool:
        browser.refresh()
        last = browser.find_element(By.ID, "last-delivery-manage").text
        return "delivered" in last and chosen in last

    wait_for(delivery_shown, 10)
    assert dead_letters_shown(browser) == listed[1:]


def test_the_sync_page_fits_a_phones_screen(browser: WebDriver, scene: Scene) -> None:
    sign_in(browser, scene, OPERATOR)  # type: ignore[arg-type]
    browser.set_window_size(390, 844)
    try:
        browser.get(f"{scene.base}/console/sync")
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the sync page is {overflow}px wider than a phone's screen"
    finally:
        browser.set_window_size(1280, 900)

