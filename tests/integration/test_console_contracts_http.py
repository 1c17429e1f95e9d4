"""The console's contracts list and home page over falcon's TestClient, on
each store: the viewer's contracts only, in keyset pages, filtered by
status, each linked to its timeline."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from console_browser import ConsoleBrowser  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.http.console import contracts as console_contracts  # noqa: E402


@dataclass
class Scene:
    api: Api
    harbour: list[uuid.UUID]
    lighthouse: uuid.UUID
    vested: uuid.UUID


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Scene]:
    for api in running_api(tmp_path_factory.mktemp("console-contracts"), store):
        w = api.world
        harbour = [w.active_contract() for _ in range(3)]
        vested = harbour[-1]
        api.config.ledger.vest(w.carrier_staff, vested, "Retired")
        lighthouse = w.active_contract(aga=w.other_aga)
        api.caught_up()
        yield Scene(api, harbour, lighthouse, vested)


def signed_in(scene: Scene, actor: Actor) -> ConsoleBrowser:
    browser = ConsoleBrowser(scene.api.client)
    assert browser.sign_in(scene.api.token(actor)).status_code == 303
    return browser


def listed(page: str) -> list[uuid.UUID]:
    return [uuid.UUID(found) for found in re.findall(r'<tr class="contract" data-contract-id="([^"]+)"', page)]


def test_a_party_lists_the_contracts_on_its_chain_and_no_other(scene: Scene) -> None:
    page = signed_in(scene, scene.api.world.aga_admin).get("/console/contracts")
    assert page.status_code == 200
    contracts = listed(page.text)
    assert set(scene.harbour) <= set(contracts) and scene.lighthouse not in contracts
    for contract_id in scene.harbour:
        assert f'href="/console/contracts/{contract_id}"' in page.text
    assert "Northern Life → Summit MGA → Harbour AGA → Ada Lovelace" in re.sub(r"<[^>]+>", "", page.text)
    assert f'<a href="/console/parties/{scene.api.world.advisor}">Ada Lovelace</a>' in page.text  # each to its page


def test_an_auditor_lists_every_contract(scene: Scene) -> None:
    contracts = listed(signed_in(scene, scene.api.world.auditor).get("/console/contracts").text)
    assert {*scene.harbour, scene.lighthouse} <= set(contracts)


def test_the_list_comes_in_keyset_pages_that_follow_on(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = signed_in(scene, scene.api.world.auditor)
    everything = listed(browser.get("/console/contracts").text)
    monkeypatch.setattr(console_contracts, "PAGE_SIZE", 2)
    seen: list[uuid.UUID] = []
    page = browser.get("/console/contracts")
    while True:
        seen += listed(page.text)
        found = re.search(r'<a rel="next" href="/console/contracts\?after=([^"&]+)"', page.text)
        if not found:
            break
        page = browser.get("/console/contracts", after=found.group(1))
        assert page.status_code == 200
    assert seen == everything and len(seen) == len(set(seen)) > 2


def test_the_list_is_filtered_by_status_and_an_empty_choice_is_none(scene: Scene) -> None:
    browser = signed_in(scene, scene.api.world.carrier_staff)
    assert listed(browser.get("/console/contracts", status="vested").text) == [scene.vested]
    assert set(scene.harbour) <= set(listed(browser.get("/console/contracts", status="").text))
    refused = browser.get("/console/contracts", status="dreaming")
    assert refused.status_code == 400 and "query.invalid_parameter" in refused.text


def test_a_cursor_of_nothing_we_gave_is_refused_as_a_page(scene: Scene) -> None:
    answer = signed_in(scene, scene.api.world.auditor).get("/console/contracts", after="not-a-cursor")
    assert answer.status_code == 400 and "query.cursor_invalid" in answer.text


def test_a_viewer_of_no_party_lists_nothing(scene: Scene) -> None:
    page = signed_in(scene, scene.api.world.operator).get("/console/contracts")
    assert page.status_code == 200 and listed(page.text) == [] and "No contracts" in page.text


def test_the_home_page_links_to_the_contracts(scene: Scene) -> None:
    page = signed_in(scene, scene.api.world.producer).get("/console").text
    assert 'href="/console/contracts"' in page and "ada" in page and "producer" in page


def test_without_a_session_the_list_sends_the_browser_to_sign_in(scene: Scene) -> None:
    answer = scene.api.client.simulate_get("/console/contracts")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/sign-in")
