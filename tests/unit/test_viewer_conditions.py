"""The viewer's SQL conditions say what its rules say (projections/viewer.py):
each evaluated by SQLite over every kind of record and chain, beside the
rule in Python, for every kind of viewer."""

from __future__ import annotations

import itertools
import sqlite3
from uuid import uuid4

from contractledger.domain.actor import Actor, Role
from contractledger.projections.viewer import Viewer

A, B = uuid4(), uuid4()
VIEWERS = [
    Viewer.auditor("audrey"), Viewer.sync_peer("manage"), Viewer(Actor.system()), Viewer(Actor(Role.OPERATOR, "olive")),
    Viewer(Actor(Role.AGENCY_ADMIN, "ann", A)), Viewer(Actor(Role.CARRIER_STAFF, "carol", B)),
]
CHAINS = {"on_a": [A], "on_b": [B], "on_both": [A, B], "on_none": []}


def database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE contracts (contract_id TEXT)")
    db.execute("CREATE TABLE contract_parties (contract_id TEXT, party_id TEXT)")
    db.execute("CREATE TABLE records (record_id INTEGER, recorded_by TEXT, is_public INTEGER, contract_id TEXT)")
    for contract_id, chain in CHAINS.items():
        db.execute("INSERT INTO contracts VALUES (?)", (contract_id,))
        db.executemany("INSERT INTO contract_parties VALUES (?, ?)", [(contract_id, str(p)) for p in chain])
    return db


def test_the_record_condition_is_the_record_rule_for_every_viewer() -> None:
    db = database()
    records = list(enumerate(itertools.product([A, B], [True, False], CHAINS)))
    db.executemany(
        "INSERT INTO records VALUES (?, ?, ?, ?)",
        [(n, str(by), int(public), contract) for n, (by, public, contract) in records],
    )
    for viewer in VIEWERS:
        condition, params = viewer.record_condition(
            recorded_by="r.recorded_by", public="r.is_public = 1", contract_id="r.contract_id",
            contract_parties="contract_parties",
        )
        found = {n for (n,) in db.execute(f"SELECT r.record_id FROM records r WHERE {condition}", params)}
        expected = {
            n for n, (by, public, contract) in records
            if viewer.may_see_record(recorded_by=by, public=public, chain=CHAINS[contract])
        }
        assert found == expected, viewer


def test_the_contract_condition_is_the_contract_rule_for_every_viewer() -> None:
    db = database()
    for viewer in VIEWERS:
        condition, params = viewer.contract_condition("c.contract_id", "contract_parties")
        found = {c for (c,) in db.execute(f"SELECT c.contract_id FROM contracts c WHERE {condition}", params)}
        assert found == {c for c, chain in CHAINS.items() if viewer.may_see_contract(chain)}, viewer


def test_the_own_party_condition_gives_a_party_its_own_and_auditors_all() -> None:
    db = database()
    db.executemany("INSERT INTO records VALUES (?, ?, 0, 'on_a')", [(1, str(A)), (2, str(B))])
    for viewer in VIEWERS:
        condition, params = viewer.own_party_condition("r.recorded_by")
        found = {n for (n,) in db.execute(f"SELECT r.record_id FROM records r WHERE {condition}", params)}
        if viewer.sees_every_record:
            assert found == {1, 2}
        else:
            assert found == ({1} if viewer.party_id == A else {2} if viewer.party_id == B else set()), viewer


def test_the_works_with_advisor_condition_is_the_downgrade_rule_for_every_viewer() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE contracts (contract_id TEXT, advisor_id TEXT)")
    db.execute("CREATE TABLE contract_parties (contract_id TEXT, party_id TEXT)")
    db.execute("CREATE TABLE advisors (advisor_id TEXT)")
    # each advisor's contracts' chains: on A's, on B's, on both, on neither, none; A itself an advisor too
    advisors = {uuid4(): [[A]], uuid4(): [[B], []], uuid4(): [[A, B]], uuid4(): [[]], uuid4(): [], A: [[B]]}
    for advisor, chains in advisors.items():
        db.execute("INSERT INTO advisors VALUES (?)", (str(advisor),))
        for chain in chains:
            contract = str(uuid4())
            db.execute("INSERT INTO contracts VALUES (?, ?)", (contract, str(advisor)))
            db.executemany("INSERT INTO contract_parties VALUES (?, ?)", [(contract, str(p)) for p in chain])
    for viewer in VIEWERS:
        found = set()
        for advisor in advisors:
            condition, params = viewer.works_with_advisor_condition(advisor, "contracts", "contract_parties")
            found |= {a for (a,) in db.execute(f"SELECT a.advisor_id FROM advisors a WHERE a.advisor_id = ? AND {condition}",
                                               [str(advisor), *params])}
        expected = {str(a) for a, chains in advisors.items() if viewer.works_with_advisor(a, chains)}
        assert found == expected, viewer
        assert viewer.party_id is None or len(found) not in (0, len(advisors)), viewer
