"""Hidden and missing look the same from outside, on every route (rules §1, 5
and 6: a party off a contract is told it does not exist; a private record
is not there for anyone but the party that recorded it).

The walk comes from the route registry the app and /openapi.json are built
from, so a route added later is walked too: every route and method with an
id in its path is sent, as each principal who may not see an existing thing
of that kind, once with that thing's id and once with an id nothing has,
plain, with an If-Match naming another version (commands), with an
Idempotency-Key (commands) and with as_of (reads that take it). The two
answers must be identical in status, body (the id itself aside) and
headers (the request id aside), and the missing one a 404, so the walk
reaches the existence check rather than stopping at the body's decoding.
Path ids of the public directory (parties, advisors: rules §1) are listed as
public; any other kind of id fails the walk until it is given a hidden
thing here."""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.http.catalogue import routes  # noqa: E402
from contractledger.http.openapi import ApiDocument  # noqa: E402
from contractledger.http.routing import Operation  # noqa: E402
from contractledger.projections import transfer_requests  # noqa: E402
from contractledger.projections.viewer import Viewer  # noqa: E402

PUBLIC = {"party_id", "advisor_id"}  # the directory is public (rules §1): a party's existence is no secret
FIELD_SAMPLES: dict[str, Any] = {  # values a body decodes and a use case would read, so that the walk gets past them
    "status": "active", "reason": "Retired", "level": 1, "option": "third_party", "code_handling": "copy",
    "initially_filled_by": "agency_admin", "amount": "10.00", "changes": {"attributes": {"walk": "1"}},
    "name": "letter.pdf", "media_type": "application/pdf", "sha256": "9f86d08188" + "0" * 54, "location": "s3://docs/letter.pdf",
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path_factory.mktemp("hidden"), store)


@pytest.fixture(scope="module")
def hidden(api: Api) -> dict[str, tuple[uuid.UUID, list[Actor]]]:
    """For each kind of path id: an existing thing, and the principals who may not see it."""
    w, ledger = api.world, api.config.ledger
    contract = w.active_contract()
    monitoring = ledger.add_monitoring(w.aga_admin, contract, level=1, reason="New to Industry",
                                       effective_on=w.today, reminder_on=w.in_days(5))
    debt = ledger.log_debt(w.aga_admin, contract, amount=Decimal("10.00"), effective_on=w.today, reminder_on=w.in_days(5))
    bundle = ledger.get_contract(contract).bundle_id
    moving = w.active_contract()
    accepting = w.register("agency", "Beacon AGA", level="AGA")
    ledger.request_transfer(w.producer, moving, w.aga, accepting, note="walk")
    api.caught_up()
    (request,) = [r.request_id for r in transfer_requests.transfer_requests(api.config.views, Viewer.auditor("walk"))]
    off_the_contract = [w.other_aga_admin, w.second_producer, w.operator]
    # private records: not for the other parties on the contract either, nor for sync peers
    record_hiders = [w.carrier_staff, w.producer, w.peer, w.other_aga_admin, w.operator]
    return {
        "contract_id": (contract, off_the_contract),
        "bundle_id": (bundle, [w.other_aga_admin, w.operator]),
        "monitoring": (monitoring, record_hiders),
        "debt": (debt, record_hiders),
        # a transfer request: for its contract's parties, its accepting entity and auditors only
        "request_id": (request, [w.other_aga_admin, w.second_producer, w.peer, w.operator]),
    }


def sample(type_info: Any, name: str, today: dt.date) -> Any:
    info = msgspec.inspect
    if isinstance(type_info, info.Metadata):  # a bounded type (domain/inputs.py): the type it bounds
        return sample(type_info.type, name, today)
    fits = not isinstance(type_info, info.LiteralType) or FIELD_SAMPLES.get(name) in type_info.values
    if name in FIELD_SAMPLES and fits:
        return FIELD_SAMPLES[name]
    if isinstance(type_info, info.StructType):
        return {f.encode_name: sample(f.type, f.name, today) for f in type_info.fields if f.required}
    if isinstance(type_info, info.UnionType):
        return sample(next(t for t in type_info.types if not isinstance(t, (info.NoneType, info.UnsetType))), name, today)
    if isinstance(type_info, (info.ListType, info.SetType, info.FrozenSetType)):
        return [sample(type_info.item_type, name, today)]
    if isinstance(type_info, info.EnumType):
        return next(iter(type_info.cls)).value
    if isinstance(type_info, info.LiteralType):
        return type_info.values[0]
    scalars = {
        info.StrType: "walk", info.IntType: 1, info.BoolType: False, info.DecimalType: "10.00",
        info.DateType: today.isoformat(), info.UUIDType: str(uuid.uuid4()), info.DictType: {},
    }
    if isinstance(type_info, info.DateTimeType):
        return dt.datetime.now(dt.timezone.utc).isoformat()
    return next(value for kind, value in scalars.items() if isinstance(type_info, kind))


