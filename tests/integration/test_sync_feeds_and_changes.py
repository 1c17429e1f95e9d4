"""Outbound feeds and inbound changes on a real SQLite ledger: items in
CloudEvents form with origin and causation, no echo, exactly-once changes,
recorded refusals, stale versions, and bundles moving whole or not at all."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from views_scenario import ContractingWorld, project  # noqa: E402

from contractledger.domain.clock import SettableClock  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.projections.audit_export import Selection, rows  # noqa: E402
from contractledger.projections.view_database import SqliteViewDatabase  # noqa: E402
from contractledger.sync import feed, links  # noqa: E402
from contractledger.sync.inbound import ChangeRefused, InboundChange, apply_change  # noqa: E402
from contractledger.sync.peer import peers  # noqa: E402


class Ground:
    def __init__(self, tmp_path: Path) -> None:
        path = str(tmp_path / "ledger.sqlite3")
        self.clock = SettableClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
        self.ledger = ContractLedger({"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": path}, clock=self.clock)
        self.views = SqliteViewDatabase(path)
        self.world = ContractingWorld(self.ledger, self.clock)
        self.manage = peers()["manage"]
        self.contracting = peers()["contracting"]

    def feed(self, peer: str, batch_size: int = 1000) -> list[dict[str, Any]]:
        project(self.ledger, self.views, batch_size=batch_size)
        return feed.read_page(self.views, peer, 0, 10_000).items

    def change(self, peer: str, change_id: str, contract_id: Any, seen_version: int, **change: Any) -> dict[str, Any]:
        request = msgspec.convert(
            {"change_id": change_id, "contract_id": str(contract_id), "seen_version": seen_version, "change": change},
            InboundChange,
        )
        return apply_change(self.ledger, peers()[peer], request)

    def refused(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        with pytest.raises(ChangeRefused) as refusal:
            self.change(*args, **kwargs)
        return refusal.value.refusal


@pytest.fixture
def ground(tmp_path: Path) -> Iterator[Ground]:
    made = Ground(tmp_path)
    yield made
    made.ledger.close()
    made.views.close()


def about(items: list[dict[str, Any]], contract_id: Any) -> list[dict[str, Any]]:
    return [i for i in items if i["subject"] == str(contract_id)]


def test_a_contract_s_changes_reach_each_peer_in_its_words_beside_ours(ground: Ground) -> None:
    w = ground.world
    contract_id = w.active_contract()
    ground.ledger.add_writing_number(w.carrier_staff, contract_id, "WN-1", command_id="carol-1")
    ground.ledger.add_contract_code(w.carrier_staff, contract_id, "C-9")
    items = about(ground.feed("manage"), contract_id)
    assert [i["type"].rsplit(".", 1)[1] for i in items] == [
        "assigned", "status_changed", "status_changed", "status_changed", "status_changed",
        "writing_number_added", "code_changed",
    ]
    assert [i["contractsequence"] for i in items] == list(range(1, 8))
    active = items[4]
    assert (active["data"]["status"], active["data"]["peer_status"]) == ("active", "Approved")
    assert active["specversion"] == "1.0" and active["datacontenttype"] == "application/json"
    assert active["origin"] == "ledger" and active["source"] == "/contractledger"
    assert items[5]["causationid"] == "carol-1" and items[5]["data"]["writing_numbers"] == ["WN-1"]
    assert items[6]["causationid"] is None  # a command without an id has none
    # contracting does not receive code changes; its names are its own
    contracting = about(ground.feed("contracting"), contract_id)
    assert [i["contractsequence"] for i in contracting] == list(range(1, 7))
    assert contracting[1]["data"]["peer_status"] == "Pending Producer"
    assert len({i["id"] for i in items + contracting}) == 13


def test_reading_the_same_range_twice_gives_the_same_items(ground: Ground) -> None:
    w = ground.world
    w.active_contract()
    first = ground.feed("manage")
    again = feed.read_page(ground.views, "manage", 0, 10_000).items
    assert first == again
    middle = first[3]["position"]
    assert feed.read_page(ground.views, "manage", middle, 2).items == first[4:6]
    assert feed.read_page(ground.views, "manage", first[-1]["position"], 50).items == []  # caught up


def test_a_peer_s_change_is_not_echoed_to_it_and_reaches_the_other_marked_with_its_origin(ground: Ground) -> None:
    w = ground.world
    contract_id = w.active_contract()
    version = ground.ledger.get_contract(contract_id).version
    answer = ground.change("manage", "m-1", contract_id, version, kind="writing_number_added", writing_number="WN-7")
    assert answer["outcome"] == "applied" and answer["version"] == version + 1
    assert [i["data"]["change"] for i in about(ground.feed("manage"), contract_id)][-1] != {"writing_number": "WN-7"}
    heard = about(ground.feed("contracting"), contract_id)[-1]
    assert heard["data"]["change"] == {"writing_number": "WN-7"}
    assert heard["origin"] == "manage" and heard["causationid"] == "manage:m-1"
    assert heard["ledgerversion"] == version + 1


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_causation_survives_a_runner_batch_ending_between_a_change_and_its_record(ground: Ground, batch_size: int) -> None:
    w = ground.world
    first, second = w.assign(w.chain(), w.chain(aga=w.other_aga), by=w.mga_admin)
    version = ground.ledger.get_contract(first).version
    # a bundle step: two contract events, then the record, in one save
    answer = ground.change("manage", "m-step", first, version, kind="status", status="Pending with Producer")
    assert sorted(answer["moved_contract_ids"]) == sorted([str(first), str(second)])
    items = ground.feed("contracting", batch_size=batch_size)
    moved = [i for i in items if i["origin"] == "manage"]
    assert [i["subject"] for i in moved] == [str(first), str(second)]
    assert {i["causationid"] for i in moved} == {"manage:m-step"}
    assert items == sorted(items, key=lambda i: i["position"])


def test_the_same_change_id_twice_is_applied_once_and_answered_the_same(ground: Ground) -> None:
    w = ground.world
    contract_id = w.active_contract()
    version = ground.ledger.get_contract(contract_id).version
    first = ground.change("contracting", "c-1", contract_id, version, kind="writing_number_added", writing_number="WN-1")
    position = ground.ledger.recorder.max_notification_id()
    again = ground.change("contracting", "c-1", contract_id, version, kind="writing_number_added", writing_number="WN-1")
    assert again == first
    assert ground.ledger.recorder.max_notification_id() == position
    assert ground.ledger.get_contract(contract_id).writing_numbers == ["WN-1"]
    reused = ground.refused("contracting", "c-1", contract_id, version, kind="writing_number_added", writing_number="WN-2")
    assert reused["code"] == "command.id_reused"


def test_a_repeated_workflow_step_is_answered_the_same_after_the_contract_moved_on(ground: Ground) -> None:
    w = ground.world
    (contract_id,) = w.assign()
    version = ground.ledger.get_contract(contract_id).version
    first = ground.change("manage", "m-send", contract_id, version, kind="status", status="Pending with Producer")
    ground.ledger.submit_by_producer(w.producer, contract_id)
    again = ground.change("manage", "m-send", contract_id, version, kind="status", status="Pending with Producer")
    assert again == first and first["version"] == version + 1


def test_a_rule_breaking_change_is_refused_with_the_rule_s_code_and_recorded_for_auditors(ground: Ground) -> None:
    w = ground.world
    contract_id = w.active_contract()
    version = ground.ledger.get_contract(contract_id).version
    refusal = ground.refused("manage", "m-back", contract_id, version, kind="status", status="Pending Backgrounds")
    assert refusal["code"] == "contract.status.active_to_terminal_only"
    assert ground.ledger.get_contract(contract_id).status is Status.ACTIVE
    assert ground.ledger.get_contract(contract_id).version == version  # nothing half-applied
    again = ground.refused("manage", "m-back", contract_id, version, kind="status", status="Pending Backgrounds")
    assert again == refusal
    export = list(rows(ground.ledger.recorder, ground.ledger.mapper, Selection()))
    recorded = [r for r in export if r["event"] == "CommandRecord.Recorded" and "manage:m-back" in str(r["details"])]
    assert len(recorded) == 1 and "contract.status.active_to_terminal_only" in str(recorded[0]["details"])
    assert recorded[0]["actor_role"] == "sync_peer" and recorded[0]["actor_user"] == "manage"


def test_an_unknown_status_name_is_refused_and_recorded(ground: Ground) -> None:
    w = ground.world
    contract_id = w.active_contract()
    version = ground.ledger.get_contract(contract_id).version
    refusal = ground.refused("manage", "m-x", contract_id, version, kind="status", status="Inactive")
    assert refusal["code"] == "sync.status.unknown"


def test_a_stale_version_that_conflicts_is_refused_with_the_current_state(ground: Ground) -> None:
    w = ground.world
    (contract_id,) = w.assign()
    w.onboard(contract_id)
    seen = ground.ledger.get_contract(contract_id).version
    ground.ledger.set_manual_status(w.carrier_staff, contract_id, Status.PENDING_BACKGROUNDS)
    ground.ledger.add_writing_number(w.carrier_staff, contract_id, "WN-1")
    refusal = ground.refused("manage", "m-old", contract_id, seen, kind="status", status="Approved")
    assert refusal["code"] == "sync.stale_version" and refusal["error"] == "Conflict"
    assert refusal["current"] == {
        "contract_id": str(contract_id), "version": seen + 2, "status": "pending_backgrounds",
        "peer_status": "Pending Backgrounds", "writing_numbers": ["WN-1"], "codes": [],
    }
    # a stale version whose subject did not move is not a conflict
    answer = ground.change("manage", "m-code", contract_id, seen, kind="code_added", code="C-1")
    assert answer["outcome"] == "applied"


def test_a_bundle_moves_whole_through_an_inbound_step_or_not_at_all(ground: Ground) -> None:
    w = ground.world
    members = w.assign(w.chain(), w.chain(aga=w.other_aga), by=w.mga_admin)
    version = ground.ledger.get_contract(members[0]).version
    ground.change("contracting", "c-send", members[0], version, kind="status", status="Pending Producer")
    assert {ground.ledger.get_contract(m).status for m in members} == {Status.PENDING_PRODUCER}
    # signing is the producer's own act: the peer's step is refused for every member
    refusal = ground.refused("contracting", "c-sign", members[1], version + 1, kind="status", status="Pending Agency")
    assert refusal["code"] == "contract.advisor_only"
    assert {ground.ledger.get_contract(m).status for m in members} == {Status.PENDING_PRODUCER}


def test_an_external_id_links_once_and_then_names_the_contract(ground: Ground) -> None:
    w = ground.world
    contract_id = w.active_contract()
    links.link(ground.ledger, "manage", contract_id, "M-100")
    links.link(ground.ledger, "manage", contract_id, "M-100")  # again: nothing new
    assert links.contract_named(ground.ledger, "manage", "M-100") == contract_id
    other = w.active_contract(advisor=w.second_advisor)
    with pytest.raises(Exception) as taken:
        links.link(ground.ledger, "manage", other, "M-100")
    assert getattr(taken.value, "code", None) == "sync.external_id.taken"
    ground.ledger.add_writing_number(w.carrier_staff, contract_id, "WN-1")
    last = about(ground.feed("manage"), contract_id)[-1]
    assert last["data"]["external_id"] == "M-100"
    assert about(ground.feed("contracting"), contract_id)[-1]["data"]["external_id"] is None
