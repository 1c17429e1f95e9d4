"""One visibility matrix (issue 13; rules §1, 4 to 10): every read surface of
the API, asked over HTTP by every kind of viewer, in one world, on each store.

The matrix is data: each row is one surface asked one way (a route, its path
and query), the thing looked for in the answer, and who sees it. Every other
viewer is answered in one of three ways, each checked exactly:

- absent: 200, and the thing is not in the answer (a list without it, a
  health status without the record, a profile without the later change);
- missing: answered exactly as the same route with an id nothing has (status,
  problem type, code, title and detail, and no ETag): hidden looks missing;
- refused: the problem code the row names (403 for a surface the viewer's
  role may not read, 401 without a token).

The console's pages (``console`` rows) are asked as a browser asks them:
signed in through the console's sign-in form with the viewer's token, its
session cookie sent; without one (anonymous) a page sends the browser to
sign in (303). A page hidden from a viewer is answered exactly as the same
page for an id nothing has, as the API's routes are.

A row that nobody may see (the vest's reason in a feed) names the row that
shows the same thing to someone, so no row passes because nothing is visible
at all. Every GET route of the route registry (what /openapi.json documents)
must have a row, and every query parameter that changes what is answered must
be asked in one: a new read route, or a new filter, fails here until the
matrix covers it.

The world, built with the ledger directly (``ContractingWorld``) and read
only over HTTP:

- C1 (carrier, MGA, Harbour AGA, Ada) with a writing number, private and
  public monitoring and debt (reminders make tasks); a vested and a downgraded
  contract on the same chain; Ada with the Lighthouse AGA too (C_other), so
  Lighthouse works with Ada on no contract of Harbour's;
- a bundle of two of Ada's, assigned by the MGA (one through Harbour, one
  through the MGA alone, which Harbour does not see), split by a hold as a ledger
  written before bundle.detach_first left it, so it shows in /mixed-bundles;
- Grace's contract through the Anchor AGA (its only contract) terminated,
  then Grace's profile changed after the effective date; carrier and MGA keep
  a contract with Grace in force (through Lighthouse);
- a transfer of an Ada contract open from Harbour to the Beacon AGA.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from console_browser import ConsoleBrowser  # noqa: E402
from test_http_world import Api, running_api  # noqa: E402
from views_scenario import LETTER  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.status import Status  # noqa: E402
from contractledger.domain.triggers import NotificationKind  # noqa: E402
from contractledger.http.catalogue import routes  # noqa: E402
from contractledger.http.openapi import ApiDocument  # noqa: E402

NEW_PROFILE = {"name": "Grace Brewster Murray", "identifiers": {"npn": "NEW-NPN"}}
OLD_NAME = "Grace Hopper"
VEST_REASON, VEST_NOTE = "SECRET-VEST-REASON", "SECRET-VEST-NOTE"
TERMINATION_NOTE = "SECRET-TERMINATION-NOTE"
TRANSFER_NOTE = "TRANSFER-NOTE"
DOWNGRADE_REASON = "Persistent complaints"
NOT_ABOUT_WHO_SEES = {"after", "limit", "wait", "wait_for"}  # paging and waiting: the same things, later or in parts

# ---- the viewers ---------------------------------------------------------------------------

VIEWERS = (
    "carrier", "mga", "aga", "producer",  # each party on C1 (its carrier staff, each agency's admin, the advisor)
    "other_agency", "other_advisor",  # parties off C1: Lighthouse AGA (works with Ada elsewhere), Grace
    "terminating_party",  # Anchor AGA: on Grace's terminated contract only, after its effective date
    "accepting_entity",  # Beacon AGA: the open transfer's accepting entity, on no contract
    "auditor", "peer_manage", "peer_contracting", "operator",
    "anonymous",  # no token at all
)
ON_C1 = frozenset({"carrier", "mga", "aga", "producer"})
PEERS = frozenset({"peer_manage", "peer_contracting"})
EVERY_CONTRACT = frozenset({"auditor"}) | PEERS  # who sees every contract (sync peers: status, chain, numbers, codes)
ON_T = frozenset({"carrier", "mga", "terminating_party", "other_advisor"})  # Grace's terminated contract
WITH_A_TOKEN = frozenset(VIEWERS) - {"anonymous"}


@dataclass
class Scene:
    api: Api
    actors: dict[str, Actor]
    ids: dict[str, uuid.UUID]
    instants: dict[str, str]
    days: dict[str, str]
    etags: dict[str, str]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path_factory.mktemp("matrix"), store)


@pytest.fixture(scope="module")
def scene(api: Api) -> Scene:
    w, ledger = api.world, api.config.ledger
    beacon = w.register("agency", "Beacon AGA", level="AGA")
    anchor = w.register("agency", "Anchor AGA", level="AGA")
    w.relate(w.mga, anchor)
    anchor_admin, beacon_admin = w.admin_of(anchor), w.admin_of(beacon)
    actors = {
        "carrier": w.carrier_staff, "mga": w.mga_admin, "aga": w.aga_admin, "producer": w.producer,
        "other_agency": w.other_aga_admin, "other_advisor": w.second_producer,
        "terminating_party": anchor_admin, "accepting_entity": beacon_admin,
        "auditor": w.auditor, "peer_manage": Actor(Role.SYNC_PEER, "manage"),
        "peer_contracting": Actor(Role.SYNC_PEER, "contracting"), "operator": w.operator,
    }
    every_kind = [k.value for k in NotificationKind]
    for name in ("carrier", "mga", "aga", "producer", "other_agency", "other_advisor", "terminating_party"):
        ledger.configure_triggers(actors[name], every_kind)
    ledger.configure_triggers(beacon_admin, [NotificationKind.NEW_TRANSFER_REQUEST_I_MAY_ACCEPT.value])
    ids: dict[str, uuid.UUID] = {
        "ada": w.advisor, "corporation": w.corporation, "grace": w.second_advisor, "aga": w.aga,
        "other_aga": w.other_aga, "carrier": w.carrier, "beacon": beacon, "anchor": anchor,
        "carrier_mga": w.carrier_mga, "mga_aga": w.mga_aga, "mga_other_aga": w.mga_other_aga,
    }
    instants = {"before_the_world": api.clock.now().isoformat()}
    days = {"first_day": w.today.isoformat(), "day_before": w.in_days(-1).isoformat()}
    api.clock.advance(seconds=1)

    c1 = ids["c1"] = w.active_contract()
    ledger.add_writing_number(w.carrier_staff, c1, "WN-C1")
    instants["before_records"] = api.clock.now().isoformat()
    api.clock.advance(seconds=1)
    reminder = w.in_days(20)
    ids["m_private"] = ledger.add_monitoring(w.aga_admin, c1, level=1, reason="New to Industry",
                                             effective_on=w.today, reminder_on=reminder)
    ids["m_public"] = ledger.add_monitoring(w.mga_admin, c1, level=3, reason="Sales", effective_on=w.today, reminder_on=reminder)
    ids["d_private"] = ledger.log_debt(w.aga_admin, c1, amount=Decimal("10.00"), effective_on=w.today, reminder_on=reminder)
    ids["d_public"] = ledger.log_debt(w.carrier_staff, c1, amount=Decimal("20.00"), effective_on=w.today, reminder_on=reminder)
    ids["vested"] = w.active_contract()
    ledger.vest(w.carrier_staff, ids["vested"], VEST_REASON, note=VEST_NOTE)
    ids["downgraded"] = w.active_contract()
    ledger.downgrade(w.carrier_staff, ids["downgraded"], DOWNGRADE_REASON)
    ids["c_other"] = w.active_contract(aga=w.other_aga)
    (ids["b_ada"], ids["b_direct"]) = w.assign(w.chain(), [w.carrier, w.mga, w.advisor], by=w.mga_admin)
    ids["bundle"] = ledger.get_contract(ids["b_ada"]).bundle_id
    held = ledger.get_contract(ids["b_direct"])  # held alone, as a ledger written before bundle.detach_first
    held.set_manual_status(Status.AWAITING_INCOMING_RELEASE, None, (), actor=w.mga_admin, effective_on=w.today, at=w.clock.now())
    ledger.save(held)
    (terminated,) = w.assign([w.carrier, w.mga, anchor, w.second_advisor], by=anchor_admin)
    w.onboard(terminated, anchor_admin, w.second_producer)
    ledger.set_manual_status(w.carrier_staff, terminated, Status.ACTIVE)
    ids["terminated"] = terminated
    ids["g_in_force"] = w.active_contract(advisor=w.second_advisor, aga=w.other_aga)
    ids["moving"] = w.active_contract()
    ledger.request_transfer(w.producer, ids["moving"], w.aga, beacon, note=TRANSFER_NOTE)

    w.days_later(6)  # debt may be made public 5 days after it was recorded (rules §6)
    ledger.make_debt_public(w.carrier_staff, ids["d_public"])
    days["before_the_termination"] = w.in_days(-1).isoformat()
    ledger.terminate(w.carrier_staff, terminated, "Market Conduct", [LETTER], note=TERMINATION_NOTE, effective_on=w.today)
    api.caught_up()
    etags = {"grace_before": read(api, w.auditor, f"/parties/{w.second_advisor}").headers["ETag"]}
    w.days_later(1)  # after the effective date, the advisor changes its profile
    ledger.change_profile(w.second_producer, w.second_advisor, NEW_PROFILE)
    api.caught_up()
    etags["grace_now"] = read(api, w.auditor, f"/parties/{w.second_advisor}").headers["ETag"]
    etags["c1"] = read(api, w.auditor, f"/contracts/{c1}").headers["ETag"]
    requests = read(api, w.auditor, "/transfer-requests").json["items"]
    (ids["request"],) = [uuid.UUID(r["request_id"]) for r in requests]
    instants["now"] = api.clock.now().isoformat()
    days["today"], days["next_month"] = w.today.isoformat(), w.in_days(30).isoformat()
    assert etags["grace_before"] != etags["grace_now"]
    return Scene(api, actors, ids, instants, days, etags)


def read(api: Api, actor: Actor, path: str, **params: str) -> Any:
    answer = api.client.simulate_get(path, headers=api.as_(actor), params=params)
    assert answer.status_code == 200, (path, answer.text)
    return answer


# ---- how a thing is looked for in an answer -------------------------------------------------------


@dataclass(frozen=True)
class Look:
    says: str
    finds: Callable[[Any], bool]


def item(**wanted: Any) -> Look:
    """An item of the list whose fields have these values (a callable value: a test of the field)."""

    def fits(found: dict[str, Any]) -> bool:
        return all(v(found.get(k)) if callable(v) else found.get(k) == v for k, v in wanted.items())

    def finds(answer: Any) -> bool:
        assert answer.json.get("next") is None, "the matrix reads whole lists: raise the limit"
        return any(fits(i) for i in answer.json["items"])

    return Look(f"an item with {wanted}", finds)


def fields(**wanted: Any) -> Look:
    """The answer's own fields (a single read)."""
    return Look(f"fields {wanted}", lambda a: all(v(a.json.get(k)) if callable(v) else a.json.get(k) == v
                                                   for k, v in wanted.items()))


