"""A party's console page in a real browser (issue 17): Debian's chromium,
headless, against the served app on each store. A carrier user signs in,
goes from the contracts list to the advisor on a contract's chain, reads
the reason of the advisor's health and follows the record to its
contract's timeline, and back to the advisor from the chain; another
agency's admin sees the advisor's directory card only, without the
carrier's record, and an id that is no party's shows the not-found page."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))

from served import Server  # noqa: E402
from test_console_in_a_browser import arrives_at, browser, sign_in  # noqa: E402, F401 (browser: the fixture)
from views_scenario import ContractingWorld  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.domain.clock import today  # noqa: E402
from contractledger.projections.engine.waiting import wait_until_applied  # noqa: E402
from contractledger.runtime.catalogue import VIEWS  # noqa: E402

REASON = "Regulatory Requirement"


@dataclass
class Scene:
    server: Server
    world: ContractingWorld
    contract: uuid.UUID  # carrier, MGA, Harbour AGA, Ada: the carrier's monitoring is on it
    record: uuid.UUID
    stranger: Actor  # an agency admin with no contract

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Scene]:
    server = Server(tmp_path_factory.mktemp("console-party-browser"), store=store)
    try:
        world = ContractingWorld(server.ledger)
        contract = world.active_contract()
        day = today(server.ledger.clock)  # the served ledger's day, not the world's settable one
        record = server.ledger.add_monitoring(world.carrier_staff, contract, level=4, reason=REASON,
                                              effective_on=day, reminder_on=day + timedelta(days=14))
        stranger = world.admin_of(world.register("agency", "Elsewhere AGA", level="AGA"))
        assert wait_until_applied(server.views, server.position(), [v.name for v in VIEWS], 60)
        yield Scene(server, world, contract, record, stranger)
    finally:
        assert server.stop() == 0


def test_a_carrier_user_goes_from_a_contract_to_the_advisor_and_reads_the_reason_of_its_health(
    browser: WebDriver, scene: Scene
) -> None:
    w = scene.world
    sign_in(browser, scene, w.carrier_staff)
    browser.find_element(By.LINK_TEXT, "Contracts").click()
    assert arrives_at(browser, "/console/contracts")
    row = browser.find_element(By.CSS_SELECTOR, f'tr.contract[data-contract-id="{scene.contract}"]')
    row.find_element(By.LINK_TEXT, "Ada Lovelace").click()
    assert arrives_at(browser, f"/console/parties/{w.advisor}")
    assert browser.find_element(By.ID, "party-name").text == "Ada Lovelace"
    assert "Monitoring level 4 (Close Supervision) in force" in browser.find_element(By.ID, "health").text
    record = browser.find_element(By.CSS_SELECTOR, f'#health-records tr[data-record-id="{scene.record}"]')
    assert REASON in record.text and "Northern Life" in record.text
    caption = browser.find_element(By.CSS_SELECTOR, "#health-records caption").text
    assert caption.startswith("The 1 record that makes this health status")

    record.find_element(By.CSS_SELECTOR, f'a[href="/console/contracts/{scene.contract}"]').click()
    assert arrives_at(browser, f"/console/contracts/{scene.contract}")
    assert str(scene.record) in browser.find_element(By.ID, "history").text  # the record's trail on its contract
    browser.find_element(By.ID, "chain").find_element(By.LINK_TEXT, "Ada Lovelace").click()
    assert arrives_at(browser, f"/console/parties/{w.advisor}")

    # the as-of form, sent as a person sends it
    field = browser.find_element(By.ID, "as_of")
    assert browser.find_element(By.CSS_SELECTOR, 'label[for="as_of"]').text == "At the instant"
    field.send_keys("not an instant")
    browser.find_element(By.CSS_SELECTOR, f'form[action="/console/parties/{w.advisor}"] button[type="submit"]').click()
    # the answer comes at the same address: the click has been answered once its problem is shown
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "problem-code"))
    assert arrives_at(browser, f"/console/parties/{w.advisor}")
    assert browser.find_element(By.ID, "problem-code").text == "query.invalid_parameter"


def test_a_party_off_the_viewers_sight_shows_its_card_and_an_id_that_is_no_partys_the_not_found_page(
    browser: WebDriver, scene: Scene
) -> None:
    sign_in(browser, scene, scene.stranger)
    browser.get(f"{scene.base}/console/parties/{scene.world.advisor}")
    assert browser.find_element(By.ID, "party-name").text == "Ada Lovelace"
    assert browser.find_elements(By.ID, "directory-card") and browser.find_elements(By.ID, "health-records") == []
    assert REASON not in browser.find_element(By.TAG_NAME, "main").text
    browser.get(f"{scene.base}/console/parties/{uuid.uuid4()}")
    assert browser.find_element(By.ID, "problem-code").text == "party.not_found"
    assert browser.find_elements(By.ID, "profile") == []


def test_the_party_page_fits_a_phones_screen(browser: WebDriver, scene: Scene) -> None:
    sign_in(browser, scene, scene.world.carrier_staff)
    browser.set_window_size(390, 844)
    try:
        for party in (scene.world.advisor, scene.world.corporation, scene.world.aga):
            browser.get(f"{scene.base}/console/parties/{party}")
            overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the page of {party} is {overflow}px wider than a phone's screen"
    finally:
        browser.set_window_size(1280, 900)
