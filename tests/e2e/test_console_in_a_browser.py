"""The console in a real browser (issue 17): Debian's chromium, headless,
driven through chromium-driver by selenium, against the served app on
each store. An auditor, an agency admin, a carrier user and an advisor
each sign in by pasting a token, open the contracts list and a timeline,
and see exactly their own: a contract off their chain is absent from the
list and its timeline answers the not-found page, while an auditor sees
all; then they sign out. A form posted without its CSRF token is refused.

The test command installs chromium and chromium-driver when missing
(scripts/ensure-chromium, run by scripts/test)."""

from __future__ import annotations

import http.client
import shutil
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))

from served import Server  # noqa: E402
from views_scenario import ContractingWorld  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.projections.engine.waiting import wait_until_applied  # noqa: E402
from contractledger.runtime.catalogue import VIEWS  # noqa: E402


@dataclass
class Scene:
    server: Server
    world: ContractingWorld
    harbour_ada: UUID  # carrier, MGA, Harbour AGA, Ada
    lighthouse_ada: UUID  # carrier, MGA, Lighthouse AGA, Ada
    harbour_grace: UUID  # carrier, MGA, Harbour AGA, Grace

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Scene]:
    server = Server(tmp_path_factory.mktemp("console-browser"), store=store)
    try:
        world = ContractingWorld(server.ledger)
        scene = Scene(
            server, world, world.active_contract(), world.active_contract(aga=world.other_aga),
            world.active_contract(advisor=world.second_advisor),
        )
        assert wait_until_applied(server.views, server.position(), [v.name for v in VIEWS], 60)
        yield scene
    finally:
        assert server.stop() == 0