def text(*pieces: str) -> Look:
    return Look(f"the text {pieces}", lambda a: all(p in a.text for p in pieces))


def counted(status: str, group: Any = None) -> Look:
    """A dashboard count of contracts in the status (and group)."""
    return Look(f"a count of {status} in {group}", lambda a: any(
        c["status"] == status and c["group_id"] == (str(group) if group else None) and c["contracts"] > 0
        for c in a.json["counts"]))


def etag(tag: str, then: Look) -> Look:
    return Look(f"ETag {tag} and {then.says}", lambda a: a.headers.get("ETag") == tag and then.finds(a))


def contains(value: Any) -> Callable[[Any], bool]:
    return lambda found: found is not None and str(value) in [str(v) for v in found]


# ---- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    path: str
    look: Look
    sees: frozenset[str]
    missing: frozenset[str] = frozenset()
    """Answered exactly as an id nothing has."""
    refused: dict[str, str] = field(default_factory=dict)
    """Viewer -> the problem code it is refused with."""
    params: dict[str, str] = field(default_factory=dict)
    control: str | None = None
    """For a row nobody sees: the row showing the same thing to someone."""
    public: bool = False
    """Answered without a token too."""
    console: bool = False
    """A console page: asked with the viewer's console session, not a bearer token."""

    def expected(self, viewer: str) -> tuple[str, str | None]:
        if viewer in self.sees:
            return "sees", None
        if viewer == "anonymous" and not self.public:
            return ("signed_out", None) if self.console else ("refused", "auth.token_required")
        if viewer in self.refused:
            return "refused", self.refused[viewer]
        if viewer in self.missing:
            return "missing", None
        return "absent", None


