"""rules §5 over HTTP, on both stores: after a termination takes effect, the
terminating parties no longer see the advisor's profile changes on any
surface (the party read, its ETag, the directory's lists and filters, the
version a refused command would tell), while everyone else who may see the
profile does; reactivation makes the changes visible again."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402
from views_scenario import LETTER  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402

NEW = {"name": "Grace Brewster Murray", "identifiers": {"npn": "NEW-NPN"}}


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


def read(api: Api, actor: Actor, path: str, **params: str) -> Any:
    api.caught_up()
    answer = api.client.simulate_get(path, headers=api.as_(actor), params=params)
    assert answer.status_code == 200, answer.text
    return answer


def card(api: Api, actor: Actor, party: Any, **filters: str) -> dict[str, Any]:
    items = read(api, actor, "/parties", limit="500", **filters).json["items"]
    (found,) = [c for c in items if c["party_id"] == str(party)]
    return {"name": found["name"], "identifiers": found["identifiers"]}


def seen(api: Api, actor: Actor, party: Any) -> tuple[str, dict[str, Any], str]:
    answer = read(api, actor, f"/parties/{party}")
    return answer.json["name"], answer.json.get("identifiers"), answer.headers["ETag"]


def terminated_by_the_carrier(w: Any, count: int) -> list[Any]:
    """``count`` new advisors, each with one contract the carrier terminated today."""
    ended = []
    for number in range(count):
        advisor = w.register("advisor", f"Advisor {number}", advisor_kind="individual")
        (contract,) = w.assign(w.chain(advisor), by=w.aga_admin)
        w.ledger.set_manual_status(w.carrier_staff, contract, Status.ACTIVE)
        w.ledger.terminate(w.carrier_staff, contract, "Retired", [LETTER], effective_on=w.today)
        ended.append(advisor)
    return ended


def contract_reads(monkeypatch: pytest.MonkeyPatch) -> list[set[Any]]:
    """The advisors whose contracts each read of the sights asks for, as they happen."""
    from contractledger.projections import contract_status, profile_sight

    read_for: list[set[Any]] = []
    reader = contract_status.read_contracts

    def counted(read: Any, viewer: Any, **kwargs: Any) -> Any:
        read_for.append(set(kwargs.get("advisor_ids") or ()))
        return reader(read, viewer, **kwargs)

    monkeypatch.setattr(profile_sight, "read_contracts", counted)
    return read_for


def test_after_the_effective_date_the_terminating_parties_no_longer_see_the_advisors_profile_changes(api: Api) -> None:
    w = api.world
    advisor, producer = w.second_advisor, w.second_producer
    ended = w.active_contract(advisor=advisor)  # carrier, MGA, AGA, advisor
    w.active_contract(advisor=advisor, aga=w.other_aga)  # carrier, MGA, the other AGA: still in force
    terminated = api.client.simulate_post(
        f"/contracts/{ended}/terminate", headers=api.as_(w.carrier_staff),
        json={"reason": "Retired", "documents": [LETTER.__dict__], "effective_on": w.today.isoformat()},
    )
    assert terminated.status_code == 200, terminated.json
    old = {"name": "Grace Hopper", "identifiers": {"npn": "Gra"}}
    before = seen(api, w.aga_admin, advisor)
    assert before[:2] == (old["name"], old["identifiers"])
    api.clock.advance(seconds=1)

    changed = api.client.simulate_post(
        f"/parties/{advisor}/change-profile", headers={**api.as_(producer), "If-Match": before[2]},
        json={"changes": {**NEW, "addresses": [{"city": "Arlington"}]}},
    )
    assert changed.status_code == 200, changed.json

    # the terminating party (on no contract in force with the advisor): the profile as it was, on every surface
    assert seen(api, w.aga_admin, advisor) == before
    for filters in ({}, {"kind": "advisor"}):
        assert card(api, w.aga_admin, advisor, **filters) == old
    assert "addresses" not in read(api, w.aga_admin, f"/parties/{advisor}").json
    # a refused command tells it no version either (a 412 would say "it is now at version 2")
    for path, body in ((f"/parties/{advisor}/change-profile", {"changes": {"name": "x"}}),
                       (f"/parties/{advisor}/associate", {"corporation_id": str(w.corporation)}),
                       (f"/parties/{advisor}/dissociate", {"corporation_id": str(w.corporation)})):
        refused = api.client.simulate_post(path, headers={**api.as_(w.aga_admin), "If-Match": '"1"'}, json=body)
        assert refused.status_code == 403 and "current_version" not in refused.json, (path, refused.json)

    # positive controls: those with a contract in force, the advisor, auditors and the public directory see the change
    for actor in (w.carrier_staff, w.mga_admin, w.other_aga_admin, producer, w.auditor):
        name, identifiers, tag = seen(api, actor, advisor)
        assert (name, identifiers) == (NEW["name"], NEW["identifiers"]) and tag != before[2], actor
        assert card(api, actor, advisor, kind="advisor") == NEW
    stranger = w.admin_of(w.register("agency", "Elsewhere AGA", level="AGA"))
    assert card(api, stranger, advisor, kind="advisor") == NEW

    # reactivation: the changes made while terminated become visible
    reactivated = api.client.simulate_post(f"/contracts/{ended}/reactivate", headers=api.as_(w.carrier_staff), json={})
    assert reactivated.status_code == 200, reactivated.json
    name, identifiers, tag = seen(api, w.aga_admin, advisor)
    assert (name, identifiers, tag) == (NEW["name"], NEW["identifiers"], seen(api, w.auditor, advisor)[2])
    assert card(api, w.aga_admin, advisor, kind="advisor") == NEW


def test_before_the_effective_date_the_terminating_parties_still_follow_the_profile(api: Api) -> None:
    w = api.world
    advisor = w.second_advisor
    ended = w.active_contract(advisor=advisor)
    w.ledger.terminate(w.carrier_staff, ended, "Retired", [LETTER], effective_on=w.in_days(10))
    api.clock.advance(seconds=1)
    w.ledger.change_profile(w.second_producer, advisor, NEW)
    assert card(api, w.aga_admin, advisor, kind="advisor") == NEW
    assert seen(api, w.aga_admin, advisor)[:2] == (NEW["name"], NEW["identifiers"])
    # the same reads on a day after the termination takes effect show the profile as it was when it was recorded
    later = w.in_days(11).isoformat()
    frozen = read(api, w.aga_admin, f"/parties/{advisor}", on=later)
    assert frozen.json["name"] == "Grace Hopper" and frozen.headers["ETag"] == '"1"'


def test_a_page_naming_a_few_parties_reads_the_contracts_of_none_of_the_viewers_other_terminated_advisors(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cards of a contract's chain, for a carrier that terminated contracts with many advisors: the snapshot
    sight is decided for the advisors named, not for every advisor the carrier terminated with (at 25,000
    contracts a carrier's contracts page read 1,762 contracts of other advisors for it)."""
    from contractledger.projections import directory
    from contractledger.projections.viewer import Viewer

    w = api.world
    ended = terminated_by_the_carrier(w, 4)
    api.caught_up()
    read_for = contract_reads(monkeypatch)
    viewer = Viewer.of(w.carrier_staff)
    named = {w.carrier, w.mga, ended[0]}
    cards = directory.parties(api.config.views, viewer, party_ids=named, on=w.today)
    assert {card.party_id for card in cards} == named
    assert all(advisors <= {ended[0]} for advisors in read_for), read_for
    read_for.clear()
    everyone = directory.parties(api.config.views, viewer, on=w.today)  # the whole directory still knows them all
    # none of their cards changed, so each one's snapshot shows its card as it is: no contract is read for it
    assert set(ended) <= {card.party_id for card in everyone} and set().union(*read_for) == set()


