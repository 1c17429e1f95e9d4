"""A contract's timeline page over falcon's TestClient, on each store: the
history in order with recorded instants beside effective dates, the status
band, the as-of form, the hash-chain verdict and the exports, as each
viewer may see them; hidden is answered as missing; names are escaped."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from console_browser import ConsoleBrowser  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402
from views_scenario import LETTER  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402

MARKUP_NAME = "<script>alert('harbour')</script> AGA"
TERMINATION_NOTE = "NOTE-ON-THE-TERMINATION"


@dataclass
class Scene:
    api: Api
    terminated: uuid.UUID
    escaped: uuid.UUID
    before_termination: str
    markup_admin: Actor


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Scene]:
    for api in running_api(tmp_path_factory.mktemp("console-timeline"), store):
        w, ledger = api.world, api.config.ledger
        terminated = w.active_contract()
        ledger.add_writing_number(w.carrier_staff, terminated, "WN-TIMELINE")
        w.days_later(10)
        api.clock.advance(seconds=1)
        before_termination = api.clock.now().isoformat()
        api.clock.advance(seconds=1)
        ledger.terminate(w.carrier_staff, terminated, "Market Conduct", [LETTER], note=TERMINATION_NOTE,
                         effective_on=w.in_days(-4))
        markup = w.register("agency", MARKUP_NAME, level="AGA")
        w.relate(w.mga, markup)
        (escaped,) = w.assign([w.carrier, w.mga, markup, w.advisor], by=w.admin_of(markup))
        api.caught_up()
        yield Scene(api, terminated, escaped, before_termination, w.admin_of(markup))


def signed_in(scene: Scene, actor: Actor) -> ConsoleBrowser:
    browser = ConsoleBrowser(scene.api.client)
    assert browser.sign_in(scene.api.token(actor)).status_code == 303
    return browser


def events_in(page: str) -> list[str]:
    return re.findall(r'<tr class="entry" data-event="([^"]+)"', page)


def test_a_party_on_the_contract_sees_every_entry_in_the_ledgers_order(scene: Scene) -> None:
    page = signed_in(scene, scene.api.world.aga_admin).get(f"/console/contracts/{scene.terminated}")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    events = events_in(page.text)
    assert events[0] == "Assigned" and events[-1] == "Terminated" and "WritingNumberAdded" in events
    positions = [int(p) for p in re.findall(r'<td data-label="Position">(\d+)</td>', page.text)]
    assert positions == sorted(positions) and len(positions) == len(events)
    assert TERMINATION_NOTE in page.text and "Market Conduct" in page.text
    assert "carol@northern" in page.text and "carrier staff for Northern Life" in page.text
    assert "Harbour AGA" in page.text and "Ada Lovelace" in page.text  # the chain, by name


def test_a_back_dated_termination_is_shown_out_of_line(scene: Scene) -> None:
    page = signed_in(scene, scene.api.world.carrier_staff).get(f"/console/contracts/{scene.terminated}").text
    termination_row = page[page.index('data-event="Terminated"'):]
    assert "back-dated 4 days" in termination_row[:termination_row.index("</tr>")]
    assert page.count('class="out-of-line"') == 1  # that entry alone


def test_the_status_band_shows_each_status_until_the_next(scene: Scene) -> None:
    w = scene.api.world
    page = signed_in(scene, w.producer).get(f"/console/contracts/{scene.terminated}").text
    band = page[page.index('id="status-band"'):page.index("</ol>", page.index('id="status-band"'))]
    statuses = re.findall(r"<strong>([a-z_]+)</strong>", band)
    assert statuses[-2:] == ["active", "terminated"]
    assert f"from {w.in_days(-4).isoformat()} on" in band
    current = band[band.rindex("<li"):]  # the termination took effect: it is the status in force today
    assert 'class="current"' in current and f"in force on {w.today.isoformat()}" in current
    assert band.count('class="ended"') == len(statuses) - 1


def test_as_of_shows_the_contract_as_the_ledger_knew_it_then(scene: Scene) -> None:
    browser = signed_in(scene, scene.api.world.auditor)
    then = browser.get(f"/console/contracts/{scene.terminated}", as_of=scene.before_termination)
    assert then.status_code == 200
    assert "Terminated" not in events_in(then.text) and '<dd id="status">active</dd>' in then.text
    assert f'value="{scene.before_termination}"' in then.text
    now = browser.get(f"/console/contracts/{scene.terminated}")
    assert '<dd id="status">terminated</dd>' in now.text


@pytest.mark.parametrize("as_of, status, code", [
    ("yesterday", 400, "query.invalid_parameter"),
    ("2026-03-02T09:00:00", 400, "query.invalid_parameter"),  # no time zone
    ("tomorrow's instant", 422, "query.as_of_in_the_future"),
])
def test_an_as_of_the_api_refuses_is_refused_as_a_page(scene: Scene, as_of: str, status: int, code: str) -> None:
    if as_of == "tomorrow's instant":
        as_of = (scene.api.clock.now() + timedelta(days=1)).isoformat()
    answer = signed_in(scene, scene.api.world.auditor).get(f"/console/contracts/{scene.terminated}", as_of=as_of)
    assert answer.status_code == status and code in answer.text
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"


def test_the_hash_chain_verdict_covers_the_entries_shown_with_each_ones_link(scene: Scene) -> None:
    page = signed_in(scene, scene.api.world.auditor).get(f"/console/contracts/{scene.terminated}").text
    assert 'id="verdict" class="intact"' in page
    assert page.count(">proven<") == len(events_in(page))
    hashes = re.findall(r'<span class="muted">hash</span> <code>([0-9a-f]{16})</code>', page)
    previous = re.findall(r'<span class="muted">after</span> <code>([0-9a-f]{16})</code>', page)
    assert len(hashes) == len(events_in(page)) and len(set(hashes)) == len(hashes)
    assert previous[0] != hashes[0]


def test_a_contract_off_the_viewers_chain_is_answered_as_one_that_does_not_exist(scene: Scene) -> None:
    browser = signed_in(scene, scene.api.world.other_aga_admin)
    hidden = browser.get(f"/console/contracts/{scene.terminated}")
    nothing = uuid.uuid4()
    missing = browser.get(f"/console/contracts/{nothing}")
    assert hidden.status_code == missing.status_code == 404
    assert "contract.not_found" in hidden.text
    assert hidden.text.replace(str(scene.terminated), "{id}") == missing.text.replace(str(nothing), "{id}")
    assert "Market Conduct" not in hidden.text


def test_an_auditor_exports_the_contract_with_its_verdict_from_the_page(scene: Scene) -> None:
    browser = signed_in(scene, scene.api.world.auditor)
    page = browser.get(f"/console/contracts/{scene.terminated}").text
    links = re.findall(r'href="(/console/contracts/[^"?]+/export)\?format=(\w+)"', page)
    assert sorted(form for _, form in links) == ["csv", "jsonl"]
    exported = browser.get(links[0][0], format="csv")
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    assert "ExportVerdict" in exported.text and "WN-TIMELINE" in exported.text


def test_a_party_gets_no_export_links_and_the_export_refuses_it_as_the_api_does(scene: Scene) -> None:
    w = scene.api.world
    party = signed_in(scene, w.aga_admin)
    assert "/export" not in party.get(f"/console/contracts/{scene.terminated}").text
    refused = party.get(f"/console/contracts/{scene.terminated}/export")
    assert refused.status_code == 403 and "export.auditors_only" in refused.text
    hidden = signed_in(scene, w.other_aga_admin).get(f"/console/contracts/{scene.terminated}/export")
    assert hidden.status_code == 404 and "contract.not_found" in hidden.text


def test_a_party_name_with_markup_is_shown_as_text(scene: Scene) -> None:
    page = signed_in(scene, scene.markup_admin).get(f"/console/contracts/{scene.escaped}")
    assert page.status_code == 200
    assert MARKUP_NAME not in page.text and "<script" not in page.text
    assert "&lt;script&gt;alert(&#39;harbour&#39;)&lt;/script&gt; AGA" in page.text


def test_without_a_session_the_timeline_sends_the_browser_to_sign_in(scene: Scene) -> None:
    answer = scene.api.client.simulate_get(f"/console/contracts/{scene.terminated}")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/sign-in")