def refusing(code: str, *viewers: frozenset[str] | str) -> dict[str, str]:
    names: set[str] = set()
    for v in viewers:
        names |= {v} if isinstance(v, str) else set(v)
    return {name: code for name in names}


def others(*seen: frozenset[str] | str) -> frozenset[str]:
    names: set[str] = set()
    for v in seen:
        names |= {v} if isinstance(v, str) else set(v)
    return WITH_A_TOKEN - names


def matrix(s: Scene) -> list[Row]:
    i, t, d, e = s.ids, s.instants, s.days, s.etags
    c1, vested, down, terminated, moving = i["c1"], i["vested"], i["downgraded"], i["terminated"], i["moving"]
    c1_seers = ON_C1 | EVERY_CONTRACT
    ada_works_with = ON_C1 | {"other_agency"} | EVERY_CONTRACT  # every party with a contract with Ada (rules §5)
    grace_followers = WITH_A_TOKEN - {"terminating_party"}  # every viewer but the one frozen at the termination
    m_priv, m_pub, d_priv, d_pub = i["m_private"], i["m_public"], i["d_private"], i["d_public"]
    private_seers = frozenset({"aga", "auditor"})  # Harbour placed the private records (rules §6)
    public_seers = ON_C1 | {"auditor"}
    not_auditor_party_export = refusing("export.auditors_only", WITH_A_TOKEN - {"auditor"})
    feed_refusals = refusing("sync.peer_only", WITH_A_TOKEN)
    dead_letter_refusals = refusing("sync.auditors_only", WITH_A_TOKEN - {"auditor", "operator"})
    contract_export_refusals = refusing("export.auditors_only", ON_C1 | PEERS)
    request_seers = ON_C1 | {"accepting_entity", "auditor"}  # the moving contract has C1's chain
    return [
        # -- contracts: lists, filters, single reads, ETags, on= and as_of= (rules §2, 5, 10)
        Row("contracts", "/contracts", item(contract_id=str(c1)), c1_seers, params={"limit": "500"}),
        Row("contracts.party_id", "/contracts", item(contract_id=str(c1)), c1_seers,
            params={"party_id": str(i["aga"]), "limit": "500"}),
        Row("contracts.carrier_id", "/contracts", item(contract_id=str(c1)), c1_seers,
            params={"carrier_id": str(i["carrier"]), "limit": "500"}),
        Row("contracts.advisor_id.other", "/contracts", item(contract_id=str(i["c_other"])),
            frozenset({"carrier", "mga", "producer", "other_agency"}) | EVERY_CONTRACT,
            params={"advisor_id": str(i["ada"]), "limit": "500"}),
        Row("contracts.status.vested", "/contracts", item(contract_id=str(vested), status="vested"), c1_seers,
            params={"status": "vested", "limit": "500"}),
        Row("contracts.on", "/contracts", item(contract_id=str(terminated), status="active"), ON_T | EVERY_CONTRACT,
            params={"on": d["before_the_termination"], "limit": "500"}),
        Row("contracts.as_of", "/contracts", item(contract_id=str(c1)), frozenset(),
            params={"as_of": t["before_the_world"], "limit": "500"}, control="contracts"),
        Row("contract", f"/contracts/{c1}", etag(e["c1"], fields(contract_id=str(c1), writing_numbers=["WN-C1"])),
            c1_seers, missing=others(c1_seers)),
        Row("contract.as_of", f"/contracts/{c1}", fields(contract_id=str(c1)), c1_seers, missing=others(c1_seers),
            params={"as_of": t["now"]}),
        Row("contract.as_of.before", f"/contracts/{c1}", fields(contract_id=str(c1)), frozenset(),
            missing=WITH_A_TOKEN, params={"as_of": t["before_the_world"]}, control="contract"),
        Row("contract.on", f"/contracts/{terminated}", fields(status="active"), ON_T | EVERY_CONTRACT,
            missing=others(ON_T, EVERY_CONTRACT), params={"on": d["before_the_termination"]}),
        # private details of a contract (rules §5, 9): the parties on it and auditors; a peer gets the status alone
        Row("contract.vest_reason", f"/contracts/{vested}", fields(status="vested", status_reason=VEST_REASON),
            ON_C1 | {"auditor"}, missing=others(c1_seers)),
        Row("contract.vested_status", f"/contracts/{vested}", fields(status="vested"), c1_seers, missing=others(c1_seers)),
        Row("contract.termination", f"/contracts/{terminated}", text("Market Conduct", OLD_NAME), ON_T | {"auditor"},
            missing=others(ON_T, EVERY_CONTRACT)),
        Row("contract.downgrade_reason", f"/contracts/{down}", fields(status_reason=DOWNGRADE_REASON), c1_seers,
            missing=others(c1_seers)),
        # the accepting entity sees the request, not the contract (rules §5)
        Row("contract.moving", f"/contracts/{moving}", fields(status="transfer_requested"), c1_seers,
            missing=others(c1_seers)),
        Row("contracts.moving", "/contracts", item(contract_id=str(moving)), c1_seers, params={"limit": "500"}),

        # -- the dashboard (issue 14): counts and the stage clock of the contracts one may see, and who waits
        Row("dashboard.counts", "/dashboard/counts", counted("vested"), c1_seers),
        Row("dashboard.counts.by", "/dashboard/counts", counted("vested", i["ada"]), c1_seers, params={"by": "advisor"}),
        Row("dashboard.counts.on", "/dashboard/counts", counted("active", i["anchor"]), ON_T | EVERY_CONTRACT,
            params={"by": "agency", "on": d["before_the_termination"]}),
        Row("dashboard.stage_clock", "/dashboard/counts", Look("vested on the stage clock", lambda a: any(
            s["status"] == "vested" for s in a.json["stage_clock"])), c1_seers),
        Row("dashboard.waiting", "/dashboard/waiting", item(contract_id=str(vested), status="vested"), c1_seers,
            params={"status": "vested", "longer_than_days": "3", "limit": "500"}),
        Row("dashboard.waiting.on", "/dashboard/waiting", item(contract_id=str(c1)), c1_seers,
            params={"status": "active", "longer_than_days": "30", "on": d["next_month"], "limit": "500"}),

        # -- history (rules §10): the part each may see
        Row("history", f"/contracts/{c1}/history", item(event="WritingNumberAdded"), c1_seers, missing=others(c1_seers),
            params={"limit": "500"}),
        Row("history.private_record", f"/contracts/{c1}/history", item(record_id=str(m_priv)), private_seers,
            missing=others(c1_seers), params={"limit": "500"}),
        Row("history.public_record", f"/contracts/{c1}/history", item(record_id=str(m_pub)), public_seers,
            missing=others(c1_seers), params={"limit": "500"}),
        Row("history.as_of", f"/contracts/{c1}/history", item(record_id=str(m_pub)), frozenset(),
            missing=others(c1_seers), params={"as_of": t["before_records"], "limit": "500"}, control="history.public_record"),
        Row("history.vest_note", f"/contracts/{vested}/history", text(VEST_NOTE, VEST_REASON), ON_C1 | {"auditor"},
            missing=others(c1_seers), params={"limit": "500"}),
        Row("history.termination", f"/contracts/{terminated}/history", text(TERMINATION_NOTE, "Market Conduct", OLD_NAME),
            ON_T | {"auditor"}, missing=others(ON_T, EVERY_CONTRACT), params={"limit": "500"}),
        Row("history.moving", f"/contracts/{moving}/history", item(event="TransferRequested"), c1_seers,
            missing=others(c1_seers), params={"limit": "500"}),

        # -- monitoring and debt (rules §6): private to the party that recorded it, public to the contract's parties
        Row("monitoring.private", "/monitoring", item(record_id=str(m_priv)), private_seers, params={"limit": "500"}),
        Row("monitoring.public", "/monitoring", item(record_id=str(m_pub)), public_seers, params={"limit": "500"}),
        Row("monitoring.contract_id", "/monitoring", item(record_id=str(m_pub)), public_seers,
            params={"contract_id": str(c1), "limit": "500"}),
        Row("monitoring.advisor_id", "/monitoring", item(record_id=str(m_priv)), private_seers,
            params={"advisor_id": str(i["ada"]), "limit": "500"}),
        Row("monitoring.as_of", "/monitoring", item(record_id=str(m_pub)), frozenset(),
            params={"as_of": t["before_records"], "limit": "500"}, control="monitoring.public"),
        Row("monitoring_record.private", f"/monitoring/{m_priv}", fields(record_id=str(m_priv)), private_seers,
            missing=others(private_seers)),
        Row("monitoring_record.public", f"/monitoring/{m_pub}", fields(record_id=str(m_pub)), public_seers,
            missing=others(public_seers)),
        Row("debts.private", "/debts", item(record_id=str(d_priv)), private_seers, params={"limit": "500"}),
        Row("debts.public", "/debts", item(record_id=str(d_pub)), public_seers, params={"limit": "500"}),
        Row("debts.contract_id", "/debts", item(record_id=str(d_priv)), private_seers,
            params={"contract_id": str(c1), "limit": "500"}),
        Row("debts.advisor_id", "/debts", item(record_id=str(d_pub)), public_seers,
            params={"advisor_id": str(i["ada"]), "limit": "500"}),
        Row("debts.as_of", "/debts", item(record_id=str(d_priv)), frozenset(),
            params={"as_of": t["before_records"], "limit": "500"}, control="debts.private"),
        Row("debt_record.private", f"/debts/{d_priv}", fields(record_id=str(d_priv)), private_seers,
            missing=others(private_seers)),
        Row("debt_record.public", f"/debts/{d_pub}", fields(record_id=str(d_pub)), public_seers,
            missing=others(public_seers)),

        # -- health (rules §7): computed only from the records the viewer may see
        Row("health.private_debt", f"/parties/{i['ada']}/health", fields(debt_record_ids=contains(d_priv)), private_seers),
        Row("health.private_monitoring", f"/parties/{i['ada']}/health", fields(monitoring_record_ids=contains(m_priv)),
            private_seers),
        Row("health.public", f"/parties/{i['ada']}/health", fields(monitoring_record_ids=contains(m_pub),
                                                                   debt_record_ids=contains(d_pub)), public_seers),
        Row("health.corporation", f"/parties/{i['corporation']}/health",  # an individual's records reach its corporation
            fields(monitoring_record_ids=contains(m_pub)), public_seers),
        Row("health.on", f"/parties/{i['ada']}/health", fields(monitoring_record_ids=contains(m_pub)), frozenset(),
            params={"on": d["day_before"]}, control="health.public"),
        Row("health_statuses.private", "/health-statuses",
            item(party_id=str(i["ada"]), debt_record_ids=contains(d_priv)), private_seers, params={"limit": "500"}),
        Row("health_statuses.corporation", "/health-statuses",
            item(party_id=str(i["corporation"]), monitoring_record_ids=contains(m_pub)), public_seers,
            params={"limit": "500"}),
        Row("health_statuses.on", "/health-statuses", item(party_id=str(i["ada"]), monitoring_record_ids=contains(m_pub)),
            frozenset(), params={"on": d["day_before"], "limit": "500"}, control="health_statuses.corporation"),

        # -- tasks and notifications (rules §8): the party's own
        Row("tasks.private", "/tasks", item(record_id=str(m_priv)), private_seers, params={"limit": "500"}),
        Row("tasks.carrier", "/tasks", item(record_id=str(d_pub)), frozenset({"carrier", "auditor"}),
            params={"due_by": d["next_month"], "include_closed": "true", "limit": "500"}),
        Row("tasks.due_by", "/tasks", item(record_id=str(m_priv)), frozenset(), params={"due_by": d["today"], "limit": "500"},
            control="tasks.private"),
        Row("notifications.accepting", "/notifications",
            item(kind="new_transfer_request_i_may_accept", contract_id=str(moving),
                 details=lambda found: (found or {}).get("note") == TRANSFER_NOTE),
            frozenset({"accepting_entity"}), params={"limit": "500"}),
        Row("notifications.relinquishing", "/notifications",
            item(kind="transfer_requested_on_contract_i_relinquish", contract_id=str(moving)), frozenset({"aga"}),
            params={"limit": "500", "since_position": "0"}),
        Row("notifications.private_record", "/notifications", item(record_id=str(m_priv)), frozenset({"aga"}),
            params={"limit": "500"}),
        Row("notifications.public_record", "/notifications", item(record_id=str(d_pub), kind="debt_made_public"), ON_C1,
            params={"limit": "500"}),
        Row("notifications.reminder", "/notifications", item(kind="reminder_due", record_id=str(m_priv)),
            frozenset({"aga"}), params={"on": d["next_month"], "limit": "500"}),
        Row("trigger_settings", "/trigger-settings", fields(kinds=contains("monitoring_added")),
            frozenset({"carrier", "mga", "aga", "producer", "other_agency", "other_advisor", "terminating_party"})),

        # -- the directory (rules §1, 5): after a termination, the terminating party sees the snapshot on every surface
        Row("parties.changed", "/parties", item(party_id=str(i["grace"]), name=NEW_PROFILE["name"]), grace_followers,
            params={"limit": "500"}),
        Row("parties.snapshot", "/parties", item(party_id=str(i["grace"]), name=OLD_NAME), frozenset({"terminating_party"}),
            params={"limit": "500"}),
        Row("parties.kind", "/parties", item(party_id=str(i["grace"]), identifiers=NEW_PROFILE["identifiers"]),
            grace_followers, params={"kind": "advisor", "limit": "500"}),
        Row("party.changed", f"/parties/{i['grace']}", etag(e["grace_now"], fields(name=NEW_PROFILE["name"])),
            grace_followers),
        Row("party.snapshot", f"/parties/{i['grace']}", etag(e["grace_before"], fields(name=OLD_NAME)),
            frozenset({"terminating_party"})),
        Row("party.as_of", f"/parties/{i['grace']}", fields(name=NEW_PROFILE["name"]), grace_followers,
            params={"as_of": t["now"]}),
        Row("party.on", f"/parties/{i['grace']}", fields(identifiers=NEW_PROFILE["identifiers"]), grace_followers,
            params={"on": d["before_the_termination"]}),
        Row("party.as_of.on", f"/parties/{i['grace']}", fields(name=NEW_PROFILE["name"]), grace_followers,
            params={"on": d["before_the_termination"], "as_of": t["now"]}),
        # associations are part of the public directory (rules §1, 7)
        Row("associations", f"/parties/{i['ada']}/associations", Look(
            "Ada's corporation", lambda a: str(i["corporation"]) in a.json["items"]), WITH_A_TOKEN, params={"limit": "500"}),

        # -- transfer requests (rules §5): the accepting entity's request history, and the contract's parties'
        Row("transfer_requests", "/transfer-requests", item(request_id=str(i["request"]), note=TRANSFER_NOTE),
            request_seers, params={"limit": "500"}),
        Row("transfer_requests.filters", "/transfer-requests",
            item(request_id=str(i["request"]), chain_after_transfer=contains(i["beacon"])), request_seers,
            params={"contract_id": str(moving), "state": "requested", "limit": "500"}),
        Row("transfer_requests.state", "/transfer-requests", item(request_id=str(i["request"])), frozenset(),
            params={"state": "denied", "limit": "500"}, control="transfer_requests"),
        Row("transfer_request", f"/transfer-requests/{i['request']}", fields(note=TRANSFER_NOTE, state="requested"),
            request_seers, missing=others(request_seers)),

        # -- bundles (rules §4): the members the viewer may see
        Row("bundles", "/bundles", item(bundle_id=str(i["bundle"])), c1_seers, params={"limit": "500"}),
        Row("bundle.member", f"/bundles/{i['bundle']}", Look(  # the member through the MGA alone: not Harbour's
            "the MGA's own member", lambda a: str(i["b_direct"]) in [m["contract_id"] for m in a.json["members"]]),
            c1_seers - {"aga"}, missing=others(c1_seers)),
        Row("mixed_bundles", "/mixed-bundles", item(bundle_id=str(i["bundle"])), c1_seers - {"aga"},
            params={"limit": "500"}),

        # -- direct relationships (rules §2): seen by their two parties
        Row("direct_relationships", "/direct-relationships", item(contract_id=str(i["mga_aga"])),
            frozenset({"mga", "aga"}) | EVERY_CONTRACT, params={"limit": "500"}),
        Row("direct_relationships.party_id", "/direct-relationships", item(contract_id=str(i["mga_other_aga"])),
            frozenset({"mga", "other_agency"}) | EVERY_CONTRACT, params={"party_id": str(i["other_aga"]), "limit": "500"}),
        Row("direct_relationships.on", "/direct-relationships", item(contract_id=str(i["carrier_mga"])),
            frozenset({"carrier", "mga"}) | EVERY_CONTRACT, params={"on": d["today"], "limit": "500"}),

        # -- downgrades (rules §5): public to every party working with the advisor; vesting never
        Row("downgrades", f"/advisors/{i['ada']}/downgrades", item(contract_id=str(down), reason=DOWNGRADE_REASON),
            ada_works_with, params={"limit": "500"}),
        Row("downgrades.vest", f"/advisors/{i['ada']}/downgrades", item(contract_id=str(vested)), frozenset(),
            params={"limit": "500"}, control="contracts.status.vested"),
        Row("downgrades.on", f"/advisors/{i['ada']}/downgrades", item(contract_id=str(down)), frozenset(),
            params={"on": d["day_before"], "limit": "500"}, control="downgrades"),

        # -- sync feeds (rules §9): each peer its own (auditors read them), with no private details
        Row("feed.manage", "/sync/manage/feed", Look("C1's writing number", lambda a: any(
            x["subject"] == str(c1) and x["data"]["writing_numbers"] == ["WN-C1"] for x in a.json["items"])),
            frozenset({"peer_manage", "auditor"}), refused=feed_refusals, params={"limit": "1000"}),
        Row("feed.contracting", "/sync/contracting/feed", Look("the vest, its status alone", lambda a: any(
            x["subject"] == str(vested) and x["data"]["status"] == "vested" for x in a.json["items"])),
            frozenset({"peer_contracting", "auditor"}), refused=feed_refusals, params={"limit": "1000"}),
        Row("feed.manage.private", "/sync/manage/feed", text(VEST_REASON), frozenset(), refused=refusing("sync.peer_only", others("peer_manage", "auditor")),
            params={"limit": "1000"}, control="contract.vest_reason"),
        Row("feed.contracting.private", "/sync/contracting/feed", Look("a termination's reason or note", lambda a: (
            "Market Conduct" in a.text or TERMINATION_NOTE in a.text)), frozenset(),
            refused=refusing("sync.peer_only", others("peer_contracting", "auditor")),
            params={"limit": "1000"}, control="contract.termination"),
        Row("dead_letters", "/sync/manage/dead-letters", fields(peer="manage", dead_letters=[]),
            frozenset({"operator", "auditor"}), refused=dead_letter_refusals, params={"after": "0"}),

        # -- exports (rules §10): auditors only; a contract one may not see is missing
        Row("export.contract", f"/contracts/{vested}/export", text(VEST_NOTE, '"verdict"'), frozenset({"auditor"}),
            missing=others(c1_seers), refused=contract_export_refusals),
        Row("export.contract.csv", f"/contracts/{c1}/export", text("WritingNumberAdded", "ExportVerdict"),
            frozenset({"auditor"}), missing=others(c1_seers), refused=contract_export_refusals, params={"format": "csv"}),
        Row("export.party", f"/parties/{i['grace']}/export", text(NEW_PROFILE["identifiers"]["npn"]), frozenset({"auditor"}),
            refused=not_auditor_party_export, params={"format": "csv"}),
        Row("export.ledger", "/ledger/export", text(str(c1), str(m_priv)), frozenset({"auditor"}),
            refused=not_auditor_party_export, params={"format": "jsonl"}),

        # -- operating (rules §1): /metrics for operators only; readiness for every principal; no ledger data in either
        Row("metrics", "/metrics", text('method="GET",route="/contracts"'), frozenset({"operator"}),
            refused=refusing("metrics.operators_only", WITH_A_TOKEN - {"operator"})),
        Row("ready", "/ready", fields(store="reachable"), WITH_A_TOKEN),
        Row("health", "/health", text("ok"), frozenset(VIEWERS), public=True),
        Row("openapi", "/openapi.json", text('"/contracts/{contract_id}"'), frozenset(VIEWERS), public=True),
        Row("problems", "/problems", text("contract.not_found"), frozenset(VIEWERS), public=True),
        Row("problems.code", "/problems/contract.not_found", text("contract.not_found"), frozenset(VIEWERS), public=True),
        Row("reference", "/reference", text("reference/assets/swagger-ui-bundle.js"), frozenset(VIEWERS), public=True),
        Row("reference.asset", "/reference/assets/swagger-ui.css", text("swagger-ui"), frozenset(VIEWERS), public=True),

        # -- the console (issue 17): pages for people, each showing what the API shows the same viewer
        Row("console.home", "/console", text('href="/console/contracts"'), WITH_A_TOKEN, console=True),
        Row("console.sign_in", "/console/sign-in", text('name="token"'), frozenset(VIEWERS), public=True, console=True),
        Row("console.asset", "/console/assets/console.css", text("@media"), frozenset(VIEWERS), public=True,
            console=True),
        Row("console.contracts", "/console/contracts", text(f'data-contract-id="{c1}"'), c1_seers, console=True),
        Row("console.contracts.moving", "/console/contracts", text(f'data-contract-id="{moving}"'), c1_seers,
            console=True),
        Row("console.contracts.status", "/console/contracts", text(f'data-contract-id="{vested}"'), c1_seers,
            params={"status": "vested"}, console=True),
        Row("console.contracts.other", "/console/contracts", text(f'data-contract-id="{i["c_other"]}"'),
            frozenset({"carrier", "mga", "producer", "other_agency"}) | EVERY_CONTRACT, console=True),
        # the dashboard page: each section is the API's route's answer for the same viewer
        Row("console.dashboard.counts", "/console/dashboard", text('<tr class="status-count" data-status="vested">'),
            c1_seers, console=True),
        Row("console.dashboard.terminated", "/console/dashboard",
            text('<tr class="status-count" data-status="terminated">'), ON_T | EVERY_CONTRACT, console=True),
        Row("console.dashboard.on", "/console/dashboard", text('<tr class="status-count" data-status="terminated">'),
            frozenset(), params={"on": d["before_the_termination"]}, control="console.dashboard.terminated", console=True),
        Row("console.dashboard.stage_clock", "/console/dashboard",  # the bundle's member through the MGA alone
            text('<tr class="stage" data-status="awaiting_incoming_release">'), c1_seers - {"aga"}, console=True),
        Row("console.dashboard.waiting", "/console/dashboard", text(f'<tr class="waiting" data-contract-id="{i["b_ada"]}"'),
            c1_seers, console=True),
        Row("console.dashboard.mixed_bundles", "/console/dashboard", text(f'data-bundle-id="{i["bundle"]}"'),
            c1_seers - {"aga"}, console=True),
        Row("console.dashboard.transfer_requests", "/console/dashboard", text(f'data-request-id="{i["request"]}"'),
            request_seers, console=True),
        Row("console.dashboard.tasks", "/console/dashboard", text(f'<tr class="task" data-task-id="{m_priv}:'),
            private_seers, console=True),
        Row("console.dashboard.notifications", "/console/dashboard", text("new transfer request i may accept"),
            frozenset({"accepting_entity"}), console=True),
        Row("console.timeline", f"/console/contracts/{c1}", text('data-event="WritingNumberAdded"', "WN-C1"), c1_seers,
            missing=others(c1_seers), console=True),
        Row("console.timeline.private_record", f"/console/contracts/{c1}", text(str(m_priv)), private_seers,
            missing=others(c1_seers), console=True),
        Row("console.timeline.public_record", f"/console/contracts/{c1}", text(str(m_pub)), public_seers,
            missing=others(c1_seers), console=True),
        Row("console.timeline.as_of", f"/console/contracts/{c1}", text(str(m_pub)), frozenset(),
            missing=others(c1_seers), params={"as_of": t["before_records"]}, control="console.timeline.public_record",
            console=True),
        Row("console.timeline.vest_note", f"/console/contracts/{vested}", text(VEST_NOTE, VEST_REASON),
            ON_C1 | {"auditor"}, missing=others(c1_seers), console=True),
        Row("console.timeline.termination", f"/console/contracts/{terminated}",
            text(TERMINATION_NOTE, "Market Conduct", OLD_NAME), ON_T | {"auditor"}, missing=others(ON_T, EVERY_CONTRACT),
            console=True),
        Row("console.timeline.export_links", f"/console/contracts/{c1}", text(f"/console/contracts/{c1}/export"),
            frozenset({"auditor"}), missing=others(c1_seers), console=True),
        # the operator's sync page (rules §1, 9): operators only, refused to everyone else as the API's operator routes are
        Row("console.sync", "/console/sync", text('id="peer-manage"', 'id="peer-contracting"'), frozenset({"operator"}),
            refused=refusing("sync.operator_only", WITH_A_TOKEN - {"operator"}), console=True),
        Row("console.export", f"/console/contracts/{vested}/export", text(VEST_NOTE, '"verdict"'), frozenset({"auditor"}),
            missing=others(c1_seers), refused=contract_export_refusals, console=True),
        Row("console.export.csv", f"/console/contracts/{c1}/export", text("WritingNumberAdded", "ExportVerdict"),
            frozenset({"auditor"}), missing=others(c1_seers), refused=contract_export_refusals, params={"format": "csv"},
            console=True),
        # a party's page: the API's party read, contracts, health with its records and associations, for the viewer
        Row("console.party.changed", f"/console/parties/{i['grace']}", text(NEW_PROFILE["name"]), grace_followers,
            console=True),
        Row("console.party.snapshot", f"/console/parties/{i['grace']}", text(OLD_NAME, 'id="termination-snapshot"'),
            frozenset({"terminating_party"}), console=True),
        Row("console.party.as_of", f"/console/parties/{i['grace']}", text(NEW_PROFILE["name"]), grace_followers,
            params={"as_of": t["now"]}, console=True),
        Row("console.party.contracts", f"/console/parties/{i['aga']}", text(f'data-contract-id="{c1}"'), c1_seers,
            console=True),
        Row("console.party.health.private", f"/console/parties/{i['ada']}",
            text(f'data-record-id="{m_priv}"', f'data-record-id="{d_priv}"'), private_seers, console=True),
        Row("console.party.health.public", f"/console/parties/{i['ada']}",
            text(f'data-record-id="{m_pub}"', f'data-record-id="{d_pub}"', "<strong>Sales</strong>"), public_seers,
            console=True),
        Row("console.party.health.corporation", f"/console/parties/{i['corporation']}", text(f'data-record-id="{m_pub}"'),
            public_seers, console=True),
        Row("console.party.associations", f"/console/parties/{i['ada']}", text(f'href="/console/parties/{i["corporation"]}"'),
            WITH_A_TOKEN, console=True),
    ]


