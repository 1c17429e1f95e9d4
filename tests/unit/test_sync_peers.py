"""Peers as data: the shipped peer files load, and a bad one is refused naming the file and the entry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contractledger.domain.status import Status
from contractledger.sync.peer import PEERS_DIRECTORY, PeerDefinitionError, load_peer, load_peers


def test_the_two_peers_map_every_status_and_read_back_what_they_are_sent() -> None:
    peers = load_peers(PEERS_DIRECTORY)
    assert set(peers) == {"contracting", "manage"}
    manage = peers["manage"]
    assert manage.name_for(Status.ACTIVE) == "Approved"
    assert manage.status_named("Approved") is Status.ACTIVE
    assert manage.status_named("Inactive") is None  # shown for two statuses: never taken as a change
    for peer in peers.values():
        assert all(peer.name_for(status) for status in Status)
        assert all(peer.name_for(ours) in peer.outbound.values() for ours in peer.inbound.values())
    assert "code_changed" not in peers["contracting"].receives


def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (PEERS_DIRECTORY / "manage.toml").read_text()
    assert old in text
    (tmp_path / "manage.toml").write_text(text.replace(old, new, 1))
    return tmp_path / "manage.toml"


def test_an_unknown_status_in_a_mapping_is_refused_naming_the_file_and_the_status(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, '"Approved" = "active"', '"Approved" = "approved"')
    with pytest.raises(PeerDefinitionError) as refused:
        load_peer(path)
    assert str(path) in str(refused.value) and "'approved'" in str(refused.value)


def test_a_status_left_unmapped_is_refused_rather_than_dropped(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, 'vested = "Inactive"\n', "")
    with pytest.raises(PeerDefinitionError, match="no name for the status 'vested'"):
        load_peer(path)


def test_an_unknown_kind_of_change_is_refused(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, '"reactivated",', '"revived",')
    with pytest.raises(PeerDefinitionError, match="'revived'"):
        load_peer(path)


def test_relayed_steps_the_peer_file_says_which_workflow_steps_a_peer_relays() -> None:
    peers = load_peers(PEERS_DIRECTORY)
    assert {s.action for s in peers["contracting"].relays} == {
        "send_to_producer", "submit_by_producer", "return_to_producer", "submit_to_carrier"
    }
    assert peers["manage"].relays == frozenset()  # it runs no part of the workflow


def test_relayed_steps_a_peer_file_relaying_what_is_not_a_workflow_step_is_refused(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "relays = []", 'relays = ["approve"]')
    with pytest.raises(PeerDefinitionError) as refused:
        load_peer(path)
    assert str(path) in str(refused.value) and "'approve'" in str(refused.value) and "submit_by_producer" in str(refused.value)


def test_relayed_steps_a_peer_file_must_say_what_it_relays(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "relays = []\n", "")
    with pytest.raises(PeerDefinitionError, match="relays is missing"):
        load_peer(path)


def test_a_third_peer_is_a_new_file(tmp_path: Path) -> None:
    for source in PEERS_DIRECTORY.glob("*.toml"):
        shutil.copy(source, tmp_path)
    text = (PEERS_DIRECTORY / "manage.toml").read_text().replace('name = "manage"', 'name = "licensing"')
    (tmp_path / "licensing.toml").write_text(text)
    assert set(load_peers(tmp_path)) == {"contracting", "licensing", "manage"}


def test_the_views_runner_refuses_to_start_with_a_bad_peer_file(tmp_path: Path) -> None:
    peers = tmp_path / "peers"
    peers.mkdir()
    _copy_with(peers, 'declined = "Declined"', 'declined = "Declined"\napproved = "Approved"')
    env = {
        **os.environ,
        "CONTRACTLEDGER_SYNC_PEERS": str(peers),
        "PERSISTENCE_MODULE": "contractledger.store.sqlite",
        "SQLITE_DBNAME": str(tmp_path / "ledger.sqlite3"),
    }
    ran = subprocess.run(
        [sys.executable, "-m", "contractledger.runtime.views_runner"], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode != 0
    assert str(peers / "manage.toml") in ran.stderr and "'approved'" in ran.stderr
