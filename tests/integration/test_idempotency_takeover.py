"""A retry after a crash runs at once: an Idempotency-Key left in flight by a
process that is gone (a killed worker, a crashed service), or by this very
process when the store cut its bookkeeping off, is taken over by the retry;
one that a live process is answering is still refused (409, Retry-After);
one held on another host, whose life nobody here can see, is waited out."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_http_world import Api, running_api  # noqa: E402

from contractledger.http.idempotency import (  # noqa: E402
    ABANDONED_AFTER,
    Owner,
    principal_of,
    request_fingerprint,
    this_process,
)
from contractledger.http.resources.contracts import AssignContracts  # noqa: E402

OWNER_OF_A_CHILD = "from contractledger.http.idempotency import this_process; print(this_process(), flush=True)"


@pytest.fixture
def api(tmp_path: Path, store: str) -> Iterator[Api]:
    yield from running_api(tmp_path, store)


def body(api: Api) -> dict[str, object]:
    return {"chains": [[str(p) for p in api.world.chain()]], "initially_filled_by": "agency_admin"}


def left_in_flight(api: Api, key: str, owner: str) -> None:
    """The row a first attempt leaves when its process dies before answering."""
    admin = api.world.aga_admin
    canonical = msgspec.json.encode(msgspec.convert(body(api), AssignContracts))
    with api.config.views.transaction() as tx:
        tx.execute(
            "INSERT INTO http_idempotent_responses (principal, idempotency_key, request_fingerprint, started_at, owner)"
            " VALUES (?, ?, ?, ?, ?)",
            (principal_of(admin), key, request_fingerprint("POST", "/bundles", canonical), api.clock.now().isoformat(), owner),
        )


def retry(api: Api, key: str):  # type: ignore[no-untyped-def]
    return api.client.simulate_post("/bundles", headers={**api.as_(api.world.aga_admin), "Idempotency-Key": key}, json=body(api))


def test_a_key_left_in_flight_by_a_process_that_has_ended_runs_at_once(api: Api) -> None:
    ended = subprocess.run([sys.executable, "-c", OWNER_OF_A_CHILD], capture_output=True, text=True, check=True)
    left_in_flight(api, "after-a-kill", ended.stdout.strip())
    before = api.position()
    answer = retry(api, "after-a-kill")
    assert answer.status_code == 201, answer.json
    assert api.position() == before + 3  # the bundle, its contract, the command's record
    assert retry(api, "after-a-kill").headers["Idempotent-Replayed"] == "true"


def test_a_key_a_live_process_is_answering_is_refused_with_409_and_retry_after(api: Api) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", OWNER_OF_A_CHILD + "; import time; time.sleep(60)"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        left_in_flight(api, "still-answered", child.stdout.readline().strip())
        answer = retry(api, "still-answered")
        assert answer.status_code == 409 and answer.json["code"] == "request.idempotency_key_in_flight"
        assert answer.headers["Retry-After"] == "1"
    finally:
        child.kill()
        child.wait()
    assert retry(api, "still-answered").status_code == 201  # it has ended now


def test_a_key_this_process_left_in_flight_when_the_store_failed_runs_at_once(api: Api) -> None:
    left_in_flight(api, "cut-off", str(this_process()))  # in flight here, but nothing here answers it
    assert retry(api, "cut-off").status_code == 201


def test_a_key_held_on_another_host_is_waited_out(api: Api) -> None:
    here = this_process()
    elsewhere = Owner("another-host", here.boot, here.pid, here.started)
    left_in_flight(api, "elsewhere", str(elsewhere))
    assert retry(api, "elsewhere").status_code == 409
    api.clock.advance(seconds=ABANDONED_AFTER.total_seconds() + 1)
    assert retry(api, "elsewhere").status_code == 201


def test_a_key_held_before_a_reboot_of_this_host_runs_at_once(api: Api) -> None:
    here = this_process()
    left_in_flight(api, "before-reboot", str(Owner(here.host, "another-boot", here.pid, here.started)))
    assert retry(api, "before-reboot").status_code == 201


def test_an_owner_names_its_host_boot_pid_and_start_time() -> None:
    here = this_process()
    assert Owner.parse(str(here)) == here and here.is_gone() is False
    assert Owner.parse("not an owner") is None
    assert timedelta(seconds=60) == ABANDONED_AFTER