# ---- asking ------------------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def route_of(path: str, templates: list[str]) -> str:
    """The registry's route a concrete path is served by."""
    for template in templates:
        pattern = re.sub(r"\{\w+(:\w+)?\}", "[^/]+", template)
        if re.fullmatch(pattern, path):
            return template
    raise AssertionError(f"{path}: no route serves it")


class Asker:
    """Each (viewer, path, query) asked once: many rows look at the same answer."""

    def __init__(self, s: Scene) -> None:
        self.s = s
        self.tokens = {name: s.api.token(actor) for name, actor in s.actors.items()}
        self.answers: dict[tuple[str, str, tuple], Any] = {}
        self.browsers: dict[str, ConsoleBrowser] = {}

    def __call__(self, viewer: str, path: str, params: dict[str, str]) -> Any:
        key = (viewer, path, tuple(sorted(params.items())))
        if key not in self.answers:
            if path.startswith("/console"):
                self.answers[key] = self.browser(viewer).get(path, **params)
            else:
                headers = {} if viewer == "anonymous" else {"Authorization": f"Bearer {self.tokens[viewer]}"}
                self.answers[key] = self.s.api.client.simulate_get(path, headers=headers, params=params)
        return self.answers[key]

    def browser(self, viewer: str) -> ConsoleBrowser:
        """The viewer's browser, signed in to the console with its token (anonymous: never signed in)."""
        if viewer not in self.browsers:
            browser = self.browsers[viewer] = ConsoleBrowser(self.s.api.client)
            if viewer != "anonymous":
                assert browser.sign_in(self.tokens[viewer]).status_code == 303, viewer
        return self.browsers[viewer]