def test_the_directory_reads_the_contracts_only_of_the_terminated_advisors_whose_card_changed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A carrier's directory page, when it terminated contracts with many advisors: only an advisor whose name
    or identifiers changed can show the carrier a card other than its own (the termination's snapshot), so only
    such an advisor's contracts are read to place it (at 250,000 contracts a carrier's page read the contracts of
    every advisor it ever terminated with, about 17,000 of them, for each page)."""
    from contractledger.projections import directory
    from contractledger.projections.viewer import Viewer

    w = api.world
    ended = terminated_by_the_carrier(w, 4)
    renamed, moved, _, _ = ended
    w.ledger.change_profile(Actor(Role.PRODUCER, "renamed", renamed), renamed, {"name": "Zelda Renamed"})
    w.ledger.change_profile(Actor(Role.PRODUCER, "moved", moved), moved, {"addresses": [{"city": "Leeds"}]})
    api.caught_up()
    read_for = contract_reads(monkeypatch)
    cards = {card.party_id: card.name for card in directory.parties(api.config.views, Viewer.of(w.carrier_staff), on=w.today)}
    assert set().union(*read_for) == {renamed}, read_for
    assert (cards[renamed], cards[moved]) == ("Advisor 0", "Advisor 1")  # the carrier sees the snapshot's name
    assert card(api, w.auditor, renamed)["name"] == "Zelda Renamed"


def test_a_directory_built_before_it_kept_changed_cards_learns_them_from_its_profile_changes(api: Api) -> None:
    """A generation of the directory built by an older version has no changed cards: preparing the view reads
    them once from the profile changes it kept, so a renamed advisor is still placed by its snapshot."""
    from contractledger.projections.directory import DirectoryView, read_changed_cards
    from contractledger.projections.engine.queries import reading

    w = api.world
    renamed = w.register("advisor", "Before Rename", advisor_kind="individual")
    kept = w.register("advisor", "Kept Name", advisor_kind="individual")
    w.ledger.change_profile(Actor(Role.PRODUCER, "r", renamed), renamed, {"identifiers": {"npn": "R-2"}})
    w.ledger.change_profile(Actor(Role.PRODUCER, "k", kept), kept, {"addresses": [{"city": "York"}]})
    api.caught_up()
    view = DirectoryView()
    with api.config.views.transaction() as tx:
        tx.execute(f"DELETE FROM {view.t['changed_cards']}")  # as an older generation had none
        for statement in view.tables_schema():
            tx.execute(statement)
    with reading(api.config.views) as read:
        assert read_changed_cards(read) == {renamed}
