"""Outbound feeds and inbound changes on a real SQLite ledger: items in
CloudEvents form with origin and causation, no echo, exactly-once changes,
recorded refusals, stale versions, and bundles moving whole or not at all."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from views_scenario import ContractingWorld, project  # noqa: E402

from contractledger.domain import ledger as ledger_module  # noqa: E402
from contractledger.domain.clock import SettableClock  # noqa: E402
from contractledger.domain.history import event_as_plain_data  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.projections.audit_export import Selection, rows  # noqa: E402
from contractledger.domain.event_decoding import BatchDecoder  # noqa: E402
from contractledger.projections.engine.view_database import view_database_for  # noqa: E402
from contractledger.sync import feed, inbound, links  # noqa: E402
from contractledger.sync.inbound import ChangeRefused, InboundChange, apply_change  # noqa: E402
from contractledger.sync.peer import PEERS_DIRECTORY, load_peer, peers  # noqa: E402


class Ground:
    def __init__(self, tmp_path: Path, env: dict[str, str] | None = None) -> None:
        path = str(tmp_path / "ledger.sqlite3")
        self.clock = SettableClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
        self.env = env or {"PERSISTENCE_MODULE": "contractledger.store.sqlite", "SQLITE_DBNAME": path}
        self.ledger = ContractLedger(self.env, clock=self.clock)
        self.views = view_database_for(self.env)
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
    # a command given no id gets one made up, named by its events alone
    assert items[6]["causationid"].startswith("ledger:") and items[6]["causationid"] != items[4]["causationid"]
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
    # a relayed bundle step: two contract events, the bundle's, then the record, in one save
    answer = ground.change("contracting", "c-step", first, version, kind="status", status="Pending Producer")
    assert sorted(answer["moved_contract_ids"]) == sorted([str(first), str(second)])
    items = ground.feed("manage", batch_size=batch_size)
    moved = [i for i in items if i["origin"] == "contracting"]
    assert [i["subject"] for i in moved] == [str(first), str(second)]
    assert {i["causationid"] for i in moved} == {"contracting:c-step"}
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
    first = ground.change("contracting", "c-send", contract_id, version, kind="status", status="Pending Producer")
    ground.ledger.submit_by_producer(w.producer, contract_id)
    again = ground.change("contracting", "c-send", contract_id, version, kind="status", status="Pending Producer")
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
    # one member cannot take the step (detached, then held on its own): none does
    ground.ledger.detach_from_bundle(w.mga_admin, members[1])
    refusal = ground.refused("contracting", "c-back", members[1], version + 2, kind="status", status="Pending Carrier")
    assert refusal["code"] == "contract.status.workflow_only"
    # the producer signed in contracting: relayed, the step moves what is still the bundle
    answer = ground.change("contracting", "c-sign", members[0], version + 1, kind="status", status="Pending Agency")
    assert answer["moved_contract_ids"] == [str(members[0])]
    assert [ground.ledger.get_contract(m).status for m in members] == [Status.PENDING_AGENCY, Status.PENDING_PRODUCER]


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


# -- causation: each item names the command that caused it ------------------------------------


def event_at(ground: Ground, item: dict[str, Any]) -> Any:
    (event,) = ground.ledger.events.get(UUID(item["subject"]), gt=item["ledgerversion"] - 1, lte=item["ledgerversion"])
    return event


@pytest.mark.parametrize("batch_size", [1, 2, 3, 1000])
def test_a_command_without_an_id_then_one_with_an_id_by_the_same_user_each_name_their_own(
    ground: Ground, batch_size: int
) -> None:
    w = ground.world
    first, second = w.assign(w.chain(), w.chain(aga=w.other_aga), by=w.mga_admin)
    # a bundle step without a command id (an event on each member), at once
    # followed by the same user's command with an id, then another without
    ground.ledger.send_to_producer(w.mga_admin, first)
    ground.ledger.add_contract_code(w.mga_admin, first, "C-1", command_id="mike-2")
    ground.ledger.add_contract_code(w.mga_admin, second, "C-2")
    items = ground.feed("manage", batch_size=batch_size)
    ours = [i for i in items if i["subject"] in (str(first), str(second))]
    step = [i for i in ours if i["type"].endswith("status_changed")]
    coded = [i for i in ours if i["type"].endswith("code_changed")]
    assert [i["subject"] for i in step] == [str(first), str(second)]
    assert [i["subject"] for i in coded] == [str(first), str(second)]
    made_up = step[0]["causationid"]
    assert made_up.startswith("ledger:") and step[1]["causationid"] == made_up  # one command, one cause
    assert coded[0]["causationid"] == "mike-2"
    assert coded[1]["causationid"].startswith("ledger:") and coded[1]["causationid"] != made_up
    # the cause is what the ledger recorded on the very event, in the same save
    for item in items:
        assert event_at(ground, item).causation_id == item["causationid"]
    assert items == sorted(items, key=lambda i: i["position"])


def test_every_event_a_command_saves_names_the_command(ground: Ground) -> None:
    w = ground.world
    members = w.assign(w.chain(), w.chain(aga=w.other_aga), by=w.mga_admin)
    before = ground.ledger.recorder.max_notification_id()
    ground.ledger.send_to_producer(w.mga_admin, members[0], command_id="mike-send")
    saved = ground.ledger.recorder.select_notifications(before + 1, 100)
    events = [ground.ledger.mapper.to_domain_event(n) for n in saved]
    assert len(events) == 4  # both members, the bundle's record of their move and the command's record
    assert {e.causation_id for e in events} == {"mike-send"}
    later = ground.ledger.recorder.max_notification_id()
    ground.ledger.submit_by_producer(w.producer, members[0])
    made_up = {ground.ledger.mapper.to_domain_event(n).causation_id for n in ground.ledger.recorder.select_notifications(later + 1, 100)}
    assert len(made_up) == 1 and made_up.pop().startswith("ledger:")
    assert ground.ledger.recorder.max_notification_id() == later + 3  # the members and the bundle, no command record


def test_an_event_stored_before_events_named_their_command_still_decodes(ground: Ground) -> None:
    w = ground.world
    contract_id = w.active_contract()
    (notification,) = [
        n for n in ground.ledger.recorder.select_notifications(1, 10_000) if n.originator_id == contract_id
    ][-1:]
    state = json.loads(notification.state)
    assert state.pop("causation_id").startswith("ledger:")
    old = dataclasses.replace(notification, state=json.dumps(state).encode())
    for event in (ground.ledger.mapper.to_domain_event(old), BatchDecoder(ground.ledger.mapper).decode(old)):
        assert event.causation_id is None and event.originator_version == notification.originator_version
        assert ground.ledger.history(contract_id)[-1]["details"] == event_as_plain_data(event)["details"]


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_events_stored_before_they_named_their_command_get_the_cause_inferred_as_then(
    ground: Ground, batch_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = ground.world
    members = w.assign(w.chain(), w.chain(aga=w.other_aga), by=w.mga_admin)
    version = ground.ledger.get_contract(members[0]).version
    # as the ledger saved before: no cause on the events, a record only for a command with an id
    monkeypatch.setattr(ledger_module, "mark_caused_by", lambda aggregates, command_id: None)
    ground.change("contracting", "c-step", members[0], version, kind="status", status="Pending Producer")
    ground.ledger.add_contract_code(w.mga_admin, members[1], "C-1")
    monkeypatch.undo()
    ground.ledger.add_contract_code(w.mga_admin, members[1], "C-2")
    items = ground.feed("manage", batch_size=batch_size)
    moved = [i for i in items if i["origin"] == "contracting"]
    assert [(i["subject"], i["causationid"]) for i in moved] == [(str(m), "contracting:c-step") for m in members]
    coded = [i for i in ground.feed("manage", batch_size=batch_size) if i["type"].endswith("code_changed")]
    assert coded[0]["causationid"] is None  # a command without an id, then: no record, no cause
    assert coded[1]["causationid"].startswith("ledger:")


# -- a concurrent writer collides with an inbound change ------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def either_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ground]:
    if request.param == "postgres":
        if not os.environ.get("POSTGRES_HOST"):
            pytest.skip("no PostgreSQL server: run under scripts/with-postgres")
        keys = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_USER", "POSTGRES_PASSWORD")
        env = {
            "PERSISTENCE_MODULE": "contractledger.store.postgres",
            **{k: os.environ[k] for k in keys},
            "POSTGRES_SCHEMA": f"t_{uuid4().hex[:16]}",
        }
        made = Ground(tmp_path, env)
    else:
        made = Ground(tmp_path)
    yield made
    made.ledger.close()
    made.views.close()


def another_writer_goes_first(
    ground: Ground, monkeypatch: pytest.MonkeyPatch, times: int, write: Any
) -> list[int]:
    """Each of the peer's next ``times`` saves is preceded, after the change
    was judged and built, by ``write(other)``: a command through a second
    ledger on the same store (another process's writer). Answers how many
    times it went first."""
    other = ContractLedger(ground.env, clock=ground.clock)
    original = ground.ledger.save
    went: list[int] = []

    def save(*objs: Any, **kwargs: Any) -> Any:
        by_peer = any(
            getattr(e, "actor", None) == ground.world.peer for o in objs for e in getattr(o, "pending_events", [])
        )
        if by_peer and len(went) < times:
            went.append(1)
            write(other)
        return original(*objs, **kwargs)

    monkeypatch.setattr(ground.ledger, "save", save)
    return went


def export_of(ground: Ground, command_id: str) -> list[dict[str, Any]]:
    export = list(rows(ground.ledger.recorder, ground.ledger.mapper, Selection()))
    return [r for r in export if r["event"] == "CommandRecord.Recorded" and command_id in str(r["details"])]


def test_a_collision_on_something_else_is_judged_again_and_applied(
    either_store: Ground, monkeypatch: pytest.MonkeyPatch
) -> None:
    ground = either_store
    w = ground.world
    contract_id = w.active_contract()
    seen = ground.ledger.get_contract(contract_id).version
    went = another_writer_goes_first(
        ground, monkeypatch, 1, lambda other: other.add_contract_code(w.carrier_staff, contract_id, "C-1")
    )
    answer = ground.change("manage", "m-1", contract_id, seen, kind="writing_number_added", writing_number="WN-1")
    assert went == [1]
    assert answer["outcome"] == "applied" and answer["version"] == seen + 2
    assert answer["contract"]["writing_numbers"] == ["WN-1"] and answer["contract"]["codes"] == [{"code": "C-1", "status": "active"}]
    contract = ground.ledger.get_contract(contract_id)
    assert (contract.version, contract.writing_numbers) == (seen + 2, ["WN-1"])
    again = ground.change("manage", "m-1", contract_id, seen, kind="writing_number_added", writing_number="WN-1")
    assert again == answer and ground.ledger.get_contract(contract_id).version == seen + 2
    heard = about(ground.feed("contracting"), contract_id)[-1]
    assert (heard["causationid"], heard["ledgerversion"], heard["origin"]) == ("manage:m-1", seen + 2, "manage")


def test_a_collision_on_what_the_change_is_about_is_a_recorded_stale_refusal_with_the_current_state(
    either_store: Ground, monkeypatch: pytest.MonkeyPatch
) -> None:
    ground = either_store
    w = ground.world
    (contract_id,) = w.assign()
    w.onboard(contract_id)
    seen = ground.ledger.get_contract(contract_id).version
    another_writer_goes_first(
        ground, monkeypatch, 1, lambda other: other.set_manual_status(w.carrier_staff, contract_id, Status.DECLINED)
    )
    refusal = ground.refused("manage", "m-2", contract_id, seen, kind="status", status="Approved")
    assert (refusal["code"], refusal["error"]) == ("sync.stale_version", "Conflict")
    assert refusal["current"]["status"] == "declined" and refusal["current"]["version"] == seen + 1
    contract = ground.ledger.get_contract(contract_id)
    assert (contract.status, contract.version) == (Status.DECLINED, seen + 1)  # only the other writer's change
    assert ground.refused("manage", "m-2", contract_id, seen, kind="status", status="Approved") == refusal
    (recorded,) = export_of(ground, "manage:m-2")
    assert "sync.stale_version" in str(recorded["details"]) and recorded["actor_user"] == "manage"


def test_colliding_twice_is_refused_recorded_and_answered_with_the_current_state(
    either_store: Ground, monkeypatch: pytest.MonkeyPatch
) -> None:
    ground = either_store
    w = ground.world
    contract_id = w.active_contract()
    seen = ground.ledger.get_contract(contract_id).version
    codes = iter(["C-1", "C-2", "C-3"])
    went = another_writer_goes_first(
        ground, monkeypatch, 2, lambda other: other.add_contract_code(w.carrier_staff, contract_id, next(codes))
    )
    refusal = ground.refused("manage", "m-3", contract_id, seen, kind="writing_number_added", writing_number="WN-1")
    assert went == [1, 1]
    assert (refusal["code"], refusal["error"], refusal["change_id"]) == ("sync.concurrent_change", "Conflict", "m-3")
    assert refusal["current"]["version"] == seen + 2 and refusal["current"]["writing_numbers"] == []
    assert [c["code"] for c in refusal["current"]["codes"]] == ["C-1", "C-2"]
    position = ground.ledger.recorder.max_notification_id()
    # nothing of the change was applied; its refusal is recorded, for auditors and for its repeats
    assert ground.ledger.get_contract(contract_id).writing_numbers == []
    assert ground.refused("manage", "m-3", contract_id, seen, kind="writing_number_added", writing_number="WN-1") == refusal
    assert ground.ledger.recorder.max_notification_id() == position
    (recorded,) = export_of(ground, "manage:m-3")
    assert "sync.concurrent_change" in str(recorded["details"]) and recorded["actor_role"] == "sync_peer"


# -- relayed steps (rules §9): a peer that runs part of the workflow relays the steps taken in it ------


def relayed_bundle(ground: Ground) -> list[UUID]:
    """Two contracts the MGA assigned and sent to the producer (pending_producer)."""
    w = ground.world
    members = w.assign(w.chain(), w.chain(aga=w.other_aga), by=w.mga_admin)
    ground.ledger.send_to_producer(w.mga_admin, members[0])
    return members


def test_relayed_steps_the_producer_s_signature_is_recorded_as_that_step_for_the_producer_with_the_peer_as_origin(
    either_store: Ground,
) -> None:
    ground = either_store
    members = relayed_bundle(ground)
    version = ground.ledger.get_contract(members[1]).version
    # "Pending Agency" after "Pending Producer": the producer signed in contracting
    answer = ground.change("contracting", "c-sign", members[1], version, kind="status", status="Pending Agency")
    assert set(answer["moved_contract_ids"]) == {str(m) for m in members}
    assert answer["contract"]["status"] == "pending_agency" and answer["version"] == version + 1
    for member in members:
        last = ground.ledger.history(member)[-1]
        assert last["event"] == "SubmittedByProducer"
        assert last["actor"] == {"role": "sync_peer", "user": "contracting", "party_id": None, "on_behalf_of": "producer"}
    manage = [i for i in ground.feed("manage") if i["causationid"] == "contracting:c-sign"]
    assert [i["subject"] for i in manage] == [str(members[1]), str(members[0])]  # the one named first
    assert {i["origin"] for i in manage} == {"contracting"}
    assert manage[0]["data"]["actor"] == {"role": "sync_peer", "user": "contracting", "on_behalf_of": "producer"}
    assert manage[0]["data"]["peer_status"] == "Pending with Agency"
    assert not [i for i in ground.feed("contracting") if i["causationid"] == "contracting:c-sign"]  # no echo
    # the agency admin's review, relayed too: on behalf of the agency admin
    ground.change("contracting", "c-review", members[0], version + 1, kind="status", status="Pending Carrier")
    last = ground.ledger.history(members[0])[-1]
    assert (last["event"], last["actor"]["on_behalf_of"]) == ("SubmittedToCarrier", "agency_admin")
    again = ground.change("contracting", "c-sign", members[1], version, kind="status", status="Pending Agency")
    assert again == answer  # the same change id: applied once, answered the same


def test_relayed_steps_a_step_the_peer_file_does_not_list_is_refused_with_a_stable_code(
    either_store: Ground, tmp_path: Path
) -> None:
    ground = either_store
    members = relayed_bundle(ground)
    version = ground.ledger.get_contract(members[0]).version
    position = ground.ledger.recorder.max_notification_id()
    refusal = ground.refused("manage", "m-sign", members[0], version, kind="status", status="Pending with Agency")
    assert (refusal["code"], refusal["error"], refusal["field"]) == ("sync.step_not_relayed", "NotPermitted", "change.status")
    assert "submit_by_producer" in refusal["message"]
    assert {ground.ledger.get_contract(m).status for m in members} == {Status.PENDING_PRODUCER}
    assert ground.refused("manage", "m-sign", members[0], version, kind="status", status="Pending with Agency") == refusal
    assert ground.ledger.recorder.max_notification_id() == position + 1  # only the refusal's record
    # the file decides: a contracting that relays only sending does not relay the signature
    text = (PEERS_DIRECTORY / "contracting.toml").read_text()
    relays = 'relays = ["send_to_producer", "submit_by_producer", "return_to_producer", "submit_to_carrier"]'
    assert relays in text
    (tmp_path / "contracting.toml").write_text(text.replace(relays, 'relays = ["send_to_producer"]'))
    narrower = load_peer(tmp_path / "contracting.toml")
    request = msgspec.convert(
        {"change_id": "c-sign", "contract_id": str(members[0]), "seen_version": version,
         "change": {"kind": "status", "status": "Pending Agency"}},
        InboundChange,
    )
    with pytest.raises(ChangeRefused) as refused:
        apply_change(ground.ledger, narrower, request)
    assert refused.value.refusal["code"] == "sync.step_not_relayed"
    assert {ground.ledger.get_contract(m).status for m in members} == {Status.PENDING_PRODUCER}


def test_a_writer_landing_after_the_change_was_judged_and_before_it_ran_is_judged_again(
    either_store: Ground, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race loop found it: a user's status landing between the staleness
    check and the change's own read of the contract let the peer's status be
    applied on a contract it never saw (both answered 200: active, then
    declined). Now the change runs conditional on the version it was judged
    on, and is judged again: refused as stale, with the current state."""
    ground = either_store
    w = ground.world
    (contract_id,) = w.assign()
    w.onboard(contract_id)
    seen = ground.ledger.get_contract(contract_id).version
    other = ContractLedger(ground.env, clock=ground.clock)
    original, went = inbound._run, []
    lands = [lambda: other.set_manual_status(w.carrier_staff, contract_id, Status.ACTIVE)]

    def run(*args: Any, **kwargs: Any) -> Any:
        if lands:
            went.append(lands.pop(0)())
        return original(*args, **kwargs)

    monkeypatch.setattr(inbound, "_run", run)
    try:
        refusal = ground.refused("manage", "m-late", contract_id, seen, kind="status", status="Declined")
        assert went and (refusal["code"], refusal["error"]) == ("sync.stale_version", "Conflict")
        assert refusal["current"]["status"] == "active" and refusal["current"]["version"] == seen + 1
        contract = ground.ledger.get_contract(contract_id)
        assert (contract.status, contract.version) == (Status.ACTIVE, seen + 1)  # only the user's change
        # a writer landing there on something else: judged again, and applied after it
        lands.append(lambda: other.add_writing_number(w.carrier_staff, contract_id, "WN-1"))
        answer = ground.change("manage", "m-code", contract_id, seen + 1, kind="code_added", code="C-1")
        assert not lands and answer["outcome"] == "applied" and answer["version"] == seen + 3
        assert answer["contract"]["writing_numbers"] == ["WN-1"]
    finally:
        other.close()