def problem_of(answer: Any, thing: str) -> tuple[Any, ...]:
    body = answer.json if answer.headers.get("Content-Type", "").startswith("application/problem+json") else answer.text
    shown = {k: v for k, v in body.items()} if isinstance(body, dict) else body
    return answer.status_code, json.dumps(shown, sort_keys=True).replace(thing, "{id}"), answer.headers.get("ETag")


def code_of(answer: Any) -> str | None:
    """A refusal's problem code: in its problem document, or on the console's page."""
    if answer.headers.get("Content-Type", "").startswith("text/html"):
        found = re.search(r'id="problem-code">([^<]+)<', answer.text)
        return found.group(1) if found else None
    return (answer.json or {}).get("code")


def verdict(row: Row, viewer: str, ask: Asker) -> str | None:
    """None when the viewer is answered as the row says; else what went wrong."""
    expected, code = row.expected(viewer)
    answer = ask(viewer, row.path, row.params)
    if expected == "sees":
        if answer.status_code != 200:
            return f"should see {row.look.says}: {answer.status_code} {answer.text[:300]}"
        return None if row.look.finds(answer) else f"should see {row.look.says}; got {answer.text[:500]}"
    if expected == "absent":
        if answer.status_code != 200:
            return f"should be answered 200 without {row.look.says}: {answer.status_code} {answer.text[:300]}"
        return f"sees {row.look.says}, which is not for it" if row.look.finds(answer) else None
    if expected == "signed_out":
        sent_to = answer.headers.get("Location", "")
        return None if answer.status_code == 303 and sent_to.endswith("/console/sign-in") else (
            f"should be sent to sign in (303): {answer.status_code} {answer.text[:300]}")
    if expected == "refused":
        got = (answer.status_code, code_of(answer) if answer.status_code >= 400 else None)
        want = 401 if code == "auth.token_required" else 403
        return None if got == (want, code) else f"should be refused {want} {code}: {answer.status_code} {answer.text[:300]}"
    (thing,) = _UUID.findall(row.path)
    nothing = str(uuid.uuid4())
    twin = ask(viewer, row.path.replace(thing, nothing), row.params)
    if twin.status_code != 404:
        return f"an id nothing has answers {twin.status_code} {twin.text[:200]}, not 404"
    if problem_of(answer, thing) != problem_of(twin, nothing):
        return f"hidden is not answered as missing:\n  hidden  {problem_of(answer, thing)}\n  missing {problem_of(twin, nothing)}"
    return None