def headless_chromium() -> WebDriver:
    """Debian's chromium, headless, driven by its chromium-driver (quit it when done)."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail("chromium and chromedriver are needed: scripts/test installs them (scripts/ensure-chromium)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--no-first-run"):
        options.add_argument(argument)
    started = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    started.implicitly_wait(0)
    return started


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    started = headless_chromium()
    try:
        yield started
    finally:
        started.quit()


def arrives_at(browser: WebDriver, path: str) -> bool:
    """Whether the browser gets to ``path`` (a click's page loads after the click returns)."""
    try:
        WebDriverWait(browser, 15).until(lambda b: urllib.parse.urlparse(b.current_url).path == path)
    except Exception:
        return False
    return True


def sign_in(browser: WebDriver, scene: Scene, actor: Actor) -> None:
    browser.delete_all_cookies()
    browser.get(f"{scene.base}/console")
    assert urllib.parse.urlparse(browser.current_url).path == "/console/sign-in", "sent to sign in"
    field = browser.find_element(By.ID, "token")
    assert browser.find_element(By.CSS_SELECTOR, 'label[for="token"]').text == "Your token"
    field.send_keys(scene.server.token(actor))
    browser.find_element(By.CSS_SELECTOR, 'form[action="/console/sign-in"] button[type="submit"]').click()
    assert arrives_at(browser, "/console"), browser.current_url
    assert browser.find_element(By.ID, "signed-in-as").text == actor.user


def listed(browser: WebDriver) -> set[UUID]:
    rows = browser.find_elements(By.CSS_SELECTOR, "table#contracts tr.contract")
    return {UUID(row.get_attribute("data-contract-id")) for row in rows}


VIEWERS = {
    "auditor": lambda w: w.auditor,
    "agency admin": lambda w: w.aga_admin,
    "carrier user": lambda w: w.carrier_staff,
    "advisor": lambda w: w.producer,
}


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_each_viewer_signs_in_sees_its_own_contracts_and_timelines_and_signs_out(
    browser: WebDriver, scene: Scene, viewer: str
) -> None:
    actor = VIEWERS[viewer](scene.world)
    everything = {scene.harbour_ada, scene.lighthouse_ada, scene.harbour_grace}
    sees = {
        "auditor": everything,
        "agency admin": {scene.harbour_ada, scene.harbour_grace},  # Harbour is not on Lighthouse's contract
        "carrier user": everything,
        "advisor": {scene.harbour_ada, scene.lighthouse_ada},  # Ada is not on Grace's contract
    }[viewer]
    sign_in(browser, scene, actor)

    cookie = next(c for c in browser.get_cookies() if c["name"] == "contractledger_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"

    browser.find_element(By.LINK_TEXT, "Contracts").click()
    assert arrives_at(browser, "/console/contracts")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Contracts"
    assert listed(browser) & everything == sees

    shown = sorted(sees)[0]
    browser.find_element(By.CSS_SELECTOR, f'a[href="/console/contracts/{shown}"]').click()
    assert arrives_at(browser, f"/console/contracts/{shown}")
    assert browser.find_element(By.ID, "status").text == "active"
    events = [row.get_attribute("data-event") for row in browser.find_elements(By.CSS_SELECTOR, "#history tr.entry")]
    assert events[0] == "Assigned" and "SubmittedToCarrier" in events
    assert browser.find_element(By.ID, "verdict").get_attribute("class") == "intact"
    exports = browser.find_elements(By.CSS_SELECTOR, 'a[href*="/export?format="]')
    assert len(exports) == (2 if viewer == "auditor" else 0)

    for hidden in everything - sees:
        browser.get(f"{scene.base}/console/contracts/{hidden}")
        assert browser.find_element(By.ID, "problem-code").text == "contract.not_found"
        assert browser.find_elements(By.ID, "history") == []

    browser.find_element(By.CSS_SELECTOR, ".sign-out button").click()
    assert arrives_at(browser, "/console/sign-in")
    browser.get(f"{scene.base}/console/contracts")
    assert urllib.parse.urlparse(browser.current_url).path == "/console/sign-in", "signed out"


def test_the_pages_fit_a_phones_screen(browser: WebDriver, scene: Scene) -> None:
    sign_in(browser, scene, scene.world.auditor)
    browser.set_window_size(390, 844)
    try:
        for path in ("/console", "/console/contracts", f"/console/contracts/{scene.harbour_ada}"):
            browser.get(f"{scene.base}{path}")
            overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            widest = browser.execute_script(
                "let w = null; for (const e of document.querySelectorAll('body *')) {"
                " const r = e.getBoundingClientRect(); if (r.right > window.innerWidth && (!w || r.right > w[1]))"
                " w = [e.tagName + '.' + e.className + '#' + e.id, r.right]; } return w;")
            assert overflow <= 0, f"{path} is {overflow}px wider than a phone's screen (widest: {widest})"
    finally:
        browser.set_window_size(1280, 900)


def post_form(scene: Scene, path: str, body: str, cookie: str) -> tuple[int, str, bytes]:
    """One form POST, its redirect not followed: the status, the cookie it sets, the body."""
    connection = http.client.HTTPConnection("127.0.0.1", scene.server.port, timeout=30)
    try:
        connection.request("POST", path, body=body.encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
        })
        answer = connection.getresponse()
        return answer.status, (answer.getheader("Set-Cookie") or "").split(";")[0], answer.read()
    finally:
        connection.close()


def test_a_form_posted_without_its_csrf_token_is_refused(scene: Scene) -> None:
    server = scene.server
    form = server.request("GET", "/console/sign-in")
    sign_in_cookie = form.headers["Set-Cookie"].split(";")[0]
    csrf = form.body.decode().split('name="csrf_token" value="')[1].split('"')[0]
    token = server.token(scene.world.aga_admin)
    status, _, body = post_form(scene, "/console/sign-in", f"token={token}", sign_in_cookie)
    assert status == 403 and b"console.csrf_refused" in body
    status, session, _ = post_form(scene, "/console/sign-in", f"token={token}&csrf_token={csrf}", sign_in_cookie)
    assert status == 303 and session.startswith("contractledger_session=")
    status, _, body = post_form(scene, "/console/sign-out", "", session)
    assert status == 403 and b"console.csrf_refused" in body
    home = server.request("GET", "/console", headers={"Cookie": session})
    assert home.status == 200 and b"Sign out" in home.body, "still signed in"