def body_of(op: Operation, today: dt.date) -> Any:
    return None if op.body is None else sample(msgspec.inspect.type_info(op.body), "", today)


def kinds_of(route_path: str, parameter: str) -> list[str]:
    """The kinds of thing a path id names (a reminder task's is a monitoring or a debt record's)."""
    if parameter != "record_id":
        return [parameter]
    return {"/debts": ["debt"], "/monitoring": ["monitoring"]}.get("/" + route_path.split("/")[1], ["monitoring", "debt"])


def variants(api: Api, op: Operation) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(name, headers, query) of each way the route is asked."""
    found = [("plain", {}, {})]
    if "If-Match" in op.request_headers:
        found.append(("If-Match", {"If-Match": '"999"'}, {}))
    if "Idempotency-Key" in op.request_headers:
        found.append(("Idempotency-Key", {"Idempotency-Key": "IDEMPOTENCY"}, {}))
    fields = op.query.__struct_fields__ if op.query is not None else ()
    if "as_of" in fields:
        found.append(("as_of", {}, {"as_of": api.clock.now().isoformat()}))
    if "on" in fields:
        found.append(("on", {}, {"on": "2026-01-31"}))
    return found


TOKENS: dict[tuple[int, Actor], str] = {}


def ask(api: Api, actor: Actor, op: Operation, path: str, headers: dict[str, str], query: dict[str, str]) -> Any:
    if (id(api), actor) not in TOKENS:
        TOKENS[id(api), actor] = api.token(actor)
    token = TOKENS[id(api), actor]
    sent = {"Authorization": f"Bearer {token}", **headers}
    if "Idempotency-Key" in sent:
        sent["Idempotency-Key"] = uuid.uuid4().hex
    return api.client.simulate_request(
        op.method, path, headers=sent, params=query,
        json=body_of(op, api.world.today) if op.method != "GET" and op.body is not None else None,
    )


def seen_from_outside(answer: Any, thing: uuid.UUID) -> tuple[Any, ...]:
    headers = {k.lower(): v for k, v in answer.headers.items() if k.lower() != "x-request-id"}
    return answer.status_code, answer.text.replace(str(thing), "{id}"), sorted(headers.items())


def test_hidden_and_missing_answer_alike_on_every_route_with_an_id_in_its_path(
    api: Api, hidden: dict[str, tuple[uuid.UUID, list[Actor]]]
) -> None:
    walked: set[tuple[str, str]] = set()
    cases, leaks = 0, []
    for route in routes(api.config, ApiDocument()):
        for handler in route.handlers:
            op = handler.operation
            if op.console:
                continue  # the console's pages sign in by session: the visibility matrix asks them as each viewer
            # a sync peer's name, a problem code and a reference file are names from configuration and the code, not ids of things
            secret = [p for p in op.path_parameters if p not in PUBLIC and p not in ("peer", "code", "asset")]
            if not secret:
                continue
            assert len(secret) == 1, f"{op.method} {route.path}: walk one id at a time"
            template = route.path.replace(f"{{{secret[0]}:uuid}}", "{id}").replace(f"{{{secret[0]}}}", "{id}")
            for kind in kinds_of(route.path, secret[0]):
                assert kind in hidden, f"{op.method} {route.path}: no hidden thing for {secret[0]}; add one to the walk"
                thing, principals = hidden[kind]
                for actor, (name, headers, query) in [(a, v) for a in principals for v in variants(api, op)]:
                    before = api.position()
                    missing_id = uuid.uuid4()
                    seen = ask(api, actor, op, template.format(id=thing), headers, query)
                    missing = ask(api, actor, op, template.format(id=missing_id), headers, query)
                    where = f"{op.method} {route.path} as {actor.role.value} {actor.user} ({name})"
                    if missing.status_code != 404:
                        leaks.append(f"{where}: an id nothing has answers {missing.status_code} {missing.text}")
                    elif seen_from_outside(seen, thing) != seen_from_outside(missing, missing_id):
                        leaks.append(f"{where}:\n  hidden  {seen_from_outside(seen, thing)}\n  missing {seen_from_outside(missing, missing_id)}")
                    assert api.position() == before, f"{where}: something was recorded"
                    cases += 1
            walked.add((op.method, route.path))
    print(f"walked {len(walked)} routes, {cases} cases")
    assert not leaks, "\n".join(leaks)
    assert len(walked) >= 30 and cases >= 300