# ---- the test -----------------------------------------------------------------------------------------


def test_every_viewer_sees_exactly_what_spec_says_on_every_read_surface(scene: Scene) -> None:
    api = scene.api
    rows = matrix(scene)
    by_key = {row.key: row for row in rows}
    assert len(by_key) == len(rows), "row keys are unique"

    # every GET route of the registry (and of the API document) has a row, and every parameter that filters is asked
    registered = {r.path: [h.operation for h in r.handlers if h.operation.method == "GET"] for r in routes(api.config, ApiDocument())}
    get_routes = {path: ops[0] for path, ops in registered.items() if ops}
    documented = {p for p, methods in api.client.simulate_get("/openapi.json").json["paths"].items() if "get" in methods}
    # the console's pages are not API: served, asked here, and left out of the API document
    assert documented == {re.sub(r"\{(\w+):\w+\}", r"{\1}", p) for p, op in get_routes.items() if not op.console}
    for row in rows:
        assert row.console == get_routes[route_of(row.path, list(get_routes))].console, f"{row.key}: console or not"
    covered: dict[str, set[str]] = {}
    for row in rows:
        covered.setdefault(route_of(row.path, list(get_routes)), set()).update(row.params)
    assert set(get_routes) - set(covered) == set(), "GET routes the matrix does not ask: add rows for them"
    for path, op in get_routes.items():
        asked_for = set(op.query.__struct_fields__) - NOT_ABOUT_WHO_SEES if op.query is not None else set()
        assert asked_for - covered[path] == set(), f"{path}: parameters no row asks with: {asked_for - covered[path]}"

    # a positive control for every negative: someone sees each row's thing, here or in the row it names
    for row in rows:
        assert set(row.sees) <= set(VIEWERS) and set(row.missing) | set(row.refused) <= set(VIEWERS), row.key
        if row.control is None:
            assert row.sees, f"{row.key}: nobody sees it; name the row that shows it to someone"
        else:
            assert not row.sees and by_key[row.control].sees, f"{row.key}: its control {row.control} shows it to nobody"
        assert row.public or set(row.sees) != set(VIEWERS), f"{row.key}: seen without a token"

    api.caught_up()
    before = api.position()
    ask = Asker(scene)
    wrong = []
    for row in rows:
        for viewer in VIEWERS:
            problem = verdict(row, viewer, ask)
            if problem is not None:
                wrong.append(f"{row.key} {row.path} {row.params or ''} as {viewer}: {problem}")
    cases = len(rows) * len(VIEWERS)
    print(f"visibility matrix: {len(rows)} rows x {len(VIEWERS)} viewers = {cases} cases, "
          f"{len(get_routes)} GET routes, {len(ask.answers)} requests")
    assert not wrong, f"{len(wrong)} of {cases} cases:\n" + "\n".join(wrong)
    assert api.position() == before, "reading recorded something"
    assert cases == EXPECTED_CASES, f"the matrix checks {cases} cases; say so in EXPECTED_CASES"


EXPECTED_CASES = 1742  # 134 rows x 13 viewers
